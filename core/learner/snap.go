package learner

import (
	"bufio"
	"fmt"

	"github.com/zkobserver/zkobserver/core/tree"
	"github.com/zkobserver/zkobserver/snapshot"
)

// loadSnap reads the snapshot body that follows a SNAP packet (sessions,
// ACL cache, nodes, "/" terminator, "BenWasHere") into a new tree, private
// until it is complete. The body carries no digest and no node count.
func loadSnap(r *bufio.Reader, cfg *Config, zxid int64) (*tree.DataTree, error) {
	body := snapshot.NewBodyReader(r, &snapshot.Options{MaxLength: cfg.MaxPacket})
	t, err := snapshot.LoadBody(body, zxid, cfg.Tree)
	if err == nil {
		err = body.ReadSignature()
	}
	if err != nil {
		return nil, fmt.Errorf("SNAP %s at byte %d of the snapshot: %w", hex(zxid), body.Offset(), err)
	}
	return t, nil
}
