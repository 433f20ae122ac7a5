package acl

import (
	"hash"
	"net"
	"strings"
	"unicode/utf8"

	"github.com/zkobserver/zkobserver/core/proto"
)

// Options are the server-wide settings of ZooKeeper's authentication and
// authorization (Java system properties). The zero value is Java's default.
type Options struct {
	// SuperDigest is zookeeper.DigestAuthenticationProvider.superDigest:
	// "user:base64digest" (see GenerateDigest). A connection whose digest
	// auth produces exactly this id also gets Super. Empty: no super user.
	SuperDigest string
	// SkipACL is zookeeper.skipACL=yes: every permission check passes.
	// ACL fixup still runs.
	SkipACL bool
	// DigestDisabled is zookeeper.DigestAuthenticationProvider.enabled=false:
	// no digest provider, so digest auth fails and digest ACL entries are
	// invalid and never match.
	DigestDisabled bool
	// DigestAlgorithm is zookeeper.DigestAuthenticationProvider.digestAlg
	// ("" = SHA1). New refuses a name Java's MessageDigest would not know
	// (Java refuses to start).
	DigestAlgorithm string
}

// Policy answers authentication, permission and ACL questions as a
// ZooKeeper 3.8.0 server with the given Options does (ProviderRegistry with
// the built-in ip and digest providers; no SASL, x509 or
// zookeeper.authProvider.* providers). It is immutable and safe for
// concurrent use.
type Policy struct {
	opts   Options
	digest func() hash.Hash // nil when the digest provider is disabled
}

// New returns the Policy for opts, or an error for an unknown digest
// algorithm.
func New(opts Options) (*Policy, error) {
	p := &Policy{opts: opts}
	if !opts.DigestDisabled {
		f, err := digestAlgorithm(opts.DigestAlgorithm)
		if err != nil {
			return nil, err
		}
		p.digest = f
	}
	return p, nil
}

// Default is the policy of a server started without any ACL property.
var Default, _ = New(Options{})

// provider reports whether scheme has a registered provider
// (ProviderRegistry.getServerProvider(scheme) != nil).
func (p *Policy) provider(scheme string) bool {
	return scheme == SchemeIP || scheme == SchemeDigest && p.digest != nil
}

// Auth handles an auth packet (opcode 100) as ZooKeeperServer.processPacket
// does, returning the identities to add to the connection's AuthInfo (in
// the order Java adds them) and the reply's error code:
//
//   - "digest": never fails. authData is decoded as Java's new String(bytes)
//     (UTF-8, ill-formed bytes become U+FFFD) and turned into
//     ("digest", GenerateDigest(text)); if that equals Options.SuperDigest,
//     Super comes first.
//   - "ip": accepted whatever authData holds; the id is the connection's
//     own ip id again (IPID(clientAddr)), which the connection already has.
//   - anything else ("world", "auth", "super", "sasl", "x509", unknown
//     schemes, "digest" when disabled): no provider, so ErrAuthFailed and no
//     ids.
//
// On ErrOK the server replies {xid, zxid 0, err 0}. On ErrAuthFailed Java
// replies {xid, 0, -115 AUTHFAILED}, then queues its close-connection
// marker and stops reading: the connection is closed once that reply is
// written, without a closeSession (the session lives on until it expires
// or the client reconnects with it). Auth packets bypass the request
// pipeline in Java (answered as soon as they are read).
//
// SASL (opcode 102) is not an auth packet. Java without a JAAS login
// context has no SaslServer on the connection; its processSasl then hits a
// NullPointerException it catches and logs, and replies {xid, 0, 0} with
// SetSASLResponse{token: null}, adding no identity.
func (p *Policy) Auth(scheme string, authData []byte, clientAddr net.Addr) ([]proto.Id, proto.ErrCode) {
	switch {
	case scheme == SchemeDigest && p.digest != nil:
		id := proto.Id{Scheme: SchemeDigest, ID: generateDigest(p.digest, javaDecodeUTF8(authData))}
		if p.opts.SuperDigest != "" && id.ID == p.opts.SuperDigest {
			return []proto.Id{Super, id}, proto.ErrOK
		}
		return []proto.Id{id}, proto.ErrOK
	case scheme == SchemeIP:
		return []proto.Id{IPID(clientAddr)}, proto.ErrOK
	}
	return nil, proto.ErrAuthFailed
}

