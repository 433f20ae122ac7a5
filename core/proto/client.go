package proto

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

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

// StateSyncConnected is the only WatcherEvent state a server sends.
const StateSyncConnected int32 = 3

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

// CreateRequest is the body of create (1), create2 (15) and
// createContainer (19), and of create sub-ops of a multi. Data and ACL keep
// null (nil) distinct from empty.
type CreateRequest struct {
	Path  string
	Data  []byte
	ACL   []ACL
	Flags int32
}

// Encode implements jute.Record.
func (r *CreateRequest) Encode(e *jute.Encoder) {
	e.String(r.Path)
	e.Buffer(r.Data)
	EncodeACLs(e, r.ACL)
	e.Int(r.Flags)
}

// Decode implements jute.Record.
func (r *CreateRequest) Decode(d *jute.Decoder) error {
	r.Path = d.String()
	r.Data = d.Buffer()
	r.ACL = DecodeACLs(d)
	r.Flags = d.Int()
	return d.Err()
}

// CreateTTLRequest is the body of createTTL (21).
type CreateTTLRequest struct {
	Path  string
	Data  []byte
	ACL   []ACL
	Flags int32
	TTL   int64
}

// Encode implements jute.Record.
func (r *CreateTTLRequest) Encode(e *jute.Encoder) {
	e.String(r.Path)
	e.Buffer(r.Data)
	EncodeACLs(e, r.ACL)
	e.Int(r.Flags)
	e.Long(r.TTL)
}

// Decode implements jute.Record.
func (r *CreateTTLRequest) Decode(d *jute.Decoder) error {
	r.Path = d.String()
	r.Data = d.Buffer()
	r.ACL = DecodeACLs(d)
	r.Flags = d.Int()
	r.TTL = d.Long()
	return d.Err()
}

// CreateResponse is the reply to create (1): the actual path, including any
// sequence suffix.
type CreateResponse struct {
	Path string
}

// Encode implements jute.Record.
func (r *CreateResponse) Encode(e *jute.Encoder) { e.String(r.Path) }

// Decode implements jute.Record.
func (r *CreateResponse) Decode(d *jute.Decoder) error {
	r.Path = d.String()
	return d.Err()
}

// Create2Response is the reply to create2, createContainer and createTTL.
type Create2Response struct {
	Path string
	Stat Stat
}

// Encode implements jute.Record.
func (r *Create2Response) Encode(e *jute.Encoder) {
	e.String(r.Path)
	r.Stat.Encode(e)
}

// Decode implements jute.Record.
func (r *Create2Response) Decode(d *jute.Decoder) error {
	r.Path = d.String()
	return r.Stat.Decode(d)
}

// DeleteRequest is the body of delete (2). Version -1 matches any version.
type DeleteRequest struct {
	Path    string
	Version int32
}

// Encode implements jute.Record.
func (r *DeleteRequest) Encode(e *jute.Encoder) {
	e.String(r.Path)
	e.Int(r.Version)
}

// Decode implements jute.Record.
func (r *DeleteRequest) Decode(d *jute.Decoder) error {
	r.Path = d.String()
	r.Version = d.Int()
	return d.Err()
}

// ExistsRequest is the body of exists (3).
type ExistsRequest struct {
	Path  string
	Watch bool
}

// Encode implements jute.Record.
func (r *ExistsRequest) Encode(e *jute.Encoder) {
	e.String(r.Path)
	e.Bool(r.Watch)
}

// Decode implements jute.Record.
func (r *ExistsRequest) Decode(d *jute.Decoder) error {
	r.Path = d.String()
	r.Watch = d.Bool()
	return d.Err()
}

// ExistsResponse is the reply to exists.
type ExistsResponse struct {
	Stat Stat
}

// Encode implements jute.Record.
func (r *ExistsResponse) Encode(e *jute.Encoder) { r.Stat.Encode(e) }

