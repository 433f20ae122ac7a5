package clienttest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkobserver/zkobserver/core/jute"
	"github.com/zkobserver/zkobserver/core/proto"
	"github.com/zkobserver/zkobserver/internal/ensemble"
	"github.com/zkobserver/zkobserver/internal/runproc"
)

// Idle connection mix of TestIdleConnections (5,000 in all).
const (
	// idleBare connections send nothing: what a connection flood or a
	// port scanner leaves behind; the server must close them after the
	// sessionless timeout (10 s, Java's zookeeper.nio.sessionlessCnxnTimeout).
	idleBare = 2_950
	// idleLocal connections completed a read-only handshake (a local
	// session, no leader round trip): idle real clients, the common case.
	idleLocal = 2_000
	// idleGlobal connections hold global sessions created through the
	// leader (fewer: each is a txn on the ensemble).
	idleGlobal = 50

	// idleBytesPerConn bounds the growth of the observer's resident memory
	// per idle connection (measured 13-14 KiB with this mix, garbage not
	// yet collected included: a reader goroutine's stack, the connection's
	// buffers, session state).
	idleBytesPerConn = 32 << 10
)

// TestIdleConnections is issue 6's acceptance item 4 for idle connections:
// 5,000 connections to the zkobserver binary (bare, with local sessions and
// with global sessions) while a go-zookeeper client keeps writing and
// reading. The observer stays up, its RSS grows by less than
// idleBytesPerConn per connection, the bare connections are closed after
// the sessionless timeout while the sessions stay served, and once the
// clients go away the observer's file descriptors return to where they
// were.
func TestIdleConnections(t *testing.T) {
	const total = idleBare + idleLocal + idleGlobal
	raiseNoFile(t, 2*total+1000) // both ends of every connection are ours, plus the child's
	e := ensemble.Start(t, ensemble.Options{})
	bin, err := runproc.Build(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	x := &ensemble.Node{ID: 10, ClientAddr: freeAddr(t)}
	args := zkobserverArgs(e, x, "memory", "", "--max-client-cnxns", "0", "--max-session-timeout", "60000")
	child := runproc.Start(t, bin, args...)
	child.Next(60*time.Second, runproc.Synced)
	pid := child.PID()

	// The working client.
	good := dial(t, x.ClientAddr, 10*time.Second)
	if _, err := good.c.Create("/idle", []byte("v"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatalf("create: %v", err)
	}
	var goodOps atomic.Int64
	var goodErr atomic.Value // error
	fail := func(err error) { goodErr.Store(err) }
	failed := func() error { err, _ := goodErr.Load().(error); return err }
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := good.c.Set("/idle", []byte(strconv.Itoa(i)), -1); err != nil {
				fail(fmt.Errorf("set %d: %w", i, err))
				return
			}
			if d, _, err := good.c.Get("/idle"); err != nil || string(d) != strconv.Itoa(i) {
				fail(fmt.Errorf("get %d: %q, %v", i, d, err))
				return
			}
			goodOps.Add(1)
		}
	}()
	defer func() { // before the t.Cleanups that stop the servers
		close(stop)
		wg.Wait()
	}()

	waitOps := func(what string) {
		t.Helper()
		n := goodOps.Load()
		deadline := time.Now().Add(20 * time.Second)
		for goodOps.Load() < n+20 {
			if failed() != nil || time.Now().After(deadline) {
				t.Fatalf("working client stalled %s: %d ops, %v", what, goodOps.Load()-n, failed())
			}
			time.Sleep(10 * time.Millisecond) // polling real state under a deadline
		}
	}
	waitOps("before the idle connections")
	fds0, rss0 := procFDs(t, pid), procRSS(t, pid)

	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	dialN := func(n int) []net.Conn {
		t.Helper()
		out := make([]net.Conn, 0, n)
		for range n {
			c, err := net.Dial("tcp", x.ClientAddr)
			if err != nil {
				t.Fatalf("dial after %d connections: %v", len(conns)+len(out), err)
			}
			out = append(out, c)
		}
		conns = append(conns, out...)
		return out
	}
	// Sessions: all handshakes written, then all answers read.
	handshake := func(cs []net.Conn, readOnly bool) {
		t.Helper()
		req := proto.AppendFrame(nil, &proto.ConnectRequest{TimeOut: 60000, Passwd: make([]byte, 16), ReadOnly: readOnly, HasReadOnly: true})
		for _, c := range cs {
			c.SetWriteDeadline(time.Now().Add(30 * time.Second))
			if _, err := c.Write(req); err != nil {
				t.Fatalf("handshake write: %v", err)
			}
		}
		for i, c := range cs {
			c.SetReadDeadline(time.Now().Add(60 * time.Second))
			p, err := proto.ReadFrame(c, nil, 1<<10)
			if err != nil {
				t.Fatalf("handshake %d of %d: %v", i, len(cs), err)
			}
			var resp proto.ConnectResponse
			if err := resp.Decode(jute.NewDecoder(p, 0)); err != nil || resp.SessionID == 0 || resp.TimeOut != 60000 {
				t.Fatalf("handshake %d: %+v, %v", i, resp, err)
			}
		}
	}
	started := time.Now()
	sessioned := dialN(idleLocal)
	handshake(sessioned, true)
	globals := dialN(idleGlobal)
	handshake(globals, false)
	sessioned = append(sessioned, globals...)
	bare := dialN(idleBare)
	// Every connection is accepted when the observer holds a socket for it.
	waitFor(t, 20*time.Second, "the observer to accept every connection", func() (bool, string) {
		n := procFDs(t, pid)
		return n >= fds0+total, fmt.Sprintf("%d fds, want %d", n, fds0+total)
	})
	opened := time.Since(started)
	waitOps("with 5,000 idle connections")
	rss := procRSS(t, pid)
	per := (rss - rss0) / total
	t.Logf("%d idle connections (%d bare, %d local sessions, %d global sessions) opened in %v; observer RSS %d -> %d KiB: %.1f KiB per connection (bound %d KiB)",
		total, idleBare, idleLocal, idleGlobal, opened.Round(time.Millisecond), rss0>>10, rss>>10, float64(rss-rss0)/total/1024, idleBytesPerConn>>10)
	if per > idleBytesPerConn {
		t.Errorf("observer RSS grew by %d bytes per idle connection, bound %d", per, idleBytesPerConn)
	}

	// The bare connections are closed after the sessionless timeout; the
	// sessions are not (their timeout is 60 s).
	waitFor(t, 30*time.Second, "the bare connections to be closed", func() (bool, string) {
		n := procFDs(t, pid)
		return n <= fds0+len(sessioned), fmt.Sprintf("%d fds, want <= %d", n, fds0+len(sessioned))
	})
	for i, c := range bare {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if n, err := c.Read(make([]byte, 1)); n != 0 || !errors.Is(err, io.EOF) && !isReset(err) {
			t.Fatalf("bare connection %d: read %d bytes, %v; want the server's close", i, n, err)
		}
	}
	t.Logf("bare connections closed %v after they were opened", time.Since(started).Round(time.Millisecond))
	waitOps("after the bare connections were closed")
	// Every session is still served: one ping each, pipelined.
	ping := proto.AppendFrame(nil, &proto.RequestHeader{Xid: proto.XidPing, Type: proto.OpPing})
	for _, c := range sessioned {
		c.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Write(ping); err != nil {
			t.Fatalf("ping write: %v", err)
		}
	}
	for i, c := range sessioned {
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		p, err := proto.ReadFrame(c, nil, 1<<10)
		var h proto.ReplyHeader
		if err == nil {
			err = h.Decode(jute.NewDecoder(p, 0))
		}
		if err != nil || h.Xid != proto.XidPing || h.Err != 0 {
			t.Fatalf("session %d: ping reply %+v, %v", i, h, err)
		}
	}

	// The clients go away: the observer lets go of every socket.
	for _, c := range conns {
		c.Close()
	}
	conns = nil
	waitFor(t, 30*time.Second, "the observer to close every idle connection", func() (bool, string) {
		n := procFDs(t, pid)
		return n <= fds0, fmt.Sprintf("%d fds, want <= %d", n, fds0)
	})
	waitOps("after the idle clients left")
	end := procRSS(t, pid)
	t.Logf("working client: %d set+get pairs without an error; observer RSS at the end %d KiB", goodOps.Load(), end>>10)
	if end > rss+total*idleBytesPerConn/4 {
		t.Errorf("observer RSS kept growing after the peak: %d KiB at 5,000 connections, %d KiB at the end", rss>>10, end>>10)
	}
	if err := failed(); err != nil {
		t.Fatalf("working client: %v", err)
	}
	if err := child.Stop(10 * time.Second); err != nil {
		t.Errorf("stop: %v", err)
	}
}

