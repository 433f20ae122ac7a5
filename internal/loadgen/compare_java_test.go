package loadgen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zkobserver/zkobserver/internal/ensemble"
	"github.com/zkobserver/zkobserver/internal/runproc"
)

// BenchmarkCompareJava is the hand-run comparison of BENCHMARKS.md
// ("Client load"): a 3-voter ensemble with a Java observer, on production
// JVM settings, and zkobserver as a second observer (pebble, sync policy
// batch); `zkobserver bench load --addr <Java observer> --compare <Java
// follower>` for the default mix, reads and writes, then the same with
// zkobserver as A and the Java observer as B. It logs each run's table
// and the CPU each server process and the load generator used (from
// /proc and rusage) on stderr. Run it with -benchtime 1x; ZKOBSERVER_BENCH_DURATION
// (default 10s) sets --duration, ZKOBSERVER_BENCH_MIXES (default
// "get=80,exists=10,set=10 reads writes") the mixes, and
// ZKOBSERVER_BENCH_ARGS adds flags to every run (e.g. "--conns 8
// --pipeline 64").
func BenchmarkCompareJava(b *testing.B) {
	ensemble.Require(b)
	dur := os.Getenv("ZKOBSERVER_BENCH_DURATION")
	if dur == "" {
		dur = "10s"
	}
	mixes := strings.Fields(os.Getenv("ZKOBSERVER_BENCH_MIXES"))
	if len(mixes) == 0 {
		mixes = []string{"get=80,exists=10,set=10", "reads", "writes"}
	}
	work := b.TempDir()
	bin, err := runproc.Build(work)
	if err != nil {
		b.Fatal(err)
	}
	e := ensemble.Start(b, ensemble.Options{
		Voters: 3, Observers: 1, ExtraServers: []ensemble.ServerSpec{{}},
		TickTime: 2000, InitLimit: 10, SyncLimit: 5,
		// Production JVM settings instead of the harness's test ones
		// (small serial-GC heap, C1 only), as internal/obsbench.
		JVMFlags: []string{"-Xms1g", "-Xmx1g", "-XX:-UseSerialGC", "-XX:+UseG1GC", "-XX:TieredStopAtLevel=4"},
	})
	ours := e.Extras()[0]
	var voters []string
	var javaObs, follower *ensemble.Node
	leader, err := e.Leader(b.Context())
	if err != nil {
		b.Fatal(err)
	}
	for _, nd := range e.Nodes() {
		switch {
		case nd.Role == ensemble.RoleObserver:
			javaObs = nd
		case nd.ID != leader.ID && follower == nil:
			follower = nd
		}
		if nd.Role == ensemble.RoleParticipant {
			voters = append(voters, fmt.Sprintf("%d=%s:%d", nd.ID, nd.QuorumAddr, nd.ElectionPort))
		}
	}
	zko := runproc.Start(b, bin, "run", "--log-format", "json", "--ensemble", strings.Join(voters, ","),
		"--tick-time", "2s", "--init-limit", "10", "--sync-limit", "5", "--sid", strconv.Itoa(ours.ID),
		"--storage", "pebble", "--data", filepath.Join(work, "pebble"), "--client-addr", ours.ClientAddr)
	zko.Next(2*time.Minute, runproc.Synced)

	pids := map[string]int{javaObs.ClientAddr: javaObs.PID(), follower.ClientAddr: follower.PID(), ours.ClientAddr: zko.PID()}
	names := map[string]string{javaObs.ClientAddr: "Java observer", follower.ClientAddr: "Java follower", ours.ClientAddr: "zkobserver (pebble)"}
	pairs := [][2]*ensemble.Node{{javaObs, follower}, {ours, javaObs}}
	for _, pair := range pairs {
		for _, mix := range mixes {
			a, bb := pair[0].ClientAddr, pair[1].ClientAddr
			before := map[string]float64{a: cpuSeconds(b, pids[a]), bb: cpuSeconds(b, pids[bb]), leader.ClientAddr: cpuSeconds(b, leader.PID())}
			load1, _ := os.ReadFile("/proc/loadavg")
			args := []string{"bench", "load", "--addr", a, "--compare", bb, "--setup-addr", leader.ClientAddr,
				"--mix", mix, "--duration", dur, "--json"}
			cmd := exec.Command(bin, append(args, strings.Fields(os.Getenv("ZKOBSERVER_BENCH_ARGS"))...)...)
			var out, errOut bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errOut
			began := time.Now()
			runErr := cmd.Run()
			wall := time.Since(began)
			var rep struct {
				Report
				Conns    int `json:"conns"`
				Pipeline int `json:"pipeline"`
			}
			if err := json.Unmarshal(out.Bytes(), &rep); err != nil || runErr != nil {
				b.Errorf("%s vs %s, mix %s: %v %v\n%s\n%s", names[a], names[bb], mix, runErr, err, out.String(), errOut.String())
				continue
			}
			cli := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
			var total int64
			var s strings.Builder
			fmt.Fprintf(&s, "A = %s %s, B = %s %s, mix %s, %s per target, load average before %s", names[a], a, names[bb], bb, mix, dur, strings.Join(strings.Fields(string(load1))[:3], " "))
			for i, t := range rep.Targets {
				total += t.All.Ops
				for _, o := range append([]OpStats{t.All}, t.PerOp...) {
					fmt.Fprintf(&s, "\n  %c %-20s %-8s %8.0f ops/s  p50 %6.0f  p99 %6.0f  p999 %6.0f  max %7.0f µs  errors %d",
						'A'+i, names[t.Addr], o.Op, o.OpsPerSec, o.P50Us, o.P99Us, o.P999Us, o.MaxUs, o.Errors)
				}
			}
			for _, r := range rep.Ratios {
				fmt.Fprintf(&s, "\n  A/B %-8s ops/s %.2f  p50 %.2f  p99 %.2f  p999 %.2f", r.Op, r.Throughput, r.P50, r.P99, r.P999)
			}
			// CPU per measured op, approximate: the warmup's ops and the
			// setup are not in the op count.
			for _, addr := range []string{a, bb, leader.ClientAddr} {
				name := names[addr]
				if addr == leader.ClientAddr {
					name = "Java leader"
				}
				d := cpuSeconds(b, pidOf(pids, addr, leader)) - before[addr]
				fmt.Fprintf(&s, "\n  CPU %-20s %.2f s", name, d)
			}
			fmt.Fprintf(&s, "\n  CPU load generator   %.2f s for %d measured ops (%.2f µs/op, wall %.1f s)", cli.Seconds(), total, cli.Seconds()/float64(total)*1e6, wall.Seconds())
			fmt.Fprintln(os.Stderr, s.String()) // b.Log truncates a benchmark's output
		}
	}
}

func pidOf(pids map[string]int, addr string, leader *ensemble.Node) int {
	if p, ok := pids[addr]; ok {
		return p
	}
	return leader.PID()
}

// cpuSeconds returns the user+system CPU time of process pid (with its
// threads) from /proc/pid/stat.
func cpuSeconds(tb testing.TB, pid int) float64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		tb.Fatal(err)
	}
	// fields after the ")" that closes the command name: state is 3rd
	// overall, utime 14th, stime 15th.
	f := strings.Fields(string(raw[bytes.LastIndexByte(raw, ')')+1:]))
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ
}