// Decode implements jute.Record.
func (r *ExistsResponse) Decode(d *jute.Decoder) error { return r.Stat.Decode(d) }

// GetDataRequest is the body of getData (4).
type GetDataRequest struct {
	Path  string
	Watch bool
}

// Encode implements jute.Record.
func (r *GetDataRequest) Encode(e *jute.Encoder) {
	e.String(r.Path)
	e.Bool(r.Watch)
}

// Decode implements jute.Record.
func (r *GetDataRequest) Decode(d *jute.Decoder) error {
	r.Path = d.String()
	r.Watch = d.Bool()
	return d.Err()
}

// GetDataResponse is the reply to getData and reconfig. Data nil is sent as
// a null buffer (-1), which is what Java sends for a node with null data.
type GetDataResponse struct {
	Data []byte
	Stat Stat
}

// Encode implements jute.Record.
func (r *GetDataResponse) Encode(e *jute.Encoder) {
	e.Buffer(r.Data)
	r.Stat.Encode(e)
}

// Decode implements jute.Record.
func (r *GetDataResponse) Decode(d *jute.Decoder) error {
	r.Data = d.Buffer()
	return r.Stat.Decode(d)
}

// SetDataRequest is the body of setData (5).
type SetDataRequest struct {
	Path    string
	Data    []byte
	Version int32
}

// Encode implements jute.Record.
func (r *SetDataRequest) Encode(e *jute.Encoder) {
	e.String(r.Path)
	e.Buffer(r.Data)
	e.Int(r.Version)
}

// Decode implements jute.Record.
func (r *SetDataRequest) Decode(d *jute.Decoder) error {
	r.Path = d.String()
	r.Data = d.Buffer()
	r.Version = d.Int()
	return d.Err()
}

// SetDataResponse is the reply to setData.
type SetDataResponse struct {
	Stat Stat
}

// Encode implements jute.Record.
func (r *SetDataResponse) Encode(e *jute.Encoder) { r.Stat.Encode(e) }

// Decode implements jute.Record.
func (r *SetDataResponse) Decode(d *jute.Decoder) error { return r.Stat.Decode(d) }

// GetACLRequest is the body of getACL (6).
type GetACLRequest struct {
	Path string
}

// Encode implements jute.Record.
func (r *GetACLRequest) Encode(e *jute.Encoder) { e.String(r.Path) }

// Decode implements jute.Record.
func (r *GetACLRequest) Decode(d *jute.Decoder) error {
	r.Path = d.String()
	return d.Err()
}

// GetACLResponse is the reply to getACL. Java never sends a null ACL list
// and go-zookeeper crashes on one, so Encode writes a nil ACL as an EMPTY
// vector (count 0), never -1. Decode returns nil for a null vector.
type GetACLResponse struct {
	ACL  []ACL
	Stat Stat
}

// Encode implements jute.Record.
func (r *GetACLResponse) Encode(e *jute.Encoder) {
	e.VectorLen(len(r.ACL), false)
	for i := range r.ACL {
		r.ACL[i].Encode(e)
	}
	r.Stat.Encode(e)
}

// Decode implements jute.Record.
func (r *GetACLResponse) Decode(d *jute.Decoder) error {
	r.ACL = DecodeACLs(d)
	return r.Stat.Decode(d)
}

// SetACLRequest is the body of setACL (7). Version is compared to aversion.
type SetACLRequest struct {
	Path    string
	ACL     []ACL
	Version int32
}

// Encode implements jute.Record.
func (r *SetACLRequest) Encode(e *jute.Encoder) {
	e.String(r.Path)
	EncodeACLs(e, r.ACL)
	e.Int(r.Version)
}

// Decode implements jute.Record.
func (r *SetACLRequest) Decode(d *jute.Decoder) error {
	r.Path = d.String()
	r.ACL = DecodeACLs(d)
	r.Version = d.Int()
	return d.Err()
}

