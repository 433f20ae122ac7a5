package server

import (
	"errors"

	"github.com/zkobserver/zkobserver/core/jute"
	"github.com/zkobserver/zkobserver/core/proto"
)

// request handles one request frame on the reader goroutine. It returns
// false when the connection is to be closed.
//
// Ordering (CommitProcessor): writes are forwarded at once, in arrival
// order, and answered when their txns are applied; anything else waits
// until the session has no write in flight, so that every reply goes out in
// request order and a read sees the session's earlier writes.
func (c *conn) request(payload []byte) bool {
	if len(payload) < proto.RequestHeaderSize {
		c.close("request shorter than its header")
		return false
	}
	h, body, _, err := proto.DecodeRequestPrefix(payload, c.s.cfg.MaxFrame)
	raw := payload[proto.RequestHeaderSize:]
	if h.Type != proto.OpAuth {
		c.s.sessions.Touch(c.sessionID(), c.timeout)
	}
	switch {
	case err == nil:
	case errors.Is(err, proto.ErrUnknownOp):
		// Java: UNIMPLEMENTED with zxid -1, then close.
		if !c.waitIdle() {
			return false
		}
		c.sendReply(h.Xid, -1, proto.ErrUnimplemented, nil)
		c.closeAfterFlush()
		c.log.Info().Int32("op", int32(h.Type)).Msg("unimplemented opcode; closing after the reply")
		return false
	case isForwarded(h.Type) && h.Type != proto.OpSync:
		// The leader decodes the body and answers with an error txn
		// (MARSHALLINGERROR), as for a Java observer.
		c.forward(h, nil, raw)
		return !c.closing.Load()
	default:
		if !c.waitIdle() {
			return false
		}
		c.sendReply(h.Xid, c.s.tree.LastZxid(), proto.ErrMarshallingError, nil)
		return true
	}
	switch h.Type {
	case proto.OpAuth:
		return c.auth(h, body.(*proto.AuthPacket))
	case proto.OpSASL:
		// No SASL server is configured; Java 3.8 (processSasl with a null
		// saslServer) then answers OK, zxid 0, with a null token, and the
		// connection goes on.
		if !c.waitIdle() {
			return false
		}
		c.sendReply(h.Xid, 0, proto.ErrOK, &proto.SetSASLResponse{})
		return true
	case proto.OpCloseSession:
		if c.s.sessions.IsLocal(c.sessionID()) {
			return c.closeLocalSession(h)
		}
		if c.s.Mode() == ModeReadOnly {
			return c.closeWithoutLeader(h)
		}
	case proto.OpCheck:
		// A write for Java's ReadOnlyRequestProcessor.
		if c.s.Mode() == ModeReadOnly {
			if !c.waitIdle() {
				return false
			}
			c.sendReply(h.Xid, c.s.tree.LastZxid(), proto.ErrNotReadOnly, nil)
			return true
		}
	}
	if isForwarded(h.Type) {
		c.forward(h, body, raw)
		return !c.closing.Load()
	}
	if !c.waitIdle() {
		return false
	}
	c.read(h, body)
	return !c.closing.Load()
}

// isForwarded reports whether op goes to the leader (ObserverRequestProcessor),
// except check, which this server answers locally (spec A5.5).
func isForwarded(op proto.OpCode) bool {
	switch op {
	case proto.OpCreate, proto.OpCreate2, proto.OpCreateContainer, proto.OpCreateTTL,
		proto.OpDelete, proto.OpSetData, proto.OpSetACL, proto.OpMulti, proto.OpReconfig,
		proto.OpSync, proto.OpCloseSession:
		return true
	}
	return false
}

// auth handles an auth packet (processPacket): answered in arrival order;
// a failure closes the connection after its reply. Replies carry zxid 0.
func (c *conn) auth(h proto.RequestHeader, ap *proto.AuthPacket) bool {
	if !c.waitIdle() {
		return false
	}
	ids, code := c.s.acl.Authenticate(ap.Scheme, ap.Auth, c.nc.RemoteAddr())
	if code != proto.ErrOK {
		c.log.Info().Str("scheme", ap.Scheme).Msg("authentication failed")
		c.sendReply(h.Xid, 0, proto.ErrAuthFailed, nil)
		c.closeAfterFlush()
		return false
	}
	if len(ids) > 0 {
		c.authIDs.Add(ids...)
		c.setIDs(c.authIDs.IDs())
	}
	c.sendReply(h.Xid, 0, proto.ErrOK, nil)
	return true
}

// closeLocalSession closes a local session: no leader involved, no txn.
func (c *conn) closeLocalSession(h proto.RequestHeader) bool {
	if !c.waitIdle() {
		return false
	}
	id := c.sessionID()
	c.s.sessions.SetClosing(id)
	c.s.sessions.Remove(id)
	c.sendReply(h.Xid, c.s.tree.LastZxid(), proto.ErrOK, nil)
	c.closeAfterFlush()
	return false
}

// closeWithoutLeader answers a global session's closeSession in read-only
// mode: the connection is closed after an OK, and the session is left to
// the leader, which expires it after its timeout (no closeSession can reach
// it now).
func (c *conn) closeWithoutLeader(h proto.RequestHeader) bool {
	if !c.waitIdle() {
		return false
	}
	c.log.Info().Str("session", hexID(c.sessionID())).Msg("closeSession in read-only mode: closing the connection; the leader will expire the session")
	c.sendReply(h.Xid, c.s.tree.LastZxid(), proto.ErrOK, nil)
	c.closeAfterFlush()
	return false
}

var _ jute.Record = (*proto.ReplyHeader)(nil)
