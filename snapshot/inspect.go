package snapshot

import (
	"container/heap"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/zkobserver/zkobserver/core/proto"
	"github.com/zkobserver/zkobserver/core/tree"
)

// Inspection describes a snapshot file, or the tree a data directory
// restores to (see InspectFile, InspectDir).
type Inspection struct {
	// Path is what was inspected; FromDirectory tells whether it was a
	// directory (the tree is then the snapshot plus the replayed logs, and
	// Restore describes the replay).
	Path          string
	FromDirectory bool
	Restore       *RestoreSummary
	// Snapshot is the snapshot file read, Header its file header.
	Snapshot FileName
	Header   FileHeader
	// The tree: its last zxid, znode count, session count and the number
	// of ACL lists in its ACL cache (entries still in use).
	Zxid     int64
	Znodes   int
	Sessions int
	ACLs     int
	Digest   DigestCheck
}

// DigestCheck compares the digest a snapshot recorded with the tree's.
type DigestCheck struct {
	// Tree is the digest computed from the tree.
	Tree int64
	// File is the snapshot's digest block.
	File ZxidDigest
	// Status is one of the DigestStatus values.
	Status DigestStatus
}

// DigestStatus is the outcome of a DigestCheck.
type DigestStatus string

// Digest check outcomes.
const (
	DigestOK       DigestStatus = "ok"       // equal
	DigestMismatch DigestStatus = "mismatch" // differs for a tree that should match
	DigestFuzzy    DigestStatus = "fuzzy"    // differs, but the snapshot is fuzzy (its digest belongs to a later zxid than its name): only a replay can check it
	DigestAbsent   DigestStatus = "absent"   // no digest block, or an empty one (zxid 0)
	DigestSkipped  DigestStatus = "skipped"  // a digest version or zxid Java would not compare
)

// checkSnapshotDigest compares a freshly loaded snapshot's digest block
// with its tree, whose zxid is the snapshot's name zxid.
func checkSnapshotDigest(t *tree.DataTree, d ZxidDigest, zxid int64) DigestCheck {
	c := DigestCheck{Tree: t.Digest(), File: d}
	switch {
	case !d.Present || d.Zxid == 0:
		c.Status = DigestAbsent
	case d.Version != proto.DigestVersion || d.Zxid < zxid:
		c.Status = DigestSkipped
	case c.Tree == d.Digest:
		c.Status = DigestOK
	case d.Zxid > zxid:
		c.Status = DigestFuzzy
	default:
		c.Status = DigestMismatch
	}
	return c
}

// InspectFile loads one snapshot file into a tree (its zxid taken from the
// file name, 0 if the name has none) and describes it. The digest check
// compares the digest block with the loaded tree.
func InspectFile(path string, opts tree.Options, dopts *Options) (*Inspection, *tree.DataTree, error) {
	s, err := OpenSnapshotFile(path, dopts)
	if err != nil {
		return nil, nil, err
	}
	defer s.Close()
	name := filepath.Base(path)
	zxid, _ := ParseZxidFromName(name, SnapPrefix)
	t, err := LoadTree(s, zxid, opts)
	if err != nil {
		return nil, nil, err
	}
	in := &Inspection{
		Path:     path,
		Snapshot: FileName{Path: path, Name: name, Zxid: zxid, Compression: CompressionForName(name)},
		Header:   s.Header(),
		Digest:   checkSnapshotDigest(t, s.Digest(), zxid),
	}
	in.fill(t)
	return in, t, nil
}

// InspectDir restores dir (see RestoreTree) and describes the tree. The
// digests were checked by the restore; Digest.Status is DigestOK.
func InspectDir(dir string, opts RestoreOptions) (*Inspection, *tree.DataTree, error) {
	t, sum, err := RestoreTree(dir, opts)
	if err != nil {
		return nil, nil, err
	}
	in := &Inspection{
		Path:          dir,
		FromDirectory: true,
		Restore:       sum,
		Snapshot:      sum.Snapshot,
		Header:        sum.SnapshotHeader,
		Digest:        DigestCheck{Tree: sum.Digest, File: sum.SnapshotDigest, Status: DigestOK},
	}
	in.fill(t)
	return in, t, nil
}

