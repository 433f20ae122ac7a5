package acl

import (
	"bufio"
	"net"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/zkobserver/zkobserver/core/proto"
)

// Digests computed independently (python: base64(hashlib.sha1(s).digest())).
const (
	alicePW  = "alice:V55/p2T0OpjQ+low3NVAH4aLvm0=" // alice:pw
	superPW  = "super:lK75jTNcA+U9vtVEw5vB51mj/w4=" // super:secret
	noColon  = "nocolon:Ra+cHr2ZoHvBjtNArFGNGlVie4g="
	twoColon = "a:cLzgnoJ6mP5qz3w+mwvPE2vDgu0=" // a:b:c
	emptyUsr = ":krPDEYdCl854cFNT6IXnoMv+VVA="  // :pw
	umlaut   = "ü:as0MmnU4UJ8NaHD8SMox3y3hU/o=" // ü:pw
)

var (
	loopback = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 4242}
	ipLocal  = proto.Id{Scheme: "ip", ID: "127.0.0.1"}
	alice    = proto.Id{Scheme: "digest", ID: alicePW}
	bob      = proto.Id{Scheme: "digest", ID: "bob:hash"}
	superDig = proto.Id{Scheme: "digest", ID: superPW}
)

func acl(perms int32, scheme, id string) proto.ACL {
	return proto.ACL{Perms: perms, ID: proto.Id{Scheme: scheme, ID: id}}
}

