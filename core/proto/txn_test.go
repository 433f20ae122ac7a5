package proto

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/zkobserver/zkobserver/core/jute"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	s = strings.NewReplacer(" ", "", "\n", "", "|", "").Replace(s)
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func encTxn(t *Txn) []byte { return jute.Marshal(t) }

// txnCases are txns of every type, with and without digests, null and empty
// data; each must survive decode -> encode byte for byte.
func txnCases() map[string]*Txn {
	hdr := func(typ OpCode) TxnHeader {
		return TxnHeader{ClientID: 0x100000c114f0002, Cxid: 7, Zxid: 0x100000006, Time: 1795611918667, Type: typ}
	}
	dg := &TxnDigest{Version: 2, TreeDigest: 9442232621}
	acl := []ACL{{Perms: 31, ID: Id{Scheme: "world", ID: "anyone"}}}
	return map[string]*Txn{
		"createSession": {Header: hdr(OpCreateSession), Body: &CreateSessionTxn{TimeOut: 10000}, Digest: dg},
		"create":        {Header: hdr(OpCreate), Body: &CreateTxn{Path: "/a", Data: []byte("hello"), ACL: acl, ParentCVersion: 1}, Digest: dg},
		"create-null":   {Header: hdr(OpCreate), Body: &CreateTxn{Path: "/a", ACL: acl, Ephemeral: true, ParentCVersion: 2}, Digest: dg},
		"create-empty":  {Header: hdr(OpCreate2), Body: &CreateTxn{Path: "/a", Data: []byte{}, ACL: []ACL{}, ParentCVersion: 2}},
		"create-v0":     {Header: hdr(OpCreate), Body: &CreateTxn{Path: "/old", Data: []byte("x"), ACL: acl, V0: true, ParentCVersion: -1}},
		"container":     {Header: hdr(OpCreateContainer), Body: &CreateContainerTxn{Path: "/c", ACL: acl, ParentCVersion: 3}, Digest: dg},
		"ttl":           {Header: hdr(OpCreateTTL), Body: &CreateTTLTxn{Path: "/t", Data: []byte{1}, ACL: acl, ParentCVersion: 4, TTL: 123456}, Digest: dg},
		"delete":        {Header: hdr(OpDelete), Body: &DeleteTxn{Path: "/a"}, Digest: dg},
		"deleteCont":    {Header: hdr(OpDeleteContainer), Body: &DeleteTxn{Path: "/c"}},
		"setData":       {Header: hdr(OpSetData), Body: &SetDataTxn{Path: "/a", Data: []byte("v2"), Version: 1}, Digest: dg},
		"reconfig":      {Header: hdr(OpReconfig), Body: &SetDataTxn{Path: "/zookeeper/config", Data: []byte("server.1=x\nversion=1"), Version: -1}, Digest: dg},
		"setACL":        {Header: hdr(OpSetACL), Body: &SetACLTxn{Path: "/a", ACL: []ACL{{Perms: 1, ID: Id{Scheme: "digest", ID: "u:p"}}}, Version: 1}, Digest: dg},
		"check":         {Header: hdr(OpCheck), Body: &CheckVersionTxn{Path: "/a", Version: 3}},
		"error":         {Header: hdr(OpError), Body: &ErrorTxn{Err: ErrNodeExists}},
		"close-paths":   {Header: hdr(OpCloseSession), Body: &CloseSessionTxn{Paths2Delete: []string{"/e1", "/e2"}}, Digest: dg},
		"close-empty":   {Header: hdr(OpCloseSession), Body: &CloseSessionTxn{Paths2Delete: []string{}}, Digest: dg},
		"close-3.5":     {Header: hdr(OpCloseSession)},
		"close-3.5-dg":  {Header: hdr(OpCloseSession), Digest: dg},
		"multi-ok": {Header: hdr(OpMulti), Body: &MultiTxn{Txns: []SubTxn{
			{Type: OpCreate, Body: &CreateTxn{Path: "/m", Data: []byte("d"), ACL: acl, ParentCVersion: 5}},
			{Type: OpSetData, Body: &SetDataTxn{Path: "/m", Data: nil, Version: 1}},
			{Type: OpCheck, Body: &CheckVersionTxn{Path: "/m", Version: 1}},
			{Type: OpDelete, Body: &DeleteTxn{Path: "/m"}},
			{Type: OpCreateContainer, Body: &CreateContainerTxn{Path: "/mc", ACL: acl, ParentCVersion: 6}},
			{Type: OpCreateTTL, Body: &CreateTTLTxn{Path: "/mt", ACL: acl, ParentCVersion: 7, TTL: 5}},
		}}, Digest: dg},
		"multi-failed": {Header: hdr(OpMulti), Body: &MultiTxn{Txns: []SubTxn{
			{Type: OpCreate, Body: &CreateTxn{Path: "/m1", ACL: acl, ParentCVersion: 5}},
			{Type: OpError, Body: &ErrorTxn{Err: ErrNoNode}},
			{Type: OpError, Body: &ErrorTxn{Err: ErrRuntimeInconsistency}},
		}}, Digest: dg},
		"multi-empty": {Header: hdr(OpMulti), Body: &MultiTxn{Txns: []SubTxn{}}, Digest: dg},
	}
}

