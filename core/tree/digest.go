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

// NodeDigest is ZooKeeper's digest (version 2) of one node: CRC-32 (IEEE)
// over the path bytes (root as ""), the data (nothing when null) and the
// stored stat in the order czxid, mzxid, pzxid, ctime, mtime, version,
// cversion, aversion, ephemeralOwner. Nodes under /zookeeper/ contribute 0.
func NodeDigest(path string, data []byte, st *proto.StatPersisted) uint32 {
	var s [60]byte
	return nodeDigest(path, data, st, &s)
}

// nodeDigest is NodeDigest with a caller-provided scratch buffer for the
// stat block (hash/crc32 makes its argument escape, so a local array would
// be a heap allocation per call).
func nodeDigest(path string, data []byte, st *proto.StatPersisted, s *[60]byte) uint32 {
	if strings.HasPrefix(path, zookeeperSubtree) {
		return 0
	}
	if path == "/" {
		path = ""
	}
	binary.BigEndian.PutUint64(s[0:], uint64(st.Czxid))
	binary.BigEndian.PutUint64(s[8:], uint64(st.Mzxid))
	binary.BigEndian.PutUint64(s[16:], uint64(st.Pzxid))
	binary.BigEndian.PutUint64(s[24:], uint64(st.Ctime))
	binary.BigEndian.PutUint64(s[32:], uint64(st.Mtime))
	binary.BigEndian.PutUint32(s[40:], uint32(st.Version))
	binary.BigEndian.PutUint32(s[44:], uint32(st.Cversion))
	binary.BigEndian.PutUint32(s[48:], uint32(st.Aversion))
	binary.BigEndian.PutUint64(s[52:], uint64(st.EphemeralOwner))
	// The path's bytes, without copying the string (crc32 only reads them).
	h := crc32.Update(0, crc32.IEEETable, unsafe.Slice(unsafe.StringData(path), len(path)))
	h = crc32.Update(h, crc32.IEEETable, data)
	return crc32.Update(h, crc32.IEEETable, s[:])
}
