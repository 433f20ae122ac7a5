package difftest

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/zkobserver/zkobserver/core/jute"
	"github.com/zkobserver/zkobserver/core/proto"
)

// CallTimeout bounds how long Call waits for a reply. A server that does not
// answer within it has failed the comparison anyway; the connection is
// closed so that nothing leaks.
const CallTimeout = 20 * time.Second

// SlowAfter is how long a call waits for its reply before the connection's
// OnSlow hook is told (and told again after every further SlowAfter).
const SlowAfter = 300 * time.Millisecond

// ErrClosed is returned by Call on a connection that was closed (by Close,
// by the server, or after a protocol error).
var ErrClosed = errors.New("difftest: connection closed")

// Event is one watch notification as read from the wire: its reply header
// (Java sends xid -1, zxid -1, err 0) and its WatcherEvent.
type Event struct {
	Header proto.ReplyHeader
	proto.WatcherEvent
}

// Reply is the answer to one request: the header and the raw payload after
// it (empty when the server sent none). Body aliases nothing.
type Reply struct {
	Header proto.ReplyHeader
	Body   []byte
}

// Client is a raw ZooKeeper client connection built on core/proto, able to
// send every client opcode with any xid and to hand back every byte of the
// replies. It does no retries, no reconnects and no client-side watch
// bookkeeping.
//
// Contracts: Call may be used from several goroutines; replies are matched to
// requests strictly in FIFO order (the order in which requests were written)
// and a reply whose xid is not the expected one closes the connection with an
// error, as the Java client does. Watch notifications (xid -1) are queued in
// arrival order and handed out by TakeEvents. Once the connection fails, every
// pending and later Call returns an error wrapping ErrClosed.
type Client struct {
	// Connect is what the server answered to the handshake.
	Connect proto.ConnectResponse

	conn net.Conn

	wmu sync.Mutex // serialises writes with the append to pending
	xid int32

	mu      sync.Mutex
	pending []*pendingCall
	events  []Event
	err     error
	done    chan struct{}

	onSlow func(waited time.Duration, desc string)
}

type pendingCall struct {
	xid int32
	ch  chan Reply
}

// DialOptions configure the handshake of Dial.
type DialOptions struct {
	// SessionID and Passwd reconnect to an existing session; zero opens a
	// new one (with a 16-byte all-zero password).
	SessionID int64
	Passwd    []byte
	// LastZxidSeen goes into the ConnectRequest.
	LastZxidSeen int64
	// Timeout is the requested session timeout in ms (default 30000; the
	// server clamps it).
	Timeout int32
	// LastXid is the xid after which ordinary xids continue (a reconnecting
	// client keeps counting, as the Java client does).
	LastXid int32
	// OnSlow, if set, is called from the waiting goroutine when a call has
	// waited SlowAfter (and again after every further SlowAfter) without a
	// reply, with the time waited and the call.
	OnSlow func(waited time.Duration, desc string)
}

// Dial connects to addr and completes the handshake. A ConnectResponse with
// a zero timeout (an invalid or expired session) is an error.
func Dial(addr string, o DialOptions) (*Client, error) {
	if o.Timeout == 0 {
		o.Timeout = 30000
	}
	if o.Passwd == nil {
		o.Passwd = make([]byte, 16)
	}
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	c := &Client{conn: conn, done: make(chan struct{}), xid: o.LastXid, onSlow: o.OnSlow}
	conn.SetDeadline(time.Now().Add(CallTimeout))
	br := bufio.NewReader(conn)
	req := proto.ConnectRequest{ProtocolVersion: 0, LastZxidSeen: o.LastZxidSeen, TimeOut: o.Timeout,
		SessionID: o.SessionID, Passwd: o.Passwd, HasReadOnly: true}
	if _, err := conn.Write(proto.AppendFrame(nil, &req)); err != nil {
		conn.Close()
		return nil, fmt.Errorf("difftest: connect to %s: %w", addr, err)
	}
	b, err := proto.ReadFrame(br, nil, 0)
	if err == nil {
		err = jute.Unmarshal(b, &c.Connect)
	}
	if err == nil && c.Connect.TimeOut <= 0 {
		err = fmt.Errorf("session 0x%x refused (%+v)", o.SessionID, c.Connect)
	}
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("difftest: connect to %s: %w", addr, err)
	}
	c.Connect.Passwd = append([]byte(nil), c.Connect.Passwd...)
	conn.SetDeadline(time.Time{})
	go c.readLoop(br)
	return c, nil
}

// SessionID is the id the server gave (or confirmed for) this connection.
func (c *Client) SessionID() int64 { return c.Connect.SessionID }

