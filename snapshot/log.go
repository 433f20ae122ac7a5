package snapshot

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/adler32"
	"io"
	"os"

	"github.com/zkobserver/zkobserver/core/jute"
)

// TxnHeaderSize is the size of the TxnHeader that starts every log entry.
const TxnHeaderSize = 32

// EntryMarker ends every log entry frame.
const EntryMarker = 'B'

// entryFrameOverhead is checksum + length + marker.
const entryFrameOverhead = 8 + 4 + 1

// Entry is one txn log entry. The header fields are decoded from the first
// 32 bytes of Raw (TxnHeader: clientId, cxid, zxid, time, type); the txn
// record and the optional TxnDigest that follow are left in Raw.
type Entry struct {
	ClientID int64
	Cxid     int32
	Zxid     int64
	Time     int64
	Type     int32
	// Raw is the entry as stored (TxnHeader + record + optional digest),
	// already verified against its Adler-32. It is a new allocation owned
	// by the caller.
	Raw []byte
	// File is the path of the log file, Offset the offset of the entry's
	// frame (its checksum field) in that file.
	File   string
	Offset int64
}

// EndReason tells why a log file stopped yielding entries.
type EndReason int

// End reasons (B2.3). All of them are normal ends of a file: Java moves on
// to the next file in each case.
const (
	EndNone      EndReason = iota // not at the end yet
	EndEOF                        // the file ends exactly after an entry
	EndZero                       // length 0: the zero-filled preallocated tail
	EndNull                       // length -1
	EndTruncated                  // the file ends inside an entry or inside the header
	EndNoMarker                   // the byte after an entry is not 'B' (partial last txn)
)

func (r EndReason) String() string {
	switch r {
	case EndEOF:
		return "end of file"
	case EndZero:
		return "zero length (preallocated tail)"
	case EndNull:
		return "length -1"
	case EndTruncated:
		return "file ends inside an entry"
	case EndNoMarker:
		return "missing end-of-entry marker"
	}
	return "not at end"
}

// LogFile reads the entries of one txn log file (B2.1-B2.3).
//
// Next returns io.EOF at any of the normal ends of B2.3 (see EndReason);
// End tells which one and where the last whole entry ended. A checksum
// mismatch, a length below -1 or above the limit, or an entry shorter than
// a TxnHeader is a hard error (an *Error naming the file and the entry's
// offset, wrapping ErrChecksum or ErrCorrupt); it is sticky.
//
// A file too short to hold a FileHeader has no entries (Java cannot have
// written any to it); a complete header with the wrong magic is an
// ErrBadMagic error from OpenLogFile.
type LogFile struct {
	path   string
	f      *os.File
	br     *bufio.Reader
	maxLen int
	header FileHeader
	off    int64
	end    int64
	reason EndReason
	err    error
}

// OpenLogFile opens a log file and reads its header. The caller must Close
// it.
func OpenLogFile(path string, opts *Options) (*LogFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	l, err := newLogFile(f, path, opts)
	if err != nil {
		f.Close()
		return nil, err
	}
	l.f = f
	return l, nil
}

// NewLogFileReader reads a log file's content from r; name is used in
// errors and Entry.File.
func NewLogFileReader(r io.Reader, name string, opts *Options) (*LogFile, error) {
	return newLogFile(r, name, opts)
}

func newLogFile(r io.Reader, name string, opts *Options) (*LogFile, error) {
	l := &LogFile{path: name, br: bufio.NewReaderSize(r, bufSize(r, 1, fileBufSize)), maxLen: opts.maxLength()}
	p, err := l.br.Peek(FileHeaderSize)
	if len(p) < FileHeaderSize {
		if err != io.EOF {
			return nil, &Error{File: name, Offset: 0, Op: "file header", Err: err}
		}
		l.reason = EndTruncated
		return l, nil
	}
	l.header.Decode(jute.NewDecoder(p[:FileHeaderSize], 0))
	if l.header.Magic != LogMagic {
		return nil, &Error{File: name, Offset: 0, Op: "file header",
			Err: fmt.Errorf("%w: %#08x, want %#08x (ZKLG)", ErrBadMagic, uint32(l.header.Magic), uint32(LogMagic))}
	}
	l.br.Discard(FileHeaderSize)
	l.off = FileHeaderSize
	l.end = FileHeaderSize
	return l, nil
}

