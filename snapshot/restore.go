package snapshot

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/zkobserver/zkobserver/core/proto"
	"github.com/zkobserver/zkobserver/core/tree"
	"github.com/zkobserver/zkobserver/storage"
)

// RestoreOptions configure RestoreTree and Restore. The zero value restores
// everything with the default decoder limits.
type RestoreOptions struct {
	// LogDir is Java's dataLogDir when it differs from the dataDir (its
	// version-2 subdirectory is used when present); "" means the logs are
	// next to the snapshots.
	LogDir string
	// ToZxid, when above 0, stops the replay after the txn with this zxid,
	// which must be in the logs. The snapshot used is then the newest valid
	// one that holds nothing after ToZxid: its name zxid and, when it has
	// one, its digest-block zxid (the end of its fuzzy window, B1.5) are at
	// most ToZxid.
	ToZxid int64
	// Snapshot, when set, is the base name of the snapshot file to start
	// from instead of choosing one; it must be valid.
	Snapshot string
	// Tree configures the restored tree. Set ExtendedTypes when the Java
	// servers ran with zookeeper.extendedTypesEnabled=true (TTL nodes);
	// otherwise TTL owners count as sessions and the dead-session clean-up
	// deletes them, as Java would.
	Tree tree.Options
	// Decode configures the file decoders (nil: defaults).
	Decode *Options
	// Progress, if not nil, is called as the restore advances.
	Progress func(Progress)
	// OnTxn, if not nil, is called after each replayed txn is applied and
	// before its digest is checked; an error stops the restore. It may read
	// t but must not change it.
	OnTxn func(e *Entry, txn *proto.Txn, rc tree.Result, t *tree.DataTree) error

	stream *streamInstall // set by Restore: the install fed during the load
}

// Progress reports how far a restore has got.
type Progress struct {
	// Stage is "snapshot" (loading the snapshot), "logs" (replaying) or
	// "install" (writing to the engine).
	Stage string
	// File is the base name of the file being read ("" for install).
	File string
	// Done and Total count bytes of the stage's files (for a compressed
	// snapshot, bytes of the compressed file). Total is 0 when unknown.
	Done, Total int64
}

// RestoreSummary describes a restore.
type RestoreSummary struct {
	// Dir and LogDir are the directories the files were read from.
	Dir, LogDir string
	// Snapshot is the snapshot the tree was loaded from, and
	// SkippedSnapshots the errors of newer ones that could not be read
	// (Java logs those and falls back to older snapshots, as here).
	Snapshot         FileName
	SnapshotHeader   FileHeader
	SnapshotDigest   ZxidDigest
	SkippedSnapshots []error
	// Logs are the log files that held replayed txns, in order.
	Logs []FileName
	// Txns is the number of txns replayed, TxnDigests how many of their
	// logged digests were compared with the tree (all equal), and
	// SnapshotDigestChecked whether the snapshot's digest block was.
	Txns                  int
	TxnDigests            int
	SnapshotDigestChecked bool
	// The restored tree.
	Zxid     int64
	Znodes   int
	Sessions int
	Digest   int64
	// DeadSessionEphemerals is how many ephemerals of sessions missing from
	// the session table were deleted, as Java does after a restore.
	DeadSessionEphemerals int
	// The epochs (see ReadEpochs), and whether a file was missing and its
	// epoch derived from Zxid, as Java does.
	Epochs        storage.Epochs
	EpochsDerived bool
	// Warnings are conditions Java only logs.
	Warnings []string
}

