package snapshot

import (
	"github.com/zkobserver/zkobserver/core/jute"
	"github.com/zkobserver/zkobserver/core/proto"
)

// File header magics and the values Java writes.
const (
	SnapMagic   int32 = 0x5A4B534E // "ZKSN"
	LogMagic    int32 = 0x5A4B4C47 // "ZKLG"
	FileVersion int32 = 2
	SnapDBID    int64 = -1 // dbid in snapshot headers
	LogDBID     int64 = 0  // dbid in log headers
)

// FileHeaderSize is the encoded size of FileHeader.
const FileHeaderSize = proto.FileHeaderSize

// FileHeader starts every snapshot and log file; see proto.FileHeader.
type FileHeader = proto.FileHeader

// SnapHeader and LogHeader are the headers Java 3.8 writes.
var (
	SnapHeader = FileHeader{Magic: SnapMagic, Version: FileVersion, DBID: SnapDBID}
	LogHeader  = FileHeader{Magic: LogMagic, Version: FileVersion, DBID: LogDBID}
)

// Session is one entry of a snapshot's session table.
type Session struct {
	ID      int64
	Timeout int32 // milliseconds, as negotiated at session creation
}

// ACLEntry is one entry of a snapshot's ACL cache: nodes refer to ACL lists
// by Index. ACL is never nil for entries read from a snapshot (a null vector
// is rejected), but may be empty.
type ACLEntry struct {
	Index int64
	ACL   []proto.ACL
}

// OpenACLIndex is the ACL index meaning OPEN_ACL_UNSAFE; it is never stored
// in the ACL cache.
const OpenACLIndex int64 = -1

// Node is one node record of a snapshot body.
type Node struct {
	// Path is the node's path as stored: "" for the root, "/a/b" otherwise.
	// A reader never returns "/" (that is the terminator).
	Path string
	// Data is nil for null data, non-nil (possibly empty) otherwise.
	Data []byte
	// ACL is an index into the ACL cache, or OpenACLIndex.
	ACL  int64
	Stat proto.StatPersisted
}

// ZxidDigest is the optional digest block that follows seal #1 in
// snapshot files written by 3.6+ servers with digests enabled.
type ZxidDigest struct {
	// Present reports whether the file has a digest block (and seal #2).
	// The other fields are zero when it is false.
	Present bool
	// Zxid is the zxid the digest belongs to; 0 means Java had no digest
	// (it then ignores the block).
	Zxid int64
	// Version is the digest version (2 in 3.8).
	Version int32
	// Digest is the tree digest. For Version < 2 it is parsed from Hex.
	Digest int64
	// Hex and HexNull hold the ustring form that digest versions below 2
	// use instead of a long; unused for Version >= 2.
	Hex     string
	HexNull bool
}

// Options configure decoders. A nil *Options means the defaults.
type Options struct {
	// MaxLength is the largest buffer or string length accepted (Java's
	// jute.maxbuffer + zookeeper.jute.maxbuffer.extrasize); 0 means
	// jute.DefaultMaxLength. It also bounds log entry lengths.
	MaxLength int
}

func (o *Options) maxLength() int {
	if o == nil || o.MaxLength <= 0 {
		return jute.DefaultMaxLength
	}
	return o.MaxLength
}
