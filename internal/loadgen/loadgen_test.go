package loadgen

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zkobserver/zkobserver/core/proto"
)

func TestHistogramBuckets(t *testing.T) {
	// Every value lands in a bucket whose range holds it, buckets are
	// contiguous and a bucket's width is at most 1/128 of its low end.
	prevLo, prevW := uint64(0), uint64(1)
	for i := 1; i < numBuckets; i++ {
		lo, w := bucketRange(i)
		if lo != prevLo+prevW {
			t.Fatalf("bucket %d starts at %d, previous ends at %d", i, lo, prevLo+prevW)
		}
		if lo >= 1<<subBits && float64(w)/float64(lo) > 1.0/(1<<subBits) {
			t.Fatalf("bucket %d: width %d at %d", i, w, lo)
		}
		prevLo, prevW = lo, w
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		v := r.Uint64N(1 << uint(1+r.IntN(maxBits)))
		lo, w := bucketRange(bucket(v))
		if v < lo || v >= lo+w {
			t.Fatalf("value %d in bucket %d = [%d, %d)", v, bucket(v), lo, lo+w)
		}
	}
	if bucket(1<<50) != numBuckets-1 {
		t.Fatal("huge values are not clamped to the last bucket")
	}
}

func TestHistogramQuantiles(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var h, h1, h2 Histogram
	vals := make([]time.Duration, 200001)
	for i := range vals {
		// log-uniform from 1 µs to 100 ms
		v := time.Duration(math.Exp(math.Log(1e3) + r.Float64()*math.Log(1e5)))
		vals[i] = v
		h.Record(v)
		if i%2 == 0 {
			h1.Record(v)
		} else {
			h2.Record(v)
		}
	}
	h1.Merge(&h2)
	slices.Sort(vals)
	for _, q := range []float64{0.001, 0.5, 0.9, 0.99, 0.999, 1} {
		exact := vals[int(math.Ceil(q*float64(len(vals))))-1]
		for _, got := range []time.Duration{h.Quantile(q), h1.Quantile(q)} {
			if rel := math.Abs(float64(got-exact)) / float64(exact); rel > 1.0/256 {
				t.Errorf("q%v = %v, exact %v (error %.4f > 1/256)", q, got, exact, rel)
			}
		}
	}
	if h.Max() != vals[len(vals)-1] || h1.Max() != h.Max() || h1.Count() != uint64(len(vals)) || h1.Mean() != h.Mean() {
		t.Errorf("max %v (want %v), merged max %v count %d mean %v/%v", h.Max(), vals[len(vals)-1], h1.Max(), h1.Count(), h1.Mean(), h.Mean())
	}
	var empty Histogram
	if empty.Quantile(0.5) != 0 || empty.Mean() != 0 {
		t.Error("empty histogram")
	}
}

func TestParseMix(t *testing.T) {
	for in, want := range map[string]Mix{
		"reads":                   {90, 10, 0},
		"writes":                  {0, 0, 100},
		"get=80,exists=10,set=10": {80, 10, 10},
		"getData=1, setData=3":    {1, 0, 3},
	} {
		got, err := ParseMix(in)
		if err != nil || got != want {
			t.Errorf("ParseMix(%q) = %v, %v; want %v", in, got, err, want)
		}
		if again, err := ParseMix(got.String()); err != nil || again != got {
			t.Errorf("ParseMix(%q.String() = %q) = %v, %v", in, got.String(), again, err)
		}
	}
	for _, bad := range []string{"", "get=0", "get=-1,set=2", "delete=5", "get", "get=x"} {
		if _, err := ParseMix(bad); err == nil {
			t.Errorf("ParseMix(%q) accepted", bad)
		}
	}
}

func checkSane(t *testing.T, res *Result) {
	t.Helper()
	for _, s := range append([]OpStats{res.All}, res.PerOp...) {
		if s.Ops <= 0 || s.OpsPerSec <= 0 {
			t.Errorf("%s: %d ops, %.0f ops/s", s.Op, s.Ops, s.OpsPerSec)
		}
		if !(0 < s.P50Us && s.P50Us <= s.P99Us && s.P99Us <= s.P999Us && s.P999Us <= s.MaxUs) {
			t.Errorf("%s: quantiles out of order: p50 %v p99 %v p999 %v max %v", s.Op, s.P50Us, s.P99Us, s.P999Us, s.MaxUs)
		}
	}
	var sum int64
	for _, s := range res.PerOp {
		sum += s.Ops
	}
	if sum != res.All.Ops {
		t.Errorf("per-op ops sum to %d, all says %d", sum, res.All.Ops)
	}
}

