package ensemble

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sort"
	"strings"
	"time"
)

// pollInterval is the pause between two polls of server state.
const pollInterval = 50 * time.Millisecond

// fourLetterTimeout bounds a single four letter word exchange.
const fourLetterTimeout = 5 * time.Second

// probeTimeout bounds a single four letter word exchange made while
// polling, so that one unresponsive port does not stall the poll loop.
const probeTimeout = time.Second

// probe sends word to addr with the shorter probeTimeout.
func probe(ctx context.Context, addr, word string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	return fourLetter(ctx, addr, word)
}

// defaultWaitTimeout applies to Wait* calls whose context has no deadline.
const defaultWaitTimeout = 60 * time.Second

// ErrNotServing is returned by Mode when the server answers but is not
// serving requests (e.g. during leader election or while syncing).
var ErrNotServing = errors.New("ensemble: server is not currently serving requests")

// FourLetter sends the four letter word (e.g. "srvr", "mntr", "ruok") to the
// client port of server id and returns the complete response. Each exchange
// is bounded by ctx and by 5 seconds. All words are whitelisted in the
// generated zoo.cfg. It works for extra servers too, if they serve 4lw.
func (e *Ensemble) FourLetter(ctx context.Context, id int, word string) (string, error) {
	n := e.Node(id)
	if n == nil {
		return "", fmt.Errorf("ensemble: no server with id %d", id)
	}
	return fourLetter(ctx, n.ClientAddr, word)
}

// FourLetterAt is FourLetter for any address, e.g. a zkobserver that is not
// one of the ensemble's servers.
func FourLetterAt(ctx context.Context, addr, word string) (string, error) {
	return fourLetter(ctx, addr, word)
}

func fourLetter(ctx context.Context, addr, word string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, fourLetterTimeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	if _, err := io.WriteString(conn, word); err != nil {
		return "", err
	}
	b, err := io.ReadAll(conn)
	if err != nil {
		return string(b), fmt.Errorf("4lw %s to %s: %w", word, addr, err)
	}
	return string(b), nil
}

// Mode returns the mode ("leader", "follower", "observer", "standalone")
// that server id reports via srvr. It returns ErrNotServing while the server
// is up but not serving, and a network error if it is down.
func (e *Ensemble) Mode(ctx context.Context, id int) (string, error) {
	r, err := e.FourLetter(ctx, id, "srvr")
	if err != nil {
		return "", err
	}
	return parseMode(r)
}

func parseMode(srvr string) (string, error) {
	for _, l := range strings.Split(srvr, "\n") {
		if m, ok := strings.CutPrefix(l, "Mode: "); ok {
			return strings.TrimSpace(m), nil
		}
	}
	if strings.Contains(srvr, "not currently serving") {
		return "", ErrNotServing
	}
	return "", fmt.Errorf("ensemble: no Mode in srvr response %q", srvr)
}

// WaitForMode polls server id until it reports one of modes (all serving
// modes if none are given) and returns the mode. If ctx has no deadline a
// 60s deadline applies.
func (e *Ensemble) WaitForMode(ctx context.Context, id int, modes ...string) (string, error) {
	if len(modes) == 0 {
		modes = []string{ModeLeader, ModeFollower, ModeObserver, ModeStandalone}
	}
	ctx, cancel := withDefaultDeadline(ctx)
	defer cancel()
	var last error
	n := e.Node(id)
	if n == nil {
		return "", fmt.Errorf("ensemble: no server with id %d", id)
	}
	for {
		r, err := probe(ctx, n.ClientAddr, "srvr")
		var m string
		if err == nil {
			m, err = parseMode(r)
		}
		if err == nil && slices.Contains(modes, m) {
			return m, nil
		}
		if err == nil {
			err = fmt.Errorf("mode %q", m)
		}
		last = err
		if err := sleepCtx(ctx, pollInterval); err != nil {
			return "", fmt.Errorf("ensemble: server %d did not reach mode %v: %w (last: %v)", id, modes, err, last)
		}
	}
}

