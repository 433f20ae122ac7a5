// Package observer is the orchestrator: it owns the DataTree, the persister
// and the storage engine, holds the observer's state, and runs the single
// apply loop that the learner feeds.
//
// Persistence rules kept here: the tree and the engine move together; the
// engine's lastZxid never names a txn whose effects it lacks (the persister
// commits whole txns); accepted and current epochs are durable before the
// leader is told about them; a SNAP is installed into the engine in one
// staged install before NEWLEADER is acknowledged; a session cut between a
// SNAP and UPTODATE, a TRUNC, or a digest mismatch resets the store to
// empty (flagged for resync), so the next sync is a SNAP and a diverged or
// half-synced tree is never kept.
package observer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/zkobserver/zkobserver/core/learner"
	"github.com/zkobserver/zkobserver/core/persist"
	"github.com/zkobserver/zkobserver/core/proto"
	"github.com/zkobserver/zkobserver/core/tree"
	"github.com/zkobserver/zkobserver/storage"
)

// Config configures an Observer.
type Config struct {
	Learner learner.Config
	Engine  storage.Engine // owned by the caller, open; not closed by Observer
	Persist persist.Options
	Backoff learner.Backoff
	// Reset wipes the engine at start, so that the first sync is a SNAP.
	Reset  bool
	Logger zerolog.Logger
	// Clients, if not nil, is told what the client-serving side needs:
	// every applied txn, sync and revalidation answers, and the leader's
	// coming and going.
	Clients Clients
}

// Clients is what the client server hears from the observer. Committed,
// Synced, Revalidated and Reset are called on the apply loop, in stream
// order (a watch event a txn fires is delivered, through the tree's
// Trigger, before Committed sees that txn); the others on the learner's
// goroutine. None may block for long: they run on the path of every txn.
type Clients interface {
	// Committed is called after each txn is applied, with its result.
	Committed(txn *proto.Txn, rc *tree.Result)
	// Synced answers the oldest sync forwarded.
	Synced()
	// Revalidated answers a REVALIDATE.
	Revalidated(sessionID int64, valid bool)
	// Reset is called after the tree was replaced (a SNAP, or a reset to
	// empty): every session and watch may be stale.
	Reset()
	// LeaderFound is called once in sync with a leader whose session takes
	// client requests (after UPTODATE, the forwarder attached), LeaderLost
	// when the session with the leader ends (the forwarder detached first;
	// pending writes and syncs cannot complete).
	LeaderFound()
	LeaderLost(err error)
	// Touches appends the PING reply's session touches.
	Touches(dst []byte) []byte
}

// ErrDigestMismatch ends a session whose txn left the tree with another
// digest than the leader's.
var ErrDigestMismatch = errors.New("tree digest differs from the leader's")

// digestVersion is the digest algorithm this tree keeps (Java's
// DigestCalculator.DIGEST_VERSION).
const digestVersion = 2

// When the tree counts as diverged from the leader's: after digestStrikes
// leader digests in a row that differ from ours, spread over at least
// digestStreak. One difference is not proof: a 3.8 leader computes a txn's
// digest before applying it (PrepRequestProcessor's predicted change
// records), and under pipelined writes a wrong prediction carries over to
// the txns in flight behind it, while every server's tree, ours included,
// is right; all Java servers then log "Digests are not matching" for those
// txns, and the digests agree again once the leader's pipeline drains,
// within milliseconds (seen in the differential runs of internal/difftest:
// up to 3 txns in a row). A diverged tree differs at every later txn.
const (
	digestStrikes = 3
	digestStreak  = 5 * time.Second
)

// digestStreakState tracks the leader digests in a row that differ from
// ours.
type digestStreakState struct {
	n     int       // differences in a row
	first time.Time // when the first of them came
}

// mismatch records a difference at now and reports whether the tree now
// counts as diverged.
func (d *digestStreakState) mismatch(now time.Time) bool {
	if d.n == 0 {
		d.first = now
	}
	d.n++
	return d.n >= digestStrikes && now.Sub(d.first) >= digestStreak
}

// Observer is one zkobserver attached to an ensemble.
type Observer struct {
	cfg  Config
	log  zerolog.Logger
	tree *tree.DataTree
	eng  storage.Engine

	// Owned by the apply loop (and by New before it starts).
	p      *persist.Persister
	pub    atomic.Pointer[persist.Persister] // p, for readers off the apply loop
	meta   storage.Meta                      // epochs (LastZxid is the tree's)
	fuzzy  bool                              // since a SNAP, no leader digest has matched yet
	streak digestStreakState
	now    func() time.Time // the clock (tests replace it)
	failed error            // a fatal apply-loop error, reported to the learner

	work chan item
	// inSync is set from Snap to UpToDate: a session cut in between leaves
	// a half-synced tree (reset at Disconnected).
	snapPending bool
	mismatch    atomic.Bool
	abort       atomic.Pointer[func(error)] // ends the current session
	fwd         atomic.Pointer[learner.Forwarder]

	state   atomic.Int32
	leader  atomic.Int64
	metrics Metrics

	mu       sync.Mutex
	lastSync learner.SyncReport
	synced   chan struct{} // closed and replaced at every UPTODATE
}