func (in *Inspection) fill(t *tree.DataTree) {
	t.View(func(v tree.View) {
		in.Zxid, in.Znodes, in.Sessions = v.LastZxid(), v.NodeCount(), len(v.Sessions())
		v.ACLTable(func(int64, []proto.ACL) { in.ACLs++ })
	})
}

// Subtree is a znode with the size of the subtree under it.
type Subtree struct {
	Path string `json:"path"`
	// Nodes counts the znode and all its descendants, DataBytes their data.
	Nodes     int   `json:"nodes"`
	DataBytes int64 `json:"dataBytes"`
}

// LargestSubtrees returns the n znodes of t (the root excluded) with the
// most nodes in their subtrees, largest first, ties in path order. It walks
// the tree once.
func LargestSubtrees(t *tree.DataTree, n int) []Subtree {
	if n <= 0 {
		return nil
	}
	h := &subtreeHeap{}
	var stack []Subtree
	finish := func() {
		top := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if len(stack) > 0 {
			stack[len(stack)-1].Nodes += top.Nodes
			stack[len(stack)-1].DataBytes += top.DataBytes
		}
		if top.Path == "" {
			return
		}
		if h.Len() < n {
			heap.Push(h, top)
		} else if subtreeLess((*h)[0], top) {
			(*h)[0] = top
			heap.Fix(h, 0)
		}
	}
	t.View(func(v tree.View) {
		v.Walk(func(p string, node *tree.Node) bool {
			for len(stack) > 0 && !isAncestor(stack[len(stack)-1].Path, p) {
				finish()
			}
			stack = append(stack, Subtree{Path: p, Nodes: 1, DataBytes: int64(len(node.Data))})
			return true
		})
	})
	for len(stack) > 0 {
		finish()
	}
	out := make([]Subtree, h.Len())
	for i := len(out) - 1; i >= 0; i-- {
		out[i] = heap.Pop(h).(Subtree)
	}
	return out
}

// isAncestor reports whether a is a proper ancestor of p (tree keys: the
// root is "").
func isAncestor(a, p string) bool {
	return a == "" || (len(p) > len(a) && p[len(a)] == '/' && strings.HasPrefix(p, a))
}

// subtreeLess orders subtrees smallest first (ties: the later path first),
// so the heap's root is the one to drop.
func subtreeLess(a, b Subtree) bool {
	if a.Nodes != b.Nodes {
		return a.Nodes < b.Nodes
	}
	return a.Path > b.Path
}

type subtreeHeap []Subtree

func (h subtreeHeap) Len() int           { return len(h) }
func (h subtreeHeap) Less(i, j int) bool { return subtreeLess(h[i], h[j]) }
func (h subtreeHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *subtreeHeap) Push(x any)        { *h = append(*h, x.(Subtree)) }
func (h *subtreeHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// String summarises the check for people.
func (c DigestCheck) String() string {
	switch c.Status {
	case DigestAbsent:
		return fmt.Sprintf("no digest in the file (tree digest %d)", c.Tree)
	case DigestSkipped:
		return fmt.Sprintf("not compared (digest version %d for zxid %#x; tree digest %d)", c.File.Version, c.File.Zxid, c.Tree)
	case DigestFuzzy:
		return fmt.Sprintf("fuzzy snapshot: its digest %d belongs to zxid %#x, the tree's is %d; inspect the directory to check it after replay", c.File.Digest, c.File.Zxid, c.Tree)
	}
	return fmt.Sprintf("%s: tree %d, file %d (zxid %#x)", c.Status, c.Tree, c.File.Digest, c.File.Zxid)
}
