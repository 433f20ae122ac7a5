// Package pebble is the Pebble storage engine: the observer's state in a
// Pebble (github.com/cockroachdb/pebble/v2) LSM database, one keyspace
// holding
//
//	"m"                          the meta record (storage.AppendMetaValue)
//	"n" + storage.NodeKey(path)  a znode (storage.AppendNodeValue)
//	"s" + storage.SessionKey(id) a session (storage.AppendSessionValue)
//
// Every value carries the CRC of the shared encoding (package storage), on
// top of Pebble's own block and record checksums. Node keys share one
// prefix byte, so key order is path byte order and a parent comes before
// its children.
//
// # Durability
//
// A Commit is one Pebble batch (puts, deletes, sessions and the meta record
// with LastZxid), written to the WAL with or without fsync: atomic by
// construction. A whole-state replacement (an install after a SNAP, or a
// Reset) is built in a new Pebble directory, a generation, and switched to
// by rewriting one small file:
//
//	dir/LOCK            the process lock (vfs.FS.Lock: fcntl on a real disk)
//	dir/CURRENT         "gen-NNNNNN <crc32c>\n": the live generation
//	dir/CURRENT.tmp     the next CURRENT, while it is being written
//	dir/gen-NNNNNN/     a Pebble database
//
// CURRENT is replaced atomically (temporary file, fsync, rename, fsync of
// dir) only once the new generation is flushed and synced, so a crash at
// any moment reopens either the old state or the new one. Open removes any
// generation CURRENT does not name (an interrupted install).
//
// # Errors
//
// A directory holding anything but these names is refused with
// storage.ErrForeign and left untouched. Stored bytes that fail Pebble's
// checks or the value CRCs give errors wrapping storage.ErrCorrupt that name
// the data directory (and, where Pebble says, the file); panics inside
// Pebble during Open, Load and Get are turned into such errors. A WAL whose
// tail is torn (a crash during a write) is replayed up to the last whole
// batch, as after any crash. Damage followed by intact records is
// ErrCorrupt (Pebble v2 reads ahead in the WAL to tell it from a torn
// tail); damage with nothing intact after it cannot be told from a torn
// tail and reopens at the last whole batch before it. Pebble treats a
// damaged last MANIFEST record the same way. A store held by another
// process gives storage.ErrLocked.
package pebble

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"os"
	"strings"
	"sync"
	"syscall"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/zkobserver/zkobserver/storage"
)

// Key layout.
const (
	metaByte    = 'm'
	nodeByte    = 'n'
	sessionByte = 's'
)

var (
	metaKey       = []byte{metaByte}
	nodeLower     = []byte{nodeByte}
	nodeUpper     = []byte{nodeByte + 1}
	sessionLower  = []byte{sessionByte}
	sessionUpper  = []byte{sessionByte + 1}
	keyspaceLower = []byte{0}
	keyspaceUpper = []byte{0xff}
)

// Options tunes the engine. The zero value is ready to use.
type Options struct {
	// FS is the filesystem the store lives on; nil means the real disk
	// (vfs.Default). Tests pass vfs.NewCrashableMem() to take crash images
	// (see TestCrashClone).
	FS vfs.FS
	// MemTableSize is the size of one memtable in bytes (Pebble keeps up to
	// two); 0 means 32 MiB. Larger memtables mean fewer flushes while
	// committing.
	MemTableSize uint64
	// CacheSize is the block cache size in bytes; 0 means 32 MiB. The
	// observer holds its tree in memory, so the cache serves only Get,
	// compactions and the start-up Load.
	CacheSize int64
	// BlockSize is the uncompressed size of an sstable data block; 0 means
	// 32 KiB, which suits the one sequential scan (Load) better than
	// Pebble's 4 KiB default.
	BlockSize int
	// Logf receives Pebble's informational messages and the errors
	// nobody else sees (background failures, leftovers that could not be
	// removed); nil drops the former and sends the latter to the standard
	// logger. Pebble's fatal messages become panics.
	Logf func(format string, args ...any)
}