// raiseNoFile raises this process's RLIMIT_NOFILE soft limit to at least
// want (up to the hard limit), failing the test if the hard limit is lower.
func raiseNoFile(t *testing.T, want uint64) {
	t.Helper()
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		t.Fatal(err)
	}
	if l.Cur >= want {
		return
	}
	if l.Max < want {
		t.Fatalf("RLIMIT_NOFILE hard limit %d < %d: raise it (ulimit -Hn) to run this test", l.Max, want)
	}
	old := l.Cur
	l.Cur = want
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		l.Cur = old
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
	})
}

// freeAddr returns a loopback address with a port free right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// procFDs counts the open file descriptors of process pid.
func procFDs(t *testing.T, pid int) int {
	t.Helper()
	es, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	return len(es)
}

// procRSS returns process pid's resident set size in bytes.
func procRSS(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range bytes.Split(b, []byte("\n")) {
		if v, ok := bytes.CutPrefix(l, []byte("VmRSS:")); ok {
			kb, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(string(v)), " kB"))
			if err != nil {
				t.Fatalf("VmRSS %q: %v", v, err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no VmRSS in /proc/%d/status", pid)
	return 0
}

// waitFor polls cond until it holds, failing after timeout with its last
// explanation.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, why := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: %s after %v", what, why, timeout)
		}
		time.Sleep(20 * time.Millisecond) // polling real state under a deadline
	}
}

func isReset(err error) bool { return errors.Is(err, syscall.ECONNRESET) }
