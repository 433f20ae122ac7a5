package proto

import (
	"github.com/zkobserver/zkobserver/core/jute"
)

// Request and response records of every 3.8 client opcode, in opcode order
// (client spec A3.3).

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
