package snapshot

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/zkobserver/zkobserver/core/jute"
	"github.com/zkobserver/zkobserver/core/proto"
)

// Signature is the string a leader writes after the snapshot body of a SNAP
// sync (LearnerHandler); it is not part of snapshot files.
const Signature = "BenWasHere"

// nodeFixedSize is the size of a node record after path and data: the ACL
// index and the StatPersisted.
const nodeFixedSize = 8 + proto.StatPersistedSize

// Preallocation caps for tables whose size comes from the input.
const (
	maxSessionPrealloc = 1024
	maxACLPrealloc     = 64
)

type bodyState int

const (
	stSessions bodyState = iota
	stACLs
	stNodes
	stDone
	stClosed // SnapshotWriter only
)

func (s bodyState) String() string {
	switch s {
	case stSessions:
		return "sessions"
	case stACLs:
		return "ACL cache"
	case stNodes:
		return "nodes"
	}
	return "end of body"
}

// BodyReader streams a snapshot body: the session table, then the ACL
// cache, then the nodes one at a time, up to the "/" terminator. It is the
// format shared by snapshot files (after the FileHeader) and by the SNAP
// stream of a quorum sync.
//
// Call Sessions, ACLs and Next in that order. Calling ACLs or Next first
// skips (and discards) the sections before it; going back is an ErrUsage
// error. The first decoding error is sticky and returned by every later
// call; it is an *Error and is fatal for the stream.
//
// BodyReader does not check tree structure (that every parent precedes its
// children, or that ACL indices exist in the cache); that is the job of
// whoever builds the tree.
type BodyReader struct {
	r     *rd
	state bodyState
	nodes int64
}

// NewBodyReader returns a BodyReader over r. If r is a *bufio.Reader with a
// buffer of at least 256 bytes (bufio's default is 4096) it is used
// directly and nothing beyond the bytes the caller asks for is consumed
// from it, so a SNAP stream can be followed by further packets on the same
// reader. Any other reader is wrapped in a bufio.Reader, which may read
// ahead past the end of the body.
func NewBodyReader(r io.Reader, opts *Options) *BodyReader {
	br, ok := r.(*bufio.Reader)
	if !ok || br.Size() < minBufSize {
		br = bufio.NewReaderSize(r, bufSize(r, 1, readBufSize))
	}
	return newBodyReader(newRd(br, opts.maxLength(), false))
}

func newBodyReader(r *rd) *BodyReader {
	return &BodyReader{r: r}
}

// Offset returns the number of bytes consumed so far.
func (b *BodyReader) Offset() int64 { return b.r.off }

// NodesRead returns the number of nodes returned by Next so far.
func (b *BodyReader) NodesRead() int64 { return b.nodes }

// Err returns the sticky decoding error, if any.
func (b *BodyReader) Err() error { return b.r.err }

// advance moves to state to, discarding skipped sections.
func (b *BodyReader) advance(to bodyState) error {
	if b.r.err != nil {
		return b.r.err
	}
	if b.state > to {
		return fmt.Errorf("%w: %s requested while reading %s", ErrUsage, to, b.state)
	}
	if b.state == stSessions && to > stSessions {
		b.readSessions(false)
	}
	if b.state == stACLs && to > stACLs {
		b.readACLs(false)
	}
	return b.r.err
}

// Sessions reads the session table. The slice is owned by the caller.
func (b *BodyReader) Sessions() ([]Session, error) {
	if err := b.advance(stSessions); err != nil {
		return nil, err
	}
	s := b.readSessions(true)
	if b.r.err != nil {
		return nil, b.r.err
	}
	return s, nil
}

func (b *BodyReader) readSessions(keep bool) []Session {
	r := b.r
	r.what = "session count"
	n := r.count()
	var out []Session
	if keep {
		out = make([]Session, 0, min(n, maxSessionPrealloc))
	}
	r.what = "session"
	for i := 0; i < n && r.err == nil; i++ {
		p := r.peek(12)
		if p == nil {
			break
		}
		if keep {
			out = append(out, Session{
				ID:      int64(binary.BigEndian.Uint64(p)),
				Timeout: int32(binary.BigEndian.Uint32(p[8:])),
			})
		}
		r.consume(p[:12])
	}
	b.state = stACLs
	return out
}

// ACLs reads the ACL cache, in file order. The slice and everything in it
// are owned by the caller.
func (b *BodyReader) ACLs() ([]ACLEntry, error) {
	if err := b.advance(stACLs); err != nil {
		return nil, err
	}
	a := b.readACLs(true)
	if b.r.err != nil {
		return nil, b.r.err
	}
	return a, nil
}

