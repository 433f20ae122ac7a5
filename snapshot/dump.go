package snapshot

import (
	"bufio"
	"fmt"
	"hash/crc32"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/zkobserver/zkobserver/core/proto"
	"github.com/zkobserver/zkobserver/core/tree"
)

// DumpEntry is one znode as a client sees it: the listing of WriteDump is
// built from these, so that a tree restored from files or from an engine
// and a live server read through a client give listings that diff cleanly.
type DumpEntry struct {
	// Path is the client path ("/" for the root).
	Path string
	// Stat is the client-visible stat (visible cversion, dataLength,
	// numChildren, ephemeralOwner 0 for containers and TTL nodes).
	Stat proto.Stat
	// Data is nil for null data.
	Data []byte
	// ACL is the node's ACL list as getACL returns it (OPEN_ACL_UNSAFE for
	// the built-in nodes' null list).
	ACL []proto.ACL
}

// WriteDump writes one line per entry, sorted by path (byte order, so the
// root comes first), in this format:
//
//	<path> czxid=0x.. mzxid=0x.. pzxid=0x.. ctime=<ms> mtime=<ms> version=N cversion=N aversion=N ephemeralOwner=0x.. dataLength=N numChildren=N data=<null|crc32:xxxxxxxx> acl=<perms>:<scheme>:<id>[,...]
//
// zxids and the owner are lower-case hex, times decimal milliseconds, the
// data a CRC-32 (IEEE) of its bytes, and perms Java's letters cdrwa. A path
// or ACL field with spaces, commas or unprintable characters is Go-quoted.
// entries is sorted in place.
func WriteDump(w io.Writer, entries []DumpEntry) error {
	slices.SortFunc(entries, func(a, b DumpEntry) int { return strings.Compare(a.Path, b.Path) })
	bw := bufio.NewWriter(w)
	var line []byte
	for i := range entries {
		line = AppendDumpLine(line[:0], &entries[i])
		if _, err := bw.Write(line); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// AppendDumpLine appends e's line of the WriteDump listing, newline
// included.
func AppendDumpLine(dst []byte, e *DumpEntry) []byte {
	s := &e.Stat
	dst = append(dst, dumpQuote(e.Path)...)
	dst = fmt.Appendf(dst, " czxid=%#x mzxid=%#x pzxid=%#x ctime=%d mtime=%d version=%d cversion=%d aversion=%d ephemeralOwner=%#x dataLength=%d numChildren=%d",
		s.Czxid, s.Mzxid, s.Pzxid, s.Ctime, s.Mtime, s.Version, s.Cversion, s.Aversion, uint64(s.EphemeralOwner), s.DataLength, s.NumChildren)
	if e.Data == nil {
		dst = append(dst, " data=null"...)
	} else {
		dst = fmt.Appendf(dst, " data=crc32:%08x", crc32.ChecksumIEEE(e.Data))
	}
	dst = append(dst, " acl="...)
	for i, a := range e.ACL {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, PermString(a.Perms)...)
		dst = append(dst, ':')
		dst = append(dst, dumpQuote(a.ID.Scheme)...)
		dst = append(dst, ':')
		dst = append(dst, dumpQuote(a.ID.ID)...)
	}
	return append(dst, '\n')
}

// PermString writes ACL permission bits as Java's getAcl does ("cdrwa",
// letters of absent bits left out), with unknown bits appended in hex.
func PermString(p int32) string {
	var b []byte
	for _, f := range []struct {
		bit int32
		c   byte
	}{{proto.PermCreate, 'c'}, {proto.PermDelete, 'd'}, {proto.PermRead, 'r'}, {proto.PermWrite, 'w'}, {proto.PermAdmin, 'a'}} {
		if p&f.bit != 0 {
			b = append(b, f.c)
		}
	}
	if rest := p &^ proto.PermAll; rest != 0 {
		b = fmt.Appendf(b, "+%#x", uint32(rest))
	}
	return string(b)
}

// dumpQuote quotes s when it would break the listing's tokens.
func dumpQuote(s string) string {
	for _, r := range s {
		if r == ' ' || r == ',' || r == '"' || !unicode.IsGraphic(r) {
			return strconv.Quote(s)
		}
	}
	if s == "" {
		return `""`
	}
	return s
}

// TreeDumpEntries returns the entries of every znode of t, in no particular
// order. The data slices are the tree's (immutable) ones.
func TreeDumpEntries(t *tree.DataTree) []DumpEntry {
	var out []DumpEntry
	t.View(func(v tree.View) {
		out = make([]DumpEntry, 0, v.NodeCount())
		v.Walk(func(p string, n *tree.Node) bool {
			if p == "" {
				p = "/"
			}
			out = append(out, DumpEntry{Path: p, Stat: v.Stat(n), Data: n.Data, ACL: v.ACL(n)})
			return true
		})
	})
	return out
}

// DumpTree writes the WriteDump listing of every znode of t.
func DumpTree(w io.Writer, t *tree.DataTree) error {
	return WriteDump(w, TreeDumpEntries(t))
}
