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
	c.ro = req.HasReadOnly && req.ReadOnly
	if last := s.tree.LastZxid(); req.LastZxidSeen > last {
		// The client has seen a newer state than ours: it must go to a
		// server at least as up to date (Java closes, sending nothing).
		c.close("client's last zxid " + hexID(req.LastZxidSeen) + " is ahead of ours " + hexID(last))
		return false
	}
	mode := s.Mode()
	switch {
	case mode == ModeClosed:
		c.close("not serving clients: no leader")
		return false
	case mode == ModeReadOnly && !c.ro:
		// ZooKeeperServer.processConnectRequest on a read-only server.
		c.close("read-only mode: only read-only clients are admitted")
		return false
	}
	timeout := s.cfg.Timeouts.Negotiate(req.TimeOut)
	if req.SessionID == 0 {
		return c.newSession(req, timeout, mode)
	}
	return c.reopenSession(req, timeout, mode)
}

// newSession creates a local session at once, or a global one through the
// leader (ZooKeeperServer.createSession), and answers when it exists. In
// read-only mode every new session is local: there is no leader to create
// a global one.
func (c *conn) newSession(req *proto.ConnectRequest, timeout int32, mode Mode) bool {
	s := c.s
	local := mode == ModeReadOnly || s.cfg.LocalSessions == LocalAll || (s.cfg.LocalSessions == LocalReadOnlyClients && c.ro)
	if local {
		id := s.sessions.CreateLocal(timeout, c)
		s.localCreated.Add(1)
		c.establish(id, timeout, mode)
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
	c.establish(id, timeout, ModeServing)
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
// (ZooKeeperServer.reopenSession and the learner's revalidateSession). In
// read-only mode a global session known here is admitted without the
// leader's REVALIDATE (roGlobal); any other session that is not local here
// (unknown, or its createSession still in flight when the leader went) is
// closed without an answer: without a leader nobody can say whether it
// expired, so its client keeps trying (a Java read-only server closes every
// global session's reconnect that way).
func (c *conn) reopenSession(req *proto.ConnectRequest, timeout int32, mode Mode) bool {
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
		c.establish(id, timeout, mode)
		return true
	}
	if mode == ModeReadOnly {
		ss, ok := s.sessions.Get(id)
		if !ok || ss.State != session.Global || ss.Closing {
			c.close("read-only mode: session " + hexID(id) + " cannot be revalidated without a leader")
			return false
		}
		s.sessions.Touch(id, timeout)
		c.roGlobal.Store(true)
		c.establish(id, timeout, mode)
		c.log.Info().Str("session", hexID(id)).Msg("global session admitted read-only, without the leader's REVALIDATE")
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
	c.establish(id, timeout, ModeServing)
	return true
}

// establish binds the session to c and queues the ConnectResponse, which
// says readOnly in read-only mode. The mode may have changed while the
// handshake ran; settle then brings the connection in line.
func (c *conn) establish(id int64, timeout int32, mode Mode) {
	c.sid.Store(id)
	c.timeout = timeout
	if old := c.s.bind(id, c); old != nil {
		old.close("client reconnect")
	}
	ro := mode == ModeReadOnly
	if ro {
		c.roTold.Store(true)
	}
	pw := session.GeneratePasswd(id)
	c.send(proto.AppendFrame(nil, &proto.ConnectResponse{
		TimeOut: timeout, SessionID: id, Passwd: pw[:], ReadOnly: ro, HasReadOnly: c.hasRO,
	}))
	c.settle()
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
