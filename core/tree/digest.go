package tree

import (
	"encoding/binary"
	"hash/crc32"
	"strings"
	"unsafe"

	"github.com/zkobserver/zkobserver/core/proto"
)

// zookeeperSubtree is the prefix of nodes that never count in the digest.
// /zookeeper itself does count.
const zookeeperSubtree = "/zookeeper/"

// statSize is the size of the stat block a node digest covers.
const statSize = 60

// NodeDigest is ZooKeeper's digest (version 2) of one node: CRC-32 (IEEE)
// over the path bytes (root as ""), the data (nothing when null) and the
// stored stat in the order czxid, mzxid, pzxid, ctime, mtime, version,
// cversion, aversion, ephemeralOwner. Nodes under /zookeeper/ contribute 0.
func NodeDigest(path string, data []byte, st *proto.StatPersisted) uint32 {
	var d digester
	return d.node(path, data, st)
}

// digester computes node digests with scratch space of its own (hash/crc32
// makes its argument escape, so a local buffer would be a heap allocation
// per call). The tree's digester is guarded by the write lock.
type digester struct {
	buf []byte
	// a and b hold two stat blocks for restat, each after 4 zero bytes so
	// that the CRC runs over 64 bytes (the vectorised path starts there).
	a, b [4 + statSize]byte
}

// maxJoined bounds the path+data+stat that node copies into one buffer for
// a single CRC pass; longer data is hashed in place, in three passes.
const maxJoined = 8 << 10

// node returns NodeDigest(path, data, st).
func (d *digester) node(path string, data []byte, st *proto.StatPersisted) uint32 {
	if strings.HasPrefix(path, zookeeperSubtree) {
		return 0
	}
	if path == "/" {
		path = ""
	}
	if n := len(path) + len(data) + statSize; n <= maxJoined {
		// One pass over one buffer: CRC-32 is far cheaper per byte on
		// one long input than on three short ones.
		b := append(d.buf[:0], path...)
		b = append(b, data...)
		b = appendStat(b, st)
		d.buf = b
		return crc32.ChecksumIEEE(b)
	}
	h := crc32.Update(0, crc32.IEEETable, unsafe.Slice(unsafe.StringData(path), len(path)))
	h = crc32.Update(h, crc32.IEEETable, data)
	putStat(d.a[4:], st)
	return crc32.Update(h, crc32.IEEETable, d.a[4:])
}

// restat returns the digest of a node whose stored stat changed from old to
// cur, its path and data unchanged, given its digest sum before the change.
//
// CRC-32 is affine over GF(2): for messages of equal length,
// crc(m1) ^ crc(m2) = crc0(m1 ^ m2), where crc0 is the bare CRC register
// update from zero (no pre- or post-inversion). The two messages differ only
// in their trailing stat block, and leading zero bytes leave a zero register
// unchanged, so the change is crc0 of the two stat blocks XORed: the path and
// the data (which may be large, and are cold in cache) are not read.
func (d *digester) restat(sum uint32, old, cur *proto.StatPersisted) uint32 {
	putStat(d.a[4:], old)
	putStat(d.b[4:], cur)
	for i := 4; i < len(d.a); i++ {
		d.a[i] ^= d.b[i]
	}
	// Update with ^0 as its (pre-inverted) start is crc0, post-inverted.
	return sum ^ ^crc32.Update(^uint32(0), crc32.IEEETable, d.a[:])
}

func putStat(s []byte, st *proto.StatPersisted) {
	_ = s[statSize-1]
	binary.BigEndian.PutUint64(s[0:], uint64(st.Czxid))
	binary.BigEndian.PutUint64(s[8:], uint64(st.Mzxid))
	binary.BigEndian.PutUint64(s[16:], uint64(st.Pzxid))
	binary.BigEndian.PutUint64(s[24:], uint64(st.Ctime))
	binary.BigEndian.PutUint64(s[32:], uint64(st.Mtime))
	binary.BigEndian.PutUint32(s[40:], uint32(st.Version))
	binary.BigEndian.PutUint32(s[44:], uint32(st.Cversion))
	binary.BigEndian.PutUint32(s[48:], uint32(st.Aversion))
	binary.BigEndian.PutUint64(s[52:], uint64(st.EphemeralOwner))
}

func appendStat(b []byte, st *proto.StatPersisted) []byte {
	b = append(b, make([]byte, statSize)...)
	putStat(b[len(b)-statSize:], st)
	return b
}
