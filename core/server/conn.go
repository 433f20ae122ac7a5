package server

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/zkobserver/zkobserver/core/acl"
	"github.com/zkobserver/zkobserver/core/jute"
	"github.com/zkobserver/zkobserver/core/proto"
)

// conn is one client connection (Java's ServerCnxn). Its reader goroutine
// (readLoop) owns the handshake, the request decoding, the auth ids and the
// forwarding of its requests; the writer goroutine (writeLoop) owns the
// socket's write side. Replies and watch events reach the writer through
// out, from the reader, the observer's apply loop and the tree's Trigger.
//
// conn implements watch.StaleWatcher.
type conn struct {
	s   *Server
	nc  net.Conn
	ip  string
	log zerolog.Logger
	rd  *bufio.Reader
	buf []byte // frame buffer, reader goroutine only
	out *outQueue

	sid     atomic.Int64               // session id, 0 before the handshake
	timeout int32                      // negotiated timeout, reader goroutine only
	authIDs acl.AuthInfo               // identities held, reader goroutine only
	ids     []proto.Id                 // authIDs.IDs(): Java's order, reader goroutine only
	shared  atomic.Pointer[[]proto.Id] // ids, for CanRead on the applier's goroutine
	hasRO   bool                       // the ConnectRequest carried the readOnly byte
	ro      bool                       // ... and it was true: a read-only client (set before sid)
	readAt  time.Time                  // when the last frame was read, reader goroutine only
	stats   connStats

	// roTold: the client was told it is served read-only (its
	// ConnectResponse said so, or it was kept at the leader's loss and sent
	// a ConnectedReadOnly event) and has not been told SyncConnected since.
	roTold atomic.Bool
	// roGlobal: a global session admitted in read-only mode without the
	// leader's REVALIDATE; closed once a leader is back so that its client
	// reconnects and is revalidated. Never cleared.
	roGlobal atomic.Bool

	closing   atomic.Bool
	closeOnce sync.Once
	done      chan struct{} // closed by close

	mu      sync.Mutex
	pend    []*pending    // requests in flight to the leader, in request order
	drained chan struct{} // closed when pend becomes empty (nil while empty)
	ready   chan bool     // the leader's answer to this connection's createSession or REVALIDATE
}

func newConn(s *Server, nc net.Conn, ip string) *conn {
	c := &conn{
		s: s, nc: nc, ip: ip,
		log:  s.log.With().Str("peer", nc.RemoteAddr().String()).Logger(),
		rd:   bufio.NewReaderSize(nc, 16<<10),
		buf:  make([]byte, 4<<10),
		out:  newOutQueue(s.cfg.MaxOutgoing),
		done: make(chan struct{}),
	}
	c.stats.init(time.Now())
	c.authIDs.Add(acl.IPID(nc.RemoteAddr()))
	c.setIDs(c.authIDs.IDs())
	return c
}

func (c *conn) sessionID() int64 { return c.sid.Load() }

// SessionID implements watch.Watcher.
func (c *conn) SessionID() int64 { return c.sid.Load() }

// Stale implements watch.StaleWatcher.
func (c *conn) Stale() bool { return c.closing.Load() }

// setIDs sets the connection's auth ids (reader goroutine).
func (c *conn) setIDs(ids []proto.Id) {
	c.ids = ids
	c.shared.Store(&ids)
}

// CanRead implements watch.ReadChecker: a watch event reaches the client
// only with READ on its node, as Java (ZOOKEEPER-4799) delivers it.
func (c *conn) CanRead(acl []proto.ACL) bool {
	var ids []proto.Id
	if p := c.shared.Load(); p != nil {
		ids = *p
	}
	return c.s.acl.Check(acl, proto.PermRead, ids) == proto.ErrOK
}

// Process implements watch.Watcher: the event is queued, never waited for.
func (c *conn) Process(ev proto.WatcherEvent) {
	c.send(proto.AppendFrame(nil, &proto.ReplyHeader{Xid: proto.XidNotification, Zxid: -1}, &ev))
}

