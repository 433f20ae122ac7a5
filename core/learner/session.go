package learner

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/zkobserver/zkobserver/core/jute"
	"github.com/zkobserver/zkobserver/core/proto"
	"github.com/zkobserver/zkobserver/core/tree"
)

// Position is what the observer reports in the handshake: its last applied
// zxid (this one value decides DIFF, TRUNC or SNAP) and its epochs.
type Position struct {
	LastZxid      int64
	AcceptedEpoch int64 // the largest epoch it has acknowledged
	CurrentEpoch  int64 // the epoch of the last leader it fully synced with
}

// SyncMode is how the leader chose to bring the observer up to date.
type SyncMode int

// Sync modes.
const (
	SyncDiff SyncMode = iota + 1
	SyncTrunc
	SyncSnap
)

func (m SyncMode) String() string {
	switch m {
	case SyncDiff:
		return "DIFF"
	case SyncTrunc:
		return "TRUNC"
	case SyncSnap:
		return "SNAP"
	}
	return "none"
}

// SyncReport describes one completed sync.
type SyncReport struct {
	Leader   Peer
	Mode     SyncMode
	Epoch    int64 // the leader's epoch
	From     int64 // the zxid the observer reported
	SnapZxid int64 // the SNAP's zxid (SNAP only)
	To       int64 // the zxid of the last txn received before UPTODATE (From or SnapZxid when none)
	Txns     int   // txns received before UPTODATE
	Bytes    int64 // bytes received from the leader, through UPTODATE
	Duration time.Duration
}

// Sink receives the state changes the leader sends, in order, on the
// learner's goroutine. An error from a Sink method ends the session.
type Sink interface {
	// Position is called at the start of each session.
	Position() Position
	// AcceptEpoch makes epoch the accepted epoch, durably, before the
	// learner acknowledges it (ACKEPOCH).
	AcceptEpoch(epoch int64) error
	// Diff starts a DIFF sync: the state is kept, txns follow.
	Diff(leaderZxid int64) error
	// Snap replaces the whole state with t, the leader's snapshot as of
	// zxid (fuzzy: txns that follow may already be in it). t is loaded
	// completely before Snap is called; a session cut during the transfer
	// never calls it.
	Snap(zxid int64, t *tree.DataTree) error
	// Txn applies a committed txn. Txns arrive in zxid order; the Sink may
	// apply them asynchronously but in order.
	Txn(txn *proto.Txn) error
	// NewLeader makes currentEpoch = epoch durable, together with every
	// change handed over so far (the SNAP's tree included), before the
	// learner acknowledges NEWLEADER. config is the leader's quorum config
	// text.
	NewLeader(epoch int64, config []byte) error
	// UpToDate ends the sync: the observer may serve clients.
	UpToDate(r SyncReport) error
	// Touches appends the PING reply's session touches (12-byte entries
	// {sessionId, timeoutMs}) to dst; nil or empty is fine.
	Touches(dst []byte) []byte
}

// TruncError ends a session in which the leader sent TRUNC: the observer
// must drop its state and sync again from zxid 0.
type TruncError struct{ Zxid int64 }

func (e *TruncError) Error() string {
	return fmt.Sprintf("leader sent TRUNC to %#x: the observer's history diverges from the leader's", e.Zxid)
}

// Protocol errors.
var (
	ErrProtocol    = errors.New("quorum protocol error")
	ErrEpochBehind = errors.New("leader's epoch is less than the accepted epoch")
)

// Config configures a learner.
type Config struct {
	Ensemble Ensemble
	SID      int64
	// Tree configures the trees built from SNAPs (extended types).
	Tree tree.Options
	// MaxPacket bounds the data of one packet (jute.maxbuffer; default
	// jute.DefaultMaxLength).
	MaxPacket int
	Logger    zerolog.Logger
}

func (c *Config) initTimeout() time.Duration {
	return c.Ensemble.TickTime * time.Duration(c.Ensemble.InitLimit)
}

func (c *Config) syncTimeout() time.Duration {
	return c.Ensemble.TickTime * time.Duration(c.Ensemble.SyncLimit)
}