const (
	defaultMemTableSize = 32 << 20
	defaultCacheSize    = 32 << 20
	defaultBlockSize    = 32 << 10
	// installMemTableSize is the memtable of a generation being built by
	// an install: it has no WAL, so only memory bounds it.
	installMemTableSize = 64 << 20
	// installBatchBytes is how much an install buffers per batch.
	installBatchBytes = 4 << 20
)

// Engine is the Pebble engine. It implements storage.Engine,
// storage.Stats, storage.Counter (an estimate), storage.Compacter and
// storage.Checkpointer. It serves one
// writer (Commit, an install, Reset) and any number of concurrent Get,
// Meta and DiskBytes calls, as storage.Engine requires.
type Engine struct {
	dir   string
	fs    vfs.FS
	opts  Options
	lock  io.Closer
	cache *pebble.Cache

	// wmu serializes the writers: Commit, BeginInstall and the installer's
	// methods, Reset, Compact, Close. It guards install and bufs.
	wmu     sync.Mutex
	install *installer
	bufs    commitBufs

	// mu guards db, gen and closed; it is write-locked only to switch to a
	// new generation or to close.
	mu     sync.RWMutex
	db     *pebble.DB
	gen    uint64
	closed bool

	metaMu sync.Mutex
	meta   storage.Meta

	// settle is the background compaction of a freshly installed
	// generation (see settleInstall); guarded by mu's write side.
	settleCancel context.CancelFunc
	settleDone   chan struct{}

	// hook, set by tests only, is called at each step of a generation
	// switch ("sealed", "current-tmp", "flipped", "reopened").
	hook func(step string)
}

var (
	_ storage.Engine       = (*Engine)(nil)
	_ storage.Stats        = (*Engine)(nil)
	_ storage.Compacter    = (*Engine)(nil)
	_ storage.Checkpointer = (*Engine)(nil)
	_ storage.Counter      = (*Engine)(nil)
)

// Open opens the store in dir, creating dir and an empty store if needed.
// A directory holding files that are not this engine's gives an error
// wrapping storage.ErrForeign (nothing is touched); a store another process
// has open, storage.ErrLocked; damaged files, storage.ErrCorrupt naming
// them. Open removes leftovers of an interrupted install.
func Open(dir string, opts Options) (*Engine, error) {
	if opts.FS == nil {
		opts.FS = vfs.Default
	}
	if opts.MemTableSize == 0 {
		opts.MemTableSize = defaultMemTableSize
	}
	if opts.CacheSize == 0 {
		opts.CacheSize = defaultCacheSize
	}
	if opts.BlockSize == 0 {
		opts.BlockSize = defaultBlockSize
	}
	fsys := opts.FS
	if err := fsys.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("storage/pebble: %w", err)
	}
	names, err := fsys.List(dir)
	if err != nil {
		return nil, fmt.Errorf("storage/pebble: %w", err)
	}
	for _, name := range names {
		if !ours(fsys, dir, name) {
			return nil, fmt.Errorf("storage/pebble: %s holds %q, which is not a Pebble engine file: %w",
				dir, name, storage.ErrForeign)
		}
	}
	lock, err := fsys.Lock(fsys.PathJoin(dir, lockName))
	if err != nil {
		if isLockConflict(err) {
			return nil, fmt.Errorf("storage/pebble: %s: %v: %w", dir, err, storage.ErrLocked)
		}
		return nil, fmt.Errorf("storage/pebble: lock %s: %w", dir, err)
	}
	e := &Engine{dir: dir, fs: fsys, opts: opts, lock: lock, cache: pebble.NewCache(opts.CacheSize)}
	if err := e.open(); err != nil {
		if e.db != nil {
			e.db.Close()
		}
		e.cache.Unref()
		lock.Close()
		return nil, err
	}
	return e, nil
}