func TestTxnRoundTrip(t *testing.T) {
	for name, want := range txnCases() {
		t.Run(name, func(t *testing.T) {
			b := encTxn(want)
			got, err := DecodeTxn(b, 0)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("decoded\n %#v\nwant\n %#v", got, want)
			}
			if re := encTxn(got); !bytes.Equal(re, b) {
				t.Fatalf("re-encoding differs:\n%x\n%x", re, b)
			}
			// Every proper prefix is an error (or, for bodies that may be
			// absent or shortened legitimately, a different valid txn), and
			// never a panic.
			for i := 0; i < len(b); i++ {
				got, err := DecodeTxn(b[:i], 0)
				if err == nil && reflect.DeepEqual(got, want) {
					t.Fatalf("prefix of %d/%d bytes decoded to the whole txn", i, len(b))
				}
			}
		})
	}
}

// TestTxnLiveVectors checks byte layouts recorded from a live 3.8 leader.
func TestTxnLiveVectors(t *testing.T) {
	// INFORM payload of a createSession (quorum spec 6.2).
	inform := unhex(t, "0100000c114f0002"+"00000000"+"0000000100000006"+"000001a212cf814b"+"fffffff6"+"00002710"+"00000002"+"0000000232cd092d")
	txn, err := DecodeTxn(inform, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := &Txn{
		Header: TxnHeader{ClientID: 0x100000c114f0002, Zxid: 0x100000006, Time: 1795611918667, Type: OpCreateSession},
		Body:   &CreateSessionTxn{TimeOut: 10000},
		Digest: &TxnDigest{Version: 2, TreeDigest: 9442232621},
	}
	if !reflect.DeepEqual(txn, want) {
		t.Fatalf("got %#v", txn)
	}
	// First entry of a fresh txn log (files spec B2.1): L = 48.
	entry := unhex(t, "0100000cba3c0000 00000000 0000000000000001 000001a212cf463b fffffff6 00007530 00000002 0000000051c6d660")
	if len(entry) != 48 {
		t.Fatalf("entry length %d", len(entry))
	}
	txn, err = DecodeTxn(entry, 0)
	if err != nil {
		t.Fatal(err)
	}
	if txn.Header.Zxid != 1 || txn.Body.(*CreateSessionTxn).TimeOut != 30000 || txn.Digest.TreeDigest != 1371985504 {
		t.Fatalf("got %#v", txn)
	}
}

func TestTxnErrors(t *testing.T) {
	hdr := func(typ int32) string {
		e := jute.NewEncoder(nil)
		(&TxnHeader{ClientID: 1, Zxid: 2, Type: OpCode(typ)}).Encode(e)
		return hex.EncodeToString(e.Bytes())
	}
	cases := []struct {
		name string
		hex  string
		want error
	}{
		{"unknown type", hdr(55), ErrUnknownTxnType},
		{"digest trailer of 5 bytes", hdr(-10) + "00002710" + "0102030405", ErrBadDigestTrailer},
		{"close trailer of 3 bytes", hdr(-11) + "010203", ErrBadDigestTrailer},
		{"short header", hdr(-10)[:40], jute.ErrShort},
		{"null path", hdr(2) + "ffffffff", jute.ErrNullString},
		{"huge path", hdr(2) + "7fffffff", jute.ErrTooLarge},
		{"negative data length", hdr(5) + "00000001" + "2f" + "fffffffe", jute.ErrBadLength},
		{"huge acl count", hdr(7) + "00000001" + "2f" + "10000000", jute.ErrTooLarge},
		{"unknown sub-txn", hdr(14) + "00000001" + "00000063" + "00000000", ErrUnknownTxnType},
		{"sub-txn trailing", hdr(14) + "00000001" + "00000002" + "00000006" + "000000012f" + "00", jute.ErrTrailing},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := DecodeTxn(unhex(t, c.hex), 0)
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
}

func TestCloseSessionDisambiguation(t *testing.T) {
	// A 3.5 closeSession followed by a digest whose first int is 2 must not
	// be read as a CloseSessionTxn with two paths.
	e := jute.NewEncoder(nil)
	(&TxnHeader{ClientID: 9, Zxid: 3, Type: OpCloseSession}).Encode(e)
	(&TxnDigest{Version: 2, TreeDigest: 77}).Encode(e)
	txn, err := DecodeTxn(e.Bytes(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if txn.Body != nil || txn.Digest == nil || txn.Digest.TreeDigest != 77 {
		t.Fatalf("got body %#v digest %#v", txn.Body, txn.Digest)
	}
}

func TestQuorumPacketVectors(t *testing.T) {
	cases := []struct {
		name string
		hex  string
		want QuorumPacket
	}{
		{"OBSERVERINFO", "00000010 0000000000000000 00000014 000000000000000a 00010000 0000000000000000 ffffffff",
			QuorumPacket{Type: PacketObserverInfo, Data: unhex(t, "000000000000000a000100000000000000000000")}},
		{"LEADERINFO", "00000011 0000000100000000 00000004 00010000 ffffffff",
			QuorumPacket{Type: PacketLeaderInfo, Zxid: 0x100000000, Data: unhex(t, "00010000")}},
		{"ACKEPOCH", "00000012 0000000000000000 00000004 00000000 ffffffff",
			QuorumPacket{Type: PacketAckEpoch, Data: []byte{0, 0, 0, 0}}},
		{"UPTODATE", "0000000c ffffffffffffffff ffffffff ffffffff",
			QuorumPacket{Type: PacketUpToDate, Zxid: -1}},
		{"PING reply empty touches", "00000005 0000000100000003 00000000 ffffffff",
			QuorumPacket{Type: PacketPing, Zxid: 0x100000003, Data: []byte{}}},
		{"REQUEST create /obs", "00000001 ffffffffffffffff 0000003d 0aa212d095740000 00000001 00000001 00000004 2f6f6273 00000002 6869 00000001 0000001f 00000005 776f726c64 00000006 616e796f6e65 00000000 00000001 00000002 6970 00000009 3132372e302e302e31",
			QuorumPacket{Type: PacketRequest, Zxid: -1,
				Data:     unhex(t, "0aa212d095740000 00000001 00000001 00000004 2f6f6273 00000002 6869 00000001 0000001f 00000005 776f726c64 00000006 616e796f6e65 00000000"),
				AuthInfo: []Id{{Scheme: "ip", ID: "127.0.0.1"}}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := unhex(t, c.hex)
			if enc := jute.Marshal(&c.want); !bytes.Equal(enc, b) {
				t.Fatalf("encode:\n%x\nwant\n%x", enc, b)
			}
			var got QuorumPacket
			if err := jute.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("decode: %#v", got)
			}
			// Streaming: two packets back to back, then a clean EOF.
			pr := NewPacketReader(bufio.NewReader(bytes.NewReader(append(append([]byte{}, b...), b...))), 0)
			for i := 0; i < 2; i++ {
				p, err := pr.Read()
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(*p, c.want) {
					t.Fatalf("stream decode: %#v", p)
				}
			}
			if _, err := pr.Read(); err != io.EOF {
				t.Fatalf("want io.EOF at end, got %v", err)
			}
			// A stream cut anywhere inside a packet is ErrUnexpectedEOF.
			for i := 1; i < len(b); i++ {
				pr := NewPacketReader(bufio.NewReader(bytes.NewReader(b[:i])), 0)
				if _, err := pr.Read(); !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("cut at %d: got %v", i, err)
				}
			}
		})
	}
	var li LearnerInfo
	if err := jute.Unmarshal(unhex(t, "000000000000000a 00010000 0000000000000000"), &li); err != nil || li != (LearnerInfo{ServerID: 10, ProtocolVersion: ProtocolVersion}) {
		t.Fatalf("LearnerInfo %#v %v", li, err)
	}
}

func TestPacketReaderLimits(t *testing.T) {
	cases := []struct {
		name string
		hex  string
		want error
	}{
		{"data over limit", "00000008 0000000000000001 00200000", jute.ErrTooLarge},
		{"negative data", "00000008 0000000000000001 fffffff0", jute.ErrBadLength},
		{"too many auth", "00000001 ffffffffffffffff ffffffff 7fffffff", ErrTooManyAuth},
		{"auth string over limit", "00000001 ffffffffffffffff ffffffff 00000001 7ffffff0", jute.ErrTooLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pr := NewPacketReader(bufio.NewReader(bytes.NewReader(unhex(t, c.hex))), 1<<20)
			if _, err := pr.Read(); !errors.Is(err, c.want) {
				t.Fatalf("got %v want %v", err, c.want)
			}
			var p QuorumPacket
			if err := jute.Unmarshal(unhex(t, c.hex), &p); err == nil {
				t.Fatal("Unmarshal accepted it")
			}
		})
	}
}

func TestZxid(t *testing.T) {
	z := MakeZxid(3, 0x1234)
	if z != 0x300001234 || ZxidEpoch(z) != 3 || ZxidCounter(z) != 0x1234 {
		t.Fatalf("zxid %x", z)
	}
	if ZxidEpoch(-1) != 0xffffffff {
		t.Fatal("epoch of -1")
	}
}
