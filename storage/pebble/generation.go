package pebble

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/zkobserver/zkobserver/storage"
)

// The names in the data directory; anything else is foreign.
const (
	lockName       = "LOCK"
	currentName    = "CURRENT"
	currentTmpName = "CURRENT.tmp"
	genPrefix      = "gen-"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func genName(gen uint64) string { return fmt.Sprintf("%s%06d", genPrefix, gen) }

// parseGenName is the inverse of genName.
func parseGenName(name string) (uint64, bool) {
	digits, ok := strings.CutPrefix(name, genPrefix)
	if !ok || len(digits) < 6 {
		return 0, false
	}
	gen, err := strconv.ParseUint(digits, 10, 64)
	if err != nil || gen == 0 || genName(gen) != name {
		return 0, false
	}
	return gen, true
}

func (e *Engine) genDir(gen uint64) string { return e.fs.PathJoin(e.dir, genName(gen)) }

// ours reports whether name in dir is one of this engine's: the lock,
// CURRENT and its temporary file, or a generation directory.
func ours(fs vfs.FS, dir, name string) bool {
	switch name {
	case lockName, currentName, currentTmpName:
		return true
	}
	if _, ok := parseGenName(name); !ok {
		return false
	}
	info, err := fs.Stat(fs.PathJoin(dir, name))
	return err == nil && info.IsDir()
}

// currentContent is what CURRENT holds when it names gen: the generation's
// name and a CRC-32C of it, so a damaged CURRENT is never taken for
// another generation.
func currentContent(gen uint64) []byte {
	name := genName(gen)
	return fmt.Appendf(nil, "%s %08x\n", name, crc32.Checksum([]byte(name), castagnoli))
}

// readCurrent returns the generation CURRENT names; ok false when there is
// no CURRENT (a fresh store).
func (e *Engine) readCurrent() (gen uint64, ok bool, err error) {
	path := e.fs.PathJoin(e.dir, currentName)
	f, err := e.fs.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("storage/pebble: %w", err)
	}
	data, err := io.ReadAll(f)
	f.Close()
	if err != nil {
		return 0, false, fmt.Errorf("storage/pebble: %w", err)
	}
	name, _, _ := bytes.Cut(data, []byte{' '})
	gen, ok = parseGenName(string(name))
	if !ok || !bytes.Equal(data, currentContent(gen)) {
		return 0, false, fmt.Errorf("storage/pebble: %s is damaged (%q): %w", path, data, storage.ErrCorrupt)
	}
	if info, err := e.fs.Stat(e.genDir(gen)); err != nil || !info.IsDir() {
		return 0, false, fmt.Errorf("storage/pebble: %s names %s, which is missing: %w", path, genName(gen), storage.ErrCorrupt)
	}
	return gen, true, nil
}

// writeCurrent points dir's CURRENT at gen, atomically and durably: a
// temporary file, fsync, rename over CURRENT, fsync of dir. hook, if not
// nil, is called between the temporary file and the rename. renamed
// reports whether the rename happened: after it, an error leaves CURRENT
// naming either generation.
func writeCurrent(fs vfs.FS, dir string, gen uint64, hook func(step string)) (renamed bool, err error) {
	tmp := fs.PathJoin(dir, currentTmpName)
	f, err := fs.Create(tmp, vfs.WriteCategoryUnspecified)
	if err != nil {
		return false, fmt.Errorf("storage/pebble: %w", err)
	}
	_, err = f.Write(currentContent(gen))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && hook != nil {
		hook("current-tmp")
	}
	if err == nil {
		err = fs.Rename(tmp, fs.PathJoin(dir, currentName))
		renamed = err == nil
	}
	if err == nil {
		err = syncDir(fs, dir)
	}
	if err != nil {
		return renamed, fmt.Errorf("storage/pebble: switching %s to %s: %w", dir, genName(gen), err)
	}
	return true, nil
}