// Restore restores a Java data directory into eng: RestoreTree, written
// through one staged install with the tree's zxid and epochs. The install
// is fed while the snapshot loads (its nodes go to the engine on another
// goroutine as they are read), then corrected for what the logs changed,
// and committed only when every file was read and checked successfully;
// the install is atomic, so on any error eng holds exactly what it held
// before.
func Restore(dir string, eng storage.Engine, opts RestoreOptions) (*RestoreSummary, error) {
	// As in persist.LoadTree: the restore allocates mostly what the tree
	// keeps (the install's buffers are reused), so collecting during it
	// would rescan a growing heap for little garbage.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	st := newStreamInstall(eng)
	opts.stream = st
	t, sum, err := restoreTree(dir, &opts)
	if err != nil {
		st.abort()
		return nil, oneLine(err)
	}
	if opts.Progress != nil {
		opts.Progress(Progress{Stage: "install", Done: 0, Total: int64(sum.Znodes)})
	}
	if err := st.commit(t, sum.Meta()); err != nil {
		return nil, oneLine(err)
	}
	if opts.Progress != nil {
		opts.Progress(Progress{Stage: "install", Done: int64(sum.Znodes), Total: int64(sum.Znodes)})
	}
	return sum, nil
}

// Meta is the engine metadata of the restored tree: its last zxid and the
// epochs.
func (s *RestoreSummary) Meta() storage.Meta {
	return storage.Meta{LastZxid: s.Zxid, AcceptedEpoch: s.Epochs.Accepted, CurrentEpoch: s.Epochs.Current}
}

// RestoreTree rebuilds the tree a Java 3.8 server would have after loading
// dir (its dataDir, or the version-2 directory inside it), following
// FileTxnSnapLog.restore and ZooKeeperServer.loadData:
//
//  1. The newest snapshot that passes the quick check and reads completely
//     (seals verified, tree well formed) is loaded; newer ones that fail are
//     skipped, as Java does (RestoreSummary.SkippedSnapshots). If its digest
//     block belongs to its own zxid, the tree digest must equal it.
//  2. The log files are chosen and read as Java does (SelectLogs,
//     LogReader): entries before the snapshot's zxid + 1 are skipped, each
//     file ends at its first normal end (B2.3: end of file, the zero-filled
//     preallocated tail, an entry cut short or without its end marker), and
//     every txn is applied (tree.Apply tolerates a fuzzy snapshot).
//  3. Dead-session clean-up: ephemerals of sessions not in the session
//     table are deleted.
//  4. The epochs are read (ReadEpochs).
//
// Checks beyond Java's, each an *Error naming the file and byte offset:
//   - a checksum mismatch is an error in any log file, as in Java; a torn
//     entry is a normal end of its file, as in Java, in the last log (the
//     torn tail of a crash) and in earlier ones alike (a crashed server
//     starts a new log after its last whole txn). What a torn entry in the
//     middle of a file drops is caught by the next check;
//   - every txn must follow the one before it (the snapshot's zxid for the
//     first): within an epoch the zxid goes up by one, a new epoch starts
//     at counter 1. A skip is ErrGap (Java replays on silently), a zxid not
//     above the previous one ErrCorrupt (Java logs it and replays on);
//   - a txn body that does not decode is ErrCorrupt (Java ends the file);
//   - digests: the snapshot's digest block when replay reaches its zxid,
//     and every txn's logged digest after that (Java skips them inside the
//     fuzzy window too) must equal the tree digest; a mismatch is
//     ErrDigestMismatch naming the entry (Java only logs it);
//   - a directory without snapshots is an error wrapping ErrNoSnapshot
//     (Java would start from an empty tree if there are no logs either),
//     and a tree with nodes whose ACL the snapshot lost is ErrCorrupt.
//
// The returned errors are on one line.
func RestoreTree(dir string, opts RestoreOptions) (*tree.DataTree, *RestoreSummary, error) {
	t, sum, err := restoreTree(dir, &opts)
	if err != nil {
		return nil, nil, oneLine(err)
	}
	return t, sum, nil
}

