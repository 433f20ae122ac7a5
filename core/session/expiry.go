package session

import "slices"

// ExpiryQueue groups elements into buckets of fixed width (the interval,
// tickTime for sessions) by the time they expire, as ZooKeeper's
// ExpiryQueue: an element updated at now with timeout t expires at
// (floor((now+t)/interval)+1)×interval, the next bucket boundary strictly
// after now+t, so sessions expire in batches and never early.
//
// Times are milliseconds of the caller's monotonic clock (ElapsedMillis or a
// test clock); the queue never reads a clock itself. It is not safe for
// concurrent use: the owner (Table) serialises access.
type ExpiryQueue[E comparable] struct {
	interval int64
	elems    map[E]int64              // element -> bucket (expiry time)
	buckets  map[int64]map[E]struct{} // expiry time -> elements
	next     int64                    // next bucket boundary Poll will look at
}

// NewExpiryQueue returns an empty queue with buckets interval ms wide whose
// first poll time is the first boundary after now. interval must be > 0.
func NewExpiryQueue[E comparable](interval, now int64) *ExpiryQueue[E] {
	if interval <= 0 {
		panic("session: ExpiryQueue interval must be positive")
	}
	q := &ExpiryQueue[E]{
		interval: interval,
		elems:    make(map[E]int64),
		buckets:  make(map[int64]map[E]struct{}),
	}
	q.next = q.roundToNextInterval(now)
	return q
}

func (q *ExpiryQueue[E]) roundToNextInterval(t int64) int64 {
	return (t/q.interval + 1) * q.interval
}

// Update (re)arms e to expire timeout ms after now, moving it to the bucket
// roundToNextInterval(now+timeout). It returns that expiry time; changed is
// false when e already was in that bucket (Java returns null then).
func (q *ExpiryQueue[E]) Update(e E, now int64, timeout int32) (expiry int64, changed bool) {
	expiry = q.roundToNextInterval(now + int64(timeout))
	prev, had := q.elems[e]
	if had && prev == expiry {
		return expiry, false
	}
	set := q.buckets[expiry]
	if set == nil {
		set = make(map[E]struct{})
		q.buckets[expiry] = set
	}
	set[e] = struct{}{}
	q.elems[e] = expiry
	if had {
		q.dropFromBucket(e, prev)
	}
	return expiry, true
}

func (q *ExpiryQueue[E]) dropFromBucket(e E, at int64) {
	if set := q.buckets[at]; set != nil {
		delete(set, e)
		if len(set) == 0 {
			delete(q.buckets, at)
		}
	}
}

// Remove takes e out of the queue and returns the time it was due to
// expire; ok is false if e was not queued.
func (q *ExpiryQueue[E]) Remove(e E) (expiry int64, ok bool) {
	expiry, ok = q.elems[e]
	if ok {
		delete(q.elems, e)
		q.dropFromBucket(e, expiry)
	}
	return expiry, ok
}

// Expiry returns the time e is due to expire.
func (q *ExpiryQueue[E]) Expiry(e E) (int64, bool) {
	t, ok := q.elems[e]
	return t, ok
}

// Len is the number of queued elements.
func (q *ExpiryQueue[E]) Len() int { return len(q.elems) }

// WaitTime is ExpiryQueue.getWaitTime: how many ms after now the next
// bucket boundary falls (0 when Poll has work to do now).
func (q *ExpiryQueue[E]) WaitTime(now int64) int64 {
	if now < q.next {
		return q.next - now
	}
	return 0
}

// NextExpiry returns the earliest time at which a queued element expires;
// ok is false when the queue is empty. A caller's timer can sleep until
// then instead of waking every interval.
func (q *ExpiryQueue[E]) NextExpiry() (t int64, ok bool) {
	for at := range q.buckets {
		if !ok || at < t {
			t, ok = at, true
		}
	}
	return t, ok
}

// Poll removes and returns every element whose bucket time is <= now, the
// earliest bucket first (order inside a bucket is unspecified). It is what
// SessionTrackerImpl's loop of poll() calls until getWaitTime() > 0 yields;
// a caller that polls late gets all overdue buckets at once.
func (q *ExpiryQueue[E]) Poll(now int64) []E {
	if now < q.next {
		return nil
	}
	var due []int64
	for at := range q.buckets {
		if at <= now {
			due = append(due, at)
		}
	}
	slices.Sort(due)
	var out []E
	for _, at := range due {
		for e := range q.buckets[at] {
			out = append(out, e)
			delete(q.elems, e)
		}
		delete(q.buckets, at)
	}
	q.next = q.roundToNextInterval(now)
	return out
}
