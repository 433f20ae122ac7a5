package server

import (
	"github.com/zkobserver/zkobserver/core/proto"
	"github.com/zkobserver/zkobserver/core/tree"
)

// The methods in this file implement the observer's Clients interface.
// Committed, Synced, Revalidated and Reset run on the observer's apply loop,
// LeaderFound, LeaderLost and Touches on the learner's goroutine. None
// blocks: they update the session table, queue replies, wake readers and
// close connections.

// Committed is called after each applied txn, in zxid order; the txn's
// watch events have already been queued (through the tree's Trigger), so a
// reply queued here follows them. It keeps the session table in step
// (createSession / closeSession of any server, including sessions the
// leader expired) and completes this server's request the txn answers,
// matched by (clientId, cxid) against the session's oldest write in flight.
func (s *Server) Committed(txn *proto.Txn, rc *tree.Result) {
	h := &txn.Header
	closed, wasClosed := s.sessions.ApplyTxn(txn)
	c := s.connOf(h.ClientID)
	if h.Type == proto.OpCreateSession {
		if c != nil && h.Cxid == 0 {
			c.answer(true) // a new session's or an upgrade's createSession
		}
		return
	}
	completed := false
	if c != nil {
		if p := c.headWrite(); p != nil && p.xid == h.Cxid {
			c.finish(p, writeReply(p, rc, s.tree), p.op == proto.OpCloseSession)
			completed = true
		}
	}
	if wasClosed && !completed {
		// Closed elsewhere or expired by the leader: close its connection
		// without a word (FinalRequestProcessor, closeSession with no
		// local request).
		if oc, ok := closed.Owner.(*conn); ok && oc != nil {
			oc.close("session closed by the leader")
		}
		if c != nil {
			c.close("session closed by the leader")
		}
	}
}

// Synced answers the oldest forwarded sync (the leader's SYNC names none).
// Each answer consumes exactly one forwarded sync, also when the connection
// that sent it has gone.
func (s *Server) Synced() {
	s.mu.Lock()
	if len(s.syncs) == 0 {
		s.mu.Unlock()
		return
	}
	p := s.syncs[0]
	s.syncs[0] = nil
	s.syncs = s.syncs[1:]
	s.mu.Unlock()
	if p.c.closing.Load() {
		return
	}
	frame := proto.AppendFrame(nil, &proto.ReplyHeader{Xid: p.xid, Zxid: s.tree.LastZxid()}, &proto.SyncResponse{Path: p.path})
	p.c.finish(p, frame, false)
}

// Revalidated delivers the leader's REVALIDATE answer to the connection
// waiting for it.
func (s *Server) Revalidated(sessionID int64, valid bool) {
	s.mu.Lock()
	c := s.revalidating[sessionID]
	delete(s.revalidating, sessionID)
	s.mu.Unlock()
	if c != nil {
		c.answer(valid)
	}
}

// Reset is called after the tree was replaced (a SNAP or a reset to empty):
// every connection is dropped and the session table rebuilt from the tree.
// No client is admitted again until the next LeaderFound: the tree is not
// one a leader had before the sync completes.
func (s *Server) Reset() {
	s.servable.Store(false)
	s.dropClients("the tree was replaced by a snapshot")
	var sessions map[int64]int32
	s.tree.View(func(v tree.View) { sessions = v.Sessions() })
	s.sessions.ResetGlobal(sessions)
}

// LeaderFound is called when the observer is in sync with a leader and its
// forwarder is attached: read-only mode, if it was on, is over.
func (s *Server) LeaderFound() {
	s.servable.Store(true)
	s.noteLeaderContact()
	s.leaderBack()
	s.log.Info().Msg("serving clients")
}

// LeaderLost is called when the session with the leader ends, after its
// forwarder was detached. Connections waiting for a REVALIDATE answer are
// closed (not refused: the session may well be valid). With read-only mode
// on and a tree a leader had, the server goes read-only (readonly.go);
// otherwise it does what a Java observer does (Learner.shutdown →
// closeAllConnections): every client is dropped, and pending writes and
// syncs die with their connections.
func (s *Server) LeaderLost(err error) {
	s.noteLeaderContact()
	reason := "leader lost"
	if err != nil {
		reason += ": " + err.Error()
	}
	s.mu.Lock()
	var waiting []*conn
	for id, c := range s.revalidating {
		delete(s.revalidating, id)
		waiting = append(waiting, c)
	}
	s.mu.Unlock()
	for _, c := range waiting {
		c.close(reason + " while revalidating the session")
	}
	if s.Mode() == ModeReadOnly {
		s.enterReadOnly(reason)
		return
	}
	s.dropClients(reason)
}

// Touches appends the session touches for the PING reply.
func (s *Server) Touches(dst []byte) []byte { return s.sessions.Touches(dst) }
