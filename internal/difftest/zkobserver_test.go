package difftest

import (
	"context"
	"net"
	"os"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/zkobserver/zkobserver/core/learner"
	"github.com/zkobserver/zkobserver/core/observer"
	"github.com/zkobserver/zkobserver/core/server"
	"github.com/zkobserver/zkobserver/core/session"
	"github.com/zkobserver/zkobserver/core/tree"
	"github.com/zkobserver/zkobserver/internal/ensemble"
	"github.com/zkobserver/zkobserver/storage/memory"
)

// TestZkobserverVsJava runs the stream with zkobserver (in-process, its
// client server on a loopback port) as A and a Java follower of the same
// ensemble as B.
func TestZkobserverVsJava(t *testing.T) {
	e := ensemble.Start(t, ensemble.Options{Voters: 3, ExtraServers: []ensemble.ServerSpec{{}}, JVMFlags: JVMFlags, Properties: Properties,
		LogDir: os.Getenv("DIFFTEST_LOGDIR")})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	l, err := e.WaitForLeader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var follower string
	le := learner.Ensemble{TickTime: time.Duration(e.Options().TickTime) * time.Millisecond, InitLimit: 10, SyncLimit: 5}
	for _, n := range e.Nodes() {
		if n.Role == ensemble.RoleParticipant {
			le.Voters = append(le.Voters, learner.Peer{SID: int64(n.ID), QuorumAddr: n.QuorumAddr, ElectionAddr: n.ElectionAddr})
			if n.ID != l.ID && follower == "" {
				follower = n.ClientAddr
			}
		}
	}
	sid := int64(e.Extras()[0].ID)
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
	to, err := session.NewTimeouts(int32(le.TickTime/time.Millisecond), -1, 60000)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Config{ServerID: sid, TickTime: le.TickTime, Timeouts: to, LocalSessions: server.LocalNone, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	o, err := observer.New(observer.Config{Learner: learner.Config{Ensemble: le, SID: sid, Tree: tree.Options{ExtendedTypes: true}},
		Engine: memory.New(), Logger: log, Clients: srv})
	if err != nil {
		t.Fatal(err)
	}
	srv.Bind(o.Tree(), o)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	synced := o.NextSync()
	rctx, rcancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- o.Run(rctx) }()
	defer func() { rcancel(); <-done; srv.Close() }()
	select {
	case <-synced:
	case <-time.After(60 * time.Second):
		t.Fatal("observer not synced")
	}
	for deadline := time.Now().Add(10 * time.Second); o.Forwarder() == nil; {
		if time.Now().After(deadline) {
			t.Fatal("no forwarder")
		}
		time.Sleep(5 * time.Millisecond) // polling real state under a deadline
	}
	ops := envInt(t, "DIFFTEST_OPS", 10_000)
	// Only B, the Java follower, is woken (Options.Wake): a zkobserver stall
	// fails the run.
	res, err := Run(Options{AddrA: ln.Addr().String(), AddrB: follower, Seed: uint64(envInt(t, "DIFFTEST_SEED", 20240601)),
		Ops: ops, Root: "/difftest", Logf: t.Logf, Trace: os.Getenv("DIFFTEST_TRACE") != "",
		NoReconnect: os.Getenv("DIFFTEST_NORECONNECT") != "",
		Wake:        [2]bool{false, true}, OnSlow: slowHook(t, e, map[string]string{"zkobserver": ln.Addr().String()})})
	if err != nil {
		t.Fatal(err)
	}
	if res.Ops != ops || res.Perturbed != -1 || res.Wakes[0] != 0 {
		t.Fatalf("result %+v", res)
	}
	t.Logf("%d ops in %v, %d watch events per side, %v wakes of the Java follower (ZOOKEEPER-4537); kinds %v; codes %v",
		res.Ops, res.Elapsed.Round(time.Millisecond), res.Events, res.Wakes[1], res.Kinds, res.Codes)
}
