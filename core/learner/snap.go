package learner

import (
	"bufio"
	"errors"
	"fmt"
	"io"

	"github.com/zkobserver/zkobserver/core/tree"
	"github.com/zkobserver/zkobserver/snapshot"
)

// loadSnap reads the snapshot body that follows a SNAP packet (sessions,
// ACL cache, nodes, "/" terminator, "BenWasHere") into a new tree, private
// until it is complete. The body carries no digest and no node count.
func loadSnap(r *bufio.Reader, cfg *Config, zxid int64) (*tree.DataTree, error) {
	body := snapshot.NewBodyReader(r, &snapshot.Options{MaxLength: cfg.MaxPacket})
	fail := func(err error) (*tree.DataTree, error) {
		return nil, fmt.Errorf("SNAP %s at byte %d of the snapshot: %w", hex(zxid), body.Offset(), err)
	}
	sessions, err := body.Sessions()
	if err != nil {
		return fail(err)
	}
	l := tree.NewLoader(cfg.Tree)
	for _, s := range sessions {
		l.Session(s.ID, s.Timeout)
	}
	acls, err := body.ACLs()
	if err != nil {
		return fail(err)
	}
	for _, a := range acls {
		l.ACL(a.Index, a.ACL)
	}
	var n snapshot.Node
	for {
		err := body.Next(&n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fail(err)
		}
		if err := l.Node(n.Path, n.Data, n.ACL, n.Stat); err != nil {
			return fail(err)
		}
	}
	if err := body.ReadSignature(); err != nil {
		return fail(err)
	}
	t, err := l.Finish(zxid)
	if err != nil {
		return fail(err)
	}
	return t, nil
}
