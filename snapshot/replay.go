package snapshot

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/zkobserver/zkobserver/core/proto"
	"github.com/zkobserver/zkobserver/core/tree"
)

// replay applies the txns of a LogReader to a tree loaded from a snapshot,
// as Java's FileTxnSnapLog.fastForwardFromEdits does, with the checks
// described on RestoreTree.
type replay struct {
	t    *tree.DataTree
	opts *RestoreOptions
	sum  *RestoreSummary
	snap FileName
	// prev is the zxid of the last txn applied (the snapshot's at the
	// start); prevAt says where it came from, for error messages.
	prev   int64
	prevAt string
	// pending is the snapshot's digest block while replay has not reached
	// its zxid (the snapshot is fuzzy until then, and Java compares no
	// logged digest); nil otherwise.
	pending *ZxidDigest

	// Progress over the log files: their sizes, and the bytes of the files
	// before the current one.
	sizes    map[string]int64
	total    int64
	before   int64
	curFile  string
	curOff   int64
	lastTick int
}

// replayTick is how many txns pass between two progress reports.
const replayTick = 1024

func newReplay(t *tree.DataTree, snap FileName, digest ZxidDigest, files []FileName, opts *RestoreOptions, sum *RestoreSummary) *replay {
	r := &replay{t: t, opts: opts, sum: sum, snap: snap, prev: snap.Zxid, prevAt: snap.Name, sizes: map[string]int64{}}
	// DataTree.deserializeZxidDigest: a digest of zxid 0 is "none", one
	// older than the snapshot's name is ignored; one equal to it is
	// compared right after the load (by the caller), one newer marks the
	// fuzzy window.
	if digest.Present && digest.Zxid > snap.Zxid {
		d := digest
		r.pending = &d
	}
	for _, f := range files {
		if st, err := os.Stat(f.Path); err == nil {
			r.sizes[f.Path] = st.Size()
			r.total += st.Size()
		}
	}
	return r
}

// run reads and applies entries until the logs end or the next entry is
// beyond opts.ToZxid.
func (r *replay) run(logs *LogReader) error {
	for {
		e, err := logs.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if r.opts.ToZxid > 0 && e.Zxid > r.opts.ToZxid {
			break
		}
		if err := r.apply(&e); err != nil {
			return err
		}
	}
	if r.opts.Progress != nil {
		r.opts.Progress(Progress{Stage: "logs", File: baseName(r.curFile), Done: r.total, Total: r.total})
	}
	if r.opts.ToZxid > 0 && r.prev < r.opts.ToZxid {
		return &Error{File: r.prevAt, Offset: -1, Op: "replay",
			Err: fmt.Errorf("%w: the logs end at zxid %#x, before the requested zxid %#x", ErrGap, r.prev, r.opts.ToZxid)}
	}
	if r.pending != nil {
		// Java only warns (FileTxnSnapLog.restore).
		r.sum.Warnings = append(r.sum.Warnings, fmt.Sprintf(
			"%s: its digest belongs to zxid %#x but the logs end at %#x: the tree may hold changes of txns the logs lack",
			r.snap.Name, r.pending.Zxid, r.prev))
	}
	return nil
}

// apply checks that e follows the txn before it, applies it and checks the
// digests.
func (r *replay) apply(e *Entry) error {
	if err := r.checkFollows(e); err != nil {
		return err
	}
	txn, err := proto.DecodeTxn(e.Raw, r.opts.Decode.maxLength())
	if err != nil {
		return &Error{File: e.File, Offset: e.Offset, Op: "txn", Err: fmt.Errorf("%w: %w", ErrCorrupt, err)}
	}
	rc := r.t.Apply(txn)
	if r.opts.OnTxn != nil {
		if err := r.opts.OnTxn(e, txn, rc, r.t); err != nil {
			return withFile(e.File, err)
		}
	}
	if err := r.checkDigests(e, txn); err != nil {
		return err
	}
	r.prev, r.prevAt = e.Zxid, e.File
	r.sum.Txns++
	if n := len(r.sum.Logs); n == 0 || r.sum.Logs[n-1].Path != e.File {
		r.sum.Logs = append(r.sum.Logs, logName(e.File))
	}
	r.curOff = e.Offset
	if e.File != r.curFile {
		if r.curFile != "" {
			r.before += r.sizes[r.curFile]
		}
		r.curFile = e.File
		r.report(true)
	}
	r.lastTick++
	r.report(false)
	return nil
}