// SetACLResponse is the reply to setACL.
type SetACLResponse struct {
	Stat Stat
}

// Encode implements jute.Record.
func (r *SetACLResponse) Encode(e *jute.Encoder) { r.Stat.Encode(e) }

// Decode implements jute.Record.
func (r *SetACLResponse) Decode(d *jute.Decoder) error { return r.Stat.Decode(d) }

// GetChildrenRequest is the body of getChildren (8).
type GetChildrenRequest struct {
	Path  string
	Watch bool
}

// Encode implements jute.Record.
func (r *GetChildrenRequest) Encode(e *jute.Encoder) {
	e.String(r.Path)
	e.Bool(r.Watch)
}

// Decode implements jute.Record.
func (r *GetChildrenRequest) Decode(d *jute.Decoder) error {
	r.Path = d.String()
	r.Watch = d.Bool()
	return d.Err()
}

// encodeNonNullStrings writes a vector<ustring> that Java never sends null:
// a nil slice is written as an empty vector (count 0), because go-zookeeper
// crashes on a -1 count.
func encodeNonNullStrings(e *jute.Encoder, v []string) {
	e.VectorLen(len(v), false)
	for _, s := range v {
		e.String(s)
	}
}

// GetChildrenResponse is the reply to getChildren: child names, not full
// paths. Java never sends a null list and go-zookeeper crashes on one, so
// Encode writes a nil Children as an EMPTY vector (count 0), never -1.
// Decode returns nil for a null vector.
type GetChildrenResponse struct {
	Children []string
}

// Encode implements jute.Record.
func (r *GetChildrenResponse) Encode(e *jute.Encoder) { encodeNonNullStrings(e, r.Children) }

// Decode implements jute.Record.
func (r *GetChildrenResponse) Decode(d *jute.Decoder) error {
	r.Children = d.StringVector()
	return d.Err()
}

// GetChildren2Request is the body of getChildren2 (12).
type GetChildren2Request struct {
	Path  string
	Watch bool
}

// Encode implements jute.Record.
func (r *GetChildren2Request) Encode(e *jute.Encoder) {
	e.String(r.Path)
	e.Bool(r.Watch)
}

// Decode implements jute.Record.
func (r *GetChildren2Request) Decode(d *jute.Decoder) error {
	r.Path = d.String()
	r.Watch = d.Bool()
	return d.Err()
}

// GetChildren2Response is the reply to getChildren2. As for
// GetChildrenResponse, Encode writes a nil Children as an EMPTY vector
// (count 0), never -1 (go-zookeeper crashes on -1).
type GetChildren2Response struct {
	Children []string
	Stat     Stat
}

// Encode implements jute.Record.
func (r *GetChildren2Response) Encode(e *jute.Encoder) {
	encodeNonNullStrings(e, r.Children)
	r.Stat.Encode(e)
}

// Decode implements jute.Record.
func (r *GetChildren2Response) Decode(d *jute.Decoder) error {
	r.Children = d.StringVector()
	return r.Stat.Decode(d)
}

// SyncRequest is the body of sync (9).
type SyncRequest struct {
	Path string
}

// Encode implements jute.Record.
func (r *SyncRequest) Encode(e *jute.Encoder) { e.String(r.Path) }

// Decode implements jute.Record.
func (r *SyncRequest) Decode(d *jute.Decoder) error {
	r.Path = d.String()
	return d.Err()
}

// SyncResponse is the reply to sync; it echoes the request path.
type SyncResponse struct {
	Path string
}

// Encode implements jute.Record.
func (r *SyncResponse) Encode(e *jute.Encoder) { e.String(r.Path) }

// Decode implements jute.Record.
func (r *SyncResponse) Decode(d *jute.Decoder) error {
	r.Path = d.String()
	return d.Err()
}

// CheckVersionRequest is the body of check (13), normally a multi sub-op.
type CheckVersionRequest struct {
	Path    string
	Version int32
}

