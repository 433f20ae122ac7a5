// Package loadgen is a ZooKeeper client load generator: getData, exists and
// setData mixes over a set of znodes, over C client connections with W
// requests in flight on each, measuring throughput and latency quantiles
// per op type. It speaks the client protocol itself with core/proto over
// plain TCP (one session per connection), so that its own cost per op stays
// far below a server's; go-zookeeper is used only to create and remove the
// znodes (setup.go), never on the measured path.
//
// Each connection runs a writer goroutine, which keeps Pipeline requests in
// flight and pings every third of the negotiated session timeout, and a
// reader goroutine, which matches replies to requests in order (ZooKeeper
// answers a connection's requests in order) and checks the xid, the error
// code and the data length of each. The slots of the replies one socket
// read brought in go back to the writer together, which refills them with
// one write: a closed loop of Pipeline requests per connection, with the
// client's syscalls amortised over batches. Latency is measured from just
// before the write that carries a request to just after its reply frame is
// read (so it includes the time the reply waited in the socket and the
// client's buffer: on a saturated machine it is mostly queueing, about
// Conns*Pipeline / throughput), into a per-connection Histogram; nothing
// on that path allocates.
package loadgen

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zkobserver/zkobserver/core/jute"
	"github.com/zkobserver/zkobserver/core/proto"
)

// Config describes one measurement against one server.
type Config struct {
	// Addr is the server's client address, host:port.
	Addr string
	// Paths are the znodes the ops use, drawn uniformly. Each must exist
	// and hold DataSize bytes (setData writes DataSize bytes); a reply
	// showing another length counts as an error.
	Paths    []string
	DataSize int
	// Conns is the number of connections (sessions); Pipeline the number
	// of requests each keeps in flight. Both at least 1.
	Conns, Pipeline int
	Mix             Mix
	// Duration is the measurement window, after Warmup; used when Ops is 0.
	Duration time.Duration
	// Ops, when positive, measures exactly that many ops issued after the
	// warmup instead of a duration; the window ends at the last reply.
	Ops int64
	// Warmup runs the load unmeasured before the window opens.
	Warmup time.Duration
	// SessionTimeout is the timeout requested in the handshake (default
	// 30 s); the server's negotiated value sets the ping period.
	SessionTimeout time.Duration
	// ReadOnly sets the handshake's readOnly flag ("I accept a read-only
	// server"), which read-only-capable clients send.
	ReadOnly bool
	// Seed makes the op and znode draws reproducible (per connection:
	// Seed and the connection's index).
	Seed uint64
	// Dial opens a connection (default: TCP with a 10 s timeout).
	Dial func(ctx context.Context, addr string) (net.Conn, error)
	// Progress, if set, is called about ten times a second with the
	// progress of the run (elapsed ms of warmup+duration, or ops done of
	// Ops), from a goroutine of Run's.
	Progress func(done, total int)
}

// Latency quantiles and counts of one op type (or of all), in microseconds.
type OpStats struct {
	Op        string  `json:"op"`
	Ops       int64   `json:"ops"`
	OpsPerSec float64 `json:"ops_per_sec"`
	MeanUs    float64 `json:"mean_us"`
	P50Us     float64 `json:"p50_us"`
	P99Us     float64 `json:"p99_us"`
	P999Us    float64 `json:"p999_us"`
	MaxUs     float64 `json:"max_us"`
	Errors    int64   `json:"errors"`
}

// Result is one target's measurement. Ops counts successful ops in the
// window; failed ones are in Errors, by kind in ErrorKinds ("getData:
// NONODE", "connection: ...", ...), and not in the latency figures.
type Result struct {
	Addr       string           `json:"addr"`
	Conns      int              `json:"conns"`
	Pipeline   int              `json:"pipeline"`
	Mix        string           `json:"mix"`
	Seconds    float64          `json:"seconds"`
	Rounds     int              `json:"rounds"`
	All        OpStats          `json:"all"`
	PerOp      []OpStats        `json:"per_op"`
	Errors     int64            `json:"errors"`
	ErrorKinds map[string]int64 `json:"error_kinds,omitempty"`
	// SessionTimeoutMs is the timeout the server negotiated.
	SessionTimeoutMs int `json:"session_timeout_ms"`

	hist    [numOps]Histogram
	opErrs  [numOps]int64
	elapsed time.Duration
}

