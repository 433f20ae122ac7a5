package rotest

import (
	"bufio"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/zkobserver/zkobserver/core/jute"
	"github.com/zkobserver/zkobserver/core/proto"
)

// rawClient is a read-only ZooKeeper connection at the frame level: it sees
// the EventNone state notifications that kazoo drops, and answers nothing
// itself (the test pings it).
type rawClient struct {
	t        testing.TB
	conn     net.Conn
	resp     proto.ConnectResponse
	mu       sync.Mutex
	states   []int32       // EventNone states received, in order
	stCh     chan struct{} // signalled (non-blocking) at every state event
	reps     chan proto.ReplyHeader
	bodies   chan []byte // the body of each reply in reps
	lastBody []byte
	wmu      sync.Mutex    // one frame at a time
	done     chan struct{} // closed when the connection has ended
	xid      int32
}

// dialReadOnly connects with readOnly=true and a session timeout of 10 s.
func dialReadOnly(t testing.TB, addr string) *rawClient {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	req := proto.ConnectRequest{TimeOut: 10000, Passwd: make([]byte, 16), ReadOnly: true, HasReadOnly: true}
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write(proto.AppendFrame(nil, &req)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	b, err := proto.ReadFrame(br, nil, 0)
	if err != nil {
		t.Fatalf("read-only connect to %s: %v", addr, err)
	}
	c := &rawClient{t: t, conn: conn, stCh: make(chan struct{}, 1), reps: make(chan proto.ReplyHeader, 16), bodies: make(chan []byte, 16), done: make(chan struct{})}
	if err := jute.Unmarshal(b, &c.resp); err != nil || c.resp.TimeOut <= 0 {
		t.Fatalf("read-only connect to %s: %+v %v", addr, c.resp, err)
	}
	conn.SetDeadline(time.Time{})
	go c.read(br)
	go c.keepalive()
	return c
}

// keepalive pings every 2 s, as a client library does, until the
// connection ends.
func (c *rawClient) keepalive() {
	ping := proto.AppendFrame(nil, &proto.RequestHeader{Xid: proto.XidPing, Type: proto.OpPing})
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
		}
		c.wmu.Lock()
		_, err := c.conn.Write(ping)
		c.wmu.Unlock()
		if err != nil {
			return
		}
	}
}

func (c *rawClient) read(br *bufio.Reader) {
	defer close(c.done)
	defer close(c.reps)
	for {
		b, err := proto.ReadFrame(br, nil, 0)
		if err != nil {
			return
		}
		d := jute.NewDecoder(b, 0)
		var h proto.ReplyHeader
		if h.Decode(d) != nil {
			return
		}
		if h.Xid == proto.XidPing {
			continue // the keepalive's
		}
		if h.Xid == proto.XidNotification {
			var ev proto.WatcherEvent
			if ev.Decode(d) == nil && ev.Type == proto.EventNone {
				c.mu.Lock()
				c.states = append(c.states, ev.State)
				c.mu.Unlock()
				select {
				case c.stCh <- struct{}{}:
				default:
				}
			}
			continue
		}
		c.bodies <- append([]byte(nil), b[len(b)-d.Remaining():]...)
		c.reps <- h
	}
}

// waitState waits for the n-th EventNone (1-based) and returns its state.
func (c *rawClient) waitState(n int, timeout time.Duration) int32 {
	c.t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		if len(c.states) >= n {
			st := c.states[n-1]
			c.mu.Unlock()
			return st
		}
		c.mu.Unlock()
		select {
		case <-c.stCh:
		case <-deadline.C:
			c.t.Fatalf("state event #%d not received within %v (got %v)", n, timeout, c.statesSeen())
		}
	}
}

func (c *rawClient) statesSeen() []int32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]int32(nil), c.states...)
}

// callDecode is call, decoding the body into resp when the reply is OK.
func (c *rawClient) callDecode(op proto.OpCode, rec, resp jute.Record) proto.ReplyHeader {
	c.t.Helper()
	h := c.call(op, rec)
	if h.Err == 0 && resp != nil {
		if err := jute.Unmarshal(c.lastBody, resp); err != nil {
			c.t.Fatalf("raw client: %v reply: %v", op, err)
		}
	}
	return h
}

// call sends a request (not a ping) and returns its reply header (the body
// is kept in lastBody). One call at a time.
func (c *rawClient) call(op proto.OpCode, rec jute.Record) proto.ReplyHeader {
	c.t.Helper()
	c.xid++
	xid := c.xid
	var frame []byte
	if rec == nil {
		frame = proto.AppendFrame(nil, &proto.RequestHeader{Xid: xid, Type: op})
	} else {
		frame = proto.AppendFrame(nil, &proto.RequestHeader{Xid: xid, Type: op}, rec)
	}
	c.wmu.Lock()
	_, err := c.conn.Write(frame)
	c.wmu.Unlock()
	if err != nil {
		c.t.Fatalf("raw client: %v", err)
	}
	select {
	case h, ok := <-c.reps:
		if !ok {
			c.t.Fatal("raw client: connection closed")
		}
		if h.Xid != xid {
			c.t.Fatalf("raw client: reply xid %d, want %d", h.Xid, xid)
		}
		c.lastBody = <-c.bodies
		return h
	case <-time.After(10 * time.Second):
		c.t.Fatalf("raw client: no reply to %v", op)
	}
	return proto.ReplyHeader{}
}