// Encode implements jute.Record.
func (r *CheckVersionRequest) Encode(e *jute.Encoder) {
	e.String(r.Path)
	e.Int(r.Version)
}

// Decode implements jute.Record.
func (r *CheckVersionRequest) Decode(d *jute.Decoder) error {
	r.Path = d.String()
	r.Version = d.Int()
	return d.Err()
}

// ReconfigRequest is the body of reconfig (16). The three server lists may
// be null on the wire (Java's client sends null for absent ones); the Null
// flags keep that distinct from "" so a record re-encodes to the same bytes.
type ReconfigRequest struct {
	JoiningServers     string
	LeavingServers     string
	NewMembers         string
	NullJoiningServers bool
	NullLeavingServers bool
	NullNewMembers     bool
	CurConfigID        int64
}

// Encode implements jute.Record.
func (r *ReconfigRequest) Encode(e *jute.Encoder) {
	e.NullableString(r.JoiningServers, !r.NullJoiningServers)
	e.NullableString(r.LeavingServers, !r.NullLeavingServers)
	e.NullableString(r.NewMembers, !r.NullNewMembers)
	e.Long(r.CurConfigID)
}

// Decode implements jute.Record.
func (r *ReconfigRequest) Decode(d *jute.Decoder) error {
	var ok bool
	r.JoiningServers, ok = d.NullableString()
	r.NullJoiningServers = !ok
	r.LeavingServers, ok = d.NullableString()
	r.NullLeavingServers = !ok
	r.NewMembers, ok = d.NullableString()
	r.NullNewMembers = !ok
	r.CurConfigID = d.Long()
	return d.Err()
}

// CheckWatchesRequest is the body of checkWatches (17); Type is a
// WatcherType.
type CheckWatchesRequest struct {
	Path string
	Type int32
}

// Encode implements jute.Record.
func (r *CheckWatchesRequest) Encode(e *jute.Encoder) {
	e.String(r.Path)
	e.Int(r.Type)
}

// Decode implements jute.Record.
func (r *CheckWatchesRequest) Decode(d *jute.Decoder) error {
	r.Path = d.String()
	r.Type = d.Int()
	return d.Err()
}

// RemoveWatchesRequest is the body of removeWatches (18); Type is a
// WatcherType.
type RemoveWatchesRequest struct {
	Path string
	Type int32
}

// Encode implements jute.Record.
func (r *RemoveWatchesRequest) Encode(e *jute.Encoder) {
	e.String(r.Path)
	e.Int(r.Type)
}

// Decode implements jute.Record.
func (r *RemoveWatchesRequest) Decode(d *jute.Decoder) error {
	r.Path = d.String()
	r.Type = d.Int()
	return d.Err()
}

// AddWatchRequest is the body of addWatch (106); Mode is an AddWatch mode.
type AddWatchRequest struct {
	Path string
	Mode int32
}

// Encode implements jute.Record.
func (r *AddWatchRequest) Encode(e *jute.Encoder) {
	e.String(r.Path)
	e.Int(r.Mode)
}

// Decode implements jute.Record.
func (r *AddWatchRequest) Decode(d *jute.Decoder) error {
	r.Path = d.String()
	r.Mode = d.Int()
	return d.Err()
}

// ErrorResponse is the reply body of addWatch (Err 0) and the record of an
// error result in a multi response.
type ErrorResponse struct {
	Err ErrCode
}

// Encode implements jute.Record.
func (r *ErrorResponse) Encode(e *jute.Encoder) { e.Int(int32(r.Err)) }

// Decode implements jute.Record.
func (r *ErrorResponse) Decode(d *jute.Decoder) error {
	r.Err = ErrCode(d.Int())
	return d.Err()
}

// GetEphemeralsRequest is the body of getEphemerals (103).
type GetEphemeralsRequest struct {
	PrefixPath string
}

