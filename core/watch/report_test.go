package watch

import (
	"strings"
	"testing"
)

func dump(t *testing.T, f func(w *strings.Builder) error) string {
	t.Helper()
	var b strings.Builder
	if err := f(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestReports pins the wchs / wchc / wchp texts (WatchManager.toString and
// dumpWatches, WatchCommand's trailing println) and what they count: the
// data table only, with Java's watch2Paths entries that outlive their
// watches.
func TestReports(t *testing.T) {
	h := newHarness(t)
	m := h.m
	wchs := func() string { return dump(t, func(b *strings.Builder) error { return m.WriteWchs(b) }) }
	wchc := func() string { return dump(t, func(b *strings.Builder) error { return m.WriteWchc(b) }) }
	wchp := func() string { return dump(t, func(b *strings.Builder) error { return m.WriteWchp(b) }) }

	if got, want := wchs(), "0 connections watching 0 paths\nTotal watches:0\n"; got != want {
		t.Errorf("empty wchs %q, want %q", got, want)
	}
	if got := wchc(); got != "\n" {
		t.Errorf("empty wchc %q", got)
	}
	if got := wchp(); got != "\n" {
		t.Errorf("empty wchp %q", got)
	}

	neg := &conn{id: -0x7f00000000000001} // a server id above 127 makes a negative session id
	h.conns[9] = neg
	big := &conn{id: 0x100000abc}
	h.conns[8] = big
	getData(8, "/b").do(h)
	getData(8, "/a").do(h)
	exists(9, "/a").do(h)
	getChildren(9, "/kids").do(h) // child table: not in the reports
	addWatch(9, "/p", Persistent).do(h)
	getChildren(1, "/only-children").do(h) // a connection with child watches only: not counted

	if got, want := wchs(), "2 connections watching 3 paths\nTotal watches:4\n"; got != want {
		t.Errorf("wchs %q, want %q", got, want)
	}
	if got, want := wchc(), "0x100000abc\n\t/a\n\t/b\n0x80ffffffffffffff\n\t/a\n\t/p\n\n"; got != want {
		t.Errorf("wchc %q, want %q", got, want)
	}
	if got, want := wchp(), "/a\n\t0x100000abc\n\t0x80ffffffffffffff\n/b\n\t0x100000abc\n/p\n\t0x80ffffffffffffff\n\n"; got != want {
		t.Errorf("wchp %q, want %q", got, want)
	}
	// mntr's zk_watch_count: both tables.
	if got := m.WatchCount(); got != 7 {
		t.Errorf("WatchCount %d, want 7", got)
	}

	// Fired and removed watches leave the connection counted (Java keeps
	// its watch2Paths entry until the connection closes).
	setData("/a").do(h)
	setData("/b").do(h)
	if got, want := wchs(), "2 connections watching 1 paths\nTotal watches:1\n"; got != want {
		t.Errorf("after triggers wchs %q, want %q", got, want)
	}
	if got, want := wchc(), "0x100000abc\n0x80ffffffffffffff\n\t/p\n\n"; got != want {
		t.Errorf("after triggers wchc %q, want %q", got, want)
	}
	removeWatches(9, "/p", wtData, 0).do(h)
	if got, want := wchs(), "2 connections watching 0 paths\nTotal watches:0\n"; got != want {
		t.Errorf("after removeWatches wchs %q, want %q", got, want)
	}
	if got := m.WatchCount(); got != 3 { // /kids, the child half of /p, /only-children
		t.Errorf("WatchCount %d, want 3", got)
	}
	closeConn(8).do(h)
	closeConn(9).do(h)
	if got, want := wchs(), "0 connections watching 0 paths\nTotal watches:0\n"; got != want {
		t.Errorf("after close wchs %q, want %q", got, want)
	}
	if got := m.WatchCount(); got != 1 {
		t.Errorf("WatchCount %d after close, want 1", got)
	}
}

// TestReportSameSession: two connections of one session (a reconnect
// before the old one is closed) are two entries, as Java prints them.
func TestReportSameSession(t *testing.T) {
	m := New()
	a, b := &conn{id: 0x10}, &conn{id: 0x10}
	m.AddDataWatch("/x", a)
	m.AddDataWatch("/x", b)
	var sb strings.Builder
	if err := m.WriteWchp(&sb); err != nil {
		t.Fatal(err)
	}
	if got, want := sb.String(), "/x\n\t0x10\n\t0x10\n\n"; got != want {
		t.Errorf("wchp %q, want %q", got, want)
	}
	sb.Reset()
	if err := m.WriteWchc(&sb); err != nil {
		t.Fatal(err)
	}
	if got, want := sb.String(), "0x10\n\t/x\n0x10\n\t/x\n\n"; got != want {
		t.Errorf("wchc %q, want %q", got, want)
	}
}
