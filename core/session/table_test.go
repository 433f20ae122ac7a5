package session

import (
	"encoding/binary"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
)

type fakeClock struct{ ms atomic.Int64 }

func (c *fakeClock) now() int64 { return c.ms.Load() }

func newTestTable(t *testing.T, sid int64, tick int32, start int64) (*Table, *fakeClock) {
	t.Helper()
	c := new(fakeClock)
	c.ms.Store(start)
	tab, err := New(Config{ServerID: sid, TickTime: tick, Clock: c.now})
	if err != nil {
		t.Fatal(err)
	}
	return tab, c
}

type touch struct {
	id      int64
	timeout int32
}

func decodeTouches(t *testing.T, b []byte) []touch {
	t.Helper()
	if b == nil {
		t.Fatal("Touches returned nil")
	}
	if len(b)%TouchEntryLen != 0 {
		t.Fatalf("touch data of %d bytes", len(b))
	}
	var out []touch
	for ; len(b) > 0; b = b[TouchEntryLen:] {
		out = append(out, touch{int64(binary.BigEndian.Uint64(b)), int32(binary.BigEndian.Uint32(b[8:]))})
	}
	return out
}

func TestNewTable(t *testing.T) {
	if _, err := New(Config{ServerID: 1}); err == nil {
		t.Fatal("tickTime 0 accepted")
	}
	tab, err := New(Config{ServerID: 9, TickTime: 2000}) // real clock
	if err != nil {
		t.Fatal(err)
	}
	if id := tab.CreateLocal(4000, nil); id>>56 != 9 || id&0xFFFF != 0 {
		t.Fatalf("first id %#x: want sid 9 on top and 16 zero bits", id)
	}
}

func TestTableIDs(t *testing.T) {
	for _, sid := range []int64{1, 2, 127, 200, 255} {
		tab, _ := newTestTable(t, sid, 2000, 0x1234567890)
		first := InitialSessionID(sid, 0x1234567890)
		// Local and global sessions share one counter.
		got := []int64{tab.CreateLocal(4000, nil), tab.CreateGlobal(4000, nil), tab.CreateLocal(4000, nil)}
		if want := []int64{first, first + 1, first + 2}; !slices.Equal(got, want) {
			t.Errorf("sid %d: ids %#x, want %#x", sid, got, want)
		}
		if uint64(got[0])>>56 != uint64(sid) {
			t.Errorf("sid %d: top byte of %#x", sid, got[0])
		}
	}
}

func TestTouchTable(t *testing.T) {
	tab, clock := newTestTable(t, 4, 100, 1000)
	local := tab.CreateLocal(1000, "cnxn-l")
	creating := tab.CreateGlobal(2000, "cnxn-c")
	const other = int64(0x0500000000000007) // another server's session (sid 5), above ours

	// Nothing yet: an empty, non-nil buffer, also for a nil dst.
	if b := tab.Touches(nil); b == nil || len(b) != 0 {
		t.Fatalf("empty touch table = %v", b)
	}

	steps := []struct {
		name string
		do   func()
		want []touch
	}{
		{"local activity is not sent to the leader", func() {
			tab.Touch(local, 1000)
		}, nil},
		{"a forwarded createSession's session is touched", func() {
			tab.Touch(creating, 2000)
		}, []touch{{creating, 2000}}},
		{"the table was reset by the previous take", func() {}, nil},
		{"applied createSession txns are touched, any server's (Java's commitSession)", func() {
			tab.CommitSession(creating, 2000)
			tab.CommitSession(other, 6000)
		}, []touch{{creating, 2000}, {other, 6000}}},
		{"the last timeout touched wins; one entry per session, ascending ids", func() {
			tab.Touch(other, 6000)
			tab.Touch(creating, 2000)
			tab.Touch(other, 9000)
		}, []touch{{creating, 2000}, {other, 9000}}},
		{"unknown sessions are not touched", func() {
			if tab.Touch(0x77, 1000) {
				t.Error("Touch of an unknown session succeeded")
			}
		}, nil},
		{"closing sessions are not touched", func() {
			tab.Touch(other, 9000)
			tab.SetClosing(other)
			if tab.Touch(other, 9000) {
				t.Error("Touch of a closing session succeeded")
			}
		}, nil},
		{"a removed session leaves the touch table", func() {
			tab.Touch(creating, 2000)
			tab.Remove(creating)
		}, nil},
	}
	for _, s := range steps {
		clock.ms.Add(10)
		s.do()
		if got := decodeTouches(t, tab.Touches([]byte{})); !slices.Equal(got, s.want) {
			t.Errorf("%s: touches %v, want %v", s.name, got, s.want)
		}
	}

	// Touches appends to dst and uses Java's byte layout.
	tab.CommitSession(-2, 30000)
	b := tab.Touches([]byte{0xEE})
	want := []byte{0xEE, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0, 0, 0x75, 0x30}
	if !slices.Equal(b, want) {
		t.Fatalf("Touches = %x, want %x", b, want)
	}
}

