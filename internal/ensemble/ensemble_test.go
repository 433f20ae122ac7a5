package ensemble

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// readEventually polls "zkCli get path" through server until it prints want.
// A fresh client on another server may briefly lag behind a committed write.
func readEventually(ctx context.Context, t *testing.T, server, path, want string) {
	t.Helper()
	var last string
	var lastErr error
	for {
		out, err := ZkCli(ctx, server, "get", path)
		if err == nil && strings.TrimSpace(out) == want {
			return
		}
		last, lastErr = out, err
		if sleepCtx(ctx, 100*time.Millisecond) != nil {
			t.Fatalf("get %s via %s: want %q, last output %q, err %v", path, server, want, last, lastErr)
		}
	}
}

// gone reports whether pid no longer exists as a process of dir's ensemble.
func gone(pid int, dir string) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return true
	}
	// pid was reused by an unrelated process.
	return !strings.Contains(string(cmdline), dir)
}

func cmdline(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		t.Fatal(err)
	}
	return strings.ReplaceAll(string(b), "\x00", " ")
}

func TestFailoverAndRestart(t *testing.T) {
	t.Parallel()
	began := time.Now()
	e := Start(t, Options{Voters: 3})
	t.Logf("Start(3 voters) took %v", time.Since(began))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()

	leader, err := e.WaitForLeader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(e.ClientAddrs()); got != 3 {
		t.Fatalf("ClientAddrs: got %d addresses, want 3", got)
	}
	if want := strings.Join(e.ClientAddrs(), ","); e.ConnectString() != want {
		t.Fatalf("ConnectString %q, want %q", e.ConnectString(), want)
	}
	var followers []*Node
	for _, n := range e.Nodes() {
		if n.ID != leader.ID {
			followers = append(followers, n)
		}
	}

	// Write through one follower, read through the other.
	if _, err := ZkCli(ctx, followers[0].ClientAddr, "create", "/harness", "hello"); err != nil {
		t.Fatal(err)
	}
	readEventually(ctx, t, followers[1].ClientAddr, "/harness", "hello")
	if _, err := ZkCli(ctx, followers[1].ClientAddr, "get", "/does-not-exist"); err == nil {
		t.Fatal("get of a missing znode: want an error")
	}
	if fi, err := os.ReadDir(leader.VersionDir()); err != nil || len(fi) == 0 {
		t.Fatalf("leader version-2 dir: %v entries, err %v", len(fi), err)
	}

	// Kill the leader: a different leader must be elected, data survives.
	oldPID := leader.PID()
	if err := e.Kill(leader.ID); err != nil {
		t.Fatal(err)
	}
	if leader.Running() || !gone(oldPID, e.Dir()) {
		t.Fatalf("killed leader %d (pid %d) still running", leader.ID, oldPID)
	}
	if err := e.Kill(leader.ID); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("second Kill: got %v, want ErrNotRunning", err)
	}
	if got := len(e.ClientAddrs()); got != 2 {
		t.Fatalf("ClientAddrs after kill: got %d, want 2", got)
	}
	newLeader, err := e.WaitForLeader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if newLeader.ID == leader.ID {
		t.Fatalf("new leader is the killed server %d", leader.ID)
	}
	t.Logf("leader %d killed, new leader %d", leader.ID, newLeader.ID)
	for _, n := range followers {
		readEventually(ctx, t, n.ClientAddr, "/harness", "hello")
	}

	// Restart the old leader with an extra flag; it must rejoin as follower.
	const flag = "-Dzookeeper.forceSnapshotSync=true"
	if err := e.Restart(leader.ID, flag); err != nil {
		t.Fatal(err)
	}
	if leader.PID() == oldPID || !leader.Running() {
		t.Fatalf("restart did not start a new process (pid %d)", leader.PID())
	}
	if cl := cmdline(t, leader.PID()); !strings.Contains(cl, flag) {
		t.Fatalf("restarted JVM command line lacks %s: %s", flag, cl)
	}
	if m, err := e.WaitForMode(ctx, leader.ID, ModeFollower); err != nil {
		t.Fatal(err)
	} else if m != ModeFollower {
		t.Fatalf("restarted server mode %q", m)
	}
	readEventually(ctx, t, leader.ClientAddr, "/harness", "hello")
	if l, err := e.Leader(ctx); err != nil || l.ID != newLeader.ID {
		t.Fatalf("Leader after rejoin: %v, %v; want %d", l, err, newLeader.ID)
	}
	log, err := leader.ReadLog()
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(log, "=== ensemble: starting server"); n != 2 {
		t.Fatalf("log has %d start markers, want 2", n)
	}

	// Graceful stop of a follower.
	var f *Node
	for _, n := range e.Nodes() {
		if n.ID != newLeader.ID && n.ID != leader.ID {
			f = n
		}
	}
	if err := e.Stop(f.ID); err != nil {
		t.Fatal(err)
	}
	if f.Running() {
		t.Fatalf("server %d still running after Stop", f.ID)
	}
	if _, err := e.FourLetter(ctx, f.ID, "ruok"); err == nil {
		t.Fatalf("stopped server %d still answers ruok", f.ID)
	}
	if got := len(e.ClientAddrs()); got != 2 {
		t.Fatalf("ClientAddrs after stop: got %d, want 2", got)
	}
}