// Check is ZooKeeperServer.checkACL: whether a connection holding ids may
// do something that needs any bit of perm on a znode whose ACL is acls.
// It is true when SkipACL is set, when acls is empty, when ids holds a
// "super" id, or when an entry of acls grants a bit of perm and is
// world:anyone or an ip/digest entry that one of ids of the same scheme
// matches (digest: the ids are equal strings; ip: the connection's IPv4
// address equals the entry's address under its /bits mask). Entries of
// other schemes never match. A false Check is NOAUTH.
func (p *Policy) Check(acls []proto.ACL, perm int32, ids []proto.Id) bool {
	if p.opts.SkipACL || len(acls) == 0 {
		return true
	}
	for _, id := range ids {
		if id.Scheme == SchemeSuper {
			return true
		}
	}
	for _, a := range acls {
		if a.Perms&perm == 0 {
			continue
		}
		if a.ID.Scheme == SchemeWorld && a.ID.ID == "anyone" {
			return true
		}
		if !p.provider(a.ID.Scheme) {
			continue
		}
		for _, id := range ids {
			if id.Scheme == a.ID.Scheme && p.matches(a.ID.Scheme, id.ID, a.ID.ID) {
				return true
			}
		}
	}
	return false
}

func (p *Policy) matches(scheme, id, aclExpr string) bool {
	if scheme == SchemeIP {
		return ipMatches(id, aclExpr)
	}
	return id == aclExpr // digest
}

// Fixup is PrepRequestProcessor.fixupACL, run on the ACL of every create
// and setACL with the request's identities (AuthInfo.IDs). It returns a new
// list; acls is not modified. In Java's order:
//
//  1. Exact duplicates are removed, the first occurrence kept. A nil or
//     empty list, before or after, is INVALIDACL.
//  2. Each entry in order: world:anyone is kept; an "auth" entry (whatever
//     its id) is replaced by one entry with its perms per identity in ids
//     whose provider says it is authenticated — digest ids, not ip ids,
//     not super (no provider) — in the order of ids, INVALIDACL when there
//     is none; any other entry is kept if its scheme has a provider that
//     accepts the id (digest: see validDigestID; ip: IPv4 with an optional
//     /0..32), and is INVALIDACL otherwise (other world ids, super, sasl,
//     unknown schemes, IPv6).
//
// The expanded list is not deduplicated again. Where Java's code throws a
// NullPointerException on a null scheme or id (an entry with equal perms
// compared with a null scheme or id during deduplication, a world entry
// with a null id, a digest or ip entry with a null id) Fixup answers what
// Java's prep step then replies: MARSHALLINGERROR. A null scheme met
// otherwise is INVALIDACL, as in Java.
func (p *Policy) Fixup(acls []proto.ACL, ids []proto.Id) ([]proto.ACL, proto.ErrCode) {
	uniq, code := removeDuplicates(acls)
	if code != proto.ErrOK {
		return nil, code
	}
	if len(uniq) == 0 {
		return nil, proto.ErrInvalidACL
	}
	out := make([]proto.ACL, 0, len(uniq))
	for _, a := range uniq {
		id := a.ID
		if id.NullScheme {
			return nil, proto.ErrInvalidACL
		}
		switch {
		case id.Scheme == SchemeWorld && id.NullID:
			return nil, proto.ErrMarshallingError
		case id.Scheme == SchemeWorld && id.ID == "anyone":
			out = append(out, a)
		case id.Scheme == SchemeAuth:
			found := false
			for _, cid := range ids {
				if cid.Scheme == SchemeDigest && p.digest != nil { // the only authenticated provider
					found = true
					out = append(out, proto.ACL{Perms: a.Perms, ID: cid})
				}
			}
			if !found {
				return nil, proto.ErrInvalidACL
			}
		default:
			if !p.provider(id.Scheme) {
				return nil, proto.ErrInvalidACL
			}
			if id.NullID {
				return nil, proto.ErrMarshallingError
			}
			if !p.valid(id.Scheme, id.ID) {
				return nil, proto.ErrInvalidACL
			}
			out = append(out, a)
		}
	}
	return out, proto.ErrOK
}

