package server_test

import (
	"bytes"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkobserver/zkobserver/core/proto"
)

// TestAbuse: garbage, oversize and truncated frames, a client that never
// reads, too many connections from one address and idle connections without
// a session: each bad connection is closed, the observer stays up, and a
// well-behaved client working meanwhile sees no error.
func TestAbuse(t *testing.T) {
	e := startEnsemble(t)
	z := startObs(t, e, obsOpts{sid: 10, maxOutgoing: 2 << 20})
	good, _ := connect(t, []string{z.addr}, 10*time.Second)
	acl := zk.WorldACL(zk.PermAll)
	big := bytes.Repeat([]byte("x"), 512<<10)
	_, err := good.Create("/big", big, 0, acl)
	must(t, err, "create /big")

	// The well-behaved client works throughout.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var goodOps atomic.Int64
	var goodErr atomic.Value
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := good.Set("/big", big[:i%1000], -1); err != nil {
				goodErr.Store(err)
				return
			}
			if _, _, err := good.Get("/big"); err != nil {
				goodErr.Store(err)
				return
			}
			goodOps.Add(1)
		}
	}()

	t.Run("garbage instead of a ConnectRequest", func(t *testing.T) {
		r := dialRaw(t, z.addr)
		r.write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
		r.expectClosed()
	})
	t.Run("negative length", func(t *testing.T) {
		r := dialRaw(t, z.addr)
		r.write(be32(0xffffffff))
		r.expectClosed()
	})
	t.Run("malformed ConnectRequest", func(t *testing.T) {
		r := dialRaw(t, z.addr)
		r.write(append(be32(5), 1, 2, 3, 4, 5))
		r.expectClosed()
	})
	t.Run("100 MB length prefix after the handshake", func(t *testing.T) {
		r := dialRaw(t, z.addr)
		r.handshake(&proto.ConnectRequest{TimeOut: 4000, ReadOnly: true, HasReadOnly: true})
		r.write(be32(100 << 20))
		r.expectClosed()
	})
	t.Run("truncated frame", func(t *testing.T) {
		r := dialRaw(t, z.addr)
		r.handshake(&proto.ConnectRequest{TimeOut: 4000, ReadOnly: true, HasReadOnly: true})
		r.write(append(be32(100), 0, 0, 0, 1, 0, 0, 0))
		r.nc.(interface{ CloseWrite() error }).CloseWrite()
		r.expectClosed()
	})
	t.Run("short request header", func(t *testing.T) {
		r := dialRaw(t, z.addr)
		r.handshake(&proto.ConnectRequest{TimeOut: 4000, ReadOnly: true, HasReadOnly: true})
		r.write(append(be32(3), 1, 2, 3))
		r.expectClosed()
	})
	t.Run("slow reader", func(t *testing.T) {
		r := dialRaw(t, z.addr)
		r.handshake(&proto.ConnectRequest{TimeOut: 4000, ReadOnly: true, HasReadOnly: true})
		// 200 replies of 512 KiB that the client never reads: the
		// observer closes it once its queue passes 2 MiB.
		var reqs []byte
		for i := int32(1); i <= 200; i++ {
			reqs = proto.AppendFrame(reqs, &proto.RequestHeader{Xid: i, Type: proto.OpGetData}, &proto.GetDataRequest{Path: "/big"})
		}
		r.write(reqs)
		deadline := time.Now().Add(20 * time.Second)
		for z.srv.ConnCount() > 1 {
			if time.Now().After(deadline) {
				t.Fatalf("slow reader not disconnected (%d connections)", z.srv.ConnCount())
			}
			time.Sleep(10 * time.Millisecond) // polling real state under a deadline
		}
		r.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, err := io.Copy(io.Discard, r.nc)
		if err != nil && n == 0 {
			t.Fatalf("reading what was sent before the close: %v", err)
		}
		if n >= 200*(512<<10) {
			t.Fatalf("all %d bytes were delivered; the queue bound did not apply", n)
		}
	})

	close(stop)
	wg.Wait()
	if err, _ := goodErr.Load().(error); err != nil {
		t.Fatalf("the well-behaved client saw an error: %v", err)
	}
	if goodOps.Load() == 0 {
		t.Fatal("the well-behaved client did nothing")
	}
	if _, _, err := good.Get("/big"); err != nil {
		t.Fatalf("observer not serving after the abuse: %v", err)
	}
}

// TestConnectionLimits: maxClientCnxns per address, and connections that send
// no ConnectRequest are closed after the sessionless timeout.
func TestConnectionLimits(t *testing.T) {
	e := startEnsemble(t)
	z := startObs(t, e, obsOpts{sid: 11, maxCnxns: 3, sessionless: 300 * time.Millisecond})
	var rs []*rawClient
	for i := 0; i < 3; i++ {
		r := dialRaw(t, z.addr)
		r.handshake(&proto.ConnectRequest{TimeOut: 4000, ReadOnly: true, HasReadOnly: true})
		rs = append(rs, r)
	}
	extra := dialRaw(t, z.addr)
	extra.expectClosed()
	// A slot frees when one closes.
	rs[0].nc.Close()
	deadline := time.Now().Add(10 * time.Second)
	for z.srv.ConnCount() > 2 {
		if time.Now().After(deadline) {
			t.Fatal("closed connection still counted")
		}
		time.Sleep(5 * time.Millisecond) // polling real state under a deadline
	}
	idle := dialRaw(t, z.addr)
	start := time.Now()
	idle.expectClosed()
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Fatalf("idle connection closed after %v, before the sessionless timeout", d)
	}
	for _, r := range rs[1:] {
		xid := r.request(proto.OpPing)
		if h, _, _ := r.reply(xid); h.Err != 0 {
			t.Fatalf("ping: %v", h.Err)
		}
	}
}
