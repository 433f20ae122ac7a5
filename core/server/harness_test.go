package server_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/rs/zerolog"

	"github.com/zkobserver/zkobserver/core/jute"
	"github.com/zkobserver/zkobserver/core/learner"
	"github.com/zkobserver/zkobserver/core/observer"
	"github.com/zkobserver/zkobserver/core/proto"
	"github.com/zkobserver/zkobserver/core/server"
	"github.com/zkobserver/zkobserver/core/session"
	"github.com/zkobserver/zkobserver/core/tree"
	"github.com/zkobserver/zkobserver/internal/ensemble"
	"github.com/zkobserver/zkobserver/storage/memory"
)

// startEnsemble starts 3 Java voters with TTL nodes enabled.
func startEnsemble(t *testing.T) *ensemble.Ensemble {
	t.Helper()
	return ensemble.Start(t, ensemble.Options{JVMFlags: []string{"-Dzookeeper.extendedTypesEnabled=true"}})
}

func ensembleOf(e *ensemble.Ensemble) learner.Ensemble {
	o := e.Options()
	le := learner.Ensemble{TickTime: time.Duration(o.TickTime) * time.Millisecond, InitLimit: o.InitLimit, SyncLimit: o.SyncLimit}
	for _, n := range e.Nodes() {
		if n.Role == ensemble.RoleParticipant {
			le.Voters = append(le.Voters, learner.Peer{SID: int64(n.ID), QuorumAddr: n.QuorumAddr, ElectionAddr: n.ElectionAddr})
		}
	}
	return le
}

// zkobs is an in-process zkobserver (observer + client server) on a
// loopback port.
type zkobs struct {
	o      *observer.Observer
	srv    *server.Server
	addr   string
	cancel context.CancelFunc
	done   chan error
}

type obsOpts struct {
	sid         int
	local       server.LocalSessions
	maxCnxns    int
	maxOutgoing int
	sessionless time.Duration
	acl         server.ACL          // nil: the server's default
	words       *server.WordsConfig // four-letter words (Status set to the observer)
}

