package server

import (
	"encoding/binary"
	"sync"
	"time"

	"github.com/zkobserver/zkobserver/core/fourletter"
	"github.com/zkobserver/zkobserver/core/proto"
)

// serverStats are the server-wide numbers of Java's ServerStats that the
// four-letter words print: packets, request latency and reply sizes.
type serverStats struct {
	mu       sync.Mutex
	start    time.Time
	received int64
	sent     int64
	latency  fourletter.Summary
	respSize fourletter.BufferStats
}

func newServerStats() *serverStats {
	return &serverStats{start: time.Now(), respSize: fourletter.NoBuffers}
}

func (s *serverStats) packetReceived() {
	s.mu.Lock()
	s.received++
	s.mu.Unlock()
}

// packetSent counts one frame sent and its size without the length prefix
// (ServerStats.updateClientResponseSize).
func (s *serverStats) packetSent(size int) {
	s.mu.Lock()
	s.sent++
	r := &s.respSize
	r.Last = size
	if r.Min < 0 || size < r.Min {
		r.Min = size
	}
	if size > r.Max {
		r.Max = size
	}
	s.mu.Unlock()
}

func (s *serverStats) addLatency(ms int64) {
	s.mu.Lock()
	s.latency.Add(ms)
	s.mu.Unlock()
}

// reset is ServerStats.reset (srst): latency, packets and response sizes.
func (s *serverStats) reset() {
	s.mu.Lock()
	s.received, s.sent = 0, 0
	s.latency = fourletter.Summary{}
	s.respSize = fourletter.NoBuffers
	s.mu.Unlock()
}

// connStats are one connection's numbers as cons prints them
// (ServerCnxn's counters). Guarded by mu: the reader, the writer paths and
// the apply loop update them; the four-letter words read them.
type connStats struct {
	mu          sync.Mutex
	established time.Time
	received    int64
	sent        int64
	lastOp      string
	lastCxid    int64
	lastZxid    int64
	lastResp    int64 // ms, session.ElapsedMillis clock
	lastLatency int64
	latency     fourletter.Summary
	word        bool // a four-letter-word connection
}

func (c *connStats) init(now time.Time) {
	c.established = now
	c.resetLocked()
}

func (c *connStats) resetLocked() {
	c.received, c.sent = 0, 0
	c.lastOp, c.lastCxid, c.lastZxid, c.lastResp, c.lastLatency = "NA", -1, -1, 0, 0
	c.latency = fourletter.Summary{}
}

// frameReceived counts one request frame read from c (ServerCnxn.packetReceived).
func (c *conn) frameReceived() {
	c.readAt = time.Now()
	c.countReceived()
}

// countReceived counts one packet received on c.
func (c *conn) countReceived() {
	c.s.stats.packetReceived()
	c.stats.mu.Lock()
	c.stats.received++
	c.stats.mu.Unlock()
}

// frameSent counts one frame queued for c (ServerCnxn.packetSent).
func (c *conn) frameSent(frame []byte) {
	c.s.stats.packetSent(len(frame) - 4)
	c.stats.mu.Lock()
	c.stats.sent++
	c.stats.mu.Unlock()
}

// replyZxid is the zxid in a reply frame's header, -1 for a frame too
// short to hold one.
func replyZxid(frame []byte) int64 {
	if len(frame) < 16 {
		return -1
	}
	return int64(binary.BigEndian.Uint64(frame[8:16]))
}

// answered records the reply, with zxid, to a request read at start
// (ServerCnxn.updateStatsForResponse and ServerStats.updateLatency, as
// FinalRequestProcessor calls them).
func (c *conn) answered(xid int32, op proto.OpCode, start time.Time, zxid int64) {
	if start.IsZero() {
		return
	}
	now := time.Now()
	lat := now.Sub(start).Milliseconds()
	c.s.stats.addLatency(lat)
	c.stats.mu.Lock()
	st := &c.stats
	st.lastOp, st.lastCxid, st.lastZxid = opTag(op), int64(xid), zxid
	st.lastResp, st.lastLatency = elapsedMillis(now), lat
	st.latency.Add(lat)
	c.stats.mu.Unlock()
}

var clockStart = time.Now()

// elapsedMillis is a monotonic millisecond clock (Java's
// Time.currentElapsedTime: nanoTime / 1e6).
func elapsedMillis(t time.Time) int64 { return t.Sub(clockStart).Milliseconds() }

// opTag is the lastOp tag FinalRequestProcessor sets per opcode.
func opTag(op proto.OpCode) string {
	switch op {
	case proto.OpPing:
		return "PING"
	case proto.OpCreateSession:
		return "SESS"
	case proto.OpMulti:
		return "MULT"
	case proto.OpMultiRead:
		return "MLTR"
	case proto.OpCreate, proto.OpCreate2, proto.OpCreateTTL, proto.OpCreateContainer:
		return "CREA"
	case proto.OpDelete:
		return "DELE"
	case proto.OpSetData:
		return "SETD"
	case proto.OpReconfig:
		return "RECO"
	case proto.OpSetACL:
		return "SETA"
	case proto.OpCloseSession:
		return "CLOS"
	case proto.OpSync:
		return "SYNC"
	case proto.OpCheck:
		return "CHEC"
	case proto.OpExists:
		return "EXIS"
	case proto.OpGetData:
		return "GETD"
	case proto.OpSetWatches:
		return "SETW"
	case proto.OpSetWatches2:
		return "STW2"
	case proto.OpAddWatch:
		return "ADDW"
	case proto.OpGetACL:
		return "GETA"
	case proto.OpGetChildren, proto.OpGetChildren2:
		return "GETC"
	case proto.OpGetAllChildrenNumber:
		return "GETACN"
	case proto.OpCheckWatches:
		return "CHKW"
	case proto.OpRemoveWatches:
		return "REMW"
	case proto.OpGetEphemerals:
		return "GETE"
	case proto.OpWhoAmI:
		return "HOMI"
	}
	return "NA"
}