func syncDir(fs vfs.FS, dir string) error {
	d, err := fs.OpenDir(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// removeAllBut removes every generation but keep, and CURRENT.tmp.
func (e *Engine) removeAllBut(keep uint64) error {
	names, err := e.fs.List(e.dir)
	if err != nil {
		return fmt.Errorf("storage/pebble: %w", err)
	}
	for _, name := range names {
		path := e.fs.PathJoin(e.dir, name)
		if gen, ok := parseGenName(name); ok && gen != keep {
			err = e.fs.RemoveAll(path)
		} else if name == currentTmpName {
			err = e.fs.Remove(path)
		}
		if err != nil {
			return fmt.Errorf("storage/pebble: removing a leftover: %w", err)
		}
	}
	return nil
}

// stage creates generation gen (removing any leftover of that name) as a
// Pebble database without WAL, to be filled and then sealed.
func (e *Engine) stage(gen uint64) (*pebble.DB, error) {
	dir := e.genDir(gen)
	if err := e.fs.RemoveAll(dir); err != nil {
		return nil, fmt.Errorf("storage/pebble: %w", err)
	}
	db, err := pebble.Open(dir, e.pebbleOptions(true, true))
	if err != nil {
		return nil, fmt.Errorf("storage/pebble: creating %s: %w", dir, err)
	}
	return db, nil
}

// seal writes meta into a staged generation, flushes it to synced
// sstables and closes it. On error the database is closed all the same.
func (e *Engine) seal(db *pebble.DB, gen uint64, meta storage.Meta) error {
	err := db.Set(metaKey, storage.AppendMetaValue(nil, meta), pebble.NoSync)
	if err == nil {
		err = db.Flush()
	}
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = syncDir(e.fs, e.genDir(gen))
	}
	if err != nil {
		return fmt.Errorf("storage/pebble: writing %s: %w", e.genDir(gen), err)
	}
	return nil
}

// switchTo makes the sealed generation gen live with meta: CURRENT is
// flipped, gen opened, the old generation closed and removed. Called with
// wmu held. An error before the flip removes gen and keeps the old state.
// An error after it (CURRENT renamed but its directory not synced, or gen
// failing to open) closes the engine and leaves both generations: the next
// Open serves the one CURRENT names.
func (e *Engine) switchTo(gen uint64, meta storage.Meta) error {
	e.step("sealed")
	renamed, err := writeCurrent(e.fs, e.dir, gen, e.hook)
	if err != nil && !renamed {
		e.fs.RemoveAll(e.genDir(gen))
		return err
	}
	if err != nil {
		// CURRENT may name either generation: keep both for the next
		// Open, which serves the one it names and removes the other.
		e.mu.Lock()
		e.closed = true
		e.cache.Unref()
		e.lock.Close()
		old := e.db
		e.mu.Unlock()
		old.Close()
		return fmt.Errorf("%w (the engine is closed; open it again)", err)
	}
	e.step("flipped")
	db, err := e.openGen(gen, false)
	e.mu.Lock()
	old, oldGen := e.db, e.gen
	e.stopSettle() // it runs on old
	if err != nil {
		e.closed = true
		e.cache.Unref()
		e.lock.Close()
	} else {
		e.db, e.gen = db, gen
		e.storeMeta(meta)
		e.settleInstall(db)
	}
	e.mu.Unlock()
	if cerr := old.Close(); err == nil && cerr != nil {
		e.opts.errorf("storage/pebble: closing %s: %v", genName(oldGen), cerr)
	}
	if err != nil {
		return fmt.Errorf("storage/pebble: %s was switched to %s, which then failed to open (the engine is closed; open it again): %w",
			e.dir, genName(gen), err)
	}
	e.step("reopened")
	if err := e.fs.RemoveAll(e.genDir(oldGen)); err != nil {
		e.opts.errorf("storage/pebble: removing %s: %v", genName(oldGen), err)
	}
	return nil
}

// settleInstall compacts a freshly switched-to generation in the
// background. An install leaves its data in overlapping L0 tables; the first
// flush afterwards starts a compaction that rewrites them all, and a Pebble
// Open that replays a WAL (after a crash) waits for it, about a second per
// million znodes on the next start. Paying it now, while the observer runs,
// keeps restarts fast. Called with mu write-locked.
func (e *Engine) settleInstall(db *pebble.DB) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	e.settleCancel, e.settleDone = cancel, done
	go func() {
		defer close(done)
		if err := db.Compact(ctx, []byte{0}, []byte{0xff}, true); err != nil && ctx.Err() == nil {
			e.opts.errorf("storage/pebble: compacting the installed generation: %v", err)
		}
	}()
}

// stopSettle cancels the background compaction, if any, and waits for it
// to return (before its database is closed). Called with mu write-locked.
func (e *Engine) stopSettle() {
	if e.settleCancel != nil {
		e.settleCancel()
		<-e.settleDone
		e.settleCancel, e.settleDone = nil, nil
	}
}

// step calls the test hook, if any, at a step of a generation switch.
func (e *Engine) step(name string) {
	if e.hook != nil {
		e.hook(name)
	}
}

// BeginInstall implements storage.Engine: the new state is built in a new
// generation (Pebble without WAL, big batches), invisible until
// Installer.Commit flushes it and flips CURRENT. Commit fails with
// storage.ErrInstallActive until then.
func (e *Engine) BeginInstall() (storage.Installer, error) {
	e.wmu.Lock()
	defer e.wmu.Unlock()
	e.mu.RLock()
	closed, gen := e.closed, e.gen
	e.mu.RUnlock()
	switch {
	case closed:
		return nil, storage.ErrClosed
	case e.install != nil:
		return nil, storage.ErrInstallActive
	}
	db, err := e.stage(gen + 1)
	if err != nil {
		return nil, err
	}
	e.install = &installer{e: e, gen: gen + 1, db: db, batch: db.NewBatch()}
	return e.install, nil
}

// installer stages an install in generation gen. Its methods take the
// engine's writer lock.
type installer struct {
	e     *Engine
	gen   uint64
	db    *pebble.DB
	batch *pebble.Batch
	done  bool
	k, v  []byte
}

