package snapshot

import (
	"errors"
	"fmt"
)

// Sentinel errors, grouped by phase. Errors returned by this package wrap
// one of them (usually inside an *Error); test with errors.Is.
var (
	// Finding files.

	// ErrNoSnapshot means a directory holds no file that passes the quick
	// validity test of B1.4 (Java then starts from an empty tree).
	ErrNoSnapshot = errors.New("no snapshot found")
	// ErrNoValidSnapshot means some snapshot files passed the quick test but
	// none of them could be read completely (Java refuses to start).
	ErrNoValidSnapshot = errors.New("no valid snapshot")
	// ErrBadName means a file name is not <prefix>.<hexzxid>[.<ext>].
	ErrBadName = errors.New("bad file name")

	// Framing.

	// ErrBadMagic means a file header with the wrong magic number, or a
	// compressed stream with the wrong magic bytes.
	ErrBadMagic = errors.New("bad magic number")
	// ErrCompression means a gzip or snappy stream that cannot be decoded.
	ErrCompression = errors.New("bad compressed stream")
	// ErrTruncated means the input ended in the middle of a structure.
	ErrTruncated = errors.New("truncated")

	// Content.

	// ErrCorrupt means content that no writer produces: bad lengths or
	// counts, null where null is not allowed, a bad seal string. Length
	// errors also wrap jute.ErrBadLength or jute.ErrTooLarge.
	ErrCorrupt = errors.New("corrupt data")
	// ErrChecksum means an Adler-32 checksum (snapshot seal or log entry)
	// does not match the bytes it covers.
	ErrChecksum = errors.New("checksum mismatch")
	// ErrBadSignature means the "BenWasHere" signature after a network
	// snapshot body is missing or different.
	ErrBadSignature = errors.New("bad snapshot signature")

	// Replay (RestoreTree).

	// ErrGap means txns are missing: the first log entry replayed does not
	// follow the snapshot, an entry does not follow the one before it, or
	// the logs end before the zxid a restore was asked to reach.
	ErrGap = errors.New("txns missing")
	// ErrDigestMismatch means the tree digest after a txn, or after loading
	// a snapshot, differs from the digest the file recorded for it.
	ErrDigestMismatch = errors.New("digest mismatch")

	// API use.

	// ErrUsage means methods called out of order (for example Sessions
	// after Next, or a write after Close).
	ErrUsage = errors.New("snapshot: method called out of order")
)

// Error describes a problem at a byte offset of a file or stream.
type Error struct {
	// File is the path of the file as given to the opening function, or
	// "" for a bare stream.
	File string
	// Offset is the byte offset where the offending structure starts (for
	// a checksum mismatch: where the stored checksum is). For compressed
	// snapshots it counts uncompressed bytes. -1 if unknown.
	Offset int64
	// Op says what was being read, e.g. "node path" or "seal #1".
	Op string
	// Err is the underlying error; it wraps a sentinel of this package or
	// an error from the operating system or a decompressor.
	Err error
}

func (e *Error) Error() string {
	s := ""
	if e.File != "" {
		s = e.File + ": "
	}
	if e.Offset >= 0 {
		s += fmt.Sprintf("offset %d: ", e.Offset)
	}
	if e.Op != "" {
		s += e.Op + ": "
	}
	return s + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// withFile returns err with File set to name if err is an *Error without a
// file name, or err wrapped in a new *Error otherwise.
func withFile(name string, err error) error {
	var e *Error
	if errors.As(err, &e) {
		if e.File == "" {
			c := *e
			c.File = name
			return &c
		}
		return err
	}
	return &Error{File: name, Offset: -1, Err: err}
}
