package rotest

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/rs/zerolog"

	"github.com/zkobserver/zkobserver/core/fourletter"
	"github.com/zkobserver/zkobserver/core/learner"
	"github.com/zkobserver/zkobserver/core/observer"
	"github.com/zkobserver/zkobserver/core/server"
	"github.com/zkobserver/zkobserver/core/session"
	"github.com/zkobserver/zkobserver/core/tree"
	"github.com/zkobserver/zkobserver/internal/ensemble"
	"github.com/zkobserver/zkobserver/internal/zktest"
	"github.com/zkobserver/zkobserver/storage/memory"
)

// startEnsemble starts 3 Java voters; extra JVM flags go to all of them.
func startEnsemble(t *testing.T) *ensemble.Ensemble {
	t.Helper()
	return ensemble.Start(t, ensemble.Options{Voters: 3})
}

// voters is the ensemble as the observer is told it; quorum addresses can
// be replaced (by a proxy's).
func voters(e *ensemble.Ensemble, quorumAddr map[int]string) learner.Ensemble {
	o := e.Options()
	le := learner.Ensemble{TickTime: time.Duration(o.TickTime) * time.Millisecond, InitLimit: o.InitLimit, SyncLimit: o.SyncLimit}
	for _, n := range e.Nodes() {
		if n.Role != ensemble.RoleParticipant {
			continue
		}
		p := learner.Peer{SID: int64(n.ID), QuorumAddr: n.QuorumAddr, ElectionAddr: n.ElectionAddr}
		if a, ok := quorumAddr[n.ID]; ok {
			p.QuorumAddr, p.ElectionAddr = a, ""
		}
		le.Voters = append(le.Voters, p)
	}
	return le
}

// obs is an in-process zkobserver with read-only mode on, its client port
// on loopback and every four-letter word allowed.
type obs struct {
	o    *observer.Observer
	srv  *server.Server
	addr string
	stop func()
}

func startObserver(t *testing.T, le learner.Ensemble, sid int64) *obs {
	t.Helper()
	return startObserverRO(t, le, sid, true)
}

// startObserverRO is startObserver with read-only mode on or off.
func startObserverRO(t *testing.T, le learner.Ensemble, sid int64, readOnly bool) *obs {
	t.Helper()
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel).With().Int64("observer", sid).Logger()
	to, err := session.NewTimeouts(int32(le.TickTime/time.Millisecond), -1, 60000)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Config{ServerID: sid, TickTime: le.TickTime, Timeouts: to, ReadOnly: readOnly, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	o, err := observer.New(observer.Config{Learner: learner.Config{Ensemble: le, SID: sid, Tree: tree.Options{}},
		Engine: memory.New(), Logger: log, Clients: srv, Backoff: learner.Backoff{Min: 50 * time.Millisecond, Max: 500 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	srv.Bind(o.Tree(), o)
	srv.EnableFourLetter(server.WordsConfig{Whitelist: fourletter.ParseWhitelist("*", readOnly), Status: o, Version: "3.8.0-zkobserver-test",
		QuorumSize: len(le.Voters), Config: func() fourletter.Config { return fourletter.Config{} }})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	synced := o.NextSync()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- o.Run(ctx) }()
	z := &obs{o: o, srv: srv, addr: ln.Addr().String()}
	stopped := false
	z.stop = func() {
		if stopped {
			return
		}
		stopped = true
		srv.Close()
		cancel()
		<-done
	}
	t.Cleanup(z.stop)
	select {
	case <-synced:
	case <-time.After(60 * time.Second):
		t.Fatal("observer not synced after 60s")
	}
	z.waitMode(t, server.ModeServing, 10*time.Second)
	return z
}

// waitMode waits until the server's mode is m (polling real state under a
// deadline: the mode follows the learner's goroutine).
func (z *obs) waitMode(t *testing.T, m server.Mode, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for z.srv.Mode() != m {
		if time.Now().After(deadline) {
			t.Fatalf("mode %v after %v, want %v", z.srv.Mode(), timeout, m)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// word asks a four-letter word.
func word(t *testing.T, addr, w string) string {
	t.Helper()
	out, err := ensemble.FourLetterAt(context.Background(), addr, w)
	if err != nil {
		t.Fatalf("%s: %v", w, err)
	}
	return out
}

// mntrValue returns one mntr line's value.
func mntrValue(t *testing.T, addr, key string) string {
	t.Helper()
	for _, l := range strings.Split(word(t, addr, "mntr"), "\n") {
		if k, v, ok := strings.Cut(l, "\t"); ok && k == key {
			return v
		}
	}
	t.Fatalf("mntr has no %s", key)
	return ""
}

// writer is a go-zookeeper session on a Java voter, for the ensemble's side
// of the story.
func writer(t *testing.T, addr string) *zk.Conn {
	t.Helper()
	return zktest.Connect(t, addr, 10*time.Second, nil)
}

func nilCtx() context.Context { return context.Background() }