func (b *BodyReader) readACLs(keep bool) []ACLEntry {
	r := b.r
	r.what = "ACL cache size"
	n := r.count()
	var out []ACLEntry
	if keep {
		out = make([]ACLEntry, 0, min(n, maxACLPrealloc))
	}
	for i := 0; i < n && r.err == nil; i++ {
		r.what = "ACL cache index"
		idx := r.int64()
		r.what = "ACL list length"
		start := r.off
		c := r.int32()
		if r.err == nil && c < 0 {
			// Java fails with a RuntimeException on a null vector here.
			r.fail(start, fmt.Errorf("%w: ACL list length %d", ErrCorrupt, c))
			c = 0
		}
		var acls []proto.ACL
		if keep {
			acls = make([]proto.ACL, 0, min(int(c), maxACLPrealloc))
		}
		r.what = "ACL"
		for j := 0; j < int(c) && r.err == nil; j++ {
			var a proto.ACL
			a.Perms = r.int32()
			var ok bool
			a.ID.Scheme, ok = r.ustring()
			a.ID.NullScheme = !ok
			a.ID.ID, ok = r.ustring()
			a.ID.NullID = !ok
			if keep {
				acls = append(acls, a)
			}
		}
		if keep {
			out = append(out, ACLEntry{Index: idx, ACL: acls})
		}
	}
	b.state = stNodes
	return out
}

// Next reads the next node into n. It returns io.EOF once the "/"
// terminator has been read (and keeps returning io.EOF). On success n.Path
// and n.Data are new allocations owned by the caller; n is not modified on
// error.
func (b *BodyReader) Next(n *Node) error {
	if b.state == stDone && b.r.err == nil {
		return io.EOF
	}
	if err := b.advance(stNodes); err != nil {
		return err
	}
	r := b.r
	start := r.off
	r.what = "node path"
	path, ok := r.ustring()
	if r.err != nil {
		return r.err
	}
	if !ok {
		r.fail(start, fmt.Errorf("%w: null path", ErrCorrupt))
		return r.err
	}
	if path == "/" {
		b.state = stDone
		return io.EOF
	}
	r.what = "node data"
	data := r.buffer()
	r.what = "node ACL and stat"
	p := r.peek(nodeFixedSize)
	if p == nil {
		return r.err
	}
	n.Path = path
	n.Data = data
	n.ACL = int64(binary.BigEndian.Uint64(p))
	decodeStat(&n.Stat, p[8:nodeFixedSize])
	r.consume(p[:nodeFixedSize])
	b.nodes++
	return nil
}

// decodeStat decodes a StatPersisted from exactly 60 bytes (the same
// layout as proto.StatPersisted.Decode, without a Decoder's per-field
// checks).
func decodeStat(st *proto.StatPersisted, p []byte) {
	_ = p[59]
	be := binary.BigEndian
	st.Czxid = int64(be.Uint64(p[0:]))
	st.Mzxid = int64(be.Uint64(p[8:]))
	st.Ctime = int64(be.Uint64(p[16:]))
	st.Mtime = int64(be.Uint64(p[24:]))
	st.Version = int32(be.Uint32(p[32:]))
	st.Cversion = int32(be.Uint32(p[36:]))
	st.Aversion = int32(be.Uint32(p[40:]))
	st.EphemeralOwner = int64(be.Uint64(p[44:]))
	st.Pzxid = int64(be.Uint64(p[52:]))
}

// ReadSignature reads the "BenWasHere" string that follows the body in a
// SNAP stream (not in files). Call it after Next returned io.EOF; it fails
// with ErrBadSignature if the string differs.
func (b *BodyReader) ReadSignature() error {
	if b.r.err != nil {
		return b.r.err
	}
	if b.state != stDone {
		return fmt.Errorf("%w: ReadSignature before the end of the body", ErrUsage)
	}
	r := b.r
	start := r.off
	r.what = "signature"
	s, ok := r.ustring()
	if r.err != nil {
		return r.err
	}
	if !ok || s != Signature {
		r.fail(start, fmt.Errorf("%w: %q", ErrBadSignature, s))
		return r.err
	}
	return nil
}

