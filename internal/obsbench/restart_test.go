package obsbench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkobserver/zkobserver/internal/ensemble"
	"github.com/zkobserver/zkobserver/internal/runproc"
	"github.com/zkobserver/zkobserver/internal/zktest"
	"github.com/zkobserver/zkobserver/snapshot"
)

var srvrZxid = regexp.MustCompile(`Zxid: (0x[0-9a-f]+)`)

// zxidOf returns a Java server's zxid from srvr, or -1 while it does not
// serve.
func zxidOf(e *ensemble.Ensemble, id int) int64 {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	out, err := e.FourLetter(ctx, id, "srvr")
	m := srvrZxid.FindStringSubmatch(out)
	if err != nil || m == nil {
		return -1
	}
	z, _ := strconv.ParseInt(m[1][2:], 16, 64)
	return z
}

// writeTxns makes k writes (creates of small nodes) through server addr,
// from 8 concurrent callers, and returns the rate achieved.
func writeTxns(b *testing.B, addr, prefix string, k int) float64 {
	conn := zktest.Connect(b, addr, 30*time.Second, nil)
	if _, err := conn.Create(prefix, nil, 0, zk.WorldACL(zk.PermAll)); err != nil && !errors.Is(err, zk.ErrNodeExists) {
		b.Fatal(err)
	}
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < k; i += 8 {
				if _, err := conn.Create(fmt.Sprintf("%s/w%07d", prefix, i), []byte("payload-of-a-write"), 0, zk.WorldACL(zk.PermAll)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
	return float64(k) / time.Since(start).Seconds()
}

// leaderZxid returns the leader's zxid.
func leaderZxid(b *testing.B, e *ensemble.Ensemble) (*ensemble.Node, int64) {
	leader, err := e.Leader(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	return leader, zxidOf(e, leader.ID)
}

// timeJavaRestart restarts the Java observer id and returns the time until
// it serves the leader's zxid.
func timeJavaRestart(b *testing.B, e *ensemble.Ensemble, id int, target int64) time.Duration {
	start := time.Now()
	if err := e.Restart(id); err != nil {
		b.Fatal(err)
	}
	for zxidOf(e, id) < target {
		if time.Since(start) > 5*time.Minute {
			b.Fatalf("Java observer %d not synced after 5 minutes", id)
		}
		time.Sleep(5 * time.Millisecond) // polling the server's real state
	}
	return time.Since(start)
}

// timeRestart starts zkobserver and returns the time until its sync line,
// which must report mode and reach target.
func timeRestart(b *testing.B, bin string, args []string, mode string, target int64) (*runproc.Child, time.Duration, runproc.Line) {
	start := time.Now()
	c := runproc.Start(b, bin, append([]string{"run", "--log-format", "json"}, args...)...)
	line := c.Next(5*time.Minute, runproc.Synced)
	d := time.Since(start)
	for _, l := range c.Lines() {
		switch l.Message() {
		case "store opened":
			b.Logf("%s: store opened in %v ms", args[len(args)-3], l["open"])
		case "state loaded":
			b.Logf("%s: tree loaded in %v ms; sync %v ms (%s, %v txns)", args[len(args)-3], l["load"], line["duration"], line.Str("mode"), line["txns"])
		}
	}
	if line.Str("mode") != mode {
		b.Fatalf("sync mode %v, want %s: %v", line.Str("mode"), mode, line)
	}
	if to := zxidField(line, "to_zxid"); to < target {
		b.Fatalf("synced to %#x, want at least %#x", to, target)
	}
	return c, d, line
}

// zxidField parses a hex zxid field of a log line.
func zxidField(l runproc.Line, k string) int64 {
	z, _ := strconv.ParseInt(strings.TrimPrefix(l.Str(k), "0x"), 16, 64)
	return z
}

// BenchmarkObserverRestart measures restart-to-synced time with a large
// tree: a stock Java observer of the ensemble against zkobserver on bbolt
// and on Pebble, each stopped (SIGTERM), left behind by some writes, and
// restarted, one after the other in the same run. It then measures the DIFF
// window. Run it with -benchtime 1x.
func BenchmarkObserverRestart(b *testing.B) {
	ensemble.Require(b)
	n := Znodes(b)
	work := b.TempDir()
	bin, err := runproc.Build(work)
	if err != nil {
		b.Fatal(err)
	}
	seed := filepath.Join(work, "seed")
	t0 := time.Now()
	ex := SeedDataDir(b, seed, n)
	b.Logf("seed: %d znodes, snapshot %d bytes, built in %v", ex.Nodes, ex.Bytes, time.Since(t0).Round(time.Millisecond))

	e := ensemble.Start(b, ensemble.Options{
		Voters: 3, Observers: 1, ExtraServers: []ensemble.ServerSpec{{}, {}},
		TickTime: 2000, InitLimit: 10, SyncLimit: 5, StartTimeout: 5 * time.Minute,
		// Production JVM settings instead of the harness's test ones
		// (small serial-GC heap, C1 only): the same 2 GB fixed heap as
		// `bench engines` gives Java, default collector, full JIT.
		JVMFlags: []string{"-Xms2g", "-Xmx2g", "-XX:-UseSerialGC", "-XX:+UseG1GC", "-XX:TieredStopAtLevel=4"},
		Prepare: func(nd *ensemble.Node) error {
			if nd.Role != ensemble.RoleParticipant {
				return nil
			}
			return CopyDir(seed, nd.DataDir)
		},
	})
	javaID := 4
	ours := map[string]*ensemble.Node{"bolt": e.Extras()[0], "pebble": e.Extras()[1]}
	var voters []string
	for _, nd := range e.Nodes() {
		if nd.Role == ensemble.RoleParticipant {
			voters = append(voters, fmt.Sprintf("%d=%s:%d", nd.ID, nd.QuorumAddr, nd.ElectionPort))
		}
	}
	args := func(engine string) []string {
		return []string{"--ensemble", strings.Join(voters, ","), "--tick-time", "2s", "--init-limit", "10", "--sync-limit", "5",
			"--sid", strconv.Itoa(ours[engine].ID), "--storage", engine, "--data", filepath.Join(work, engine)}
	}
	// A few txns in the new epoch first: an observer synced at exactly
	// epoch<<32 is behind every txn the leader's logs hold and gets a
	// SNAP from Java's leader whatever it reports.
	writeTxns(b, e.Node(1).ClientAddr, "/epoch", 10)
	if _, z := leaderZxid(b, e); z >= 0 {
		deadline := time.Now().Add(time.Minute)
		for zxidOf(e, javaID) < z && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond) // polling the Java observer's state
		}
	}
	// First start: every observer takes a SNAP of the whole tree.
	for _, engine := range []string{"bolt", "pebble"} {
		c, d, line := timeRestart(b, bin, args(engine), "SNAP", 0)
		b.Logf("%s: first sync %v bytes in %v", engine, line["bytes"], d.Round(time.Millisecond))
		if err := c.Stop(time.Minute); err != nil {
			b.Fatalf("%s: stop: %v", engine, err)
		}
	}
	if err := e.Stop(javaID); err != nil {
		b.Fatal(err)
	}
	// Left behind by some writes while down.
	rate := writeTxns(b, e.Node(1).ClientAddr, "/behind", behind)
	leader, target := leaderZxid(b, e)

	b.ResetTimer()
	javaD := timeJavaRestart(b, e, javaID, target)
	res := map[string]time.Duration{}
	for _, engine := range []string{"bolt", "pebble"} {
		c, d, _ := timeRestart(b, bin, args(engine), "DIFF", target)
		res[engine] = d
		if err := c.Stop(time.Minute); err != nil {
			b.Fatalf("%s: stop: %v", engine, err)
		}
	}
	b.StopTimer()
	log, err := leader.ReadLog()
	if err != nil {
		b.Fatal(err)
	}
	if !strings.Contains(log, fmt.Sprintf("Sending DIFF zxid=0x%x  for peer sid: %d", target, javaID)) {
		b.Logf("note: the leader's log shows no DIFF for the Java observer at %#x", target)
	}
	b.ReportMetric(javaD.Seconds(), "java_s")
	fmt.Printf("\nrestart to synced, %d znodes (%d B snapshot), %d txns behind (written at %.0f/s), sync policy batch:\n", n, ex.Bytes, behind, rate)
	fmt.Printf("  %-22s %8.3f s\n", "Java 3.8 observer", javaD.Seconds())
	for _, engine := range []string{"bolt", "pebble"} {
		b.ReportMetric(res[engine].Seconds(), engine+"_s")
		b.ReportMetric(res[engine].Seconds()/javaD.Seconds(), engine+"/java")
		fmt.Printf("  %-22s %8.3f s   %.3f x Java (target <= 0.333)\n", "zkobserver "+engine, res[engine].Seconds(), res[engine].Seconds()/javaD.Seconds())
	}
	diffWindow(b, e, bin, args("pebble"), leader)
}

// behind is how many txns the restarted observers miss: within the leader's
// committedLog (zookeeper.commitLogCount, 500), so every one gets a DIFF.
const behind = 400

// diffWindow measures how far an observer may fall behind and still get a
// DIFF. A 3.8 leader answers with a DIFF when the observer's zxid is in its
// in-memory committedLog (the last 500 txns), or else when its txn log files
// from that zxid on, as stored (preallocated in 64 MiB steps), take at most
// snapshotSizeFactor (0.33) of its newest snapshot file; otherwise it sends
// a SNAP (LearnerHandler.syncFollower, ZKDatabase.getProposalsFromTxnLog).
func diffWindow(b *testing.B, e *ensemble.Ensemble, bin string, args []string, leader *ensemble.Node) {
	fmt.Printf("\nDIFF window (zkobserver pebble, stopped, k txns written, restarted):\n")
	rateSeen := 0.0
	for _, k := range []int{450, 3000} {
		rate := writeTxns(b, e.Node(1).ClientAddr, fmt.Sprintf("/window%d", k), k)
		_, target := leaderZxid(b, e)
		c := runproc.Start(b, bin, append([]string{"run", "--log-format", "json"}, args...)...)
		line := c.Next(5*time.Minute, runproc.Synced)
		if err := c.Stop(time.Minute); err != nil {
			b.Fatal(err)
		}
		if to := zxidField(line, "to_zxid"); to < target {
			b.Fatalf("synced to %#x, want %#x", to, target)
		}
		fmt.Printf("  k=%-6d (written at %5.0f/s): %v, %v bytes received\n", k, rate, line["mode"], line["bytes"])
		if line["mode"] != "DIFF" {
			b.Errorf("%d txns behind: %v, want DIFF", k, line["mode"])
		}
		rateSeen = max(rateSeen, rate)
	}
	if log, err := leader.ReadLog(); err == nil {
		for _, l := range strings.Split(log, "\n") {
			for _, k := range []string{"Sending DIFF", "Sending snapshot", "Txnlog size", "Using committedLog", "Use txnlog", "Unable to find proposals", "Synchronizing with Learner"} {
				if strings.Contains(l, k) {
					fmt.Println("   ", l)
				}
			}
		}
	}
	vdir := filepath.Join(leader.DataDir, "version-2")
	snaps, err := snapshot.FindSnapshots(vdir)
	if err != nil || len(snaps) == 0 {
		b.Fatalf("leader's snapshots: %v", err)
	}
	st, err := os.Stat(snaps[0].Path)
	if err != nil {
		b.Fatal(err)
	}
	logs, _ := snapshot.ListLogs(vdir)
	var logBytes int64
	for _, l := range logs {
		if fi, err := os.Stat(l.Path); err == nil {
			logBytes += fi.Size()
		}
	}
	limit := float64(st.Size()) * 0.33
	fmt.Printf("  leader: newest snapshot %.1f MB -> txn-log DIFF limit %.1f MB; its %d log file(s) take %.1f MB as stored (64 MiB preallocation steps)\n",
		float64(st.Size())/1e6, limit/1e6, len(logs), float64(logBytes)/1e6)
	extra := int(limit / (64 << 20))
	fmt.Printf("  Java's rule: DIFF from the committedLog (last 500 txns), else from the txn log when the log files AFTER the one\n" +
		"  holding the observer's zxid (Java's iterator has already taken that one out of its list) take <= 0.33 x snapshot;\n" +
		"  the leader rolls its log every snapCount/2..snapCount txns (default 100,000; files preallocated in 64 MiB steps).\n")
	if extra == 0 {
		fmt.Printf("  => here no whole later log file fits the limit: a DIFF while the observer's zxid is in the leader's current\n"+
			"     log file (until its next roll, typically 50,000-100,000 txns), guaranteed only for the last 500 txns\n"+
			"     (%.1f s at the %.0f writes/s measured above)\n", 500/rateSeen, rateSeen)
	} else {
		g := extra * 50000
		fmt.Printf("  => here %d later whole log file(s) fit the limit: a DIFF is guaranteed for at least %d txns (one log file\n"+
			"     holds >= snapCount/2 = 50,000), i.e. >= %.0f s of downtime at the %.0f writes/s measured above\n", extra, g, float64(g)/rateSeen, rateSeen)
	}
}
