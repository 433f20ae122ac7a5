package proto

import (
	"fmt"

	"github.com/zkobserver/zkobserver/core/jute"
)

// MultiOp is one sub-op of a multi (14) or multiRead (22) request.
//
// Type is the type the client wrote in the sub-op's MultiHeader; Op is the
// matching record: *CreateRequest for 1, 15 and 19, *CreateTTLRequest for 21,
// *DeleteRequest for 2, *SetDataRequest for 5, *CheckVersionRequest for 13,
// *GetChildrenRequest for 8 and *GetDataRequest for 4. Create sub-ops are
// kept as written; re-typing them from their flags is the server's job.
type MultiOp struct {
	Type OpCode
	Op   jute.Record

	// hdrErr is the complement of the err field of the sub-op's header, so
	// that the zero value stands for -1, which every client writes. Java
	// ignores the field; it is kept only to re-encode what was read.
	hdrErr int32
}

// multiOpKind classifies a multi sub-op type: +1 write, -1 read, 0 invalid.
func multiOpKind(t OpCode) int {
	switch t {
	case OpCreate, OpCreate2, OpCreateContainer, OpCreateTTL, OpDelete, OpSetData, OpCheck:
		return 1
	case OpGetChildren, OpGetData:
		return -1
	}
	return 0
}

// newMultiOpRecord returns a fresh request record for a multi sub-op type:
// the request record of that op, for the ops a multi may carry.
func newMultiOpRecord(t OpCode) (jute.Record, bool) {
	switch t {
	case OpCreate, OpCreate2, OpCreateContainer, OpCreateTTL, OpDelete, OpSetData, OpCheck, OpGetChildren, OpGetData:
		return NewRequestRecord(t)
	}
	return nil, false
}

// MultiRequest is the body of multi (14) and multiRead (22):
//
//	repeat: MultiHeader{type, done=false, err=-1} + op record
//	end:    MultiHeader{-1, done=true, -1}
//
// Decode stops at the first header with done set (whatever its type and
// err, as Java does) and fails if the input ends before it (jute.ErrShort).
// A sub-op type outside the list in MultiOp is an error wrapping ErrMultiOp,
// and mixing read and write sub-ops one wrapping ErrMultiMixed; Java answers
// both with MARSHALLINGERROR. Whether the kind suits the opcode is checked
// by Validate (DecodeRequest does so).
//
// Java ignores the err field of sub-op headers and the type and err of the
// end marker; all clients write -1. Decode remembers other values (in
// unexported fields) so that Encode reproduces its input; a MultiRequest
// built in Go encodes -1 there.
type MultiRequest struct {
	Ops []MultiOp

	// endType and endErr are the complements of the end marker's type and
	// err (zero value = -1).
	endType, endErr int32
}

// IsRead reports whether m is a read multi (multiRead, 22): it has at least
// one sub-op and all are getChildren or getData. An empty multi is neither
// read nor write.
func (m *MultiRequest) IsRead() bool {
	if len(m.Ops) == 0 {
		return false
	}
	for _, op := range m.Ops {
		if multiOpKind(op.Type) != -1 {
			return false
		}
	}
	return true
}

// IsWrite reports whether m is a write multi (multi, 14): it has at least
// one sub-op and all are create, createTTL, delete, setData or check.
func (m *MultiRequest) IsWrite() bool {
	if len(m.Ops) == 0 {
		return false
	}
	for _, op := range m.Ops {
		if multiOpKind(op.Type) != 1 {
			return false
		}
	}
	return true
}

// Validate checks that m may be the body of request op: for multi (14) every
// sub-op must be a write, for multiRead (22) every sub-op a read; an empty
// list is valid for both. It returns an error wrapping ErrMultiOp for an
// invalid sub-op type, ErrMultiMixed for a sub-op of the wrong kind, and
// ErrUnknownOp if op is neither 14 nor 22.
func (m *MultiRequest) Validate(op OpCode) error {
	var want int
	switch op {
	case OpMulti:
		want = 1
	case OpMultiRead:
		want = -1
	default:
		return fmt.Errorf("%w: %v is not a multi opcode", ErrUnknownOp, op)
	}
	for i, o := range m.Ops {
		switch k := multiOpKind(o.Type); {
		case k == 0:
			return fmt.Errorf("%w: sub-op %d has type %v", ErrMultiOp, i, o.Type)
		case k != want:
			return fmt.Errorf("%w: sub-op %d (%v) in a %v request", ErrMultiMixed, i, o.Type, op)
		}
	}
	return nil
}

// Encode implements jute.Record. Each Op must be the record matching its
// Type (see MultiOp); a nil Op writes no record.
func (m *MultiRequest) Encode(e *jute.Encoder) {
	for i := range m.Ops {
		op := &m.Ops[i]
		h := MultiHeader{Type: op.Type, Done: false, Err: ErrCode(^op.hdrErr)}
		h.Encode(e)
		if op.Op != nil {
			op.Op.Encode(e)
		}
	}
	end := MultiHeader{Type: OpCode(^m.endType), Done: true, Err: ErrCode(^m.endErr)}
	end.Encode(e)
}

