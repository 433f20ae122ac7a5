package server_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkobserver/zkobserver/internal/runproc"
)

// TestBinaryServesClients runs the real `zkobserver run` binary and talks to
// its --client-addr with go-zookeeper.
func TestBinaryServesClients(t *testing.T) {
	dir := t.TempDir()
	bin, err := runproc.Build(dir)
	must(t, err, "build")
	e := startEnsemble(t)
	o := e.Options()
	var vs []string
	for _, n := range e.Nodes() {
		vs = append(vs, fmt.Sprintf("%d=%s:%d", n.ID, n.QuorumAddr, n.ElectionPort))
	}
	child := runproc.Start(t, bin, "run", "--log-format", "json", "--ensemble", strings.Join(vs, ","), "--sid", "20",
		"--storage", "memory", "--client-addr", "127.0.0.1:0", "--max-client-cnxns", "10",
		"--min-session-timeout", "1000", "--max-session-timeout", "5000",
		"--tick-time", fmt.Sprintf("%dms", o.TickTime), "--init-limit", fmt.Sprint(o.InitLimit), "--sync-limit", fmt.Sprint(o.SyncLimit))
	start := child.Next(30*time.Second, runproc.Msg("zkobserver starting"))
	addr, _ := start["client_addr"].(string)
	if addr == "" {
		t.Fatalf("no client_addr in %v", start)
	}
	child.Next(60*time.Second, runproc.Synced)
	c, _, err := zk.Connect([]string{addr}, 20*time.Second, zk.WithLogger(quietLogger{}), zk.WithLogInfo(false))
	must(t, err, "connect")
	defer c.Close()
	deadline := time.Now().Add(30 * time.Second)
	var p string
	for {
		// The forwarder attaches right after the sync line; until then the
		// server refuses connections and the client retries by itself.
		p, err = c.Create("/bin", []byte("hi"), zk.FlagEphemeral, zk.WorldACL(zk.PermAll))
		if err == nil || time.Now().After(deadline) {
			break
		}
	}
	must(t, err, "create through the binary")
	if p != "/bin" {
		t.Fatalf("create returned %q", p)
	}
	java, _ := connect(t, []string{e.ClientAddrs()[0]}, 10*time.Second)
	_, err = java.Sync("/bin")
	must(t, err, "sync")
	_, st, err := java.Get("/bin")
	must(t, err, "ephemeral on Java")
	if st.EphemeralOwner != c.SessionID() || c.SessionID()>>56 != 20 {
		t.Fatalf("owner %#x session %#x", st.EphemeralOwner, c.SessionID())
	}
	// Four-letter words with the default whitelist (srvr only).
	if got := askWord(t, addr, "srvr"); !strings.Contains(got, "Mode: observer\n") || !strings.HasPrefix(got, "Zookeeper version: 3.8.0-zkobserver-") {
		t.Errorf("srvr: %q", got)
	}
	if got := askWord(t, addr, "ruok"); got != "ruok is not executed because it is not in the whitelist.\n" {
		t.Errorf("ruok outside the default whitelist: %q", got)
	}
	if err := child.Stop(10 * time.Second); err != nil {
		t.Fatalf("stop: %v", err)
	}
}