func TestCleanupReapsProcessesAndRemovesDir(t *testing.T) {
	t.Parallel()
	var (
		dir  string
		pids []int
	)
	t.Run("ensemble", func(t *testing.T) {
		e := Start(t, Options{Voters: 1, Observers: 1, ExtraServers: []ServerSpec{{}}})
		dir = e.Dir()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()

		if m, err := e.Mode(ctx, 1); err != nil || m != ModeLeader {
			t.Fatalf("server 1: mode %q, %v; want leader", m, err)
		}
		if m, err := e.Mode(ctx, 2); err != nil || m != ModeObserver {
			t.Fatalf("server 2: mode %q, %v; want observer", m, err)
		}
		ex := e.Extras()
		if len(ex) != 1 || ex[0].ID != 3 || ex[0].Role != RoleObserver || !ex[0].External || ex[0].QuorumPort == 0 {
			t.Fatalf("extras: %+v", ex)
		}
		if e.Node(3) != ex[0] || len(e.Nodes()) != 2 {
			t.Fatal("Node/Nodes do not match the members")
		}
		lines := e.ServerLines()
		want3 := fmt.Sprintf("server.3=127.0.0.1:%d:%d:observer", ex[0].QuorumPort, ex[0].ElectionPort)
		if len(lines) != 3 || lines[2] != want3 || !strings.HasSuffix(lines[1], ":observer") || strings.HasSuffix(lines[0], ":observer") {
			t.Fatalf("server lines %q", lines)
		}
		cfg, err := os.ReadFile(e.ZooCfg(2))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(cfg), "\npeerType=observer\n") || !strings.Contains(string(cfg), want3+"\n") {
			t.Fatalf("zoo.cfg of observer:\n%s", cfg)
		}
		myid, err := os.ReadFile(filepath.Join(e.Node(2).DataDir, "myid"))
		if err != nil || strings.TrimSpace(string(myid)) != "2" {
			t.Fatalf("myid %q, %v", myid, err)
		}
		if r, err := e.FourLetter(ctx, 1, "mntr"); err != nil || !strings.Contains(r, "zk_server_state\tleader") {
			t.Fatalf("mntr: %q, %v", r, err)
		}
		if err := e.Restart(2); err != nil {
			t.Fatal(err)
		}
		if _, err := e.WaitForMode(ctx, 2, ModeObserver); err != nil {
			t.Fatal(err)
		}
		for _, n := range e.Nodes() {
			pids = append(pids, n.PIDs()...)
		}
		if len(pids) != 3 {
			t.Fatalf("pids %v, want 3", pids)
		}
	})
	if dir == "" {
		t.Fatal("subtest did not start an ensemble")
	}
	for _, pid := range pids {
		if !gone(pid, dir) {
			t.Errorf("pid %d of the ensemble still running after cleanup", pid)
		}
	}
	// No process anywhere still refers to the ensemble's directory.
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err == nil && strings.Contains(string(b), dir) {
			t.Errorf("process %s still refers to %s: %q", p, dir, b)
		}
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temp dir %s not removed: %v", dir, err)
	}
}

