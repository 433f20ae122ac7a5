package bolt

import (
	"bytes"
	"fmt"
	"sort"

	bbolt "go.etcd.io/bbolt"

	"github.com/zkobserver/zkobserver/storage"
)

// installFlushBytes is how much encoded content an installer buffers
// before writing it, sorted, in one transaction of the staging file (a
// variable for tests).
var installFlushBytes = 8 << 20

type kv struct{ k, v []byte }

// installer builds a replacement store in StagingName. Nodes are encoded
// as they come, buffered, and written in key-sorted chunks (one bbolt
// transaction each, no fsync) with pages packed full: a tree walked in
// path order (a parent before its children) gives nearly sorted keys, so
// the file comes out about as compact as Compact makes it. Commit writes
// the sessions and the header, fsyncs the file once and switches it in.
// A path or session put twice keeps the last value.
type installer struct {
	e  *Engine
	db *bbolt.DB

	// Under e.wmu:
	done     bool
	err      error // sticky: a failed flush
	pending  []kv
	arena    []byte
	buffered int
	maxKey   []byte // greatest node key written so far
	sessions map[int64]int32
	dig      digests
}

func (in *installer) check() error {
	if in.done || in.e.install != in {
		return storage.ErrClosed
	}
	return in.err
}

// Put implements storage.Installer.
func (in *installer) Put(n *storage.Node) error {
	in.e.wmu.Lock()
	defer in.e.wmu.Unlock()
	if err := in.check(); err != nil {
		return err
	}
	start := len(in.arena)
	in.arena = storage.AppendNodeValue(in.arena, n)
	k := storage.NodeKey(n.Path)
	in.pending = append(in.pending, kv{k, in.arena[start:len(in.arena):len(in.arena)]})
	in.buffered += len(k) + len(in.arena) - start
	if in.buffered >= installFlushBytes {
		in.err = in.flush()
	}
	return in.err
}

// Delete implements storage.Installer: a tombstone (nil value) in the
// buffer, so that the last Put or Delete of a path wins.
func (in *installer) Delete(path string) error {
	in.e.wmu.Lock()
	defer in.e.wmu.Unlock()
	if err := in.check(); err != nil {
		return err
	}
	k := storage.NodeKey(path)
	in.pending = append(in.pending, kv{k: k})
	in.buffered += len(k)
	if in.buffered >= installFlushBytes {
		in.err = in.flush()
	}
	return in.err
}

// DeleteSession implements storage.Installer.
func (in *installer) DeleteSession(id int64) error {
	in.e.wmu.Lock()
	defer in.e.wmu.Unlock()
	if err := in.check(); err != nil {
		return err
	}
	delete(in.sessions, id)
	return nil
}

// PutSession implements storage.Installer.
func (in *installer) PutSession(s storage.Session) error {
	in.e.wmu.Lock()
	defer in.e.wmu.Unlock()
	if err := in.check(); err != nil {
		return err
	}
	if in.sessions == nil {
		in.sessions = make(map[int64]int32)
	}
	in.sessions[s.ID] = s.Timeout
	return nil
}

// flush writes the buffered nodes, sorted, in one transaction.
func (in *installer) flush() error {
	if len(in.pending) == 0 {
		return nil
	}
	kvs := sortKVs(in.pending)
	// Keys after everything written so far cannot replace a node.
	appending := in.maxKey == nil || bytes.Compare(kvs[0].k, in.maxKey) > 0
	dig := in.dig
	err := in.db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketNodes)
		b.FillPercent = 1
		for _, x := range kvs {
			if !appending {
				if old := b.Get(x.k); old != nil {
					dig.nodes.remove(x.k, old)
				}
			}
			if x.v == nil { // a Delete
				if !appending {
					if err := b.Delete(x.k); err != nil {
						return fmt.Errorf("bolt: install: delete %q: %w", x.k, err)
					}
				}
				continue
			}
			if err := b.Put(x.k, x.v); err != nil {
				return fmt.Errorf("bolt: install: put %q: %w", x.k, err)
			}
			dig.nodes.add(x.k, x.v)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("bolt: install: writing %s: %w", in.e.staging, err)
	}
	in.dig = dig
	if last := kvs[len(kvs)-1].k; in.maxKey == nil || bytes.Compare(last, in.maxKey) > 0 {
		in.maxKey = append(in.maxKey[:0], last...)
	}
	// bbolt is done with the slices once the transaction is over.
	clear(in.pending)
	in.pending, in.arena, in.buffered = in.pending[:0], in.arena[:0], 0
	return nil
}

// Commit implements storage.Installer: the staged store, with meta
// (NeedsResync cleared), replaces the live one durably and atomically. On
// failure the old state stays and the install is over.
func (in *installer) Commit(meta storage.Meta) error {
	e := in.e
	e.wmu.Lock()
	defer e.wmu.Unlock()
	if err := in.check(); err != nil {
		if err != storage.ErrClosed {
			e.abortInstall()
		}
		return err
	}
	meta.NeedsResync = false
	err := in.flush()
	if err == nil {
		err = in.writeRest(meta)
	}
	in.done = true
	e.mu.Lock()
	e.install = nil
	e.mu.Unlock()
	if err != nil {
		e.dropStaging(in.db)
		return err
	}
	return e.switchTo(in.db, meta, in.dig)
}

// writeRest writes the sessions and the header.
func (in *installer) writeRest(meta storage.Meta) error {
	ids := make([]int64, 0, len(in.sessions))
	for id := range in.sessions {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return uint64(ids[i]) < uint64(ids[j]) })
	dig := in.dig
	err := in.db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketSessions)
		b.FillPercent = 1
		for _, id := range ids {
			k, v := storage.SessionKey(id), storage.AppendSessionValue(nil, in.sessions[id])
			if err := b.Put(k, v); err != nil {
				return err
			}
			dig.sessions.add(k, v)
		}
		return putHeader(tx, meta, dig)
	})
	if err != nil {
		return fmt.Errorf("bolt: install: writing %s: %w", in.e.staging, err)
	}
	in.dig = dig
	return nil
}

// Abort implements storage.Installer: the staging file is removed and the
// engine keeps its state. Aborting a finished install does nothing.
func (in *installer) Abort() error {
	in.e.wmu.Lock()
	defer in.e.wmu.Unlock()
	if !in.done && in.e.install == in {
		in.e.abortInstall()
	}
	in.done = true
	return nil
}