func (p *Policy) valid(scheme, id string) bool {
	if scheme == SchemeIP {
		return validIPID(id)
	}
	return validDigestID(id)
}

// removeDuplicates is PrepRequestProcessor.removeDuplicates: keep the first
// of equal entries. Java tests each entry with ArrayList.contains, i.e.
// entry.equals(kept) for every kept entry until one is equal; the
// jute-generated equals compares perms, then scheme.equals, then id.equals,
// which throws on a null scheme or id of entry (reported here as
// MARSHALLINGERROR, see Fixup).
func removeDuplicates(acls []proto.ACL) ([]proto.ACL, proto.ErrCode) {
	out := make([]proto.ACL, 0, len(acls))
next:
	for _, a := range acls {
		for _, k := range out {
			if a.Perms != k.Perms {
				continue
			}
			if a.ID.NullScheme {
				return nil, proto.ErrMarshallingError
			}
			if k.ID.NullScheme || a.ID.Scheme != k.ID.Scheme {
				continue
			}
			if a.ID.NullID {
				return nil, proto.ErrMarshallingError
			}
			if !k.ID.NullID && a.ID.ID == k.ID.ID {
				continue next
			}
		}
		out = append(out, a)
	}
	return out, proto.ErrOK
}

// GetACL is the permission part of a getACL request (FinalRequestProcessor)
// on a znode that exists (NONODE comes first): NOAUTH unless the ids hold
// READ or ADMIN; with ADMIN the reply carries acls as stored, with READ
// only a copy in which every digest entry's id has each ':' and the rest of
// its line replaced by ":x" (Java's replaceAll(":.*", ":x")), hiding the
// password hashes ("alice:x").
func (p *Policy) GetACL(acls []proto.ACL, ids []proto.Id) ([]proto.ACL, proto.ErrCode) {
	if !p.Check(acls, proto.PermRead|proto.PermAdmin, ids) {
		return nil, proto.ErrNoAuth
	}
	if p.Check(acls, proto.PermAdmin, ids) {
		return acls, proto.ErrOK
	}
	masked := make([]proto.ACL, len(acls))
	for i, a := range acls {
		if a.ID.Scheme == SchemeDigest && !a.ID.NullScheme && !a.ID.NullID {
			a.ID.ID = maskDigest(a.ID.ID)
		}
		masked[i] = a
	}
	return masked, proto.ErrOK
}

// maskDigest is s.replaceAll(":.*", ":x") with Java's '.', which matches
// anything but the line terminators \n, \r, U+0085, U+2028 and U+2029.
func maskDigest(s string) string {
	if !strings.Contains(s, ":") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] != ':' {
			b.WriteByte(s[i])
			i++
			continue
		}
		b.WriteString(":x")
		i++
		for i < len(s) {
			r, size := rune(s[i]), 1
			if r >= 0x80 {
				r, size = utf8.DecodeRuneInString(s[i:])
			}
			if r == '\n' || r == '\r' || r == 0x85 || r == 0x2028 || r == 0x2029 {
				break
			}
			i += size
		}
	}
	return b.String()
}

// WhoAmI is the body of a whoAmI reply (AuthUtil.getClientInfos): one
// ClientInfo per identity, in the order of ids, with the provider's user
// name: the address for ip, the part before the first ':' for digest, ""
// for schemes without a provider (super, and digest when disabled).
func (p *Policy) WhoAmI(ids []proto.Id) []proto.ClientInfo {
	out := make([]proto.ClientInfo, len(ids))
	for i, id := range ids {
		user := ""
		switch {
		case id.Scheme == SchemeIP:
			user = id.ID
		case id.Scheme == SchemeDigest && p.digest != nil:
			user = digestUser(id.ID)
		}
		out[i] = proto.ClientInfo{AuthScheme: id.Scheme, User: user}
	}
	return out
}
