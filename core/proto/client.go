package proto

import (
	"errors"
	"fmt"

	"github.com/zkobserver/zkobserver/core/jute"
)

// Client-protocol errors. Decode errors are wrapped (with the op and the
// byte offset); test with errors.Is.
var (
	// ErrUnknownOp means a request opcode that a client may not send: not in
	// the opcode table, or server-internal (0 notification, 20
	// deleteContainer, -10 createSession, -1 error). Java answers
	// UNIMPLEMENTED and closes the connection.
	ErrUnknownOp = errors.New("proto: unknown or server-internal request opcode")
	// ErrFrameTooLarge means a frame length below 0 or above the frame
	// limit (jute.maxbuffer). Java closes the connection without a reply.
	ErrFrameTooLarge = errors.New("proto: frame length out of range")
	// ErrMultiOp means a sub-op type a multi may not carry.
	ErrMultiOp = errors.New("proto: invalid multi sub-op type")
	// ErrMultiMixed means a multi mixing read and write sub-ops, write
	// sub-ops in a multiRead (22) or read sub-ops in a multi (14).
	ErrMultiMixed = errors.New("proto: multi mixes read and write sub-ops")
)

// Special xids (A3.1). The server never interprets xids; these are what the
// reference clients use, and -1 is what the server uses for notifications.
const (
	XidNotification int32 = -1
	XidPing         int32 = -2
	XidAuth         int32 = -4
	XidSetWatches   int32 = -8
)

// WatcherEvent types (Watcher.Event.EventType). The server sends only 1–4.
const (
	EventNone                   int32 = -1
	EventNodeCreated            int32 = 1
	EventNodeDeleted            int32 = 2
	EventNodeDataChanged        int32 = 3
	EventNodeChildrenChanged    int32 = 4
	EventDataWatchRemoved       int32 = 5
	EventChildWatchRemoved      int32 = 6
	EventPersistentWatchRemoved int32 = 7
)

// WatcherEvent states (Watcher.Event.KeeperState) a server sends: a watch
// event is always SyncConnected; a read-only observer also tells its
// sessions with an EventNone event that it has become read-only
// (ConnectedReadOnly) and, later, connected again (SyncConnected).
const (
	StateSyncConnected     int32 = 3
	StateConnectedReadOnly int32 = 5
)

// WatcherType values of checkWatches / removeWatches.
const (
	WatcherTypeChildren int32 = 1
	WatcherTypeData     int32 = 2
	WatcherTypeAny      int32 = 3
)

// AddWatch modes.
const (
	AddWatchModePersistent          int32 = 0
	AddWatchModePersistentRecursive int32 = 1
)

// Fixed sizes of headers.
const (
	RequestHeaderSize = 8
	ReplyHeaderSize   = 16
	MultiHeaderSize   = 9
)

// ConnectRequest is the first frame a client sends; it has no RequestHeader.
//
// ReadOnly is an optional trailing byte: Decode reads it when at least one
// byte remains after Passwd and sets HasReadOnly ("new-style" client);
// anything after it is ignored, as Java does. ConnectRequest must therefore
// be the last thing in the decoder's input: Decode consumes the rest. Encode
// writes the byte only when HasReadOnly is set (44- vs 45-byte payloads for a
// 16-byte password).
type ConnectRequest struct {
	ProtocolVersion int32
	LastZxidSeen    int64
	TimeOut         int32
	SessionID       int64
	Passwd          []byte // nil = null on the wire
	ReadOnly        bool
	HasReadOnly     bool
}

// Encode implements jute.Record.
func (r *ConnectRequest) Encode(e *jute.Encoder) {
	e.Int(r.ProtocolVersion)
	e.Long(r.LastZxidSeen)
	e.Int(r.TimeOut)
	e.Long(r.SessionID)
	e.Buffer(r.Passwd)
	if r.HasReadOnly {
		e.Bool(r.ReadOnly)
	}
}

// Decode implements jute.Record.
func (r *ConnectRequest) Decode(d *jute.Decoder) error {
	r.ProtocolVersion = d.Int()
	r.LastZxidSeen = d.Long()
	r.TimeOut = d.Int()
	r.SessionID = d.Long()
	r.Passwd = d.Buffer()
	r.ReadOnly, r.HasReadOnly = decodeOptionalBool(d)
	return d.Err()
}

