// The differential test (issue 6, acceptance 2). Knobs for a run by hand:
// DIFFTEST_OPS (default 10,000), DIFFTEST_SEED, DIFFTEST_LOGDIR (server logs
// and stall dumps are kept there), DIFFTEST_TRACE (log every op),
// DIFFTEST_NORECONNECT (leave out the reconnect steps).

package difftest

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zkobserver/zkobserver/internal/ensemble"
)

// envInt reads an integer from the environment, or def.
func envInt(t *testing.T, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("%s=%q: %v", name, s, err)
	}
	return n
}

// javaTargets starts 3 Java voters and a Java observer with the settings
// the stream needs, and returns a follower's and the leader's client
// addresses.
func javaTargets(t *testing.T) (e *ensemble.Ensemble, follower, leader string) {
	e = ensemble.Start(t, ensemble.Options{Voters: 3, Observers: 1, JVMFlags: JVMFlags, Properties: Properties,
		LogDir: os.Getenv("DIFFTEST_LOGDIR")})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	l, err := e.WaitForLeader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range e.Nodes() {
		if n.ID != l.ID && n.Role == ensemble.RoleParticipant {
			return e, n.ClientAddr, l.ClientAddr
		}
	}
	t.Fatal("no follower")
	return nil, "", ""
}

// TestJavaVsJava is the proof that the harness is fair: a Java follower (A)
// and the Java leader (B) of one ensemble must answer the whole stream
// identically. The perturbation subtests prove that it is not blind: one
// corrupted reply field, or one dropped watch event, on B must be reported
// with the op where it happened.
func TestJavaVsJava(t *testing.T) {
	e, a, b := javaTargets(t)
	seed := uint64(envInt(t, "DIFFTEST_SEED", 20240601))
	ops := envInt(t, "DIFFTEST_OPS", 10_000)
	if testing.Short() {
		ops = min(ops, 1000)
	}
	t.Run("stream", func(t *testing.T) {
		res, err := Run(Options{AddrA: a, AddrB: b, Seed: seed, Ops: ops, Root: "/difftest", Logf: t.Logf,
			Trace: os.Getenv("DIFFTEST_TRACE") != "", NoReconnect: os.Getenv("DIFFTEST_NORECONNECT") != "",
			Wake: [2]bool{true, true}, OnSlow: slowHook(t, e, nil)})
		if err != nil {
			t.Fatal(err)
		}
		if res.Ops != ops || res.Perturbed != -1 {
			t.Fatalf("result %+v", res)
		}
		t.Logf("%d ops in %v, %d watch events per side, %v wakes (ZOOKEEPER-4537); kinds %v; codes %v",
			res.Ops, res.Elapsed.Round(time.Millisecond), res.Events, res.Wakes, res.Kinds, res.Codes)
	})
	for _, tc := range []struct {
		name string
		kind PerturbKind
		what string
	}{
		{"perturb-reply", PerturbReply, "reply"},
		{"perturb-drop-event", PerturbDropEvent, "watch events"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const from = 150
			res, err := Run(Options{AddrA: a, AddrB: b, Seed: seed + 1, Ops: 2000, Root: "/" + tc.name,
				Perturb: Perturbation{Kind: tc.kind, From: from}, Wake: [2]bool{true, true}, OnSlow: slowHook(t, e, nil)})
			mm, ok := err.(*Mismatch)
			if !ok {
				t.Fatalf("want a *Mismatch, got %v (result %+v)", err, res)
			}
			if res.Perturbed < from || mm.Op != res.Perturbed || mm.Seed != seed+1 || !strings.Contains(mm.What, tc.what) || mm.A == mm.B {
				t.Fatalf("perturbed at op %d, reported %#v", res.Perturbed, mm)
			}
			if !strings.Contains(err.Error(), "op #"+strconv.Itoa(mm.Op)) || !strings.Contains(err.Error(), "seed "+strconv.FormatUint(seed+1, 10)) {
				t.Fatalf("message does not name the op and seed: %v", err)
			}
			t.Logf("reported as expected:\n%v", err)
		})
	}
}
