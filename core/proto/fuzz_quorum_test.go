package proto

import (
	"bufio"
	"bytes"
	"reflect"
	"testing"

	"github.com/zkobserver/zkobserver/core/jute"
)

// FuzzDecodeTxn: the txn decoder never panics, and whatever it accepts
// re-encodes to a txn that decodes to the same value. Inputs whose booleans
// are canonical (0/1) re-encode to the identical bytes.
func FuzzDecodeTxn(f *testing.F) {
	for _, c := range txnCases() {
		f.Add(jute.Marshal(c))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		txn, err := DecodeTxn(b, 1<<16)
		if err != nil {
			return
		}
		re := jute.Marshal(txn)
		again, err := DecodeTxn(re, 1<<16)
		if err != nil {
			t.Fatalf("re-encoded txn does not decode: %v\n%x", err, re)
		}
		if !reflect.DeepEqual(txn, again) {
			t.Fatalf("round trip changed the txn:\n%#v\n%#v", txn, again)
		}
		if len(re) > len(b) {
			t.Fatalf("re-encoding grew from %d to %d bytes", len(b), len(re))
		}
	})
}

// FuzzReadQuorumPacket: the streaming packet reader never panics, agrees with
// the byte-slice decoder, and its packets re-encode to the bytes they came
// from (booleans do not occur in QuorumPacket).
func FuzzReadQuorumPacket(f *testing.F) {
	seeds := []QuorumPacket{
		{Type: PacketObserverInfo, Data: jute.Marshal(&LearnerInfo{ServerID: 10, ProtocolVersion: ProtocolVersion})},
		{Type: PacketUpToDate, Zxid: -1},
		{Type: PacketPing, Zxid: 5, Data: []byte{}},
		{Type: PacketRequest, Zxid: -1, Data: []byte{1, 2, 3}, AuthInfo: []Id{{Scheme: "ip", ID: "127.0.0.1"}, {NullScheme: true, NullID: true}}},
		{Type: PacketInform, Zxid: 0x100000006, Data: jute.Marshal(txnCases()["create"])},
	}
	for i := range seeds {
		f.Add(jute.Marshal(&seeds[i]))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		pr := NewPacketReader(bufio.NewReader(bytes.NewReader(b)), 1<<16)
		p, err := pr.Read()
		if err != nil {
			return
		}
		re := jute.Marshal(p)
		if !bytes.Equal(re, b[:len(re)]) {
			t.Fatalf("re-encoding differs:\n%x\n%x", re, b)
		}
		var q QuorumPacket
		d := jute.NewDecoder(b[:len(re)], 1<<16)
		if err := q.Decode(d); err != nil {
			t.Fatalf("slice decoder refused what the stream reader accepted: %v", err)
		}
		if !reflect.DeepEqual(&q, p) {
			t.Fatalf("decoders disagree:\n%#v\n%#v", q, p)
		}
	})
}