// session is one connection to the leader.
type session struct {
	cfg    *Config
	leader Peer
	sink   Sink
	conn   net.Conn
	in     *countingReader
	pr     *proto.PacketReader

	timeout  time.Duration // per read
	deadline time.Time     // current read deadline

	wmu sync.Mutex
	bw  *bufio.Writer
	enc *jute.Encoder

	epoch   int64 // the leader's new epoch
	acked   bool  // NEWLEADER acknowledged
	touches []byte
	req     Requests // the sink's, when it serves clients
}

// readBufSize is the learner's read buffer (the SNAP body is read through
// it too).
const readBufSize = 1 << 20

// Follow runs one session on conn (a connection to the leader's quorum port,
// which Follow closes): handshake, sync, then the steady state until the
// connection fails or ctx ends (then it returns context.Cause(ctx)). It
// always returns a non-nil error.
func Follow(ctx context.Context, cfg *Config, conn net.Conn, leader Peer, sink Sink) error {
	s := &session{cfg: cfg, leader: leader, sink: sink, conn: conn, enc: jute.NewEncoder(nil)}
	s.in = &countingReader{r: conn}
	s.pr = proto.NewPacketReader(bufio.NewReaderSize(s.in, readBufSize), cfg.MaxPacket)
	s.bw = bufio.NewWriterSize(conn, 64<<10)
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	defer conn.Close()
	err := s.run()
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return err
}

func (s *session) run() error {
	start := time.Now()
	s.timeout = s.cfg.initTimeout()
	pos := s.sink.Position()
	if err := s.handshake(pos); err != nil {
		return err
	}
	rep, err := s.sync(pos)
	if err != nil {
		return err
	}
	rep.Duration = time.Since(start)
	if err := s.sink.UpToDate(rep); err != nil {
		return err
	}
	if s.req = requestsOf(s.sink); s.req != nil {
		s.req.Attach(&Forwarder{s: s})
		defer s.req.Detach()
	}
	return s.observe()
}

// handshake: OBSERVERINFO, LEADERINFO, ACKEPOCH.
func (s *session) handshake(pos Position) error {
	li := proto.LearnerInfo{ServerID: s.cfg.SID, ProtocolVersion: proto.ProtocolVersion}
	if err := s.send(proto.PacketObserverInfo, proto.MakeZxid(pos.AcceptedEpoch, 0), jute.Marshal(&li)); err != nil {
		return err
	}
	p, err := s.read()
	if err != nil {
		return fmt.Errorf("waiting for LEADERINFO: %w", err)
	}
	if p.Type != proto.PacketLeaderInfo {
		return fmt.Errorf("%w: first packet from the leader is %v, want LEADERINFO (a pre-3.4 leader is not supported)", ErrProtocol, p.Type)
	}
	if len(p.Data) < 4 || int32(binary.BigEndian.Uint32(p.Data)) < proto.ProtocolVersion {
		return fmt.Errorf("%w: LEADERINFO protocol version %x", ErrProtocol, p.Data)
	}
	s.epoch = proto.ZxidEpoch(p.Zxid)
	ackEpoch := int32(-1)
	switch {
	case s.epoch > pos.AcceptedEpoch:
		ackEpoch = int32(pos.CurrentEpoch)
		if err := s.sink.AcceptEpoch(s.epoch); err != nil {
			return err
		}
	case s.epoch < pos.AcceptedEpoch:
		return fmt.Errorf("%w: leader %d, accepted %d", ErrEpochBehind, s.epoch, pos.AcceptedEpoch)
	}
	data := binary.BigEndian.AppendUint32(nil, uint32(ackEpoch))
	return s.send(proto.PacketAckEpoch, pos.LastZxid, data)
}