// send queues frame; a client whose queue overflows is disconnected. It
// never blocks and may be called under the tree's lock or the watch
// manager's mutex.
func (c *conn) send(frame []byte) {
	ok, overflow := c.out.push(frame)
	if overflow {
		c.close("client is not reading its replies: outgoing queue over its bound")
	}
	if ok {
		c.frameSent(frame)
	}
}

// sendReply queues a reply: header and optional record.
func (c *conn) sendReply(xid int32, zxid int64, err proto.ErrCode, rec jute.Record) {
	if rec == nil || err != proto.ErrOK {
		c.send(proto.AppendFrame(nil, &proto.ReplyHeader{Xid: xid, Zxid: zxid, Err: err}))
		return
	}
	c.send(proto.AppendFrame(nil, &proto.ReplyHeader{Xid: xid, Zxid: zxid, Err: err}, rec))
}

// close shuts the connection down at once, dropping anything queued, and
// wakes every goroutine waiting for it. reason "" means a normal close
// (nothing logged). It never blocks and may be called from any goroutine,
// with any lock held; the reader goroutine does the rest of the teardown.
func (c *conn) close(reason string) {
	c.closeOnce.Do(func() {
		c.closing.Store(true)
		if reason != "" {
			c.log.Info().Str("session", hexID(c.sessionID())).Str("reason", reason).Msg("closing client connection")
		}
		close(c.done)
		c.nc.Close()
	})
}

// closeAfterFlush closes the connection once the replies queued so far are
// written (closeSession, an invalid reconnect, UNIMPLEMENTED).
func (c *conn) closeAfterFlush() { c.out.finishAfter() }

// readLoop is the connection's reader goroutine.
func (c *conn) readLoop() {
	defer c.s.wg.Done()
	defer c.teardown()
	c.nc.SetReadDeadline(time.Now().Add(c.s.cfg.SessionlessTimeout))
	if fl := c.s.cfg.FourLetter; fl != nil {
		head, err := c.rd.Peek(4)
		if err != nil {
			return
		}
		if w := binary.BigEndian.Uint32(head); fl.IsWord(w) {
			c.rd.Discard(4)
			fl.Serve(w, c.nc, c.rd)
			c.close("")
			return
		}
	}
	payload, ok := c.readFrame()
	if !ok || !c.handshake(payload) {
		return
	}
	for {
		if c.closing.Load() {
			return
		}
		c.nc.SetReadDeadline(time.Now().Add(time.Duration(c.timeout) * time.Millisecond))
		payload, ok := c.readFrame()
		if !ok || !c.request(payload) {
			return
		}
	}
}

// readFrame reads the next frame. A bad length closes the connection with
// one log line; so does a read error other than a plain end of stream.
func (c *conn) readFrame() ([]byte, bool) {
	payload, err := proto.ReadFrame(c.rd, c.buf, c.s.cfg.MaxFrame)
	switch {
	case err == nil:
		c.frameReceived()
		return payload, true
	case c.closing.Load():
	case errors.Is(err, proto.ErrFrameTooLarge):
		c.close("frame length out of range (jute.maxbuffer)")
	case errors.Is(err, io.EOF):
		c.close("")
	case errors.Is(err, io.ErrUnexpectedEOF):
		c.close("connection ended inside a frame")
	default:
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			c.close("no request within the timeout")
		} else {
			c.close("read failed: " + err.Error())
		}
	}
	return nil, false
}

// teardown runs when the reader goroutine ends: the connection is closed,
// its watches dropped and the server forgets it. Its requests in flight are
// abandoned (their txns still apply; nobody is answered).
func (c *conn) teardown() {
	if c.out.finishing() {
		// Let the writer deliver the last replies (closeSession, AUTHFAILED,
		// an invalid reconnect); it closes the connection then.
		t := time.NewTimer(5 * time.Second)
		select {
		case <-c.done:
		case <-t.C:
		}
		t.Stop()
	}
	c.close("")
	c.s.watches.RemoveWatcher(c)
	c.mu.Lock()
	c.pend = nil
	if c.drained != nil {
		close(c.drained)
		c.drained = nil
	}
	c.mu.Unlock()
	c.s.removeConn(c)
}
