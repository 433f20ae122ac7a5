// Package persist is the persister: it receives the changes of every applied
// txn from the DataTree (as its tree.Recorder) and group-commits them to a
// storage.Engine in the background, so the apply loop never waits for disk.
//
// Batches are cut only at txn boundaries; repeated writes to one path (or
// session) within a batch are coalesced to the last one. The sync policy
// decides when commits are made durable:
//
//	always  every txn is its own batch, committed with fsync
//	batch   a batch is committed with fsync when it holds MaxTxns txns or its
//	        oldest txn has waited MaxDelay (the default)
//	none    like batch, without fsync (a crash may lose recent txns, never
//	        part of one)
//
// Back-pressure: at most one batch is committing and one is sealed waiting;
// when the engine is slower than the txn stream, EndTxn blocks until the
// committer catches up, so memory stays bounded.
//
// Errors: an engine error is fatal for the persister: it stops committing,
// Err reports the error, and every later call is a no-op. The observer must
// then stop and resync (the engine still holds a consistent earlier state).
package persist

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/zkobserver/zkobserver/core/proto"
	"github.com/zkobserver/zkobserver/core/tree"
	"github.com/zkobserver/zkobserver/storage"
)

// Policy is the sync policy.
type Policy int

// Sync policies.
const (
	SyncBatch Policy = iota
	SyncAlways
	SyncNone
)

func (p Policy) String() string {
	switch p {
	case SyncAlways:
		return "always"
	case SyncNone:
		return "none"
	}
	return "batch"
}

// ParsePolicy parses "always", "batch" or "none".
func ParsePolicy(s string) (Policy, error) {
	switch s {
	case "always":
		return SyncAlways, nil
	case "batch", "":
		return SyncBatch, nil
	case "none":
		return SyncNone, nil
	}
	return 0, fmt.Errorf("unknown sync policy %q (want always, batch or none)", s)
}

// Options configures a Persister.
type Options struct {
	Policy Policy
	// MaxTxns cuts a batch after this many txns (default 50,000). Batches
	// this large happen only while the engine is slower than the stream
	// (otherwise MaxDelay cuts them), and they are what lets a B-tree
	// engine keep up: bbolt's commit cost grows with the pages it touches,
	// far slower than with the txns in the batch.
	MaxTxns int
	// MaxDelay cuts a batch when its first txn has waited this long
	// (default 5ms).
	MaxDelay time.Duration
	Logger   zerolog.Logger
}

// ErrClosed is returned by Flush after Close.
var ErrClosed = errors.New("persist: closed")

// batch is the pending content of one commit.
type batch struct {
	// changes are the node changes in order; the committer coalesces them
	// (the applier only appends, into storage reused batch after batch).
	changes  []change
	sessions map[int64]int32 // timeout; -1 marks a closed session
	epochs   *storage.Epochs
	lastZxid int64
	txns     int
	first    time.Time // when its first txn ended
}

// change is one recorded node change; deleted marks a delete.
type change struct {
	node    storage.Node
	deleted bool
}

func newBatch() *batch {
	return &batch{sessions: map[int64]int32{}}
}

// reset empties b, keeping its maps' capacity.
func (b *batch) reset() *batch {
	clear(b.changes) // drop references to data
	b.changes = b.changes[:0]
	clear(b.sessions)
	b.epochs, b.lastZxid, b.txns, b.first = nil, 0, 0, time.Time{}
	return b
}

func (b *batch) empty() bool { return b.txns == 0 && b.epochs == nil }

// Persister implements tree.Recorder. Its Recorder methods are called by the
// single applier; Flush, Close, DurableZxid and Err may be called from any
// goroutine.
type Persister struct {
	eng  storage.Engine
	opts Options
	log  zerolog.Logger

	mu      sync.Mutex
	cond    *sync.Cond // signals: sealed taken, commit done, close
	cur     *batch     // open batch; only the applier adds to it
	sealed  *batch     // cut, waiting for the committer
	busy    bool       // the committer is committing
	closed  bool
	inTxn   bool // the applier has recorded changes of a txn not yet ended
	err     error
	flushes int    // Flush calls waiting for everything sealed to commit
	spare   *batch // a committed batch, reset for reuse (its maps keep their size)

	durable   atomic.Int64
	committed atomic.Int64
	commits   atomic.Int64
	stalls    atomic.Int64 // times the applier waited for the committer
	done      chan struct{}
	wake      chan struct{}

	last map[string]int // the committer's coalescing index, reused
}

