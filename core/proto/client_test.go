package proto

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/zkobserver/zkobserver/core/jute"
)

// clientHex decodes hex written with spaces, newlines and '|' separators.
func clientHex(t testing.TB, s string) []byte {
	t.Helper()
	s = strings.NewReplacer(" ", "", "\n", "", "\t", "", "|", "").Replace(s)
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// freshRecord returns a new zero record of the same type as r.
func freshRecord(r jute.Record) jute.Record {
	return reflect.New(reflect.TypeOf(r).Elem()).Interface().(jute.Record)
}

// clientEncodeRequest returns the payload of a request frame.
func clientEncodeRequest(h RequestHeader, body jute.Record) []byte {
	e := jute.NewEncoder(nil)
	h.Encode(e)
	if body != nil {
		body.Encode(e)
	}
	return e.Bytes()
}

var (
	ctStat = Stat{
		Czxid: 0x100000002, Mzxid: 0x100000005, Ctime: 1700000000123, Mtime: 1700000000456,
		Version: 3, Cversion: -2, Aversion: 1, EphemeralOwner: 0x0100000a142f0000,
		DataLength: 5, NumChildren: 2, Pzxid: 0x100000004,
	}
	ctACLs = []ACL{
		{Perms: PermAll, ID: WorldAnyone},
		{Perms: PermRead, ID: Id{Scheme: "digest", ID: "u:pw"}},
		{Perms: PermAdmin, ID: Id{NullScheme: true, NullID: true}},
	}
	ctPasswd = []byte{0xa3, 0x92, 0x11, 0xf4, 0xf4, 0x12, 0x13, 0x0a, 0xb9, 0x15, 0x17, 0x26, 0x5d, 0xbe, 0x86, 0xff}
)

type clientCase struct {
	name string
	rec  jute.Record
}

// clientRecordCases are records of every type, with null, empty and
// non-empty buffers, strings and vectors. Each must survive
// encode -> decode -> encode unchanged (reflect.DeepEqual and byte for byte).
func clientRecordCases() []clientCase {
	return []clientCase{
		{"ConnectRequest/new45", &ConnectRequest{TimeOut: 30000, Passwd: make([]byte, 16), HasReadOnly: true}},
		{"ConnectRequest/old44", &ConnectRequest{LastZxidSeen: 0x2a, TimeOut: 4000, SessionID: 0x0100000a142f0000, Passwd: ctPasswd}},
		{"ConnectRequest/ro-nullpw", &ConnectRequest{ProtocolVersion: 7, ReadOnly: true, HasReadOnly: true}},
		{"ConnectRequest/emptypw", &ConnectRequest{Passwd: []byte{}}},
		{"ConnectResponse/ro", &ConnectResponse{TimeOut: 30000, SessionID: 0x0100000a142f0000, Passwd: ctPasswd, ReadOnly: true, HasReadOnly: true}},
		{"ConnectResponse/old", &ConnectResponse{TimeOut: 30000, SessionID: 0x0100000a142f0000, Passwd: ctPasswd}},
		{"ConnectResponse/nullpw", &ConnectResponse{HasReadOnly: true}},
		{"RequestHeader", &RequestHeader{Xid: -8, Type: OpSetWatches2}},
		{"ReplyHeader", &ReplyHeader{Xid: 7, Zxid: 0x100000009, Err: ErrNoNode}},
		{"WatcherEvent", &WatcherEvent{Type: EventNodeDeleted, State: StateSyncConnected, Path: "/eph"}},
		{"WatcherEvent/empty", &WatcherEvent{Type: -1, State: -112}},
		{"MultiHeader", &MultiHeader{Type: OpError, Done: true, Err: -1}},
		{"CreateRequest/null", &CreateRequest{Path: "/a", Flags: 3}},
		{"CreateRequest/empty", &CreateRequest{Path: "/a", Data: []byte{}, ACL: []ACL{}}},
		{"CreateRequest/full", &CreateRequest{Path: "/a/b", Data: []byte("hello"), ACL: ctACLs, Flags: 4}},
		{"CreateTTLRequest/null", &CreateTTLRequest{Path: "/t", Flags: 5, TTL: 1000}},
		{"CreateTTLRequest/full", &CreateTTLRequest{Path: "/t", Data: []byte{0}, ACL: ctACLs[:1], Flags: 6, TTL: 0xffffffffff}},
		{"CreateResponse", &CreateResponse{Path: "/a0000000001"}},
		{"Create2Response", &Create2Response{Path: "/b", Stat: ctStat}},
		{"DeleteRequest", &DeleteRequest{Path: "/a", Version: -1}},
		{"ExistsRequest", &ExistsRequest{Path: "/a", Watch: true}},
		{"ExistsRequest/nowatch", &ExistsRequest{Path: "/"}},
		{"ExistsResponse", &ExistsResponse{Stat: ctStat}},
		{"GetDataRequest", &GetDataRequest{Path: "/a", Watch: true}},
		{"GetDataResponse/null", &GetDataResponse{Stat: ctStat}},
		{"GetDataResponse/empty", &GetDataResponse{Data: []byte{}}},
		{"GetDataResponse/data", &GetDataResponse{Data: []byte("hello"), Stat: ctStat}},
		{"SetDataRequest/null", &SetDataRequest{Path: "/a", Version: 2}},
		{"SetDataRequest/empty", &SetDataRequest{Path: "/a", Data: []byte{}, Version: -1}},
		{"SetDataRequest/data", &SetDataRequest{Path: "/a", Data: []byte("x"), Version: -1}},
		{"SetDataResponse", &SetDataResponse{Stat: ctStat}},
		{"GetACLRequest", &GetACLRequest{Path: "/a"}},
		{"GetACLResponse/empty", &GetACLResponse{ACL: []ACL{}, Stat: ctStat}},
		{"GetACLResponse/full", &GetACLResponse{ACL: ctACLs, Stat: ctStat}},
		{"SetACLRequest/null", &SetACLRequest{Path: "/a", Version: 1}},
		{"SetACLRequest/empty", &SetACLRequest{Path: "/a", ACL: []ACL{}}},
		{"SetACLRequest/full", &SetACLRequest{Path: "/a", ACL: ctACLs, Version: -1}},
		{"SetACLResponse", &SetACLResponse{Stat: ctStat}},
		{"GetChildrenRequest", &GetChildrenRequest{Path: "/a", Watch: true}},
		{"GetChildrenResponse/empty", &GetChildrenResponse{Children: []string{}}},
		{"GetChildrenResponse/full", &GetChildrenResponse{Children: []string{"x", "", "zookeeper"}}},
		{"GetChildren2Request", &GetChildren2Request{Path: "/a"}},
		{"GetChildren2Response/empty", &GetChildren2Response{Children: []string{}, Stat: ctStat}},
		{"GetChildren2Response/full", &GetChildren2Response{Children: []string{"c1", "c2"}, Stat: ctStat}},
		{"SyncRequest", &SyncRequest{Path: "/a"}},
		{"SyncResponse", &SyncResponse{Path: "/a"}},
		{"CheckVersionRequest", &CheckVersionRequest{Path: "/a", Version: 4}},
		{"ReconfigRequest/null", &ReconfigRequest{NullJoiningServers: true, NullLeavingServers: true, NullNewMembers: true, CurConfigID: -1}},
		{"ReconfigRequest/empty", &ReconfigRequest{}},
		{"ReconfigRequest/full", &ReconfigRequest{JoiningServers: "server.4=h:2888:3888;2181", NullLeavingServers: true, NewMembers: "", CurConfigID: 0x100000000}},
		{"CheckWatchesRequest", &CheckWatchesRequest{Path: "/a", Type: WatcherTypeData}},
		{"RemoveWatchesRequest", &RemoveWatchesRequest{Path: "/a", Type: WatcherTypeAny}},
		{"AddWatchRequest", &AddWatchRequest{Path: "/a", Mode: AddWatchModePersistentRecursive}},
		{"ErrorResponse", &ErrorResponse{Err: ErrRuntimeInconsistency}},
		{"GetEphemeralsRequest", &GetEphemeralsRequest{PrefixPath: "/"}},
		{"GetEphemeralsResponse/empty", &GetEphemeralsResponse{Ephemerals: []string{}}},
		{"GetEphemeralsResponse/full", &GetEphemeralsResponse{Ephemerals: []string{"/e1", "/a/e2"}}},
		{"GetAllChildrenNumberRequest", &GetAllChildrenNumberRequest{Path: "/a"}},
		{"GetAllChildrenNumberResponse", &GetAllChildrenNumberResponse{TotalNumber: 42}},
		{"ClientInfo", &ClientInfo{AuthScheme: "ip", User: "127.0.0.1"}},
		{"WhoAmIResponse/empty", &WhoAmIResponse{ClientInfo: []ClientInfo{}}},
		{"WhoAmIResponse/full", &WhoAmIResponse{ClientInfo: []ClientInfo{{"ip", "127.0.0.1"}, {"digest", "u"}, {"", ""}}}},
		{"AuthPacket/null", &AuthPacket{Scheme: "digest"}},
		{"AuthPacket/empty", &AuthPacket{Scheme: "digest", Auth: []byte{}}},
		{"AuthPacket/full", &AuthPacket{Type: 0, Scheme: "digest", Auth: []byte("u:pw")}},
		{"GetSASLRequest/null", &GetSASLRequest{}},
		{"GetSASLRequest/empty", &GetSASLRequest{Token: []byte{}}},
		{"GetSASLRequest/full", &GetSASLRequest{Token: []byte{1, 2, 3}}},
		{"SetSASLResponse/null", &SetSASLResponse{}},
		{"SetSASLResponse/full", &SetSASLResponse{Token: []byte{9}}},
		{"SetWatches/null", &SetWatches{RelativeZxid: 5}},
		{"SetWatches/empty", &SetWatches{DataWatches: []string{}, ExistWatches: []string{}, ChildWatches: []string{}}},
		{"SetWatches/full", &SetWatches{RelativeZxid: 0x100000003, DataWatches: []string{"/a", "/b"}, ChildWatches: []string{"/"}}},
		{"SetWatches2/null", &SetWatches2{RelativeZxid: -1}},
		{"SetWatches2/full", &SetWatches2{RelativeZxid: 1, DataWatches: []string{"/d"}, ExistWatches: []string{},
			ChildWatches: []string{"/c"}, PersistentWatches: []string{"/p"}, PersistentRecursiveWatches: []string{"/r", "/s"}}},
		{"MultiRequest/write", &MultiRequest{Ops: ctWriteOps()}},
		{"MultiRequest/read", &MultiRequest{Ops: ctReadOps()}},
		{"MultiRequest/empty", &MultiRequest{}},
		{"MultiResponse/ok", &MultiResponse{Results: []MultiResult{
			{Type: OpCreate, Record: &CreateResponse{Path: "/m1"}},
			{Type: OpCreate2, Record: &Create2Response{Path: "/m2", Stat: ctStat}},
			{Type: OpDelete},
			{Type: OpSetData, Record: &SetDataResponse{Stat: ctStat}},
			{Type: OpCheck},
		}}},
		{"MultiResponse/read", &MultiResponse{Results: []MultiResult{
			{Type: OpGetChildren, Record: &GetChildrenResponse{Children: []string{"a"}}},
			{Type: OpGetData, Record: &GetDataResponse{Stat: ctStat}},
			MultiErrorResult(ErrNoNode),
		}}},
		{"MultiResponse/empty", &MultiResponse{}},
	}
}

func ctWriteOps() []MultiOp {
	return []MultiOp{
		{Type: OpCreate, Op: &CreateRequest{Path: "/m1", ACL: OpenACLUnsafe}},
		{Type: OpCreate2, Op: &CreateRequest{Path: "/m2", Data: []byte{}, ACL: OpenACLUnsafe, Flags: 1}},
		{Type: OpCreateContainer, Op: &CreateRequest{Path: "/m3", ACL: OpenACLUnsafe, Flags: 4}},
		{Type: OpCreateTTL, Op: &CreateTTLRequest{Path: "/m4", ACL: OpenACLUnsafe, Flags: 5, TTL: 100}},
		{Type: OpDelete, Op: &DeleteRequest{Path: "/x", Version: -1}},
		{Type: OpSetData, Op: &SetDataRequest{Path: "/y", Data: []byte("d"), Version: 3}},
		{Type: OpCheck, Op: &CheckVersionRequest{Path: "/z", Version: 0}},
	}
}

func ctReadOps() []MultiOp {
	return []MultiOp{
		{Type: OpGetChildren, Op: &GetChildrenRequest{Path: "/"}},
		{Type: OpGetData, Op: &GetDataRequest{Path: "/a"}},
	}
}

// clientRequestCase is a request frame payload of one opcode.
type clientRequestCase struct {
	name string
	h    RequestHeader
	body jute.Record // nil for header-only requests
}

// clientRequestCases covers every opcode DecodeRequest accepts.
func clientRequestCases() []clientRequestCase {
	return []clientRequestCase{
		{"create", RequestHeader{1, OpCreate}, &CreateRequest{Path: "/a", ACL: OpenACLUnsafe}},
		{"create/empty", RequestHeader{1, OpCreate}, &CreateRequest{Path: "/a", Data: []byte{}, ACL: []ACL{}}},
		{"delete", RequestHeader{2, OpDelete}, &DeleteRequest{Path: "/a", Version: -1}},
		{"exists", RequestHeader{3, OpExists}, &ExistsRequest{Path: "/a", Watch: true}},
		{"getData", RequestHeader{4, OpGetData}, &GetDataRequest{Path: "/a", Watch: true}},
		{"setData", RequestHeader{5, OpSetData}, &SetDataRequest{Path: "/a", Data: []byte("v"), Version: -1}},
		{"getACL", RequestHeader{6, OpGetACL}, &GetACLRequest{Path: "/a"}},
		{"setACL", RequestHeader{7, OpSetACL}, &SetACLRequest{Path: "/a", ACL: ctACLs, Version: 0}},
		{"getChildren", RequestHeader{8, OpGetChildren}, &GetChildrenRequest{Path: "/a"}},
		{"sync", RequestHeader{9, OpSync}, &SyncRequest{Path: "/a"}},
		{"ping", RequestHeader{XidPing, OpPing}, nil},
		{"getChildren2", RequestHeader{10, OpGetChildren2}, &GetChildren2Request{Path: "/a", Watch: true}},
		{"check", RequestHeader{11, OpCheck}, &CheckVersionRequest{Path: "/a", Version: 1}},
		{"multi", RequestHeader{12, OpMulti}, &MultiRequest{Ops: ctWriteOps()}},
		{"multi/empty", RequestHeader{12, OpMulti}, &MultiRequest{}},
		{"create2", RequestHeader{13, OpCreate2}, &CreateRequest{Path: "/b", Data: []byte("x"), ACL: OpenACLUnsafe, Flags: 2}},
		{"reconfig", RequestHeader{14, OpReconfig}, &ReconfigRequest{JoiningServers: "server.4=h:2888:3888", NullLeavingServers: true, NullNewMembers: true, CurConfigID: -1}},
		{"checkWatches", RequestHeader{15, OpCheckWatches}, &CheckWatchesRequest{Path: "/a", Type: WatcherTypeChildren}},
		{"removeWatches", RequestHeader{16, OpRemoveWatches}, &RemoveWatchesRequest{Path: "/a", Type: WatcherTypeAny}},
		{"createContainer", RequestHeader{17, OpCreateContainer}, &CreateRequest{Path: "/c", ACL: OpenACLUnsafe, Flags: 4}},
		{"createTTL", RequestHeader{18, OpCreateTTL}, &CreateTTLRequest{Path: "/t", ACL: OpenACLUnsafe, Flags: 5, TTL: 60000}},
		{"multiRead", RequestHeader{19, OpMultiRead}, &MultiRequest{Ops: ctReadOps()}},
		{"auth", RequestHeader{XidAuth, OpAuth}, &AuthPacket{Scheme: "digest", Auth: []byte("u:pw")}},
		{"setWatches", RequestHeader{XidSetWatches, OpSetWatches}, &SetWatches{RelativeZxid: 9, DataWatches: []string{"/a"}, ExistWatches: []string{}, ChildWatches: []string{"/"}}},
		{"sasl", RequestHeader{20, OpSASL}, &GetSASLRequest{Token: []byte{1, 2}}},
		{"getEphemerals", RequestHeader{21, OpGetEphemerals}, &GetEphemeralsRequest{PrefixPath: "/"}},
		{"getAllChildrenNumber", RequestHeader{22, OpGetAllChildrenNumber}, &GetAllChildrenNumberRequest{Path: "/"}},
		{"setWatches2", RequestHeader{XidSetWatches, OpSetWatches2}, &SetWatches2{RelativeZxid: 9, PersistentWatches: []string{"/p"}, PersistentRecursiveWatches: []string{}}},
		{"addWatch", RequestHeader{23, OpAddWatch}, &AddWatchRequest{Path: "/a", Mode: AddWatchModePersistent}},
		{"whoAmI", RequestHeader{24, OpWhoAmI}, nil},
		{"closeSession", RequestHeader{25, OpCloseSession}, nil},
	}
}

func TestClientRecordRoundTrip(t *testing.T) {
	for _, c := range clientRecordCases() {
		t.Run(c.name, func(t *testing.T) {
			enc := jute.Marshal(c.rec)
			got := freshRecord(c.rec)
			if err := jute.Unmarshal(enc, got); err != nil {
				t.Fatalf("decode %x: %v", enc, err)
			}
			if !reflect.DeepEqual(got, c.rec) {
				t.Fatalf("round trip:\n got %#v\nwant %#v", got, c.rec)
			}
			if re := jute.Marshal(got); !bytes.Equal(re, enc) {
				t.Fatalf("re-encoding differs:\n got %x\nwant %x", re, enc)
			}
		})
	}
}

// Every strict prefix of a valid encoding must fail to decode, without
// panicking. The only exception is the handshake records, whose trailing
// readOnly byte is optional.
func TestClientRecordTruncation(t *testing.T) {
	for _, c := range clientRecordCases() {
		enc := jute.Marshal(c.rec)
		optional := false
		switch r := c.rec.(type) {
		case *ConnectRequest:
			optional = r.HasReadOnly
		case *ConnectResponse:
			optional = r.HasReadOnly
		}
		for i := 0; i < len(enc); i++ {
			err := jute.Unmarshal(enc[:i], freshRecord(c.rec))
			if optional && i == len(enc)-1 {
				if err != nil {
					t.Errorf("%s: flag-less prefix: %v", c.name, err)
				}
				continue
			}
			if err == nil {
				t.Errorf("%s: prefix of %d/%d bytes decoded without error", c.name, i, len(enc))
			} else if !errors.Is(err, jute.ErrShort) && !errors.Is(err, jute.ErrTooLarge) {
				// ErrTooLarge: a vector count that no longer fits.
				t.Errorf("%s: prefix of %d bytes: %v, want ErrShort or ErrTooLarge", c.name, i, err)
			}
		}
	}
	for _, c := range clientRequestCases() {
		enc := clientEncodeRequest(c.h, c.body)
		for i := 0; i < len(enc); i++ {
			if _, _, err := DecodeRequest(enc[:i], 0); err == nil {
				t.Errorf("%s: request prefix of %d/%d bytes decoded without error", c.name, i, len(enc))
			}
		}
	}
}

func TestClientSpecVectors(t *testing.T) {
	zeroPw := strings.Repeat("00", 16)
	tests := []struct {
		name string
		hex  string
		recs []jute.Record // decoded from hex in order; must re-encode to it
	}{
		{
			name: "ConnectResponse A2.2",
			hex:  "00000000 00007530 0100000a142f0000 00000010 a39211f4f412130ab91517265dbe86ff 00",
			recs: []jute.Record{&ConnectResponse{TimeOut: 30000, SessionID: 0x0100000a142f0000, Passwd: ctPasswd, HasReadOnly: true}},
		},
		{
			name: "ConnectResponse old client (36 bytes)",
			hex:  "00000000 00007530 0100000a142f0000 00000010 a39211f4f412130ab91517265dbe86ff",
			recs: []jute.Record{&ConnectResponse{TimeOut: 30000, SessionID: 0x0100000a142f0000, Passwd: ctPasswd}},
		},
		{
			name: "ConnectRequest zkCli (45 bytes)",
			hex:  "00000000 0000000000000000 00007530 0000000000000000 00000010" + zeroPw + "00",
			recs: []jute.Record{&ConnectRequest{TimeOut: 30000, Passwd: make([]byte, 16), HasReadOnly: true}},
		},
		{
			name: "ConnectRequest old client (44 bytes)",
			hex:  "00000000 0000000000000000 00007530 0000000000000000 00000010" + zeroPw,
			recs: []jute.Record{&ConnectRequest{TimeOut: 30000, Passwd: make([]byte, 16)}},
		},
		{
			name: "ConnectRequest reconnect, read-only allowed",
			hex:  "00000000 000000010000002a 00000fa0 0100000a142f0000 00000010 a39211f4f412130ab91517265dbe86ff 01",
			recs: []jute.Record{&ConnectRequest{LastZxidSeen: 0x10000002a, TimeOut: 4000, SessionID: 0x0100000a142f0000,
				Passwd: ctPasswd, ReadOnly: true, HasReadOnly: true}},
		},
		{
			name: "notification NodeDeleted /eph",
			hex:  "ffffffff ffffffffffffffff 00000000 00000002 00000003 00000004 2f657068",
			recs: []jute.Record{
				&ReplyHeader{Xid: XidNotification, Zxid: -1, Err: ErrOK},
				&WatcherEvent{Type: EventNodeDeleted, State: StateSyncConnected, Path: "/eph"},
			},
		},
		{
			name: "failed multi response A5.4",
			hex:  "ffffffff 00 00000000 00000000 | ffffffff 00 ffffff9b ffffff9b | ffffffff 00 fffffffe fffffffe | ffffffff 01 ffffffff",
			recs: []jute.Record{&MultiResponse{Results: []MultiResult{
				MultiErrorResult(ErrOK), MultiErrorResult(ErrNoNode), MultiErrorResult(ErrRuntimeInconsistency),
			}}},
		},
		{
			name: "ping request",
			hex:  "fffffffe 0000000b",
			recs: []jute.Record{&RequestHeader{Xid: XidPing, Type: OpPing}},
		},
		{
			name: "UNIMPLEMENTED reply",
			hex:  "00000005 ffffffffffffffff fffffffa",
			recs: []jute.Record{&ReplyHeader{Xid: 5, Zxid: -1, Err: ErrUnimplemented}},
		},
		{
			// The body of the [LIVE] REQUEST example of zk-quorum-spec 7.4.1,
			// behind a RequestHeader{1, create}.
			name: "create /obs hi",
			hex: "00000001 00000001 | 00000004 2f6f6273 00000002 6869 00000001 0000001f 00000005 776f726c64 " +
				"00000006 616e796f6e65 00000000",
			recs: []jute.Record{
				&RequestHeader{Xid: 1, Type: OpCreate},
				&CreateRequest{Path: "/obs", Data: []byte("hi"), ACL: OpenACLUnsafe},
			},
		},
		{
			name: "zkCli create /n with no data (null buffer)",
			hex: "00000003 00000001 | 00000002 2f6e ffffffff 00000001 0000001f 00000005 776f726c64 " +
				"00000006 616e796f6e65 00000000",
			recs: []jute.Record{
				&RequestHeader{Xid: 3, Type: OpCreate},
				&CreateRequest{Path: "/n", ACL: OpenACLUnsafe},
			},
		},
		{
			name: "multi [delete /x, check /y] request body",
			hex: "00000002 00 ffffffff 00000002 2f78 ffffffff | 0000000d 00 ffffffff 00000002 2f79 00000003 | " +
				"ffffffff 01 ffffffff",
			recs: []jute.Record{&MultiRequest{Ops: []MultiOp{
				{Type: OpDelete, Op: &DeleteRequest{Path: "/x", Version: -1}},
				{Type: OpCheck, Op: &CheckVersionRequest{Path: "/y", Version: 3}},
			}}},
		},
		{
			name: "multiRead reply (8,0) children | (-1,-101)",
			hex:  "00000008 00 00000000 00000001 00000001 61 | ffffffff 00 ffffff9b ffffff9b | ffffffff 01 ffffffff",
			recs: []jute.Record{&MultiResponse{Results: []MultiResult{
				{Type: OpGetChildren, Record: &GetChildrenResponse{Children: []string{"a"}}},
				MultiErrorResult(ErrNoNode),
			}}},
		},
		{
			name: "addWatch reply body",
			hex:  "00000000",
			recs: []jute.Record{&ErrorResponse{Err: ErrOK}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := clientHex(t, tt.hex)
			d := jute.NewDecoder(in, 0)
			for _, want := range tt.recs {
				got := freshRecord(want)
				got.Decode(d)
				if d.Err() != nil {
					t.Fatalf("decode %T: %v", want, d.Err())
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("decoded\n %#v\nwant %#v", got, want)
				}
			}
			if err := d.Finish(); err != nil {
				t.Fatal(err)
			}
			e := jute.NewEncoder(nil)
			for _, r := range tt.recs {
				r.Encode(e)
			}
			if !bytes.Equal(e.Bytes(), in) {
				t.Fatalf("encoding\n got %x\nwant %x", e.Bytes(), in)
			}
		})
	}
}

func TestClientSizes(t *testing.T) {
	if n := len(jute.Marshal(&ctStat)); n != 68 {
		t.Errorf("Stat is %d bytes, want 68", n)
	}
	if n := len(jute.Marshal(&RequestHeader{})); n != RequestHeaderSize {
		t.Errorf("RequestHeader is %d bytes", n)
	}
	if n := len(jute.Marshal(&ReplyHeader{})); n != ReplyHeaderSize {
		t.Errorf("ReplyHeader is %d bytes", n)
	}
	if n := len(jute.Marshal(&MultiHeader{})); n != MultiHeaderSize {
		t.Errorf("MultiHeader is %d bytes", n)
	}
	// create2 /b reply: 16 + (4+2) + 68 = 90 bytes, inside a frame of 94.
	frame := AppendFrame(nil, &ReplyHeader{Xid: 1, Zxid: 0x100000002}, &Create2Response{Path: "/b", Stat: ctStat})
	if len(frame) != 94 || !bytes.Equal(frame[:4], []byte{0, 0, 0, 90}) {
		t.Errorf("create2 /b reply frame is %d bytes, prefix %x; want 94, 0000005a", len(frame), frame[:4])
	}
	if n := len(jute.Marshal(&ConnectRequest{Passwd: make([]byte, 16), HasReadOnly: true})); n != 45 {
		t.Errorf("ConnectRequest is %d bytes, want 45", n)
	}
	if n := len(jute.Marshal(&ConnectRequest{Passwd: make([]byte, 16)})); n != 44 {
		t.Errorf("flag-less ConnectRequest is %d bytes, want 44", n)
	}
	if n := len(jute.Marshal(&ConnectResponse{Passwd: make([]byte, 16), HasReadOnly: true})); n != 37 {
		t.Errorf("ConnectResponse is %d bytes, want 37", n)
	}
	if n := len(jute.Marshal(&ConnectResponse{Passwd: make([]byte, 16)})); n != 36 {
		t.Errorf("flag-less ConnectResponse is %d bytes, want 36", n)
	}
}

func TestConnectRequestTrailing(t *testing.T) {
	base := jute.Marshal(&ConnectRequest{TimeOut: 30000, Passwd: make([]byte, 16)})
	// Flag 1 followed by junk: the junk is ignored, as Java does.
	in := append(append([]byte{}, base...), 1, 0xde, 0xad)
	r, err := DecodeConnectRequest(in, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !r.HasReadOnly || !r.ReadOnly || r.TimeOut != 30000 {
		t.Fatalf("got %+v", r)
	}
	if re := jute.Marshal(r); !bytes.Equal(re, in[:len(base)+1]) {
		t.Fatalf("re-encoded %x", re)
	}
	// Any non-zero flag byte means true.
	in[len(base)] = 7
	if r, err := DecodeConnectRequest(in[:len(base)+1], 0); err != nil || !r.ReadOnly {
		t.Fatalf("flag 7: %+v, %v", r, err)
	}
	// Password longer than maxLen.
	if _, err := DecodeConnectRequest(base, 8); !errors.Is(err, jute.ErrTooLarge) {
		t.Fatalf("maxLen 8: %v, want ErrTooLarge", err)
	}
	if _, err := DecodeConnectRequest(base[:30], 0); !errors.Is(err, jute.ErrShort) {
		t.Fatalf("truncated: %v, want ErrShort", err)
	}
	// Same optional byte on the response.
	resp := append(jute.Marshal(&ConnectResponse{Passwd: ctPasswd}), 0, 9, 9)
	var cr ConnectResponse
	if err := cr.Decode(jute.NewDecoder(resp, 0)); err != nil || !cr.HasReadOnly || cr.ReadOnly {
		t.Fatalf("response with flag 0 and junk: %+v, %v", cr, err)
	}
}

// Response records whose lists Java never sends null must never send -1:
// go-zookeeper crashes on it. A nil list goes out as count 0.
func TestResponseNilVectorsAreEmpty(t *testing.T) {
	stat := jute.Marshal(&ctStat)
	tests := []struct {
		rec  jute.Record
		want []byte
	}{
		{&GetChildrenResponse{}, []byte{0, 0, 0, 0}},
		{&GetChildren2Response{Stat: ctStat}, append([]byte{0, 0, 0, 0}, stat...)},
		{&GetEphemeralsResponse{}, []byte{0, 0, 0, 0}},
		{&GetACLResponse{Stat: ctStat}, append([]byte{0, 0, 0, 0}, stat...)},
		{&WhoAmIResponse{}, []byte{0, 0, 0, 0}},
	}
	for _, tt := range tests {
		if got := jute.Marshal(tt.rec); !bytes.Equal(got, tt.want) {
			t.Errorf("%T with nil list: %x, want %x", tt.rec, got, tt.want)
		}
		// A null list from a peer decodes as nil and goes back out as empty.
		in := append([]byte{0xff, 0xff, 0xff, 0xff}, tt.want[4:]...)
		got := freshRecord(tt.rec)
		if err := jute.Unmarshal(in, got); err != nil {
			t.Errorf("%T from null list: %v", tt.rec, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.rec) {
			t.Errorf("%T from null list: %#v", tt.rec, got)
		}
		if re := jute.Marshal(got); !bytes.Equal(re, tt.want) {
			t.Errorf("%T from null list re-encodes as %x", tt.rec, re)
		}
	}
	// Request-side vectors keep null as null.
	if got := jute.Marshal(&SetWatches{}); !bytes.Equal(got[8:], clientHex(t, "ffffffff ffffffff ffffffff")) {
		t.Errorf("SetWatches with nil lists: %x", got)
	}
}

func TestDecodeRequestAllOps(t *testing.T) {
	seen := map[OpCode]bool{}
	for _, c := range clientRequestCases() {
		t.Run(c.name, func(t *testing.T) {
			seen[c.h.Type] = true
			in := clientEncodeRequest(c.h, c.body)
			h, body, err := DecodeRequest(in, 0)
			if err != nil {
				t.Fatalf("DecodeRequest(%x): %v", in, err)
			}
			if h != c.h {
				t.Fatalf("header %+v, want %+v", h, c.h)
			}
			if !reflect.DeepEqual(body, c.body) {
				t.Fatalf("body\n %#v\nwant %#v", body, c.body)
			}
			if re := clientEncodeRequest(h, body); !bytes.Equal(re, in) {
				t.Fatalf("re-encoding differs:\n got %x\nwant %x", re, in)
			}
			fresh, ok := NewRequestRecord(c.h.Type)
			if ok != (c.body != nil) {
				t.Fatalf("NewRequestRecord(%v) ok=%v", c.h.Type, ok)
			}
			if ok && reflect.TypeOf(fresh) != reflect.TypeOf(c.body) {
				t.Fatalf("NewRequestRecord(%v) = %T, want %T", c.h.Type, fresh, c.body)
			}
			if !IsRequestOp(c.h.Type) {
				t.Fatalf("IsRequestOp(%v) = false", c.h.Type)
			}
			// Trailing bytes: rejected by DecodeRequest, ignored (like Java)
			// by DecodeRequestPrefix.
			long := append(append([]byte{}, in...), 0, 0, 0, 0)
			if _, _, err := DecodeRequest(long, 0); !errors.Is(err, jute.ErrTrailing) {
				t.Fatalf("trailing bytes: %v, want ErrTrailing", err)
			}
			h2, body2, n, err := DecodeRequestPrefix(long, 0)
			if err != nil || n != len(in) || h2 != c.h || !reflect.DeepEqual(body2, c.body) {
				t.Fatalf("DecodeRequestPrefix: n=%d err=%v", n, err)
			}
		})
	}
	for op := range requestOps {
		if !seen[op] {
			t.Errorf("no test case for request op %v", op)
		}
	}
}

func TestDecodeRequestErrors(t *testing.T) {
	for _, op := range []OpCode{OpNotification, 10, OpDeleteContainer, OpCreateSession, OpError, 55, 108, -2, 1 << 30} {
		in := clientEncodeRequest(RequestHeader{Xid: 9, Type: op}, &SyncRequest{Path: "/a"})
		h, body, err := DecodeRequest(in, 0)
		if !errors.Is(err, ErrUnknownOp) {
			t.Errorf("op %v: err %v, want ErrUnknownOp", op, err)
		}
		if h.Xid != 9 || h.Type != op || body != nil {
			t.Errorf("op %v: header %+v body %v", op, h, body)
		}
		if IsRequestOp(op) {
			t.Errorf("IsRequestOp(%v) = true", op)
		}
		if _, ok := NewRequestRecord(op); ok {
			t.Errorf("NewRequestRecord(%v) = true", op)
		}
	}
	for _, op := range []OpCode{OpPing, OpCloseSession, OpWhoAmI} {
		if r, ok := NewRequestRecord(op); ok || r != nil {
			t.Errorf("NewRequestRecord(%v) = %v, %v; want no body", op, r, ok)
		}
	}

	hdr := func(op OpCode) string { return fmt.Sprintf("00000001 %08x ", uint32(op)) }
	tests := []struct {
		name string
		hex  string
		max  int
		want error
	}{
		{"short header", "000000", 0, jute.ErrShort},
		{"null path", hdr(OpGetData) + "ffffffff 00", 0, jute.ErrNullString},
		{"negative path length", hdr(OpGetData) + "fffffffe 00", 0, jute.ErrBadLength},
		{"path longer than maxLen", hdr(OpSync) + "00000011 2f" + strings.Repeat("61", 16), 16, jute.ErrTooLarge},
		{"path at maxLen", hdr(OpSync) + "00000010 2f" + strings.Repeat("61", 15), 16, nil},
		{"huge string length", hdr(OpSync) + "7fffffff 2f", 0, jute.ErrTooLarge},
		{"huge data length", hdr(OpSetData) + "00000002 2f61 7ffffff0 00", 0, jute.ErrTooLarge},
		{"huge ACL count", hdr(OpCreate) + "00000002 2f61 ffffffff 7fffffff 00000000", 0, jute.ErrTooLarge},
		{"ACL count beyond input", hdr(OpSetACL) + "00000002 2f61 00000002 0000001f ffffffff ffffffff 00000000", 0, jute.ErrTooLarge},
		{"negative ACL count", hdr(OpSetACL) + "00000002 2f61 fffffffe 00000000", 0, jute.ErrBadLength},
		{"huge watch count", hdr(OpSetWatches) + "0000000000000000 10000000 00000000", 0, jute.ErrTooLarge},
		{"null watch path", hdr(OpSetWatches) + "0000000000000000 00000001 ffffffff ffffffff ffffffff", 0, jute.ErrNullString},
		{"null auth scheme", hdr(OpAuth) + "00000000 ffffffff 00000000", 0, jute.ErrNullString},
		{"ping with body", hdr(OpPing) + "00", 0, jute.ErrTrailing},
		{"closeSession with body", hdr(OpCloseSession) + "00000000", 0, jute.ErrTrailing},
		{"multi without end marker", hdr(OpMulti) + "00000002 00 ffffffff 00000002 2f78 ffffffff", 0, jute.ErrShort},
		{"multi with nothing", hdr(OpMulti), 0, jute.ErrShort},
		{"multi unknown sub-op", hdr(OpMulti) + "00000003 00 ffffffff 00000002 2f78 00 ffffffff 01 ffffffff", 0, ErrMultiOp},
		{"multi sub-op 0", hdr(OpMulti) + "00000000 00 ffffffff ffffffff 01 ffffffff", 0, ErrMultiOp},
		{"multi nested multi", hdr(OpMulti) + "0000000e 00 ffffffff ffffffff 01 ffffffff", 0, ErrMultiOp},
		{"multi mixing", hdr(OpMulti) + "00000002 00 ffffffff 00000002 2f78 ffffffff | 00000004 00 ffffffff 00000002 2f78 00 | ffffffff 01 ffffffff", 0, ErrMultiMixed},
		{"multiRead mixing", hdr(OpMultiRead) + "00000008 00 ffffffff 00000002 2f78 00 | 0000000d 00 ffffffff 00000002 2f78 00000000 | ffffffff 01 ffffffff", 0, ErrMultiMixed},
		{"multi with reads only", hdr(OpMulti) + "00000008 00 ffffffff 00000002 2f78 00 | ffffffff 01 ffffffff", 0, ErrMultiMixed},
		{"multiRead with writes only", hdr(OpMultiRead) + "00000002 00 ffffffff 00000002 2f78 ffffffff | ffffffff 01 ffffffff", 0, ErrMultiMixed},
		{"multi bytes after end marker", hdr(OpMulti) + "ffffffff 01 ffffffff 00", 0, jute.ErrTrailing},
		{"multi sub-op truncated", hdr(OpMulti) + "00000015 00 ffffffff 00000002 2f78 ffffffff 00000000 00000000", 0, jute.ErrShort},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, body, err := DecodeRequest(clientHex(t, tt.hex), tt.max)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if body != nil {
				t.Fatalf("body %#v returned with error", body)
			}
		})
	}
}

func TestMultiRequestDetails(t *testing.T) {
	// A multi's create sub-ops keep the type the client wrote.
	in := clientEncodeRequest(RequestHeader{1, OpMulti}, &MultiRequest{Ops: ctWriteOps()})
	_, body, err := DecodeRequest(in, 0)
	if err != nil {
		t.Fatal(err)
	}
	m := body.(*MultiRequest)
	var types []OpCode
	for _, op := range m.Ops {
		types = append(types, op.Type)
	}
	if want := []OpCode{1, 15, 19, 21, 2, 5, 13}; !reflect.DeepEqual(types, want) {
		t.Fatalf("types %v, want %v", types, want)
	}
	if !m.IsWrite() || m.IsRead() {
		t.Fatalf("write multi: IsWrite %v IsRead %v", m.IsWrite(), m.IsRead())
	}
	if m.Validate(OpMulti) != nil || !errors.Is(m.Validate(OpMultiRead), ErrMultiMixed) {
		t.Fatal("Validate of a write multi")
	}
	r := &MultiRequest{Ops: ctReadOps()}
	if !r.IsRead() || r.IsWrite() || r.Validate(OpMultiRead) != nil || !errors.Is(r.Validate(OpMulti), ErrMultiMixed) {
		t.Fatal("read multi classification")
	}
	empty := &MultiRequest{}
	if empty.IsRead() || empty.IsWrite() || empty.Validate(OpMulti) != nil || empty.Validate(OpMultiRead) != nil {
		t.Fatal("empty multi classification")
	}
	mixed := &MultiRequest{Ops: append(ctReadOps(), ctWriteOps()...)}
	if mixed.IsRead() || mixed.IsWrite() || !errors.Is(mixed.Validate(OpMulti), ErrMultiMixed) {
		t.Fatal("mixed multi classification")
	}
	if err := (&MultiRequest{Ops: []MultiOp{{Type: OpSync}}}).Validate(OpMulti); !errors.Is(err, ErrMultiOp) {
		t.Fatalf("bad sub-op type: %v", err)
	}
	if err := empty.Validate(OpCreate); !errors.Is(err, ErrUnknownOp) {
		t.Fatalf("Validate(create): %v", err)
	}
	if !bytes.Equal(jute.Marshal(empty), clientHex(t, "ffffffff 01 ffffffff")) {
		t.Fatalf("empty multi encodes as %x", jute.Marshal(empty))
	}

	// Java ignores sub-op header errs and the end marker's type and err;
	// they survive a round trip so that re-encoding reproduces the input.
	odd := clientHex(t, "00000002 00 00000007 00000002 2f78 ffffffff | 00000005 01 00000000")
	var om MultiRequest
	if err := jute.Unmarshal(odd, &om); err != nil {
		t.Fatal(err)
	}
	if len(om.Ops) != 1 || om.Ops[0].Type != OpDelete {
		t.Fatalf("decoded %#v", om)
	}
	if re := jute.Marshal(&om); !bytes.Equal(re, odd) {
		t.Fatalf("re-encoded %x, want %x", re, odd)
	}
	// Any non-zero done byte ends the list.
	if err := jute.Unmarshal(clientHex(t, "ffffffff 02 ffffffff"), &om); err != nil || om.Ops != nil {
		t.Fatalf("done=2: %v %#v", err, om)
	}
}

func TestMultiResponseErrors(t *testing.T) {
	tests := []struct {
		name string
		hex  string
		want error
	}{
		{"unknown result type", "00000003 00 00000000 | ffffffff 01 ffffffff", ErrMultiOp},
		{"no end marker", "00000002 00 00000000", jute.ErrShort},
		{"empty", "", jute.ErrShort},
		{"error record truncated", "ffffffff 00 ffffff9b ffff", jute.ErrShort},
		{"children count too large", "00000008 00 00000000 00100000 | ffffffff 01 ffffffff", jute.ErrTooLarge},
	}
	for _, tt := range tests {
		var m MultiResponse
		if err := jute.Unmarshal(clientHex(t, tt.hex), &m); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
	// Results with no record (delete, check) really carry none.
	var m MultiResponse
	if err := jute.Unmarshal(clientHex(t, "00000002 00 00000000 | 0000000d 00 00000000 | ffffffff 01 ffffffff"), &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Results) != 2 || m.Results[0].Record != nil || m.Results[1].Type != OpCheck {
		t.Fatalf("decoded %#v", m)
	}
}

func TestWhoAmIOversize(t *testing.T) {
	var r WhoAmIResponse
	if err := jute.Unmarshal(clientHex(t, "00010000 00000000 00000000"), &r); !errors.Is(err, jute.ErrTooLarge) {
		t.Fatalf("%v, want ErrTooLarge", err)
	}
	if err := jute.Unmarshal(clientHex(t, "00000001 00000000 ffffffff"), &r); !errors.Is(err, jute.ErrNullString) || r.ClientInfo != nil {
		t.Fatalf("%v %#v, want ErrNullString", err, r)
	}
}

// shortReader returns at most one byte per Read, to exercise io.ReadFull.
type shortReader struct{ r io.Reader }

func (s shortReader) Read(p []byte) (int, error) {
	if len(p) > 1 {
		p = p[:1]
	}
	return s.r.Read(p)
}

func TestReadFrame(t *testing.T) {
	ping := AppendFrame(nil, &RequestHeader{Xid: XidPing, Type: OpPing})
	if !bytes.Equal(ping, clientHex(t, "00000008 fffffffe 0000000b")) {
		t.Fatalf("ping frame %x", ping)
	}
	two := AppendFrame(append([]byte{}, ping...), &ReplyHeader{Xid: 1}, nil, &ErrorResponse{})
	if !bytes.Equal(two[len(ping):], clientHex(t, "00000014 00000001 0000000000000000 00000000 00000000")) {
		t.Fatalf("appended frame %x", two[len(ping):])
	}

	r := shortReader{bytes.NewReader(two)}
	buf := make([]byte, 64)
	p, err := ReadFrame(r, buf, 0)
	if err != nil || !bytes.Equal(p, ping[4:]) {
		t.Fatalf("first frame %x, %v", p, err)
	}
	if &p[0] != &buf[0] {
		t.Fatal("payload does not reuse buf")
	}
	p, err = ReadFrame(r, nil, 0)
	if err != nil || len(p) != 20 {
		t.Fatalf("second frame %x, %v", p, err)
	}
	if _, err := ReadFrame(r, buf, 0); err != io.EOF {
		t.Fatalf("at end: %v, want io.EOF", err)
	}

	// Lengths out of range are rejected before the payload is read or
	// allocated: the reader holds nothing after the length.
	for _, tt := range []struct {
		hex string
		max int
	}{
		{"00100000", 0},  // jute.maxbuffer + 1
		{"7fffffff", 0},  // huge
		{"ffffffff", 0},  // -1
		{"80000000", 0},  // most negative
		{"00000011", 16}, // above a custom limit
	} {
		if _, err := ReadFrame(bytes.NewReader(clientHex(t, tt.hex)), nil, tt.max); !errors.Is(err, ErrFrameTooLarge) {
			t.Errorf("length %s (max %d): %v, want ErrFrameTooLarge", tt.hex, tt.max, err)
		}
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range 100 {
		ReadFrame(bytes.NewReader([]byte{0x00, 0x0f, 0xff, 0xff}), nil, 1024)
	}
	runtime.ReadMemStats(&after)
	if d := after.TotalAlloc - before.TotalAlloc; d > 100*1024 {
		t.Errorf("rejecting 100 oversized frames allocated %d bytes", d)
	}
	// The largest allowed frame.
	big := make([]byte, 4+jute.DefaultMaxBuffer)
	copy(big, []byte{0x00, 0x0f, 0xff, 0xff})
	if p, err := ReadFrame(bytes.NewReader(big), nil, 0); err != nil || len(p) != jute.DefaultMaxBuffer {
		t.Fatalf("max frame: %d, %v", len(p), err)
	}
	// Truncations.
	for i := 1; i < len(ping); i++ {
		if _, err := ReadFrame(bytes.NewReader(ping[:i]), nil, 0); err != io.ErrUnexpectedEOF {
			t.Errorf("frame cut at %d: %v, want io.ErrUnexpectedEOF", i, err)
		}
	}
	if p, err := ReadFrame(bytes.NewReader([]byte{0, 0, 0, 0}), nil, 0); err != nil || len(p) != 0 {
		t.Fatalf("empty frame: %x, %v", p, err)
	}
}