// open reads CURRENT and opens the live generation, or creates a fresh
// store when there is none.
func (e *Engine) open() (err error) {
	defer e.recoverCorrupt(&err, "open")
	gen, ok, err := e.readCurrent()
	if err != nil {
		return err
	}
	if !ok {
		// A fresh store, or the remains of a first Open that crashed before
		// it wrote CURRENT: nothing was ever committed.
		if err := e.removeAllBut(0); err != nil {
			return err
		}
		return e.create()
	}
	db, err := e.openGen(gen, false)
	if err != nil {
		return e.openErr(gen, err)
	}
	e.db, e.gen = db, gen
	v, closer, err := db.Get(metaKey)
	if errors.Is(err, pebble.ErrNotFound) {
		return fmt.Errorf("storage/pebble: %s has no meta record: %w", e.genDir(gen), storage.ErrCorrupt)
	}
	if err != nil {
		return e.openErr(gen, err)
	}
	m, err := storage.DecodeMetaValue(v)
	closer.Close()
	if err != nil {
		return fmt.Errorf("storage/pebble: %s: %w", e.genDir(gen), err)
	}
	e.meta = m
	// Only now that the live generation opened: drop the leftovers.
	return e.removeAllBut(gen)
}

// create makes generation 1 holding an empty state and points CURRENT at
// it.
func (e *Engine) create() error {
	db, err := e.stage(1)
	if err != nil {
		return err
	}
	if err := e.seal(db, 1, storage.Meta{}); err != nil {
		return err
	}
	if _, err := writeCurrent(e.fs, e.dir, 1, nil); err != nil {
		return err
	}
	// The data directory may be new too: make its own entry durable.
	if err := syncDir(e.fs, e.fs.PathDir(e.dir)); err != nil {
		e.opts.errorf("storage/pebble: syncing the parent of %s: %v", e.dir, err)
	}
	db, err = e.openGen(1, false)
	if err != nil {
		return fmt.Errorf("storage/pebble: %w", err)
	}
	e.db, e.gen, e.meta = db, 1, storage.Meta{}
	return nil
}

// pebbleOptions returns the options of a generation; staging ones (being
// built by an install or a reset) have no WAL and a bigger memtable.
func (e *Engine) pebbleOptions(create, staging bool) *pebble.Options {
	po := &pebble.Options{
		FS:                 e.fs,
		Cache:              e.cache,
		MemTableSize:       e.opts.MemTableSize,
		FormatMajorVersion: pebble.FormatNewest,
		Logger:             logger{&e.opts},
		ErrorIfExists:      create,
		ErrorIfNotExists:   !create,
	}
	// Pebble reports corruption to this listener (by default a fatal log)
	// and returns the error to the reader as well, which is what counts.
	po.EventListener = &pebble.EventListener{DataCorruption: func(info pebble.DataCorruptionInfo) {
		e.opts.errorf("storage/pebble: %s", info)
	}}
	if staging {
		po.DisableWAL = true
		po.MemTableSize = installMemTableSize
	}
	po.EnsureDefaults()
	for i := range po.Levels {
		po.Levels[i].BlockSize = e.opts.BlockSize
	}
	return po
}

func (e *Engine) openGen(gen uint64, create bool) (*pebble.DB, error) {
	return pebble.Open(e.genDir(gen), e.pebbleOptions(create, false))
}

// openErr classifies an error from opening or reading generation gen.
func (e *Engine) openErr(gen uint64, err error) error {
	return e.classify("open "+e.genDir(gen), err)
}

// classify wraps err from Pebble: an error of the environment (permissions,
// a full disk, a lock) as such, anything else as corruption.
func (e *Engine) classify(what string, err error) error {
	switch {
	case isLockConflict(err):
		return fmt.Errorf("storage/pebble: %s: %v: %w", what, err, storage.ErrLocked)
	case isEnvironment(err):
		return fmt.Errorf("storage/pebble: %s: %w", what, err)
	default:
		return fmt.Errorf("storage/pebble: %s (data directory %s): %v: %w", what, e.dir, err, storage.ErrCorrupt)
	}
}

