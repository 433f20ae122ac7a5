package bolt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"runtime/debug"

	"github.com/zkobserver/zkobserver/storage"
)

// corruptf returns an error wrapping storage.ErrCorrupt that names file.
// storage.ErrCorrupt's own text says how to recover (wipe and resync).
func corruptf(file, format string, args ...any) error {
	return fmt.Errorf("bolt: %s: %s: %w", file, fmt.Sprintf(format, args...), storage.ErrCorrupt)
}

// corruptErr wraps err (which may already wrap storage.ErrCorrupt) so that
// it names file and wraps storage.ErrCorrupt.
func corruptErr(file string, err error) error {
	if errors.Is(err, storage.ErrCorrupt) {
		return fmt.Errorf("bolt: %s: %w", file, err)
	}
	return corruptf(file, "%v", err)
}

// protect runs fn, turning a panic or a memory fault (bbolt reads its file
// through a memory map and trusts page headers and page ids, so a damaged
// page makes it panic or read out of bounds) into an error wrapping
// storage.ErrCorrupt that names file. A panic raised while *passThrough is
// true (a caller's callback is running) is not ours and is re-raised.
func protect(file string, passThrough *bool, fn func() error) (err error) {
	old := debug.SetPanicOnFault(true)
	defer func() {
		debug.SetPanicOnFault(old)
		if p := recover(); p != nil {
			if passThrough != nil && *passThrough {
				panic(p)
			}
			err = corruptf(file, "bbolt failed reading it: %v", p)
		}
	}()
	return fn()
}

// bbolt's on-disk format (version 2, unchanged since 2014), native-endian:
// a page starts with a 16-byte header (id u64, flags u16, count u16,
// overflow u32); a meta page's body is magic u32, version u32, pageSize
// u32, flags u32, root bucket (pgid u64, sequence u64), freelist pgid u64,
// high-water pgid u64, txid u64, and an FNV-64a checksum of the fields
// before it.
const (
	boltMagic        = 0xED0CDAED
	boltVersion      = 2
	pageHeaderSize   = 16
	metaSize         = 56 // up to the checksum
	freelistPageFlag = 0x10
	noFreelist       = ^uint64(0)
)

type boltMeta struct {
	pageSize uint32
	root     uint64
	freelist uint64
	hwm      uint64
	txid     uint64
}

// parseMeta parses the meta page at the start of page and reports whether
// it is valid (magic, version, checksum).
func parseMeta(page []byte) (boltMeta, bool) {
	if len(page) < pageHeaderSize+metaSize+8 {
		return boltMeta{}, false
	}
	ne := binary.NativeEndian
	b := page[pageHeaderSize:]
	h := fnv.New64a()
	h.Write(b[:metaSize])
	if ne.Uint32(b[0:]) != boltMagic || ne.Uint32(b[4:]) != boltVersion || ne.Uint64(b[metaSize:]) != h.Sum64() {
		return boltMeta{}, false
	}
	return boltMeta{
		pageSize: ne.Uint32(b[8:]),
		root:     ne.Uint64(b[16:]),
		freelist: ne.Uint64(b[32:]),
		hwm:      ne.Uint64(b[40:]),
		txid:     ne.Uint64(b[48:]),
	}, true
}

// precheck reads what bbolt's read-write Open reads of an existing file (the
// two meta pages and the freelist) and checks it against the file's size,
// so that a truncated or damaged file is reported as storage.ErrCorrupt
// instead of making bbolt fault while it opens (a panic there would leave
// the file mapped and locked). The pages reached from the root are checked
// later, by Load. It returns the meta bbolt will use; exists is false for
// a missing or empty file (bbolt creates it).
func precheck(path string) (m boltMeta, exists bool, err error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return m, false, nil
	}
	if err != nil {
		return m, false, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return m, false, err
	}
	size := info.Size()
	if size == 0 {
		return m, false, nil
	}
	m, err = checkMeta(f, path, size)
	return m, true, err
}

func checkMeta(f *os.File, path string, size int64) (boltMeta, error) {
	readAt := func(off, n int64) ([]byte, error) {
		if off < 0 || n < 0 || off+n > size {
			return nil, io.ErrUnexpectedEOF
		}
		buf := make([]byte, n)
		_, err := f.ReadAt(buf, off)
		return buf, err
	}
	// Like bbolt: the first meta page gives the page size; failing that,
	// the second one is looked for at each possible page size.
	var metas []boltMeta
	if p, err := readAt(0, 4096); err == nil {
		if m, ok := parseMeta(p); ok {
			metas = append(metas, m)
		}
	}
	for ps := int64(1024); ps <= 1<<16; ps <<= 1 {
		if len(metas) > 0 && int64(metas[0].pageSize) != ps {
			continue
		}
		if p, err := readAt(ps, 4096); err == nil {
			if m, ok := parseMeta(p); ok && int64(m.pageSize) == ps {
				metas = append(metas, m)
				break
			}
		}
	}
	if len(metas) == 0 {
		return boltMeta{}, corruptf(path, "not a bbolt file or both meta pages are damaged (%d bytes)", size)
	}
	// bbolt uses the valid meta with the highest txid.
	m := metas[0]
	if len(metas) == 2 && metas[1].txid > m.txid {
		m = metas[1]
	}
	ps := int64(m.pageSize)
	if ps < 1024 || ps&(ps-1) != 0 {
		return m, corruptf(path, "bad page size %d", ps)
	}
	if m.hwm < 3 || m.hwm > uint64(size/ps) {
		return m, corruptf(path, "file is truncated: %d bytes, but its pages reach %d", size, int64(m.hwm)*ps)
	}
	if m.root < 2 || m.root >= m.hwm {
		return m, corruptf(path, "root page %d out of range", m.root)
	}
	if m.freelist == noFreelist {
		return m, nil
	}
	if m.freelist < 2 || m.freelist >= m.hwm {
		return m, corruptf(path, "freelist page %d out of range", m.freelist)
	}
	hdr, err := readAt(int64(m.freelist)*ps, ps)
	if err != nil {
		return m, corruptf(path, "reading the freelist: %v", err)
	}
	ne := binary.NativeEndian
	overflow := uint64(ne.Uint32(hdr[12:]))
	if ne.Uint64(hdr[0:]) != m.freelist || ne.Uint16(hdr[8:]) != freelistPageFlag || m.freelist+overflow >= m.hwm {
		return m, corruptf(path, "freelist page %d is damaged", m.freelist)
	}
	idx, count := uint64(0), uint64(ne.Uint16(hdr[10:]))
	if count == 0xFFFF {
		idx, count = 1, ne.Uint64(hdr[pageHeaderSize:])
	}
	if count >= m.hwm || (idx+count)*8+pageHeaderSize > (overflow+1)*uint64(ps) {
		return m, corruptf(path, "freelist page %d is damaged (count %d)", m.freelist, count)
	}
	ids, err := readAt(int64(m.freelist)*ps+pageHeaderSize+int64(idx)*8, int64(count)*8)
	if err != nil {
		return m, corruptf(path, "reading the freelist: %v", err)
	}
	prev := uint64(1)
	for i := uint64(0); i < count; i++ {
		id := ne.Uint64(ids[i*8:])
		if id <= prev || id >= m.hwm {
			return m, corruptf(path, "freelist page %d is damaged (page id %d)", m.freelist, id)
		}
		prev = id
	}
	return m, nil
}
