package learner

import (
	"encoding/binary"
	"fmt"

	"github.com/zkobserver/zkobserver/core/proto"
)

// Requests is the optional part of a Sink that serves clients: it forwards
// their writes, syncs and session revalidations to the leader, and hears
// the leader's answers that are not txns.
type Requests interface {
	// Attach is called after UpToDate with the session's Forwarder, which
	// is usable until Detach.
	Attach(f *Forwarder)
	// Detach is called when the session ends (after Attach).
	Detach()
	// Synced is called for each SYNC packet, in stream order (after the
	// txns before it): it answers the oldest sync forwarded.
	Synced() error
	// Revalidated is called for each REVALIDATE answer.
	Revalidated(sessionID int64, valid bool) error
}

// Forwarder sends client requests to the leader on one session. It is safe
// for concurrent use; after the session ends its methods return an error.
type Forwarder struct {
	s *session
}

// Request forwards a client request (REQUEST): body is the request record
// exactly as the client sent it after its RequestHeader, auth the
// connection's authenticated ids. auth must not be nil for a data request
// (the leader's ACL check would fail with MARSHALLINGERROR); Java sends
// null for createSession. The caller keeps body and auth (they are copied
// into the packet before Request returns).
func (f *Forwarder) Request(sessionID int64, cxid int32, op proto.OpCode, body []byte, auth []proto.Id) error {
	data := make([]byte, 16, 16+len(body))
	binary.BigEndian.PutUint64(data[0:], uint64(sessionID))
	binary.BigEndian.PutUint32(data[8:], uint32(cxid))
	binary.BigEndian.PutUint32(data[12:], uint32(op))
	data = append(data, body...)
	return f.s.sendPacket(&proto.QuorumPacket{Type: proto.PacketRequest, Zxid: -1, Data: data, AuthInfo: auth})
}

// Revalidate asks the leader whether a global session is still valid
// (REVALIDATE), which also makes this observer its owner; the answer comes
// through Requests.Revalidated.
func (f *Forwarder) Revalidate(sessionID int64, timeout int32) error {
	data := binary.BigEndian.AppendUint64(nil, uint64(sessionID))
	data = binary.BigEndian.AppendUint32(data, uint32(timeout))
	return f.s.sendPacket(&proto.QuorumPacket{Type: proto.PacketRevalidate, Zxid: -1, Data: data})
}

// Leader returns the leader this Forwarder sends to.
func (f *Forwarder) Leader() Peer { return f.s.leader }

// requestsOf returns the Requests part of sink, if it has one.
func requestsOf(sink Sink) Requests {
	if t, ok := sink.(*syncTracker); ok {
		sink = t.Sink
	}
	r, _ := sink.(Requests)
	return r
}

// revalidateAnswer parses a REVALIDATE answer: long sessionId, boolean valid.
func revalidateAnswer(data []byte) (int64, bool, error) {
	if len(data) < 9 {
		return 0, false, fmt.Errorf("%w: REVALIDATE answer of %d bytes", ErrProtocol, len(data))
	}
	return int64(binary.BigEndian.Uint64(data)), data[8] != 0, nil
}