var _ tree.Recorder = (*Persister)(nil)

// New starts a persister over eng, whose current LastZxid is start.
func New(eng storage.Engine, start int64, opts Options) *Persister {
	if opts.MaxTxns <= 0 {
		opts.MaxTxns = 50_000
	}
	if opts.MaxDelay <= 0 {
		opts.MaxDelay = 5 * time.Millisecond
	}
	p := &Persister{eng: eng, opts: opts, log: opts.Logger, cur: newBatch(), done: make(chan struct{}), wake: make(chan struct{}, 1)}
	p.cond = sync.NewCond(&p.mu)
	p.durable.Store(start)
	p.committed.Store(start)
	go p.run()
	return p
}

// NodeChanged implements tree.Recorder.
func (p *Persister) NodeChanged(path string, n *tree.Node, acl []proto.ACL) {
	p.mu.Lock()
	p.inTxn = true
	p.cur.changes = append(p.cur.changes, change{node: storage.Node{Path: path, Data: n.Data, ACL: acl, Stat: n.Stat}})
	p.mu.Unlock()
}

// NodeDeleted implements tree.Recorder.
func (p *Persister) NodeDeleted(path string) {
	p.mu.Lock()
	p.inTxn = true
	p.cur.changes = append(p.cur.changes, change{node: storage.Node{Path: path}, deleted: true})
	p.mu.Unlock()
}

// SessionChanged implements tree.Recorder.
func (p *Persister) SessionChanged(id int64, timeout int32) {
	p.mu.Lock()
	p.inTxn = true
	p.cur.sessions[id] = timeout
	p.mu.Unlock()
}

// SessionClosed implements tree.Recorder.
func (p *Persister) SessionClosed(id int64) {
	p.mu.Lock()
	p.inTxn = true
	p.cur.sessions[id] = -1
	p.mu.Unlock()
}

