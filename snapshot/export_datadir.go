package snapshot

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/zkobserver/zkobserver/core/persist"
	"github.com/zkobserver/zkobserver/core/proto"
	"github.com/zkobserver/zkobserver/core/tree"
	"github.com/zkobserver/zkobserver/storage"
)

// VersionDir is the subdirectory of a Java dataDir that holds its snapshot,
// log and epoch files (FileTxnSnapLog.VERSION).
const VersionDir = "version-2"

var (
	// ErrNothingToExport means a store that holds no tree: fresh, reset,
	// or flagged NeedsResync after an interrupted install.
	ErrNothingToExport = errors.New("snapshot: the store holds no tree to export")
	// ErrDataDirInUse means an export into a dataDir that already holds
	// ZooKeeper files Java would load instead of, or on top of, the export.
	ErrDataDirInUse = errors.New("snapshot: the data directory already holds ZooKeeper files")
	// ErrEpochs means epochs with which Java would refuse to start from the
	// exported tree (QuorumPeer.loadDataBase).
	ErrEpochs = errors.New("snapshot: epochs inconsistent with the last zxid")
)

// LoadEngineTree loads the tree held by eng for an export, as the observer
// does at start-up (persist.LoadTree), and returns it with the engine's
// Meta. Unlike a start-up it never writes to the store: a store flagged
// NeedsResync or without a root node is refused with ErrNothingToExport.
func LoadEngineTree(eng storage.Engine, opts tree.Options) (*tree.DataTree, storage.Meta, error) {
	meta, err := eng.Meta()
	if err != nil {
		return nil, meta, err
	}
	if meta.NeedsResync {
		return nil, meta, fmt.Errorf("%w: an install was interrupted (the store needs a resync)", ErrNothingToExport)
	}
	if _, err := eng.Get("/"); errors.Is(err, storage.ErrNotFound) {
		return nil, meta, fmt.Errorf("%w: no root node (a fresh or reset store)", ErrNothingToExport)
	} else if err != nil {
		return nil, meta, err
	}
	return persist.LoadTree(eng, opts)
}

// CheckEpochs returns an ErrEpochs error if a Java quorum peer would refuse
// to start from a tree at zxid with these epoch files: currentEpoch older
// than the epoch of zxid, or acceptedEpoch below currentEpoch.
func CheckEpochs(zxid int64, e storage.Epochs) error {
	if ep := proto.ZxidEpoch(zxid); e.Current < ep {
		return fmt.Errorf("%w: currentEpoch %d is older than the epoch %d of zxid %#x", ErrEpochs, e.Current, ep, zxid)
	}
	if e.Accepted < e.Current {
		return fmt.Errorf("%w: acceptedEpoch %d is below currentEpoch %d", ErrEpochs, e.Accepted, e.Current)
	}
	return nil
}

// DataDirOptions configures ExportDataDir.
type DataDirOptions struct {
	// Compression of the snapshot file (its name says which).
	Compression Compression
	// Epochs, if not nil, are written to acceptedEpoch and currentEpoch
	// (read by quorum peers only; a standalone server ignores them). They
	// must pass CheckEpochs.
	Epochs *storage.Epochs
	// NoSync skips every fsync (tests and benchmarks).
	NoSync bool
}

// ExportDataDir makes dataDir a Java 3.8 data directory holding exactly t:
// dataDir/version-2/snapshot.<hex t's last zxid>[.gz|.snappy] written by
// ExportFile, and, when opts.Epochs is set, the acceptedEpoch and
// currentEpoch files. A Java server started on it with no txn logs loads
// the snapshot (the zxid of its name becomes its last zxid), checks the
// digest block at once, and serves t.
//
// dataDir and version-2 are created if missing. A version-2 that already
// holds snapshot, log or epoch files is refused with ErrDataDirInUse
// (Java would load the newest snapshot, replay the logs over it, or check
// the old epochs), and nothing is written.
func ExportDataDir(dataDir string, t *tree.DataTree, opts DataDirOptions) (Exported, error) {
	vdir := filepath.Join(dataDir, VersionDir)
	if opts.Epochs != nil {
		if err := CheckEpochs(t.LastZxid(), *opts.Epochs); err != nil {
			return Exported{}, err
		}
	}
	if err := checkEmptyVersionDir(vdir); err != nil {
		return Exported{}, err
	}
	if err := os.MkdirAll(vdir, 0o755); err != nil {
		return Exported{}, fmt.Errorf("export: %w", err)
	}
	res, err := ExportFile(filepath.Join(vdir, SnapshotFileName(t.LastZxid(), opts.Compression)), t, !opts.NoSync)
	if err != nil || opts.Epochs == nil {
		return res, err
	}
	for _, f := range []struct {
		name string
		v    int64
	}{{AcceptedEpochFile, opts.Epochs.Accepted}, {CurrentEpochFile, opts.Epochs.Current}} {
		if err := WriteEpochFile(filepath.Join(vdir, f.name), f.v); err != nil {
			return res, fmt.Errorf("export: %w", err)
		}
	}
	return res, nil
}

// checkEmptyVersionDir returns an ErrDataDirInUse error if vdir holds files
// a Java server would read at start-up.
func checkEmptyVersionDir(vdir string) error {
	ents, err := os.ReadDir(vdir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	var found []string
	for _, e := range ents {
		name := e.Name()
		_, snap := ParseZxidFromName(name, SnapPrefix)
		_, log := ParseZxidFromName(name, LogPrefix)
		if snap || log || name == AcceptedEpochFile || name == CurrentEpochFile {
			found = append(found, name)
		}
	}
	if len(found) > 0 {
		return fmt.Errorf("%w: %s holds %v; export into a new or empty directory", ErrDataDirInUse, vdir, found)
	}
	return nil
}