// Encode implements jute.Record.
func (r *GetEphemeralsRequest) Encode(e *jute.Encoder) { e.String(r.PrefixPath) }

// Decode implements jute.Record.
func (r *GetEphemeralsRequest) Decode(d *jute.Decoder) error {
	r.PrefixPath = d.String()
	return d.Err()
}

// GetEphemeralsResponse is the reply to getEphemerals: full paths. Java
// never sends a null list and go-zookeeper crashes on one, so Encode writes
// a nil Ephemerals as an EMPTY vector (count 0), never -1.
type GetEphemeralsResponse struct {
	Ephemerals []string
}

// Encode implements jute.Record.
func (r *GetEphemeralsResponse) Encode(e *jute.Encoder) { encodeNonNullStrings(e, r.Ephemerals) }

// Decode implements jute.Record.
func (r *GetEphemeralsResponse) Decode(d *jute.Decoder) error {
	r.Ephemerals = d.StringVector()
	return d.Err()
}

// GetAllChildrenNumberRequest is the body of getAllChildrenNumber (104).
type GetAllChildrenNumberRequest struct {
	Path string
}

// Encode implements jute.Record.
func (r *GetAllChildrenNumberRequest) Encode(e *jute.Encoder) { e.String(r.Path) }

// Decode implements jute.Record.
func (r *GetAllChildrenNumberRequest) Decode(d *jute.Decoder) error {
	r.Path = d.String()
	return d.Err()
}

// GetAllChildrenNumberResponse is the reply to getAllChildrenNumber.
type GetAllChildrenNumberResponse struct {
	TotalNumber int32
}

// Encode implements jute.Record.
func (r *GetAllChildrenNumberResponse) Encode(e *jute.Encoder) { e.Int(r.TotalNumber) }

// Decode implements jute.Record.
func (r *GetAllChildrenNumberResponse) Decode(d *jute.Decoder) error {
	r.TotalNumber = d.Int()
	return d.Err()
}

// ClientInfo is one entry of a whoAmI reply.
type ClientInfo struct {
	AuthScheme string
	User       string
}

// Encode implements jute.Record.
func (r *ClientInfo) Encode(e *jute.Encoder) {
	e.String(r.AuthScheme)
	e.String(r.User)
}

// Decode implements jute.Record.
func (r *ClientInfo) Decode(d *jute.Decoder) error {
	r.AuthScheme = d.String()
	r.User = d.String()
	return d.Err()
}

// minClientInfoSize is the smallest encoding of a ClientInfo: two empty
// strings.
const minClientInfoSize = 8

// WhoAmIResponse is the reply to whoAmI (107). Java never sends a null list
// and go-zookeeper crashes on one, so Encode writes a nil ClientInfo as an
// EMPTY vector (count 0), never -1. Decode returns nil for a null vector.
type WhoAmIResponse struct {
	ClientInfo []ClientInfo
}

// Encode implements jute.Record.
func (r *WhoAmIResponse) Encode(e *jute.Encoder) {
	e.VectorLen(len(r.ClientInfo), false)
	for i := range r.ClientInfo {
		r.ClientInfo[i].Encode(e)
	}
}

// Decode implements jute.Record.
func (r *WhoAmIResponse) Decode(d *jute.Decoder) error {
	n, null := d.VectorLen(minClientInfoSize)
	if null {
		r.ClientInfo = nil
		return d.Err()
	}
	r.ClientInfo = make([]ClientInfo, n)
	for i := range r.ClientInfo {
		if r.ClientInfo[i].Decode(d) != nil {
			r.ClientInfo = nil
			break
		}
	}
	return d.Err()
}

// AuthPacket is the body of auth (100). Type is ignored by the server
// (clients send 0).
type AuthPacket struct {
	Type   int32
	Scheme string
	Auth   []byte
}

