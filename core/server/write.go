package server

import (
	"github.com/zkobserver/zkobserver/core/jute"
	"github.com/zkobserver/zkobserver/core/proto"
)

// forward sends a write, sync or closeSession to the leader (REQUEST), on
// the reader goroutine, after recording it as pending so that its txn (or
// SYNC answer) completes it. raw is the request record exactly as the
// client sent it; the forwarder copies it before returning. body is the
// decoded record, nil when it did not decode (the leader then answers with
// an error txn).
//
// A local session is first upgraded to a global one (except for sync,
// which needs no session on the leader). With no leader the request fails
// in order: NOTREADONLY in read-only mode, else CONNECTIONLOSS.
//
// If the leader session ends while the request is being forwarded, the
// request's fate is unknown: its connection is closed (the client sees a
// connection loss, as with a Java server), except for a sync of a
// connection kept in read-only mode, which is answered NOTREADONLY.
func (c *conn) forward(h proto.RequestHeader, body jute.Record, raw []byte) {
	s := c.s
	fwd := s.forwarder()
	if fwd == nil {
		code := proto.ErrConnectionLoss
		if s.Mode() == ModeReadOnly {
			code = proto.ErrNotReadOnly
		}
		if c.waitIdle() {
			c.sendReply(h.Xid, s.tree.LastZxid(), code, nil)
		}
		return
	}
	id := c.sessionID()
	if h.Type != proto.OpSync && s.sessions.IsLocal(id) {
		if !c.upgrade() {
			return
		}
	}
	p := &pending{c: c, xid: h.Xid, op: h.Type, read: c.readAt}
	if h.Type == proto.OpSync {
		p.path = body.(*proto.SyncRequest).Path
		s.syncMu.Lock()
		c.addPending(p)
		s.mu.Lock()
		s.syncs = append(s.syncs, p)
		s.mu.Unlock()
		err := fwd.Request(id, h.Xid, h.Type, raw, c.ids)
		s.syncMu.Unlock()
		if err != nil || s.forwarder() != fwd {
			c.leaderGone(p, err)
		}
		return
	}
	c.addPending(p)
	if err := fwd.Request(id, h.Xid, h.Type, raw, c.ids); err != nil || s.forwarder() != fwd {
		c.leaderGone(p, err)
	}
}

// leaderGone handles a request forwarded while the leader session ended
// (LeaderLost may have run before or after it was recorded).
func (c *conn) leaderGone(p *pending, err error) {
	s := c.s
	if p.op == proto.OpSync && s.Mode() == ModeReadOnly && c.keptReadOnly() {
		s.mu.Lock()
		for i, q := range s.syncs {
			if q == p {
				s.syncs = append(s.syncs[:i:i], s.syncs[i+1:]...)
				break
			}
		}
		s.mu.Unlock()
		c.finish(p, proto.AppendFrame(nil, &proto.ReplyHeader{Xid: p.xid, Zxid: s.tree.LastZxid(), Err: proto.ErrNotReadOnly}), false)
		return
	}
	reason := "the leader session ended while forwarding a request"
	if err != nil {
		reason = "forwarding to the leader: " + err.Error()
	}
	c.close(reason)
}

// upgrade turns the connection's local session into a global one with the
// same id (UpgradeableSessionTracker.upgradeSession): it forwards
// createSession and waits for its commit before the write that needed it
// is forwarded. false means the connection is closed.
func (c *conn) upgrade() bool {
	s := c.s
	id := c.sessionID()
	timeout, ok := s.sessions.Upgrade(id)
	if !ok {
		c.close("local session could not be upgraded (closing or expired)")
		return false
	}
	ready := c.expectAnswer()
	if err := c.forwardCreateSession(id, timeout); err != nil {
		c.close("forwarding createSession for the upgrade: " + err.Error())
		return false
	}
	if !c.awaitAnswer(ready) {
		c.close("no createSession commit from the leader for the upgrade")
		return false
	}
	s.upgraded.Add(1)
	c.log.Info().Str("session", hexID(id)).Msg("local session upgraded to global")
	return true
}
