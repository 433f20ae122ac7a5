// Package bolt is the storage engine on bbolt (go.etcd.io/bbolt): the whole
// store is one copy-on-write B+tree file, so every Commit is one bbolt
// read-write transaction and atomic by construction, and Load is one
// sequential cursor pass over a memory map.
//
// Layout: the data directory holds FileName and, while a replacement is
// being built (install, Reset, Compact), StagingName; nothing else. The file
// has three buckets: "nodes" (key storage.NodeKey(path), value
// storage.AppendNodeValue), "sessions" (storage.SessionKey,
// storage.AppendSessionValue) and "zkobserver", which holds the format
// version (a file without it is not this engine's; a newer version is
// refused), the storage.Meta (storage.AppendMetaValue) and a digest of the
// two other buckets (see digest.go) that Load checks, because bbolt does
// not checksum its pages and the values' own CRCs do not cover the keys.
//
// Replacements are staged in StagingName, written without fsync and synced
// once, then renamed over FileName while both files are open and locked
// (so no other process can slip in), and the directory is fsynced: a crash
// at any moment reopens the old state or the new one, and a leftover
// staging file is removed by the next Open.
//
// Damage: a file that bbolt cannot open, whose meta pages, freelist or
// pages do not hold together, whose values fail their CRC or whose content
// does not match its digest gives an error wrapping storage.ErrCorrupt that
// names the file, from Open, Load or Get, never a panic (bbolt panics and
// memory faults on damaged pages are recovered). Damage that changes
// nothing Load reads is not detected at once: a freelist page id or a
// page's overflow count changed within range (a later commit may then
// reuse a live page), or a key in a branch page, which a scan never reads
// (Get may then miss a node, and a commit to it leaves a second copy).
// The next Load fails with ErrCorrupt once such damage has spread to what
// it reads. A damaged meta page makes bbolt use the other one: the state
// of the commit before, whole.
//
// Durability: Commit with sync true fsyncs (bbolt's two fdatasyncs, data
// then meta). With sync false nothing is fsynced: the commit survives a
// crash of the process (SIGKILL), whole or not at all, but after a crash
// of the machine the file may hold a meta page whose pages never reached
// the disk; Load then reports ErrCorrupt (and the remedy is a resync). A
// commit with sync true makes every earlier commit durable.
package bolt

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	bbolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/zkobserver/zkobserver/storage"
)

const (
	// FileName is the live store inside the data directory.
	FileName = "zkobserver.bolt"
	// StagingName is a replacement being built; Open removes a leftover.
	StagingName = "zkobserver.bolt.staging"
	// formatVersion is the layout this package writes and reads.
	formatVersion = 1
)

var (
	bucketMeta     = []byte("zkobserver")
	bucketNodes    = []byte("nodes")
	bucketSessions = []byte("sessions")
	keyFormat      = []byte("format")
	keyMeta        = []byte("meta")
	keyDigest      = []byte("digest")
)

// Options tunes the engine. The zero value is the production setting.
type Options struct {
	// LockTimeout is how long Open waits for another process to release
	// the store's lock before failing with storage.ErrLocked (default
	// 500ms).
	LockTimeout time.Duration
	// FillPercent, in [0.1, 1], fixes how full Commit packs a page when
	// it splits one. Zero (the default) chooses per commit: full pages
	// when the batch's creates mostly append after their parent's last
	// child (sequential znodes), half-full ones when they mostly insert
	// among existing keys (a fixed high fill would leave a nearly empty
	// page behind each such insert; a fixed 0.5 would leave half-empty
	// pages behind appends). Installs and Compact always pack pages full
	// (they write in key order).
	FillPercent float64
	// InitialMmapSize is passed to bbolt: the initial size of the memory
	// map. A map smaller than the file is grown (remapped) by the writer,
	// which waits for readers; 0 lets bbolt size it from the file.
	InitialMmapSize int
	// NoSync skips every fsync, of Commit with sync true and of installs
	// included: nothing is durable against a machine crash (a process
	// crash loses nothing). For tests and benchmarks only.
	NoSync bool
}

