package proto

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/zkobserver/zkobserver/core/jute"
)

// sameUpToBools reports whether out, the re-encoding of in, equals in except
// at bytes where in holds a boolean other than 0/1 (Java reads any non-zero
// byte as true; the encoder writes 1). So for inputs whose booleans are all
// 0 or 1 it demands byte equality.
func sameUpToBools(in, out []byte) bool {
	if len(in) != len(out) {
		return false
	}
	for i := range in {
		if in[i] != out[i] && !(out[i] == 1 && in[i] > 1) {
			return false
		}
	}
	return true
}

// clientFuzzMaxLen keeps the length limit small so that the fuzzer meets it.
const clientFuzzMaxLen = 1 << 12

func FuzzDecodeRequest(f *testing.F) {
	for _, c := range clientRequestCases() {
		f.Add(clientEncodeRequest(c.h, c.body))
	}
	f.Add(clientEncodeRequest(RequestHeader{1, OpMulti}, &MultiRequest{Ops: append(ctWriteOps(), ctReadOps()...)}))
	f.Add(clientEncodeRequest(RequestHeader{1, OpMultiRead}, &MultiRequest{}))
	f.Add(clientEncodeRequest(RequestHeader{1, OpDeleteContainer}, &SyncRequest{Path: "/a"}))
	f.Add(jute.Marshal(&ConnectRequest{TimeOut: 30000, Passwd: make([]byte, 16), HasReadOnly: true}))
	f.Add([]byte{})

	f.Fuzz(func(t *testing.T, in []byte) {
		h, body, err := DecodeRequest(in, clientFuzzMaxLen)
		ph, pbody, n, perr := DecodeRequestPrefix(in, clientFuzzMaxLen)

		// The strict and the lenient decoder agree on everything but
		// trailing bytes.
		if err != nil && body != nil {
			t.Fatalf("body returned with error %v", err)
		}
		if perr != nil {
			if err == nil || pbody != nil {
				t.Fatalf("DecodeRequest err %v body %T, DecodeRequestPrefix err %v body %T", err, body, perr, pbody)
			}
			return
		}
		switch {
		case n < len(in):
			if !errors.Is(err, jute.ErrTrailing) {
				t.Fatalf("%d trailing bytes: DecodeRequest err %v", len(in)-n, err)
			}
		case n == len(in):
			if err != nil || h != ph || !reflect.DeepEqual(body, pbody) {
				t.Fatalf("strict and prefix decoders disagree: %v", err)
			}
		default:
			t.Fatalf("consumed %d of %d bytes", n, len(in))
		}
		if !IsRequestOp(ph.Type) {
			t.Fatalf("decoded op %v that IsRequestOp rejects", ph.Type)
		}
		if _, ok := NewRequestRecord(ph.Type); ok != (pbody != nil) {
			t.Fatalf("op %v: body %T but NewRequestRecord ok=%v", ph.Type, pbody, ok)
		}

		// Re-encoding gives the consumed bytes (up to boolean
		// normalisation), and decodes again to an equal value.
		re := clientEncodeRequest(ph, pbody)
		if !sameUpToBools(in[:n], re) {
			t.Fatalf("re-encoding differs:\n  in %x\n out %x", in[:n], re)
		}
		h2, body2, err := DecodeRequest(re, clientFuzzMaxLen)
		if err != nil {
			t.Fatalf("re-encoding %x does not decode: %v", re, err)
		}
		if h2 != ph || !reflect.DeepEqual(body2, pbody) {
			t.Fatalf("second decode differs:\n got %#v\nwant %#v", body2, pbody)
		}
		if re2 := clientEncodeRequest(h2, body2); !bytes.Equal(re2, re) {
			t.Fatalf("encoding is not stable:\n %x\n %x", re, re2)
		}
	})
}

func FuzzDecodeConnectRequest(f *testing.F) {
	f.Add(jute.Marshal(&ConnectRequest{TimeOut: 30000, Passwd: make([]byte, 16), HasReadOnly: true}))
	f.Add(jute.Marshal(&ConnectRequest{TimeOut: 30000, Passwd: make([]byte, 16)}))
	f.Add(jute.Marshal(&ConnectRequest{LastZxidSeen: 0x10000002a, TimeOut: 4000, SessionID: 0x0100000a142f0000,
		Passwd: ctPasswd, ReadOnly: true, HasReadOnly: true}))
	f.Add(append(jute.Marshal(&ConnectRequest{Passwd: []byte{}, HasReadOnly: true}), 1, 2, 3))
	f.Add(jute.Marshal(&ConnectRequest{}))

	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := DecodeConnectRequest(in, clientFuzzMaxLen)
		if err != nil {
			if r != nil {
				t.Fatalf("record returned with error %v", err)
			}
			return
		}
		re := jute.Marshal(r)
		// Bytes after the optional readOnly flag are ignored.
		if len(re) > len(in) || (len(re) < len(in) && !r.HasReadOnly) {
			t.Fatalf("re-encoding is %d bytes for %d input bytes (HasReadOnly %v)", len(re), len(in), r.HasReadOnly)
		}
		if !sameUpToBools(in[:len(re)], re) {
			t.Fatalf("re-encoding differs:\n  in %x\n out %x", in, re)
		}
		r2, err := DecodeConnectRequest(re, clientFuzzMaxLen)
		if err != nil {
			t.Fatalf("re-encoding %x does not decode: %v", re, err)
		}
		if !reflect.DeepEqual(r2, r) {
			t.Fatalf("second decode differs:\n got %#v\nwant %#v", r2, r)
		}
	})
}