// Path returns the file's path.
func (l *LogFile) Path() string { return l.path }

// Header returns the file header (zero if the file was too short).
func (l *LogFile) Header() FileHeader { return l.header }

// End returns the offset just past the last whole entry read so far (where
// an appender would continue) and, once Next has returned io.EOF, why the
// file stopped.
func (l *LogFile) End() (int64, EndReason) { return l.end, l.reason }

func (l *LogFile) fail(off int64, what string, err error) error {
	if l.err == nil {
		l.err = &Error{File: l.path, Offset: off, Op: what, Err: err}
	}
	return l.err
}

func (l *LogFile) stop(r EndReason) (Entry, error) {
	l.reason = r
	return Entry{}, io.EOF
}

// Next returns the next entry, io.EOF at the end of the file, or a hard
// error.
func (l *LogFile) Next() (Entry, error) {
	if l.err != nil {
		return Entry{}, l.err
	}
	if l.reason != EndNone {
		return Entry{}, io.EOF
	}
	start := l.off
	p, err := l.br.Peek(12)
	if len(p) < 12 {
		switch {
		case err != io.EOF:
			return Entry{}, l.fail(start, "entry frame", err)
		case len(p) == 0:
			return l.stop(EndEOF)
		}
		return l.stop(EndTruncated)
	}
	stored := int64(binary.BigEndian.Uint64(p))
	n := int32(binary.BigEndian.Uint32(p[8:]))
	switch {
	case n == 0:
		return l.stop(EndZero)
	case n == -1:
		return l.stop(EndNull)
	case n < -1:
		return Entry{}, l.fail(start, "entry length", fmt.Errorf("%w: %w: %d", ErrCorrupt, jute.ErrBadLength, n))
	case int(n) > l.maxLen:
		return Entry{}, l.fail(start, "entry length", fmt.Errorf("%w: %w: %d > %d", ErrCorrupt, jute.ErrTooLarge, n, l.maxLen))
	}
	l.br.Discard(12)
	raw, err := readGrow(l.br, int(n))
	if err != nil {
		if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
			return l.stop(EndTruncated)
		}
		return Entry{}, l.fail(start, "entry", err)
	}
	m, err := l.br.ReadByte()
	if err != nil {
		if err == io.EOF {
			return l.stop(EndTruncated)
		}
		return Entry{}, l.fail(start, "entry marker", err)
	}
	if m != EntryMarker {
		return l.stop(EndNoMarker)
	}
	if sum := adler32.Checksum(raw); stored != int64(sum) {
		return Entry{}, l.fail(start, "entry", fmt.Errorf("%w: stored %#x, computed %#x", ErrChecksum, stored, sum))
	}
	if n < TxnHeaderSize {
		return Entry{}, l.fail(start, "entry", fmt.Errorf("%w: %d-byte entry is shorter than a TxnHeader", ErrCorrupt, n))
	}
	l.off += int64(n) + entryFrameOverhead
	l.end = l.off
	return Entry{
		ClientID: int64(binary.BigEndian.Uint64(raw)),
		Cxid:     int32(binary.BigEndian.Uint32(raw[8:])),
		Zxid:     int64(binary.BigEndian.Uint64(raw[12:])),
		Time:     int64(binary.BigEndian.Uint64(raw[20:])),
		Type:     int32(binary.BigEndian.Uint32(raw[28:])),
		Raw:      raw,
		File:     l.path,
		Offset:   start,
	}, nil
}