func restoreTree(dir string, opts *RestoreOptions) (*tree.DataTree, *RestoreSummary, error) {
	snapDir, err := versionDir(dir)
	if err != nil {
		return nil, nil, err
	}
	logDir := snapDir
	if opts.LogDir != "" {
		if logDir, err = versionDir(opts.LogDir); err != nil {
			return nil, nil, err
		}
	}
	sum := &RestoreSummary{Dir: snapDir, LogDir: logDir}
	t, res, err := loadNewestSnapshot(snapDir, logDir, opts)
	if err != nil {
		return nil, nil, err
	}
	sum.Snapshot, sum.SnapshotHeader, sum.SnapshotDigest, sum.SkippedSnapshots = res.File, res.Header, res.Digest, res.Skipped
	// A digest block of the snapshot's own zxid is compared right after the
	// load (FileSnap.deserialize); a later one when replay reaches it.
	if c := checkSnapshotDigest(t, res.Digest, res.File.Zxid); c.Status == DigestMismatch {
		return nil, nil, &Error{File: res.File.Path, Offset: -1, Op: "digest block",
			Err: fmt.Errorf("%w: the loaded tree's digest is %d, the file says %d", ErrDigestMismatch, c.Tree, c.File.Digest)}
	} else if c.Status == DigestOK && res.Digest.Zxid == res.File.Zxid {
		sum.SnapshotDigestChecked = true
	}

	logs, err := OpenLogs(logDir, res.File.Zxid+1, opts.Decode)
	if err != nil {
		return nil, nil, err
	}
	defer logs.Close()
	if opts.stream != nil {
		opts.stream.record(t)
	}
	rp := newReplay(t, res.File, res.Digest, logs.Files(), opts, sum)
	if err := rp.run(logs); err != nil {
		return nil, nil, err
	}

	sum.DeadSessionEphemerals = t.RemoveDeadSessionEphemerals()
	var dangling int
	t.View(func(v tree.View) {
		sum.Zxid, sum.Znodes, sum.Sessions, sum.Digest = v.LastZxid(), v.NodeCount(), len(v.Sessions()), v.Digest()
		dangling = v.DanglingACLs()
	})
	if dangling > 0 {
		return nil, nil, &Error{File: res.File.Path, Offset: -1, Op: "ACL cache",
			Err: fmt.Errorf("%w: %d nodes refer to ACL lists missing from the snapshot's cache", ErrCorrupt, dangling)}
	}
	if sum.Epochs, sum.EpochsDerived, err = ReadEpochs(snapDir, sum.Zxid); err != nil {
		return nil, nil, err
	}
	return t, sum, nil
}

// versionDir returns dir/version-2 if it is a directory, else dir, which
// must be one.
func versionDir(dir string) (string, error) {
	v := filepath.Join(dir, VersionDir)
	if st, err := os.Stat(v); err == nil && st.IsDir() {
		return v, nil
	}
	st, err := os.Stat(dir)
	if err != nil {
		return "", err
	}
	if !st.IsDir() {
		return "", fmt.Errorf("%s is not a directory", dir)
	}
	return dir, nil
}

// loadNewestSnapshot loads the snapshot RestoreTree starts from.
func loadNewestSnapshot(dir, logDir string, opts *RestoreOptions) (*tree.DataTree, *LoadResult, error) {
	cands, err := snapshotCandidates(dir, logDir, opts)
	if err != nil {
		return nil, nil, err
	}
	var files []io.Closer
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	var t *tree.DataTree
	open := func(c FileName) (*SnapshotFile, error) {
		f, err := os.Open(c.Path)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
		var size int64
		if st, err := f.Stat(); err == nil {
			size = st.Size()
		}
		cr := &countingReader{r: f}
		if opts.Progress != nil {
			cr.tick = func() { opts.Progress(Progress{Stage: "snapshot", File: c.Name, Done: min(cr.n, size), Total: size}) }
			cr.tick()
		}
		return NewSnapshotReader(cr, c.Compression, c.Path, opts.Decode)
	}
	load := func(s *SnapshotFile) error {
		t = nil
		name := filepath.Base(s.Path())
		z, _ := ParseZxidFromName(name, SnapPrefix)
		var sink nodeSink
		if opts.stream != nil {
			if err := opts.stream.begin(); err != nil {
				return err
			}
			sink = opts.stream
		}
		lt, err := loadBody(s, s.Path(), z, opts.Tree, sink)
		if err != nil {
			return err
		}
		if opts.Progress != nil {
			if st, err := os.Stat(s.Path()); err == nil {
				opts.Progress(Progress{Stage: "snapshot", File: name, Done: st.Size(), Total: st.Size()})
			}
		}
		if d := s.Digest(); opts.ToZxid > 0 && d.Present && d.Zxid > opts.ToZxid {
			return &Error{File: s.Path(), Offset: -1, Op: "digest block",
				Err: fmt.Errorf("the snapshot holds changes up to zxid %#x, after the requested zxid %#x", d.Zxid, opts.ToZxid)}
		}
		t = lt
		return nil
	}
	res, err := firstValid(dir, cands, open, load)
	if err != nil {
		return nil, nil, err
	}
	return t, res, nil
}