func mustPolicy(t *testing.T, o Options) *Policy {
	t.Helper()
	p, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// DigestAuthenticationProvider.generateDigest: parts = split(":", 2);
// parts[0] + ":" + base64(digest(whole input)).
func TestGenerateDigest(t *testing.T) {
	for in, want := range map[string]string{
		"alice:pw": alicePW, "super:secret": superPW, "nocolon": noColon,
		"a:b:c": twoColon, ":pw": emptyUsr, "ü:pw": umlaut,
	} {
		if got := GenerateDigest(in); got != want {
			t.Errorf("GenerateDigest(%q) = %q, want %q", in, got, want)
		}
	}
	p := mustPolicy(t, Options{DigestAlgorithm: "sha-256"})
	ids, _ := p.Auth("digest", []byte("alice:pw"), loopback)
	if want := "alice:uoe2aAb9LQtvXhepi1lfNPruBxd4qoF/snHQYhTtJPk="; ids[0].ID != want {
		t.Errorf("SHA-256 digest = %q, want %q", ids[0].ID, want)
	}
	if _, err := New(Options{DigestAlgorithm: "CRC32"}); err == nil {
		t.Error("unknown digestAlg accepted; Java's static initializer throws")
	}
}

// ZooKeeperServer.processPacket + the providers' handleAuthentication.
func TestAuth(t *testing.T) {
	sup := mustPolicy(t, Options{SuperDigest: superPW})
	noDigest := mustPolicy(t, Options{DigestDisabled: true})
	v6 := &net.TCPAddr{IP: net.ParseIP("::1")}
	for _, tc := range []struct {
		name   string
		p      *Policy
		scheme string
		data   string
		addr   net.Addr
		want   []proto.Id
		code   proto.ErrCode
	}{
		{"digest", Default, "digest", "alice:pw", loopback, []proto.Id{alice}, proto.ErrOK},
		{"digest without colon never fails", Default, "digest", "nocolon", loopback, []proto.Id{{Scheme: "digest", ID: noColon}}, proto.ErrOK},
		{"digest empty", Default, "digest", "", loopback, []proto.Id{{Scheme: "digest", ID: ":2jmj7l5rSw0yVb/vlWAYkK/YBwk="}}, proto.ErrOK},
		{"digest ill-formed UTF-8 as Java decodes it", Default, "digest", "\xff:x", loopback, []proto.Id{{Scheme: "digest", ID: "\uFFFD:MRJvuUNgOr/X35TrsstivNIZKtg="}}, proto.ErrOK},
		{"super digest adds super first", sup, "digest", "super:secret", loopback, []proto.Id{Super, superDig}, proto.ErrOK},
		{"other user with super configured", sup, "digest", "alice:pw", loopback, []proto.Id{alice}, proto.ErrOK},
		{"super digest not configured", Default, "digest", "super:secret", loopback, []proto.Id{superDig}, proto.ErrOK},
		{"ip: the connection's own address, data ignored", Default, "ip", "10.1.1.1", loopback, []proto.Id{ipLocal}, proto.ErrOK},
		{"ip over IPv6", Default, "ip", "", v6, []proto.Id{{Scheme: "ip", ID: "0:0:0:0:0:0:0:1"}}, proto.ErrOK},
		{"world has no provider", Default, "world", "anyone", loopback, nil, proto.ErrAuthFailed},
		{"auth has no provider", Default, "auth", "", loopback, nil, proto.ErrAuthFailed},
		{"super has no provider", sup, "super", "secret", loopback, nil, proto.ErrAuthFailed},
		{"sasl not configured", Default, "sasl", "x", loopback, nil, proto.ErrAuthFailed},
		{"x509 not configured", Default, "x509", "x", loopback, nil, proto.ErrAuthFailed},
		{"unknown", Default, "kerberos", "x", loopback, nil, proto.ErrAuthFailed},
		{"scheme is case-sensitive", Default, "Digest", "alice:pw", loopback, nil, proto.ErrAuthFailed},
		{"digest disabled", noDigest, "digest", "alice:pw", loopback, nil, proto.ErrAuthFailed},
	} {
		ids, code := tc.p.Auth(tc.scheme, []byte(tc.data), tc.addr)
		if code != tc.code || !slices.Equal(ids, tc.want) {
			t.Errorf("%s: Auth(%q, %q) = %v, %v; want %v, %v", tc.name, tc.scheme, tc.data, ids, code, tc.want, tc.code)
		}
	}
}

// NIOServerCnxn: addAuthInfo(new Id("ip", addr.getHostAddress())).
func TestIPID(t *testing.T) {
	for _, tc := range []struct {
		addr net.Addr
		want string
	}{
		{loopback, "127.0.0.1"},
		{&net.TCPAddr{IP: net.ParseIP("::ffff:10.0.0.7")}, "10.0.0.7"},
		{&net.TCPAddr{IP: net.ParseIP("::1")}, "0:0:0:0:0:0:0:1"},
		{&net.TCPAddr{IP: net.ParseIP("fe80::1:abcd"), Zone: "eth0"}, "fe80:0:0:0:0:0:1:abcd%eth0"},
		{&net.UnixAddr{Name: "[2001:db8::1]:2181", Net: "unix"}, "2001:db8:0:0:0:0:0:1"},
	} {
		if got := IPID(tc.addr); got != (proto.Id{Scheme: "ip", ID: tc.want}) {
			t.Errorf("IPID(%v) = %v, want ip:%s", tc.addr, got, tc.want)
		}
	}
}

// ZooKeeperServer.checkACL with IPAuthenticationProvider.matches and
// DigestAuthenticationProvider.matches.
func TestCheck(t *testing.T) {
	anon := []proto.Id{ipLocal}
	aliceIDs := []proto.Id{ipLocal, alice}
	superIDs := []proto.Id{ipLocal, Super, superDig}
	remote := []proto.Id{{Scheme: "ip", ID: "10.1.2.3"}}
	v6 := []proto.Id{{Scheme: "ip", ID: "0:0:0:0:0:0:0:1"}}
	R, W, A := proto.PermRead, proto.PermWrite, proto.PermAdmin
	skip := mustPolicy(t, Options{SkipACL: true})
	noDigest := mustPolicy(t, Options{DigestDisabled: true})
	for _, tc := range []struct {
		name string
		p    *Policy
		acls []proto.ACL
		perm int32
		ids  []proto.Id
		want bool
	}{
		{"empty ACL allows all", Default, []proto.ACL{}, A, anon, true},
		{"nil ACL allows all", Default, nil, A, nil, true},
		{"open", Default, proto.OpenACLUnsafe, W, anon, true},
		{"read-only world: read", Default, proto.ReadACLUnsafe, R, anon, true},
		{"read-only world: write", Default, proto.ReadACLUnsafe, W, anon, false},
		{"world with no ids at all", Default, proto.ReadACLUnsafe, R, nil, true},
		{"world non-anyone never matches", Default, []proto.ACL{acl(31, "world", "nobody")}, R, anon, false},
		{"super bypasses", Default, []proto.ACL{acl(R, "digest", alicePW)}, A, superIDs, true},
		{"super id value irrelevant", Default, []proto.ACL{acl(0, "digest", alicePW)}, A, []proto.Id{{Scheme: "super", ID: "whatever"}}, true},
		{"digest match", Default, []proto.ACL{acl(R|W, "digest", alicePW)}, W, aliceIDs, true},
		{"digest perm missing", Default, []proto.ACL{acl(R, "digest", alicePW)}, W, aliceIDs, false},
		{"digest other user", Default, []proto.ACL{acl(31, "digest", "bob:hash")}, R, aliceIDs, false},
		{"digest exact string only", Default, []proto.ACL{acl(31, "digest", "alice:x")}, R, aliceIDs, false},
		{"digest disabled never matches", noDigest, []proto.ACL{acl(31, "digest", alicePW)}, R, aliceIDs, false},
		{"perm is any bit", Default, []proto.ACL{acl(A, "digest", alicePW)}, R | A, aliceIDs, true},
		{"entries are alternatives", Default, []proto.ACL{acl(R, "world", "anyone"), acl(W, "digest", alicePW)}, W, aliceIDs, true},
		{"ip exact", Default, []proto.ACL{acl(31, "ip", "127.0.0.1")}, R, anon, true},
		{"ip other host", Default, []proto.ACL{acl(31, "ip", "127.0.0.2")}, R, anon, false},
		{"ip /8", Default, []proto.ACL{acl(31, "ip", "127.9.9.9/8")}, R, anon, true},
		{"ip /0 matches any IPv4", Default, []proto.ACL{acl(31, "ip", "1.2.3.4/0")}, R, remote, true},
		{"ip /31", Default, []proto.ACL{acl(31, "ip", "10.1.2.2/31")}, R, remote, true},
		{"ip /32 other", Default, []proto.ACL{acl(31, "ip", "10.1.2.2/32")}, R, remote, false},
		{"ip /12 unaligned", Default, []proto.ACL{acl(31, "ip", "10.15.0.0/12")}, R, remote, true},
		{"ip /13 unaligned miss", Default, []proto.ACL{acl(31, "ip", "10.15.0.0/13")}, R, remote, false},
		{"ip bad mask never matches", Default, []proto.ACL{acl(31, "ip", "10.1.2.3/33")}, R, remote, false},
		{"ip IPv6 connection never matches", Default, []proto.ACL{acl(31, "ip", "0.0.0.0/0")}, R, v6, false},
		{"ip entry vs digest id", Default, []proto.ACL{acl(31, "ip", "127.0.0.1")}, R, []proto.Id{alice}, false},
		{"unknown scheme entry", Default, []proto.ACL{acl(31, "sasl", "alice")}, R, []proto.Id{{Scheme: "sasl", ID: "alice"}}, false},
		{"auth entry never matches", Default, []proto.ACL{acl(31, "auth", "")}, R, []proto.Id{{Scheme: "auth", ID: ""}}, false},
		{"skipACL", skip, []proto.ACL{acl(0, "digest", "x:y")}, A, nil, true},
		{"perm 0 is never granted", Default, proto.OpenACLUnsafe, 0, anon, false},
	} {
		if got := tc.p.Check(tc.acls, tc.perm, tc.ids); got != tc.want {
			t.Errorf("%s: Check(%v, %d, %v) = %v", tc.name, tc.acls, tc.perm, tc.ids, got)
		}
	}
}

// PrepRequestProcessor.fixupACL / removeDuplicates and the providers'
// isValid.
func TestFixup(t *testing.T) {
	anon := []proto.Id{ipLocal}
	two := []proto.Id{ipLocal, bob, alice}
	withSuper := []proto.Id{Super, superDig, ipLocal}
	nullID := proto.ACL{Perms: 31, ID: proto.Id{Scheme: "auth", NullID: true}}
	noDigest := mustPolicy(t, Options{DigestDisabled: true})
	for _, tc := range []struct {
		name string
		p    *Policy
		acls []proto.ACL
		ids  []proto.Id
		want []proto.ACL
		code proto.ErrCode
	}{
		{"nil", Default, nil, anon, nil, proto.ErrInvalidACL},
		{"empty", Default, []proto.ACL{}, anon, nil, proto.ErrInvalidACL},
		{"open kept", Default, proto.OpenACLUnsafe, anon, proto.OpenACLUnsafe, proto.ErrOK},
		{"duplicates removed, first kept, order kept", Default,
			[]proto.ACL{acl(1, "world", "anyone"), acl(31, "ip", "1.2.3.4"), acl(1, "world", "anyone"), acl(31, "ip", "1.2.3.4")}, anon,
			[]proto.ACL{acl(1, "world", "anyone"), acl(31, "ip", "1.2.3.4")}, proto.ErrOK},
		{"same id different perms both kept", Default,
			[]proto.ACL{acl(1, "world", "anyone"), acl(2, "world", "anyone")}, anon,
			[]proto.ACL{acl(1, "world", "anyone"), acl(2, "world", "anyone")}, proto.ErrOK},
		{"world non-anyone", Default, []proto.ACL{acl(31, "world", "everyone")}, anon, nil, proto.ErrInvalidACL},
		{"World is case-sensitive", Default, []proto.ACL{acl(31, "World", "anyone")}, anon, nil, proto.ErrInvalidACL},
		{"auth without digest identity", Default, proto.CreatorAllACL, anon, nil, proto.ErrInvalidACL},
		{"auth expands to digest ids in authInfo order, not ip", Default, proto.CreatorAllACL, two,
			[]proto.ACL{{Perms: 31, ID: bob}, {Perms: 31, ID: alice}}, proto.ErrOK},
		{"auth id ignored", Default, []proto.ACL{acl(3, "auth", "whatever")}, two,
			[]proto.ACL{{Perms: 3, ID: bob}, {Perms: 3, ID: alice}}, proto.ErrOK},
		{"auth with null id (kazoo)", Default, []proto.ACL{nullID}, two,
			[]proto.ACL{{Perms: 31, ID: bob}, {Perms: 31, ID: alice}}, proto.ErrOK},
		{"auth skips super", Default, proto.CreatorAllACL, withSuper, []proto.ACL{{Perms: 31, ID: superDig}}, proto.ErrOK},
		{"expansion not deduplicated", Default, []proto.ACL{acl(31, "auth", ""), {Perms: 31, ID: alice}}, []proto.Id{alice},
			[]proto.ACL{{Perms: 31, ID: alice}, {Perms: 31, ID: alice}}, proto.ErrOK},
		{"auth with only super", Default, proto.CreatorAllACL, []proto.Id{Super}, nil, proto.ErrInvalidACL},
		{"digest valid", Default, []proto.ACL{acl(31, "digest", "u:h")}, anon, []proto.ACL{acl(31, "digest", "u:h")}, proto.ErrOK},
		{"digest empty user valid", Default, []proto.ACL{acl(31, "digest", ":h")}, anon, []proto.ACL{acl(31, "digest", ":h")}, proto.ErrOK},
		{"digest trailing colon dropped by split", Default, []proto.ACL{acl(31, "digest", "u:h:")}, anon, []proto.ACL{acl(31, "digest", "u:h:")}, proto.ErrOK},
		{"digest no colon", Default, []proto.ACL{acl(31, "digest", "uh")}, anon, nil, proto.ErrInvalidACL},
		{"digest empty hash", Default, []proto.ACL{acl(31, "digest", "u:")}, anon, nil, proto.ErrInvalidACL},
		{"digest three parts", Default, []proto.ACL{acl(31, "digest", "u:h:x")}, anon, nil, proto.ErrInvalidACL},
		{"digest only colons", Default, []proto.ACL{acl(31, "digest", "::")}, anon, nil, proto.ErrInvalidACL},
		{"digest disabled", noDigest, []proto.ACL{acl(31, "digest", "u:h")}, anon, nil, proto.ErrInvalidACL},
		{"ip plain", Default, []proto.ACL{acl(31, "ip", "10.0.0.1")}, anon, []proto.ACL{acl(31, "ip", "10.0.0.1")}, proto.ErrOK},
		{"ip /0 and /32", Default, []proto.ACL{acl(1, "ip", "10.0.0.1/0"), acl(2, "ip", "10.0.0.1/32")}, anon,
			[]proto.ACL{acl(1, "ip", "10.0.0.1/0"), acl(2, "ip", "10.0.0.1/32")}, proto.ErrOK},
		{"ip parseInt accepts sign and leading zeros", Default, []proto.ACL{acl(31, "ip", "+10.001.0.1/+8")}, anon,
			[]proto.ACL{acl(31, "ip", "+10.001.0.1/+8")}, proto.ErrOK},
		{"ip parseInt accepts Unicode digits", Default, []proto.ACL{acl(31, "ip", "١٠.0.0.1")}, anon,
			[]proto.ACL{acl(31, "ip", "١٠.0.0.1")}, proto.ErrOK},
		{"ip /33", Default, []proto.ACL{acl(31, "ip", "10.0.0.1/33")}, anon, nil, proto.ErrInvalidACL},
		{"ip /-1", Default, []proto.ACL{acl(31, "ip", "10.0.0.1/-1")}, anon, nil, proto.ErrInvalidACL},
		{"ip extra slash", Default, []proto.ACL{acl(31, "ip", "10.0.0.1/8/8")}, anon, nil, proto.ErrInvalidACL},
		{"ip octet 256", Default, []proto.ACL{acl(31, "ip", "10.0.0.256")}, anon, nil, proto.ErrInvalidACL},
		{"ip three octets", Default, []proto.ACL{acl(31, "ip", "10.0.1")}, anon, nil, proto.ErrInvalidACL},
		{"ip trailing dot", Default, []proto.ACL{acl(31, "ip", "10.0.0.1.")}, anon, nil, proto.ErrInvalidACL},
		{"ip IPv6 unsupported", Default, []proto.ACL{acl(31, "ip", "::1")}, anon, nil, proto.ErrInvalidACL},
		{"ip hostname", Default, []proto.ACL{acl(31, "ip", "localhost")}, anon, nil, proto.ErrInvalidACL},
		{"super scheme has no provider", Default, []proto.ACL{acl(31, "super", "")}, withSuper, nil, proto.ErrInvalidACL},
		{"sasl not configured", Default, []proto.ACL{acl(31, "sasl", "alice")}, anon, nil, proto.ErrInvalidACL},
		{"unknown scheme", Default, []proto.ACL{acl(31, "foo", "bar")}, anon, nil, proto.ErrInvalidACL},
		{"first bad entry wins over later", Default, []proto.ACL{acl(31, "foo", "bar"), acl(31, "auth", "")}, anon, nil, proto.ErrInvalidACL},
		{"null scheme", Default, []proto.ACL{{Perms: 31, ID: proto.Id{NullScheme: true, ID: "x"}}}, anon, nil, proto.ErrInvalidACL},
		{"null scheme compared in dedup: NPE", Default, []proto.ACL{acl(31, "world", "anyone"), {Perms: 31, ID: proto.Id{NullScheme: true}}}, anon, nil, proto.ErrMarshallingError},
		{"null scheme not compared (other perms)", Default, []proto.ACL{acl(1, "world", "anyone"), {Perms: 31, ID: proto.Id{NullScheme: true}}}, anon, nil, proto.ErrInvalidACL},
		{"world null id: NPE", Default, []proto.ACL{{Perms: 31, ID: proto.Id{Scheme: "world", NullID: true}}}, anon, nil, proto.ErrMarshallingError},
		{"digest null id: NPE", Default, []proto.ACL{{Perms: 31, ID: proto.Id{Scheme: "digest", NullID: true}}}, anon, nil, proto.ErrMarshallingError},
		{"unknown scheme null id", Default, []proto.ACL{{Perms: 31, ID: proto.Id{Scheme: "foo", NullID: true}}}, anon, nil, proto.ErrInvalidACL},
	} {
		got, code := tc.p.Fixup(tc.acls, tc.ids)
		if code != tc.code || !slices.Equal(got, tc.want) {
			t.Errorf("%s: Fixup(%v, %v) = %v, %v; want %v, %v", tc.name, tc.acls, tc.ids, got, code, tc.want, tc.code)
		}
	}
}

// FinalRequestProcessor getACL: READ|ADMIN, then ADMIN decides masking.
func TestGetACL(t *testing.T) {
	stored := []proto.ACL{acl(proto.PermRead, "world", "anyone"), acl(proto.PermAll, "digest", alicePW), acl(proto.PermRead, "digest", "x:a:b\nc:d")}
	masked := []proto.ACL{stored[0], acl(proto.PermAll, "digest", "alice:x"), acl(proto.PermRead, "digest", "x:x\nc:x")}
	if got, code := Default.GetACL(stored, []proto.Id{ipLocal}); code != proto.ErrOK || !slices.Equal(got, masked) {
		t.Errorf("reader: %v %v, want %v", got, code, masked)
	}
	if got, code := Default.GetACL(stored, []proto.Id{ipLocal, alice}); code != proto.ErrOK || !slices.Equal(got, stored) {
		t.Errorf("admin: %v %v", got, code)
	}
	if _, code := Default.GetACL([]proto.ACL{acl(proto.PermWrite, "world", "anyone")}, []proto.Id{ipLocal}); code != proto.ErrNoAuth {
		t.Errorf("write-only: %v, want NOAUTH", code)
	}
	adminOnly := []proto.ACL{acl(proto.PermAdmin, "ip", "127.0.0.1"), acl(proto.PermAll, "digest", alicePW)}
	if got, code := Default.GetACL(adminOnly, []proto.Id{ipLocal}); code != proto.ErrOK || !slices.Equal(got, adminOnly) {
		t.Errorf("admin via ip: %v %v", got, code)
	}
	if got := maskDigest("a:b\u2028c:d\re"); got != "a:x\u2028c:x\re" {
		t.Errorf("maskDigest = %q", got)
	}
}

// AuthUtil.getClientInfos with the providers' getUserName.
func TestWhoAmI(t *testing.T) {
	ids := []proto.Id{Super, superDig, ipLocal, {Scheme: "digest", ID: emptyUsr}, {Scheme: "sasl", ID: "alice"}}
	want := []proto.ClientInfo{{AuthScheme: "super", User: ""}, {AuthScheme: "digest", User: "super"},
		{AuthScheme: "ip", User: "127.0.0.1"}, {AuthScheme: "digest", User: ""}, {AuthScheme: "sasl", User: ""}}
	if got := Default.WhoAmI(ids); !slices.Equal(got, want) {
		t.Errorf("WhoAmI = %v, want %v", got, want)
	}
	if got := Default.WhoAmI(nil); got == nil || len(got) != 0 {
		t.Errorf("WhoAmI(nil) = %#v, want empty", got)
	}
}

// ServerCnxn.authInfo is a ConcurrentHashMap-backed set; testdata has the
// iteration orders a real JVM printed for the same insertions.
func TestAuthInfoJavaOrder(t *testing.T) {
	f, err := os.Open("testdata/chm_order.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	parse := func(s string) []proto.Id {
		var ids []proto.Id
		for _, e := range strings.Split(s, ",") {
			scheme, id, _ := strings.Cut(e, "=")
			ids = append(ids, proto.Id{Scheme: scheme, ID: id})
		}
		return ids
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "#") {
			continue
		}
		in, out, _ := strings.Cut(sc.Text(), "\t")
		var a AuthInfo
		a.Add(parse(in)...)
		want := parse(out)
		if got := a.IDs(); !slices.Equal(got, want) {
			t.Errorf("order of %d ids:\n got %v\nwant %v", len(want), got, want)
		}
		if a.Len() != len(want) {
			t.Errorf("Len = %d, want %d", a.Len(), len(want))
		}
		for _, id := range want {
			if !a.Has(id) {
				t.Errorf("Has(%v) = false", id)
			}
		}
		n++
	}
	if n < 5 {
		t.Fatalf("only %d cases read", n)
	}
	var empty AuthInfo
	if empty.Has(ipLocal) || len(empty.IDs()) != 0 {
		t.Error("zero AuthInfo not empty")
	}
}