// Encode implements jute.Record.
func (r *AuthPacket) Encode(e *jute.Encoder) {
	e.Int(r.Type)
	e.String(r.Scheme)
	e.Buffer(r.Auth)
}

// Decode implements jute.Record.
func (r *AuthPacket) Decode(d *jute.Decoder) error {
	r.Type = d.Int()
	r.Scheme = d.String()
	r.Auth = d.Buffer()
	return d.Err()
}

// GetSASLRequest is the body of sasl (102).
type GetSASLRequest struct {
	Token []byte
}

// Encode implements jute.Record.
func (r *GetSASLRequest) Encode(e *jute.Encoder) { e.Buffer(r.Token) }

// Decode implements jute.Record.
func (r *GetSASLRequest) Decode(d *jute.Decoder) error {
	r.Token = d.Buffer()
	return d.Err()
}

// SetSASLResponse is the reply to sasl; Token nil (null) means no challenge.
type SetSASLResponse struct {
	Token []byte
}

// Encode implements jute.Record.
func (r *SetSASLResponse) Encode(e *jute.Encoder) { e.Buffer(r.Token) }

// Decode implements jute.Record.
func (r *SetSASLResponse) Decode(d *jute.Decoder) error {
	r.Token = d.Buffer()
	return d.Err()
}

// SetWatches is the body of setWatches (101). Null (nil) and empty lists
// stay distinct.
type SetWatches struct {
	RelativeZxid int64
	DataWatches  []string
	ExistWatches []string
	ChildWatches []string
}

// Encode implements jute.Record.
func (r *SetWatches) Encode(e *jute.Encoder) {
	e.Long(r.RelativeZxid)
	e.StringVector(r.DataWatches)
	e.StringVector(r.ExistWatches)
	e.StringVector(r.ChildWatches)
}

// Decode implements jute.Record.
func (r *SetWatches) Decode(d *jute.Decoder) error {
	r.RelativeZxid = d.Long()
	r.DataWatches = d.StringVector()
	r.ExistWatches = d.StringVector()
	r.ChildWatches = d.StringVector()
	return d.Err()
}

// SetWatches2 is the body of setWatches2 (105): SetWatches plus the
// persistent and persistent-recursive watch lists.
type SetWatches2 struct {
	RelativeZxid               int64
	DataWatches                []string
	ExistWatches               []string
	ChildWatches               []string
	PersistentWatches          []string
	PersistentRecursiveWatches []string
}

// Encode implements jute.Record.
func (r *SetWatches2) Encode(e *jute.Encoder) {
	e.Long(r.RelativeZxid)
	e.StringVector(r.DataWatches)
	e.StringVector(r.ExistWatches)
	e.StringVector(r.ChildWatches)
	e.StringVector(r.PersistentWatches)
	e.StringVector(r.PersistentRecursiveWatches)
}

// Decode implements jute.Record.
func (r *SetWatches2) Decode(d *jute.Decoder) error {
	r.RelativeZxid = d.Long()
	r.DataWatches = d.StringVector()
	r.ExistWatches = d.StringVector()
	r.ChildWatches = d.StringVector()
	r.PersistentWatches = d.StringVector()
	r.PersistentRecursiveWatches = d.StringVector()
	return d.Err()
}

// MultiHeader precedes every sub-op of a multi request or response and
// marks its end (9 bytes).
type MultiHeader struct {
	Type OpCode
	Done bool
	Err  ErrCode
}

// Encode implements jute.Record.
func (r *MultiHeader) Encode(e *jute.Encoder) {
	e.Int(int32(r.Type))
	e.Bool(r.Done)
	e.Int(int32(r.Err))
}

// Decode implements jute.Record.
func (r *MultiHeader) Decode(d *jute.Decoder) error {
	r.Type = OpCode(d.Int())
	r.Done = d.Bool()
	r.Err = ErrCode(d.Int())
	return d.Err()
}

