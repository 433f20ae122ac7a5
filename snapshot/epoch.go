package snapshot

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/zkobserver/zkobserver/core/proto"
	"github.com/zkobserver/zkobserver/storage"
)

// Names of the quorum epoch files in the snapshot directory (B3).
const (
	AcceptedEpochFile = "acceptedEpoch"
	CurrentEpochFile  = "currentEpoch"
)

// maxEpochFileRead bounds how much of an epoch file is read.
const maxEpochFileRead = 4096

// ReadEpochFile reads an acceptedEpoch/currentEpoch file: a decimal long
// on the first line (Java writes no newline; one is tolerated, as Java's
// readLine does). Anything unparsable is an ErrCorrupt error.
func ReadEpochFile(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxEpochFileRead))
	if err != nil {
		return 0, err
	}
	line := string(b)
	if i := strings.IndexAny(line, "\r\n"); i >= 0 {
		line = line[:i]
	}
	v, err := strconv.ParseInt(line, 10, 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) {
			err = ne.Err
		}
		return 0, &Error{File: path, Offset: 0, Op: "epoch", Err: fmt.Errorf("%w: %q: %w", ErrCorrupt, line, err)}
	}
	return v, nil
}

// WriteEpochFile writes v in the format ReadEpochFile reads, atomically
// (write "<path>.tmp", fsync, rename, fsync the directory), as Java's
// AtomicFileWritingIdiom does.
func WriteEpochFile(path string, v int64) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.WriteString(strconv.FormatInt(v, 10))
	if err == nil {
		err = f.Sync()
	}
	if e := f.Close(); err == nil {
		err = e
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(filepath.Dir(path))
}

// ReadEpochs reads the epoch files of a snapshot directory for a tree whose
// last zxid is lastZxid, as QuorumPeer.loadDataBase does: a missing file (a
// standalone server never writes them) means the epoch of lastZxid, and
// derived tells that happened; a currentEpoch older than that epoch is
// replaced by currentEpoch.tmp if it exists (a crash while it was being
// written). The result must then pass CheckEpochs; otherwise the error is
// an *Error naming the directory and wrapping ErrEpochs. Nothing is written.
func ReadEpochs(dir string, lastZxid int64) (e storage.Epochs, derived bool, err error) {
	read := func(name string) (int64, error) {
		v, err := ReadEpochFile(filepath.Join(dir, name))
		if errors.Is(err, fs.ErrNotExist) {
			derived = true
			return proto.ZxidEpoch(lastZxid), nil
		}
		return v, err
	}
	if e.Current, err = read(CurrentEpochFile); err != nil {
		return e, derived, err
	}
	if e.Current < proto.ZxidEpoch(lastZxid) {
		v, err := ReadEpochFile(filepath.Join(dir, CurrentEpochFile+".tmp"))
		if err == nil {
			e.Current = v
		} else if !errors.Is(err, fs.ErrNotExist) {
			return e, derived, err
		}
	}
	if e.Accepted, err = read(AcceptedEpochFile); err != nil {
		return e, derived, err
	}
	if err := CheckEpochs(lastZxid, e); err != nil {
		return e, derived, &Error{File: dir, Offset: -1, Op: "epoch files", Err: err}
	}
	return e, derived, nil
}
