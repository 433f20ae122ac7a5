package acl

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha3"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"hash"
	"net"
	"strconv"
	"strings"

	"github.com/zkobserver/zkobserver/core/proto"
)

// Schemes of ZooKeeper 3.8's built-in identities.
const (
	SchemeWorld  = "world"  // world:anyone, everybody; no provider
	SchemeAuth   = "auth"   // placeholder in a create/setACL ACL: "my authenticated ids"
	SchemeDigest = "digest" // DigestAuthenticationProvider: user:base64(sha1(user:password))
	SchemeIP     = "ip"     // IPAuthenticationProvider: a.b.c.d[/bits]
	SchemeSuper  = "super"  // granted by the super digest; bypasses every check; no provider
	SchemeSASL   = "sasl"   // only with a configured SASL provider, which this package has not
)

// Super is the identity a connection gains when its digest auth matches the
// configured super digest (new Id("super", "")).
var Super = proto.Id{Scheme: SchemeSuper, ID: ""}

// digestAlgorithms maps the names MessageDigest.getInstance accepts
// (case-insensitively) for zookeeper.DigestAuthenticationProvider.digestAlg.
var digestAlgorithms = map[string]func() hash.Hash{
	"SHA1": sha1.New, "SHA-1": sha1.New, "SHA": sha1.New,
	"SHA-224": sha256.New224, "SHA-256": sha256.New,
	"SHA-384": sha512.New384, "SHA-512": sha512.New,
	"SHA-512/224": sha512.New512_224, "SHA-512/256": sha512.New512_256,
	"MD5":      md5.New,
	"SHA3-224": func() hash.Hash { return sha3.New224() },
	"SHA3-256": func() hash.Hash { return sha3.New256() },
	"SHA3-384": func() hash.Hash { return sha3.New384() },
	"SHA3-512": func() hash.Hash { return sha3.New512() },
}

func digestAlgorithm(name string) (func() hash.Hash, error) {
	if name == "" {
		name = "SHA1"
	}
	if f, ok := digestAlgorithms[strings.ToUpper(name)]; ok {
		return f, nil
	}
	return nil, fmt.Errorf("acl: don't support this ACL digest algorithm: %s", name)
}

// GenerateDigest is DigestAuthenticationProvider.generateDigest with the
// default algorithm (SHA1): "user:password" becomes
// "user:" + base64(sha1("user:password")), where user is the text before
// the first ':' (all of it when there is none). This is the form of digest
// ids in ACLs and of the super digest property.
func GenerateDigest(userPassword string) string {
	return generateDigest(sha1.New, userPassword)
}

func generateDigest(newHash func() hash.Hash, userPassword string) string {
	user, _, _ := strings.Cut(userPassword, ":")
	h := newHash()
	h.Write([]byte(userPassword))
	return user + ":" + base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// validDigestID is DigestAuthenticationProvider.isValid: id.split(":") has
// exactly two parts, with Java's split dropping trailing empty parts
// ("u:h" and ":h" and "u:h:" are valid; "u", "u:" and "u:h:x" are not).
func validDigestID(id string) bool {
	return len(javaSplit(id, ':', 0)) == 2
}

// digestUser is DigestAuthenticationProvider.getUserName: the first part of
// id.split(":") ("" when the split yields nothing, where Java would throw).
func digestUser(id string) string {
	parts := javaSplit(id, ':', 0)
	if len(parts) == 0 {
		return ""
	}
	return parts[0]
}

// IPID is the identity every connection starts with (NIOServerCnxn and
// NettyServerCnxn add new Id("ip", remoteAddress.getHostAddress())): an IPv4
// peer (also one seen through an IPv4-mapped IPv6 address) as dotted
// decimal, an IPv6 peer in Java's uncompressed form ("0:0:0:0:0:0:0:1",
// "%zone" appended when scoped). addr is normally a *net.TCPAddr; for other
// types its String form host part is used.
func IPID(addr net.Addr) proto.Id {
	var ip net.IP
	var zone string
	switch a := addr.(type) {
	case *net.TCPAddr:
		ip, zone = a.IP, a.Zone
	case *net.UDPAddr:
		ip, zone = a.IP, a.Zone
	case *net.IPAddr:
		ip, zone = a.IP, a.Zone
	default:
		host := addr.String()
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		host, zone, _ = strings.Cut(host, "%")
		ip = net.ParseIP(host)
		if ip == nil {
			return proto.Id{Scheme: SchemeIP, ID: addr.String()}
		}
	}
	return proto.Id{Scheme: SchemeIP, ID: javaHostAddress(ip, zone)}
}

// javaHostAddress is InetAddress.getHostAddress.
func javaHostAddress(ip net.IP, zone string) string {
	if v4 := ip.To4(); v4 != nil {
		return v4.String()
	}
	ip = ip.To16()
	if ip == nil {
		return ""
	}
	var b strings.Builder
	for i := 0; i < 16; i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(strconv.FormatUint(uint64(ip[i])<<8|uint64(ip[i+1]), 16))
	}
	if zone != "" {
		b.WriteString("%" + zone)
	}
	return b.String()
}

// ipv4Bytes is IPAuthenticationProvider.addr2Bytes, which only knows IPv4:
// exactly four '.'-separated parts, each an Integer.parseInt value in
// 0..255 ("+1", "001" and Unicode digits included); anything else, every
// IPv6 address included, is not an address.
func ipv4Bytes(addr string) ([]byte, bool) {
	parts := javaSplit(addr, '.', -1)
	if len(parts) != 4 {
		return nil, false
	}
	b := make([]byte, 4)
	for i, p := range parts {
		v, ok := javaParseInt(p)
		if !ok || v < 0 || v > 255 {
			return nil, false
		}
		b[i] = byte(v)
	}
	return b, true
}

// ipExpr parses an ip ACL id "a.b.c.d[/bits]" with bits in 0..32.
func ipExpr(expr string) (addr []byte, bits int, ok bool) {
	parts := javaSplit(expr, '/', 2)
	addr, ok = ipv4Bytes(parts[0])
	if !ok {
		return nil, 0, false
	}
	bits = len(addr) * 8
	if len(parts) == 2 {
		v, ok := javaParseInt(parts[1])
		if !ok || v < 0 || int(v) > len(addr)*8 {
			return nil, 0, false
		}
		bits = int(v)
	}
	return addr, bits, true
}

// maskBits clears every bit of b after the first bits.
func maskBits(b []byte, bits int) {
	for i := range b {
		switch keep := bits - 8*i; {
		case keep >= 8:
		case keep <= 0:
			b[i] = 0
		default:
			b[i] &= ^byte(0xff >> keep)
		}
	}
}

// validIPID is IPAuthenticationProvider.isValid.
func validIPID(id string) bool {
	_, _, ok := ipExpr(id)
	return ok
}

// ipMatches is IPAuthenticationProvider.matches: the connection's address
// id and the ACL's address agree on the ACL's first bits bits. An IPv6
// connection never matches.
func ipMatches(id, aclExpr string) bool {
	aclAddr, bits, ok := ipExpr(aclExpr)
	if !ok {
		return false
	}
	remote, ok := ipv4Bytes(id)
	if !ok {
		return false
	}
	maskBits(aclAddr, bits)
	maskBits(remote, bits)
	return string(aclAddr) == string(remote)
}
