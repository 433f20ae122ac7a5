package persist

import (
	"errors"
	"fmt"
	"runtime/debug"
	"sync/atomic"

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
	nodes, sessions, err := loadPipelined(eng, ld)
	if err != nil {
		return nil, meta, fmt.Errorf("load: %w", err)
	}
	for _, ss := range sessions {
		ld.Session(ss.ID, ss.Timeout)
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

// loadBatch is how many nodes the engine's reader hands to the tree builder
// at a time.
const loadBatch = 1024

// loadPipelined streams eng's nodes into ld on two goroutines: the engine
// reads and decodes, and each node's digest is computed, on the caller's;
// the tree is built on another. On two cores a load costs about the larger
// of the two instead of their sum. Nodes reach ld in the engine's order.
// The sessions are returned for the caller to add once the nodes are in.
// An error of either side stops both.
func loadPipelined(eng storage.Engine, ld *tree.Loader) (int, []storage.Session, error) {
	type item struct {
		node tree.Prepared
		acl  []proto.ACL
	}
	full := make(chan []item, 4)
	free := make(chan []item, 6)
	built := make(chan error, 1)
	var failed atomic.Bool
	go func() {
		var err error
		for b := range full {
			for i := 0; err == nil && i < len(b); i++ {
				if err = ld.AddPrepared(b[i].node, b[i].acl); err != nil {
					err = fmt.Errorf("%w: %v", storage.ErrCorrupt, err)
					failed.Store(true)
				}
			}
			clear(b)
			select {
			case free <- b[:0]:
			default:
			}
		}
		built <- err
	}()
	var sessions []storage.Session
	var prep tree.Preparer
	nodes := 0
	batch := make([]item, 0, loadBatch)
	errStop := errors.New("stopped: the tree builder failed")
	err := eng.Load(storage.Visitor{
		Node: func(n *storage.Node) error {
			if failed.Load() {
				return errStop
			}
			nodes++
			batch = append(batch, item{node: prep.Prepare(n.Path, n.Data, n.Stat), acl: n.ACL})
			if len(batch) == loadBatch {
				full <- batch
				select {
				case batch = <-free:
				default:
					batch = make([]item, 0, loadBatch)
				}
			}
			return nil
		},
		Session: func(s storage.Session) error {
			sessions = append(sessions, s)
			return nil
		},
	})
	if len(batch) > 0 {
		full <- batch
	}
	close(full)
	berr := <-built
	switch {
	case berr != nil:
		return nodes, nil, berr
	case err != nil:
		return nodes, nil, err
	}
	return nodes, sessions, nil
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
