package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/urfave/cli/v2"

	"github.com/zkobserver/zkobserver/internal/ensemble"
	"github.com/zkobserver/zkobserver/internal/loadgen"
)

// TestBenchLoadJava runs `bench load` against a real ensemble: a Java
// follower compared with the Java observer, a short mixed load. It checks
// that the output is sane (ops on both sides and for each op type, no
// errors, quantiles in order, the ratios printed) and that the znodes are
// gone afterwards; not performance.
func TestBenchLoadJava(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real ensemble")
	}
	e := ensemble.Start(t, ensemble.Options{Voters: 3, Observers: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	leader, err := e.WaitForLeader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var follower, observer *ensemble.Node
	for _, n := range e.Nodes() {
		switch {
		case n.Role == ensemble.RoleObserver:
			observer = n
		case n.ID != leader.ID && follower == nil:
			follower = n
		}
	}
	const prefix = "/bench/load"
	app := newApp()
	var out bytes.Buffer
	app.Writer = &out
	err = app.RunContext(ctx, []string{"zkobserver", "bench", "load",
		"--addr", follower.ClientAddr, "--compare", observer.ClientAddr, "--setup-addr", leader.ClientAddr,
		"--prefix", prefix, "--znodes", "500", "--conns", "4", "--pipeline", "8",
		"--duration", "2s", "--warmup", "300ms", "--rounds", "2", "--json"})
	if err != nil {
		t.Fatalf("bench load: %v\n%s", err, out.String())
	}
	var rep loadReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if rep.Report == nil || len(rep.Targets) != 2 || len(rep.Ratios) != 4 {
		t.Fatalf("report %s", out.String())
	}
	for i, tg := range rep.Targets {
		want := []string{follower.ClientAddr, observer.ClientAddr}[i]
		if tg.Addr != want || tg.Errors != 0 || tg.Rounds != 2 || tg.Seconds != 2 || len(tg.PerOp) != 3 {
			t.Errorf("target %d: addr %s (want %s), %d errors %v, %d rounds, %v s, %d op rows",
				i, tg.Addr, want, tg.Errors, tg.ErrorKinds, tg.Rounds, tg.Seconds, len(tg.PerOp))
		}
		for _, s := range append([]loadgen.OpStats{tg.All}, tg.PerOp...) {
			if s.Ops <= 0 || s.Errors != 0 || !(0 < s.P50Us && s.P50Us <= s.P99Us && s.P99Us <= s.P999Us && s.P999Us <= s.MaxUs) {
				t.Errorf("%s %s: %+v", tg.Addr, s.Op, s)
			}
		}
	}
	for _, r := range rep.Ratios {
		if r.Throughput <= 0 || r.P50 <= 0 || r.P99 <= 0 {
			t.Errorf("ratio %+v", r)
		}
	}
	t.Logf("follower %.0f ops/s (p99 %.0f µs), observer %.0f ops/s (p99 %.0f µs)",
		rep.Targets[0].All.OpsPerSec, rep.Targets[0].All.P99Us, rep.Targets[1].All.OpsPerSec, rep.Targets[1].All.P99Us)

	// The table shows both targets, every op and the ratios.
	var table bytes.Buffer
	app.Writer = &table
	printLoadReport(cli.NewContext(app, nil, nil), rep)
	for _, s := range []string{"A/B", "getData", "exists", "setData", follower.ClientAddr, observer.ClientAddr, "p999 µs", "ABBA"} {
		if !strings.Contains(table.String(), s) {
			t.Errorf("table lacks %q:\n%s", s, table.String())
		}
	}

	// The znodes, the prefix and the ancestor the run created are gone.
	c, _, err := zk.Connect([]string{leader.ClientAddr}, 10*time.Second, zk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, p := range []string{prefix, "/bench"} {
		if ok, _, err := c.Exists(p); err != nil || ok {
			t.Errorf("%s exists after the run (%v)", p, err)
		}
	}
}
