package snapshot

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/zkobserver/zkobserver/core/proto"
	"github.com/zkobserver/zkobserver/core/tree"
)

// ErrDanglingACL means a tree with nodes whose ACL list is unknown (a
// damaged fuzzy snapshot that no txn repaired): it cannot be written as a
// snapshot Java would load correctly.
var ErrDanglingACL = errors.New("snapshot: tree has nodes with an unknown ACL list")

// Exported describes a snapshot file written by an export.
type Exported struct {
	// Path is the snapshot file.
	Path string
	// Zxid is the tree's last zxid: the zxid Java takes from the file name
	// (for files named snapshot.<hex>) and the zxid of the digest block.
	Zxid int64
	// Digest is the digest block written.
	Digest ZxidDigest
	// Nodes and Sessions count what the file holds.
	Nodes, Sessions int
	// Bytes is the file's size.
	Bytes int64
}

// ExportDigest returns the digest block an export of a tree at zxid with
// tree digest d carries: {zxid, version 2, d}. Java compares it with the
// digest of the tree it loaded as soon as it has read the file (FileSnap
// .deserialize: the file name's zxid equals the block's, so the snapshot is
// not fuzzy), and then checks every later txn's digest. A tree at zxid 0 (a
// fresh one) gets the empty block Java itself writes then ({0, 2, 0}),
// which Java ignores.
func ExportDigest(zxid, d int64) ZxidDigest {
	if zxid == 0 {
		return ZxidDigest{Present: true, Version: proto.DigestVersion}
	}
	return ZxidDigest{Present: true, Zxid: zxid, Version: proto.DigestVersion, Digest: d}
}

// WriteTree writes t as the content of a ZooKeeper 3.8 snapshot file
// through compression c, as Java's FileSnap.serialize does: the file
// header, the session table (by id), the ACL cache (by index), every node in
// pre-order (children sorted; the root as ""), the "/" terminator, seal #1,
// the digest block of ExportDigest(t's last zxid, t's digest) and seal #2.
// The tree is read-locked meanwhile. It returns what it wrote (Path and
// Bytes left empty). A tree with nodes whose ACL list is unknown is refused
// with ErrDanglingACL before anything is written.
func WriteTree(w io.Writer, t *tree.DataTree, c Compression) (Exported, error) {
	sw := NewSnapshotWriter(w, SnapHeader, c)
	res, err := writeTree(sw.BodyWriter, t)
	if err != nil {
		return res, err
	}
	return res, sw.Close(&res.Digest)
}

// WriteSNAPBody writes t as a leader streams it after a SNAP packet: the
// body, the "/" terminator and the "BenWasHere" signature (no digest).
func WriteSNAPBody(w io.Writer, t *tree.DataTree) error {
	bw := NewBodyWriter(w)
	if _, err := writeTree(bw, t); err != nil {
		return err
	}
	if err := bw.End(); err != nil {
		return err
	}
	return bw.WriteSignature()
}

// writeTree writes t's sessions, ACL cache and nodes: everything of
// WriteTree but the terminator, the seals and the digest block
// (SnapshotWriter.Close writes those).
func writeTree(sw *BodyWriter, t *tree.DataTree) (res Exported, err error) {
	t.View(func(v tree.View) {
		if n := v.DanglingACLs(); n > 0 {
			err = fmt.Errorf("%w (%d nodes)", ErrDanglingACL, n)
			return
		}
		sessions := v.Sessions()
		ss := make([]Session, 0, len(sessions))
		for id, to := range sessions {
			ss = append(ss, Session{ID: id, Timeout: to})
		}
		slices.SortFunc(ss, func(a, b Session) int { return cmp.Compare(a.ID, b.ID) })
		if err = sw.WriteSessions(ss); err != nil {
			return
		}
		var acls []ACLEntry
		v.ACLTable(func(idx int64, a []proto.ACL) {
			if a == nil {
				a = []proto.ACL{} // Java cannot read a null list
			}
			acls = append(acls, ACLEntry{Index: idx, ACL: a})
		})
		if err = sw.WriteACLs(acls); err != nil {
			return
		}
		var rec Node
		v.Walk(func(path string, n *tree.Node) bool {
			rec = Node{Path: path, Data: n.Data, ACL: n.ACL, Stat: n.Stat}
			err = sw.WriteNode(&rec)
			res.Nodes++
			return err == nil
		})
		res.Zxid = v.LastZxid()
		res.Sessions = len(ss)
		res.Digest = ExportDigest(res.Zxid, v.Digest())
	})
	return res, err
}

// ExportFile writes t as a snapshot file at exactly path, atomically
// ("<path>.tmp", then a rename; with fsync, the file and its directory are
// synced), with the compression Java infers from the name
// (CompressionForName). Java takes a snapshot's zxid from its name, so a
// base name that parses as snapshot.<hex> must carry t's last zxid
// (otherwise ErrBadName); any other name is accepted, and the file must be
// renamed to SnapshotFileName(Exported.Zxid, ...) before Java can use it.
func ExportFile(path string, t *tree.DataTree, fsync bool) (Exported, error) {
	base := filepath.Base(path)
	if z, ok := ParseZxidFromName(base, SnapPrefix); ok && z != t.LastZxid() {
		return Exported{}, fmt.Errorf("%w: %s names zxid %#x but the tree is at zxid %#x (Java takes the zxid from the name; use %s)",
			ErrBadName, base, z, t.LastZxid(), SnapshotFileName(t.LastZxid(), CompressionForName(base)))
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return Exported{}, fmt.Errorf("export: %w", err)
	}
	w := &SnapshotFileWriter{SnapshotWriter: NewSnapshotWriter(f, SnapHeader, CompressionForName(base)),
		f: f, path: path, tmp: tmp, fsync: fsync}
	res, err := writeTree(w.SnapshotWriter.BodyWriter, t)
	if err != nil {
		w.Abort()
		return res, fmt.Errorf("export %s: %w", path, err)
	}
	if err := w.Commit(&res.Digest); err != nil {
		return res, fmt.Errorf("export %s: %w", path, err)
	}
	res.Path = path
	if st, err := os.Stat(path); err == nil {
		res.Bytes = st.Size()
	}
	return res, nil
}