func TestCloseIsIdempotent(t *testing.T) {
	t.Parallel()
	e := Start(t, Options{Voters: 1})
	pid := e.Node(1).PID()
	e.Close()
	e.Close()
	if !gone(pid, e.Dir()) || e.Node(1).Running() {
		t.Fatalf("pid %d still running after Close", pid)
	}
	if _, err := os.Stat(e.Dir()); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("dir not removed: %v", err)
	}
	if len(e.ClientAddrs()) != 0 {
		t.Fatalf("ClientAddrs after Close: %v", e.ClientAddrs())
	}
}

func TestNormalize(t *testing.T) {
	o, err := normalize(Options{ExtraServers: []ServerSpec{{}, {ID: 10, Role: RoleParticipant}, {}}})
	if err != nil {
		t.Fatal(err)
	}
	if o.Voters != 3 || o.TickTime != 200 || o.InitLimit != 10 || o.SyncLimit != 5 {
		t.Fatalf("defaults: %+v", o)
	}
	ids := []int{o.ExtraServers[0].ID, o.ExtraServers[1].ID, o.ExtraServers[2].ID}
	if !slices.Equal(ids, []int{4, 10, 5}) || o.ExtraServers[0].Role != RoleObserver {
		t.Fatalf("extra servers: %+v", o.ExtraServers)
	}
	if _, err := normalize(Options{ExtraServers: []ServerSpec{{ID: 2}}}); err == nil {
		t.Fatal("duplicate id accepted")
	}
	if _, err := normalize(Options{ExtraServers: []ServerSpec{{Role: "leader"}}}); err == nil {
		t.Fatal("bad role accepted")
	}
	if o, err := normalize(Options{Standalone: true}); err != nil || o.Voters != 1 {
		t.Fatalf("standalone: %+v %v", o, err)
	}
	for _, o := range []Options{{Standalone: true, Voters: 3}, {Standalone: true, Observers: 1}, {Standalone: true, ExtraServers: []ServerSpec{{}}}} {
		if _, err := normalize(o); err == nil {
			t.Fatalf("standalone with %+v accepted", o)
		}
	}
}

// TestStandaloneWithPrepare starts a standalone server on a dataDir that
// Prepare filled first: the server keeps what Prepare wrote and serves as
// "standalone".
func TestStandaloneWithPrepare(t *testing.T) {
	var prepared []int
	e := Start(t, Options{Standalone: true, Prepare: func(n *Node) error {
		prepared = append(prepared, n.ID)
		return os.WriteFile(filepath.Join(n.DataDir, "seed"), []byte("x"), 0o644)
	}})
	if len(prepared) == 0 || prepared[len(prepared)-1] != 1 {
		t.Fatalf("Prepare called for %v", prepared)
	}
	if m, err := e.Mode(context.Background(), 1); err != nil || m != ModeStandalone {
		t.Fatalf("mode %q %v", m, err)
	}
	if b, err := os.ReadFile(filepath.Join(e.Node(1).DataDir, "seed")); err != nil || string(b) != "x" {
		t.Fatalf("seed: %q %v", b, err)
	}
	cfg, _ := os.ReadFile(e.ZooCfg(1))
	if strings.Contains(string(cfg), "server.") || len(e.ServerLines()) != 0 {
		t.Fatalf("standalone zoo.cfg has server lines:\n%s", cfg)
	}
}

