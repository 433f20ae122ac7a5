package bolt

import (
	"encoding/binary"
	"hash/crc32"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// A digest summarises the entries of a bucket independently of their order:
// their count and the sum (mod 2^64) of a hash of each key with the CRC that
// ends its value. Every value carries its own CRC (storage/value.go), but
// nothing checks a key, and bbolt does not checksum its pages: a flipped
// byte in a key would rename a node, and a damaged page header could drop
// entries, both silently. The digest, kept up to date by every commit in
// the same transaction and checked at the end of Load, catches both.
type digest struct {
	n   uint64
	sum uint64
}

// entryHash hashes a key with its value's CRC (its last 4 bytes). Each
// step of keyHash, and mix, is a bijection of the running state for fixed
// input, so changing any one 8-byte word of a key (a damaged byte) always
// changes the hash.
func entryHash(k, v []byte) uint64 {
	var vc uint64
	if len(v) >= 4 {
		vc = uint64(binary.BigEndian.Uint32(v[len(v)-4:]))
	} else {
		vc = uint64(crc32.Checksum(v, castagnoli))
	}
	return mix(keyHash(k) ^ (vc+1)*0x9e3779b97f4a7c15)
}

func keyHash(k []byte) uint64 {
	const m = 0xff51afd7ed558ccd
	h := uint64(len(k)) * 0xc2b2ae3d27d4eb4f
	for len(k) >= 8 {
		h = (h ^ binary.LittleEndian.Uint64(k)) * m
		h ^= h >> 32
		k = k[8:]
	}
	if len(k) > 0 {
		var w uint64
		for i, c := range k {
			w |= uint64(c) << (8 * i)
		}
		h = (h ^ w) * m
		h ^= h >> 32
	}
	return h
}

// mix is the splitmix64 finaliser.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

func (d *digest) add(k, v []byte) {
	d.n++
	d.sum += entryHash(k, v)
}

func (d *digest) remove(k, v []byte) {
	d.n--
	d.sum -= entryHash(k, v)
}

// digests is the stored pair, for nodes and sessions.
type digests struct {
	nodes, sessions digest
}

const digestsSize = 4*8 + 4

func (ds digests) encode() []byte {
	b := make([]byte, 0, digestsSize)
	b = binary.BigEndian.AppendUint64(b, ds.nodes.n)
	b = binary.BigEndian.AppendUint64(b, ds.nodes.sum)
	b = binary.BigEndian.AppendUint64(b, ds.sessions.n)
	b = binary.BigEndian.AppendUint64(b, ds.sessions.sum)
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

func decodeDigests(b []byte) (digests, bool) {
	if len(b) != digestsSize || binary.BigEndian.Uint32(b[32:]) != crc32.Checksum(b[:32], castagnoli) {
		return digests{}, false
	}
	be := binary.BigEndian
	return digests{
		nodes:    digest{n: be.Uint64(b[0:]), sum: be.Uint64(b[8:])},
		sessions: digest{n: be.Uint64(b[16:]), sum: be.Uint64(b[24:])},
	}, true
}
