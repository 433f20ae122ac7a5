package session

import (
	"encoding/hex"
	"math"
	"sync"
	"testing"
)

// Vectors printed by a JVM (OpenJDK 17) running the 3.8 expression
// ((t << 24) >>> 8) | (sid << 56), +1 for Long.MIN_VALUE, except the
// (128, 0) row, which follows from the same expression.
func TestInitialSessionID(t *testing.T) {
	for _, c := range []struct {
		sid, ms int64
		want    uint64
	}{
		{1, 0, 0x0100000000000000},
		{1, 123456789, 0x0100075bcd150000},
		{2, 0xFFFFFFFFFF, 0x02ffffffffff0000},
		{255, 0x123456789A, 0xff123456789a0000},
		{128, 1, 0x8000000000010000},
		{128, 0, 0x8000000000000001}, // Long.MIN_VALUE is the container marker: skipped
		{127, 0xFFFFFFFFFF, 0x7fffffffffff0000},
		{0, 0, 0},
		{0, 1 << 40, 0},              // only 40 bits of time survive
		{300, 5, 0x2c00000000050000}, // only the low byte of the sid
		{1, -1, 0x01ffffffffff0000},  // unsigned shift: no sign smear into the sid byte
		{-1, 77, 0xff000000004d0000},
		{3, 0x8000000000, 0x0380000000000000}, // bit 39 of the time set
	} {
		if got := uint64(InitialSessionID(c.sid, c.ms)); got != c.want {
			t.Errorf("InitialSessionID(%d, %#x) = %#016x, want %#016x", c.sid, c.ms, got, c.want)
		}
	}
}

func TestAllocatorIncrements(t *testing.T) {
	a := NewAllocator(5, 0x0102030405)
	first := InitialSessionID(5, 0x0102030405)
	for i := range int64(4) {
		if got := a.Next(); got != first+i {
			t.Fatalf("id %d = %#x, want %#x", i, got, first+i)
		}
	}

	// The increments skip the container marker as well.
	b := new(Allocator)
	b.next.Store(math.MaxInt64)
	if got := b.Next(); got != math.MaxInt64 {
		t.Fatalf("got %#x", got)
	}
	if got := b.Next(); got != math.MinInt64+1 {
		t.Fatalf("after MaxInt64 got %#x, want %#x", got, int64(math.MinInt64+1))
	}
}

func TestAllocatorConcurrentUnique(t *testing.T) {
	a := NewAllocator(7, 1000)
	const workers, per = 4, 1000
	got := make([][]int64, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for range per {
				got[w] = append(got[w], a.Next())
			}
		})
	}
	wg.Wait()
	seen := map[int64]bool{}
	for _, ids := range got {
		for _, id := range ids {
			if seen[id] {
				t.Fatalf("id %#x handed out twice", id)
			}
			seen[id] = true
		}
	}
	first := InitialSessionID(7, 1000)
	for i := range int64(workers * per) {
		if !seen[first+i] {
			t.Fatalf("id %#x missing: ids are not consecutive", first+i)
		}
	}
}

func TestElapsedMillisMonotonic(t *testing.T) {
	a := ElapsedMillis()
	b := ElapsedMillis()
	if a <= 0 || b < a {
		t.Fatalf("ElapsedMillis went %d then %d", a, b)
	}
}

// Vectors printed by a JVM (OpenJDK 17): new Random(id ^ 0xB3415C00L)
// .nextBytes(new byte[16]); the first six also appear in the specs.
var passwdVectors = []struct {
	id     uint64
	passwd string
}{
	{0x0100000000000000, "f22acd4a97e69d6d20a49bb638eadb38"},
	{0x10000a1b2c3d0000, "99540115b2ac339b9f3f41ba4b39270b"},
	{0x017f5c2e1a4b0000, "37bbba8ef851fe9e6d828e7801bff9b5"},
	{0x0aa212d095740000, "aef4311fa3b3166b3cba539a247cea3b"},
	{0x0100000c114f0002, "5d0019ed149e0106af7262371686b860"},
	{0x0000000000000001, "054cc74a37327db215e702e20c73f005"},
	{0xffffffffffffffff, "20f62cb5648dc2d771471c8a2486a9ee"},
	{0x8000000000000000, "f22acd4a97e69d6d20a49bb638eadb38"}, // only 48 seed bits count
	{0x7fffffffffffffff, "20f62cb5648dc2d771471c8a2486a9ee"},
	{0xff0000d5c1200000, "5230547277706fc5809832b7183730a1"},
	{0x80123456789a0001, "c79d9573d14da20aa70394be36c9fc41"},
	{0x00000000b3415c00, "60b420bb3851d9d47acb933dbe70399b"}, // seed 0
}

func TestGeneratePasswd(t *testing.T) {
	for _, v := range passwdVectors {
		id := int64(v.id)
		p := GeneratePasswd(id)
		if got := hex.EncodeToString(p[:]); got != v.passwd {
			t.Errorf("GeneratePasswd(%#016x) = %s, want %s", v.id, got, v.passwd)
		}
		if got := hex.EncodeToString(AppendPasswd([]byte{0xAA}, id)); got != "aa"+v.passwd {
			t.Errorf("AppendPasswd(%#016x) = %s", v.id, got)
		}
	}
}

func TestCheckPasswd(t *testing.T) {
	const id = 0x0aa212d095740000
	good, _ := hex.DecodeString("aef4311fa3b3166b3cba539a247cea3b")
	flipped := append([]byte(nil), good...)
	flipped[15] ^= 1
	zero := GeneratePasswd(0)
	for _, c := range []struct {
		name   string
		id     int64
		passwd []byte
		want   bool
	}{
		{"right", id, good, true},
		{"one bit off", id, flipped, false},
		{"other session's", id + 1, good, false},
		{"nil", id, nil, false},
		{"empty", id, []byte{}, false},
		{"short", id, good[:15], false},
		{"long", id, append(append([]byte(nil), good...), 0), false},
		{"session 0 never valid", 0, zero[:], false},
	} {
		if got := CheckPasswd(c.id, c.passwd); got != c.want {
			t.Errorf("%s: CheckPasswd = %v, want %v", c.name, got, c.want)
		}
	}
}

// Values printed by a JVM (OpenJDK 17).
func TestJavaRandom(t *testing.T) {
	r := NewJavaRandom(42)
	for i, want := range []int32{-1170105035, 234785527, -1360544799, 205897768, 1325939940} {
		if got := r.NextInt(); got != want {
			t.Fatalf("Random(42).nextInt #%d = %d, want %d", i, got, want)
		}
	}

	r = NewJavaRandom(-7)
	b := make([]byte, 7) // a partial last group uses one more int
	r.NextBytes(b)
	if got := hex.EncodeToString(b); got != "8c2ae544838bc8" {
		t.Fatalf("Random(-7).nextBytes(7) = %s", got)
	}

	r = NewJavaRandom(0)
	r.NextBytes(nil) // draws nothing
	if got := r.NextInt(); got != -1155484576 {
		t.Fatalf("Random(0).nextInt after nextBytes(empty) = %d", got)
	}
}
