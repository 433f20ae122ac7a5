package difftest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zkobserver/zkobserver/core/jute"
	"github.com/zkobserver/zkobserver/core/proto"
)

// Options configure Run. Zero values select the documented defaults.
type Options struct {
	// AddrA and AddrB are the client addresses of the two targets; both must
	// be members of the same ensemble.
	AddrA, AddrB string
	// Seed seeds the stream; the same seed against equivalent targets
	// issues the same stream.
	Seed uint64
	// Ops is the number of operations after the setup. Default 10,000.
	Ops int
	// Trace logs every op (through Logf) before it runs.
	Trace bool
	// Pairs is the number of mirrored session pairs. Default 4 (pair 0
	// without auth, then alice, bob, alice+bob).
	Pairs int
	// Root is the parent of the two namespaces (Root/a written only by A's
	// sessions, Root/b only by B's). It must not exist. Default "/difftest".
	Root string
	// Perturb, if its Kind is set, corrupts what target B answered once, at
	// or after op From; Run must then report a Mismatch (the test of the
	// harness itself).
	Perturb Perturbation
	// NoReconnect leaves out the reconnect+setWatches2 steps.
	NoReconnect bool
	// Wake marks the targets (A, B) that are Java 3.8.0 servers. Their
	// CommitProcessor can miss a wakeup (ZOOKEEPER-4537, fixed in 3.8.1;
	// Debian ships 3.8.0): a request whose commit arrives at the wrong
	// moment stays unanswered until some other request reaches that server,
	// which in a lockstep stream never comes. For a marked target every
	// call that has waited SlowAfter sends a ping on a separate "waker"
	// session of that target, which is the other request; Result.Wakes
	// counts them. Unmarked targets get no such help: a stall there fails
	// the run after CallTimeout.
	Wake [2]bool
	// OnSlow, if set, is told about every call that has waited SlowAfter
	// (and every further SlowAfter): the target (0 is A), the time waited
	// and the call. It runs on the waiting goroutine.
	OnSlow func(side int, waited time.Duration, desc string)
	// Logf, if set, receives a progress line every 1,000 ops.
	Logf func(format string, args ...any)
}

// PerturbKind selects a Perturbation.
type PerturbKind int

// Perturbations of target B's answers.
const (
	PerturbNone PerturbKind = iota
	// PerturbReply flips the lowest bit of the pzxid in the first reply
	// ending in a Stat (exists, getData, setData, getACL, setACL,
	// getChildren2, create2/createContainer/createTTL) with err 0.
	PerturbReply
	// PerturbDropEvent drops the first watch event B delivers.
	PerturbDropEvent
)

// Perturbation is a deliberate difference injected into B's answers.
type Perturbation struct {
	Kind PerturbKind
	From int
}

// Mismatch is a difference between the two targets: the op that caused it
// (0 is the setup), the seed that reproduces the stream, and both answers in
// canonical form.
type Mismatch struct {
	Seed uint64
	Op   int
	Kind string // the op's kind, e.g. "setData" or "reader getData"
	Desc string // the op's requests, paths relative to the namespace
	What string // which answer differs
	A, B string
}

func (m *Mismatch) Error() string {
	return fmt.Sprintf("difftest: seed %d, op #%d (%s: %s): %s differs\n  A: %s\n  B: %s",
		m.Seed, m.Op, m.Kind, m.Desc, m.What, m.A, m.B)
}

// Result summarises a run that found no difference.
type Result struct {
	Ops       int            // ops issued after the setup
	Kinds     map[string]int // ops by kind
	Codes     map[string]int // reply error codes seen (A side, multi sub-results included)
	Events    int            // watch events compared (per side)
	Perturbed int            // the op at which the perturbation was applied, -1 if none
	Wakes     [2]int64       // pings sent on the waker sessions of A and B (see Options.Wake)
	Elapsed   time.Duration
}

// sides
const (
	sideA = 0
	sideB = 1
)

type runner struct {
	o       Options
	addr    [2]string
	prefix  [2]string
	m       *maps
	g       *gen
	pairs   [2][]*Client
	gens    []int
	auths   [][]string // digest users of each pair's current sessions
	readers [2]*Client
	wakers  [2]*Client // see Options.Wake; pinged by every barrier to keep them alive
	wakes   [2]atomic.Int64
	bounds  [][2]int64 // zxids of the barrier writes on A and B, per barrier

	op  int
	st  step
	res Result
}

