package server

import (
	"encoding/binary"
	"time"

	"github.com/zkobserver/zkobserver/core/proto"
	"github.com/zkobserver/zkobserver/core/session"
)

// handshake processes the ConnectRequest (spec A2.3–A2.5) on the reader
// goroutine. It returns true once a valid ConnectResponse is queued; the
// reader then starts reading requests (the client's pipelined requests
// wait in the socket meanwhile). false means the connection is closed or
// closing.
func (c *conn) handshake(payload []byte) bool {
	s := c.s
	req, err := proto.DecodeConnectRequest(payload, s.cfg.MaxFrame)
	if err != nil {
		c.close("malformed ConnectRequest: " + err.Error())
		return false
	}
	c.hasRO = req.HasReadOnly
	if last := s.tree.LastZxid(); req.LastZxidSeen > last {
		// The client has seen a newer state than ours: it must go to a
		// server at least as up to date (Java closes, sending nothing).
		c.close("client's last zxid " + hexID(req.LastZxidSeen) + " is ahead of ours " + hexID(last))
		return false
	}
	if !s.serving() {
		c.close("not serving clients: no leader")
		return false
	}
	timeout := s.cfg.Timeouts.Negotiate(req.TimeOut)
	if req.SessionID == 0 {
		return c.newSession(req, timeout)
	}
	return c.reopenSession(req, timeout)
}

// serving reports whether the server admits clients: only while it follows
// a leader, as a Java observer (issue 7 changes this for read-only mode).
func (s *Server) serving() bool { return s.forwarder() != nil }

// newSession creates a local session at once, or a global one through the
// leader (ZooKeeperServer.createSession), and answers when it exists.
func (c *conn) newSession(req *proto.ConnectRequest, timeout int32) bool {
	s := c.s
	local := s.cfg.LocalSessions == LocalAll || (s.cfg.LocalSessions == LocalReadOnlyClients && req.ReadOnly)
	if local {
		id := s.sessions.CreateLocal(timeout, c)
		s.localCreated.Add(1)
		c.establish(id, timeout)
		c.log.Debug().Str("session", hexID(id)).Int32("timeout", timeout).Msg("local session created")
		return true
	}
	id := s.sessions.CreateGlobal(timeout, c)
	c.sid.Store(id)
	c.timeout = timeout
	s.bind(id, c)
	ready := c.expectAnswer()
	if err := c.forwardCreateSession(id, timeout); err != nil {
		s.sessions.Remove(id)
		c.close("forwarding createSession: " + err.Error())
		return false
	}
	if !c.awaitAnswer(ready) {
		s.sessions.Remove(id)
		c.close("no createSession commit from the leader")
		return false
	}
	c.establish(id, timeout)
	c.log.Debug().Str("session", hexID(id)).Int32("timeout", timeout).Msg("global session created")
	return true
}

// forwardCreateSession sends createSession{timeout} for id to the leader:
// cxid 0, authinfo null, as Java.
func (c *conn) forwardCreateSession(id int64, timeout int32) error {
	fwd := c.s.forwarder()
	if fwd == nil {
		return errNoLeader
	}
	body := binary.BigEndian.AppendUint32(nil, uint32(timeout))
	return fwd.Request(id, 0, proto.OpCreateSession, body, nil)
}

// reopenSession is a reconnect with an existing session id
// (ZooKeeperServer.reopenSession and the learner's revalidateSession).
func (c *conn) reopenSession(req *proto.ConnectRequest, timeout int32) bool {
	s := c.s
	id := req.SessionID
	if old := s.connOf(id); old != nil && old != c {
		old.close("client reconnect")
	}
	if !session.CheckPasswd(id, req.Passwd) {
		c.log.Info().Str("session", hexID(id)).Msg("reconnect with a wrong password")
		c.refuse()
		return false
	}
	if ss, ok := s.sessions.Get(id); ok && ss.State == session.Local {
		if !s.sessions.Touch(id, timeout) || !s.sessions.SetOwner(id, c) {
			c.refuse()
			return false
		}
		c.establish(id, timeout)
		return true
	}
	fwd := s.forwarder()
	if fwd == nil {
		c.close("not serving clients: no leader")
		return false
	}
	ready := c.expectAnswer()
	s.mu.Lock()
	s.revalidating[id] = c
	s.mu.Unlock()
	err := fwd.Revalidate(id, timeout)
	valid := err == nil && c.awaitAnswer(ready)
	s.mu.Lock()
	if s.revalidating[id] == c {
		delete(s.revalidating, id)
	}
	s.mu.Unlock()
	if err != nil {
		c.close("forwarding REVALIDATE: " + err.Error())
		return false
	}
	if c.closing.Load() {
		return false
	}
	if !valid {
		c.log.Info().Str("session", hexID(id)).Msg("reconnect refused: session expired or unknown to the leader")
		c.refuse()
		return false
	}
	s.sessions.Revalidated(id, timeout, c)
	c.establish(id, timeout)
	return true
}

// establish binds the session to c and queues the ConnectResponse.
func (c *conn) establish(id int64, timeout int32) {
	c.sid.Store(id)
	c.timeout = timeout
	if old := c.s.bind(id, c); old != nil {
		old.close("client reconnect")
	}
	pw := session.GeneratePasswd(id)
	c.send(proto.AppendFrame(nil, &proto.ConnectResponse{
		TimeOut: timeout, SessionID: id, Passwd: pw[:], HasReadOnly: c.hasRO,
	}))
}

// refuse answers an invalid session (timeout 0, id 0, a zero password) and
// closes the connection once that is written.
func (c *conn) refuse() {
	c.send(proto.AppendFrame(nil, &proto.ConnectResponse{Passwd: make([]byte, session.PasswdLen), HasReadOnly: c.hasRO}))
	c.closeAfterFlush()
}

// expectAnswer arms the channel on which the leader's answer to this
// connection's createSession or REVALIDATE arrives.
func (c *conn) expectAnswer() chan bool {
	ch := make(chan bool, 1)
	c.mu.Lock()
	c.ready = ch
	c.mu.Unlock()
	return ch
}

// answer delivers the leader's answer (apply loop); it never blocks.
func (c *conn) answer(ok bool) {
	c.mu.Lock()
	ch := c.ready
	c.ready = nil
	c.mu.Unlock()
	if ch != nil {
		ch <- ok
	}
}

// awaitAnswer waits for the answer, the connection's end, or handshakeWait.
func (c *conn) awaitAnswer(ch chan bool) bool {
	t := time.NewTimer(handshakeWait)
	defer t.Stop()
	select {
	case ok := <-ch:
		return ok
	case <-c.done:
		return false
	case <-t.C:
		return false
	}
}
