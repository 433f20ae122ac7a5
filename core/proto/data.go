package proto

import "github.com/zkobserver/zkobserver/core/jute"

// Permission bits of an ACL entry.
const (
	PermRead   int32 = 1
	PermWrite  int32 = 2
	PermCreate int32 = 4
	PermDelete int32 = 8
	PermAdmin  int32 = 16
	PermAll    int32 = 31
)

// Id is an authentication identity (scheme, id), e.g. ("world", "anyone").
// Either string may be null on the wire (kazoo sends null for ""); the Null
// flags keep that distinct so a record re-encodes to the same bytes, and make
// two Ids equal exactly when Java's Id.equals would say so.
type Id struct {
	Scheme     string
	ID         string
	NullScheme bool
	NullID     bool
}

// Encode implements jute.Record.
func (r *Id) Encode(e *jute.Encoder) {
	e.NullableString(r.Scheme, !r.NullScheme)
	e.NullableString(r.ID, !r.NullID)
}

// Decode implements jute.Record.
func (r *Id) Decode(d *jute.Decoder) error {
	var ok bool
	r.Scheme, ok = d.NullableString()
	r.NullScheme = !ok
	r.ID, ok = d.NullableString()
	r.NullID = !ok
	return d.Err()
}

// ACL is one access-control entry.
type ACL struct {
	Perms int32
	ID    Id
}

// Well-known ACLs.
var (
	WorldAnyone   = Id{Scheme: "world", ID: "anyone"}
	OpenACLUnsafe = []ACL{{Perms: PermAll, ID: WorldAnyone}}
	ReadACLUnsafe = []ACL{{Perms: PermRead, ID: WorldAnyone}}
	CreatorAllACL = []ACL{{Perms: PermAll, ID: Id{Scheme: "auth", ID: ""}}}
)

// Encode implements jute.Record.
func (r *ACL) Encode(e *jute.Encoder) {
	e.Int(r.Perms)
	r.ID.Encode(e)
}

// Decode implements jute.Record.
func (r *ACL) Decode(d *jute.Decoder) error {
	r.Perms = d.Int()
	return r.ID.Decode(d)
}

// minACLSize is the smallest encoding of an ACL: perms and two null strings.
const minACLSize = 12

// EncodeACLs writes a vector<ACL>; nil is written as null.
func EncodeACLs(e *jute.Encoder, acls []ACL) {
	e.VectorLen(len(acls), acls == nil)
	for i := range acls {
		acls[i].Encode(e)
	}
}

// openACLBytes and readACLBytes are the encodings of OPEN_ACL_UNSAFE and
// READ_ACL_UNSAFE, which most znodes carry.
var (
	openACLBytes = encodeACLList(OpenACLUnsafe)
	readACLBytes = encodeACLList(ReadACLUnsafe)
)

func encodeACLList(acls []ACL) []byte {
	var e jute.Encoder
	EncodeACLs(&e, acls)
	return e.Bytes()
}

// DecodeACLs reads a vector<ACL>: nil for null, non-nil for empty. The two
// common lists, OPEN_ACL_UNSAFE and READ_ACL_UNSAFE, decode without
// allocating to the shared values of this package: callers must never
// modify a decoded ACL list.
func DecodeACLs(d *jute.Decoder) []ACL {
	if d.HasPrefix(openACLBytes) {
		d.Skip(len(openACLBytes))
		return OpenACLUnsafe
	}
	if d.HasPrefix(readACLBytes) {
		d.Skip(len(readACLBytes))
		return ReadACLUnsafe
	}
	n, null := d.VectorLen(minACLSize)
	if null {
		return nil
	}
	acls := make([]ACL, n)
	for i := range acls {
		acls[i].Decode(d)
		if d.Err() != nil {
			return nil
		}
	}
	return acls
}

// EqualACLs reports whether two ACL lists are identical, entry by entry,
// including null-ness of the lists.
func EqualACLs(a, b []ACL) bool {
	if (a == nil) != (b == nil) || len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// StatPersisted is the stat as stored in snapshots (60 bytes). Cversion is
// the stored counter, not the client-visible value (see Stat).
type StatPersisted struct {
	Czxid          int64
	Mzxid          int64
	Ctime          int64
	Mtime          int64
	Version        int32
	Cversion       int32
	Aversion       int32
	EphemeralOwner int64
	Pzxid          int64
}

// StatPersistedSize is the encoded size of StatPersisted.
const StatPersistedSize = 60

// Encode implements jute.Record.
func (r *StatPersisted) Encode(e *jute.Encoder) {
	e.Long(r.Czxid)
	e.Long(r.Mzxid)
	e.Long(r.Ctime)
	e.Long(r.Mtime)
	e.Int(r.Version)
	e.Int(r.Cversion)
	e.Int(r.Aversion)
	e.Long(r.EphemeralOwner)
	e.Long(r.Pzxid)
}

// Decode implements jute.Record.
func (r *StatPersisted) Decode(d *jute.Decoder) error {
	r.Czxid = d.Long()
	r.Mzxid = d.Long()
	r.Ctime = d.Long()
	r.Mtime = d.Long()
	r.Version = d.Int()
	r.Cversion = d.Int()
	r.Aversion = d.Int()
	r.EphemeralOwner = d.Long()
	r.Pzxid = d.Long()
	return d.Err()
}

// Stat is the client-visible stat (68 bytes).
type Stat struct {
	Czxid          int64
	Mzxid          int64
	Ctime          int64
	Mtime          int64
	Version        int32
	Cversion       int32
	Aversion       int32
	EphemeralOwner int64
	DataLength     int32
	NumChildren    int32
	Pzxid          int64
}

// StatSize is the encoded size of Stat.
const StatSize = 68

// Encode implements jute.Record.
func (r *Stat) Encode(e *jute.Encoder) {
	e.Long(r.Czxid)
	e.Long(r.Mzxid)
	e.Long(r.Ctime)
	e.Long(r.Mtime)
	e.Int(r.Version)
	e.Int(r.Cversion)
	e.Int(r.Aversion)
	e.Long(r.EphemeralOwner)
	e.Int(r.DataLength)
	e.Int(r.NumChildren)
	e.Long(r.Pzxid)
}

// Decode implements jute.Record.
func (r *Stat) Decode(d *jute.Decoder) error {
	r.Czxid = d.Long()
	r.Mzxid = d.Long()
	r.Ctime = d.Long()
	r.Mtime = d.Long()
	r.Version = d.Int()
	r.Cversion = d.Int()
	r.Aversion = d.Int()
	r.EphemeralOwner = d.Long()
	r.DataLength = d.Int()
	r.NumChildren = d.Int()
	r.Pzxid = d.Long()
	return d.Err()
}