// item is one unit of the apply loop: a txn, or a function run between
// txns (with its result sent on done).
type item struct {
	txn  *proto.Txn
	fn   func() error
	done chan error
}

// New loads the engine's state into a tree (or wipes it, with cfg.Reset).
func New(cfg Config) (*Observer, error) {
	if cfg.Engine == nil {
		return nil, errors.New("observer: no storage engine")
	}
	o := &Observer{cfg: cfg, log: cfg.Logger, eng: cfg.Engine, work: make(chan item, 4096), synced: make(chan struct{}), now: time.Now}
	o.leader.Store(-1)
	if cfg.Reset {
		if err := persist.Install(cfg.Engine, tree.New(cfg.Learner.Tree), storage.Meta{}); err != nil {
			return nil, fmt.Errorf("reset: %w", err)
		}
		o.log.Warn().Msg("store reset: the next sync is a SNAP")
	}
	start := time.Now()
	t, meta, err := persist.LoadTree(cfg.Engine, cfg.Learner.Tree)
	if err != nil {
		return nil, err
	}
	o.tree, o.meta = t, meta
	o.setPersister(persist.New(cfg.Engine, t.LastZxid(), o.persistOpts()))
	o.metrics.lastZxid.Store(t.LastZxid())
	o.log.Info().Str("zxid", hex(t.LastZxid())).Int("znodes", t.NodeCount()).Int64("accepted_epoch", meta.AcceptedEpoch).
		Int64("current_epoch", meta.CurrentEpoch).Bool("needs_resync", meta.NeedsResync).Dur("load", time.Since(start)).Msg("state loaded")
	return o, nil
}

func (o *Observer) persistOpts() persist.Options {
	opts := o.cfg.Persist
	opts.Logger = o.log
	return opts
}

// Tree returns the observer's tree. It stays the same object for the
// observer's life (a SNAP replaces its content).
func (o *Observer) Tree() *tree.DataTree { return o.tree }

// State returns the current state.
func (o *Observer) State() State { return State(o.state.Load()) }

// Leader returns the sid of the leader followed, or -1.
func (o *Observer) Leader() int64 { return o.leader.Load() }

// LastSync returns the report of the last completed sync.
func (o *Observer) LastSync() learner.SyncReport {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.lastSync
}

// NextSync returns a channel closed at the next UPTODATE.
func (o *Observer) NextSync() <-chan struct{} {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.synced
}

// DurableZxid returns the zxid of the last txn the engine holds durably.
func (o *Observer) DurableZxid() int64 { return o.pub.Load().DurableZxid() }

// setPersister replaces the persister (apply loop, or New).
func (o *Observer) setPersister(p *persist.Persister) {
	o.p = p
	o.pub.Store(p)
	o.tree.SetRecorder(p)
}

// Metrics returns the observer's metrics.
func (o *Observer) Metrics() *Metrics { return &o.metrics }

// Run follows the ensemble until ctx ends, then stops the apply loop and
// flushes the persister. It returns nil after a clean stop, or the
// persister's error.
func (o *Observer) Run(ctx context.Context) error {
	o.metrics.obs = o
	loopDone := make(chan struct{})
	go o.applyLoop(loopDone)
	lcfg := o.cfg.Learner
	lcfg.Logger = o.log
	err := learner.Run(ctx, &lcfg, o, o, o.cfg.Backoff)
	close(o.work)
	<-loopDone
	o.state.Store(int32(Stopped))
	perr := o.p.Close()
	o.log.Info().Str("durable_zxid", hex(o.p.DurableZxid())).Str("last_zxid", hex(o.tree.LastZxid())).Msg("observer stopped")
	if perr != nil {
		return perr
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return nil
	}
	return err
}

// applyLoop is the single writer of the tree.
func (o *Observer) applyLoop(done chan struct{}) {
	defer close(done)
	for it := range o.work {
		if it.fn != nil {
			err := it.fn()
			if it.done != nil {
				it.done <- err
			}
			continue
		}
		if o.failed == nil {
			o.failed = o.apply(it.txn)
		}
	}
}

