package snapshot

import (
	"fmt"

	"github.com/zkobserver/zkobserver/core/proto"
	"github.com/zkobserver/zkobserver/core/tree"
	"github.com/zkobserver/zkobserver/storage"
)

// nodeSink receives a snapshot's content as a load reads it.
type nodeSink interface {
	// begin starts a new snapshot candidate, dropping whatever an earlier
	// one streamed.
	begin() error
	sessions([]Session)
	acls([]ACLEntry)
	node(*Node)
}

// streamBatch is how many nodes go to the installer goroutine at a time.
const streamBatch = 1024

// streamInstall writes a restore into an engine while it is read: the
// snapshot's nodes are handed to a goroutine that puts them into a staged
// install as the load goes (so decoding and building the tree overlap
// with encoding and writing), and what the log replay then changes is
// corrected at the end (the last Put or Delete of a path wins). Nothing is
// visible in the engine before Commit; any error aborts the install.
type streamInstall struct {
	eng storage.Engine

	in       storage.Installer
	acl      map[int64][]proto.ACL
	sess     []Session
	batch    []storage.Node
	work     chan []storage.Node
	free     chan []storage.Node // batches the installer goroutine is done with
	done     chan error
	err      error // the installer goroutine's, once known
	changed  changes
	recorded bool
}

func newStreamInstall(eng storage.Engine) *streamInstall { return &streamInstall{eng: eng} }

func (s *streamInstall) begin() error {
	s.abort()
	in, err := s.eng.BeginInstall()
	if err != nil {
		return fmt.Errorf("install: %w", err)
	}
	s.in, s.acl, s.sess, s.err = in, nil, nil, nil
	s.batch = make([]storage.Node, 0, streamBatch)
	s.work, s.free, s.done = make(chan []storage.Node, 8), make(chan []storage.Node, 10), make(chan error, 1)
	go func(in storage.Installer, work <-chan []storage.Node, free chan<- []storage.Node, done chan<- error) {
		var err error
		for b := range work {
			for i := 0; i < len(b) && err == nil; i++ {
				err = in.Put(&b[i])
			}
			clear(b) // drop references to data
			select {
			case free <- b[:0]:
			default:
			}
		}
		done <- err
	}(in, s.work, s.free, s.done)
	return nil
}

func (s *streamInstall) sessions(ss []Session) { s.sess = ss }

func (s *streamInstall) acls(entries []ACLEntry) {
	s.acl = make(map[int64][]proto.ACL, len(entries))
	for _, a := range entries {
		s.acl[a.Index] = a.ACL
	}
}

func (s *streamInstall) node(n *Node) {
	var acl []proto.ACL // the null list of the built-in nodes (index -1)
	if n.ACL != OpenACLIndex {
		acl = s.acl[n.ACL] // a dangling index fails the restore later
	}
	s.batch = append(s.batch, storage.Node{Path: n.Path, Data: n.Data, ACL: acl, Stat: n.Stat})
	if len(s.batch) == cap(s.batch) {
		s.flush()
	}
}

func (s *streamInstall) flush() {
	if len(s.batch) > 0 {
		s.work <- s.batch
		select {
		case s.batch = <-s.free:
		default:
			s.batch = make([]storage.Node, 0, streamBatch)
		}
	}
}

// drain waits for the installer goroutine.
func (s *streamInstall) drain() error {
	if s.work != nil {
		s.flush()
		close(s.work)
		s.err = <-s.done
		s.work = nil
	}
	return s.err
}

// record starts recording what t's replay changes.
func (s *streamInstall) record(t *tree.DataTree) {
	s.changed = changes{nodes: map[string]struct{}{}, sessions: map[int64]struct{}{}}
	t.SetRecorder(&s.changed)
	s.recorded = true
}

// commit writes the snapshot's sessions and the replay's corrections, then
// switches the engine to the staged state.
func (s *streamInstall) commit(t *tree.DataTree, meta storage.Meta) error {
	if s.recorded {
		t.SetRecorder(nil)
	}
	if err := s.drain(); err != nil {
		return s.fail(err)
	}
	var err error
	put := func(e error) {
		if err == nil {
			err = e
		}
	}
	for _, ss := range s.sess {
		put(s.in.PutSession(storage.Session{ID: ss.ID, Timeout: ss.Timeout}))
	}
	t.View(func(v tree.View) {
		for p := range s.changed.nodes {
			n, ok := v.Node(p)
			if !ok {
				put(s.in.Delete(p))
				continue
			}
			var acl []proto.ACL
			if n.ACL != tree.OpenACLIndex {
				acl = v.ACL(n)
			}
			put(s.in.Put(&storage.Node{Path: p, Data: n.Data, ACL: acl, Stat: n.Stat}))
		}
		live := v.Sessions()
		for id := range s.changed.sessions {
			if to, ok := live[id]; ok {
				put(s.in.PutSession(storage.Session{ID: id, Timeout: to}))
			} else {
				put(s.in.DeleteSession(id))
			}
		}
	})
	if err != nil {
		return s.fail(err)
	}
	err = s.in.Commit(meta)
	s.in = nil
	if err != nil {
		return fmt.Errorf("install: %w", err)
	}
	return nil
}

func (s *streamInstall) fail(err error) error {
	s.abort()
	return fmt.Errorf("install: %w", err)
}

// abort drops the staged state, if any.
func (s *streamInstall) abort() {
	s.drain()
	if s.in != nil {
		s.in.Abort()
		s.in = nil
	}
}

// changes is a tree.Recorder noting which paths and sessions changed.
type changes struct {
	nodes    map[string]struct{}
	sessions map[int64]struct{}
}

func (c *changes) NodeChanged(path string, _ *tree.Node, _ []proto.ACL) { c.nodes[path] = struct{}{} }
func (c *changes) NodeDeleted(path string)                              { c.nodes[path] = struct{}{} }
func (c *changes) SessionChanged(id int64, _ int32)                     { c.sessions[id] = struct{}{} }
func (c *changes) SessionClosed(id int64)                               { c.sessions[id] = struct{}{} }
func (c *changes) EndTxn(int64)                                         {}