// checkFollows requires e's zxid to come right after the previous one:
// within an epoch the counter goes up by one; a new epoch starts at counter
// 1 (a leader's first proposal of its epoch).
func (r *replay) checkFollows(e *Entry) error {
	prev, z := r.prev, e.Zxid
	switch {
	case z <= prev:
		return &Error{File: e.File, Offset: e.Offset, Op: "txn zxid",
			Err: fmt.Errorf("%w: zxid %#x comes after %#x (%s): out of order", ErrCorrupt, z, prev, filepath.Base(r.prevAt))}
	case proto.ZxidEpoch(z) == proto.ZxidEpoch(prev) && z != prev+1:
		return &Error{File: e.File, Offset: e.Offset, Op: "txn zxid",
			Err: fmt.Errorf("%w: zxid %#x follows %#x (%s): zxids %#x..%#x are in no log", ErrGap, z, prev, filepath.Base(r.prevAt), prev+1, z-1)}
	case proto.ZxidEpoch(z) != proto.ZxidEpoch(prev) && proto.ZxidCounter(z) != 1:
		return &Error{File: e.File, Offset: e.Offset, Op: "txn zxid",
			Err: fmt.Errorf("%w: zxid %#x follows %#x (%s): the txns of epoch %d before it are in no log", ErrGap, z, prev, filepath.Base(r.prevAt), proto.ZxidEpoch(z))}
	}
	return nil
}

// checkDigests compares the tree digest after txn with the snapshot's
// digest block when replay reaches its zxid, and with the txn's own
// TxnDigest outside the fuzzy window (DataTree.compareSnapshotDigests and
// compareDigest). Java only logs a mismatch; here it is an error.
func (r *replay) checkDigests(e *Entry, txn *proto.Txn) error {
	if p := r.pending; p != nil {
		switch {
		case e.Zxid == p.Zxid:
			r.pending = nil
			if p.Version == proto.DigestVersion {
				if got := r.t.Digest(); got != p.Digest {
					return &Error{File: e.File, Offset: e.Offset, Op: "snapshot digest",
						Err: fmt.Errorf("%w: after txn %#x the tree digest is %d, %s's digest block says %d", ErrDigestMismatch, e.Zxid, got, r.snap.Name, p.Digest)}
				}
				r.sum.SnapshotDigestChecked = true
			}
		case e.Zxid > p.Zxid:
			r.pending = nil
			r.sum.Warnings = append(r.sum.Warnings, fmt.Sprintf("%s: no txn has the zxid %#x of its digest block", r.snap.Name, p.Zxid))
		}
	}
	if r.pending != nil || txn.Digest == nil || txn.Digest.Version != proto.DigestVersion {
		return nil
	}
	if got := r.t.Digest(); got != txn.Digest.TreeDigest {
		return &Error{File: e.File, Offset: e.Offset, Op: "txn digest",
			Err: fmt.Errorf("%w: after txn %#x (%v) the tree digest is %d, the log says %d", ErrDigestMismatch, e.Zxid, txn.Header.Type, got, txn.Digest.TreeDigest)}
	}
	r.sum.TxnDigests++
	return nil
}

// report sends progress, at most every replayTick txns unless now.
func (r *replay) report(now bool) {
	if r.opts.Progress == nil || (!now && r.lastTick < replayTick) {
		return
	}
	r.lastTick = 0
	r.opts.Progress(Progress{Stage: "logs", File: baseName(r.curFile), Done: r.before + r.curOff, Total: r.total})
}

func logName(path string) FileName {
	z, _ := ParseZxidFromName(filepath.Base(path), LogPrefix)
	return FileName{Path: path, Name: filepath.Base(path), Zxid: z}
}

// baseName is filepath.Base, except that "" stays "".
func baseName(p string) string {
	if p == "" {
		return ""
	}
	return filepath.Base(p)
}
