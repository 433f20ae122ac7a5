package server

import (
	"net"

	"github.com/zkobserver/zkobserver/core/acl"
	"github.com/zkobserver/zkobserver/core/proto"
)

// ACL is what the server asks of the ACL layer (Java's checkACL, the auth
// providers, getACL's masking and whoAmI). Implementations must be safe for
// concurrent use and must not block; Check and GetACL are called inside a
// tree View.
//
// The ids passed in are a connection's identities in Java's order
// (acl.AuthInfo.IDs): its ip id first added, then every id an auth packet
// added. The same list is forwarded to the leader with each write, which
// checks writes itself; the server checks only what it answers locally
// (reads, getACL, the top-level check).
type ACL interface {
	// Check returns proto.ErrOK when ids may perform any bit of perm on a
	// node whose ACL list is acl, proto.ErrNoAuth otherwise.
	Check(acl []proto.ACL, perm int32, ids []proto.Id) proto.ErrCode
	// Authenticate handles an auth packet (opcode 100) of a connection whose
	// peer is remote: the ids it adds, or proto.ErrAuthFailed (the
	// connection is then closed after the reply).
	Authenticate(scheme string, auth []byte, remote net.Addr) ([]proto.Id, proto.ErrCode)
	// WhoAmI is the whoAmI (107) answer for a connection's ids.
	WhoAmI(ids []proto.Id) []proto.ClientInfo
	// GetACL returns the ACL list getACL (6) shows to ids, which the server
	// has already checked for READ or ADMIN; Java masks digest credentials
	// when the caller lacks ADMIN. It must not modify acl.
	GetACL(acl []proto.ACL, ids []proto.Id) []proto.ACL
}

// Policy is the ACL layer of a Java 3.8.0 server: core/acl's Policy (world,
// digest, ip and auth entries, the super digest, skipACL). The zero value
// uses acl.Default, Java's behaviour without any ACL property.
type Policy struct {
	P *acl.Policy
}

var _ ACL = Policy{}

func (p Policy) policy() *acl.Policy {
	if p.P == nil {
		return acl.Default
	}
	return p.P
}

// Check implements ACL with acl.Policy.Check.
func (p Policy) Check(acls []proto.ACL, perm int32, ids []proto.Id) proto.ErrCode {
	if p.policy().Check(acls, perm, ids) {
		return proto.ErrOK
	}
	return proto.ErrNoAuth
}

// Authenticate implements ACL with acl.Policy.Auth: digest always succeeds
// (adding super first when it matches the super digest), ip re-adds the
// connection's ip id, any other scheme fails.
func (p Policy) Authenticate(scheme string, auth []byte, remote net.Addr) ([]proto.Id, proto.ErrCode) {
	return p.policy().Auth(scheme, auth, remote)
}

// WhoAmI implements ACL with acl.Policy.WhoAmI.
func (p Policy) WhoAmI(ids []proto.Id) []proto.ClientInfo { return p.policy().WhoAmI(ids) }

// GetACL implements ACL with acl.Policy.GetACL: the stored list with ADMIN,
// digest ids masked as "user:x" with READ only. Without either it returns
// nil (the server answers NOAUTH before asking).
func (p Policy) GetACL(acls []proto.ACL, ids []proto.Id) []proto.ACL {
	out, code := p.policy().GetACL(acls, ids)
	if code != proto.ErrOK {
		return nil
	}
	return out
}