func (c *Client) readLoop(br *bufio.Reader) {
	var err error
	for {
		var b []byte
		if b, err = proto.ReadFrame(br, nil, 0); err != nil {
			break
		}
		d := jute.NewDecoder(b, 0)
		var h proto.ReplyHeader
		if h.Decode(d) != nil {
			err = fmt.Errorf("reply header: %w", d.Err())
			break
		}
		if h.Xid == proto.XidNotification {
			ev := Event{Header: h}
			ev.WatcherEvent.Decode(d)
			if err = d.Finish(); err != nil {
				err = fmt.Errorf("notification: %w", err)
				break
			}
			c.mu.Lock()
			c.events = append(c.events, ev)
			c.mu.Unlock()
			continue
		}
		c.mu.Lock()
		if len(c.pending) == 0 {
			c.mu.Unlock()
			err = fmt.Errorf("unexpected reply %+v with no request outstanding", h)
			break
		}
		p := c.pending[0]
		c.pending = c.pending[1:]
		c.mu.Unlock()
		if h.Xid != p.xid {
			err = fmt.Errorf("reply xid %d for request xid %d", h.Xid, p.xid)
			break
		}
		p.ch <- Reply{Header: h, Body: append([]byte(nil), d.Rest()...)}
	}
	c.fail(err)
}

// fail records err (the first one wins), closes the connection and fails
// every pending call.
func (c *Client) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return
	}
	c.err = fmt.Errorf("%w: %v", ErrClosed, err)
	c.conn.Close()
	for _, p := range c.pending {
		close(p.ch)
	}
	c.pending = nil
	close(c.done)
}

// Err returns why the connection failed, or nil while it is usable.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Close closes the connection without a closeSession request (the session
// lives on until it expires or is reconnected).
func (c *Client) Close() { c.fail(errors.New("closed by the client")) }

// Done is closed when the connection has failed or was closed.
func (c *Client) Done() <-chan struct{} { return c.done }

func (c *Client) nextXid() int32 { c.xid++; return c.xid }

// LastXid returns the last ordinary xid sent.
func (c *Client) LastXid() int32 {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.xid
}

// Send writes one request and returns a function that waits for its reply.
// xid 0 means "the next ordinary xid"; pass proto.XidPing, XidAuth or
// XidSetWatches for those. body may be nil (ping, closeSession, whoAmI).
func (c *Client) Send(xid int32, op proto.OpCode, body jute.Record) func() (Reply, error) {
	p := &pendingCall{ch: make(chan Reply, 1)}
	c.wmu.Lock()
	if xid == 0 {
		xid = c.nextXid()
	}
	p.xid = xid
	frame := proto.AppendFrame(nil, &proto.RequestHeader{Xid: xid, Type: op}, body)
	c.mu.Lock()
	err := c.err
	if err == nil {
		c.pending = append(c.pending, p)
	}
	c.mu.Unlock()
	if err == nil {
		c.conn.SetWriteDeadline(time.Now().Add(CallTimeout))
		if _, werr := c.conn.Write(frame); werr != nil {
			c.fail(werr)
		}
	}
	c.wmu.Unlock()
	return func() (Reply, error) {
		if err != nil {
			return Reply{}, err
		}
		t := time.NewTimer(CallTimeout)
		defer t.Stop()
		slow := time.NewTicker(SlowAfter)
		defer slow.Stop()
		began := time.Now()
		for {
			select {
			case r, ok := <-p.ch:
				if ok {
					return r, nil
				}
			case <-slow.C:
				if c.onSlow != nil {
					c.onSlow(time.Since(began), fmt.Sprintf("%v xid %d of session %#x", op, xid, c.SessionID()))
				}
				continue
			case <-t.C:
				c.fail(fmt.Errorf("no reply to %v (xid %d) within %v", op, xid, CallTimeout))
			}
			return Reply{}, fmt.Errorf("%v: %w", op, c.Err())
		}
	}
}

// Call sends one request with the next ordinary xid (or the given special
// one) and waits for its reply.
func (c *Client) Call(xid int32, op proto.OpCode, body jute.Record) (Reply, error) {
	return c.Send(xid, op, body)()
}

// Decode is Call followed by decoding the body into resp when the reply's
// err is 0 and resp is not nil; the body must then be consumed exactly. With
// a nil resp the body is not looked at; a reply with err != 0 must have none.
func (c *Client) Decode(op proto.OpCode, req, resp jute.Record) (proto.ReplyHeader, error) {
	r, err := c.Call(0, op, req)
	if err != nil {
		return r.Header, err
	}
	if r.Header.Err == 0 && resp != nil {
		if err := jute.Unmarshal(r.Body, resp); err != nil {
			return r.Header, fmt.Errorf("%v reply: %w", op, err)
		}
	} else if r.Header.Err != 0 && len(r.Body) != 0 {
		return r.Header, fmt.Errorf("%v reply: %d unexpected body bytes", op, len(r.Body))
	}
	return r.Header, nil
}

// TakeEvents returns the notifications received so far, in arrival order,
// and forgets them.
func (c *Client) TakeEvents() []Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	ev := c.events
	c.events = nil
	return ev
}
