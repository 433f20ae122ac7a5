package proto

import (
	"errors"
	"fmt"

	"github.com/zkobserver/zkobserver/core/jute"
)

// Txn decoding errors.
var (
	// ErrUnknownTxnType means a txn header type that no 3.5–3.9 server writes.
	ErrUnknownTxnType = errors.New("proto: unknown txn type")
	// ErrBadDigestTrailer means the bytes after a txn body are neither
	// absent nor a 12-byte TxnDigest.
	ErrBadDigestTrailer = errors.New("proto: txn trailer is neither empty nor a TxnDigest")
)

// TxnHeader starts every txn (32 bytes).
type TxnHeader struct {
	ClientID int64 // session id; 0 for server-internal txns
	Cxid     int32 // the client's xid; 0 for internal txns
	Zxid     int64
	Time     int64 // leader wall clock, ms
	Type     OpCode
}

// TxnHeaderSize is the encoded size of TxnHeader.
const TxnHeaderSize = 32

// Encode implements jute.Record.
func (r *TxnHeader) Encode(e *jute.Encoder) {
	e.Long(r.ClientID)
	e.Int(r.Cxid)
	e.Long(r.Zxid)
	e.Long(r.Time)
	e.Int(int32(r.Type))
}

// Decode implements jute.Record.
func (r *TxnHeader) Decode(d *jute.Decoder) error {
	r.ClientID = d.Long()
	r.Cxid = d.Int()
	r.Zxid = d.Long()
	r.Time = d.Long()
	r.Type = OpCode(d.Int())
	return d.Err()
}

// TxnDigest is the optional 12-byte trailer of a txn: the tree digest after
// the txn was applied.
type TxnDigest struct {
	Version    int32
	TreeDigest int64
}

// TxnDigestSize is the encoded size of TxnDigest.
const TxnDigestSize = 12

// DigestVersion is the only digest version Java 3.6–3.9 computes and checks.
const DigestVersion = 2

// Encode implements jute.Record.
func (r *TxnDigest) Encode(e *jute.Encoder) {
	e.Int(r.Version)
	e.Long(r.TreeDigest)
}

// Decode implements jute.Record.
func (r *TxnDigest) Decode(d *jute.Decoder) error {
	r.Version = d.Int()
	r.TreeDigest = d.Long()
	return d.Err()
}

// CreateTxn is the body of create (1) and create2 (15) txns, and of create
// sub-txns of a multi.
type CreateTxn struct {
	Path           string
	Data           []byte
	ACL            []ACL
	Ephemeral      bool
	ParentCVersion int32
	// V0 marks a pre-3.3 CreateTxnV0 record, which has no ParentCVersion
	// field; ParentCVersion is then -1 ("parent's stored cversion + 1").
	V0 bool
}

// Encode implements jute.Record.
func (r *CreateTxn) Encode(e *jute.Encoder) {
	e.String(r.Path)
	e.Buffer(r.Data)
	EncodeACLs(e, r.ACL)
	e.Bool(r.Ephemeral)
	if !r.V0 {
		e.Int(r.ParentCVersion)
	}
}

// Decode implements jute.Record. A record that ends right after Ephemeral
// is read as CreateTxnV0, as Java does on EOF.
func (r *CreateTxn) Decode(d *jute.Decoder) error {
	r.Path = d.String()
	r.Data = d.Buffer()
	r.ACL = DecodeACLs(d)
	r.Ephemeral = d.Bool()
	if d.Err() == nil && d.Remaining() == 0 {
		r.V0, r.ParentCVersion = true, -1
		return nil
	}
	r.V0 = false
	r.ParentCVersion = d.Int()
	return d.Err()
}

// CreateContainerTxn is the body of createContainer (19) txns.
type CreateContainerTxn struct {
	Path           string
	Data           []byte
	ACL            []ACL
	ParentCVersion int32
}

