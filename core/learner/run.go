package learner

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"

	"time"
)

// Observer is what Run tells about the connection, besides the Sink's
// state changes. Its methods are called on Run's goroutine.
type Observer interface {
	// Connected is called when a leader accepted the connection, before
	// the handshake. abort ends that session with err (from any
	// goroutine, at any time; a no-op once it has ended).
	Connected(leader Peer, abort func(err error))
	// Disconnected is called when a session ends, with why. After a
	// *TruncError the observer must reset its state before returning (the
	// next session reports zxid 0).
	Disconnected(err error)
}

// Backoff bounds the wait between attempts to reach a leader.
type Backoff struct {
	Min, Max time.Duration
}

// DefaultBackoff waits 100 ms after the first failure, doubling to 5 s.
var DefaultBackoff = Backoff{Min: 100 * time.Millisecond, Max: 5 * time.Second}

// logEvery is how often a run of failures is logged after the first one.
const logEvery = 30 * time.Second

// Run keeps the observer attached to the ensemble until ctx ends: it finds
// the leader, follows it, and after any failure tries again, waiting with
// exponential backoff (with jitter) while no leader can be reached. A
// session that reached UPTODATE resets the backoff.
func Run(ctx context.Context, cfg *Config, sink Sink, obs Observer, bo Backoff) error {
	if bo.Min <= 0 {
		bo = DefaultBackoff
	}
	log := cfg.Logger
	wait := bo.Min
	var hint int64
	var avoid []int64 // voters that accepted but did not bring us up to date, most recent last
	failures, lastLog := 0, time.Time{}
	synced := &syncTracker{Sink: sink}
	for {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		conn, leader, err := Discover(ctx, cfg.Ensemble, cfg.SID, hint, avoid)
		if err == nil {
			hint = leader.SID
			sctx, abort := context.WithCancelCause(ctx)
			obs.Connected(leader, abort)
			synced.done = false
			err = Follow(sctx, cfg, conn, leader, synced)
			abort(nil)
			if ctx.Err() != nil {
				return ctx.Err()
			}
			obs.Disconnected(err)
			var trunc *TruncError
			if !synced.done && !errors.As(err, &trunc) {
				// Its port accepted but it did not bring us up to
				// date (a leader still establishing, or not a leader
				// at all): try the other voters first next time.
				hint = 0
				avoid = append(slices.DeleteFunc(avoid, func(s int64) bool { return s == leader.SID }), leader.SID)
			} else {
				avoid = nil
			}
			if synced.done || errors.As(err, &trunc) {
				// A working leader went away (or asked for a resync):
				// look again at once, and log it.
				log.Warn().Err(err).Int64("leader", leader.SID).Msg("lost the leader")
				wait, failures = bo.Min, 0
				continue
			}
		}
		failures++
		if failures == 1 || time.Since(lastLog) >= logEvery {
			log.Warn().Err(err).Int("attempts", failures).Dur("retry_in", wait).Msg("cannot follow a leader; retrying with backoff")
			lastLog = time.Now()
		}
		t := time.NewTimer(jitter(wait))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		wait = min(2*wait, bo.Max)
	}
}

// jitter spreads d by ±20% so that observers do not retry in lockstep.
func jitter(d time.Duration) time.Duration {
	return d - d/5 + time.Duration(rand.Int64N(int64(d)*2/5+1))
}

// syncTracker notes whether the session reached UPTODATE.
type syncTracker struct {
	Sink
	done bool
}

func (s *syncTracker) UpToDate(r SyncReport) error {
	s.done = true
	return s.Sink.UpToDate(r)
}