// Put implements storage.Installer.
func (in *installer) Put(n *storage.Node) error {
	in.e.wmu.Lock()
	defer in.e.wmu.Unlock()
	if in.done {
		return storage.ErrClosed
	}
	in.k = appendNodeKey(in.k[:0], n.Path)
	in.v = storage.AppendNodeValue(in.v[:0], n)
	return in.set()
}

// PutSession implements storage.Installer.
func (in *installer) PutSession(s storage.Session) error {
	in.e.wmu.Lock()
	defer in.e.wmu.Unlock()
	if in.done {
		return storage.ErrClosed
	}
	in.k = appendSessionKey(in.k[:0], s.ID)
	in.v = storage.AppendSessionValue(in.v[:0], s.Timeout)
	return in.set()
}

// Delete implements storage.Installer.
func (in *installer) Delete(path string) error {
	in.e.wmu.Lock()
	defer in.e.wmu.Unlock()
	if in.done {
		return storage.ErrClosed
	}
	in.k = appendNodeKey(in.k[:0], path)
	return in.del()
}

// DeleteSession implements storage.Installer.
func (in *installer) DeleteSession(id int64) error {
	in.e.wmu.Lock()
	defer in.e.wmu.Unlock()
	if in.done {
		return storage.ErrClosed
	}
	in.k = appendSessionKey(in.k[:0], id)
	return in.del()
}

func (in *installer) del() error {
	if err := in.batch.Delete(in.k, nil); err != nil {
		return fmt.Errorf("storage/pebble: install: %w", err)
	}
	return nil
}

func (in *installer) set() error {
	if err := in.batch.Set(in.k, in.v, nil); err != nil {
		return fmt.Errorf("storage/pebble: install: %w", err)
	}
	if in.batch.Len() >= installBatchBytes {
		return in.apply()
	}
	return nil
}

// apply writes the pending batch into the staged generation.
func (in *installer) apply() error {
	err := in.db.Apply(in.batch, pebble.NoSync)
	in.batch.Close()
	in.batch = in.db.NewBatch()
	if err != nil {
		return fmt.Errorf("storage/pebble: install: %w", err)
	}
	return nil
}

// Commit implements storage.Installer: the staged generation gets meta
// (NeedsResync cleared), is flushed and synced, and CURRENT is flipped to
// it; the old generation is removed. On an error before the flip the
// engine keeps its old state and the staged generation is dropped.
func (in *installer) Commit(meta storage.Meta) error {
	e := in.e
	e.wmu.Lock()
	defer e.wmu.Unlock()
	e.mu.RLock()
	closed := e.closed
	e.mu.RUnlock()
	if in.done || e.install != in || closed {
		return storage.ErrClosed
	}
	in.done = true
	e.install = nil
	meta.NeedsResync = false
	err := in.apply()
	in.batch.Close()
	if err != nil {
		in.db.Close()
		e.fs.RemoveAll(e.genDir(in.gen))
		return err
	}
	if err := e.seal(in.db, in.gen, meta); err != nil {
		e.fs.RemoveAll(e.genDir(in.gen))
		return err
	}
	return e.switchTo(in.gen, meta)
}

// Abort implements storage.Installer: the staged generation is removed.
// Aborting twice, or after Commit, is a no-op.
func (in *installer) Abort() error {
	in.e.wmu.Lock()
	defer in.e.wmu.Unlock()
	if in.done {
		return nil
	}
	return in.abortLocked()
}

// abortLocked drops the staged generation; wmu is held.
func (in *installer) abortLocked() error {
	e := in.e
	in.done = true
	if e.install == in {
		e.install = nil
	}
	in.batch.Close()
	err := in.db.Close()
	if rerr := e.fs.RemoveAll(e.genDir(in.gen)); err == nil {
		err = rerr
	}
	if err != nil {
		return fmt.Errorf("storage/pebble: abort install: %w", err)
	}
	return nil
}

// Reset implements storage.Engine: a new empty generation holding only the
// epochs is sealed and switched to like an install, so the wipe is durable
// and atomic. A staged install is dropped.
func (e *Engine) Reset() error {
	e.wmu.Lock()
	defer e.wmu.Unlock()
	e.mu.RLock()
	closed, gen := e.closed, e.gen
	e.mu.RUnlock()
	if closed {
		return storage.ErrClosed
	}
	if e.install != nil {
		if err := e.install.abortLocked(); err != nil {
			return err
		}
	}
	old := e.loadMeta()
	meta := storage.Meta{AcceptedEpoch: old.AcceptedEpoch, CurrentEpoch: old.CurrentEpoch}
	db, err := e.stage(gen + 1)
	if err != nil {
		return err
	}
	if err := e.seal(db, gen+1, meta); err != nil {
		e.fs.RemoveAll(e.genDir(gen + 1))
		return err
	}
	return e.switchTo(gen+1, meta)
}