// BodyWriter writes a snapshot body in the format BodyReader reads. Call
// WriteSessions, WriteACLs, WriteNode (once per node, parents before
// children) and End, in that order. Errors are sticky.
type BodyWriter struct {
	w       *bufio.Writer
	hashing bool
	sum     adler
	n       int64
	enc     jute.Encoder
	state   bodyState
	err     error
}

// NewBodyWriter returns a BodyWriter over w. If w is a *bufio.Writer it is
// used directly; otherwise it is wrapped in a bufio.Writer. Nothing reaches
// w before Flush, End or WriteSignature.
func NewBodyWriter(w io.Writer) *BodyWriter {
	bw, ok := w.(*bufio.Writer)
	if !ok {
		bw = bufio.NewWriterSize(w, writeBufSize)
	}
	return &BodyWriter{w: bw}
}

func newChecksummedBodyWriter(w *bufio.Writer) *BodyWriter {
	return &BodyWriter{w: w, hashing: true, sum: newAdler()}
}

// Offset returns the number of bytes written so far.
func (b *BodyWriter) Offset() int64 { return b.n }

func (b *BodyWriter) emit(p []byte) {
	if b.err != nil {
		return
	}
	if b.hashing {
		b.sum.update(p)
	}
	if _, err := b.w.Write(p); err != nil {
		b.err = err
	}
	b.n += int64(len(p))
}

func (b *BodyWriter) emitEnc() {
	b.emit(b.enc.Bytes())
	b.enc.Reset()
}

func (b *BodyWriter) expect(s bodyState, what string) error {
	if b.err != nil {
		return b.err
	}
	if b.state != s {
		return fmt.Errorf("%w: %s while writing %s", ErrUsage, what, b.state)
	}
	return nil
}

// WriteSessions writes the session table.
func (b *BodyWriter) WriteSessions(s []Session) error {
	if err := b.expect(stSessions, "WriteSessions"); err != nil {
		return err
	}
	b.enc.Int(int32(len(s)))
	for _, x := range s {
		b.enc.Long(x.ID)
		b.enc.Int(x.Timeout)
		if b.enc.Len() >= 1<<16 {
			b.emitEnc()
		}
	}
	b.emitEnc()
	b.state = stACLs
	return b.err
}

// WriteACLs writes the ACL cache. Every entry's ACL must be non-nil (Java
// cannot read a null list).
func (b *BodyWriter) WriteACLs(a []ACLEntry) error {
	if err := b.expect(stACLs, "WriteACLs"); err != nil {
		return err
	}
	for _, e := range a {
		if e.ACL == nil {
			return fmt.Errorf("%w: nil ACL list for index %d", ErrUsage, e.Index)
		}
	}
	b.enc.Int(int32(len(a)))
	for _, e := range a {
		b.enc.Long(e.Index)
		proto.EncodeACLs(&b.enc, e.ACL)
		if b.enc.Len() >= 1<<16 {
			b.emitEnc()
		}
	}
	b.emitEnc()
	b.state = stNodes
	return b.err
}

// WriteNode writes one node record. The path "/" is refused (it is the
// terminator; the root is written as "").
func (b *BodyWriter) WriteNode(n *Node) error {
	if err := b.expect(stNodes, "WriteNode"); err != nil {
		return err
	}
	if n.Path == "/" {
		return fmt.Errorf(`%w: node path "/" (the root is written as "")`, ErrUsage)
	}
	b.enc.String(n.Path)
	if n.Data == nil {
		b.enc.Int(-1)
	} else {
		b.enc.Int(int32(len(n.Data)))
		if len(n.Data) <= 256 {
			b.enc.Raw(n.Data)
		} else {
			b.emitEnc()
			b.emit(n.Data)
		}
	}
	b.enc.Long(n.ACL)
	n.Stat.Encode(&b.enc)
	b.emitEnc()
	return b.err
}

// End writes the "/" terminator and flushes.
func (b *BodyWriter) End() error {
	if err := b.expect(stNodes, "End"); err != nil {
		return err
	}
	b.enc.String("/")
	b.emitEnc()
	b.state = stDone
	return b.Flush()
}

// WriteSignature writes the "BenWasHere" signature that follows the body
// in a SNAP stream, and flushes.
func (b *BodyWriter) WriteSignature() error {
	if err := b.expect(stDone, "WriteSignature"); err != nil {
		return err
	}
	b.enc.String(Signature)
	b.emitEnc()
	return b.Flush()
}

// Flush writes buffered data to the underlying writer.
func (b *BodyWriter) Flush() error {
	if b.err != nil {
		return b.err
	}
	b.err = b.w.Flush()
	return b.err
}