// TestRunDuration: a duration run over TCP measures every op of the mix in
// about its share, pings at a third of the negotiated timeout, and closes
// every session.
func TestRunDuration(t *testing.T) {
	f := &fake{dataSize: 128, timeoutMs: 30}
	addr := f.listen(t)
	res, err := Run(context.Background(), Config{
		Addr: addr, Paths: Paths("/p", 100), DataSize: 128, Conns: 4, Pipeline: 8,
		Mix: Mix{60, 20, 20}, Duration: 300 * time.Millisecond, Warmup: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	checkSane(t, res)
	if res.Errors != 0 || res.All.Errors != 0 {
		t.Fatalf("errors: %v", res.ErrorKinds)
	}
	if len(res.PerOp) != 3 {
		t.Fatalf("per-op rows %+v", res.PerOp)
	}
	for i, share := range []float64{0.6, 0.2, 0.2} {
		got := float64(res.PerOp[i].Ops) / float64(res.All.Ops)
		if math.Abs(got-share) > 0.05 {
			t.Errorf("%s: share %.3f, want %.2f", res.PerOp[i].Op, got, share)
		}
	}
	if math.Abs(res.Seconds-0.3) > 1e-9 || res.SessionTimeoutMs != 30 {
		t.Errorf("window %v s, session timeout %d ms", res.Seconds, res.SessionTimeoutMs)
	}
	// 350 ms with a 10 ms ping period on 4 connections.
	if f.pings.Load() < 4 {
		t.Errorf("%d pings", f.pings.Load())
	}
	if f.closes.Load() != 4 || f.sessions.Load() != 4 {
		t.Errorf("%d sessions, %d closed", f.sessions.Load(), f.closes.Load())
	}
	if f.requests.Load() < res.All.Ops {
		t.Errorf("server saw %d requests, client counted %d", f.requests.Load(), res.All.Ops)
	}
}

// TestRunOps: an op-count run measures exactly that many ops after the
// warmup, the warmup's ops not included.
func TestRunOps(t *testing.T) {
	f := &fake{dataSize: 10, timeoutMs: 30000}
	res, err := Run(context.Background(), Config{
		Addr: "mem", Dial: f.dial, Paths: Paths("/p", 10), DataSize: 10, Conns: 3, Pipeline: 5,
		Mix: MixReads, Ops: 10000, Warmup: 20 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	checkSane(t, res)
	if res.All.Ops != 10000 || res.Errors != 0 {
		t.Fatalf("%d ops, errors %v", res.All.Ops, res.ErrorKinds)
	}
	if f.requests.Load() <= 10000 {
		t.Errorf("server saw %d requests: no warmup ops?", f.requests.Load())
	}
	if res.Seconds <= 0 {
		t.Errorf("window %v", res.Seconds)
	}
}

// TestRunOpsNoPipeline: with one request in flight the run ends exactly
// at the op count too (the slot of the op not issued goes to the
// closeSession).
func TestRunOpsNoPipeline(t *testing.T) {
	f := &fake{dataSize: 1, timeoutMs: 30000}
	res, err := Run(context.Background(), Config{
		Addr: "mem", Dial: f.dial, Paths: Paths("/p", 2), DataSize: 1, Conns: 1, Pipeline: 1,
		Mix: MixWrites, Ops: 100,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.All.Ops != 100 || f.requests.Load() != 100 || f.closes.Load() != 1 {
		t.Fatalf("%d ops, server saw %d requests and %d closes", res.All.Ops, f.requests.Load(), f.closes.Load())
	}
}

// TestRunCountsErrors: error codes and wrong data lengths are counted per
// op and kind, and kept out of the latencies.
func TestRunCountsErrors(t *testing.T) {
	paths := Paths("/p", 4)
	f := &fake{dataSize: 16, timeoutMs: 30000,
		errPaths:   map[string]proto.ErrCode{paths[0]: proto.ErrNoNode},
		shortPaths: map[string]bool{paths[1]: true}}
	res, err := Run(context.Background(), Config{
		Addr: "mem", Dial: f.dial, Paths: paths, DataSize: 16, Conns: 2, Pipeline: 4,
		Mix: Mix{OpGet: 1, OpSet: 1}, Ops: 4000,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Errors+res.All.Ops != 4000 || res.All.Errors != res.Errors {
		t.Fatalf("%d ok + %d errors (per-op %d), want 4000", res.All.Ops, res.Errors, res.All.Errors)
	}
	// about half of the ops hit the two bad paths
	if res.Errors < 1600 || res.Errors > 2400 {
		t.Errorf("%d errors", res.Errors)
	}
	for _, k := range []string{"getData: NONODE", "setData: NONODE", "getData: wrong data length", "setData: wrong dataLength in stat"} {
		if res.ErrorKinds[k] == 0 {
			t.Errorf("no %q in %v", k, res.ErrorKinds)
		}
	}
}

// TestRunConnectionLost: a connection the server drops ends that
// connection; its failure and unanswered requests are counted, the others
// go on.
func TestRunConnectionLost(t *testing.T) {
	f := &fake{dataSize: 8, timeoutMs: 30000, dropAfter: 50}
	addr := f.listen(t)
	res, err := Run(context.Background(), Config{
		Addr: addr, Paths: Paths("/p", 10), DataSize: 8, Conns: 2, Pipeline: 4,
		Mix: MixReads, Duration: 100 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	conn := 0
	for k, v := range res.ErrorKinds {
		if strings.HasPrefix(k, "connection: ") {
			conn += int(v)
		}
	}
	if conn != 2 || res.Errors < 2 {
		t.Errorf("errors %v", res.ErrorKinds)
	}
}

// TestRunLargeData: replies larger than the read buffer (64 KiB) are read
// whole and checked.
func TestRunLargeData(t *testing.T) {
	f := &fake{dataSize: 200 << 10, timeoutMs: 30000}
	res, err := Run(context.Background(), Config{
		Addr: "mem", Dial: f.dial, Paths: Paths("/p", 3), DataSize: 200 << 10, Conns: 2, Pipeline: 3,
		Mix: Mix{80, 10, 10}, Ops: 300,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.All.Ops != 300 || res.Errors != 0 {
		t.Fatalf("%d ops, errors %v", res.All.Ops, res.ErrorKinds)
	}
}

func TestRunRefusedHandshake(t *testing.T) {
	f := &fake{dataSize: 8, timeoutMs: 0} // timeout 0: session refused
	_, err := Run(context.Background(), Config{
		Addr: "mem", Dial: f.dial, Paths: Paths("/p", 1), Conns: 1, Pipeline: 1, Mix: MixReads, Ops: 1,
	})
	if err == nil || !strings.Contains(err.Error(), "refused the session") {
		t.Fatalf("err = %v", err)
	}
}

func TestRunCancel(t *testing.T) {
	f := &fake{dataSize: 8, timeoutMs: 30000}
	ctx, cancel := context.WithCancel(context.Background())
	cfg := Config{Addr: "mem", Dial: f.dial, Paths: Paths("/p", 1), DataSize: 8, Conns: 2, Pipeline: 2, Mix: MixReads, Duration: time.Hour}
	cfg.Progress = func(done, total int) { cancel() }
	if _, err := Run(ctx, cfg); err != context.Canceled {
		t.Fatalf("err = %v", err)
	}
}

// BenchmarkConn is one connection's client-side cost per op: the
// generator against an in-memory server that answers inside the client's
// write (a getData reply of 128 B, pipeline 16), so ns/op is the client's
// writer and reader plus the fake's framing, an upper bound on the
// client's CPU per op. allocs/op shows the per-op path does not allocate
// (the run's fixed setup is amortised).
func BenchmarkConn(b *testing.B) {
	for _, m := range []struct {
		name string
		mix  Mix
	}{{"get", Mix{OpGet: 1}}, {"mixed", Mix{80, 10, 10}}} {
		b.Run(m.name, func(b *testing.B) {
			f := &fake{dataSize: 128, timeoutMs: 30000}
			b.ReportAllocs()
			res, err := Run(context.Background(), Config{
				Addr: "mem", Dial: f.dial, Paths: Paths("/bench", 10000), DataSize: 128, Conns: 1, Pipeline: 16,
				Mix: m.mix, Ops: int64(b.N),
			})
			if err != nil || res.Errors != 0 {
				b.Fatal(err, res.ErrorKinds)
			}
		})
	}
}

// BenchmarkConnTCP is the same over a loopback TCP socket to a fake server
// (one goroutine pair each side), so it includes the kernel's cost of both
// ends.
func BenchmarkConnTCP(b *testing.B) {
	f := &fake{dataSize: 128, timeoutMs: 30000}
	addr := f.listen(b)
	b.ReportAllocs()
	res, err := Run(context.Background(), Config{
		Addr: addr, Paths: Paths("/bench", 10000), DataSize: 128, Conns: 1, Pipeline: 16,
		Mix: Mix{OpGet: 1}, Ops: int64(b.N),
	})
	if err != nil || res.Errors != 0 {
		b.Fatal(err, res.ErrorKinds)
	}
}