// apply applies one txn and checks the leader's digest.
func (o *Observer) apply(txn *proto.Txn) error {
	rc := o.tree.Apply(txn)
	if o.cfg.Clients != nil {
		o.cfg.Clients.Committed(txn, &rc)
	}
	o.metrics.txns.Add(1)
	o.metrics.lastZxid.Store(txn.Header.Zxid)
	if err := o.p.Err(); err != nil {
		err = fmt.Errorf("persister: %w", err)
		if abort := o.abort.Load(); abort != nil {
			(*abort)(err)
		}
		return err
	}
	d := txn.Digest
	if d == nil || d.Version != digestVersion {
		return nil
	}
	got := o.tree.Digest()
	if got == d.TreeDigest {
		o.fuzzy = false
		if o.streak.n > 0 {
			o.log.Warn().Str("zxid", hex(txn.Header.Zxid)).Int("mismatches", o.streak.n).
				Msg("digest agrees with the leader's again: the mismatch was in the leader's digest, not in our tree")
			o.streak = digestStreakState{}
		}
		return nil
	}
	if o.fuzzy {
		// Replaying over a fuzzy SNAP: txns the snapshot already holds
		// may leave the tree off until the replay passes them.
		o.metrics.fuzzyDigests.Add(1)
		return nil
	}
	o.metrics.digestMismatches.Add(1)
	diverged := o.streak.mismatch(o.now())
	ev := o.log.Error().Str("zxid", hex(txn.Header.Zxid)).Stringer("type", txn.Header.Type).Int64("leader_digest", d.TreeDigest).
		Int64("our_digest", got).Int("in_a_row", o.streak.n)
	if !diverged {
		ev.Msg("DIGEST MISMATCH: resyncing by SNAP if the leader's digests keep disagreeing")
		return nil
	}
	o.mismatch.Store(true)
	err := fmt.Errorf("%w at zxid %s (%d txns in a row)", ErrDigestMismatch, hex(txn.Header.Zxid), o.streak.n)
	if abort := o.abort.Load(); abort != nil {
		(*abort)(err) // the learner may be blocked reading
	}
	ev.Msg("DIGEST MISMATCH: the tree diverged from the leader's; dropping it and resyncing by SNAP")
	return err
}

// do runs fn on the apply loop, after everything queued before it.
func (o *Observer) do(fn func() error) error {
	return o.run(func() error {
		if o.failed != nil {
			return o.failed
		}
		return fn()
	})
}

// run runs fn on the apply loop even when the loop has failed.
func (o *Observer) run(fn func() error) error {
	done := make(chan error, 1)
	o.work <- item{fn: fn, done: done}
	return <-done
}

// --- learner.Sink ---

// Position implements learner.Sink.
func (o *Observer) Position() learner.Position {
	var pos learner.Position
	o.run(func() error {
		pos = learner.Position{LastZxid: o.tree.LastZxid(), AcceptedEpoch: o.meta.AcceptedEpoch, CurrentEpoch: o.meta.CurrentEpoch}
		return nil
	})
	return pos
}

// AcceptEpoch implements learner.Sink.
func (o *Observer) AcceptEpoch(epoch int64) error {
	return o.do(func() error {
		o.meta.AcceptedEpoch = epoch
		o.p.SetEpochs(o.meta.AcceptedEpoch, o.meta.CurrentEpoch)
		return o.p.Flush()
	})
}

// Diff implements learner.Sink.
func (o *Observer) Diff(int64) error { return o.failedErr() }

func (o *Observer) failedErr() error { return o.do(func() error { return nil }) }

// Snap implements learner.Sink: the snapshot replaces the state, in the
// engine (one staged install) and in the tree.
func (o *Observer) Snap(zxid int64, t *tree.DataTree) error {
	return o.do(func() error {
		o.snapPending = true
		if err := o.p.Close(); err != nil {
			return err
		}
		meta := storage.Meta{LastZxid: zxid, AcceptedEpoch: o.meta.AcceptedEpoch, CurrentEpoch: o.meta.CurrentEpoch}
		start := time.Now()
		if err := persist.Install(o.eng, t, meta); err != nil {
			return fmt.Errorf("installing SNAP %s: %w", hex(zxid), err)
		}
		n := t.NodeCount()
		o.tree.ReplaceWith(t)
		if o.cfg.Clients != nil {
			o.cfg.Clients.Reset()
		}
		o.setPersister(persist.New(o.eng, zxid, o.persistOpts()))
		o.fuzzy, o.streak = true, digestStreakState{}
		o.metrics.lastZxid.Store(zxid)
		o.log.Info().Str("zxid", hex(zxid)).Int("znodes", n).Dur("install", time.Since(start)).Msg("SNAP installed")
		return nil
	})
}

// Txn implements learner.Sink.
func (o *Observer) Txn(txn *proto.Txn) error {
	if o.mismatch.Load() {
		return o.failedErr()
	}
	o.work <- item{txn: txn}
	return nil
}

// NewLeader implements learner.Sink.
func (o *Observer) NewLeader(epoch int64, config []byte) error {
	return o.do(func() error {
		o.meta.CurrentEpoch = epoch
		o.p.SetEpochs(o.meta.AcceptedEpoch, o.meta.CurrentEpoch)
		return o.p.Flush()
	})
}