// requestOps classifies the request opcodes a client may send (A3.2):
// true = the request has a body record, false = header only.
var requestOps = map[OpCode]bool{
	OpCreate: true, OpDelete: true, OpExists: true, OpGetData: true,
	OpSetData: true, OpGetACL: true, OpSetACL: true, OpGetChildren: true,
	OpSync: true, OpPing: false, OpGetChildren2: true, OpCheck: true,
	OpMulti: true, OpCreate2: true, OpReconfig: true, OpCheckWatches: true,
	OpRemoveWatches: true, OpCreateContainer: true, OpCreateTTL: true,
	OpMultiRead: true, OpAuth: true, OpSetWatches: true, OpSASL: true,
	OpGetEphemerals: true, OpGetAllChildrenNumber: true, OpSetWatches2: true,
	OpAddWatch: true, OpWhoAmI: false, OpCloseSession: false,
}

// IsRequestOp reports whether op is a request opcode a client may send,
// i.e. one DecodeRequest accepts. Server-internal opcodes (0 notification,
// 20 deleteContainer, -10 createSession, -1 error) are not.
func IsRequestOp(op OpCode) bool {
	_, ok := requestOps[op]
	return ok
}

// NewRequestRecord returns a fresh, empty record for the body of request op.
// It returns false for ops whose request has no body (ping 11, closeSession
// -11, whoAmI 107) and for opcodes a client may not send (see IsRequestOp).
// multi (14) and multiRead (22) both get a *MultiRequest; create (1),
// create2 (15) and createContainer (19) a *CreateRequest.
func NewRequestRecord(op OpCode) (jute.Record, bool) {
	switch op {
	case OpCreate, OpCreate2, OpCreateContainer:
		return new(CreateRequest), true
	case OpCreateTTL:
		return new(CreateTTLRequest), true
	case OpDelete:
		return new(DeleteRequest), true
	case OpExists:
		return new(ExistsRequest), true
	case OpGetData:
		return new(GetDataRequest), true
	case OpSetData:
		return new(SetDataRequest), true
	case OpGetACL:
		return new(GetACLRequest), true
	case OpSetACL:
		return new(SetACLRequest), true
	case OpGetChildren:
		return new(GetChildrenRequest), true
	case OpGetChildren2:
		return new(GetChildren2Request), true
	case OpSync:
		return new(SyncRequest), true
	case OpCheck:
		return new(CheckVersionRequest), true
	case OpMulti, OpMultiRead:
		return new(MultiRequest), true
	case OpReconfig:
		return new(ReconfigRequest), true
	case OpCheckWatches:
		return new(CheckWatchesRequest), true
	case OpRemoveWatches:
		return new(RemoveWatchesRequest), true
	case OpAuth:
		return new(AuthPacket), true
	case OpSetWatches:
		return new(SetWatches), true
	case OpSASL:
		return new(GetSASLRequest), true
	case OpGetEphemerals:
		return new(GetEphemeralsRequest), true
	case OpGetAllChildrenNumber:
		return new(GetAllChildrenNumberRequest), true
	case OpSetWatches2:
		return new(SetWatches2), true
	case OpAddWatch:
		return new(AddWatchRequest), true
	}
	return nil, false
}