func TestLocalExpiry(t *testing.T) {
	tab, clock := newTestTable(t, 1, 100, 1000)
	a := tab.CreateLocal(250, "a") // (1250/100+1)*100 = 1300
	b := tab.CreateLocal(300, "b") // 1400
	clock.ms.Store(1040)
	c := tab.CreateLocal(250, "c") // 1300 (same bucket as a)

	if at, ok := tab.NextExpiry(); !ok || at != 1300 {
		t.Fatalf("NextExpiry = %d %v", at, ok)
	}
	if s, _ := tab.Get(a); s.Expiry != 1300 || s.State != Local || s.Owner != "a" {
		t.Fatalf("a = %+v", s)
	}

	// Activity re-arms a: its bucket moves on, c's does not.
	clock.ms.Store(1120)
	if !tab.Touch(a, 250) {
		t.Fatal("Touch(a) failed")
	}
	if s, _ := tab.Get(a); s.Expiry != 1400 {
		t.Fatalf("a re-armed to %d, want 1400", s.Expiry)
	}

	if got := tab.Expire(1299); len(got) != 0 {
		t.Fatalf("Expire(1299) = %#x", got)
	}
	if got := tab.Expire(1300); !slices.Equal(got, []int64{c}) {
		t.Fatalf("Expire(1300) = %#x, want [c]", got)
	}
	// An expired session is closing: no touch revives it, no second expiry.
	if tab.Touch(c, 250) {
		t.Fatal("Touch revived an expired session")
	}
	if s, _ := tab.Get(c); !s.Closing {
		t.Fatalf("c = %+v, want closing", s)
	}
	if got := tab.Expire(5000); !slices.Equal(got, []int64{a, b}) {
		t.Fatalf("Expire(5000) = %#x, want [a b]", got)
	}
	if _, ok := tab.NextExpiry(); ok {
		t.Fatal("NextExpiry with nothing armed")
	}
	for _, id := range []int64{a, b, c} {
		if _, ok := tab.Remove(id); !ok {
			t.Fatalf("Remove(%#x) failed", id)
		}
	}
	if n := tab.Counts(); n != (Counts{}) {
		t.Fatalf("Counts after removal = %+v", n)
	}
}

func TestUpgrade(t *testing.T) {
	tab, clock := newTestTable(t, 2, 100, 0)
	id := tab.CreateLocal(500, "owner")
	clock.ms.Store(50)

	steps := []struct {
		name    string
		do      func() bool
		ok      bool
		state   State
		touches []touch
	}{
		{"local", func() bool { return tab.Touch(id, 500) }, true, Local, nil},
		{"upgrade", func() bool { to, ok := tab.Upgrade(id); return ok && to == 500 }, true, Upgrading, nil},
		{"second upgrade refused", func() bool { _, ok := tab.Upgrade(id); return ok }, false, Upgrading, nil},
		{"upgrading sessions are touched for the leader", func() bool { return tab.Touch(id, 700) }, true, Upgrading, []touch{{id, 700}}},
		{"no local expiry while upgrading", func() bool { return len(tab.Expire(1_000_000)) == 0 }, true, Upgrading, nil},
		{"createSession applied", func() bool { return tab.CommitSession(id, 500) }, true, Global, []touch{{id, 500}}},
		{"committed twice is not added again", func() bool { return tab.CommitSession(id, 500) }, false, Global, []touch{{id, 500}}},
		{"global cannot be upgraded", func() bool { _, ok := tab.Upgrade(id); return ok }, false, Global, nil},
	}
	for _, s := range steps {
		if got := s.do(); got != s.ok {
			t.Errorf("%s: returned %v, want %v", s.name, got, s.ok)
		}
		sess, found := tab.Get(id)
		if !found || sess.State != s.state || sess.Owner != "owner" || sess.ID != id {
			t.Errorf("%s: session %+v (found %v), want state %v with its owner", s.name, sess, found, s.state)
		}
		if got := decodeTouches(t, tab.Touches(nil)); !slices.Equal(got, s.touches) {
			t.Errorf("%s: touches %v, want %v", s.name, got, s.touches)
		}
	}
	if !tab.IsGlobal(id) || tab.IsLocal(id) {
		t.Fatal("IsGlobal/IsLocal disagree with Global")
	}

	// A closing local session cannot be upgraded.
	l := tab.CreateLocal(500, nil)
	tab.SetClosing(l)
	if _, ok := tab.Upgrade(l); ok {
		t.Fatal("closing session upgraded")
	}

	// A local session whose createSession gets applied without Upgrade
	// (Java: moved before the upgrade finished) leaves local expiry too.
	m := tab.CreateLocal(500, nil)
	tab.CommitSession(m, 500)
	if got := tab.Expire(1_000_000); slices.Contains(got, m) {
		t.Fatal("committed session expired locally")
	}
}

func TestConcurrentUpgradeOneWinner(t *testing.T) {
	tab, _ := newTestTable(t, 1, 100, 0)
	id := tab.CreateLocal(500, nil)
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, ok := tab.Upgrade(id); ok {
				wins.Add(1)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d upgrades succeeded", wins.Load())
	}
}