func TestZooCfgProperties(t *testing.T) {
	e := &Ensemble{opts: Options{TickTime: 200, InitLimit: 10, SyncLimit: 5,
		Properties: map[string]string{"tickTime": "100", "zz": "1", "aa": "2"}}}
	e.servers = []string{"server.1=127.0.0.1:1:2"}
	cfg := e.zooCfg(&Node{ID: 1, Role: RoleParticipant, DataDir: "/d", ClientPort: 7})
	for _, want := range []string{"\ntickTime=100\n", "\ndataDir=/d\n", "\nclientPort=7\n", "\n4lw.commands.whitelist=*\n",
		"\naa=2\nzz=1\nserver.1=127.0.0.1:1:2\n"} {
		if !strings.Contains(cfg, want) {
			t.Errorf("zoo.cfg lacks %q:\n%s", want, cfg)
		}
	}
	if strings.Count(cfg, "tickTime=") != 1 || strings.Contains(cfg, "peerType") {
		t.Errorf("zoo.cfg:\n%s", cfg)
	}
}

func TestHelpers(t *testing.T) {
	if got := tailLines("a\nb\nc\n", 2); got != "b\nc" {
		t.Errorf("tailLines: %q", got)
	}
	if got := tailLines("a\nb", 5); got != "a\nb" {
		t.Errorf("tailLines short: %q", got)
	}
	pre := "Connecting to 127.0.0.1:1\n\nWATCHER::\n\nWatchedEvent state:SyncConnected type:None path:null\n"
	if got := cleanCliStdout(pre + "[a, b]\n"); got != "[a, b]\n" {
		t.Errorf("cleanCliStdout: %q", got)
	}
	if m, err := parseMode("Zookeeper version: 3.8.0\nMode: follower\nNode count: 5\n"); err != nil || m != "follower" {
		t.Errorf("parseMode: %q %v", m, err)
	}
	if _, err := parseMode("This ZooKeeper instance is not currently serving requests\n"); !errors.Is(err, ErrNotServing) {
		t.Errorf("parseMode not serving: %v", err)
	}
	if got := bindFailure([]byte("x\nbinding to port 7\njava.net.BindException: Address already in use\n\tat y\n")); got != "binding to port 7\njava.net.BindException: Address already in use" {
		t.Errorf("bindFailure: %q", got)
	}
	if got := bindFailure([]byte("java.net.BindException: Address already in use")); got != "java.net.BindException: Address already in use" {
		t.Errorf("bindFailure one line: %q", got)
	}
	if bindFailure([]byte("ok\n")) != "" {
		t.Error("bindFailure on a clean log")
	}
}

// portConflict returns an Options.allocPorts that, on its first call, hands
// out a port held by a listener of the test at position idx (0 = client
// port of server 1, 1 = its quorum port, 2 = its election port).
func portConflict(t *testing.T, idx int) (func(int) ([]int, error), *int) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	calls := 0
	return func(n int) ([]int, error) {
		calls++
		ports, err := freePorts(n)
		if err == nil && calls == 1 {
			ports[idx] = l.Addr().(*net.TCPAddr).Port
		}
		return ports, err
	}, &calls
}

func TestStartRetriesOnPortConflict(t *testing.T) {
	t.Parallel()
	for idx, port := range []string{"client", "quorum", "election"} {
		t.Run(port, func(t *testing.T) {
			t.Parallel()
			alloc, calls := portConflict(t, idx)
			e := Start(t, Options{Voters: 1, allocPorts: alloc})
			if *calls != 2 {
				t.Fatalf("port allocations: %d, want 2 (one retry)", *calls)
			}
			if _, err := e.WaitForLeader(context.Background()); err != nil {
				t.Fatal(err)
			}
		})
	}
}