// modes probes every running Java server once and returns id -> mode for
// those that answered with a mode; other servers are absent.
func (e *Ensemble) modes(ctx context.Context) map[int]string {
	out := map[int]string{}
	for _, n := range e.java {
		if !n.Running() {
			continue
		}
		if r, err := probe(ctx, n.ClientAddr, "srvr"); err == nil {
			if m, err := parseMode(r); err == nil {
				out[n.ID] = m
			}
		}
	}
	return out
}

// leaderOf checks the quorum condition on a modes snapshot: exactly one
// server says leader and at least a quorum of voters say leader or follower.
func (e *Ensemble) leaderOf(modes map[int]string) (*Node, error) {
	var leaders []int
	voting := 0
	for id, m := range modes {
		switch m {
		case ModeLeader:
			leaders = append(leaders, id)
			voting++
		case ModeFollower:
			voting++
		}
	}
	sort.Ints(leaders)
	switch {
	case len(leaders) == 0:
		return nil, fmt.Errorf("no leader (modes %v)", modes)
	case len(leaders) > 1:
		return nil, fmt.Errorf("several leaders %v (modes %v)", leaders, modes)
	case voting < e.quorumSize():
		return nil, fmt.Errorf("only %d of the %d voters needed serve (modes %v)", voting, e.quorumSize(), modes)
	}
	return e.Node(leaders[0]), nil
}

// Leader probes every running Java server once with srvr and returns the
// leader if exactly one server reports Mode: leader and a quorum of voters
// report leader or follower; otherwise it returns an error.
func (e *Ensemble) Leader(ctx context.Context) (*Node, error) {
	n, err := e.leaderOf(e.modes(ctx))
	if err != nil {
		return nil, fmt.Errorf("ensemble: %w", err)
	}
	return n, nil
}

// WaitForLeader polls srvr on every running Java server until the Leader
// condition holds and returns the leader. If ctx has no deadline a 60s
// deadline applies. Voting extra servers are counted in the quorum size but
// are not probed, so their votes never count.
func (e *Ensemble) WaitForLeader(ctx context.Context) (*Node, error) {
	ctx, cancel := withDefaultDeadline(ctx)
	defer cancel()
	for {
		n, err := e.leaderOf(e.modes(ctx))
		if err == nil {
			return n, nil
		}
		if cerr := sleepCtx(ctx, pollInterval); cerr != nil {
			return nil, fmt.Errorf("ensemble: waiting for leader: %w (last: %v)", cerr, err)
		}
	}
}

// waitReady polls until every Java server is serving and there is a leader
// (or, if the Java voters are no quorum, until every Java server answers
// ruok), failing early on a dead JVM or a port conflict.
func (e *Ensemble) waitReady(ctx context.Context) error {
	for {
		for _, n := range e.java {
			if err := n.checkHealth(); err != nil {
				return err
			}
		}
		var err error
		if e.javaQuorum() {
			err = e.allServing(ctx)
		} else {
			err = e.allAlive(ctx)
		}
		if err == nil {
			return nil
		}
		if cerr := sleepCtx(ctx, pollInterval); cerr != nil {
			return fmt.Errorf("ensemble not ready: %w (last: %v)", cerr, err)
		}
	}
}

func (e *Ensemble) allServing(ctx context.Context) error {
	modes := e.modes(ctx)
	if e.opts.Standalone {
		if m := modes[e.java[0].ID]; m != ModeStandalone {
			return fmt.Errorf("server %d not serving standalone (mode %q)", e.java[0].ID, m)
		}
		return nil
	}
	for _, n := range e.java {
		want := ModeFollower
		if n.Role == RoleObserver {
			want = ModeObserver
		}
		if m := modes[n.ID]; m != want && m != ModeLeader {
			return fmt.Errorf("server %d not serving as %s (modes %v)", n.ID, want, modes)
		}
	}
	_, err := e.leaderOf(modes)
	return err
}

func (e *Ensemble) allAlive(ctx context.Context) error {
	for _, n := range e.java {
		if r, err := probe(ctx, n.ClientAddr, "ruok"); err != nil || r != "imok" {
			return fmt.Errorf("server %d does not answer ruok (%q, %v)", n.ID, r, err)
		}
	}
	return nil
}

func withDefaultDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, defaultWaitTimeout)
}

// sleepCtx waits for d or until ctx is done, returning ctx.Err() then.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
