package rotest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/zkobserver/zkobserver/core/proto"
	"github.com/zkobserver/zkobserver/internal/ensemble"
	"github.com/zkobserver/zkobserver/internal/runproc"
)

// TestRestartDuringOutage is issue 7's acceptance 5: zkobserver (the real
// binary) killed and started again while the quorum is down serves
// read-only clients from its engine at once, for bbolt and Pebble. The
// time from the start to the first read answered is logged; the
// one-second target is a benchmark's (BenchmarkReadOnlyStart), not an
// assertion here.
func TestRestartDuringOutage(t *testing.T) {
	e := ensemble.Start(t, ensemble.Options{ExtraServers: []ensemble.ServerSpec{{ID: 10}, {ID: 11}}})
	bin, err := runproc.Build(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ids := javaIDs(e)
	w := writer(t, e.Node(ids[0]).ClientAddr)
	must(t, create(w, "/r", "before the outage"), "create /r")
	var children []*runproc.Child
	args := map[string][]string{}
	for _, engine := range []string{"bolt", "pebble"} {
		x := e.Node(map[string]int{"bolt": 10, "pebble": 11}[engine])
		args[engine] = binaryArgs(e, x, engine, t.TempDir())
		c := runproc.Start(t, bin, args[engine]...)
		c.Next(60*time.Second, runproc.Synced)
		children = append(children, c)
	}
	// Both observers hold the node durably before the outage.
	_, st, err := w.Get("/r")
	must(t, err, "get")
	for _, c := range children {
		c.WaitMetric(c.MetricsAddr(10*time.Second), "durable_zxid", 30*time.Second, func(v float64) bool { return int64(v) >= st.Mzxid })
	}
	for _, id := range ids[1:] {
		if err := e.Stop(id); err != nil {
			t.Fatal(err)
		}
	}
	for i, engine := range []string{"bolt", "pebble"} {
		t.Run(engine, func(t *testing.T) {
			x := e.Node(map[string]int{"bolt": 10, "pebble": 11}[engine])
			children[i].Next(30*time.Second, runproc.Msg("no leader: serving read-only clients from the local tree"))
			children[i].Kill()
			start := time.Now()
			c := runproc.Start(t, bin, args[engine]...)
			c.Next(30*time.Second, runproc.Msg("zkobserver starting"))
			raw := dialReadOnly(t, x.ClientAddr)
			var gd proto.GetDataResponse
			h := raw.callDecode(proto.OpGetData, &proto.GetDataRequest{Path: "/r"}, &gd)
			served := time.Since(start)
			if h.Err != proto.ErrOK || string(gd.Data) != "before the outage" || !raw.resp.ReadOnly {
				t.Fatalf("read-only read after the restart: %+v %q, ConnectResponse %+v", h, gd.Data, raw.resp)
			}
			t.Logf("%s: restarted during the outage, first read-only read answered %v after the process started", engine, served.Round(time.Millisecond))
			if got := strings.TrimSpace(word(t, x.ClientAddr, "isro")); got != "ro" {
				t.Fatalf("isro = %q", got)
			}
			if got := mntrValue(t, x.ClientAddr, "zk_seconds_since_leader_contact"); got != "-1" {
				t.Fatalf("zk_seconds_since_leader_contact %s, want -1 (no leader since start)", got)
			}
			m, err := runproc.Metrics(t.Context(), c.MetricsAddr(10*time.Second))
			if err != nil {
				t.Fatal(err)
			}
			if m["read_only"] != 1 || m["seconds_since_leader_contact"] != -1 || int64(m["served_zxid"]) < st.Mzxid {
				t.Fatalf("metrics read_only %v seconds_since_leader_contact %v served_zxid %v (want 1, -1, >= %#x)",
					m["read_only"], m["seconds_since_leader_contact"], m["served_zxid"], st.Mzxid)
			}
			if h := raw.call(proto.OpSetData, &proto.SetDataRequest{Path: "/r", Data: []byte("x"), Version: -1}); h.Err != proto.ErrNotReadOnly {
				t.Fatalf("write after the restart: %+v, want NOTREADONLY", h)
			}
			if n := c.Count(runproc.Synced); n != 0 {
				t.Fatalf("synced %d times with the quorum down", n)
			}
		})
	}
}

// binaryArgs runs `zkobserver run` as member x of e with engine in dir,
// metrics on a free port, read-only mode on (the default).
func binaryArgs(e *ensemble.Ensemble, x *ensemble.Node, engine, dir string) []string {
	o := e.Options()
	var vs []string
	for _, n := range e.Nodes() {
		if n.Role == ensemble.RoleParticipant {
			vs = append(vs, fmt.Sprintf("%d=%s:%d", n.ID, n.QuorumAddr, n.ElectionPort))
		}
	}
	return []string{"run", "--log-format", "json", "--ensemble", strings.Join(vs, ","), "--sid", fmt.Sprint(x.ID),
		"--storage", engine, "--data", dir, "--client-addr", x.ClientAddr, "--metrics-addr", "127.0.0.1:0",
		"--4lw-whitelist", "*",
		"--tick-time", fmt.Sprintf("%dms", o.TickTime), "--init-limit", fmt.Sprint(o.InitLimit), "--sync-limit", fmt.Sprint(o.SyncLimit)}
}
