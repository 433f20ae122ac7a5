package proto

import (
	"encoding/binary"
	"fmt"
	"io"

	"github.com/zkobserver/zkobserver/core/jute"
)

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
// whatever follows, and returns the number of bytes consumed. Strings are
// decoded as a Java server decodes them (jute.Decoder.SetJavaStrings).
func DecodeRequestPrefix(payload []byte, maxLen int) (h RequestHeader, body jute.Record, n int, err error) {
	d := jute.NewDecoder(payload, maxLen)
	d.SetJavaStrings(true) // a server sees what a Java server would
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