func (o Options) withDefaults() Options {
	if o.LockTimeout <= 0 {
		o.LockTimeout = 500 * time.Millisecond
	}
	switch {
	case o.FillPercent < 0:
		o.FillPercent = 0
	case o.FillPercent > 1:
		o.FillPercent = 1
	case o.FillPercent > 0 && o.FillPercent < 0.1: // bbolt's minimum
		o.FillPercent = 0.1
	}
	return o
}

// Engine is the bbolt engine. It implements storage.Engine,
// storage.Installer (through BeginInstall), storage.Stats and
// storage.Compacter, with the concurrency storage.Engine requires: one
// writer (Commit, an install, Reset, Compact, Load) and any number of
// concurrent Get, Meta and DiskBytes calls.
type Engine struct {
	dir, path, staging string
	opts               Options

	// wmu serialises the writer's operations (and Load and Close); db,
	// closed, meta and install change only under both wmu and mu.
	wmu sync.Mutex
	mu  sync.RWMutex

	db      *bbolt.DB
	closed  bool
	meta    storage.Meta
	install *installer

	// Under wmu:
	dig    digests // of the live file, as stored
	failed error   // a failed write (fsync) or damage found while writing: no more writes
}

var (
	_ storage.Engine    = (*Engine)(nil)
	_ storage.Stats     = (*Engine)(nil)
	_ storage.Compacter = (*Engine)(nil)
)

// Open opens the store in dir, creating dir and an empty store if needed.
//
// It fails, changing nothing, with an error wrapping storage.ErrForeign if
// dir holds anything but this engine's files, or FileName is a bbolt file
// that this engine did not write or that a newer version wrote; with
// storage.ErrLocked if another process has the store open (after
// Options.LockTimeout); with storage.ErrCorrupt, naming the file, if the
// file is damaged as far as opening reads it (meta pages, freelist, the
// zkobserver bucket; the nodes and sessions are checked by Load). After
// the lock is taken, a leftover StagingName (an install, Reset or Compact
// cut short by a crash) is removed.
func Open(dir string, opts Options) (*Engine, error) {
	e := &Engine{
		dir:     dir,
		path:    filepath.Join(dir, FileName),
		staging: filepath.Join(dir, StagingName),
		opts:    opts.withDefaults(),
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("bolt: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("bolt: %w", err)
	}
	var foreign []string
	for _, de := range entries {
		if name := de.Name(); (name != FileName && name != StagingName) || !de.Type().IsRegular() {
			foreign = append(foreign, name)
		}
	}
	if len(foreign) > 0 {
		if len(foreign) > 3 {
			foreign = append(foreign[:3], "...")
		}
		return nil, fmt.Errorf("bolt: %s holds %s, which this engine did not write: %w", dir, strings.Join(foreign, ", "), storage.ErrForeign)
	}
	// Check what bbolt's Open reads before it maps the file; a file that
	// looks damaged may just be being written by its owner.
	m, exists, err := precheck(e.path)
	if err != nil {
		if lockedBySomeone(e.path) {
			return nil, e.lockedErr()
		}
		return nil, err
	}
	if exists && m.freelist == noFreelist {
		// This engine always syncs bbolt's freelist. Opening a file
		// without one read-write would make bbolt rebuild it in a
		// goroutine that panics (killing the process) on damage, and
		// write to the file.
		return nil, fmt.Errorf("bolt: %s was not written by this engine (no stored freelist): %w", e.path, storage.ErrForeign)
	}
	db, err := e.openDB(e.path, false)
	if err != nil {
		return nil, err
	}
	fresh, err := e.readHeader(db)
	if err != nil {
		db.Close()
		return nil, err
	}
	// We hold the lock: a staging file is a leftover.
	if err := os.Remove(e.staging); err != nil && !errors.Is(err, fs.ErrNotExist) {
		db.Close()
		return nil, fmt.Errorf("bolt: removing a leftover staging file: %w", err)
	}
	if fresh {
		if err := e.initDB(db, storage.Meta{}, false); err != nil {
			db.Close()
			return nil, err
		}
		if err := e.syncDir(); err != nil {
			db.Close()
			return nil, fmt.Errorf("bolt: %w", err)
		}
		e.meta, e.dig = storage.Meta{}, digests{}
	}
	e.db = db
	return e, nil
}

func (e *Engine) lockedErr() error {
	return fmt.Errorf("bolt: %s: %w", e.path, storage.ErrLocked)
}

// openDB opens a bbolt file: the live one, or (staging) a fresh staging
// file written without fsync. A panic or fault inside bbolt.Open (which
// precheck should have prevented) gives ErrCorrupt, and the file's lock is
// released (its memory map, which bbolt never returned, is leaked).
func (e *Engine) openDB(path string, staging bool) (*bbolt.DB, error) {
	var file *os.File
	noSync := staging || e.opts.NoSync
	bo := &bbolt.Options{
		Timeout:         e.opts.LockTimeout,
		NoSync:          noSync,
		NoGrowSync:      noSync,
		FreelistType:    bbolt.FreelistMapType,
		InitialMmapSize: e.opts.InitialMmapSize,
		OpenFile: func(name string, flag int, perm os.FileMode) (*os.File, error) {
			f, err := os.OpenFile(name, flag, perm)
			file = f
			return f, err
		},
	}
	var db *bbolt.DB
	returned := false
	err := protect(path, nil, func() error {
		var err error
		db, err = bbolt.Open(path, 0o644, bo)
		returned = true
		return err
	})
	switch {
	case err == nil:
		return db, nil
	case !returned:
		if file != nil {
			unlockFile(file)
			file.Close()
		}
		return nil, err
	case errors.Is(err, berrors.ErrTimeout):
		return nil, fmt.Errorf("bolt: %s: %w", path, storage.ErrLocked)
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrVersionMismatch), errors.Is(err, berrors.ErrChecksum):
		return nil, corruptf(path, "%v", err)
	}
	var pe *fs.PathError
	var errno syscall.Errno
	if errors.As(err, &pe) || errors.As(err, &errno) {
		return nil, fmt.Errorf("bolt: opening %s: %w", path, err)
	}
	return nil, corruptf(path, "%v", err)
}