func startObs(t *testing.T, e *ensemble.Ensemble, opts obsOpts) *zkobs {
	t.Helper()
	if opts.sid == 0 {
		opts.sid = 10
	}
	le := ensembleOf(e)
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel).With().Int("observer", opts.sid).Logger()
	tick := int32(le.TickTime / time.Millisecond)
	to, err := session.NewTimeouts(tick, -1, -1)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Config{ServerID: int64(opts.sid), TickTime: le.TickTime, Timeouts: to,
		MaxClientCnxns: opts.maxCnxns, LocalSessions: opts.local, MaxOutgoing: opts.maxOutgoing, SessionlessTimeout: opts.sessionless, ACL: opts.acl, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	o, err := observer.New(observer.Config{
		Learner: learner.Config{Ensemble: le, SID: int64(opts.sid), Tree: tree.Options{ExtendedTypes: true}},
		Engine:  memory.New(), Logger: log, Clients: srv,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.Bind(o.Tree(), o)
	if opts.words != nil {
		w := *opts.words
		w.Status = o
		srv.EnableFourLetter(w)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	synced := o.NextSync()
	ctx, cancel := context.WithCancel(context.Background())
	z := &zkobs{o: o, srv: srv, addr: ln.Addr().String(), cancel: cancel, done: make(chan error, 1)}
	go func() { z.done <- o.Run(ctx) }()
	t.Cleanup(z.stop)
	select {
	case <-synced:
	case <-time.After(60 * time.Second):
		t.Fatalf("observer not synced after 60s")
	}
	// Forwarder is attached right after UPTODATE; wait for it.
	deadline := time.Now().Add(10 * time.Second)
	for o.Forwarder() == nil {
		if time.Now().After(deadline) {
			t.Fatal("no forwarder after UPTODATE")
		}
		time.Sleep(5 * time.Millisecond) // polling real state under a deadline
	}
	return z
}

// stop kills the observer: the client server and the leader session end.
func (z *zkobs) stop() {
	if z.cancel == nil {
		return
	}
	z.srv.Close()
	z.cancel()
	z.cancel = nil
	<-z.done
}

type quietLogger struct{}

func (quietLogger) Printf(string, ...any) {}

// connect opens a go-zookeeper session to addrs and waits for it.
func connect(t *testing.T, addrs []string, timeout time.Duration) (*zk.Conn, <-chan zk.Event) {
	t.Helper()
	c, events, err := zk.Connect(addrs, timeout, zk.WithLogger(quietLogger{}), zk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	waitState(t, events, zk.StateHasSession)
	return c, events
}

// waitState waits for a session state event.
func waitState(t *testing.T, events <-chan zk.Event, want zk.State) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case ev := <-events:
			if ev.Type == zk.EventSession && ev.State == want {
				return
			}
		case <-deadline:
			t.Fatalf("no %v within 30s", want)
		}
	}
}

// waitEvent waits for one watch event.
func waitEvent(t *testing.T, ch <-chan zk.Event) zk.Event {
	t.Helper()
	select {
	case ev := <-ch:
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no watch event within 10s")
	}
	return zk.Event{}
}

// rawClient speaks the client protocol byte by byte.
type rawClient struct {
	t   *testing.T
	nc  net.Conn
	sid int64
	xid int32
}

func dialRaw(t *testing.T, addr string) *rawClient {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return &rawClient{t: t, nc: nc}
}

// handshake sends a ConnectRequest and reads the response.
func (r *rawClient) handshake(req *proto.ConnectRequest) *proto.ConnectResponse {
	r.t.Helper()
	if req.Passwd == nil {
		req.Passwd = make([]byte, 16)
	}
	r.write(proto.AppendFrame(nil, req))
	payload := r.readFrame()
	var resp proto.ConnectResponse
	if err := resp.Decode(newDecoder(payload)); err != nil {
		r.t.Fatalf("ConnectResponse: %v", err)
	}
	r.sid = resp.SessionID
	return &resp
}

func (r *rawClient) write(b []byte) {
	r.t.Helper()
	r.nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := r.nc.Write(b); err != nil {
		r.t.Fatalf("write: %v", err)
	}
}

func (r *rawClient) readFrame() []byte {
	r.t.Helper()
	r.nc.SetReadDeadline(time.Now().Add(15 * time.Second))
	p, err := proto.ReadFrame(r.nc, nil, 64<<20)
	if err != nil {
		r.t.Fatalf("read frame: %v", err)
	}
	return p
}

// request sends one request frame and returns its xid.
func (r *rawClient) request(op proto.OpCode, recs ...jute.Record) int32 {
	r.xid++
	all := append([]jute.Record{&proto.RequestHeader{Xid: r.xid, Type: op}}, recs...)
	r.write(proto.AppendFrame(nil, all...))
	return r.xid
}

// reply reads frames until the reply to xid, returning the events before it.
func (r *rawClient) reply(xid int32) (proto.ReplyHeader, []byte, []proto.WatcherEvent) {
	r.t.Helper()
	var evs []proto.WatcherEvent
	for {
		p := r.readFrame()
		d := newDecoder(p)
		var h proto.ReplyHeader
		if err := h.Decode(d); err != nil {
			r.t.Fatal(err)
		}
		if h.Xid == proto.XidNotification {
			var ev proto.WatcherEvent
			if err := ev.Decode(d); err != nil {
				r.t.Fatal(err)
			}
			evs = append(evs, ev)
			continue
		}
		if h.Xid != xid {
			r.t.Fatalf("reply xid %d, want %d", h.Xid, xid)
		}
		return h, p[proto.ReplyHeaderSize:], evs
	}
}

// expectClosed checks that the server closes the connection without
// sending anything more.
func (r *rawClient) expectClosed() {
	r.t.Helper()
	r.nc.SetReadDeadline(time.Now().Add(15 * time.Second))
	b, err := io.ReadAll(r.nc)
	if err != nil && !strings.Contains(err.Error(), "reset") {
		r.t.Fatalf("expected the server to close: %v", err)
	}
	if len(b) != 0 {
		r.t.Fatalf("expected nothing before the close, got %d bytes", len(b))
	}
}

func be32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

func must(t *testing.T, err error, what string, args ...any) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", fmt.Sprintf(what, args...), err)
	}
}

func newDecoder(b []byte) *jute.Decoder { return jute.NewDecoder(b, 0) }