// sync follows the leader's sync stream up to UPTODATE.
func (s *session) sync(pos Position) (SyncReport, error) {
	rep := SyncReport{Leader: s.leader, Epoch: s.epoch, From: pos.LastZxid, To: pos.LastZxid}
	p, err := s.read()
	if err != nil {
		return rep, fmt.Errorf("waiting for the sync mode: %w", err)
	}
	switch p.Type {
	case proto.PacketDiff:
		rep.Mode = SyncDiff
		if err := s.sink.Diff(p.Zxid); err != nil {
			return rep, err
		}
	case proto.PacketTrunc:
		return rep, &TruncError{Zxid: p.Zxid}
	case proto.PacketSnap:
		rep.Mode, rep.SnapZxid, rep.To = SyncSnap, p.Zxid, p.Zxid
		t, err := loadSnap(s.pr.Reader(), s.cfg, p.Zxid)
		if err != nil {
			return rep, err
		}
		if err := s.sink.Snap(p.Zxid, t); err != nil {
			return rep, err
		}
	default:
		return rep, fmt.Errorf("%w: %v where DIFF, TRUNC or SNAP was due", ErrProtocol, p.Type)
	}
	var proposals []*proto.Txn // PROPOSALs waiting for their COMMIT
	for {
		p, err := s.read()
		if err != nil {
			return rep, fmt.Errorf("%v sync: %w", rep.Mode, err)
		}
		switch p.Type {
		case proto.PacketProposal:
			txn, err := s.decodeTxn(p)
			if err != nil {
				return rep, err
			}
			proposals = append(proposals, txn)
		case proto.PacketCommit, proto.PacketCommitAndActivate:
			if len(proposals) == 0 || proposals[0].Header.Zxid != p.Zxid {
				s.cfg.Logger.Warn().Str("zxid", hex(p.Zxid)).Msg("COMMIT without its PROPOSAL at the head of the queue; ignored")
				continue
			}
			txn := proposals[0]
			proposals = proposals[1:]
			if err := s.apply(txn, &rep); err != nil {
				return rep, err
			}
		case proto.PacketInform, proto.PacketInformAndActivate:
			txn, err := s.decodeTxn(p)
			if err != nil {
				return rep, err
			}
			if err := s.apply(txn, &rep); err != nil {
				return rep, err
			}
		case proto.PacketNewLeader:
			if e := proto.ZxidEpoch(p.Zxid); e != s.epoch {
				s.cfg.Logger.Warn().Int64("newleader_epoch", e).Int64("leaderinfo_epoch", s.epoch).Msg("NEWLEADER epoch differs from LEADERINFO's")
			}
			if err := s.sink.NewLeader(s.epoch, p.Data); err != nil {
				return rep, err
			}
			if err := s.send(proto.PacketAck, proto.MakeZxid(s.epoch, 0), nil); err != nil {
				return rep, err
			}
			s.acked = true
			s.timeout = s.cfg.syncTimeout()
		case proto.PacketPing:
			// The leader's read timeout drops to syncLimit once it has
			// the NEWLEADER ACK, and UPTODATE queues behind every INFORM:
			// answer pings from then on (Java's learner does not, and
			// can be dropped on a long sync).
			if s.acked {
				if err := s.pong(p); err != nil {
					return rep, err
				}
			}
		case proto.PacketUpToDate:
			if !s.acked {
				return rep, fmt.Errorf("%w: UPTODATE before NEWLEADER", ErrProtocol)
			}
			if err := s.send(proto.PacketAck, proto.MakeZxid(s.epoch, 0), nil); err != nil {
				return rep, err
			}
			rep.Bytes = s.in.n - int64(s.pr.Reader().Buffered())
			return rep, nil
		default:
			s.cfg.Logger.Debug().Stringer("type", p.Type).Msg("ignoring packet during sync")
		}
	}
}

func (s *session) apply(txn *proto.Txn, rep *SyncReport) error {
	rep.Txns++
	rep.To = txn.Header.Zxid
	return s.sink.Txn(txn)
}