func isEnvironment(err error) bool {
	for _, target := range []error{fs.ErrPermission, syscall.ENOSPC, syscall.EMFILE, syscall.ENFILE,
		syscall.ENOMEM, syscall.EROFS, syscall.EIO, syscall.EDQUOT} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// isLockConflict reports whether err from vfs.FS.Lock means someone else
// holds the lock (another process: EAGAIN or EACCES from fcntl; this
// process: Pebble's own message).
func isLockConflict(err error) bool {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return false // creating the lock file failed
	}
	return errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EACCES) ||
		strings.Contains(err.Error(), "lock held by current process")
}

// fatalPanic is what Pebble's fatal log messages panic with.
type fatalPanic struct{ msg string }

// recoverCorrupt turns a panic inside Pebble into an error wrapping
// storage.ErrCorrupt.
func (e *Engine) recoverCorrupt(err *error, what string) {
	if p := recover(); p != nil {
		if f, ok := p.(fatalPanic); ok {
			p = f.msg
		}
		*err = fmt.Errorf("storage/pebble: %s (data directory %s): pebble panicked: %v: %w", what, e.dir, p, storage.ErrCorrupt)
	}
}

// logger adapts Options.Logf to Pebble's Logger.
type logger struct{ o *Options }

func (l logger) Infof(format string, args ...any) {
	if l.o.Logf != nil {
		l.o.Logf(format, args...)
	}
}

func (l logger) Errorf(format string, args ...any) { l.o.errorf(format, args...) }

func (l logger) Fatalf(format string, args ...any) {
	panic(fatalPanic{fmt.Sprintf(format, args...)})
}

// errorf reports an error that is not returned to a caller (a background
// failure inside Pebble, a leftover that could not be removed): to Logf, or
// to the standard logger when there is none.
func (o *Options) errorf(format string, args ...any) {
	if o.Logf != nil {
		o.Logf(format, args...)
	} else {
		log.Printf(format, args...)
	}
}

// Meta implements storage.Engine.
func (e *Engine) Meta() (storage.Meta, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return storage.Meta{}, storage.ErrClosed
	}
	return e.loadMeta(), nil
}

func (e *Engine) loadMeta() storage.Meta {
	e.metaMu.Lock()
	defer e.metaMu.Unlock()
	return e.meta
}

func (e *Engine) storeMeta(m storage.Meta) {
	e.metaMu.Lock()
	e.meta = m
	e.metaMu.Unlock()
}

// appendNodeKey appends the key of path: the node prefix and the bytes of
// storage.NodeKey(path).
func appendNodeKey(dst []byte, path string) []byte {
	dst = append(dst, nodeByte)
	if path == "" {
		return append(dst, '/')
	}
	return append(dst, path...)
}

func appendSessionKey(dst []byte, id int64) []byte {
	return append(append(dst, sessionByte), storage.SessionKey(id)...)
}

