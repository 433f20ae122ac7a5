package persist

import (
	"fmt"
	"runtime/debug"

	"github.com/zkobserver/zkobserver/core/proto"
	"github.com/zkobserver/zkobserver/core/tree"
	"github.com/zkobserver/zkobserver/storage"
)

// LoadTree builds the DataTree from eng in one sequential pass. A store with
// no nodes (fresh, reset, or flagged NeedsResync) gives a fresh tree with
// zxid 0, whose built-in nodes (/, /zookeeper, /zookeeper/quota,
// /zookeeper/config) LoadTree installs into the store, so that the store
// always holds the whole tree. The tree's zxid is the store's LastZxid.
func LoadTree(eng storage.Engine, opts tree.Options) (*tree.DataTree, storage.Meta, error) {
	meta, err := eng.Meta()
	if err != nil {
		return nil, meta, err
	}
	// A load allocates almost only what it keeps: collecting during it
	// would scan a growing live heap again and again for little garbage,
	// and GOGC's headroom would double the peak. So the collector is off
	// until the tree is built.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	hint := 0
	if c, ok := eng.(storage.Counter); ok {
		if n, _, err := c.Counts(); err == nil {
			hint = int(n)
		}
	}
	ld := tree.NewLoaderSize(opts, hint)
	nodes := 0
	err = eng.Load(storage.Visitor{
		Node: func(n *storage.Node) error {
			nodes++
			path := n.Path
			if path == "/" {
				path = ""
			}
			if err := ld.NodeWithACL(path, n.Data, n.ACL, n.Stat); err != nil {
				return fmt.Errorf("%w: %v", storage.ErrCorrupt, err)
			}
			return nil
		},
		Session: func(s storage.Session) error {
			ld.Session(s.ID, s.Timeout)
			return nil
		},
	})
	if err != nil {
		return nil, meta, fmt.Errorf("load: %w", err)
	}
	if nodes == 0 {
		if meta.LastZxid != 0 {
			return nil, meta, fmt.Errorf("load: %w: no nodes but zxid %#x", storage.ErrCorrupt, meta.LastZxid)
		}
		t := tree.New(opts)
		meta = storage.Meta{AcceptedEpoch: meta.AcceptedEpoch, CurrentEpoch: meta.CurrentEpoch}
		if err := Install(eng, t, meta); err != nil {
			return nil, meta, err
		}
		return t, meta, nil
	}
	t, err := ld.Finish(meta.LastZxid)
	if err != nil {
		return nil, meta, fmt.Errorf("load: %w: %v", storage.ErrCorrupt, err)
	}
	return t, meta, nil
}

// Install replaces the whole content of eng with t (its nodes and sessions)
// and meta, through a staged install: a crash leaves the old content or the
// new. The caller must not apply txns to t meanwhile.
func Install(eng storage.Engine, t *tree.DataTree, meta storage.Meta) error {
	in, err := eng.BeginInstall()
	if err != nil {
		return fmt.Errorf("install: %w", err)
	}
	if _, werr := PutTree(in, t); werr != nil {
		in.Abort()
		return fmt.Errorf("install: %w", werr)
	}
	if err := in.Commit(meta); err != nil {
		return fmt.Errorf("install: %w", err)
	}
	return nil
}

// PutTree stages every node and session of t into in, and returns the raw
// size of the nodes (paths + data + 60 bytes of stat each).
func PutTree(in storage.Installer, t *tree.DataTree) (raw int64, err error) {
	t.View(func(v tree.View) {
		v.Walk(func(p string, n *tree.Node) bool {
			var acl []proto.ACL
			if n.ACL != tree.OpenACLIndex {
				acl = v.ACL(n)
			}
			raw += int64(len(p) + len(n.Data) + proto.StatPersistedSize)
			err = in.Put(&storage.Node{Path: p, Data: n.Data, ACL: acl, Stat: n.Stat})
			return err == nil
		})
		if err != nil {
			return
		}
		for id, to := range v.Sessions() {
			if err = in.PutSession(storage.Session{ID: id, Timeout: to}); err != nil {
				return
			}
		}
	})
	return raw, err
}
