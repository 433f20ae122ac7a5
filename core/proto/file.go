package proto

import "github.com/zkobserver/zkobserver/core/jute"

// FileHeader starts every snapshot.N and log.N file (jute record
// FileHeader in org.apache.zookeeper.server.persistence).
type FileHeader struct {
	Magic   int32
	Version int32
	DBID    int64
}

// FileHeaderSize is the encoded size of FileHeader.
const FileHeaderSize = 16

// Encode implements jute.Record.
func (h *FileHeader) Encode(e *jute.Encoder) {
	e.Int(h.Magic)
	e.Int(h.Version)
	e.Long(h.DBID)
}

// Decode implements jute.Record.
func (h *FileHeader) Decode(d *jute.Decoder) error {
	h.Magic = d.Int()
	h.Version = d.Int()
	h.DBID = d.Long()
	return d.Err()
}
