package observer

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/zkobserver/zkobserver/core/persist"
	"github.com/zkobserver/zkobserver/core/tree"
	"github.com/zkobserver/zkobserver/internal/ensemble"
	"github.com/zkobserver/zkobserver/internal/runproc"
	"github.com/zkobserver/zkobserver/internal/zktest"
	"github.com/zkobserver/zkobserver/storage"
	"github.com/zkobserver/zkobserver/storage/bolt"
	"github.com/zkobserver/zkobserver/storage/pebble"
)

const (
	seedZnodes = 3000
	seedBytes  = 300 // per znode: the SNAP carries about 1 MB
)

// TestRestartAfterKill runs the real binary: a first start syncs by SNAP;
// the process is SIGKILLed in the middle of a write load and started again
// on the same data directory. With bbolt and Pebble the restart is a DIFF
// from the durable zxid (the observer's log line and the leader's log say
// so) and moves far fewer bytes than the SNAP; with the memory engine it is
// a SNAP again. At quiesce the tree the engine holds after a clean SIGTERM
// stop has the leader's zxid, digest and client view.
func TestRestartAfterKill(t *testing.T) {
	ensemble.Require(t)
	bin := zkobserverBinary(t)
	engines := []string{"bolt", "pebble", "memory"}
	specs := make([]ensemble.ServerSpec, len(engines))
	e := ensemble.Start(t, ensemble.Options{ExtraServers: specs})
	seedTree(t, e, seedZnodes, seedBytes)
	for i, engine := range engines {
		t.Run(engine, func(t *testing.T) { restartAfterKill(t, e, bin, e.Extras()[i].ID, engine) })
	}
}

func restartAfterKill(t *testing.T, e *ensemble.Ensemble, bin string, sid int, engine string) {
	dir := ""
	if engine != "memory" {
		dir = t.TempDir()
	}
	args := runArgs(e, sid, engine, dir)
	c := runproc.Start(t, bin, args...)
	first := c.Next(60*time.Second, runproc.Synced)
	if first.Str("mode") != "SNAP" || first.Int("from_zxid") != 0 {
		t.Fatalf("first sync: %v, want a SNAP from 0", first)
	}
	if first.Int("bytes") < seedZnodes*seedBytes {
		t.Errorf("first sync moved %d bytes, less than the seeded tree", first.Int("bytes"))
	}

	// Kill the observer while the ensemble takes writes, once it has made
	// some of them durable.
	stop := make(chan struct{})
	wait := writeLoad(t, e, 1, stop)
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
			wait()
		}
	}()
	addr := c.MetricsAddr(10 * time.Second)
	durable := int64(c.WaitMetric(addr, "durable_zxid", 30*time.Second, func(v float64) bool { return int64(v) >= first.Int("to_zxid")+100 }))
	c.Kill()

	c = runproc.Start(t, bin, args...)
	second := c.Next(60*time.Second, runproc.Synced)
	t.Logf("first sync %v\nafter SIGKILL at durable zxid %#x: %v", first, durable, second)
	if engine == "memory" {
		if second.Str("mode") != "SNAP" || second.Int("from_zxid") != 0 {
			t.Errorf("memory engine restart: %v, want a SNAP from 0", second)
		}
	} else {
		if second.Str("mode") != "DIFF" || second.Int("from_zxid") < durable {
			t.Errorf("restart: %v, want a DIFF from at least %#x", second, durable)
		}
		if b := second.Int("bytes"); b*5 > first.Int("bytes") {
			t.Errorf("restart moved %d bytes, the first SNAP %d: want a DIFF far smaller", b, first.Int("bytes"))
		}
	}
	leader, err := e.Leader(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	log, err := leader.ReadLog()
	if err != nil {
		t.Fatal(err)
	}
	diffs := regexp.MustCompile(`Sending DIFF zxid=0x([0-9a-f]+)\s+for peer sid: `+strconv.Itoa(sid)+`\b`).FindAllStringSubmatch(log, -1)
	if engine == "memory" {
		if len(diffs) != 0 {
			t.Errorf("leader sent sid %d a DIFF: %v", sid, diffs)
		}
	} else if len(diffs) != 1 {
		t.Errorf("leader log has %d DIFFs for sid %d, want 1", len(diffs), sid)
	} else if z, _ := strconv.ParseInt(diffs[0][1], 16, 64); z < second.Int("from_zxid") {
		t.Errorf("leader's DIFF zxid %#x is behind the observer's %#x", z, second.Int("from_zxid"))
	}

	// Quiesce, let the observer catch up, stop it cleanly.
	close(stop)
	writes := wait()
	zxid := quiesceZxid(t, leader)
	addr = c.MetricsAddr(10 * time.Second)
	c.WaitMetric(addr, "last_zxid", 30*time.Second, func(v float64) bool { return int64(v) == zxid })
	m, err := runproc.Metrics(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	if m["digest_mismatches_count"] != 0 || m[`observer_state{state="OBSERVING"}`] != 1 || m["leader"] != float64(leader.ID) {
		t.Errorf("metrics: %v", m)
	}
	if err := c.Stop(30 * time.Second); err != nil {
		t.Fatalf("SIGTERM: exit %v", err)
	}
	stopped := c.Next(time.Second, runproc.Msg("observer stopped"))
	if stopped.Int("durable_zxid") != zxid {
		t.Errorf("stopped at durable zxid %#x, leader at %#x", stopped.Int("durable_zxid"), zxid)
	}
	t.Logf("%d client writes; leader at %#x", writes, zxid)
	if engine == "memory" {
		return
	}
	got := storedTree(t, engine, dir)
	if got.LastZxid() != zxid {
		t.Errorf("stored tree at %#x, leader at %#x", got.LastZxid(), zxid)
	}
	if d, want := got.Digest(), logDigest(t, leader, zxid); d != want {
		t.Errorf("stored digest at %#x: %d, leader's %d", zxid, d, want)
	}
	if !zktest.SameTree(t, sid, zktest.TreeAsClientSees(got), zktest.ReadTree(t, leader.ClientAddr)) {
		t.Error("stored tree differs from the leader's")
	}
}

// storedTree opens a stopped observer's data directory and loads its tree.
func storedTree(t *testing.T, engine, dir string) *tree.DataTree {
	t.Helper()
	var eng storage.Engine
	var err error
	switch engine {
	case "bolt":
		eng, err = bolt.Open(dir, bolt.Options{})
	case "pebble":
		eng, err = pebble.Open(dir, pebble.Options{})
	default:
		err = fmt.Errorf("no store for engine %q", engine)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	tr, _, err := persist.LoadTree(eng, tree.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return tr
}
