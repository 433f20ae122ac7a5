package storage

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"

	"github.com/zkobserver/zkobserver/core/jute"
	"github.com/zkobserver/zkobserver/core/proto"
)

// The value encoding shared by the durable engines. Every value ends with a
// CRC-32C of the bytes before it, so a flipped or truncated value is caught
// at load (bbolt does not checksum its data pages).
//
//	node:    byte version=1 ; StatPersisted (60) ; vector<ACL> ; buffer data ; uint32 crc
//	session: int32 timeout ; uint32 crc
//	meta:    byte version=1 ; int64 lastZxid ; int64 acceptedEpoch ; int64 currentEpoch ;
//	         byte flags (1 = needs resync) ; uint32 crc
//
// Keys: a node's key is its path ("/" for the root), so byte order puts
// parents before children; a session's key is its id, 8 bytes big-endian.

const (
	nodeValueVersion = 1
	metaValueVersion = 1
	crcSize          = 4
	// MetaValueSize is the encoded size of Meta.
	MetaValueSize = 1 + 8 + 8 + 8 + 1 + crcSize
	// SessionValueSize is the encoded size of a session's timeout.
	SessionValueSize = 4 + crcSize
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func seal(b []byte, start int) []byte {
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b[start:], castagnoli))
}

// unseal checks the trailing CRC of v and returns the bytes before it.
func unseal(v []byte) ([]byte, bool) {
	if len(v) < crcSize {
		return nil, false
	}
	body := v[:len(v)-crcSize]
	return body, binary.BigEndian.Uint32(v[len(v)-crcSize:]) == crc32.Checksum(body, castagnoli)
}

// NodeKey returns the key of a node path ("" and "/" are the root).
func NodeKey(path string) []byte {
	if path == "" {
		return []byte{'/'}
	}
	return []byte(path)
}

// PathOfKey is the inverse of NodeKey.
func PathOfKey(k []byte) string { return string(k) }

// AppendNodeValue appends the encoding of n's data, ACL and stat to dst.
func AppendNodeValue(dst []byte, n *Node) []byte {
	start := len(dst)
	e := jute.NewEncoder(append(dst, nodeValueVersion))
	n.Stat.Encode(e)
	proto.EncodeACLs(e, n.ACL)
	e.Buffer(n.Data)
	return seal(e.Bytes(), start)
}

// DecodeNodeValue decodes a node value stored under path. The returned node
// owns its slices (nothing aliases v). A value that fails its checks gives an
// error wrapping ErrCorrupt. For many nodes, use a NodeDecoder.
func DecodeNodeValue(path string, v []byte) (*Node, error) {
	var nd NodeDecoder
	return nd.Decode(path, v)
}

// NodeDecoder decodes node values, sharing one []proto.ACL between nodes
// whose ACL bytes are equal (a tree has few distinct ACL lists), which keeps
// a load of millions of nodes to one allocation for the data. The zero
// value is ready; not safe for concurrent use. Shared ACL slices must not be
// modified.
type NodeDecoder struct {
	acls map[string][]proto.ACL
}

// Decode decodes a node value stored under path; see DecodeNodeValue.
func (nd *NodeDecoder) Decode(path string, v []byte) (*Node, error) {
	n := &Node{}
	if err := nd.DecodeInto(n, path, v); err != nil {
		return nil, err
	}
	return n, nil
}

// DecodeInto is Decode into a Node the caller provides (and may reuse): a
// load can then allocate nothing per node but the data and the path.
func (nd *NodeDecoder) DecodeInto(n *Node, path string, v []byte) error {
	body, ok := unseal(v)
	if !ok {
		return fmt.Errorf("node %q: %w (checksum)", path, ErrCorrupt)
	}
	if len(body) < 1+proto.StatPersistedSize || body[0] != nodeValueVersion {
		return fmt.Errorf("node %q: %w (unknown value version)", path, ErrCorrupt)
	}
	*n = Node{Path: path}
	d := jute.NewDecoder(body[1:], 1<<30)
	n.Stat.Decode(d)
	aclStart := d.Offset()
	skipACLs(d)
	aclBytes := body[1+aclStart : 1+d.Offset()]
	data := d.Buffer()
	if err := d.Finish(); err != nil {
		return fmt.Errorf("node %q: %w (%v)", path, ErrCorrupt, err)
	}
	if shared, ok := nd.acls[string(aclBytes)]; ok {
		n.ACL = shared
	} else {
		// Decoded strings are copies; the ACL list does not alias v.
		ad := jute.NewDecoder(aclBytes, 1<<30)
		acls := proto.DecodeACLs(ad)
		if err := ad.Finish(); err != nil {
			return fmt.Errorf("node %q: %w (acl: %v)", path, ErrCorrupt, err)
		}
		if nd.acls == nil {
			nd.acls = make(map[string][]proto.ACL)
		}
		if len(nd.acls) < 4096 {
			nd.acls[string(aclBytes)] = acls
		}
		n.ACL = acls
	}
	if data != nil {
		n.Data = append(make([]byte, 0, len(data)), data...)
	}
	return nil
}

// skipACLs moves d past a vector<ACL> without decoding it.
func skipACLs(d *jute.Decoder) {
	n, _ := d.VectorLen(12)
	for i := 0; i < n && d.Err() == nil; i++ {
		d.Int()
		d.Buffer()
		d.Buffer()
	}
}

// AppendSessionValue appends the encoding of a session timeout.
func AppendSessionValue(dst []byte, timeout int32) []byte {
	start := len(dst)
	return seal(binary.BigEndian.AppendUint32(dst, uint32(timeout)), start)
}

// DecodeSessionValue decodes a session timeout.
func DecodeSessionValue(id int64, v []byte) (int32, error) {
	body, ok := unseal(v)
	if !ok || len(body) != 4 {
		return 0, fmt.Errorf("session %#x: %w", id, ErrCorrupt)
	}
	return int32(binary.BigEndian.Uint32(body)), nil
}

// SessionKey returns the key of a session id.
func SessionKey(id int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(id)) }

// SessionOfKey is the inverse of SessionKey.
func SessionOfKey(k []byte) (int64, bool) {
	if len(k) != 8 {
		return 0, false
	}
	return int64(binary.BigEndian.Uint64(k)), true
}

// AppendMetaValue appends the encoding of m.
func AppendMetaValue(dst []byte, m Meta) []byte {
	start := len(dst)
	dst = append(dst, metaValueVersion)
	dst = binary.BigEndian.AppendUint64(dst, uint64(m.LastZxid))
	dst = binary.BigEndian.AppendUint64(dst, uint64(m.AcceptedEpoch))
	dst = binary.BigEndian.AppendUint64(dst, uint64(m.CurrentEpoch))
	var flags byte
	if m.NeedsResync {
		flags |= 1
	}
	return seal(append(dst, flags), start)
}

// DecodeMetaValue decodes a meta value.
func DecodeMetaValue(v []byte) (Meta, error) {
	body, ok := unseal(v)
	if !ok || len(body) != MetaValueSize-crcSize || body[0] != metaValueVersion {
		return Meta{}, fmt.Errorf("meta: %w", ErrCorrupt)
	}
	return Meta{
		LastZxid:      int64(binary.BigEndian.Uint64(body[1:])),
		AcceptedEpoch: int64(binary.BigEndian.Uint64(body[9:])),
		CurrentEpoch:  int64(binary.BigEndian.Uint64(body[17:])),
		NeedsResync:   body[25]&1 != 0,
	}, nil
}