// The check each opcode makes (PrepRequestProcessor, FinalRequestProcessor).
func TestRequired(t *testing.T) {
	R, W, C, D, A := proto.PermRead, proto.PermWrite, proto.PermCreate, proto.PermDelete, proto.PermAdmin
	for op, want := range map[proto.OpCode]Requirement{
		proto.OpCreate: {TargetParent, C}, proto.OpCreate2: {TargetParent, C},
		proto.OpCreateContainer: {TargetParent, C}, proto.OpCreateTTL: {TargetParent, C},
		proto.OpDelete: {TargetParent, D}, proto.OpSetData: {TargetNode, W}, proto.OpSetACL: {TargetNode, A},
		proto.OpCheck: {TargetNode, R}, proto.OpReconfig: {TargetConfigNode, W},
		proto.OpGetData: {TargetNode, R}, proto.OpGetChildren: {TargetNode, R}, proto.OpGetChildren2: {TargetNode, R},
		proto.OpGetAllChildrenNumber: {TargetNode, R}, proto.OpGetACL: {TargetNode, R | A},
		proto.OpMulti: {Target: TargetEachOp}, proto.OpMultiRead: {Target: TargetEachOp},
		proto.OpExists: {}, proto.OpSync: {}, proto.OpAddWatch: {}, proto.OpSetWatches: {}, proto.OpSetWatches2: {},
		proto.OpRemoveWatches: {}, proto.OpCheckWatches: {}, proto.OpGetEphemerals: {}, proto.OpWhoAmI: {},
		proto.OpPing: {}, proto.OpAuth: {}, proto.OpSASL: {}, proto.OpCloseSession: {}, proto.OpCreateSession: {},
		proto.OpDeleteContainer: {},
	} {
		got, ok := Required(op)
		if !ok || got != want {
			t.Errorf("Required(%v) = %v, %v; want %v", op, got, ok, want)
		}
	}
	if _, ok := Required(proto.OpCode(10)); ok {
		t.Error("opcode 10 known")
	}
}