// Decode implements jute.Record.
func (m *MultiRequest) Decode(d *jute.Decoder) error {
	m.Ops, m.endType, m.endErr = nil, 0, 0
	kind := 0
	var ops []MultiOp
	for {
		var h MultiHeader
		if h.Decode(d) != nil {
			return d.Err()
		}
		if h.Done {
			m.endType, m.endErr = ^int32(h.Type), ^int32(h.Err)
			break
		}
		rec, ok := newMultiOpRecord(h.Type)
		if !ok {
			d.Fail(fmt.Errorf("%w: %v", ErrMultiOp, h.Type))
			return d.Err()
		}
		k := multiOpKind(h.Type)
		if kind != 0 && k != kind {
			d.Fail(fmt.Errorf("%w: %v after %s sub-ops", ErrMultiMixed, h.Type, kindName(kind)))
			return d.Err()
		}
		kind = k
		if rec.Decode(d) != nil {
			return d.Err()
		}
		ops = append(ops, MultiOp{Type: h.Type, Op: rec, hdrErr: ^int32(h.Err)})
	}
	m.Ops = ops
	return d.Err()
}

func kindName(k int) string {
	if k < 0 {
		return "read"
	}
	return "write"
}

// MultiResult is one entry of a multi response.
//
// Type selects the record that follows the entry's MultiHeader (A5.4):
// 1 *CreateResponse, 15 *Create2Response (also for createContainer and
// createTTL sub-ops), 2 and 13 none (Record nil), 5 *SetDataResponse,
// 8 *GetChildrenResponse, 4 *GetDataResponse, -1 *ErrorResponse. Err is the
// header's err: 0 for successes, the code for errors (see MultiErrorResult).
type MultiResult struct {
	Type   OpCode
	Err    ErrCode
	Record jute.Record
}

// MultiErrorResult returns the error entry for code: type -1, header err
// code, and an ErrorResponse carrying the same code. In a failed write
// multi, ops before the failing one get code 0, the failing op its code and
// later ops RUNTIMEINCONSISTENCY.
func MultiErrorResult(code ErrCode) MultiResult {
	return MultiResult{Type: OpError, Err: code, Record: &ErrorResponse{Err: code}}
}

// newMultiResultRecord returns a fresh record for a multi result type; rec
// is nil for types without a record.
func newMultiResultRecord(t OpCode) (rec jute.Record, ok bool) {
	switch t {
	case OpCreate:
		return new(CreateResponse), true
	case OpCreate2:
		return new(Create2Response), true
	case OpDelete, OpCheck:
		return nil, true
	case OpSetData:
		return new(SetDataResponse), true
	case OpGetChildren:
		return new(GetChildrenResponse), true
	case OpGetData:
		return new(GetDataResponse), true
	case OpError:
		return new(ErrorResponse), true
	}
	return nil, false
}

// MultiResponse is the reply body of multi and multiRead (the ReplyHeader
// err is always 0, even when the transaction failed):
//
//	repeat: MultiHeader{type, done=false, err} + result record
//	end:    MultiHeader{-1, done=true, -1}
//
// Decode stops at the first header with done set and fails if the input ends
// before it; a result type outside the list in MultiResult is an error
// wrapping ErrMultiOp. Encode always writes the end marker as {-1, true, -1}.
type MultiResponse struct {
	Results []MultiResult
}

// Encode implements jute.Record. Each Record must match its Type (see
// MultiResult); a nil Record writes nothing.
func (m *MultiResponse) Encode(e *jute.Encoder) {
	for i := range m.Results {
		r := &m.Results[i]
		h := MultiHeader{Type: r.Type, Done: false, Err: r.Err}
		h.Encode(e)
		if r.Record != nil {
			r.Record.Encode(e)
		}
	}
	end := MultiHeader{Type: OpError, Done: true, Err: ErrCode(-1)}
	end.Encode(e)
}

// Decode implements jute.Record.
func (m *MultiResponse) Decode(d *jute.Decoder) error {
	m.Results = nil
	var res []MultiResult
	for {
		var h MultiHeader
		if h.Decode(d) != nil {
			return d.Err()
		}
		if h.Done {
			break
		}
		rec, ok := newMultiResultRecord(h.Type)
		if !ok {
			d.Fail(fmt.Errorf("%w: result type %v", ErrMultiOp, h.Type))
			return d.Err()
		}
		if rec != nil && rec.Decode(d) != nil {
			return d.Err()
		}
		res = append(res, MultiResult{Type: h.Type, Err: h.Err, Record: rec})
	}
	m.Results = res
	return d.Err()
}