// observe is the steady state: INFORMs and PINGs until the connection ends.
func (s *session) observe() error {
	for {
		p, err := s.read()
		if err != nil {
			return err
		}
		switch p.Type {
		case proto.PacketPing:
			if err := s.pong(p); err != nil {
				return err
			}
		case proto.PacketInform, proto.PacketInformAndActivate:
			txn, err := s.decodeTxn(p)
			if err != nil {
				return err
			}
			if err := s.sink.Txn(txn); err != nil {
				return err
			}
			if p.Type == proto.PacketInformAndActivate {
				if d := int64(binary.BigEndian.Uint64(p.Data)); d != s.leader.SID {
					return fmt.Errorf("reconfig names sid %d as the leader: rediscovering", d)
				}
			}
		case proto.PacketSync:
			if s.req != nil {
				if err := s.req.Synced(); err != nil {
					return err
				}
			}
		case proto.PacketRevalidate:
			id, valid, err := revalidateAnswer(p.Data)
			if err != nil {
				return err
			}
			if s.req != nil {
				if err := s.req.Revalidated(id, valid); err != nil {
					return err
				}
			}
		case proto.PacketProposal, proto.PacketCommit, proto.PacketUpToDate:
			// Java's observer logs and ignores these.
		default:
			s.cfg.Logger.Debug().Stringer("type", p.Type).Msg("ignoring packet")
		}
	}
}

// decodeTxn decodes the txn of a PROPOSAL, INFORM or INFORMANDACTIVATE
// (whose data starts with the designated leader's sid).
func (s *session) decodeTxn(p *proto.QuorumPacket) (*proto.Txn, error) {
	data := p.Data
	if p.Type == proto.PacketInformAndActivate {
		if len(data) < 8 {
			return nil, fmt.Errorf("%w: INFORMANDACTIVATE of %d bytes", ErrProtocol, len(data))
		}
		data = data[8:]
	}
	txn, err := proto.DecodeTxn(data, s.cfg.MaxPacket)
	if err != nil {
		return nil, fmt.Errorf("%w: %v %s: %w", ErrProtocol, p.Type, hex(p.Zxid), err)
	}
	if txn.Header.Zxid != p.Zxid {
		return nil, fmt.Errorf("%w: %v %s carries a txn of zxid %s", ErrProtocol, p.Type, hex(p.Zxid), hex(txn.Header.Zxid))
	}
	return txn, nil
}

// pong answers a PING with the session touches; data must never be null
// (a 3.8 leader's handler throws on it).
func (s *session) pong(p *proto.QuorumPacket) error {
	s.touches = s.sink.Touches(s.touches[:0])
	if s.touches == nil {
		s.touches = []byte{}
	}
	return s.send(proto.PacketPing, p.Zxid, s.touches)
}

// read reads one packet, keeping the read deadline timeout ahead (renewed
// once an eighth of it has passed, not on every packet).
func (s *session) read() (*proto.QuorumPacket, error) {
	now := time.Now()
	if s.deadline.Sub(now) < s.timeout-s.timeout/8 {
		s.deadline = now.Add(s.timeout)
		s.conn.SetReadDeadline(s.deadline)
	}
	p, err := s.pr.Read()
	var nerr net.Error
	switch {
	case err == nil:
		return p, nil
	case errors.Is(err, io.EOF):
		return nil, fmt.Errorf("leader closed the connection: %w", err)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.As(err, &nerr), errors.Is(err, net.ErrClosed):
		return nil, fmt.Errorf("reading from the leader: %w", err)
	}
	return nil, fmt.Errorf("%w: unreadable packet from the leader: %w", ErrProtocol, err)
}

// send writes one packet and flushes it. Safe for concurrent use.
func (s *session) send(t proto.PacketType, zxid int64, data []byte) error {
	return s.sendPacket(&proto.QuorumPacket{Type: t, Zxid: zxid, Data: data})
}

// sendPacket writes qp and flushes it. Safe for concurrent use.
func (s *session) sendPacket(qp *proto.QuorumPacket) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.enc.Reset()
	qp.Encode(s.enc)
	if _, err := s.bw.Write(s.enc.Bytes()); err != nil {
		return err
	}
	return s.bw.Flush()
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	return n, err
}

func hex(zxid int64) string { return fmt.Sprintf("%#x", zxid) }