// Merge adds the ops, errors, histograms and window of o (another round
// against the same target) to r and recomputes the figures.
func (r *Result) Merge(o *Result) {
	for i := range r.hist {
		r.hist[i].Merge(&o.hist[i])
		r.opErrs[i] += o.opErrs[i]
	}
	r.elapsed += o.elapsed
	r.Rounds += o.Rounds
	for k, v := range o.ErrorKinds {
		if r.ErrorKinds == nil {
			r.ErrorKinds = map[string]int64{}
		}
		r.ErrorKinds[k] += v
	}
	r.Errors += o.Errors
	r.compute()
}

// compute fills the exported figures from the histograms and the window.
func (r *Result) compute() {
	r.Seconds = r.elapsed.Seconds()
	var all Histogram
	r.PerOp = r.PerOp[:0]
	var allErrs int64
	for op := range numOps {
		h := &r.hist[op]
		all.Merge(h)
		allErrs += r.opErrs[op]
		if h.Count() > 0 || r.opErrs[op] > 0 {
			r.PerOp = append(r.PerOp, stats(op.String(), h, r.opErrs[op], r.Seconds))
		}
	}
	r.All = stats("all", &all, allErrs, r.Seconds)
}

func stats(name string, h *Histogram, errs int64, secs float64) OpStats {
	us := func(d time.Duration) float64 { return float64(d) / 1e3 }
	s := OpStats{
		Op: name, Ops: int64(h.Count()), Errors: errs,
		MeanUs: us(h.Mean()), P50Us: us(h.Quantile(0.5)), P99Us: us(h.Quantile(0.99)),
		P999Us: us(h.Quantile(0.999)), MaxUs: us(h.Max()),
	}
	if secs > 0 {
		s.OpsPerSec = float64(s.Ops) / secs
	}
	return s
}

func (c *Config) validate() error {
	switch {
	case c.Addr == "":
		return errors.New("loadgen: no address")
	case len(c.Paths) == 0:
		return errors.New("loadgen: no znodes")
	case c.Conns < 1 || c.Pipeline < 1:
		return errors.New("loadgen: conns and pipeline must be at least 1")
	case c.Ops <= 0 && c.Duration <= 0:
		return errors.New("loadgen: neither a duration nor an op count")
	case c.DataSize < 0:
		return errors.New("loadgen: negative data size")
	}
	return c.Mix.Validate()
}

// run is what the connections of one Run share; fixed before they start
// except for the atomics.
type run struct {
	cfg     *Config
	base    time.Time
	t0, t1  int64 // the window in ns since base; t1 = maxInt64 in ops mode
	cum     [numOps]int
	data    []byte
	stop    atomic.Bool
	stopCh  chan struct{}
	issued  atomic.Int64 // measured ops issued (ops mode)
	stopped sync.Once
}

func (r *run) now() int64 { return int64(time.Since(r.base)) }

func (r *run) halt() {
	r.stopped.Do(func() {
		r.stop.Store(true)
		close(r.stopCh)
	})
}

