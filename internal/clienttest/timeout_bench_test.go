package clienttest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zkobserver/zkobserver/internal/ensemble"
	"github.com/zkobserver/zkobserver/internal/obsbench"
	"github.com/zkobserver/zkobserver/internal/runproc"
)

// BenchmarkRestartSessionTimeout is the 1M-znode variant of
// TestSessionsSurviveRestart: for each observer (a stock Java observer,
// zkobserver on bolt and on Pebble) and each session timeout of a ladder,
// 20 clients connected only to it hold an ephemeral each while it is
// SIGKILLed and restarted; the shortest timeout with which every session
// survives is reported. The goal (issue 6): zkobserver keeps its sessions
// with timeouts at least 3x shorter than the shortest a Java observer
// keeps. Run with -benchtime 1x; ZKOBSERVER_BENCH_ZNODES sets the tree size
// and ZKOBSERVER_BENCH_KEEP=1 keeps climbing the ladder after the first
// timeout that keeps every session.
//
// tickTime is 500 ms (minSessionTimeout 1 s on every server) so that short
// timeouts are allowed and the leader's expiry buckets (one tick) do not
// round them up much; the JVMs run with production settings as in
// internal/obsbench.
func BenchmarkRestartSessionTimeout(b *testing.B) {
	ensemble.Require(b)
	n := obsbench.Znodes(b)
	work := b.TempDir()
	bin, err := runproc.Build(work)
	if err != nil {
		b.Fatal(err)
	}
	seed := filepath.Join(work, "seed")
	t0 := time.Now()
	ex := obsbench.SeedDataDir(b, seed, n)
	b.Logf("seed: %d znodes, snapshot %d bytes, built in %v", ex.Nodes, ex.Bytes, time.Since(t0).Round(time.Millisecond))
	e := ensemble.Start(b, ensemble.Options{
		Voters: 3, Observers: 1, ExtraServers: []ensemble.ServerSpec{{ID: 10}, {ID: 11}},
		TickTime: 500, InitLimit: 60, SyncLimit: 10, StartTimeout: 5 * time.Minute,
		JVMFlags:   []string{"-Xms2g", "-Xmx2g", "-XX:-UseSerialGC", "-XX:+UseG1GC", "-XX:TieredStopAtLevel=4"},
		Properties: map[string]string{"minSessionTimeout": "1000", "maxSessionTimeout": "60000"},
		Prepare: func(nd *ensemble.Node) error {
			if nd.Role != ensemble.RoleParticipant {
				return nil
			}
			return obsbench.CopyDir(seed, nd.DataDir)
		},
	})
	java := e.ClientAddrs()[0]
	keep := os.Getenv("ZKOBSERVER_BENCH_KEEP") == "1"
	type result struct {
		name     string
		ladder   []string
		shortest time.Duration
	}
	var results []result
	climb := func(name string, ladder []time.Duration, addr string, restart func()) result {
		r := result{name: name}
		for _, to := range ladder {
			s := restartRun(b, addr, java, fmt.Sprintf("/t-%s-%d", name, to.Milliseconds()), 20, to, restart)
			b.Logf("%s, session timeout %v: %s", name, to, s)
			r.ladder = append(r.ladder, fmt.Sprintf("%v: %d/%d", to, s.survived, s.clients))
			if s.survived == s.clients && r.shortest == 0 {
				r.shortest = to
				if !keep {
					break
				}
			}
		}
		results = append(results, r)
		return r
	}

	b.ResetTimer()
	for _, engine := range []string{"bolt", "pebble"} {
		x := e.Node(map[string]int{"bolt": 10, "pebble": 11}[engine])
		args := zkobserverArgs(e, x, engine, filepath.Join(work, engine), "--min-session-timeout", "1000", "--max-session-timeout", "60000")
		child := runproc.Start(b, bin, args...)
		child.Next(5*time.Minute, runproc.Synced) // the first sync: a SNAP of the whole tree
		climb("zkobserver-"+engine, []time.Duration{1 * time.Second, 2 * time.Second, 3 * time.Second, 4 * time.Second, 6 * time.Second, 10 * time.Second}, x.ClientAddr, func() {
			child.Kill()
			start := time.Now()
			child = runproc.Start(b, bin, args...)
			l := child.Next(5*time.Minute, runproc.Synced)
			var open, load any
			for _, x := range child.Lines() {
				switch x.Message() {
				case "store opened":
					open = x["open"]
				case "state loaded":
					load = x["load"]
				}
			}
			b.Logf("zkobserver %s restarted to synced in %v (store open %v ms, tree load %v ms, %s of %v txns)",
				engine, time.Since(start).Round(time.Millisecond), open, load, l.Str("mode"), l["txns"])
		})
		if err := child.Stop(time.Minute); err != nil {
			b.Errorf("stop %s: %v", engine, err)
		}
	}
	obs := e.Node(4)
	jr := climb("java-observer", []time.Duration{1 * time.Second, 2 * time.Second, 3 * time.Second, 4 * time.Second, 6 * time.Second, 8 * time.Second, 10 * time.Second, 15 * time.Second, 20 * time.Second}, obs.ClientAddr, func() {
		if err := e.Kill(obs.ID); err != nil {
			b.Fatal(err)
		}
		if err := e.Restart(obs.ID); err != nil {
			b.Fatal(err)
		}
	})
	b.StopTimer()

	fmt.Printf("\nshortest session timeout kept through a SIGKILL restart, %d znodes (%d B snapshot), 20 clients, tickTime 500:\n", n, ex.Bytes)
	for _, r := range results {
		ratio := ""
		if r.shortest > 0 && jr.shortest > 0 && r.name != jr.name {
			ratio = fmt.Sprintf("   Java / this = %.1f (goal >= 3)", jr.shortest.Seconds()/r.shortest.Seconds())
			b.ReportMetric(jr.shortest.Seconds()/r.shortest.Seconds(), strings.TrimPrefix(r.name, "zkobserver-")+"_java_ratio")
		}
		fmt.Printf("  %-20s shortest %-6v  (%s)%s\n", r.name, r.shortest, strings.Join(r.ladder, ", "), ratio)
	}
}