// Run issues the stream against both targets in lockstep and returns the
// first difference as a *Mismatch, or another error if a target could not
// be reached or a connection failed. Sessions it opened are closed before
// it returns; the nodes it created are left in place.
func Run(o Options) (res Result, err error) {
	if o.Ops == 0 {
		o.Ops = 10_000
	}
	if o.Pairs == 0 {
		o.Pairs = 4
	}
	if o.Root == "" {
		o.Root = "/difftest"
	}
	r := &runner{
		o:      o,
		addr:   [2]string{o.AddrA, o.AddrB},
		prefix: [2]string{o.Root + "/a", o.Root + "/b"},
		m:      newMaps(),
		gens:   make([]int, o.Pairs),
		auths:  make([][]string, o.Pairs),
		res:    Result{Kinds: map[string]int{}, Codes: map[string]int{}, Perturbed: -1},
	}
	r.g = &gen{r: rand.New(rand.NewPCG(o.Seed, 0x5eed)), m: newModel(), pairs: o.Pairs, noReconnect: o.NoReconnect}
	defer r.closeAll()
	defer func() { res.Wakes = [2]int64{r.wakes[0].Load(), r.wakes[1].Load()} }()
	began := time.Now()
	if err := r.setup(); err != nil {
		return r.res, err
	}
	for r.op = 1; r.op <= o.Ops; r.op++ {
		r.st = r.g.next(len(r.bounds))
		r.res.Kinds[r.st.kind]++
		if o.Trace && o.Logf != nil {
			o.Logf("op %d pair %d %s: %s", r.op, r.st.pair, r.st.kind, r.st.desc)
		}
		if err := r.do(); err != nil {
			return r.res, err
		}
		r.res.Ops = r.op
		if o.Logf != nil && r.op%1000 == 0 {
			o.Logf("difftest: %d ops in %v", r.op, time.Since(began).Round(time.Millisecond))
		}
	}
	r.res.Elapsed = time.Since(began)
	return r.res, nil
}

// onSlow returns the OnSlow hook of side's connections: it wakes the target
// if Options.Wake marks it, and tells Options.OnSlow.
func (r *runner) onSlow(side int) func(time.Duration, string) {
	return func(waited time.Duration, desc string) {
		if r.o.Wake[side] {
			r.wakers[side].Send(proto.XidPing, proto.OpPing, nil)
			r.wakes[side].Add(1)
		}
		if r.o.OnSlow != nil {
			r.o.OnSlow(side, waited, desc)
		}
	}
}

func (r *runner) closeAll() {
	for side := range 2 {
		for _, c := range r.pairs[side] {
			if c != nil {
				c.Close()
			}
		}
		if r.readers[side] != nil {
			r.readers[side].Close()
		}
		if r.wakers[side] != nil {
			r.wakers[side].Close()
		}
	}
}