// Run measures cfg's load against cfg.Addr. It connects every session
// first (a handshake failure is an error), runs the warmup and then the
// window, stops issuing, waits for the outstanding replies and closes
// each session (closeSession). A connection that fails during the run
// stops; its failure and its outstanding requests count as errors in the
// Result, which Run still returns with a nil error. Cancelling ctx closes
// every connection and returns ctx's error.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.SessionTimeout <= 0 {
		cfg.SessionTimeout = 30 * time.Second
	}
	if cfg.Dial == nil {
		cfg.Dial = func(ctx context.Context, addr string) (net.Conn, error) {
			d := net.Dialer{Timeout: 10 * time.Second}
			return d.DialContext(ctx, "tcp", addr)
		}
	}
	r := &run{cfg: &cfg, cum: cfg.Mix.cumulative(), stopCh: make(chan struct{})}
	r.data = make([]byte, cfg.DataSize)
	for i := range r.data {
		r.data[i] = byte('a' + i%26)
	}
	conns := make([]*conn, 0, cfg.Conns)
	closeAll := func() {
		for _, c := range conns {
			c.nc.Close()
		}
	}
	for i := range cfg.Conns {
		c, err := dialConn(ctx, r, i)
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("connection %d to %s: %w", i+1, cfg.Addr, err)
		}
		conns = append(conns, c)
	}

	r.base = time.Now()
	r.t0 = int64(cfg.Warmup)
	r.t1 = int64(^uint64(0) >> 1)
	if cfg.Ops <= 0 {
		r.t1 = r.t0 + int64(cfg.Duration)
	}
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Add(2)
		go func() { defer wg.Done(); c.readLoop() }()
		go func() { defer wg.Done(); c.writeLoop() }()
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()

	var deadline <-chan time.Time
	if cfg.Ops <= 0 {
		t := time.NewTimer(time.Duration(r.t1))
		defer t.Stop()
		deadline = t.C
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var ctxErr error
	for done := false; !done; {
		select {
		case <-deadline:
			r.halt()
			// The servers have had the window; anything not answered in
			// a further session timeout is not coming.
			t := time.AfterFunc(cfg.SessionTimeout, closeAll)
			defer t.Stop()
		case <-ctx.Done():
			ctxErr = ctx.Err()
			r.halt()
			closeAll()
			<-finished
			done = true
		case <-tick.C:
			if cfg.Progress != nil {
				if cfg.Ops > 0 {
					var n int64
					for _, c := range conns {
						n += c.done.Load()
					}
					cfg.Progress(int(n), int(cfg.Ops))
				} else {
					cfg.Progress(int(min(r.now(), r.t1)/1e6), int(r.t1/1e6))
				}
			}
		case <-finished:
			done = true
		}
	}
	if ctxErr != nil {
		return nil, ctxErr
	}

	res := &Result{Addr: cfg.Addr, Conns: cfg.Conns, Pipeline: cfg.Pipeline, Mix: cfg.Mix.String(), Rounds: 1}
	var last int64
	for _, c := range conns {
		c.nc.Close()
		for op := range numOps {
			res.hist[op].Merge(&c.hist[op])
			res.opErrs[op] += c.opErrs[op]
		}
		for k, v := range c.errs {
			if res.ErrorKinds == nil {
				res.ErrorKinds = map[string]int64{}
			}
			res.ErrorKinds[k] += v
			res.Errors += v
		}
		last = max(last, c.last)
		res.SessionTimeoutMs = int(c.timeout / time.Millisecond)
	}
	if cfg.Ops > 0 {
		res.elapsed = time.Duration(max(last-r.t0, 0))
	} else {
		res.elapsed = time.Duration(r.t1 - r.t0)
	}
	res.compute()
	return res, nil
}

// ErrorKindsSorted returns r's error kinds, most frequent first.
func (r *Result) ErrorKindsSorted() []string {
	var ks []string
	for k := range r.ErrorKinds {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool {
		if a, b := r.ErrorKinds[ks[i]], r.ErrorKinds[ks[j]]; a != b {
			return a > b
		}
		return ks[i] < ks[j]
	})
	return ks
}

// opClose marks the closeSession request that ends a connection.
const opClose = numOps

// pending is one request in flight.
type pending struct {
	xid      int32
	op       Op
	measured bool  // ops mode: one of the Ops measured ops
	start    int64 // ns since run.base, taken just before its write
}