// decodeOptionalBool reads the optional trailing readOnly byte of the
// handshake records and discards whatever follows it.
func decodeOptionalBool(d *jute.Decoder) (v, present bool) {
	if d.Err() != nil || d.Remaining() == 0 {
		return false, false
	}
	v = d.Bool()
	d.Rest()
	return v, true
}

// DecodeConnectRequest decodes a ConnectRequest frame payload (after the
// 4-byte length). maxLen limits the password length; 0 means
// jute.DefaultMaxLength. Bytes after the readOnly flag are ignored, as Java
// does. Passwd aliases payload.
func DecodeConnectRequest(payload []byte, maxLen int) (*ConnectRequest, error) {
	r := new(ConnectRequest)
	if err := r.Decode(jute.NewDecoder(payload, maxLen)); err != nil {
		return nil, fmt.Errorf("proto: decoding ConnectRequest: %w", err)
	}
	return r, nil
}

// ConnectResponse is the server's handshake reply; it has no ReplyHeader.
// The server sends ReadOnly (HasReadOnly) only when the request carried the
// flag. Passwd is always 16 bytes in practice (the C client requires it);
// nil is encoded as a null buffer. Like ConnectRequest, Decode reads an
// optional trailing byte and ignores anything after it.
type ConnectResponse struct {
	ProtocolVersion int32
	TimeOut         int32
	SessionID       int64
	Passwd          []byte
	ReadOnly        bool
	HasReadOnly     bool
}

// Encode implements jute.Record.
func (r *ConnectResponse) Encode(e *jute.Encoder) {
	e.Int(r.ProtocolVersion)
	e.Int(r.TimeOut)
	e.Long(r.SessionID)
	e.Buffer(r.Passwd)
	if r.HasReadOnly {
		e.Bool(r.ReadOnly)
	}
}

// Decode implements jute.Record.
func (r *ConnectResponse) Decode(d *jute.Decoder) error {
	r.ProtocolVersion = d.Int()
	r.TimeOut = d.Int()
	r.SessionID = d.Long()
	r.Passwd = d.Buffer()
	r.ReadOnly, r.HasReadOnly = decodeOptionalBool(d)
	return d.Err()
}

// RequestHeader starts every request frame after the handshake (8 bytes).
type RequestHeader struct {
	Xid  int32
	Type OpCode
}

// Encode implements jute.Record.
func (r *RequestHeader) Encode(e *jute.Encoder) {
	e.Int(r.Xid)
	e.Int(int32(r.Type))
}

// Decode implements jute.Record.
func (r *RequestHeader) Decode(d *jute.Decoder) error {
	r.Xid = d.Int()
	r.Type = OpCode(d.Int())
	return d.Err()
}

// ReplyHeader starts every reply frame after the handshake (16 bytes). When
// Err is not 0 no response record follows (except for multi, whose header
// err is always 0).
type ReplyHeader struct {
	Xid  int32
	Zxid int64
	Err  ErrCode
}

// Encode implements jute.Record.
func (r *ReplyHeader) Encode(e *jute.Encoder) {
	e.Int(r.Xid)
	e.Long(r.Zxid)
	e.Int(int32(r.Err))
}

// Decode implements jute.Record.
func (r *ReplyHeader) Decode(d *jute.Decoder) error {
	r.Xid = d.Int()
	r.Zxid = d.Long()
	r.Err = ErrCode(d.Int())
	return d.Err()
}

// WatcherEvent is the body of a notification (ReplyHeader{-1, -1, 0}).
type WatcherEvent struct {
	Type  int32
	State int32
	Path  string
}

// Encode implements jute.Record.
func (r *WatcherEvent) Encode(e *jute.Encoder) {
	e.Int(r.Type)
	e.Int(r.State)
	e.String(r.Path)
}

// Decode implements jute.Record.
func (r *WatcherEvent) Decode(d *jute.Decoder) error {
	r.Type = d.Int()
	r.State = d.Int()
	r.Path = d.String()
	return d.Err()
}