// UpToDate implements learner.Sink.
func (o *Observer) UpToDate(r learner.SyncReport) error {
	if err := o.do(func() error { o.snapPending = false; return nil }); err != nil {
		return err
	}
	o.state.Store(int32(Observing))
	o.metrics.recordSync(r)
	o.log.Info().Stringer("mode", r.Mode).Int64("leader", r.Leader.SID).Str("from_zxid", hex(r.From)).Str("to_zxid", hex(r.To)).
		Int("txns", r.Txns).Int64("bytes", r.Bytes).Dur("duration", r.Duration).Msg("synced with the leader")
	o.mu.Lock()
	o.lastSync = r
	close(o.synced)
	o.synced = make(chan struct{})
	o.mu.Unlock()
	return nil
}

// Touches implements learner.Sink: the client side's session touches.
func (o *Observer) Touches(dst []byte) []byte {
	if o.cfg.Clients != nil {
		return o.cfg.Clients.Touches(dst)
	}
	return dst
}

// --- learner.Requests ---

// Attach implements learner.Requests: the leader session can take client
// requests from now on, so the clients are told the leader is found.
func (o *Observer) Attach(f *learner.Forwarder) {
	o.fwd.Store(f)
	if o.cfg.Clients != nil {
		o.cfg.Clients.LeaderFound()
	}
}

// Detach implements learner.Requests.
func (o *Observer) Detach() { o.fwd.Store(nil) }

// Forwarder returns the forwarder of the leader session, or nil while
// there is none (then client writes cannot be forwarded).
func (o *Observer) Forwarder() *learner.Forwarder { return o.fwd.Load() }

// Synced implements learner.Requests: the answer goes through the apply
// loop, after the txns before it.
func (o *Observer) Synced() error {
	if o.cfg.Clients == nil {
		return nil
	}
	o.work <- item{fn: func() error { o.cfg.Clients.Synced(); return nil }}
	return nil
}

// Revalidated implements learner.Requests.
func (o *Observer) Revalidated(sessionID int64, valid bool) error {
	if o.cfg.Clients == nil {
		return nil
	}
	o.work <- item{fn: func() error { o.cfg.Clients.Revalidated(sessionID, valid); return nil }}
	return nil
}

// --- learner.Observer ---

// Connected implements learner.Observer.
func (o *Observer) Connected(leader learner.Peer, abort func(error)) {
	o.abort.Store(&abort)
	o.leader.Store(leader.SID)
	o.state.Store(int32(Syncing))
	o.metrics.connects.Add(1)
}

// Disconnected implements learner.Observer: a TRUNC, a digest mismatch or a
// session cut between SNAP and UPTODATE resets the state.
func (o *Observer) Disconnected(err error) {
	o.leader.Store(-1)
	o.state.Store(int32(Discovering))
	if o.cfg.Clients != nil {
		o.cfg.Clients.LeaderLost(err)
	}
	var trunc *learner.TruncError
	reason := ""
	switch {
	case errors.As(err, &trunc):
		reason = "TRUNC"
		o.metrics.truncs.Add(1)
	case o.mismatch.Load():
		reason = "digest mismatch"
	}
	rerr := o.run(func() error {
		switch {
		case reason != "":
		case o.failed != nil:
			reason = "apply loop failed: " + o.failed.Error()
		case o.snapPending:
			reason = "session ended during a SNAP sync"
		}
		if reason == "" {
			return nil
		}
		return o.resetLocked()
	})
	if reason != "" {
		o.log.Warn().Str("reason", reason).Err(rerr).Msg("state reset: the next sync is a SNAP")
	}
	o.mismatch.Store(false)
}

// resetLocked wipes tree and engine (keeping the epochs). Apply loop only.
func (o *Observer) resetLocked() error {
	o.failed, o.snapPending, o.fuzzy, o.streak = nil, false, false, digestStreakState{}
	if err := o.p.Close(); err != nil {
		o.log.Error().Err(err).Msg("persister failed before the reset")
	}
	fresh := tree.New(o.cfg.Learner.Tree)
	if err := persist.Install(o.eng, fresh, storage.Meta{AcceptedEpoch: o.meta.AcceptedEpoch, CurrentEpoch: o.meta.CurrentEpoch}); err != nil {
		o.failed = err
		return err
	}
	o.tree.ReplaceWith(tree.New(o.cfg.Learner.Tree))
	if o.cfg.Clients != nil {
		o.cfg.Clients.Reset()
	}
	o.setPersister(persist.New(o.eng, 0, o.persistOpts()))
	o.metrics.lastZxid.Store(0)
	return nil
}

func hex(zxid int64) string { return fmt.Sprintf("%#x", zxid) }
