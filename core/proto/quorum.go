package proto

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/zkobserver/zkobserver/core/jute"
)

// PacketType is the type of a QuorumPacket (Leader.java constants).
type PacketType int32

// Quorum packet types.
const (
	PacketRequest           PacketType = 1
	PacketProposal          PacketType = 2
	PacketAck               PacketType = 3
	PacketCommit            PacketType = 4
	PacketPing              PacketType = 5
	PacketRevalidate        PacketType = 6
	PacketSync              PacketType = 7
	PacketInform            PacketType = 8
	PacketCommitAndActivate PacketType = 9
	PacketNewLeader         PacketType = 10
	PacketFollowerInfo      PacketType = 11
	PacketUpToDate          PacketType = 12
	PacketDiff              PacketType = 13
	PacketTrunc             PacketType = 14
	PacketSnap              PacketType = 15
	PacketObserverInfo      PacketType = 16
	PacketLeaderInfo        PacketType = 17
	PacketAckEpoch          PacketType = 18
	PacketInformAndActivate PacketType = 19
)

var packetNames = [...]string{
	PacketRequest: "REQUEST", PacketProposal: "PROPOSAL", PacketAck: "ACK", PacketCommit: "COMMIT",
	PacketPing: "PING", PacketRevalidate: "REVALIDATE", PacketSync: "SYNC", PacketInform: "INFORM",
	PacketCommitAndActivate: "COMMITANDACTIVATE", PacketNewLeader: "NEWLEADER",
	PacketFollowerInfo: "FOLLOWERINFO", PacketUpToDate: "UPTODATE", PacketDiff: "DIFF",
	PacketTrunc: "TRUNC", PacketSnap: "SNAP", PacketObserverInfo: "OBSERVERINFO",
	PacketLeaderInfo: "LEADERINFO", PacketAckEpoch: "ACKEPOCH", PacketInformAndActivate: "INFORMANDACTIVATE",
}

func (t PacketType) String() string {
	if t > 0 && int(t) < len(packetNames) {
		return packetNames[t]
	}
	return fmt.Sprintf("packet(%d)", int32(t))
}

// ProtocolVersion is the Zab protocol version of LearnerInfo and LEADERINFO.
const ProtocolVersion = 0x10000

// MaxAuthInfo bounds the number of Ids in a QuorumPacket's authinfo. Java has
// no limit of its own; real packets carry a handful.
const MaxAuthInfo = 1024

// ErrTooManyAuth means a QuorumPacket whose authinfo count exceeds MaxAuthInfo.
var ErrTooManyAuth = errors.New("proto: too many authinfo entries")

// QuorumPacket is the unit of the observer <-> leader protocol. The stream
// has no framing: packets are written back to back.
//
// Data and AuthInfo are nil for null, non-nil (possibly empty) otherwise.
type QuorumPacket struct {
	Type     PacketType
	Zxid     int64
	Data     []byte
	AuthInfo []Id
}

// Encode implements jute.Record.
func (p *QuorumPacket) Encode(e *jute.Encoder) {
	e.Int(int32(p.Type))
	e.Long(p.Zxid)
	e.Buffer(p.Data)
	e.VectorLen(len(p.AuthInfo), p.AuthInfo == nil)
	for i := range p.AuthInfo {
		p.AuthInfo[i].Encode(e)
	}
}

// Decode implements jute.Record.
func (p *QuorumPacket) Decode(d *jute.Decoder) error {
	p.Type = PacketType(d.Int())
	p.Zxid = d.Long()
	p.Data = d.Buffer()
	n, null := d.VectorLen(8)
	p.AuthInfo = nil
	if d.Err() != nil || null {
		return d.Err()
	}
	if n > MaxAuthInfo {
		d.Fail(fmt.Errorf("%w: %d", ErrTooManyAuth, n))
		return d.Err()
	}
	p.AuthInfo = make([]Id, n)
	for i := range p.AuthInfo {
		p.AuthInfo[i].Decode(d)
	}
	if d.Err() != nil {
		p.AuthInfo = nil
	}
	return d.Err()
}

// PacketReader reads QuorumPackets from an unframed stream. It is not safe
// for concurrent use. Packets it returns own their Data (a fresh slice per
// packet), so they may be retained.
type PacketReader struct {
	r      *bufio.Reader
	maxLen int
	hdr    [16]byte
}