// SetEpochs records new epochs; they are committed with the next batch
// (Flush makes them durable at once).
func (p *Persister) SetEpochs(accepted, current int64) {
	p.mu.Lock()
	p.cur.epochs = &storage.Epochs{Accepted: accepted, Current: current}
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// EndTxn implements tree.Recorder: the txn that ended at zxid is complete.
// It blocks only when the committer is a full batch behind.
func (p *Persister) EndTxn(zxid int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if zxid > p.cur.lastZxid {
		p.cur.lastZxid = zxid
	}
	p.inTxn = false
	if p.cur.txns == 0 {
		p.cur.first = time.Now()
		// The committer sleeps while nothing is pending: wake it to arm
		// the batch's deadline.
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
	p.cur.txns++
	switch {
	case p.opts.Policy == SyncAlways || p.cur.txns >= p.opts.MaxTxns:
		p.sealLocked(true)
	case p.sealed == nil && p.cur.txns&63 == 0 && time.Since(p.cur.first) >= p.opts.MaxDelay:
		// The committer's timer may have fired mid-txn; cut here.
		p.sealLocked(false)
	}
}

// sealLocked moves cur to sealed, waiting for the slot if wait is true
// (back-pressure). It reports whether it sealed.
func (p *Persister) sealLocked(wait bool) bool {
	stalled := false
	for p.sealed != nil && p.err == nil && !p.closed {
		if !wait {
			return false
		}
		if !stalled {
			stalled = true
			p.stalls.Add(1)
		}
		p.cond.Wait()
	}
	if p.err != nil || p.closed || p.cur.empty() {
		if p.err != nil || p.closed {
			p.cur = newBatch() // drop: nothing more is committed
		}
		return false
	}
	next := p.spare
	if next == nil {
		next = newBatch()
	}
	p.spare = nil
	p.sealed, p.cur = p.cur, next
	select {
	case p.wake <- struct{}{}:
	default:
	}
	return true
}

// run is the committer.
func (p *Persister) run() {
	defer close(p.done)
	// The timer runs only while a batch is open, so an idle persister
	// does not wake up.
	timer := time.NewTimer(p.opts.MaxDelay)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-p.wake:
		case <-timer.C:
		}
		p.mu.Lock()
		// The open batch can be cut only between txns.
		if p.sealed == nil && !p.inTxn && !p.cur.empty() && (time.Since(p.cur.first) >= p.opts.MaxDelay || p.flushes > 0 || p.closed) {
			p.sealLocked(false)
		}
		b := p.sealed
		if b == nil {
			stop := p.closed || p.err != nil
			p.cond.Broadcast()
			p.mu.Unlock()
			if stop {
				return
			}
			if d, open := p.nextDeadline(); open {
				timer.Reset(d)
			} else {
				timer.Stop()
			}
			continue
		}
		p.sealed, p.busy = nil, true
		p.cond.Broadcast()
		p.mu.Unlock()

		err := p.commit(b)

		b.reset()
		p.mu.Lock()
		p.busy = false
		p.spare = b
		if err != nil && p.err == nil {
			p.err = err
			p.log.Error().Err(err).Str("zxid", fmt.Sprintf("%#x", b.lastZxid)).Msg("persister stopped: engine commit failed")
		}
		p.cond.Broadcast()
		p.mu.Unlock()
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
}

// nextDeadline returns how long until the open batch must be cut, and
// whether there is one.
func (p *Persister) nextDeadline() (time.Duration, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cur.empty() {
		return 0, false
	}
	d := p.opts.MaxDelay - time.Since(p.cur.first)
	if d < 100*time.Microsecond {
		d = 100 * time.Microsecond
	}
	return d, true
}

// commit writes b to the engine.
func (p *Persister) commit(b *batch) error {
	sb := &storage.Batch{LastZxid: b.lastZxid, Epochs: b.epochs}
	if sb.LastZxid < p.committed.Load() {
		sb.LastZxid = p.committed.Load() // epochs only
	}
	// Coalesce: the last change of each path wins.
	if p.last == nil {
		p.last = make(map[string]int, len(b.changes))
	}
	last := p.last
	defer clear(last)
	for i := range b.changes {
		last[b.changes[i].node.Path] = i
	}
	nodes := make([]storage.Node, 0, len(last))
	for i := range b.changes {
		c := &b.changes[i]
		if last[c.node.Path] != i {
			continue
		}
		if c.deleted {
			sb.Deletes = append(sb.Deletes, c.node.Path)
		} else {
			nodes = append(nodes, c.node)
		}
	}
	sb.Puts = make([]*storage.Node, len(nodes))
	for i := range nodes {
		sb.Puts[i] = &nodes[i]
	}
	for id, to := range b.sessions {
		if to < 0 {
			sb.SessionDeletes = append(sb.SessionDeletes, id)
		} else {
			sb.Sessions = append(sb.Sessions, storage.Session{ID: id, Timeout: to})
		}
	}
	sync := p.opts.Policy != SyncNone
	if err := p.eng.Commit(sb, sync); err != nil {
		return fmt.Errorf("persist: commit up to %#x: %w", sb.LastZxid, err)
	}
	p.committed.Store(sb.LastZxid)
	p.commits.Add(1)
	if sync {
		p.durable.Store(sb.LastZxid)
	}
	return nil
}

// DurableZxid returns the zxid of the last txn committed with fsync (with
// policy none: committed to the engine without fsync).
func (p *Persister) DurableZxid() int64 {
	if p.opts.Policy == SyncNone {
		return p.committed.Load()
	}
	return p.durable.Load()
}

// Stats are the persister's counters, for metrics.
type Stats struct {
	Commits int64 // engine commits made
	Stalls  int64 // times the applier had to wait for the committer
}

// Stats returns the counters.
func (p *Persister) Stats() Stats {
	return Stats{Commits: p.commits.Load(), Stalls: p.stalls.Load()}
}

// Err returns the fatal engine error, if any.
func (p *Persister) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// Flush commits everything recorded so far (and the epochs) and waits until
// it is committed. It must not be called by the applier concurrently with
// Recorder calls for the same txn (call it between txns).
func (p *Persister) Flush() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrClosed
	}
	p.flushes++
	defer func() { p.flushes-- }()
	for (!p.cur.empty() || p.sealed != nil || p.busy) && p.err == nil {
		if p.sealed == nil && !p.inTxn && !p.cur.empty() {
			p.sealLocked(false)
		}
		select {
		case p.wake <- struct{}{}:
		default:
		}
		p.cond.Wait()
	}
	return p.err
}

// Close flushes what is pending and stops the committer. The engine is not
// closed.
func (p *Persister) Close() error {
	err := p.Flush()
	if errors.Is(err, ErrClosed) {
		return nil
	}
	p.mu.Lock()
	p.closed = true
	p.cond.Broadcast()
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
	<-p.done
	return err
}
