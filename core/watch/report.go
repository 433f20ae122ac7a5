package watch

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strconv"
)

// Summary is Java's WatchesSummary of the data table (what wchs prints).
type Summary struct {
	// Connections counts the connections with an entry in the data table's
	// watch2Paths: as in Java, a connection whose data watches have all
	// fired or been removed still counts until it closes.
	Connections int
	// Paths counts the paths with at least one data watch.
	Paths int
	// Total counts (connection, path) data watches.
	Total int
}

// Summary returns the data table's summary (DataTree.getWatchesSummary).
func (m *Manager) Summary() Summary {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := Summary{Connections: len(m.data.byWatcher), Paths: len(m.data.paths)}
	for _, ps := range m.data.byWatcher {
		s.Total += len(ps)
	}
	return s
}

// WatchCount is DataTree.getWatchCount, mntr's zk_watch_count: the
// (connection, path) entries of both tables.
func (m *Manager) WatchCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.data.size() + m.child.size()
}

// WriteWchs writes the wchs four-letter word's answer
// (DataTree.dumpWatchesSummary plus WatchCommand's final newline):
//
//	<connections> connections watching <paths> paths
//	Total watches:<total>
func (m *Manager) WriteWchs(w io.Writer) error {
	s := m.Summary()
	_, err := fmt.Fprintf(w, "%d connections watching %d paths\nTotal watches:%d\n", s.Connections, s.Paths, s.Total)
	return err
}

// SessionWatches is one connection's entry in the wchc report.
type SessionWatches struct {
	SessionID int64
	Paths     []string // sorted
}

// PathWatches is one path's entry in the wchp report.
type PathWatches struct {
	Path     string
	Sessions []int64 // one per watching connection, sorted
}

// BySession returns the data table by connection (Java's watch2Paths, as
// wchc prints it): sorted by session id (unsigned, as printed), then
// paths. A connection whose data watches are all gone has an entry with
// no paths, as in Java. Two connections of one session are two entries.
func (m *Manager) BySession() []SessionWatches {
	m.mu.Lock()
	out := make([]SessionWatches, 0, len(m.data.byWatcher))
	for w, ps := range m.data.byWatcher {
		e := SessionWatches{SessionID: w.SessionID(), Paths: make([]string, 0, len(ps))}
		for p := range ps {
			e.Paths = append(e.Paths, p)
		}
		out = append(out, e)
	}
	m.mu.Unlock()
	for _, e := range out {
		slices.Sort(e.Paths)
	}
	slices.SortStableFunc(out, func(a, b SessionWatches) int {
		if c := cmpUnsigned(a.SessionID, b.SessionID); c != 0 {
			return c
		}
		return slices.Compare(a.Paths, b.Paths)
	})
	return out
}

// ByPath returns the data table by path (Java's watchTable, as wchp prints
// it), sorted by path; each path's session ids sorted (unsigned).
func (m *Manager) ByPath() []PathWatches {
	m.mu.Lock()
	out := make([]PathWatches, 0, len(m.data.paths))
	for p, ws := range m.data.paths {
		e := PathWatches{Path: p, Sessions: make([]int64, 0, len(ws))}
		for w := range ws {
			e.Sessions = append(e.Sessions, w.SessionID())
		}
		out = append(out, e)
	}
	m.mu.Unlock()
	for _, e := range out {
		slices.SortFunc(e.Sessions, cmpUnsigned)
	}
	slices.SortFunc(out, func(a, b PathWatches) int {
		switch {
		case a.Path < b.Path:
			return -1
		case a.Path > b.Path:
			return 1
		}
		return 0
	})
	return out
}

func cmpUnsigned(a, b int64) int {
	switch {
	case uint64(a) < uint64(b):
		return -1
	case uint64(a) > uint64(b):
		return 1
	}
	return 0
}

// hexSession formats a session id as Java's Long.toHexString: lower case,
// no padding, two's complement for negative ids.
func hexSession(id int64) string { return strconv.FormatUint(uint64(id), 16) }

// WriteWchc writes the wchc four-letter word's answer
// (WatchManager.dumpWatches(byPath=false) plus WatchCommand's final
// newline): for each connection "0x<session>" and then one "\t<path>" line
// per data watch; an empty line ends the answer. Java's order is a hash
// map's; ours is BySession's.
func (m *Manager) WriteWchc(w io.Writer) error {
	bw := bufio.NewWriter(w)
	for _, e := range m.BySession() {
		bw.WriteString("0x" + hexSession(e.SessionID) + "\n")
		for _, p := range e.Paths {
			bw.WriteString("\t" + p + "\n")
		}
	}
	bw.WriteString("\n")
	return bw.Flush()
}

// WriteWchp writes the wchp four-letter word's answer
// (WatchManager.dumpWatches(byPath=true) plus WatchCommand's final
// newline): for each path the path and then one "\t0x<session>" line per
// watching connection; an empty line ends the answer. Java's order is a
// hash map's; ours is ByPath's.
func (m *Manager) WriteWchp(w io.Writer) error {
	bw := bufio.NewWriter(w)
	for _, e := range m.ByPath() {
		bw.WriteString(e.Path + "\n")
		for _, id := range e.Sessions {
			bw.WriteString("\t0x" + hexSession(id) + "\n")
		}
	}
	bw.WriteString("\n")
	return bw.Flush()
}
