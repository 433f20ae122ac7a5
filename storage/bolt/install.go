package bolt

import (
	"bytes"
	"fmt"
	"sort"
	"sync/atomic"

	bbolt "go.etcd.io/bbolt"

	"github.com/zkobserver/zkobserver/storage"
)

// installFlushBytes is how much encoded content an installer buffers
// before writing it, sorted, in one transaction of the staging file (a
// variable for tests).
var installFlushBytes = 8 << 20

type kv struct{ k, v []byte }

// chunk is a buffer of encoded nodes on its way to the staging file.
type chunk struct {
	kvs   []kv
	arena []byte
}

// installer builds a replacement store in StagingName. Nodes are encoded
// as they come (on the caller's goroutine), buffered, and handed in
// chunks to a writer goroutine that writes each one key-sorted in one
// transaction of the staging file (no fsync) with pages packed full, so
// encoding and writing overlap. A tree walked in path order (a parent
// before its children) gives nearly sorted keys, so the file comes out
// about as compact as Compact makes it. Commit waits for the writer,
// writes the sessions and the header, fsyncs the file once and switches it
// in. A path or session put twice keeps the last value; a Delete is a
// tombstone with the same rule.
type installer struct {
	e  *Engine
	db *bbolt.DB

	// Under e.wmu:
	done     bool
	pending  []kv
	arena    []byte
	buffered int
	sessions map[int64]int32
	chunks   chan chunk // to the writer; nil until it starts and after it stops
	free     chan chunk // buffers back from the writer
	wdone    chan struct{}

	werr atomic.Pointer[error] // the writer's first error, for Put to see

	// The writer's, read by others only after it stopped:
	err    error // sticky: a failed write
	maxKey []byte
	dig    digests
}

func (in *installer) check() error {
	if in.done || in.e.install != in {
		return storage.ErrClosed
	}
	if p := in.werr.Load(); p != nil {
		return *p
	}
	return nil
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
		in.handoff()
	}
	return nil
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
		in.handoff()
	}
	return nil
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

// handoff passes the buffered nodes to the writer (starting it) and takes
// a fresh buffer. Called with wmu held.
func (in *installer) handoff() {
	if in.chunks == nil {
		in.chunks, in.free, in.wdone = make(chan chunk, 1), make(chan chunk, 2), make(chan struct{})
		go in.writer(in.chunks, in.free, in.wdone)
	}
	in.chunks <- chunk{in.pending, in.arena}
	select {
	case c := <-in.free:
		in.pending, in.arena = c.kvs, c.arena
	default:
		in.pending, in.arena = nil, nil
	}
	in.buffered = 0
}

// writer writes chunks until chunks is closed. Meanwhile another
// goroutine keeps the written pages on their way to disk (fdatasync after
// each chunk, requests coalesced), so that the one fsync of Commit finds
// little left to wait for.
func (in *installer) writer(chunks <-chan chunk, free chan<- chunk, done chan<- struct{}) {
	defer close(done)
	var syncs chan struct{}
	var synced chan struct{}
	if !in.e.opts.NoSync {
		syncs, synced = make(chan struct{}, 1), make(chan struct{})
		go func() {
			defer close(synced)
			for range syncs {
				in.db.Sync() // an error shows again at Commit's fsync
			}
		}()
		defer func() { close(syncs); <-synced }()
	}
	for c := range chunks {
		if in.err == nil {
			if in.err = in.write(c.kvs); in.err != nil {
				err := in.err
				in.werr.Store(&err)
			}
		}
		if syncs != nil {
			select {
			case syncs <- struct{}{}:
			default:
			}
		}
		// bbolt is done with the slices once the transaction is over.
		clear(c.kvs)
		select {
		case free <- chunk{c.kvs[:0], c.arena[:0]}:
		default:
		}
	}
}

// stopWriter waits for the writer to write what it was given and stop;
// it returns the write error, if any. Called with wmu held.
func (in *installer) stopWriter() error {
	if in.chunks != nil {
		close(in.chunks)
		<-in.wdone
		in.chunks = nil
	}
	return in.err
}

// flush writes the buffered nodes itself, after the writer has stopped.
func (in *installer) flush() error {
	if err := in.stopWriter(); err != nil {
		return err
	}
	if len(in.pending) == 0 {
		return nil
	}
	err := in.write(in.pending)
	clear(in.pending)
	in.pending, in.arena, in.buffered = in.pending[:0], in.arena[:0], 0
	return err
}

// write writes kvs, sorted, in one transaction (writer goroutine, or
// flush once it has stopped).
func (in *installer) write(kvs []kv) error {
	if len(kvs) == 0 {
		return nil
	}
	kvs = sortKVs(kvs)
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