// both runs f for A and B concurrently and returns the first error.
func both(f func(side int) error) error {
	var errs [2]error
	var wg sync.WaitGroup
	for side := range 2 {
		wg.Go(func() {
			if err := f(side); err != nil {
				errs[side] = fmt.Errorf("target %c: %w", 'A'+side, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs[0], errs[1])
}

func (r *runner) mismatch(what, a, b string) *Mismatch {
	return &Mismatch{Seed: r.o.Seed, Op: r.op, Kind: r.st.kind, Desc: r.st.desc, What: what, A: a, B: b}
}

func (r *runner) transport(err error) error {
	return fmt.Errorf("difftest: seed %d, op #%d (%s: %s): %w", r.o.Seed, r.op, r.st.kind, r.st.desc, err)
}

func (r *runner) mirrorView(side int) *view {
	return &view{prefix: r.prefix[side], side: side, m: r.m, lo: r.lastBound(side), hi: r.maxBound()}
}

func (r *runner) exactView(side int) *view {
	return &view{side: side, m: r.m, lo: r.lastBound(side), hi: r.maxBound()}
}

// open dials a new session for pair (or a reader when pair < 0) on side and
// authenticates it; it returns the client and the rendered handshake and
// auth replies.
func (r *runner) open(side, pair int, users []string) (*Client, []string, error) {
	c, err := Dial(r.addr[side], DialOptions{LastZxidSeen: r.lastBound(side), OnSlow: r.onSlow(side)})
	if err != nil {
		return nil, nil, err
	}
	label := "reader"
	if pair >= 0 {
		label = fmt.Sprintf("s%d.%d", pair, r.gens[pair])
	}
	r.m.sess[side][c.SessionID()] = label
	out := []string{r.connectText(side, c)}
	for _, u := range users {
		rep, err := c.Call(proto.XidAuth, proto.OpAuth, authPacket(u))
		if err != nil {
			return c, nil, err
		}
		out = append(out, r.exactView(side).reply(proto.OpAuth, rep, zxidRaw))
	}
	return c, out, nil
}

func (r *runner) connectText(side int, c *Client) string {
	x := c.Connect
	return fmt.Sprintf("connect: version=%d timeout=%d session=%s passwd=%d bytes readOnly=%v/%v",
		x.ProtocolVersion, x.TimeOut, r.m.sess[side][x.SessionID], len(x.Passwd), x.HasReadOnly, x.ReadOnly)
}

// lastBound is the zxid of side's latest barrier write: that side has
// applied every txn up to it.
func (r *runner) lastBound(side int) int64 {
	if len(r.bounds) == 0 {
		return 0
	}
	return r.bounds[len(r.bounds)-1][side]
}

// maxBound is the last zxid of the ensemble between steps: the later of the
// two latest barrier writes.
func (r *runner) maxBound() int64 {
	if len(r.bounds) == 0 {
		return 0
	}
	b := r.bounds[len(r.bounds)-1]
	return max(b[0], b[1])
}

func (r *runner) compareTexts(what string, a, b []string) error {
	for i := range max(len(a), len(b)) {
		var x, y string
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y {
			return r.mismatch(fmt.Sprintf("%s, answer %d", what, i), x, y)
		}
	}
	return nil
}

func (r *runner) setup() error {
	r.st = step{kind: "setup", desc: "open sessions, create the root and both namespaces"}
	err := both(func(side int) error {
		w, err := Dial(r.addr[side], DialOptions{})
		if err != nil {
			return err
		}
		r.wakers[side] = w
		r.pairs[side] = make([]*Client, r.o.Pairs)
		for pair := range r.o.Pairs {
			c, _, err := r.open(side, pair, pairAuth(pair))
			if err != nil {
				return err
			}
			r.pairs[side][pair] = c
		}
		c, _, err := r.open(side, -1, []string{"alice"})
		r.readers[side] = c
		return err
	})
	if err != nil {
		return r.transport(err)
	}
	for pair := range r.o.Pairs {
		r.auths[pair] = pairAuth(pair)
	}
	h, err := r.readers[sideA].Decode(proto.OpCreate, &proto.CreateRequest{Path: r.o.Root, ACL: proto.OpenACLUnsafe}, nil)
	if err == nil && h.Err != 0 {
		err = fmt.Errorf("create %s: %v (the root must not exist)", r.o.Root, proto.ErrCode(h.Err))
	}
	if err != nil {
		return r.transport(err)
	}
	r.bounds = append(r.bounds, [2]int64{h.Zxid, h.Zxid})
	r.st = one("setup", 0, true, proto.OpCreate2, func(mp func(string) string) jute.Record {
		return &proto.CreateRequest{Path: mp("/"), Data: []byte("root"), ACL: proto.OpenACLUnsafe}
	})
	return r.do()
}

// do executes r.st on both targets, then the barrier if it wrote, and
// compares everything.
func (r *runner) do() error {
	st := &r.st
	var err error
	switch {
	case st.reconnect:
		err = r.reconnect()
	case st.closeSession:
		err = r.closeSession()
	case st.addAuth != "":
		err = r.addAuth()
	case st.pair < 0:
		err = r.readerStep()
	default:
		err = r.mirror()
	}
	if err != nil {
		return err
	}
	if st.write {
		if err := r.barrier(); err != nil {
			return err
		}
	}
	return r.compareEvents()
}

// sendAll pipelines calls on c and waits for every reply.
func sendAll(c *Client, calls []call) ([]Reply, error) {
	waits := make([]func() (Reply, error), len(calls))
	for i, cl := range calls {
		waits[i] = c.Send(cl.xid, cl.op, cl.req)
	}
	out := make([]Reply, len(calls))
	for i, w := range waits {
		var err error
		if out[i], err = w(); err != nil {
			return out, err
		}
	}
	return out, nil
}

// statTail reports whether a successful reply of op ends with a Stat.
func statTail(op proto.OpCode) bool {
	switch op {
	case proto.OpExists, proto.OpGetData, proto.OpSetData, proto.OpGetACL, proto.OpSetACL,
		proto.OpGetChildren2, proto.OpCreate2, proto.OpCreateContainer, proto.OpCreateTTL:
		return true
	}
	return false
}

// perturbReplies applies a PerturbReply to B's replies when due.
func (r *runner) perturbReplies(calls []call, reps []Reply) {
	p := r.o.Perturb
	if p.Kind != PerturbReply || r.res.Perturbed >= 0 || r.op < p.From {
		return
	}
	for i, rep := range reps {
		if rep.Header.Err == 0 && statTail(calls[i].op) && len(rep.Body) >= proto.StatSize {
			rep.Body[len(rep.Body)-1] ^= 1
			r.res.Perturbed = r.op
			return
		}
	}
}

func (r *runner) mirror() error {
	st := &r.st
	var calls [2][]call
	var reps [2][]Reply
	err := both(func(side int) error {
		calls[side] = st.build(r.prefix[side])
		var err error
		reps[side], err = sendAll(r.pairs[side][st.pair], calls[side])
		return err
	})
	if err != nil {
		return r.transport(err)
	}
	if err := r.learnZxids(calls[sideA], reps); err != nil {
		return err
	}
	r.perturbReplies(calls[sideB], reps[sideB])
	var texts [2][]string
	for side := range 2 {
		v := r.mirrorView(side)
		for i, c := range calls[side] {
			texts[side] = append(texts[side], v.reply(c.op, reps[side][i], c.zk))
		}
	}
	if err := r.compareTexts(fmt.Sprintf("reply of session pair %d", st.pair), texts[sideA], texts[sideB]); err != nil {
		return err
	}
	r.observe(calls[sideA], reps[sideA])
	return nil
}

// learnZxids pairs the zxids of the mirrored txns of a step: each must be a
// new zxid on both sides.
func (r *runner) learnZxids(calls []call, reps [2][]Reply) error {
	for i, c := range calls {
		if c.zk != zxidMirrored {
			continue
		}
		za, zb := reps[sideA][i].Header.Zxid, reps[sideB][i].Header.Zxid
		if err := r.learn(za, zb); err != nil {
			return r.mismatch(fmt.Sprintf("zxid of write %d (%v)", i, c.op), err.Error(), fmt.Sprintf("%#x / %#x", za, zb))
		}
	}
	return nil
}

func (r *runner) learn(za, zb int64) error {
	b := r.maxBound()
	switch {
	case za <= b || zb <= b:
		return fmt.Errorf("a write did not consume a new zxid (last zxid before it %#x)", b)
	case r.m.zxidA[za] || r.m.zxidA[zb]:
		return errors.New("a zxid was reported for two different txns")
	}
	if _, dup := r.m.zxidBA[zb]; dup {
		return errors.New("a zxid was reported for two different txns")
	}
	r.m.zxidA[za] = true
	r.m.zxidBA[zb] = za
	return nil
}

// logical returns the logical path of an A-side path, or "" if it is not in
// A's namespace.
func (r *runner) logical(p string) string {
	pre := r.prefix[sideA]
	if p == pre {
		return "/"
	}
	if strings.HasPrefix(p, pre+"/") {
		return p[len(pre):]
	}
	return ""
}

// observe refreshes the generator's model and the statistics from A's
// replies.
func (r *runner) observe(calls []call, reps []Reply) {
	for i, c := range calls {
		r.res.Codes[proto.ErrCode(reps[i].Header.Err).String()]++
		if reps[i].Header.Err != 0 {
			r.observeErr(c.op, c.req, proto.ErrCode(reps[i].Header.Err))
			continue
		}
		rec := responseRecord(c.op)
		if rec == nil || jute.Unmarshal(reps[i].Body, rec) != nil {
			rec = nil
		}
		r.observeOK(c.op, c.req, rec)
	}
}

func reqPath(req jute.Record) string {
	switch q := req.(type) {
	case *proto.CreateRequest:
		return q.Path
	case *proto.CreateTTLRequest:
		return q.Path
	case *proto.DeleteRequest:
		return q.Path
	case *proto.SetDataRequest:
		return q.Path
	case *proto.ExistsRequest:
		return q.Path
	case *proto.GetDataRequest:
		return q.Path
	case *proto.GetChildren2Request:
		return q.Path
	case *proto.CheckVersionRequest:
		return q.Path
	}
	return ""
}

func (r *runner) observeErr(op proto.OpCode, req jute.Record, code proto.ErrCode) {
	p := r.logical(reqPath(req))
	if p == "" {
		return
	}
	switch code {
	case proto.ErrNoNode:
		if op != proto.OpCreate && op != proto.OpCreate2 && op != proto.OpCreateContainer && op != proto.OpCreateTTL {
			r.g.m.remove(p)
		}
	case proto.ErrNodeExists:
		r.g.m.add(p)
	}
}

func (r *runner) observeOK(op proto.OpCode, req jute.Record, rec jute.Record) {
	p := r.logical(reqPath(req))
	setVersion := func(s proto.Stat) {
		if p != "" {
			r.g.m.add(p)
			r.g.m.version[p] = s.Version
		}
	}
	switch x := rec.(type) {
	case *proto.CreateResponse:
		if q := r.logical(x.Path); q != "" {
			r.g.m.add(q)
		}
	case *proto.Create2Response:
		if q := r.logical(x.Path); q != "" {
			r.g.m.add(q)
		}
	case *proto.SetDataResponse:
		setVersion(x.Stat)
	case *proto.GetDataResponse:
		setVersion(x.Stat)
	case *proto.ExistsResponse:
		setVersion(x.Stat)
	case *proto.MultiResponse:
		m, _ := req.(*proto.MultiRequest)
		for i, res := range x.Results {
			r.res.Codes[res.Err.String()]++
			if m == nil || i >= len(m.Ops) {
				continue
			}
			if res.Type == proto.OpDelete {
				if q := r.logical(reqPath(m.Ops[i].Op)); q != "" {
					r.g.m.remove(q)
				}
			} else if res.Type == proto.OpError {
				r.observeErr(m.Ops[i].Type, m.Ops[i].Op, res.Err)
			} else {
				r.observeOK(res.Type, m.Ops[i].Op, res.Record)
			}
		}
	case nil:
		if op == proto.OpDelete && p != "" {
			r.g.m.remove(p)
		}
	}
}

func (r *runner) readerStep() error {
	st := &r.st
	calls := []call{st.readerCall(mapPath(r.prefix[sideA], st.readerPath)), st.readerCall(mapPath(r.prefix[sideB], st.readerPath))}
	var reps [2][]Reply
	err := both(func(side int) error {
		var err error
		reps[side], err = sendAll(r.readers[side], calls)
		return err
	})
	if err != nil {
		return r.transport(err)
	}
	r.perturbReplies(calls, reps[sideB])
	var texts [2][]string
	for side := range 2 {
		for i, c := range calls {
			texts[side] = append(texts[side], r.exactView(side).reply(c.op, reps[side][i], zxidGlobal))
		}
	}
	return r.compareTexts("reply of the exact readers", texts[sideA], texts[sideB])
}

func (r *runner) addAuth() error {
	st := &r.st
	var texts [2][]string
	err := both(func(side int) error {
		rep, err := r.pairs[side][st.pair].Call(proto.XidAuth, proto.OpAuth, authPacket(st.addAuth))
		texts[side] = []string{r.exactView(side).reply(proto.OpAuth, rep, zxidRaw)}
		return err
	})
	if err != nil {
		return r.transport(err)
	}
	r.auths[st.pair] = append(r.auths[st.pair], st.addAuth)
	return r.compareTexts(fmt.Sprintf("auth reply of session pair %d", st.pair), texts[sideA], texts[sideB])
}

// reconnect moves a pair's (or the readers') sessions to new connections,
// re-sends their auth, then SetWatches2.
func (r *runner) reconnect() error {
	st := &r.st
	rel := max(r.bounds[st.relIdx][0], r.bounds[st.relIdx][1])
	var texts [2][]string
	users := []string{"alice"}
	if st.pair >= 0 {
		users = r.auths[st.pair]
	}
	err := both(func(side int) error {
		old := r.readers[side]
		if st.pair >= 0 {
			old = r.pairs[side][st.pair]
		}
		// The new connection is opened while the old one is still up, and the
		// step goes on only once the server has closed the old one (it does so
		// when the session reconnects), so that the old connection's cleanup
		// (its watches, its close) is over before the next op on either side.
		c, err := Dial(r.addr[side], DialOptions{SessionID: old.SessionID(), Passwd: old.Connect.Passwd, LastZxidSeen: r.lastBound(side), LastXid: old.LastXid(),
			OnSlow: r.onSlow(side)})
		if err != nil {
			return err
		}
		select {
		case <-old.Done():
		case <-time.After(CallTimeout):
			c.Close()
			return errors.New("the server did not close the session's old connection on reconnect")
		}
		if st.pair >= 0 {
			r.pairs[side][st.pair] = c
		} else {
			r.readers[side] = c
		}
		texts[side] = append(texts[side], r.connectText(side, c))
		var calls []call
		for _, u := range users {
			calls = append(calls, call{xid: proto.XidAuth, op: proto.OpAuth, req: authPacket(u), zk: zxidRaw})
		}
		var lists [5][]string
		for i, l := range st.watches {
			for _, p := range l {
				if st.pair >= 0 {
					lists[i] = append(lists[i], mapPath(r.prefix[side], p))
				} else {
					lists[i] = append(lists[i], mapPath(r.prefix[sideA], p), mapPath(r.prefix[sideB], p))
				}
			}
		}
		calls = append(calls, call{xid: proto.XidSetWatches, op: proto.OpSetWatches2, req: &proto.SetWatches2{
			RelativeZxid: rel, DataWatches: nonNil(lists[0]), ExistWatches: nonNil(lists[1]), ChildWatches: nonNil(lists[2]),
			PersistentWatches: nonNil(lists[3]), PersistentRecursiveWatches: nonNil(lists[4])}})
		reps, err := sendAll(c, calls)
		if err != nil {
			return err
		}
		for i, cl := range calls {
			texts[side] = append(texts[side], r.exactView(side).reply(cl.op, reps[i], cl.zk))
		}
		return nil
	})
	if err != nil {
		return r.transport(err)
	}
	st.desc = fmt.Sprintf("reconnect, setWatches2 relativeZxid=%#x data=%q exist=%q child=%q persistent=%q recursive=%q",
		rel, st.watches[0], st.watches[1], st.watches[2], st.watches[3], st.watches[4])
	return r.compareTexts("reconnect", texts[sideA], texts[sideB])
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// closeSession closes a pair's sessions (closeSession request) and opens
// new ones with the pair's initial auth.
func (r *runner) closeSession() error {
	st := &r.st
	var reps [2][]Reply
	var texts [2][]string
	var closed [2]*Client
	r.gens[st.pair]++
	err := both(func(side int) error {
		old := r.pairs[side][st.pair]
		closed[side] = old
		rep, err := old.Call(0, proto.OpCloseSession, nil)
		if err != nil {
			return err
		}
		reps[side] = []Reply{rep}
		c, t, err := r.open(side, st.pair, pairAuth(st.pair))
		if c != nil {
			r.pairs[side][st.pair] = c
		}
		texts[side] = t
		return err
	})
	if err != nil {
		return r.transport(err)
	}
	r.auths[st.pair] = pairAuth(st.pair)
	calls := []call{{op: proto.OpCloseSession, zk: zxidMirrored}}
	if err := r.learnZxids(calls, reps); err != nil {
		return err
	}
	for side := range 2 {
		texts[side] = append([]string{r.mirrorView(side).reply(proto.OpCloseSession, reps[side][0], zxidMirrored)}, texts[side]...)
	}
	if err := r.compareTexts(fmt.Sprintf("session pair %d", st.pair), texts[sideA], texts[sideB]); err != nil {
		return err
	}
	// Events the closing connections got before the close reply.
	return r.compareEventLists(fmt.Sprintf("events of the closed sessions of pair %d", st.pair),
		[2][]Event{closed[sideA].TakeEvents(), closed[sideB].TakeEvents()}, [2]*view{r.mirrorView(sideA), r.mirrorView(sideB)}, true)
}

// barrier makes sure that both targets have applied every txn so far and
// that every watch event those txns caused has arrived: on each target a
// write (setData of the root, through the reader), then a ping on every
// session of that target. A server applies txns in zxid order and answers a
// write only after applying it, and it queues a txn's events at apply time,
// before the reply to any later request of the same connection. (A sync
// would not do: a Java leader answers sync at once, without waiting for
// commits in flight.)
func (r *runner) barrier() error {
	var z [2]int64
	prev := r.maxBound()
	err := both(func(side int) error {
		rep, err := r.readers[side].Call(0, proto.OpSetData, &proto.SetDataRequest{Path: r.o.Root, Version: -1})
		if err != nil {
			return err
		}
		if rep.Header.Err != 0 || rep.Header.Zxid <= prev {
			return fmt.Errorf("barrier write on %c: %+v (last zxid %#x)", 'A'+side, rep.Header, prev)
		}
		z[side] = rep.Header.Zxid
		clients := append(slices.Clone(r.pairs[side]), r.readers[side], r.wakers[side])
		waits := make([]func() (Reply, error), len(clients))
		for i, c := range clients {
			waits[i] = c.Send(proto.XidPing, proto.OpPing, nil)
		}
		for _, w := range waits {
			rep, err := w()
			if err != nil {
				return err
			}
			if rep.Header.Zxid < z[side] {
				return fmt.Errorf("a ping on %c answered zxid %#x after the write %#x", 'A'+side, rep.Header.Zxid, z[side])
			}
		}
		return nil
	})
	if err != nil {
		return r.transport(err)
	}
	r.bounds = append(r.bounds, z)
	return nil
}

// compareEvents compares the events every session pair and the readers have
// received since the last comparison.
func (r *runner) compareEvents() error {
	for pair := range r.o.Pairs {
		ev := [2][]Event{r.pairs[sideA][pair].TakeEvents(), r.pairs[sideB][pair].TakeEvents()}
		if err := r.compareEventLists(fmt.Sprintf("watch events of session pair %d", pair), ev,
			[2]*view{r.mirrorView(sideA), r.mirrorView(sideB)}, r.st.closeSession); err != nil {
			return err
		}
	}
	ev := [2][]Event{r.readers[sideA].TakeEvents(), r.readers[sideB].TakeEvents()}
	return r.compareEventLists("watch events of the exact readers", ev, [2]*view{r.exactView(sideA), r.exactView(sideB)}, false)
}

// compareEventLists compares two sessions' events in order, or as sorted
// lists when unordered is set: a closeSession txn deletes the session's
// ephemerals in the order of a Java hash set of their paths, which differs
// between the two namespaces (the exact readers still see one order).
func (r *runner) compareEventLists(what string, ev [2][]Event, v [2]*view, unordered bool) error {
	if p := r.o.Perturb; p.Kind == PerturbDropEvent && r.res.Perturbed < 0 && r.op >= p.From && len(ev[sideB]) > 0 {
		ev[sideB] = ev[sideB][1:]
		r.res.Perturbed = r.op
	}
	r.res.Events += len(ev[sideA])
	var texts [2][]string
	for side := range 2 {
		for _, e := range ev[side] {
			texts[side] = append(texts[side], v[side].event(e))
		}
		if unordered {
			slices.Sort(texts[side])
		}
	}
	if len(texts[sideA]) != len(texts[sideB]) || slices.Compare(texts[sideA], texts[sideB]) != 0 {
		return r.mismatch(what, strings.Join(texts[sideA], ", "), strings.Join(texts[sideB], ", "))
	}
	return nil
}