// snapshotCandidates lists the snapshots to try, newest first: the one
// opts.Snapshot names, or those of FindSnapshots no newer than opts.ToZxid.
// With none, the error explains why.
func snapshotCandidates(dir, logDir string, opts *RestoreOptions) ([]FileName, error) {
	if opts.Snapshot != "" {
		c, err := ParseSnapshotName(opts.Snapshot)
		if err != nil {
			return nil, err
		}
		c.Path = filepath.Join(dir, c.Name)
		if err := QuickCheck(c.Path); err != nil {
			return nil, err
		}
		return []FileName{c}, nil
	}
	all, err := FindSnapshots(dir)
	if err != nil {
		return nil, err
	}
	var cands []FileName
	for _, c := range all {
		if opts.ToZxid <= 0 || c.Zxid <= opts.ToZxid {
			cands = append(cands, c)
		}
	}
	if len(cands) > 0 {
		return cands, nil
	}
	return nil, noSnapshotError(dir, logDir, all, opts.ToZxid)
}

// noSnapshotError explains why dir has no snapshot to start from: the quick
// check errors of the files named like snapshots, or what else is there.
func noSnapshotError(dir, logDir string, valid []FileName, toZxid int64) error {
	if len(valid) > 0 {
		return &Error{File: valid[len(valid)-1].Path, Offset: -1, Op: "snapshot",
			Err: fmt.Errorf("%w with a zxid at most %#x in %s (the oldest valid one is this)", ErrNoSnapshot, toZxid, dir)}
	}
	names, err := listNames(dir, SnapPrefix)
	if err != nil {
		return err
	}
	var why []error
	for _, n := range names {
		if err := QuickCheck(n.Path); err != nil {
			why = append(why, err)
		}
	}
	if len(why) > 0 {
		return fmt.Errorf("%w in %s: %w", ErrNoSnapshot, dir, joinOneLine(why))
	}
	logs, _ := ListLogs(logDir)
	if len(logs) > 0 {
		return &Error{File: dir, Offset: -1, Op: "snapshot",
			Err: fmt.Errorf("%w, but %d log files (Java refuses to start from logs alone)", ErrNoSnapshot, len(logs))}
	}
	return &Error{File: dir, Offset: -1, Op: "snapshot",
		Err: fmt.Errorf("%w: the directory holds no snapshot.* or log.* files (is it a ZooKeeper dataDir?)", ErrNoSnapshot)}
}

// countingReader counts the bytes read through it and calls tick (if set)
// every 1 MiB.
type countingReader struct {
	r    io.Reader
	n    int64
	last int64
	tick func()
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.tick != nil && (c.n-c.last >= 1<<20 || err == io.EOF) {
		c.last = c.n
		c.tick()
	}
	return n, err
}

// oneLineError shows an error (for example several files' errors joined)
// on one line.
type oneLineError struct{ err error }

func (e oneLineError) Error() string { return strings.ReplaceAll(e.err.Error(), "\n", "; ") }
func (e oneLineError) Unwrap() error { return e.err }

func oneLine(err error) error {
	if err == nil || !strings.Contains(err.Error(), "\n") {
		return err
	}
	return oneLineError{err}
}

// joinOneLine joins errs like errors.Join, on one line.
func joinOneLine(errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	format := strings.TrimSuffix(strings.Repeat("%w; ", len(errs)), "; ")
	args := make([]any, len(errs))
	for i, e := range errs {
		args[i] = e
	}
	return fmt.Errorf(format, args...)
}