// Load implements storage.Engine: one pass over the nodes in key order
// with a single storage.NodeDecoder, then the sessions. The reading and
// decoding run in a goroutine of their own, a few chunks of nodes ahead of
// the visitor, which is called on the caller's goroutine: on a machine with
// two cores, building the tree overlaps with reading the store. The *Node
// given to the visitor is reused once it returns (its Path, Data and ACL
// are the visitor's).
func (e *Engine) Load(v storage.Visitor) error {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return storage.ErrClosed
	}
	chunks := make(chan loadChunk, loadChunksAhead)
	free := make(chan []storage.Node, loadChunksAhead+2)
	stop := make(chan struct{})
	go e.read(chunks, free, stop)
	defer func() {
		close(stop)
		for range chunks { // until the reader is gone
		}
	}()
	for c := range chunks {
		if c.err != nil {
			return c.err
		}
		for i := range c.nodes {
			if v.Node != nil {
				if err := v.Node(&c.nodes[i]); err != nil {
					return err
				}
			}
		}
		if c.nodes != nil {
			free <- c.nodes // never blocks: at most cap(free) chunks exist
		}
		for _, s := range c.sessions {
			if v.Session != nil {
				if err := v.Session(s); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

const (
	loadChunkNodes  = 512
	loadChunksAhead = 8
)

// loadChunk is what Load's reader hands to the visitor: decoded nodes, or
// sessions, or the error that ended the read.
type loadChunk struct {
	nodes    []storage.Node
	sessions []storage.Session
	err      error
}

// read iterates the store for Load, sending chunks to out until done or
// stop is closed; it closes out when it returns. Node chunks the visitor
// is done with come back on free, to be reused. A panic inside Pebble is
// sent as an error wrapping storage.ErrCorrupt.
func (e *Engine) read(out chan<- loadChunk, free <-chan []storage.Node, stop <-chan struct{}) {
	defer close(out)
	send := func(c loadChunk) bool {
		select {
		case out <- c:
			return true
		case <-stop:
			return false
		}
	}
	var err error
	defer func() {
		e.recoverCorrupt(&err, "load")
		if err != nil {
			send(loadChunk{err: err})
		}
	}()
	err = e.readNodes(send, free)
	if err == nil {
		err = e.readSessions(send)
	}
}

// errStopped ends a read whose Load has returned.
var errStopped = errors.New("storage/pebble: load stopped")

func (e *Engine) readNodes(send func(loadChunk) bool, free <-chan []storage.Node) error {
	it, err := e.db.NewIter(&pebble.IterOptions{LowerBound: nodeLower, UpperBound: nodeUpper})
	if err != nil {
		return e.classify("load", err)
	}
	defer it.Close()
	var nd storage.NodeDecoder
	chunk := func() []storage.Node {
		select {
		case c := <-free:
			return c[:0]
		default:
			return make([]storage.Node, 0, loadChunkNodes)
		}
	}
	c := chunk()
	for ok := it.First(); ok; ok = it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			return e.classify("load nodes from "+e.genDir(e.gen), err)
		}
		c = append(c, storage.Node{})
		if err := nd.DecodeInto(&c[len(c)-1], storage.PathOfKey(it.Key()[1:]), v); err != nil {
			return fmt.Errorf("storage/pebble: %s: %w", e.genDir(e.gen), err)
		}
		if len(c) == cap(c) {
			if !send(loadChunk{nodes: c}) {
				return errStopped
			}
			c = chunk()
		}
	}
	if err := it.Error(); err != nil {
		return e.classify("load nodes from "+e.genDir(e.gen), err)
	}
	if len(c) > 0 && !send(loadChunk{nodes: c}) {
		return errStopped
	}
	return nil
}

func (e *Engine) readSessions(send func(loadChunk) bool) error {
	it, err := e.db.NewIter(&pebble.IterOptions{LowerBound: sessionLower, UpperBound: sessionUpper})
	if err != nil {
		return e.classify("load", err)
	}
	defer it.Close()
	var c []storage.Session
	for ok := it.First(); ok; ok = it.Next() {
		id, ok := storage.SessionOfKey(it.Key()[1:])
		if !ok {
			return fmt.Errorf("storage/pebble: %s: session key %x: %w", e.genDir(e.gen), it.Key(), storage.ErrCorrupt)
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return e.classify("load sessions from "+e.genDir(e.gen), err)
		}
		to, err := storage.DecodeSessionValue(id, v)
		if err != nil {
			return fmt.Errorf("storage/pebble: %s: %w", e.genDir(e.gen), err)
		}
		c = append(c, storage.Session{ID: id, Timeout: to})
	}
	if err := it.Error(); err != nil {
		return e.classify("load sessions from "+e.genDir(e.gen), err)
	}
	if len(c) > 0 && !send(loadChunk{sessions: c}) {
		return errStopped
	}
	return nil
}

// Get implements storage.Engine. Safe concurrently with Commit.
func (e *Engine) Get(path string) (n *storage.Node, err error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return nil, storage.ErrClosed
	}
	defer e.recoverCorrupt(&err, "get")
	key := appendNodeKey(make([]byte, 0, 1+len(path)), path)
	v, closer, err := e.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, storage.ErrNotFound
	}
	if err != nil {
		return nil, e.classify("get", err)
	}
	defer closer.Close()
	n, err = storage.DecodeNodeValue(storage.PathOfKey(key[1:]), v)
	if err != nil {
		return nil, fmt.Errorf("storage/pebble: %s: %w", e.genDir(e.gen), err)
	}
	return n, nil
}