// readHeader checks the zkobserver bucket and loads the meta and digests.
// fresh is true for a file with no bucket at all (new, or created by a
// process that crashed before initialising it).
func (e *Engine) readHeader(db *bbolt.DB) (fresh bool, err error) {
	err = protect(e.path, nil, func() error {
		return db.View(func(tx *bbolt.Tx) error {
			mb := tx.Bucket(bucketMeta)
			if mb == nil {
				c := tx.Cursor()
				first, _ := c.First()
				if first == nil {
					fresh = true
					return nil
				}
				for k, _ := c.First(); k != nil; k, _ = c.Next() {
					if bytes.Equal(k, bucketNodes) || bytes.Equal(k, bucketSessions) || bytes.Equal(k, bucketMeta) {
						return corruptf(e.path, "the zkobserver bucket cannot be read")
					}
				}
				return fmt.Errorf("bolt: %s is a bbolt file of something else (bucket %q): %w", e.path, first, storage.ErrForeign)
			}
			f := mb.Get(keyFormat)
			if len(f) != 4 {
				return corruptf(e.path, "no format version")
			}
			if v := uint32(f[0])<<24 | uint32(f[1])<<16 | uint32(f[2])<<8 | uint32(f[3]); v != formatVersion {
				if v > formatVersion {
					return fmt.Errorf("bolt: %s has format %d, newer than this build's %d: %w", e.path, v, formatVersion, storage.ErrForeign)
				}
				return corruptf(e.path, "unknown format version %d", v)
			}
			if tx.Bucket(bucketNodes) == nil || tx.Bucket(bucketSessions) == nil {
				return corruptf(e.path, "a bucket is missing")
			}
			m, err := storage.DecodeMetaValue(mb.Get(keyMeta))
			if err != nil {
				return corruptErr(e.path, err)
			}
			d, ok := decodeDigests(mb.Get(keyDigest))
			if !ok {
				return corruptf(e.path, "digest: checksum")
			}
			e.meta, e.dig = m, d
			return nil
		})
	})
	return fresh, err
}

// initDB writes an empty store with meta into db (fresh: no buckets).
func (e *Engine) initDB(db *bbolt.DB, meta storage.Meta, staging bool) error {
	path := e.path
	if staging {
		path = e.staging
	}
	err := db.Update(func(tx *bbolt.Tx) error {
		for _, name := range [][]byte{bucketMeta, bucketNodes, bucketSessions} {
			if _, err := tx.CreateBucket(name); err != nil {
				return err
			}
		}
		return putHeader(tx, meta, digests{})
	})
	if err != nil {
		return fmt.Errorf("bolt: initialising %s: %w", path, err)
	}
	return nil
}