// Encode implements jute.Record.
func (r *CreateContainerTxn) Encode(e *jute.Encoder) {
	e.String(r.Path)
	e.Buffer(r.Data)
	EncodeACLs(e, r.ACL)
	e.Int(r.ParentCVersion)
}

// Decode implements jute.Record.
func (r *CreateContainerTxn) Decode(d *jute.Decoder) error {
	r.Path = d.String()
	r.Data = d.Buffer()
	r.ACL = DecodeACLs(d)
	r.ParentCVersion = d.Int()
	return d.Err()
}

// CreateTTLTxn is the body of createTTL (21) txns.
type CreateTTLTxn struct {
	Path           string
	Data           []byte
	ACL            []ACL
	ParentCVersion int32
	TTL            int64
}

// Encode implements jute.Record.
func (r *CreateTTLTxn) Encode(e *jute.Encoder) {
	e.String(r.Path)
	e.Buffer(r.Data)
	EncodeACLs(e, r.ACL)
	e.Int(r.ParentCVersion)
	e.Long(r.TTL)
}

// Decode implements jute.Record.
func (r *CreateTTLTxn) Decode(d *jute.Decoder) error {
	r.Path = d.String()
	r.Data = d.Buffer()
	r.ACL = DecodeACLs(d)
	r.ParentCVersion = d.Int()
	r.TTL = d.Long()
	return d.Err()
}

// DeleteTxn is the body of delete (2) and deleteContainer (20) txns.
type DeleteTxn struct {
	Path string
}

// Encode implements jute.Record.
func (r *DeleteTxn) Encode(e *jute.Encoder) { e.String(r.Path) }

// Decode implements jute.Record.
func (r *DeleteTxn) Decode(d *jute.Decoder) error {
	r.Path = d.String()
	return d.Err()
}

// SetDataTxn is the body of setData (5) and reconfig (16) txns. Version is
// the node's new version (absolute).
type SetDataTxn struct {
	Path    string
	Data    []byte
	Version int32
}

// Encode implements jute.Record.
func (r *SetDataTxn) Encode(e *jute.Encoder) {
	e.String(r.Path)
	e.Buffer(r.Data)
	e.Int(r.Version)
}

// Decode implements jute.Record.
func (r *SetDataTxn) Decode(d *jute.Decoder) error {
	r.Path = d.String()
	r.Data = d.Buffer()
	r.Version = d.Int()
	return d.Err()
}

// SetACLTxn is the body of setACL (7) txns. Version is the new aversion.
type SetACLTxn struct {
	Path    string
	ACL     []ACL
	Version int32
}

// Encode implements jute.Record.
func (r *SetACLTxn) Encode(e *jute.Encoder) {
	e.String(r.Path)
	EncodeACLs(e, r.ACL)
	e.Int(r.Version)
}

// Decode implements jute.Record.
func (r *SetACLTxn) Decode(d *jute.Decoder) error {
	r.Path = d.String()
	r.ACL = DecodeACLs(d)
	r.Version = d.Int()
	return d.Err()
}

// CheckVersionTxn is the body of check (13) sub-txns.
type CheckVersionTxn struct {
	Path    string
	Version int32
}

// Encode implements jute.Record.
func (r *CheckVersionTxn) Encode(e *jute.Encoder) {
	e.String(r.Path)
	e.Int(r.Version)
}

// Decode implements jute.Record.
func (r *CheckVersionTxn) Decode(d *jute.Decoder) error {
	r.Path = d.String()
	r.Version = d.Int()
	return d.Err()
}

// CreateSessionTxn is the body of createSession (-10) txns.
type CreateSessionTxn struct {
	TimeOut int32
}

// Encode implements jute.Record.
func (r *CreateSessionTxn) Encode(e *jute.Encoder) { e.Int(r.TimeOut) }

// Decode implements jute.Record.
func (r *CreateSessionTxn) Decode(d *jute.Decoder) error {
	r.TimeOut = d.Int()
	return d.Err()
}

