package snapshot

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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
