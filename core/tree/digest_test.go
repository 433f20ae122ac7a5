package tree

import (
	"hash/crc32"
	"math/rand"
	"testing"

	"github.com/zkobserver/zkobserver/core/proto"
)

// TestDigesterAgreesWithNodeDigest: the one-pass digest and the stat-delta
// digest equal a plain three-part CRC for paths and data on both sides of
// the join limit, and for every stat field changed alone or together.
func TestDigesterAgreesWithNodeDigest(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	randStat := func() proto.StatPersisted {
		return proto.StatPersisted{
			Czxid: rng.Int63(), Mzxid: rng.Int63(), Pzxid: rng.Int63(), Ctime: rng.Int63(), Mtime: rng.Int63(),
			Version: rng.Int31(), Cversion: rng.Int31(), Aversion: rng.Int31(), EphemeralOwner: -rng.Int63(),
		}
	}
	mutators := []func(*proto.StatPersisted){
		func(s *proto.StatPersisted) { s.Czxid++ },
		func(s *proto.StatPersisted) { s.Mzxid = rng.Int63() },
		func(s *proto.StatPersisted) { s.Pzxid = rng.Int63() },
		func(s *proto.StatPersisted) { s.Ctime ^= 1 << 62 },
		func(s *proto.StatPersisted) { s.Mtime = 0 },
		func(s *proto.StatPersisted) { s.Version = -1 },
		func(s *proto.StatPersisted) { s.Cversion++ },
		func(s *proto.StatPersisted) { s.Aversion = rng.Int31() },
		func(s *proto.StatPersisted) { s.EphemeralOwner = ContainerOwner },
		func(s *proto.StatPersisted) { *s = randStat() },
	}
	var d digester
	for _, size := range []int{-1, 0, 1, 63, 64, 600, maxJoined - 100, maxJoined, 3 * maxJoined} {
		var data []byte // -1: null data
		if size >= 0 {
			data = make([]byte, size)
			rng.Read(data)
		}
		for _, path := range []string{"", "/", "/a", "/some/longer/path/with/many/components/0000000042"} {
			st := randStat()
			want := plainDigest(path, data, &st)
			sum := d.node(path, data, &st)
			if sum != want || NodeDigest(path, data, &st) != want {
				t.Fatalf("size %d path %q: node %d, want %d", size, path, sum, want)
			}
			for i, mutate := range mutators {
				old := st
				mutate(&st)
				sum = d.restat(sum, &old, &st)
				if want := plainDigest(path, data, &st); sum != want {
					t.Fatalf("size %d path %q mutator %d: restat %d, want %d", size, path, i, sum, want)
				}
			}
		}
	}
	st := randStat()
	if d.node("/zookeeper/quota", []byte("x"), &st) != 0 {
		t.Fatal("a node under /zookeeper/ counts")
	}
}

// plainDigest is the definition: CRC-32 of path, data and stat block, one
// after the other.
func plainDigest(path string, data []byte, st *proto.StatPersisted) uint32 {
	if path == "/" {
		path = ""
	}
	b := append([]byte(path), data...)
	var s [statSize]byte
	putStat(s[:], st)
	return crc32.ChecksumIEEE(append(b, s[:]...))
}