// conn is one client session. The writer owns rng, xid and the encoder
// state; the reader owns the histograms, errors and last; free, wake and
// inflight pass requests between them.
type conn struct {
	r       *run
	nc      net.Conn
	br      *bufio.Reader
	timeout time.Duration // negotiated

	// free counts the pipeline slots the reader has freed and the writer
	// not yet taken; the reader signals wake (capacity 1) after adding.
	// Slots go back in batches: all the replies one socket read brought
	// in, so that the writer refills them with one write.
	free     atomic.Int64
	wake     chan struct{}
	inflight chan pending  // sent, in order, not yet answered
	dead     chan struct{} // closed when the reader returns

	rng *rand.Rand
	xid int32

	hist   [numOps]Histogram
	opErrs [numOps]int64
	errs   map[string]int64
	done   atomic.Int64 // measured ops answered (progress)
	last   int64        // time of the last measured reply

	discard int    // bytes of br's buffer the last frame still occupies
	big     []byte // frames larger than br's buffer
}

// nextFrame returns the next reply frame's payload, as proto.ReadFrame
// would (same length limit and errors), without allocating: a frame that
// fits br's buffer is returned in place (valid until the next call), a
// larger one is read into c.big, grown as needed.
// proto.ReadFrame itself allocates its 4-byte length buffer per call,
// which escapes through the io.Reader.
func (c *conn) nextFrame() ([]byte, error) {
	if c.discard > 0 {
		c.br.Discard(c.discard)
		c.discard = 0
	}
	unexpected := func(err error) error {
		if err == io.EOF {
			return io.ErrUnexpectedEOF
		}
		return err
	}
	h, err := c.br.Peek(4)
	if err != nil {
		if len(h) > 0 {
			err = unexpected(err)
		}
		return nil, err
	}
	n := int(int32(binary.BigEndian.Uint32(h)))
	if n < 0 || n > jute.DefaultMaxBuffer {
		return nil, fmt.Errorf("%w: %d (limit %d)", proto.ErrFrameTooLarge, n, jute.DefaultMaxBuffer)
	}
	if 4+n <= c.br.Size() {
		p, err := c.br.Peek(4 + n)
		if err != nil {
			return nil, unexpected(err)
		}
		c.discard = 4 + n
		return p[4:], nil
	}
	c.br.Discard(4)
	if cap(c.big) < n {
		c.big = make([]byte, n)
	}
	p := c.big[:n]
	if _, err := io.ReadFull(c.br, p); err != nil {
		return nil, unexpected(err)
	}
	return p, nil
}

// dialConn connects and completes the handshake.
func dialConn(ctx context.Context, r *run, i int) (*conn, error) {
	cfg := r.cfg
	nc, err := cfg.Dial(ctx, cfg.Addr)
	if err != nil {
		return nil, err
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	c := &conn{
		r: r, nc: nc, br: bufio.NewReaderSize(nc, 64<<10),
		wake:     make(chan struct{}, 1),
		inflight: make(chan pending, cfg.Pipeline+1), // +1: the closeSession
		dead:     make(chan struct{}),
		rng:      rand.New(rand.NewPCG(cfg.Seed, uint64(i))),
		errs:     map[string]int64{},
	}
	c.free.Store(int64(cfg.Pipeline))
	hs := time.Now().Add(10 * time.Second)
	if d, ok := ctx.Deadline(); ok && d.Before(hs) {
		hs = d
	}
	nc.SetDeadline(hs)
	req := proto.ConnectRequest{
		TimeOut:     int32(cfg.SessionTimeout / time.Millisecond),
		Passwd:      make([]byte, 16),
		ReadOnly:    cfg.ReadOnly,
		HasReadOnly: true,
	}
	if _, err := nc.Write(proto.AppendFrame(nil, &req)); err != nil {
		nc.Close()
		return nil, fmt.Errorf("handshake: %w", err)
	}
	frame, err := proto.ReadFrame(c.br, nil, 0)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("handshake: %w (a server refuses a client by closing: a read-only server without --read-only, or one behind the client's zxid)", err)
	}
	var resp proto.ConnectResponse
	if err := jute.Unmarshal(frame, &resp); err != nil {
		nc.Close()
		return nil, fmt.Errorf("handshake: %w", err)
	}
	if resp.TimeOut <= 0 || resp.SessionID == 0 {
		nc.Close()
		return nil, errors.New("handshake: the server refused the session")
	}
	c.timeout = time.Duration(resp.TimeOut) * time.Millisecond
	nc.SetDeadline(time.Time{})
	return c, nil
}

