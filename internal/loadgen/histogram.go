package loadgen

import (
	"math/bits"
	"time"
)

// Histogram records latencies in log-linear buckets, HDR-style: values below
// 2^subBits ns (128 ns) each have their own bucket, and every power-of-two
// range above is split into 2^subBits (128) equal sub-buckets. A bucket
// [lo, lo+w) has w/lo <= 1/128, and quantiles report the bucket's midpoint,
// so a reported quantile is within 1/256 (0.4%) of the recorded value it
// stands for. Values from about 2^40 ns (18 minutes) up land in the last
// bucket. Mean and Max are exact.
//
// Record does not allocate. The zero value is empty and ready to use; a
// Histogram is not safe for concurrent use (each connection keeps its own,
// merged at the end).
type Histogram struct {
	counts [numBuckets]uint64
	n      uint64
	sum    uint64
	max    uint64
}

const (
	subBits    = 7
	maxBits    = 40 // values with more significant bits are clamped
	numBuckets = (maxBits - subBits + 1) << subBits
)

// bucket returns the bucket index of v (in ns).
func bucket(v uint64) int {
	if v < 1<<subBits {
		return int(v)
	}
	l := bits.Len64(v)
	if l > maxBits {
		return numBuckets - 1
	}
	shift := l - subBits - 1
	return (l-subBits)<<subBits + int(v>>shift) - 1<<subBits
}

// bucketRange returns the lowest value of bucket i and its width.
func bucketRange(i int) (lo, width uint64) {
	if i < 2<<subBits {
		return uint64(i), 1
	}
	l := i>>subBits + subBits // bit length of the bucket's values
	shift := l - subBits - 1
	sub := uint64(i&(1<<subBits-1)) + 1<<subBits
	return sub << shift, 1 << shift
}

// Record adds one latency; negative durations count as 0.
func (h *Histogram) Record(d time.Duration) {
	v := uint64(0)
	if d > 0 {
		v = uint64(d)
	}
	h.counts[bucket(v)]++
	h.n++
	h.sum += v
	if v > h.max {
		h.max = v
	}
}

// Merge adds every value recorded in o to h.
func (h *Histogram) Merge(o *Histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.sum += o.sum
	h.max = max(h.max, o.max)
}

// Count returns the number of recorded values.
func (h *Histogram) Count() uint64 { return h.n }

// Max returns the largest recorded value (exact), 0 when empty.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max) }

// Mean returns the exact mean, 0 when empty.
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.sum / h.n)
}

// Quantile returns the q-quantile (0 < q <= 1): the midpoint of the bucket
// holding the value of rank ceil(q*n), never above Max; 0 when empty.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q * float64(h.n))
	if float64(rank) < q*float64(h.n) {
		rank++
	}
	rank = max(rank, 1)
	var seen uint64
	for i, c := range h.counts {
		if seen += c; seen >= rank {
			lo, w := bucketRange(i)
			return time.Duration(min(lo+w/2, h.max))
		}
	}
	return time.Duration(h.max)
}