// Commit implements storage.Engine: b becomes one Pebble batch, written
// with pebble.Sync when sync is true (it returns once the WAL is fsynced)
// and pebble.NoSync otherwise (lost in a crash, never partly).
func (e *Engine) Commit(b *storage.Batch, sync bool) error {
	e.wmu.Lock()
	defer e.wmu.Unlock()
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return storage.ErrClosed
	}
	if e.install != nil {
		return storage.ErrInstallActive
	}
	m := e.loadMeta()
	if b.LastZxid < m.LastZxid {
		return fmt.Errorf("storage/pebble: batch zxid %#x, stored %#x: %w", b.LastZxid, m.LastZxid, storage.ErrStaleZxid)
	}
	m.LastZxid = b.LastZxid
	if b.Epochs != nil {
		m.AcceptedEpoch, m.CurrentEpoch = b.Epochs.Accepted, b.Epochs.Current
	}
	pb := e.db.NewBatch()
	defer pb.Close()
	if err := e.bufs.fill(pb, b, m); err != nil {
		return fmt.Errorf("storage/pebble: commit: %w", err)
	}
	wo := pebble.NoSync
	if sync {
		wo = pebble.Sync
	}
	if err := e.db.Apply(pb, wo); err != nil {
		return fmt.Errorf("storage/pebble: commit: %w", err)
	}
	e.storeMeta(m)
	return nil
}

// commitBufs are the key and value buffers of Commit, reused from commit to
// commit (Pebble's Batch.Set copies).
type commitBufs struct{ k, v []byte }

// fill writes b's changes and the meta record m into pb. Each key appears
// once in a storage.Batch (the persister coalesces), so their order within
// pb does not matter. (Sorting them was measured: no gain in Pebble's
// memtable insertion, 5% of Commit's time spent sorting.)
func (c *commitBufs) fill(pb *pebble.Batch, b *storage.Batch, m storage.Meta) error {
	k, v := c.k, c.v
	var err error
	keep := func(e error) {
		if err == nil {
			err = e
		}
	}
	for _, p := range b.Deletes {
		k = appendNodeKey(k[:0], p)
		keep(pb.Delete(k, nil))
	}
	for _, n := range b.Puts {
		k = appendNodeKey(k[:0], n.Path)
		v = storage.AppendNodeValue(v[:0], n)
		keep(pb.Set(k, v, nil))
	}
	for _, s := range b.Sessions {
		k = appendSessionKey(k[:0], s.ID)
		v = storage.AppendSessionValue(v[:0], s.Timeout)
		keep(pb.Set(k, v, nil))
	}
	for _, id := range b.SessionDeletes {
		k = appendSessionKey(k[:0], id)
		keep(pb.Delete(k, nil))
	}
	v = storage.AppendMetaValue(v[:0], m)
	keep(pb.Set(metaKey, v, nil))
	if cap(v) <= 1<<20 { // do not keep one huge value's buffer
		c.k, c.v = k, v
	}
	return err
}

