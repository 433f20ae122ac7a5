package storage

import (
	"errors"
	"reflect"
	"testing"

	"github.com/zkobserver/zkobserver/core/proto"
)

func TestValueRoundTrip(t *testing.T) {
	nodes := []*Node{
		{Path: "/", Data: []byte{}},
		{Path: "/null", ACL: []proto.ACL{{Perms: 1, ID: proto.Id{Scheme: "x", NullID: true}}}},
		{Path: "/d", Data: []byte("data"), ACL: []proto.ACL{}, Stat: proto.StatPersisted{Czxid: 1, Mzxid: 2, Ctime: 3, Mtime: 4, Version: 5, Cversion: 6, Aversion: -1, EphemeralOwner: -1 << 63, Pzxid: 9}},
	}
	var nd NodeDecoder
	for _, n := range nodes {
		v := AppendNodeValue(nil, n)
		got, err := nd.Decode(n.Path, v)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, n) {
			t.Fatalf("got %#v want %#v", got, n)
		}
		// The decoded node does not alias the value.
		for i := range v {
			v[i] ^= 0xff
		}
		if !reflect.DeepEqual(got, n) {
			t.Fatal("decoded node aliases the value bytes")
		}
		// Any flipped bit or truncation is ErrCorrupt.
		v = AppendNodeValue(nil, n)
		for i := 0; i < len(v); i++ {
			c := append([]byte(nil), v...)
			c[i] ^= 0x10
			if _, err := nd.Decode(n.Path, c); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("flip at %d: %v", i, err)
			}
			if _, err := nd.Decode(n.Path, v[:i]); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("cut at %d: %v", i, err)
			}
		}
	}
	m := Meta{LastZxid: 0x100000005, AcceptedEpoch: 2, CurrentEpoch: 1, NeedsResync: true}
	got, err := DecodeMetaValue(AppendMetaValue(nil, m))
	if err != nil || got != m {
		t.Fatalf("meta %+v %v", got, err)
	}
	to, err := DecodeSessionValue(7, AppendSessionValue(nil, 30000))
	if err != nil || to != 30000 {
		t.Fatalf("session %d %v", to, err)
	}
	if _, err := DecodeMetaValue(AppendMetaValue(nil, m)[1:]); !errors.Is(err, ErrCorrupt) {
		t.Fatal("short meta accepted")
	}
}
