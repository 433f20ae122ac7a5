package snapshot

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/zkobserver/zkobserver/core/jute"
)

// SnapshotFile reads a snapshot file (B1.2) as a stream: Header is read by
// OpenSnapshotFile; then Sessions, ACLs and Next behave as on a BodyReader.
// When Next reaches the "/" terminator it verifies seal #1, reads the
// optional digest block and verifies seal #2 before returning io.EOF, so
// io.EOF from Next means the whole file is intact. Verify does the same
// after skipping any nodes not yet read.
//
// All checks run over the uncompressed stream, as in Java. Compression is
// chosen by the file name (CompressionForName). Bytes after seal #2 are
// ignored, as Java ignores them.
type SnapshotFile struct {
	path    string
	f       *os.File
	closers []io.Closer
	header  FileHeader
	body    *BodyReader
	digest  ZxidDigest
	sealed  bool
}

// OpenSnapshotFile opens the snapshot file at path and reads its header.
// A header whose magic is not SnapMagic is an ErrBadMagic error. The caller
// must Close the file.
func OpenSnapshotFile(path string, opts *Options) (*SnapshotFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	s := &SnapshotFile{path: path, f: f}
	if err := s.init(opts); err != nil {
		s.Close()
		return nil, withFile(path, err)
	}
	return s, nil
}

// NewSnapshotReader reads a snapshot file's content from r with the given
// compression; name is used in errors only. The caller closes r.
func NewSnapshotReader(r io.Reader, c Compression, name string, opts *Options) (*SnapshotFile, error) {
	s := &SnapshotFile{path: name}
	if err := s.initReader(r, c, opts); err != nil {
		s.Close()
		return nil, withFile(name, err)
	}
	return s, nil
}

func (s *SnapshotFile) init(opts *Options) error {
	return s.initReader(s.f, CompressionForName(s.path), opts)
}

func (s *SnapshotFile) initReader(src io.Reader, c Compression, opts *Options) error {
	var logical io.Reader
	logicalSize := bufSize(src, 1, readBufSize)
	if c != CompressionNone {
		logicalSize = bufSize(src, 16, readBufSize)
		src = bufio.NewReaderSize(src, bufSize(src, 1, fileBufSize))
	}
	switch c {
	case CompressionGzip:
		zr, err := gzip.NewReader(src)
		if err != nil {
			if errors.Is(err, gzip.ErrHeader) {
				err = fmt.Errorf("%w: not a gzip stream", ErrBadMagic)
			} else {
				err = gzipErr(err)
			}
			return &Error{Offset: 0, Op: "gzip header", Err: err}
		}
		s.closers = append(s.closers, zr)
		logical = gzipErrReader{zr}
	case CompressionSnappy:
		sr, err := newSnappyJavaReader(src)
		if err != nil {
			return &Error{Offset: 0, Op: "snappy header", Err: err}
		}
		logical = sr
	default:
		logical = src
	}
	r := newRd(bufio.NewReaderSize(logical, logicalSize), opts.maxLength(), true)
	r.file = s.path
	s.body = newBodyReader(r)

	r.what = "file header"
	p := r.peek(FileHeaderSize)
	if p == nil {
		return r.err
	}
	d := jute.NewDecoder(p[:FileHeaderSize], 0)
	s.header.Decode(d)
	if s.header.Magic != SnapMagic {
		r.fail(0, fmt.Errorf("%w: %#08x, want %#08x (ZKSN)", ErrBadMagic, uint32(s.header.Magic), uint32(SnapMagic)))
		return r.err
	}
	r.consume(p[:FileHeaderSize])
	return nil
}

// gzipErr classifies an error from compress/gzip.
func gzipErr(err error) error {
	var pe *fs.PathError
	switch {
	case err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w: gzip stream: %w", ErrTruncated, err)
	case errors.As(err, &pe):
		return err
	}
	return fmt.Errorf("%w: %w", ErrCompression, err)
}

// gzipErrReader classifies decompression errors (keeping io.EOF as is).
type gzipErrReader struct{ r io.Reader }

func (g gzipErrReader) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	if err != nil && err != io.EOF {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = io.ErrUnexpectedEOF // rd reports it as ErrTruncated
		} else {
			err = gzipErr(err)
		}
	}
	return n, err
}

// Path returns the path (or name) the file was opened with.
func (s *SnapshotFile) Path() string { return s.path }

// Header returns the file header.
func (s *SnapshotFile) Header() FileHeader { return s.header }