// CloseSessionTxn is the body of closeSession (-11) txns written by 3.6+
// servers: the session's ephemerals, deleted by the txn. 3.5 servers (or
// zookeeper.closeSessionTxn.enabled=false) write no body at all; Txn.Body is
// then nil.
type CloseSessionTxn struct {
	Paths2Delete []string
}

// Encode implements jute.Record.
func (r *CloseSessionTxn) Encode(e *jute.Encoder) { e.StringVector(r.Paths2Delete) }

// Decode implements jute.Record.
func (r *CloseSessionTxn) Decode(d *jute.Decoder) error {
	r.Paths2Delete = d.StringVector()
	return d.Err()
}

// ErrorTxn is the body of error (-1) txns and error sub-txns of a multi.
type ErrorTxn struct {
	Err ErrCode
}

// Encode implements jute.Record.
func (r *ErrorTxn) Encode(e *jute.Encoder) { e.Int(int32(r.Err)) }

// Decode implements jute.Record.
func (r *ErrorTxn) Decode(d *jute.Decoder) error {
	r.Err = ErrCode(d.Int())
	return d.Err()
}

// SubTxn is one operation of a MultiTxn: its type and decoded body. On the
// wire it is `int type; buffer data` where data holds the body record only.
type SubTxn struct {
	Type OpCode
	Body jute.Record
}

// MultiTxn is the body of multi (14) txns.
type MultiTxn struct {
	Txns []SubTxn
}

// Encode implements jute.Record.
func (r *MultiTxn) Encode(e *jute.Encoder) {
	e.VectorLen(len(r.Txns), r.Txns == nil)
	var sub jute.Encoder
	for _, t := range r.Txns {
		e.Int(int32(t.Type))
		sub.Reset()
		t.Body.Encode(&sub)
		e.Buffer(sub.Bytes())
	}
}

// Decode implements jute.Record. Every sub-body must fill its buffer
// exactly.
func (r *MultiTxn) Decode(d *jute.Decoder) error {
	n, null := d.VectorLen(8)
	if null {
		r.Txns = nil
		return d.Err()
	}
	r.Txns = make([]SubTxn, 0, n)
	for i := 0; i < n && d.Err() == nil; i++ {
		typ := OpCode(d.Int())
		data := d.Buffer()
		if d.Err() != nil {
			break
		}
		body, ok := newSubTxnBody(typ)
		if !ok {
			d.Fail(fmt.Errorf("%w: %d inside multi", ErrUnknownTxnType, typ))
			break
		}
		sd := jute.NewDecoder(data, 0)
		body.Decode(sd)
		if err := sd.Finish(); err != nil {
			d.Fail(fmt.Errorf("multi sub-txn %d (%v): %w", i, typ, err))
			break
		}
		r.Txns = append(r.Txns, SubTxn{Type: typ, Body: body})
	}
	if d.Err() != nil {
		r.Txns = nil
	}
	return d.Err()
}

// newSubTxnBody returns the body record for a sub-txn type of a multi. Java's
// DataTree accepts these types inside a multi (3.8 leaders never write 15
// there, but it decodes the same way as 1).
func newSubTxnBody(t OpCode) (jute.Record, bool) {
	switch t {
	case OpCreate, OpCreate2:
		return &CreateTxn{}, true
	case OpCreateContainer:
		return &CreateContainerTxn{}, true
	case OpCreateTTL:
		return &CreateTTLTxn{}, true
	case OpDelete, OpDeleteContainer:
		return &DeleteTxn{}, true
	case OpSetData:
		return &SetDataTxn{}, true
	case OpCheck:
		return &CheckVersionTxn{}, true
	case OpError:
		return &ErrorTxn{}, true
	}
	return nil, false
}

// Txn is a whole txn as carried by PROPOSAL/INFORM packets and txn-log
// entries: header, type-specific body and optional digest.
type Txn struct {
	Header TxnHeader
	// Body is the decoded body; nil only for a closeSession without a body.
	Body jute.Record
	// Digest is the trailing TxnDigest, nil when absent (error txns, 3.5
	// leaders, zookeeper.digest.enabled=false).
	Digest *TxnDigest
}