// NewPacketReader reads from r; maxLen bounds data and string lengths (0 means
// jute.DefaultMaxLength, Java's default).
func NewPacketReader(r *bufio.Reader, maxLen int) *PacketReader {
	if maxLen <= 0 {
		maxLen = jute.DefaultMaxLength
	}
	return &PacketReader{r: r, maxLen: maxLen}
}

// Reader returns the underlying buffered reader, for the SNAP stream that
// follows a SNAP packet.
func (pr *PacketReader) Reader() *bufio.Reader { return pr.r }

// Read reads one packet. io.EOF means the stream ended cleanly between
// packets; a stream that ends inside a packet gives io.ErrUnexpectedEOF.
func (pr *PacketReader) Read() (*QuorumPacket, error) {
	if _, err := io.ReadFull(pr.r, pr.hdr[:]); err != nil {
		return nil, err
	}
	p := &QuorumPacket{
		Type: PacketType(int32(binary.BigEndian.Uint32(pr.hdr[0:4]))),
		Zxid: int64(binary.BigEndian.Uint64(pr.hdr[4:12])),
	}
	var err error
	if p.Data, err = pr.readBuffer(int32(binary.BigEndian.Uint32(pr.hdr[12:16]))); err != nil {
		return nil, fmt.Errorf("%v data: %w", p.Type, err)
	}
	n, err := pr.readInt()
	if err != nil {
		return nil, fmt.Errorf("%v authinfo: %w", p.Type, noEOF(err))
	}
	switch {
	case n == -1:
	case n < -1:
		return nil, fmt.Errorf("%v authinfo: %w: %d", p.Type, jute.ErrBadLength, n)
	case n > MaxAuthInfo:
		return nil, fmt.Errorf("%v authinfo: %w: %d", p.Type, ErrTooManyAuth, n)
	default:
		p.AuthInfo = make([]Id, n)
		for i := range p.AuthInfo {
			id := &p.AuthInfo[i]
			var ok bool
			if id.Scheme, ok, err = pr.readString(); err != nil {
				return nil, fmt.Errorf("%v authinfo: %w", p.Type, err)
			}
			id.NullScheme = !ok
			if id.ID, ok, err = pr.readString(); err != nil {
				return nil, fmt.Errorf("%v authinfo: %w", p.Type, err)
			}
			id.NullID = !ok
		}
	}
	return p, nil
}

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

func (pr *PacketReader) readInt() (int32, error) {
	var b [4]byte
	if _, err := io.ReadFull(pr.r, b[:]); err != nil {
		return 0, err
	}
	return int32(binary.BigEndian.Uint32(b[:])), nil
}

func (pr *PacketReader) readBuffer(n int32) ([]byte, error) {
	switch {
	case n == -1:
		return nil, nil
	case n < -1:
		return nil, fmt.Errorf("%w: %d", jute.ErrBadLength, n)
	case int(n) > pr.maxLen:
		return nil, fmt.Errorf("%w: %d > %d", jute.ErrTooLarge, n, pr.maxLen)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(pr.r, b); err != nil {
		return nil, noEOF(err)
	}
	return b, nil
}

func (pr *PacketReader) readString() (string, bool, error) {
	n, err := pr.readInt()
	if err != nil {
		return "", false, noEOF(err)
	}
	b, err := pr.readBuffer(n)
	if err != nil || b == nil {
		return "", false, err
	}
	return string(b), true, nil
}

// LearnerInfo is the data of OBSERVERINFO / FOLLOWERINFO (20 bytes).
type LearnerInfo struct {
	ServerID        int64
	ProtocolVersion int32
	ConfigVersion   int64
}

// Encode implements jute.Record.
func (r *LearnerInfo) Encode(e *jute.Encoder) {
	e.Long(r.ServerID)
	e.Int(r.ProtocolVersion)
	e.Long(r.ConfigVersion)
}

// Decode implements jute.Record.
func (r *LearnerInfo) Decode(d *jute.Decoder) error {
	r.ServerID = d.Long()
	r.ProtocolVersion = d.Int()
	r.ConfigVersion = d.Long()
	return d.Err()
}

// Zxid helpers: the high 32 bits are the epoch, the low 32 a counter.

// MakeZxid returns epoch<<32 | counter.
func MakeZxid(epoch int64, counter int64) int64 { return epoch<<32 | (counter & 0xffffffff) }

// ZxidEpoch returns the epoch of zxid.
func ZxidEpoch(zxid int64) int64 { return int64(uint64(zxid) >> 32) }

// ZxidCounter returns the counter of zxid.
func ZxidCounter(zxid int64) int64 { return zxid & 0xffffffff }
