package interop

import (
	"bufio"
	"net"
	"testing"
	"time"

	"github.com/zkobserver/zkobserver/core/jute"
	"github.com/zkobserver/zkobserver/core/proto"
)

// rawClient speaks the client protocol with our own codec (core/proto), so
// the records are proven against a real server, and so that requests no
// mainstream Go client sends (create2, a container create inside a multi)
// reach the ensemble.
type rawClient struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
	xid  int32
	buf  []byte
	resp proto.ConnectResponse
}

func dialRaw(t *testing.T, addr string) *rawClient {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	c := &rawClient{t: t, conn: conn, r: bufio.NewReader(conn)}
	c.send(&proto.ConnectRequest{TimeOut: 4000, Passwd: make([]byte, 16), HasReadOnly: true})
	if err := jute.Unmarshal(c.read(), &c.resp); err != nil {
		t.Fatalf("ConnectResponse: %v", err)
	}
	if c.resp.SessionID == 0 || c.resp.TimeOut != 4000 || len(c.resp.Passwd) != 16 || !c.resp.HasReadOnly || c.resp.ReadOnly {
		t.Fatalf("ConnectResponse %+v", c.resp)
	}
	return c
}

func (c *rawClient) send(records ...jute.Record) {
	c.t.Helper()
	c.conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.conn.Write(proto.AppendFrame(nil, records...)); err != nil {
		c.t.Fatal(err)
	}
}

func (c *rawClient) read() []byte {
	c.t.Helper()
	b, err := proto.ReadFrame(c.r, c.buf, 0)
	if err != nil {
		c.t.Fatal(err)
	}
	return append([]byte(nil), b...)
}

// call sends one request and decodes the reply header and, when err is 0,
// the body into resp (which may be nil).
func (c *rawClient) call(op proto.OpCode, req, resp jute.Record) proto.ReplyHeader {
	c.t.Helper()
	c.xid++
	c.send(&proto.RequestHeader{Xid: c.xid, Type: op}, req)
	for {
		d := jute.NewDecoder(c.read(), 0)
		var h proto.ReplyHeader
		h.Decode(d)
		if h.Xid == -1 { // a watch event
			continue
		}
		if h.Xid != c.xid {
			c.t.Fatalf("reply xid %d for request %d", h.Xid, c.xid)
		}
		if h.Err == 0 && resp != nil {
			resp.Decode(d)
		}
		if err := d.Finish(); err != nil {
			c.t.Fatalf("%v reply: %v", op, err)
		}
		return h
	}
}

// rawWrites issues create2, a multi with a container create and
// createContainer, and checks the replies byte-decoded by our records.
func rawWrites(t *testing.T, addr string) {
	c := dialRaw(t, addr)
	var cr proto.Create2Response
	h := c.call(proto.OpCreate2, &proto.CreateRequest{Path: "/raw2", Data: []byte("r"), ACL: proto.OpenACLUnsafe}, &cr)
	if h.Err != 0 || cr.Path != "/raw2" || cr.Stat.Czxid != h.Zxid || cr.Stat.DataLength != 1 {
		t.Fatalf("create2: %+v %+v", h, cr)
	}
	var mr proto.MultiResponse
	h = c.call(proto.OpMulti, &proto.MultiRequest{Ops: []proto.MultiOp{
		{Type: proto.OpCreate, Op: &proto.CreateRequest{Path: "/rawbox", ACL: proto.OpenACLUnsafe, Flags: 4}},
		{Type: proto.OpCreate, Op: &proto.CreateRequest{Path: "/rawbox/a", Data: []byte{}, ACL: proto.OpenACLUnsafe}},
	}}, &mr)
	if h.Err != 0 || len(mr.Results) != 2 || mr.Results[0].Type != proto.OpCreate2 || mr.Results[1].Err != 0 {
		t.Fatalf("multi with a container: %+v %+v", h, mr)
	}
	var ok proto.Create2Response
	h = c.call(proto.OpCreateContainer, &proto.CreateRequest{Path: "/rawbox2", ACL: proto.OpenACLUnsafe, Flags: 4}, &ok)
	if h.Err != 0 || ok.Path != "/rawbox2" {
		t.Fatalf("createContainer: %+v", h)
	}
	h = c.call(proto.OpCloseSession, nil, nil)
	if h.Err != 0 {
		t.Fatalf("closeSession: %+v", h)
	}
}