// Encode implements jute.Record.
func (t *Txn) Encode(e *jute.Encoder) {
	t.Header.Encode(e)
	if t.Body != nil {
		t.Body.Encode(e)
	}
	if t.Digest != nil {
		t.Digest.Encode(e)
	}
}

// Decode implements jute.Record. It consumes the rest of d's input: after the
// body exactly 0 or 12 (TxnDigest) bytes must remain.
func (t *Txn) Decode(d *jute.Decoder) error {
	t.Body, t.Digest = nil, nil
	if t.Header.Decode(d) != nil {
		return d.Err()
	}
	typ := t.Header.Type
	if typ == OpCloseSession {
		t.decodeCloseSession(d)
		return d.Err()
	}
	body, ok := newTxnBody(typ)
	if !ok {
		d.Fail(fmt.Errorf("%w: %d", ErrUnknownTxnType, int32(typ)))
		return d.Err()
	}
	if body.Decode(d) != nil {
		return d.Err()
	}
	t.Body = body
	t.decodeDigest(d)
	return d.Err()
}

func (t *Txn) decodeDigest(d *jute.Decoder) {
	switch d.Remaining() {
	case 0:
	case TxnDigestSize:
		t.Digest = &TxnDigest{}
		t.Digest.Decode(d)
	default:
		d.Fail(fmt.Errorf("%w: %d bytes", ErrBadDigestTrailer, d.Remaining()))
	}
}

// decodeCloseSession resolves the ambiguity of closeSession bodies: a 3.6+
// CloseSessionTxn, or nothing (3.5). The body is tried first; if it does
// not parse, or leaves neither 0 nor 12 bytes, the txn has no body.
func (t *Txn) decodeCloseSession(d *jute.Decoder) {
	rest := d.Rest()
	if d.Err() != nil {
		return
	}
	bd := jute.NewDecoder(rest, 0)
	cs := &CloseSessionTxn{}
	if cs.Decode(bd) == nil && (bd.Remaining() == 0 || bd.Remaining() == TxnDigestSize) {
		t.Body = cs
		rest = bd.Rest()
	}
	switch len(rest) {
	case 0:
	case TxnDigestSize:
		t.Digest = &TxnDigest{}
		t.Digest.Decode(jute.NewDecoder(rest, 0))
	default:
		d.Fail(fmt.Errorf("closeSession: %w: %d bytes", ErrBadDigestTrailer, len(rest)))
	}
}

// newTxnBody returns the body record for a top-level txn type: every type a
// multi may hold (a top-level check comes only from a raw client; it is
// decoded leniently and applies nothing), plus the types that never appear
// inside a multi.
func newTxnBody(t OpCode) (jute.Record, bool) {
	switch t {
	case OpReconfig:
		return &SetDataTxn{}, true
	case OpSetACL:
		return &SetACLTxn{}, true
	case OpMulti:
		return &MultiTxn{}, true
	case OpCreateSession:
		return &CreateSessionTxn{}, true
	}
	return newSubTxnBody(t)
}

// DecodeTxn decodes a whole txn from b (a PROPOSAL/INFORM payload or a log
// entry). maxLen bounds every buffer and string (0 means
// jute.DefaultMaxLength). Slices in the result alias b.
func DecodeTxn(b []byte, maxLen int) (*Txn, error) {
	// One allocation for the txn and its decoder (the decoder escapes
	// through the body's Decode; the txn keeps b alive anyway).
	x := &struct {
		txn Txn
		dec jute.Decoder
	}{dec: *jute.NewDecoder(b, maxLen)}
	t, d := &x.txn, &x.dec
	t.Decode(d)
	if err := d.Finish(); err != nil {
		return nil, fmt.Errorf("decode txn: %w", err)
	}
	return t, nil
}
