package observer

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkobserver/zkobserver/internal/ensemble"
	"github.com/zkobserver/zkobserver/internal/runproc"
	"github.com/zkobserver/zkobserver/internal/zktest"
)

// The zkobserver binary, built at most once per test binary into binDir.
var (
	binDir   string
	binOnce  sync.Once
	binPath  string
	binError error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// zkobserverBinary returns the path of a freshly built cmd/zkobserver.
func zkobserverBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		start := time.Now()
		if binDir, binError = os.MkdirTemp("", "zkobserver-bin-"); binError != nil {
			return
		}
		binPath, binError = runproc.Build(binDir)
		t.Logf("built %s in %v", binPath, time.Since(start).Round(time.Millisecond))
	})
	if binError != nil {
		t.Fatal(binError)
	}
	return binPath
}

// ensembleFlag is the --ensemble value naming the harness's voters.
func ensembleFlag(e *ensemble.Ensemble) string {
	var vs []string
	for _, n := range e.Nodes() {
		if n.Role == ensemble.RoleParticipant {
			vs = append(vs, fmt.Sprintf("%d=%s:%d", n.ID, n.QuorumAddr, n.ElectionPort))
		}
	}
	return strings.Join(vs, ",")
}

// runArgs are the arguments of `zkobserver run` against the harness's
// ensemble, with metrics on a free loopback port.
func runArgs(e *ensemble.Ensemble, sid int, engine, dir string) []string {
	o := e.Options()
	args := []string{"run", "--log-format", "json", "--ensemble", ensembleFlag(e), "--sid", fmt.Sprint(sid),
		"--storage", engine, "--metrics-addr", "127.0.0.1:0",
		"--tick-time", fmt.Sprintf("%dms", o.TickTime), "--init-limit", fmt.Sprint(o.InitLimit), "--sync-limit", fmt.Sprint(o.SyncLimit)}
	if dir != "" {
		args = append(args, "--data", dir)
	}
	return args
}

// seedTree creates n znodes of size bytes each under /seed, 100 per multi,
// so that a SNAP of the tree is large.
func seedTree(t *testing.T, e *ensemble.Ensemble, n, size int) {
	t.Helper()
	c := zktest.Connect(t, e.ClientAddrs()[0], 10*time.Second, nil)
	acl := zk.WorldACL(zk.PermAll)
	if _, err := c.Create("/seed", nil, 0, acl); err != nil {
		t.Fatal(err)
	}
	data := []byte(strings.Repeat("z", size))
	for i := 0; i < n; i += 100 {
		var ops []any
		for j := i; j < min(n, i+100); j++ {
			ops = append(ops, &zk.CreateRequest{Path: fmt.Sprintf("/seed/n%05d", j), Data: data, Acl: acl})
		}
		if _, err := c.Multi(ops...); err != nil {
			t.Fatalf("seeding /seed: %v", err)
		}
	}
}

// quiesceZxid returns the leader's last zxid once writes have stopped: it
// writes one more txn through the leader itself, whose reply comes after
// the leader applied it. (srvr on the leader may lag a txn its followers
// already answered, while the observer has it from the INFORM.) The client
// session stays open until the test ends, so no closeSession follows.
func quiesceZxid(t *testing.T, leader *ensemble.Node) int64 {
	t.Helper()
	c := zktest.Connect(t, leader.ClientAddr, 10*time.Second, nil)
	if _, err := c.Create("/quiesce", nil, 0, zk.WorldACL(zk.PermAll)); err != nil && err != zk.ErrNodeExists {
		t.Fatalf("create /quiesce: %v", err)
	}
	st, err := c.Set("/quiesce", []byte(t.Name()), -1)
	if err != nil {
		t.Fatalf("set /quiesce: %v", err)
	}
	return st.Mzxid
}