// Close closes the file.
func (l *LogFile) Close() error {
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// ListLogs returns the log files of dir (names log.<hexzxid>), ordered by
// the zxid in their names.
func ListLogs(dir string) ([]FileName, error) {
	names, err := listNames(dir, LogPrefix)
	for i := range names {
		names[i].Compression = CompressionNone
	}
	return names, err
}

// SelectLogs picks the log files to read for replay from zxid from (B2.4,
// FileTxnIterator.init): the newest file whose name zxid is below from (it
// may hold the first txns wanted) and every later file; all files if none
// starts below from. names must be sorted as ListLogs returns them.
func SelectLogs(names []FileName, from int64) []FileName {
	first := 0
	for i, n := range names {
		if n.Zxid < from {
			first = i
		}
	}
	return names[first:]
}

// LogReader iterates the txn log files of a directory from a zxid
// (B2.4): it reads the files SelectLogs picks, in order, each until one of
// its normal ends, and skips entries below the start zxid until the first
// entry at or above it (Java's fast-forward; later entries are returned
// whatever their zxid). Hard errors from a file are returned and sticky.
type LogReader struct {
	files []FileName
	next  int
	cur   *LogFile
	from  int64
	ff    bool
	opts  *Options
	err   error
}

// OpenLogs prepares to read the logs of dir from zxid from (for a restore:
// the snapshot's zxid + 1). Files are opened lazily.
func OpenLogs(dir string, from int64, opts *Options) (*LogReader, error) {
	names, err := ListLogs(dir)
	if err != nil {
		return nil, err
	}
	return &LogReader{files: SelectLogs(names, from), from: from, ff: true, opts: opts}, nil
}

// Files returns the files the reader will read, in order.
func (r *LogReader) Files() []FileName { return r.files }

// Next returns the next entry, or io.EOF after the last file.
func (r *LogReader) Next() (Entry, error) {
	for r.err == nil {
		if r.cur == nil {
			if r.next == len(r.files) {
				return Entry{}, io.EOF
			}
			f, err := OpenLogFile(r.files[r.next].Path, r.opts)
			r.next++
			if err != nil {
				r.err = err
				break
			}
			r.cur = f
		}
		e, err := r.cur.Next()
		if err == io.EOF {
			r.cur.Close()
			r.cur = nil
			continue
		}
		if err != nil {
			r.err = err
			break
		}
		if r.ff && e.Zxid < r.from {
			continue
		}
		r.ff = false
		return e, nil
	}
	return Entry{}, r.err
}

// Close closes the current file.
func (r *LogReader) Close() error {
	if r.cur == nil {
		return nil
	}
	err := r.cur.Close()
	r.cur = nil
	return err
}

// AppendEntryFrame appends the on-disk frame of one entry to dst: Adler-32
// of raw (as a long), length, raw and the 'B' marker.
func AppendEntryFrame(dst, raw []byte) []byte {
	dst = binary.BigEndian.AppendUint64(dst, uint64(adler32.Checksum(raw)))
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(raw)))
	dst = append(dst, raw...)
	return append(dst, EntryMarker)
}

// LogWriter writes a txn log file: a header, then entry frames. It does not
// preallocate. Errors are sticky.
type LogWriter struct {
	w   *bufio.Writer
	buf []byte
	n   int64
	err error
}

// NewLogWriter starts a log in w with header h (usually LogHeader).
// Nothing reaches w before Flush.
func NewLogWriter(w io.Writer, h FileHeader) *LogWriter {
	l := &LogWriter{w: bufio.NewWriterSize(w, writeBufSize)}
	var e jute.Encoder
	h.Encode(&e)
	l.write(e.Bytes())
	return l
}

func (l *LogWriter) write(p []byte) {
	if l.err != nil {
		return
	}
	_, l.err = l.w.Write(p)
	l.n += int64(len(p))
}

// Offset returns the number of bytes written so far.
func (l *LogWriter) Offset() int64 { return l.n }

// Append writes the frame of one entry. raw must be at least a TxnHeader
// long and at most the default jute limit, or readers would not take it.
func (l *LogWriter) Append(raw []byte) error {
	if l.err != nil {
		return l.err
	}
	if len(raw) < TxnHeaderSize || len(raw) > jute.DefaultMaxLength {
		return fmt.Errorf("%w: %d-byte log entry", ErrUsage, len(raw))
	}
	l.buf = AppendEntryFrame(l.buf[:0], raw)
	l.write(l.buf)
	return l.err
}

// Flush writes buffered data to the underlying writer.
func (l *LogWriter) Flush() error {
	if l.err != nil {
		return l.err
	}
	l.err = l.w.Flush()
	return l.err
}