func TestJavaHelpers(t *testing.T) {
	for _, tc := range []struct {
		s     string
		sep   byte
		limit int
		want  []string
	}{
		{"", ':', 0, []string{""}}, {":", ':', 0, []string{}}, {"a::", ':', 0, []string{"a"}},
		{":a", ':', 0, []string{"", "a"}}, {"a/b/c", '/', 2, []string{"a", "b/c"}},
		{"1.2.3.", '.', -1, []string{"1", "2", "3", ""}},
	} {
		if got := javaSplit(tc.s, tc.sep, tc.limit); !slices.Equal(got, tc.want) {
			t.Errorf("javaSplit(%q, %q, %d) = %q, want %q", tc.s, tc.sep, tc.limit, got, tc.want)
		}
	}
	for s, want := range map[string]int32{"0": 0, "-0": 0, "+7": 7, "0012": 12, "٣": 3, "２": 2, "2147483647": 1<<31 - 1, "-2147483648": -1 << 31} {
		if got, ok := javaParseInt(s); !ok || got != want {
			t.Errorf("javaParseInt(%q) = %d, %v", s, got, ok)
		}
	}
	for _, s := range []string{"", "+", "-", "1a", " 1", "2147483648", "\U0001D7CE", "1_0"} {
		if _, ok := javaParseInt(s); ok {
			t.Errorf("javaParseInt(%q) accepted", s)
		}
	}
	// Java: "ip".hashCode() = 3367, "127.0.0.1" = 1505998205, "digest" = -1331913276,
	// "a\uD83D\uDE00" (surrogate pair) = 1866116.
	for s, want := range map[string]int32{"ip": 3367, "127.0.0.1": 1505998205, "digest": -1331913276, "": 0, "a😀": 1866116} {
		if got := javaStringHash(s); got != want {
			t.Errorf("javaStringHash(%q) = %d, want %d", s, got, want)
		}
	}
	// One U+FFFD per maximal ill-formed subpart: E2 82 is one, C0 and 80 one each.
	if got := javaDecodeUTF8([]byte("\xe2\x82A\xc0\x80\xf0\x9f\x98")); got != "\uFFFDA\uFFFD\uFFFD\uFFFD" {
		t.Errorf("javaDecodeUTF8 = %q", got)
	}
}
