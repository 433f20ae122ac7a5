package loadgen

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zkobserver/zkobserver/core/jute"
	"github.com/zkobserver/zkobserver/core/proto"
)

// fake answers the client protocol for the load's three ops: every path
// exists with dataSize bytes, except that errPaths answer their ErrCode and
// shortPaths answer one byte too few. It counts what it sees. Its
// replies are computed from the request frames inside the client's Write
// (fakeConn), so that a benchmark over it measures the client's cost.
type fake struct {
	dataSize   int
	timeoutMs  int32
	errPaths   map[string]proto.ErrCode
	shortPaths map[string]bool
	dropAfter  int64 // close the connection after this many requests (0: never)

	requests, pings, closes, sessions atomic.Int64
}

// serve runs one connection over a real socket until it closes.
func (f *fake) serve(nc net.Conn) {
	defer nc.Close()
	fc := newFakeConn(f)
	go func() { io.Copy(nc, fc.client()); nc.Close() }()
	buf := make([]byte, 64<<10)
	for {
		n, err := nc.Read(buf)
		if n > 0 {
			if _, werr := fc.serverSide(buf[:n]); werr != nil {
				fc.closeReplies()
				return
			}
		}
		if err != nil {
			fc.closeReplies()
			return
		}
	}
}

// listen starts a TCP fake on loopback; it is closed at the test's end.
func (f *fake) listen(tb testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	var wg sync.WaitGroup
	tb.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); f.serve(nc) }()
		}
	}()
	return ln.Addr().String()
}

// dial returns a Config.Dial that connects to an in-memory fakeConn.
func (f *fake) dial(context.Context, string) (net.Conn, error) {
	return newFakeConn(f).client(), nil
}

// fakeConn is one in-memory connection: the client's writes are answered
// synchronously into a buffer its reads drain.
type fakeConn struct {
	f         *fake
	in        []byte // partial request frame bytes
	handshook bool
	n         int64
	reply     []byte
	stat      proto.Stat
	dec       *jute.Decoder
	enc       *jute.Encoder // replies of one Write

	mu     sync.Mutex
	cond   sync.Cond
	out    []byte // replies not read yet
	closed bool
}

func newFakeConn(f *fake) *fakeConn {
	c := &fakeConn{f: f}
	c.cond.L = &c.mu
	c.stat = proto.Stat{Czxid: 1, Mzxid: 1, DataLength: int32(f.dataSize)}
	c.dec = jute.NewDecoder(nil, 0)
	c.enc = jute.NewEncoder(nil)
	return c
}

// serverSide consumes request bytes and queues the replies.
func (c *fakeConn) serverSide(b []byte) (int, error) {
	c.in = append(c.in, b...)
	c.enc.Reset()
	drop := false
	for len(c.in) >= 4 {
		n := int(binary.BigEndian.Uint32(c.in))
		if len(c.in) < 4+n {
			break
		}
		frame := c.in[4 : 4+n]
		c.answer(frame)
		c.in = c.in[4+n:]
		if c.f.dropAfter > 0 && c.n >= c.f.dropAfter {
			drop = true
			break
		}
	}
	if len(c.in) == 0 {
		c.in = c.in[:0:0]
	}
	c.mu.Lock()
	if !c.closed {
		c.out = append(c.out, c.enc.Bytes()...)
	}
	if drop {
		c.closed = true
	}
	c.cond.Broadcast()
	c.mu.Unlock()
	if drop {
		return len(b), io.ErrClosedPipe
	}
	return len(b), nil
}

// answer appends the reply to one request frame to c.enc, without
// allocating (concrete Encode calls; the path looked up as bytes).
func (c *fakeConn) answer(frame []byte) {
	f, e := c.f, c.enc
	start := e.Len()
	e.Int(0)
	defer func() {
		b := e.Bytes()
		binary.BigEndian.PutUint32(b[start:], uint32(len(b)-start-4))
	}()
	if !c.handshook {
		c.handshook = true
		f.sessions.Add(1)
		resp := proto.ConnectResponse{TimeOut: f.timeoutMs, SessionID: 0x100 + f.sessions.Load(), Passwd: make([]byte, 16), HasReadOnly: true}
		resp.Encode(e)
		return
	}
	d := c.dec
	d.Reset(frame)
	var h proto.RequestHeader
	h.Decode(d)
	rh := proto.ReplyHeader{Xid: h.Xid, Zxid: 7}
	switch h.Type {
	case proto.OpPing:
		f.pings.Add(1)
		rh.Encode(e)
		return
	case proto.OpCloseSession:
		f.closes.Add(1)
		rh.Encode(e)
		return
	}
	c.n++
	f.requests.Add(1)
	path := d.Buffer() // every request body starts with its path
	if code, ok := f.errPaths[string(path)]; ok {
		rh.Err = code
		rh.Encode(e)
		return
	}
	size := f.dataSize
	if f.shortPaths[string(path)] {
		size--
	}
	switch h.Type {
	case proto.OpGetData:
		if cap(c.reply) < size {
			c.reply = make([]byte, size)
		}
		resp := proto.GetDataResponse{Data: c.reply[:size], Stat: c.stat}
		resp.Stat.DataLength = int32(size)
		rh.Encode(e)
		resp.Encode(e)
	case proto.OpExists, proto.OpSetData:
		st := c.stat
		st.DataLength = int32(size)
		rh.Encode(e)
		st.Encode(e)
	default:
		rh.Err = proto.ErrUnimplemented
		rh.Encode(e)
	}
}

func (c *fakeConn) closeReplies() {
	c.mu.Lock()
	c.closed = true
	c.cond.Broadcast()
	c.mu.Unlock()
}

// readReplies blocks until replies are queued or the connection closes.
func (c *fakeConn) readReplies(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.out) == 0 && !c.closed {
		c.cond.Wait()
	}
	if len(c.out) == 0 {
		return 0, io.EOF
	}
	n := copy(b, c.out)
	c.out = c.out[:copy(c.out, c.out[n:])]
	return n, nil
}

// client returns the client's end as a net.Conn.
func (c *fakeConn) client() net.Conn { return fakeClient{c} }

type fakeClient struct{ c *fakeConn }

func (f fakeClient) Read(b []byte) (int, error)  { return f.c.readReplies(b) }
func (f fakeClient) Write(b []byte) (int, error) { return f.c.serverSide(b) }
func (f fakeClient) Close() error                { f.c.closeReplies(); return nil }
func (fakeClient) LocalAddr() net.Addr           { return &net.TCPAddr{} }
func (fakeClient) RemoteAddr() net.Addr          { return &net.TCPAddr{} }
func (fakeClient) SetDeadline(time.Time) error   { return nil }
func (fakeClient) SetReadDeadline(time.Time) error {
	return nil
}
func (fakeClient) SetWriteDeadline(time.Time) error { return nil }
