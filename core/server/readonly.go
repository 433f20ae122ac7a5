package server

import (
	"fmt"
	"io"
	"time"

	"github.com/zkobserver/zkobserver/core/proto"
	"github.com/zkobserver/zkobserver/core/session"
)

// Read-only mode (issue 7; the design of ZooKeeper's unmerged
// ZOOKEEPER-1607 "Read-only Observer"). A stock observer that loses its
// leader closes every client connection and admits none until it has
// synced again. With Config.ReadOnly this server instead:
//
//   - keeps the connections of read-only clients (readOnly=true in their
//     ConnectRequest) whose sessions are local, and closes the others (global
//     sessions, and clients that can write), so that those can try another
//     server;
//   - tells every kept session with an EventNone/ConnectedReadOnly event,
//     and answers their requests in flight to the leader (syncs: a local
//     session has no write in flight, its first write upgrades it to global)
//     with NOTREADONLY;
//   - admits read-only clients only: new sessions are local, a global
//     session known here is admitted without the leader's REVALIDATE; their
//     ConnectResponse says readOnly;
//   - answers reads from the tree as it stands, and every write and sync
//     with NOTREADONLY (as Java's ReadOnlyRequestProcessor);
//   - once in sync with a leader again, sends EventNone/SyncConnected to
//     every session it had told it was read-only, and closes the
//     connections of the global sessions it admitted without revalidation
//     (their clients reconnect and are revalidated).
//
// The txns of a DIFF go through the same apply path as live ones, so the
// watches set during the outage fire, in zxid order. A SNAP replaces the
// tree: Reset drops every connection (no watch could be fired correctly)
// and no client is admitted until the sync completes; a half-synced SNAP is
// never served.

// Mode is how the server admits clients.
type Mode int32

const (
	// ModeClosed admits no client: no leader, and read-only service is
	// off or the tree is not one a leader had (empty, or a SNAP whose sync
	// has not completed).
	ModeClosed Mode = iota
	// ModeReadOnly admits read-only clients only and answers reads; writes
	// and syncs get NOTREADONLY.
	ModeReadOnly
	// ModeServing follows a leader: every client, writes forwarded.
	ModeServing
)

func (m Mode) String() string {
	switch m {
	case ModeReadOnly:
		return "read-only"
	case ModeServing:
		return "serving"
	}
	return "closed"
}

// Mode returns how the server admits clients now.
func (s *Server) Mode() Mode {
	switch {
	case s.forwarder() != nil:
		return ModeServing
	case s.cfg.ReadOnly && s.servable.Load():
		return ModeReadOnly
	}
	return ModeClosed
}

// SinceLeaderContact is how long ago the session with a leader ended: 0
// while in sync with one, -1 if there was none since the server started
// (a restart during an outage serves a tree whose age it cannot know).
func (s *Server) SinceLeaderContact() time.Duration {
	if s.Mode() == ModeServing {
		return 0
	}
	at := s.leaderSeen.Load()
	if at == 0 {
		return -1
	}
	return time.Since(time.Unix(0, at))
}

// noteLeaderContact records that a leader session began or ended now.
func (s *Server) noteLeaderContact() { s.leaderSeen.Store(time.Now().UnixNano()) }

// stateEvent is the EventNone notification that tells a session the
// server's state changed.
func stateEvent(state int32) proto.WatcherEvent {
	return proto.WatcherEvent{Type: proto.EventNone, State: state, Path: ""}
}

// enterReadOnly is LeaderLost in read-only mode: the connections that stay
// are told so, the others are closed.
func (s *Server) enterReadOnly(reason string) {
	s.forgetSyncs()
	all := s.connList()
	kept, closed := 0, 0
	for _, c := range all {
		switch {
		case c.roTold.Load():
			// Already read-only: kept at an earlier loss (the leader
			// search can connect and fail again and again) or admitted
			// in read-only mode.
			kept++
		case c.keptReadOnly():
			c.toReadOnly()
			kept++
		case c.sessionID() == 0:
			// A four-letter word, or a handshake that has not reached
			// its session yet: it sees the mode when it does.
		default:
			c.close(reason + "; read-only mode keeps only read-only clients with local sessions")
			closed++
		}
	}
	s.log.Warn().Str("reason", reason).Int("kept", kept).Int("closed", closed).Str("zxid", hexID(s.tree.LastZxid())).
		Msg("no leader: serving read-only clients from the local tree")
}

// keptReadOnly reports whether c stays open in read-only mode: a read-only
// client whose session is local here.
func (c *conn) keptReadOnly() bool {
	// The session id is stored after ro is set (on the reader goroutine):
	// loading it first makes reading ro safe from any goroutine.
	id := c.sessionID()
	if id == 0 || !c.ro || c.closing.Load() {
		return false // still in its handshake, or not read-only
	}
	ss, ok := c.s.sessions.Get(id)
	return ok && ss.State == session.Local && !ss.Closing
}

// toReadOnly answers c's requests in flight to the leader with NOTREADONLY
// and sends it ConnectedReadOnly, once.
func (c *conn) toReadOnly() {
	if !c.roTold.CompareAndSwap(false, true) {
		return
	}
	c.failInFlight(proto.ErrNotReadOnly)
	c.Process(stateEvent(proto.StateConnectedReadOnly))
}

// leaderBack is LeaderFound: the sessions told they were read-only are
// told SyncConnected; the global sessions admitted without revalidation
// are closed.
func (s *Server) leaderBack() {
	all := s.connList()
	told, closed := 0, 0
	for _, c := range all {
		switch {
		case c.roGlobal.Load():
			c.close("in sync with a leader again: a session admitted read-only reconnects to be revalidated")
			closed++
		case c.roTold.CompareAndSwap(true, false):
			c.Process(stateEvent(proto.StateSyncConnected))
			told++
		}
	}
	if told+closed > 0 {
		s.log.Info().Int("told_connected", told).Int("closed_global", closed).Msg("read-only mode over")
	}
}

// settle brings a connection that has just been established in line with
// the mode, which may have changed during its handshake.
func (c *conn) settle() {
	switch c.s.Mode() {
	case ModeServing:
		if c.roGlobal.Load() {
			c.close("in sync with a leader again: a session admitted read-only reconnects to be revalidated")
		} else if c.roTold.CompareAndSwap(true, false) {
			c.Process(stateEvent(proto.StateSyncConnected))
		}
	case ModeReadOnly:
		if !c.roTold.Load() {
			if c.keptReadOnly() {
				c.toReadOnly()
			} else {
				c.close("no leader; read-only mode keeps only read-only clients with local sessions")
			}
		}
	case ModeClosed:
		c.close("not serving clients: no leader")
	}
}

// WritePrometheus writes the read-only mode's gauges in the Prometheus text
// format (next to the observer's metrics).
func (s *Server) WritePrometheus(w io.Writer) error {
	ro := 0
	if s.Mode() == ModeReadOnly {
		ro = 1
	}
	since := -1.0
	if d := s.SinceLeaderContact(); d >= 0 {
		since = d.Seconds()
	}
	_, err := fmt.Fprintf(w, "# HELP read_only 1 while serving read-only clients without a leader\n# TYPE read_only gauge\nread_only %d\n"+
		"# HELP seconds_since_leader_contact seconds since the session with a leader ended; 0 while in sync, -1 if none since start\n"+
		"# TYPE seconds_since_leader_contact gauge\nseconds_since_leader_contact %g\n"+
		"# HELP served_zxid zxid of the state reads are answered from\n# TYPE served_zxid gauge\nserved_zxid %d\n",
		ro, since, s.tree.LastZxid())
	return err
}