// DecodeRequest decodes a whole request frame payload (after the 4-byte
// length): the RequestHeader and, for ops that have one, the body record
// (nil for ping, closeSession and whoAmI). maxLen limits buffer and string
// lengths; 0 means jute.DefaultMaxLength. Byte slices in the record alias
// payload.
//
// It is strict: the body must fill the payload exactly (jute.ErrTrailing
// otherwise), so a decoded request re-encodes to the same bytes. Java is
// more lenient: it never checks for bytes after a request body (and never
// reads the body of ping, closeSession or whoAmI), so it ignores trailing
// bytes on every opcode. No known client sends any; use DecodeRequestPrefix
// to get Java's behaviour.
//
// Errors wrap ErrUnknownOp (Java: UNIMPLEMENTED, then close), ErrMultiOp or
// ErrMultiMixed (Java: MARSHALLINGERROR), or a jute error (a malformed body:
// Java answers MARSHALLINGERROR or closes the connection; a short header:
// Java closes the connection). The header is returned whenever it could be
// decoded, so the caller can answer with the request's xid.
func DecodeRequest(payload []byte, maxLen int) (RequestHeader, jute.Record, error) {
	h, body, n, err := DecodeRequestPrefix(payload, maxLen)
	if err == nil && n != len(payload) {
		err = fmt.Errorf("proto: decoding %v request: at offset %d: %w: %d bytes",
			h.Type, n, jute.ErrTrailing, len(payload)-n)
		body = nil
	}
	return h, body, err
}

// DecodeRequestPrefix is DecodeRequest with Java's tolerance of trailing
// bytes: it decodes the header and body from the start of payload, ignores
// whatever follows, and returns the number of bytes consumed.
func DecodeRequestPrefix(payload []byte, maxLen int) (h RequestHeader, body jute.Record, n int, err error) {
	d := jute.NewDecoder(payload, maxLen)
	if err := h.Decode(d); err != nil {
		return h, nil, 0, fmt.Errorf("proto: decoding RequestHeader: %w", err)
	}
	if !IsRequestOp(h.Type) {
		return h, nil, 0, fmt.Errorf("%w: %v", ErrUnknownOp, h.Type)
	}
	body, ok := NewRequestRecord(h.Type)
	if !ok {
		return h, nil, d.Offset(), nil
	}
	body.Decode(d)
	if m, ok := body.(*MultiRequest); ok && d.Err() == nil {
		if verr := m.Validate(h.Type); verr != nil {
			d.Fail(verr)
		}
	}
	if err := d.Err(); err != nil {
		return h, nil, 0, fmt.Errorf("proto: decoding %v request: %w", h.Type, err)
	}
	return h, body, d.Offset(), nil
}

// ReadFrame reads one frame from r: a 4-byte big-endian length N, then N
// payload bytes, which it returns. A length below 0 or above maxFrame is
// rejected with ErrFrameTooLarge before anything is allocated; maxFrame <= 0
// means jute.DefaultMaxBuffer (Java's jute.maxbuffer, 1,048,575). The payload
// is read into buf when it is large enough, else into a new slice, so it may
// alias buf. A clean end of input before the length gives io.EOF; an end
// inside the frame gives io.ErrUnexpectedEOF.
func ReadFrame(r io.Reader, buf []byte, maxFrame int) ([]byte, error) {
	if maxFrame <= 0 {
		maxFrame = jute.DefaultMaxBuffer
	}
	var hdr [4]byte
	lb := hdr[:]
	if cap(buf) >= 4 {
		lb = buf[:4]
	}
	if _, err := io.ReadFull(r, lb); err != nil {
		return nil, err
	}
	n := int32(binary.BigEndian.Uint32(lb))
	if n < 0 || int64(n) > int64(maxFrame) {
		return nil, fmt.Errorf("%w: %d (limit %d)", ErrFrameTooLarge, n, maxFrame)
	}
	var p []byte
	if cap(buf) >= int(n) {
		p = buf[:n]
	} else {
		p = make([]byte, n)
	}
	if _, err := io.ReadFull(r, p); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return p, nil
}

// AppendFrame appends one frame to dst: the 4-byte length, then the
// encodings of records back to back (nil records are skipped). It returns
// the extended slice.
func AppendFrame(dst []byte, records ...jute.Record) []byte {
	start := len(dst)
	e := jute.NewEncoder(append(dst, 0, 0, 0, 0))
	for _, r := range records {
		if r != nil {
			r.Encode(e)
		}
	}
	b := e.Bytes()
	binary.BigEndian.PutUint32(b[start:], uint32(len(b)-start-4))
	return b
}