// fail records a connection failure: the failure itself and every request
// still in flight count as errors.
func (c *conn) fail(err error) {
	c.errs["connection: "+err.Error()]++
	for {
		select {
		case p := <-c.inflight:
			if p.op < numOps {
				c.opErrs[p.op]++
				c.errs[p.op.String()+": no reply (connection failed)"]++
			}
		default:
			return
		}
	}
}

// readLoop reads replies until the closeSession's, or a failure.
func (c *conn) readLoop() {
	defer close(c.dead)
	r := c.r
	d := jute.NewDecoder(nil, 0)
	var hdr proto.ReplyHeader
	var get proto.GetDataResponse
	var stat proto.Stat
	want := int32(r.cfg.DataSize)
	freed := 0
	for {
		if freed > 0 && !c.frameBuffered() {
			c.release(freed)
			freed = 0
		}
		frame, err := c.nextFrame()
		if err != nil {
			if !r.stop.Load() || len(c.inflight) > 0 {
				c.fail(err)
			}
			c.nc.Close()
			return
		}
		d.Reset(frame)
		if hdr.Decode(d) != nil {
			c.fail(fmt.Errorf("short reply header (%d bytes)", len(frame)))
			c.nc.Close()
			return
		}
		if hdr.Xid == proto.XidPing || hdr.Xid == proto.XidNotification {
			continue
		}
		var p pending
		select {
		case p = <-c.inflight:
		default:
			c.fail(fmt.Errorf("reply with xid %d to no request", hdr.Xid))
			c.nc.Close()
			return
		}
		now := r.now()
		if hdr.Xid != p.xid {
			c.inflight <- p // still unanswered
			c.fail(fmt.Errorf("reply xid %d, want %d (out of order)", hdr.Xid, p.xid))
			c.nc.Close()
			return
		}
		if p.op == opClose {
			return
		}
		freed++
		counted := p.measured || (r.cfg.Ops <= 0 && now >= r.t0 && now <= r.t1)
		if !counted {
			continue
		}
		if bad := c.check(p.op, &hdr, d, &get, &stat, want); bad != "" {
			c.opErrs[p.op]++
			c.errs[p.op.String()+": "+bad]++
			continue
		}
		c.hist[p.op].Record(time.Duration(now - p.start))
		c.last = now
		c.done.Add(1)
	}
}