// putHeader writes the format, meta and digests into the zkobserver bucket.
func putHeader(tx *bbolt.Tx, meta storage.Meta, d digests) error {
	mb := tx.Bucket(bucketMeta)
	if mb == nil {
		return errors.New("no zkobserver bucket")
	}
	if err := mb.Put(keyFormat, []byte{0, 0, 0, formatVersion}); err != nil {
		return err
	}
	if err := mb.Put(keyMeta, storage.AppendMetaValue(nil, meta)); err != nil {
		return err
	}
	return mb.Put(keyDigest, d.encode())
}

func (e *Engine) syncDir() error {
	if e.opts.NoSync {
		return nil
	}
	return syncDir(e.dir)
}

// Meta implements storage.Engine.
func (e *Engine) Meta() (storage.Meta, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return storage.Meta{}, storage.ErrClosed
	}
	return e.meta, nil
}

// Get implements storage.Engine: one read transaction, safe concurrently
// with everything. A value that fails its checks gives ErrCorrupt.
func (e *Engine) Get(path string) (*storage.Node, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return nil, storage.ErrClosed
	}
	var n *storage.Node
	err := protect(e.path, nil, func() error {
		return e.db.View(func(tx *bbolt.Tx) error {
			b := tx.Bucket(bucketNodes)
			if b == nil {
				return corruptf(e.path, "no nodes bucket")
			}
			k := storage.NodeKey(path)
			v := b.Get(k)
			if v == nil {
				return storage.ErrNotFound
			}
			var err error
			if n, err = storage.DecodeNodeValue(storage.PathOfKey(k), v); err != nil {
				return corruptErr(e.path, err)
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return n, nil
}

// Load implements storage.Engine: one read transaction, a cursor over the
// nodes in key order decoded with one storage.NodeDecoder (ACL lists are
// shared between nodes), then the sessions. Every value's CRC, the key
// order and the digest of both buckets are checked; a failure gives
// ErrCorrupt (after the visitor may have seen part of the content). An
// error from the visitor is returned as is.
//
// The reading and decoding run in a goroutine of their own, a few hundred
// nodes ahead of the visitor, which is called from the caller's goroutine
// (so that building the observer's tree and decoding use both cores).
func (e *Engine) Load(v storage.Visitor) error {
	e.wmu.Lock()
	defer e.wmu.Unlock()
	if e.closed {
		return storage.ErrClosed
	}
	r := &loadReader{e: e, db: e.db, want: e.dig,
		batches: make(chan []storage.Node, 8),
		free:    make(chan []storage.Node, 10),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	go r.run()
	// On every way out (a visitor's error or panic included) the reader
	// is stopped and its transaction closed before Load returns.
	defer func() {
		close(r.stop)
		<-r.done
	}()
	for batch := range r.batches {
		if v.Node != nil {
			for i := range batch {
				if err := v.Node(&batch[i]); err != nil {
					return err
				}
			}
		}
		clear(batch)
		select {
		case r.free <- batch[:0]:
		default:
		}
	}
	<-r.done
	if r.err != nil {
		return r.err
	}
	if v.Session != nil {
		for _, s := range r.sessions {
			if err := v.Session(s); err != nil {
				return err
			}
		}
	}
	return nil
}

// releaseEvery is how many bytes of nodes Load reads between two releases
// of the file mapping's resident pages.
const releaseEvery = 16 << 20

// loadBatch is how many nodes the reader hands over at a time.
const loadBatch = 256

// loadReader is Load's reading goroutine.
type loadReader struct {
	e    *Engine
	db   *bbolt.DB
	want digests

	batches chan []storage.Node // closed when done; nodes by value, reused
	free    chan []storage.Node
	stop    chan struct{} // closed by Load to stop early
	done    chan struct{} // closed when err and sessions are set

	err      error
	sessions []storage.Session
}

var errStopped = errors.New("bolt: load stopped")

func (r *loadReader) run() {
	defer close(r.done)
	defer close(r.batches)
	r.err = protect(r.e.path, nil, r.read)
}

// send hands a batch over, unless Load stopped.
func (r *loadReader) send(batch []storage.Node) error {
	select {
	case r.batches <- batch:
		return nil
	case <-r.stop:
		return errStopped
	}
}

func (r *loadReader) newBatch() []storage.Node {
	select {
	case b := <-r.free:
		return b
	default:
		return make([]storage.Node, 0, loadBatch)
	}
}

func (r *loadReader) read() error {
	path := r.e.path
	tx, err := r.db.Begin(false)
	if err != nil {
		return fmt.Errorf("bolt: %w", err)
	}
	defer tx.Rollback()
	nodes, sessions := tx.Bucket(bucketNodes), tx.Bucket(bucketSessions)
	if nodes == nil || sessions == nil {
		return corruptf(path, "a bucket is missing")
	}
	var got digests
	var nd storage.NodeDecoder
	var prev []byte
	batch := r.newBatch()
	c := nodes.Cursor()
	var scanned int
	for k, val := c.First(); k != nil; k, val = c.Next() {
		// The whole file is mapped; every page the scan touches stays
		// resident (and counts in the process's RSS) long after the node
		// was decoded. Drop them now and then: later reads fault back in
		// from the page cache what they need.
		if scanned += len(k) + len(val); scanned >= releaseEvery {
			scanned = 0
			releaseMapping(r.db)
		}
		if val == nil {
			return corruptf(path, "nodes: %q is a bucket", k)
		}
		if prev != nil && bytes.Compare(prev, k) >= 0 {
			return corruptf(path, "nodes: key %q after %q", k, prev)
		}
		prev = k
		batch = append(batch, storage.Node{})
		if err := nd.DecodeInto(&batch[len(batch)-1], storage.PathOfKey(k), val); err != nil {
			return corruptErr(path, err)
		}
		got.nodes.add(k, val)
		if len(batch) == loadBatch {
			if err := r.send(batch); err != nil {
				return err
			}
			batch = r.newBatch()
		}
	}
	if len(batch) > 0 {
		if err := r.send(batch); err != nil {
			return err
		}
	}
	c = sessions.Cursor()
	prev = nil
	for k, val := c.First(); k != nil; k, val = c.Next() {
		id, ok := storage.SessionOfKey(k)
		if !ok || val == nil || (prev != nil && bytes.Compare(prev, k) >= 0) {
			return corruptf(path, "sessions: bad key %x", k)
		}
		prev = k
		to, err := storage.DecodeSessionValue(id, val)
		if err != nil {
			return corruptErr(path, err)
		}
		got.sessions.add(k, val)
		r.sessions = append(r.sessions, storage.Session{ID: id, Timeout: to})
	}
	if got != r.want {
		return corruptf(path, "content does not match its digest (%d nodes and %d sessions read, %d and %d stored)",
			got.nodes.n, got.sessions.n, r.want.nodes.n, r.want.sessions.n)
	}
	return nil
}

// Commit implements storage.Engine: one bbolt read-write transaction for
// the whole batch (deletes, puts, session changes, meta and digest). With
// sync false bbolt skips its fsyncs for this transaction only. After a
// failed write (an fsync error leaves the file's state unknown) or damage
// found while writing, every later write fails until the store is
// reopened.
func (e *Engine) Commit(b *storage.Batch, sync bool) error {
	e.wmu.Lock()
	defer e.wmu.Unlock()
	switch {
	case e.closed:
		return storage.ErrClosed
	case e.install != nil:
		return storage.ErrInstallActive
	case e.failed != nil:
		return e.failed
	case b.LastZxid < e.meta.LastZxid:
		return fmt.Errorf("bolt: batch at zxid %#x, store at %#x: %w", b.LastZxid, e.meta.LastZxid, storage.ErrStaleZxid)
	}
	meta := e.meta
	meta.LastZxid = b.LastZxid
	if b.Epochs != nil {
		meta.AcceptedEpoch, meta.CurrentEpoch = b.Epochs.Accepted, b.Epochs.Current
	}
	dig := e.dig
	db := e.db
	writeFailed := false
	err := protect(e.path, nil, func() error {
		tx, err := db.Begin(true)
		if err != nil {
			return fmt.Errorf("bolt: %w", err)
		}
		// Roll back unless Commit returned (it rolls back itself on
		// error), even after a panic, so that bbolt's writer lock is
		// released and Close does not hang.
		returned := false
		defer func() {
			if !returned {
				func() {
					defer func() { recover() }()
					tx.Rollback()
				}()
			}
		}()
		if err := applyBatch(tx, b, meta, &dig, e.opts.FillPercent); err != nil {
			return err
		}
		if !sync && !e.opts.NoSync {
			db.NoSync, db.NoGrowSync = true, true
			defer func() { db.NoSync, db.NoGrowSync = false, false }()
		}
		err = tx.Commit()
		returned = true
		if err != nil {
			writeFailed = true
			return fmt.Errorf("bolt: %s: commit: %w", e.path, err)
		}
		return nil
	})
	if err != nil {
		if writeFailed || errors.Is(err, storage.ErrCorrupt) {
			e.failed = fmt.Errorf("bolt: no writes after a failed commit (reopen the store): %w", err)
		}
		return err
	}
	e.dig = dig
	e.mu.Lock()
	e.meta = meta
	e.mu.Unlock()
	return nil
}

// Split fill factors of the adaptive policy (Options.FillPercent zero).
const (
	fillRandom = 0.5
	fillAppend = 1.0
)

// applyBatch writes b into tx, keeping dig up to date. Puts go in key
// order. Unless fill is set, the nodes bucket's split fill factor is
// chosen for the transaction from what its creates look like. Runs of
// appends (keys after every existing child of their parent, like
// ZooKeeper's sequential nodes, several for one parent) leave pages behind
// that nothing will be inserted into, so they are packed full. Other
// creates split pages half and half, leaving room where more will come (a
// lone append lands in a page shared with the next parent's children, so
// it is no different from an insert).
func applyBatch(tx *bbolt.Tx, b *storage.Batch, meta storage.Meta, dig *digests, fill float64) error {
	nodes, sessions := tx.Bucket(bucketNodes), tx.Bucket(bucketSessions)
	if nodes == nil || sessions == nil {
		return errors.New("bolt: a bucket is missing")
	}
	c := nodes.Cursor()
	for _, p := range b.Deletes {
		k := storage.NodeKey(p)
		if ck, cv := c.Seek(k); ck != nil && bytes.Equal(ck, k) {
			dig.nodes.remove(ck, cv)
			if err := c.Delete(); err != nil {
				return fmt.Errorf("bolt: delete %q: %w", p, err)
			}
		}
	}
	// Creates: appends after the last child of a parent that gets more
	// than one in this batch (hot), and the others.
	hot, other := 0, 0
	if len(b.Puts) > 0 {
		puts := make([]kv, len(b.Puts))
		size := 0
		for i, n := range b.Puts {
			puts[i].k = storage.NodeKey(n.Path)
			size += len(n.Data) + 96
		}
		// bbolt keeps the value slices until the transaction ends: encode
		// them all into one arena (a grown arena leaves earlier slices
		// valid in the old array).
		arena := make([]byte, 0, size)
		for i, n := range b.Puts {
			start := len(arena)
			arena = storage.AppendNodeValue(arena, n)
			puts[i].v = arena[start:len(arena):len(arena)]
		}
		sort.Slice(puts, func(i, j int) bool { return bytes.Compare(puts[i].k, puts[j].k) < 0 })
		var runParent []byte // parent of the current run of appends
		run := 0
		endRun := func() {
			if run > 1 {
				hot += run
			} else {
				other += run
			}
			run = 0
		}
		for _, x := range puts {
			// The cursor is repositioned after each Put, which moves
			// bbolt's cursors.
			ck, cv := c.Seek(x.k)
			parent := x.k[:bytes.LastIndexByte(x.k, '/')+1]
			switch {
			case ck != nil && bytes.Equal(ck, x.k):
				dig.nodes.remove(ck, cv)
			case ck == nil || !bytes.HasPrefix(ck, parent):
				// Sorted, so a parent's appends come one after another.
				if run > 0 && !bytes.Equal(parent, runParent) {
					endRun()
				}
				runParent = parent
				run++
			default:
				other++
			}
			if err := nodes.Put(x.k, x.v); err != nil {
				return fmt.Errorf("bolt: put %q: %w", x.k, err)
			}
			dig.nodes.add(x.k, x.v)
		}
		endRun()
	}
	switch {
	case fill > 0:
		nodes.FillPercent = fill
	case hot > other:
		nodes.FillPercent = fillAppend
	default:
		nodes.FillPercent = fillRandom
	}
	sessions.FillPercent = fillRandom
	for _, s := range b.Sessions {
		k := storage.SessionKey(s.ID)
		if old := sessions.Get(k); old != nil {
			dig.sessions.remove(k, old)
		}
		v := storage.AppendSessionValue(nil, s.Timeout)
		if err := sessions.Put(k, v); err != nil {
			return fmt.Errorf("bolt: put session %#x: %w", s.ID, err)
		}
		dig.sessions.add(k, v)
	}
	if len(b.SessionDeletes) > 0 {
		c := sessions.Cursor()
		for _, id := range b.SessionDeletes {
			k := storage.SessionKey(id)
			if ck, cv := c.Seek(k); ck != nil && bytes.Equal(ck, k) {
				dig.sessions.remove(ck, cv)
				if err := c.Delete(); err != nil {
					return fmt.Errorf("bolt: delete session %#x: %w", id, err)
				}
			}
		}
	}
	return putHeader(tx, meta, *dig)
}

// BeginInstall implements storage.Engine: the replacement is built in
// StagingName (see Installer). Commits fail with storage.ErrInstallActive
// until it is committed or aborted; Get and Load still see the old state.
func (e *Engine) BeginInstall() (storage.Installer, error) {
	e.wmu.Lock()
	defer e.wmu.Unlock()
	switch {
	case e.closed:
		return nil, storage.ErrClosed
	case e.install != nil:
		return nil, storage.ErrInstallActive
	}
	db, err := e.createStaging(storage.Meta{})
	if err != nil {
		return nil, err
	}
	in := &installer{e: e, db: db}
	e.mu.Lock()
	e.install = in
	e.mu.Unlock()
	return in, nil
}

// createStaging creates an empty staging file holding meta.
func (e *Engine) createStaging(meta storage.Meta) (*bbolt.DB, error) {
	if err := os.Remove(e.staging); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("bolt: %w", err)
	}
	db, err := e.openDB(e.staging, true)
	if err != nil {
		return nil, err
	}
	if err := e.initDB(db, meta, true); err != nil {
		db.Close()
		os.Remove(e.staging)
		return nil, err
	}
	return db, nil
}

// dropStaging closes and removes the staging file.
func (e *Engine) dropStaging(db *bbolt.DB) {
	db.Close()
	os.Remove(e.staging)
}

// switchTo makes the staging file, open as staged and fully written,
// the live store: fsync it, rename it over FileName while both are open
// and locked, fsync the directory, then close the old file. Called with
// wmu held. On error before the rename the staging file is dropped and the
// old state stays; after it, writes are refused (the switch may not be
// durable).
func (e *Engine) switchTo(staged *bbolt.DB, meta storage.Meta, dig digests) error {
	if !e.opts.NoSync {
		if err := staged.Sync(); err != nil {
			e.dropStaging(staged)
			return fmt.Errorf("bolt: syncing %s: %w", e.staging, err)
		}
	}
	if err := os.Rename(e.staging, e.path); err != nil {
		e.dropStaging(staged)
		return fmt.Errorf("bolt: %w", err)
	}
	dirErr := e.syncDir()
	staged.NoSync, staged.NoGrowSync = e.opts.NoSync, e.opts.NoSync
	e.mu.Lock()
	old := e.db
	e.db, e.meta = staged, meta
	e.mu.Unlock()
	e.dig = dig
	e.failed = nil
	old.Close()
	if dirErr != nil {
		e.failed = fmt.Errorf("bolt: syncing %s after replacing %s (reopen the store): %w", e.dir, FileName, dirErr)
		return e.failed
	}
	return nil
}

// Reset implements storage.Engine: an empty store with the old epochs is
// written to StagingName and switched in like an install (so the file
// shrinks back to its minimum). An install in progress is aborted.
func (e *Engine) Reset() error {
	e.wmu.Lock()
	defer e.wmu.Unlock()
	if e.closed {
		return storage.ErrClosed
	}
	e.abortInstall()
	meta := storage.Meta{AcceptedEpoch: e.meta.AcceptedEpoch, CurrentEpoch: e.meta.CurrentEpoch}
	db, err := e.createStaging(meta)
	if err != nil {
		return err
	}
	return e.switchTo(db, meta, digests{})
}

// Compact implements storage.Compacter: the live content is copied in key
// order into StagingName with full pages (bbolt.Compact) and switched in
// like an install. It needs the store's size again on disk, briefly, and
// fails with storage.ErrInstallActive during an install.
func (e *Engine) Compact() error {
	e.wmu.Lock()
	defer e.wmu.Unlock()
	switch {
	case e.closed:
		return storage.ErrClosed
	case e.install != nil:
		return storage.ErrInstallActive
	case e.failed != nil:
		return e.failed
	}
	if err := os.Remove(e.staging); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("bolt: %w", err)
	}
	dst, err := e.openDB(e.staging, true)
	if err != nil {
		return err
	}
	if err := protect(e.path, nil, func() error { return bbolt.Compact(dst, e.db, 64<<20) }); err != nil {
		e.dropStaging(dst)
		return fmt.Errorf("bolt: compact: %w", err)
	}
	return e.switchTo(dst, e.meta, e.dig)
}

// DiskBytes implements storage.Stats: the space the engine's files take
// on disk (allocated blocks: bbolt extends its file ahead, sparsely).
func (e *Engine) DiskBytes() (int64, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return 0, storage.ErrClosed
	}
	var total int64
	for _, p := range []string{e.path, e.staging} {
		info, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("bolt: %w", err)
		}
		total += allocated(info)
	}
	return total, nil
}

// Space reports the live file's size and how many of its bytes hold no
// data: free pages (reused by later commits) and space bbolt allocated
// ahead. Only Compact gives them back to the file system.
func (e *Engine) Space() (fileBytes, freeBytes int64, err error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return 0, 0, storage.ErrClosed
	}
	info, err := os.Stat(e.path)
	if err != nil {
		return 0, 0, fmt.Errorf("bolt: %w", err)
	}
	var used int64
	err = e.db.View(func(tx *bbolt.Tx) error {
		used = tx.Size()
		return nil
	})
	st := e.db.Stats()
	free := info.Size() - used + int64(st.FreePageN+st.PendingPageN)*int64(e.db.Info().PageSize)
	return info.Size(), free, err
}