// Offset returns the number of uncompressed bytes consumed so far.
func (s *SnapshotFile) Offset() int64 { return s.body.r.off }

// Sessions reads the session table; see BodyReader.Sessions.
func (s *SnapshotFile) Sessions() ([]Session, error) { return s.body.Sessions() }

// ACLs reads the ACL cache; see BodyReader.ACLs.
func (s *SnapshotFile) ACLs() ([]ACLEntry, error) { return s.body.ACLs() }

// Next reads the next node into n, like BodyReader.Next. At the end of the
// nodes it verifies the seals and returns io.EOF only if they verify;
// otherwise it returns the (sticky) error, e.g. ErrChecksum.
func (s *SnapshotFile) Next(n *Node) error {
	err := s.body.Next(n)
	if err == io.EOF && !s.sealed {
		if err := s.readSeals(); err != nil {
			return err
		}
	}
	return err
}

// Verify reads the rest of the file (skipping sections and nodes not yet
// read) and verifies the seals. It returns nil if the file is intact, and
// the same result on every call.
func (s *SnapshotFile) Verify() error {
	var n Node
	for {
		err := s.Next(&n)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// Digest returns the digest block; valid after Next returned io.EOF or
// Verify returned nil.
func (s *SnapshotFile) Digest() ZxidDigest { return s.digest }

// readSeals reads seal #1, the optional digest block and seal #2.
func (s *SnapshotFile) readSeals() error {
	r := s.body.r
	if err := s.seal("seal #1"); err != nil {
		return err
	}
	r.what = "digest block"
	if r.atEOF() {
		s.sealed = true
		return nil
	}
	if r.err != nil {
		return r.err
	}
	start := r.off
	d := ZxidDigest{Present: true}
	d.Zxid = r.int64()
	d.Version = r.int32()
	if d.Version < 2 {
		var ok bool
		d.Hex, ok = r.ustring()
		d.HexNull = !ok
		if r.err == nil && ok {
			v, err := strconv.ParseInt(d.Hex, 16, 64)
			if err != nil {
				r.fail(start, fmt.Errorf("%w: digest %q (version %d): %w", ErrCorrupt, d.Hex, d.Version, err))
			}
			d.Digest = v
		}
	} else {
		d.Digest = r.int64()
	}
	if r.err != nil {
		return r.err
	}
	if err := s.seal("seal #2"); err != nil {
		return err
	}
	s.digest = d
	s.sealed = true
	return nil
}

func (s *SnapshotFile) seal(what string) error {
	r := s.body.r
	sum := r.checksum()
	start := r.off
	r.what = what
	v := r.int64()
	r.slash()
	if r.err != nil {
		return r.err
	}
	if v != int64(sum) {
		r.fail(start, fmt.Errorf("%w: stored %#x, computed %#x", ErrChecksum, v, sum))
		return r.err
	}
	return nil
}

// Close releases the file. It does not verify anything.
func (s *SnapshotFile) Close() error {
	var err error
	for _, c := range s.closers {
		if e := c.Close(); e != nil && err == nil {
			err = e
		}
	}
	s.closers = nil
	if s.f != nil {
		if e := s.f.Close(); e != nil && err == nil {
			err = e
		}
		s.f = nil
	}
	return err
}

// Snapshot is a whole snapshot file in memory; see ReadSnapshot.
type Snapshot struct {
	Header   FileHeader
	Sessions []Session
	ACLs     []ACLEntry
	Nodes    []Node
	Digest   ZxidDigest
}

// ReadSnapshot reads and verifies a whole snapshot file into memory. It is
// meant for tools and tests; servers should stream with OpenSnapshotFile.
func ReadSnapshot(path string, opts *Options) (*Snapshot, error) {
	s, err := OpenSnapshotFile(path, opts)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	return readAll(s)
}

func readAll(s *SnapshotFile) (*Snapshot, error) {
	out := &Snapshot{Header: s.Header()}
	var err error
	if out.Sessions, err = s.Sessions(); err != nil {
		return nil, err
	}
	if out.ACLs, err = s.ACLs(); err != nil {
		return nil, err
	}
	for {
		var n Node
		err := s.Next(&n)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		out.Nodes = append(out.Nodes, n)
	}
	out.Digest = s.Digest()
	return out, nil
}

// QuickCheck applies Java's cheap validity test (B1.4 step 2) to a
// snapshot file: uncompressed files must be at least 10 bytes long and end
// in 00 00 00 01 2f; gzip files must start with 1f 8b; snappy files with
// the snappy-java magic. It returns nil if the file passes.
func QuickCheck(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	switch c := CompressionForName(path); c {
	case CompressionGzip, CompressionSnappy:
		want := []byte{0x1f, 0x8b}
		if c == CompressionSnappy {
			want = snappyJavaMagic
		}
		b := make([]byte, len(want))
		if n, err := io.ReadFull(f, b); err != nil {
			if n < len(b) && (err == io.EOF || err == io.ErrUnexpectedEOF) {
				return &Error{File: path, Offset: 0, Op: "quick check", Err: fmt.Errorf("%w: %d-byte file", ErrTruncated, n)}
			}
			return err
		}
		if !bytes.Equal(b, want) {
			return &Error{File: path, Offset: 0, Op: "quick check", Err: fmt.Errorf("%w: starts % x, want % x", ErrBadMagic, b, want)}
		}
		return nil
	}
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if st.Size() < 10 {
		return &Error{File: path, Offset: 0, Op: "quick check", Err: fmt.Errorf("%w: %d-byte file", ErrTruncated, st.Size())}
	}
	var b [5]byte
	if _, err := f.ReadAt(b[:], st.Size()-5); err != nil {
		return err
	}
	if !bytes.Equal(b[:], []byte{0, 0, 0, 1, '/'}) {
		return &Error{File: path, Offset: st.Size() - 5, Op: "quick check", Err: fmt.Errorf(`%w: file does not end with the string "/" (found % x)`, ErrTruncated, b)}
	}
	return nil
}

// maxSnapshotCandidates is how many quick-checked snapshots Java tries.
const maxSnapshotCandidates = 100

// FindSnapshots lists the snapshot files of dir that pass QuickCheck,
// newest (highest zxid in the name) first, at most 100 of them (B1.4
// steps 1-2). Files whose names do not parse are ignored. An empty result
// is not an error.
func FindSnapshots(dir string) ([]FileName, error) {
	names, err := listNames(dir, SnapPrefix)
	if err != nil {
		return nil, err
	}
	var out []FileName
	for i := len(names) - 1; i >= 0 && len(out) < maxSnapshotCandidates; i-- {
		if QuickCheck(names[i].Path) == nil {
			out = append(out, names[i])
		}
	}
	return out, nil
}

// LoadResult describes the snapshot NewestValidSnapshot picked.
type LoadResult struct {
	// File is the snapshot that was read completely. Its Zxid (from the
	// name) is the loaded tree's last processed zxid (B1.4 step 4).
	File   FileName
	Header FileHeader
	Digest ZxidDigest
	// Skipped holds the errors of newer candidates that failed, newest
	// first.
	Skipped []error
}

// NewestValidSnapshot tries the candidates of FindSnapshots newest first
// (B1.4 step 3). For each, it opens the file and calls load (if not nil),
// which should read what it needs through the SnapshotFile and must reset
// any state it keeps at the start of each call, since a later candidate
// may be tried after a failure. After load returns nil the rest of the file
// is verified; the first file that loads and verifies wins.
//
// If no file passes the quick check the error wraps ErrNoSnapshot; if some
// do but none loads, it wraps ErrNoValidSnapshot and joins every file's
// error. An error from load makes NewestValidSnapshot try the next file.
func NewestValidSnapshot(dir string, opts *Options, load func(*SnapshotFile) error) (*LoadResult, error) {
	cands, err := FindSnapshots(dir)
	if err != nil {
		return nil, err
	}
	if len(cands) == 0 {
		return nil, fmt.Errorf("%w in %s", ErrNoSnapshot, dir)
	}
	open := func(c FileName) (*SnapshotFile, error) { return OpenSnapshotFile(c.Path, opts) }
	return firstValid(dir, cands, open, load)
}

// firstValid is the loop of NewestValidSnapshot over candidates already
// chosen (newest first), each opened with open.
func firstValid(dir string, cands []FileName, open func(FileName) (*SnapshotFile, error), load func(*SnapshotFile) error) (*LoadResult, error) {
	var skipped []error
	for _, c := range cands {
		s, err := open(c)
		if err == nil {
			if load != nil {
				err = load(s)
				if err != nil {
					err = withFile(c.Path, err)
				}
			}
			if err == nil {
				err = s.Verify()
			}
			if err == nil {
				res := &LoadResult{File: c, Header: s.Header(), Digest: s.Digest(), Skipped: skipped}
				s.Close()
				return res, nil
			}
			s.Close()
		}
		skipped = append(skipped, err)
	}
	return nil, fmt.Errorf("%w in %s: %w", ErrNoValidSnapshot, dir, errors.Join(skipped...))
}

// SnapshotWriter writes a snapshot file's content (B1.2): header, body,
// seal #1, optional digest block and seal #2, through the requested
// compression. Use WriteSessions, WriteACLs and WriteNode as on a
// BodyWriter, then Close.
type SnapshotWriter struct {
	*BodyWriter
	bw  *bufio.Writer
	cmp io.WriteCloser // nil for CompressionNone
}

// NewSnapshotWriter starts a snapshot in w with header h (usually
// SnapHeader). Close must be called to finish it; it does not close w.
func NewSnapshotWriter(w io.Writer, h FileHeader, c Compression) *SnapshotWriter {
	s := &SnapshotWriter{}
	var out io.Writer = w
	switch c {
	case CompressionGzip:
		s.cmp = gzip.NewWriter(w)
		out = s.cmp
	case CompressionSnappy:
		s.cmp = newSnappyJavaWriter(w)
		out = s.cmp
	}
	s.bw = bufio.NewWriterSize(out, writeBufSize)
	s.BodyWriter = newChecksummedBodyWriter(s.bw)
	var e jute.Encoder
	h.Encode(&e)
	s.emit(e.Bytes())
	return s
}

// Close writes the terminator (unless End was called), seal #1, the digest
// block and seal #2 if d is non-nil (Java 3.6+ with digests enabled always
// writes them; Zxid 0 means "no digest"), flushes and finishes the
// compressed stream. d.Present is ignored. Close does not close the
// underlying writer.
func (s *SnapshotWriter) Close(d *ZxidDigest) error {
	if s.err != nil {
		return s.err
	}
	if s.state == stNodes {
		s.enc.String("/")
		s.emitEnc()
		s.state = stDone
	}
	if s.state != stDone {
		return fmt.Errorf("%w: Close while writing %s", ErrUsage, s.state)
	}
	s.writeSeal()
	if d != nil {
		s.enc.Long(d.Zxid)
		s.enc.Int(d.Version)
		if d.Version < 2 {
			s.enc.NullableString(d.Hex, !d.HexNull)
		} else {
			s.enc.Long(d.Digest)
		}
		s.emitEnc()
		s.writeSeal()
	}
	s.state = stClosed
	if err := s.Flush(); err != nil {
		return err
	}
	if s.cmp != nil {
		s.err = s.cmp.Close()
	}
	return s.err
}

func (s *SnapshotWriter) writeSeal() {
	s.enc.Long(int64(s.sum.sum()))
	s.enc.String("/")
	s.emitEnc()
}

// SnapshotFileWriter writes a snapshot file atomically: the data goes to
// "<name>.tmp" and is renamed into place by Commit, as Java does.
type SnapshotFileWriter struct {
	*SnapshotWriter
	f     *os.File
	path  string
	tmp   string
	fsync bool
}

// CreateSnapshotFile starts "dir/snapshot.<hex zxid>[.gz|.snappy]" with the
// standard header. If fsync is true Commit syncs the file and directory.
func CreateSnapshotFile(dir string, zxid int64, c Compression, fsync bool) (*SnapshotFileWriter, error) {
	path := filepath.Join(dir, SnapshotFileName(zxid, c))
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	return &SnapshotFileWriter{
		SnapshotWriter: NewSnapshotWriter(f, SnapHeader, c),
		f:              f, path: path, tmp: tmp, fsync: fsync,
	}, nil
}

// Path returns the final path of the snapshot.
func (w *SnapshotFileWriter) Path() string { return w.path }

// Commit finishes the snapshot (see SnapshotWriter.Close) and renames it
// into place. On error the temporary file is removed.
func (w *SnapshotFileWriter) Commit(d *ZxidDigest) error {
	err := w.SnapshotWriter.Close(d)
	if err == nil && w.fsync {
		err = w.f.Sync()
	}
	if e := w.f.Close(); err == nil {
		err = e
	}
	if err == nil {
		err = os.Rename(w.tmp, w.path)
	}
	if err == nil && w.fsync {
		err = syncDir(filepath.Dir(w.path))
	}
	if err != nil {
		os.Remove(w.tmp)
	}
	return err
}

// Abort discards the snapshot.
func (w *SnapshotFileWriter) Abort() error {
	w.f.Close()
	return os.Remove(w.tmp)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
