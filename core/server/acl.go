package server

import (
	"crypto/sha1"
	"encoding/base64"
	"strings"

	"github.com/zkobserver/zkobserver/core/proto"
)

// ACL is what the server asks of the ACL layer (Java's checkACL, the auth
// providers and whoAmI). Implementations must be safe for concurrent use and
// must not block; Check is called inside a tree View.
//
// TODO(core/acl): core/acl will provide the real implementation (world,
// digest, ip, auth, super digest); until then Permissive is the default.
type ACL interface {
	// Check returns proto.ErrOK when ids may perform perm on a node whose
	// ACL list is acl, proto.ErrNoAuth otherwise.
	Check(acl []proto.ACL, perm int32, ids []proto.Id) proto.ErrCode
	// Authenticate handles an auth packet (opcode 100) of a connection from
	// remoteIP: the ids it adds, or proto.ErrAuthFailed (the connection is
	// then closed).
	Authenticate(scheme string, auth []byte, remoteIP string) ([]proto.Id, proto.ErrCode)
	// WhoAmI is the whoAmI (107) answer for a connection's ids.
	WhoAmI(ids []proto.Id) []proto.ClientInfo
	// GetACL returns the ACL list getACL (6) shows to ids; Java masks
	// digest credentials when the caller lacks ADMIN. It must not modify
	// acl.
	GetACL(acl []proto.ACL, ids []proto.Id) []proto.ACL
}

// Permissive is the stand-in ACL layer: every check passes; "digest" auth
// adds the digest id Java would compute (so that the leader checks forwarded
// writes against the right identity), any other scheme adds (scheme, auth)
// as given.
type Permissive struct{}

// Check implements ACL: always ErrOK.
func (Permissive) Check([]proto.ACL, int32, []proto.Id) proto.ErrCode { return proto.ErrOK }

// Authenticate implements ACL.
func (Permissive) Authenticate(scheme string, auth []byte, _ string) ([]proto.Id, proto.ErrCode) {
	if scheme == "digest" {
		user, _, ok := strings.Cut(string(auth), ":")
		if !ok {
			return nil, proto.ErrAuthFailed
		}
		sum := sha1.Sum(auth)
		return []proto.Id{{Scheme: "digest", ID: user + ":" + base64.StdEncoding.EncodeToString(sum[:])}}, proto.ErrOK
	}
	if scheme == "" {
		return nil, proto.ErrAuthFailed
	}
	return []proto.Id{{Scheme: scheme, ID: string(auth)}}, proto.ErrOK
}

// WhoAmI implements ACL: one entry per id, digest ids shown by user name.
func (Permissive) WhoAmI(ids []proto.Id) []proto.ClientInfo {
	out := make([]proto.ClientInfo, 0, len(ids))
	for _, id := range ids {
		user := id.ID
		if id.Scheme == "digest" {
			user, _, _ = strings.Cut(user, ":")
		}
		out = append(out, proto.ClientInfo{AuthScheme: id.Scheme, User: user})
	}
	return out
}

// GetACL implements ACL: the list as stored.
func (Permissive) GetACL(acl []proto.ACL, _ []proto.Id) []proto.ACL { return acl }