func TestGlobalLifecycle(t *testing.T) {
	tab, _ := newTestTable(t, 3, 100, 0)
	mine := tab.CreateGlobal(4000, "c1")
	if s, _ := tab.Get(mine); s.State != Creating || tab.IsGlobal(mine) {
		t.Fatalf("new global session %+v", s)
	}
	tab.CommitSession(mine, 4000)
	const theirs = int64(0x0100000000000001)
	tab.CommitSession(theirs, 6000)
	if s, _ := tab.Get(theirs); s.State != Global || s.Owner != nil || s.Timeout != 6000 {
		t.Fatalf("txn-only session %+v", s)
	}

	// A client moves theirs here: the leader says valid.
	if !tab.Revalidated(theirs, 5000, "c2") {
		t.Fatal("Revalidated failed")
	}
	if s, _ := tab.Get(theirs); s.Owner != "c2" || s.Timeout != 6000 {
		t.Fatalf("after Revalidated %+v", s)
	}
	// One the apply loop has not seen yet is added.
	const early = int64(0x0100000000000002)
	tab.Revalidated(early, 5000, "c3")
	if s, _ := tab.Get(early); s.State != Global || s.Timeout != 5000 || s.Owner != "c3" {
		t.Fatalf("early revalidated %+v", s)
	}
	if tab.Revalidated(tab.CreateLocal(1000, nil), 1000, "x") {
		t.Fatal("a local session revalidated through the leader")
	}

	if !tab.SetOwner(mine, "c9") {
		t.Fatal("SetOwner failed")
	}
	if tab.SetOwner(0x99, "c9") {
		t.Fatal("SetOwner of unknown session")
	}

	// closeSession txn applied: the hook returns what was there.
	s, ok := tab.Remove(mine)
	if !ok || s.Owner != "c9" || s.State != Global {
		t.Fatalf("Remove = %+v %v", s, ok)
	}
	if _, ok := tab.Remove(mine); ok {
		t.Fatal("removed twice")
	}
	if c := tab.Counts(); c != (Counts{Local: 1, Global: 2}) {
		t.Fatalf("Counts = %+v", c)
	}
}

func TestResetGlobal(t *testing.T) {
	tab, _ := newTestTable(t, 1, 100, 0)
	kept := int64(10)
	tab.CommitSession(kept, 1000)
	tab.SetOwner(kept, "k")
	tab.CommitSession(11, 1000) // gone from the snapshot
	creating := tab.CreateGlobal(2000, "c")
	upgrading := tab.CreateLocal(2000, "u")
	tab.Upgrade(upgrading)
	local := tab.CreateLocal(2000, "l")
	tab.Touches(nil)

	removed := tab.ResetGlobal(map[int64]int32{kept: 3000, creating: 2000, 12: 4000})
	if !slices.Equal(removed, []int64{11}) {
		t.Fatalf("removed %v, want [11]", removed)
	}
	want := []Session{
		{ID: kept, Timeout: 3000, State: Global, Owner: "k"},
		{ID: 11}, // placeholder, absent
		{ID: 12, Timeout: 4000, State: Global},
		{ID: creating, Timeout: 2000, State: Global, Owner: "c"},
		{ID: upgrading, Timeout: 2000, State: Upgrading, Owner: "u"},
	}
	for _, w := range want {
		got, ok := tab.Get(w.ID)
		if w.State == 0 {
			if ok {
				t.Errorf("%d still there: %+v", w.ID, got)
			}
			continue
		}
		if got != w {
			t.Errorf("session %#x = %+v, want %+v", w.ID, got, w)
		}
	}
	if s, _ := tab.Get(local); s.State != Local || s.Expiry == 0 {
		t.Errorf("local session after reset %+v", s)
	}
	if b := tab.Touches(nil); len(b) != 0 {
		t.Errorf("loaded sessions were touched: %x", b)
	}
	l := tab.List()
	ids := make([]int64, len(l))
	for i, s := range l {
		ids[i] = s.ID
	}
	if len(ids) != 5 || !slices.IsSorted(ids) {
		t.Errorf("List ids = %#x, want 5 ascending", ids)
	}
}

// Connections, the apply loop and the learner's pinger use the table at
// once; the race detector checks the locking.
func TestTableConcurrentUse(t *testing.T) {
	tab, clock := newTestTable(t, 1, 10, 0)
	var wg sync.WaitGroup
	var sent atomic.Int64
	for w := range 4 {
		wg.Go(func() {
			for i := range 200 {
				id := tab.CreateLocal(100, w)
				tab.Touch(id, 100)
				if i%2 == 0 {
					tab.Upgrade(id)
					tab.CommitSession(id, 100)
					tab.Touch(id, 100)
				}
				tab.Remove(id)
				clock.ms.Add(1)
			}
		})
	}
	wg.Go(func() {
		for range 200 {
			sent.Add(int64(len(tab.Touches(nil))))
			tab.Expire(clock.now())
			tab.Counts()
		}
	})
	wg.Wait()
	if c := tab.Counts(); c != (Counts{}) {
		t.Fatalf("sessions left: %+v", c)
	}
	if sent.Load()%TouchEntryLen != 0 {
		t.Fatalf("touch bytes %d", sent.Load())
	}
}
