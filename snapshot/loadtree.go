package snapshot

import (
	"io"

	"github.com/zkobserver/zkobserver/core/tree"
)

// LoadTree reads what remains of s (session table, ACL cache, nodes) into
// a new tree, as Java's FileSnap.deserialize does, and verifies the seals
// when the nodes end. The tree's last zxid is zxid: for a snapshot file the
// zxid in its name (B1.4 step 4), never anything inside the file.
//
// Errors are *Error values naming the file: decoding errors as the
// SnapshotFile reports them, and a node whose parent did not come before it
// (or a second root) at the offset of that node, wrapping tree.ErrOrphan or
// tree.ErrNoRoot. The digest block is not compared with the tree here: a
// snapshot may be fuzzy (B1.5); see SnapshotFile.Digest and RestoreTree.
func LoadTree(s *SnapshotFile, zxid int64, opts tree.Options) (*tree.DataTree, error) {
	return loadBody(s, s.Path(), zxid, opts, nil)
}

// LoadBody reads a snapshot body (as a leader streams it after a SNAP
// packet) into a new tree whose last zxid is zxid, up to the "/"
// terminator; the caller then reads the signature (b.ReadSignature). Errors
// are as for LoadTree, with no file name.
func LoadBody(b *BodyReader, zxid int64, opts tree.Options) (*tree.DataTree, error) {
	return loadBody(b, "", zxid, opts, nil)
}

// body is what LoadTree and LoadBody read: a snapshot file or a bare body.
type body interface {
	Sessions() ([]Session, error)
	ACLs() ([]ACLEntry, error)
	Next(*Node) error
	Offset() int64
}

// loadBody is LoadTree and LoadBody; sink, if not nil, also receives
// everything read.
func loadBody(s body, file string, zxid int64, opts tree.Options, sink nodeSink) (*tree.DataTree, error) {
	sessions, err := s.Sessions()
	if err != nil {
		return nil, err
	}
	acls, err := s.ACLs()
	if err != nil {
		return nil, err
	}
	if sink != nil {
		sink.sessions(sessions)
		sink.acls(acls)
	}
	ld := tree.NewLoader(opts)
	for _, ss := range sessions {
		ld.Session(ss.ID, ss.Timeout)
	}
	for _, a := range acls {
		ld.ACL(a.Index, a.ACL)
	}
	var n Node
	for {
		off := s.Offset()
		err := s.Next(&n)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if err := ld.Node(n.Path, n.Data, n.ACL, n.Stat); err != nil {
			return nil, &Error{File: file, Offset: off, Op: "node " + printablePath(n.Path), Err: err}
		}
		if sink != nil {
			sink.node(&n)
		}
	}
	t, err := ld.Finish(zxid)
	if err != nil {
		return nil, &Error{File: file, Offset: s.Offset(), Op: "tree", Err: err}
	}
	return t, nil
}

// printablePath shows the root as "/".
func printablePath(p string) string {
	if p == "" {
		return "/"
	}
	return p
}