// Counts returns how many nodes and sessions the store holds (from its
// digest, without reading them): a loader can size its maps before Load.
func (e *Engine) Counts() (nodes, sessions int64, err error) {
	e.wmu.Lock()
	defer e.wmu.Unlock()
	if e.closed {
		return 0, 0, storage.ErrClosed
	}
	return int64(e.dig.nodes.n), int64(e.dig.sessions.n), nil
}

// Close implements storage.Engine: an install in progress is aborted.
// Everything committed with sync true is already durable.
func (e *Engine) Close() error {
	e.wmu.Lock()
	defer e.wmu.Unlock()
	if e.closed {
		return nil
	}
	e.abortInstall()
	e.mu.Lock()
	e.closed = true
	db := e.db
	e.mu.Unlock()
	if err := db.Close(); err != nil {
		return fmt.Errorf("bolt: %w", err)
	}
	return nil
}

// abortInstall drops a staged install, if any. Called with wmu held.
func (e *Engine) abortInstall() {
	in := e.install
	if in == nil {
		return
	}
	in.done = true
	in.stopWriter()
	e.dropStaging(in.db)
	e.mu.Lock()
	e.install = nil
	e.mu.Unlock()
}

// sortKVs sorts by key, keeping the last of equal keys (stable).
func sortKVs(kvs []kv) []kv {
	sort.SliceStable(kvs, func(i, j int) bool { return bytes.Compare(kvs[i].k, kvs[j].k) < 0 })
	out := kvs[:0]
	for i, x := range kvs {
		if i+1 < len(kvs) && bytes.Equal(x.k, kvs[i+1].k) {
			continue
		}
		out = append(out, x)
	}
	return out
}