// release gives n pipeline slots back to the writer.
func (c *conn) release(n int) {
	c.free.Add(int64(n))
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// frameBuffered reports whether a whole reply frame is already buffered
// (so the next nextFrame will not read the socket).
func (c *conn) frameBuffered() bool {
	avail := c.br.Buffered() - c.discard
	if avail < 4 {
		return false
	}
	h, err := c.br.Peek(c.discard + 4)
	if err != nil {
		return false
	}
	n := int(int32(binary.BigEndian.Uint32(h[c.discard:])))
	return n >= 0 && avail >= 4+n
}

// check validates a reply; it returns "" or what was wrong.
func (c *conn) check(op Op, hdr *proto.ReplyHeader, d *jute.Decoder, get *proto.GetDataResponse, stat *proto.Stat, want int32) string {
	if hdr.Err != proto.ErrOK {
		return hdr.Err.String()
	}
	switch op {
	case OpGet:
		get.Decode(d)
		if d.Err() == nil && int32(len(get.Data)) != want {
			return "wrong data length"
		}
		stat = &get.Stat
	default:
		stat.Decode(d)
	}
	if d.Err() != nil {
		return "undecodable reply"
	}
	if stat.DataLength != want {
		return "wrong dataLength in stat"
	}
	return ""
}

// writeLoop issues requests while the run lasts, then closes the session.
func (c *conn) writeLoop() {
	r := c.r
	cfg := r.cfg
	ping := time.NewTicker(max(c.timeout/3, time.Millisecond))
	defer ping.Stop()
	// Requests are encoded into enc's buffer with concrete Encode calls:
	// proto.AppendFrame takes its records as interfaces, which makes its
	// encoder escape (one allocation per frame); it is used for the rare
	// frames (ping, closeSession).
	enc := jute.NewEncoder(make([]byte, 0, 64<<10))
	batch := make([]pending, 0, cfg.Pipeline+1)
	var (
		hdr    proto.RequestHeader
		get    proto.GetDataRequest
		exists proto.ExistsRequest
		set    = proto.SetDataRequest{Data: r.data, Version: -1}
		pingH  = proto.RequestHeader{Xid: proto.XidPing, Type: proto.OpPing}
		frame  = make([]byte, 0, 64)
	)
	total := r.cum[numOps-1]
	measuring := r.now() >= r.t0
	var avail int64 // slots taken from c.free, not used yet
	flush := func() bool {
		select {
		case <-ping.C:
			enc.Raw(proto.AppendFrame(frame[:0], &pingH))
		default:
		}
		now := r.now()
		for _, p := range batch {
			p.start = now
			c.inflight <- p // never blocks: the slots bound it
		}
		batch = batch[:0]
		measuring = now >= r.t0
		if enc.Len() == 0 {
			return true
		}
		_, err := c.nc.Write(enc.Bytes())
		enc.Reset()
		return err == nil
	}
	closeSession := func() {
		if !flush() {
			return
		}
		for avail == 0 { // a free slot for the closeSession
			if avail = c.free.Swap(0); avail == 0 {
				select {
				case <-c.wake:
				case <-c.dead:
					return
				}
			}
		}
		c.xid++
		hdr = proto.RequestHeader{Xid: c.xid, Type: proto.OpCloseSession}
		enc.Raw(proto.AppendFrame(frame[:0], &hdr))
		batch = append(batch, pending{xid: c.xid, op: opClose})
		flush()
	}
	for {
		if r.stop.Load() {
			closeSession()
			return
		}
		if avail == 0 {
			avail = c.free.Swap(0)
		}
		if avail == 0 {
			if len(batch) > 0 || enc.Len() > 0 {
				if !flush() {
					return
				}
				continue
			}
			select {
			case <-c.wake:
				continue
			case <-ping.C:
				enc.Raw(proto.AppendFrame(frame[:0], &pingH))
				if !flush() {
					return
				}
				continue
			case <-r.stopCh:
				closeSession()
				return
			case <-c.dead:
				return
			}
		}
		avail--
		p := pending{}
		if cfg.Ops > 0 && measuring {
			if r.issued.Add(1) > cfg.Ops {
				avail++ // unused: the closeSession's
				r.halt()
				continue
			}
			p.measured = true
		}
		x := c.rng.IntN(total)
		for x >= r.cum[p.op] {
			p.op++
		}
		path := cfg.Paths[c.rng.IntN(len(cfg.Paths))]
		c.xid++
		p.xid = c.xid
		hdr.Xid = c.xid
		start := enc.Len()
		enc.Int(0) // the frame length, patched below
		switch p.op {
		case OpGet:
			hdr.Type = proto.OpGetData
			hdr.Encode(enc)
			get.Path = path
			get.Encode(enc)
		case OpExists:
			hdr.Type = proto.OpExists
			hdr.Encode(enc)
			exists.Path = path
			exists.Encode(enc)
		case OpSet:
			hdr.Type = proto.OpSetData
			hdr.Encode(enc)
			set.Path = path
			set.Encode(enc)
		}
		b := enc.Bytes()
		binary.BigEndian.PutUint32(b[start:], uint32(len(b)-start-4))
		batch = append(batch, p)
		if enc.Len() >= 32<<10 {
			if !flush() {
				return
			}
		}
	}
}