// Close implements storage.Engine: a staged install is dropped, and what was
// committed (with or without sync) is in the WAL. Closing twice is a no-op.
func (e *Engine) Close() error {
	e.wmu.Lock()
	defer e.wmu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil
	}
	var errs []error
	if e.install != nil {
		errs = append(errs, e.install.abortLocked())
	}
	e.closed = true
	e.stopSettle()
	// Flush the memtable first: a WAL with data makes the next Open replay
	// and flush it, and Open then waits for whatever compaction that flush
	// starts (after an install, one that rewrites the whole store: about
	// a second per million znodes).
	errs = append(errs, e.db.Flush(), e.db.Close())
	e.cache.Unref()
	errs = append(errs, e.lock.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("storage/pebble: close: %w", err)
	}
	return nil
}

// DiskBytes implements storage.Stats: the bytes of every file under the
// data directory.
func (e *Engine) DiskBytes() (int64, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return 0, storage.ErrClosed
	}
	return duBytes(e.fs, e.dir)
}

func duBytes(fs vfs.FS, path string) (int64, error) {
	info, err := fs.Stat(path)
	if err != nil {
		return 0, err
	}
	if !info.IsDir() {
		return info.Size(), nil
	}
	names, err := fs.List(path)
	if err != nil {
		return 0, err
	}
	var total int64
	for _, name := range names {
		n, err := duBytes(fs, fs.PathJoin(path, name))
		if err != nil && !errors.Is(err, os.ErrNotExist) { // files come and go
			return 0, err
		}
		total += n
	}
	return total, nil
}

// Counts implements storage.Counter for a start-up load to presize its
// maps. Pebble keeps no count of its keys, so this is an estimate from the
// sstables' properties, read without loading any data: exact for a store
// built by an install (or just compacted) and not written since; otherwise
// it counts the versions not yet compacted away (an overwritten node
// twice, a deleted one not at all or once) and misses what is only in the
// memtable. Do not use it to check a load.
func (e *Engine) Counts() (nodes, sessions int64, err error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return 0, 0, storage.ErrClosed
	}
	levels, err := e.db.SSTables(pebble.WithProperties())
	if err != nil {
		return 0, 0, e.classify("count", err)
	}
	for _, level := range levels {
		for _, t := range level {
			if t.Properties == nil {
				continue
			}
			// A deletion hides itself and, most likely, a put below it.
			n := int64(t.Properties.NumEntries) - 2*int64(t.Properties.NumDeletions)
			if k := t.Smallest.UserKey; len(k) > 0 && k[0] == sessionByte {
				sessions += n // sessions sort last: this table holds only them
			} else {
				nodes += n // the meta record and a few sessions at most besides
			}
		}
	}
	return max(nodes, 0), max(sessions, 0), nil
}

// Compact implements storage.Compacter: a manual compaction of the whole
// keyspace (flushing the memtable), which drops deleted and overwritten
// values.
func (e *Engine) Compact() error {
	e.wmu.Lock()
	defer e.wmu.Unlock()
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return storage.ErrClosed
	}
	if err := e.db.Compact(context.Background(), keyspaceLower, keyspaceUpper, true); err != nil {
		return e.classify("compact", err)
	}
	return nil
}

// Checkpoint implements storage.Checkpointer: dir (which must not exist, or
// be empty) becomes a store of this engine holding the committed state, as
// a Pebble checkpoint (hard links to the immutable sstables where the
// filesystem allows). Safe concurrently with Commit and Get.
func (e *Engine) Checkpoint(dir string) error {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return storage.ErrClosed
	}
	if names, err := e.fs.List(dir); err == nil && len(names) > 0 {
		return fmt.Errorf("storage/pebble: checkpoint: %s is not empty", dir)
	}
	if err := e.fs.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("storage/pebble: checkpoint: %w", err)
	}
	if err := e.db.Checkpoint(e.fs.PathJoin(dir, genName(1)), pebble.WithFlushedWAL()); err != nil {
		return fmt.Errorf("storage/pebble: checkpoint: %w", err)
	}
	_, err := writeCurrent(e.fs, dir, 1, nil)
	return err
}
