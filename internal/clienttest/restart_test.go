package clienttest

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkobserver/zkobserver/internal/ensemble"
	"github.com/zkobserver/zkobserver/internal/runproc"
)

// TestSessionsSurviveRestart is issue 6's acceptance item 5: 20 clients
// connected only to one server (10 s session timeout, one ephemeral each);
// the server is SIGKILLed and restarted; every session and every ephemeral
// must survive. zkobserver (the real binary) on bolt and on Pebble must
// keep all of them; a stock Java observer of the same ensemble runs the
// same experiment and its survival rate is reported, not asserted.
//
// The three experiments run one after the other on one ensemble, so that a
// JVM restart's CPU does not slow a zkobserver restart on a small machine.
func TestSessionsSurviveRestart(t *testing.T) {
	e := ensemble.Start(t, ensemble.Options{
		Observers:    1, // the Java observer, id 4
		ExtraServers: []ensemble.ServerSpec{{ID: 10}, {ID: 11}},
		// A 10 s session needs maxSessionTimeout above 20 x tickTime.
		Properties: map[string]string{"maxSessionTimeout": "20000"},
	})
	bin, err := runproc.Build(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	java := e.ClientAddrs()[0] // a voter: the oracle for ephemerals
	const clients, timeout = 20, 10 * time.Second

	for _, engine := range []string{"bolt", "pebble"} {
		t.Run("zkobserver-"+engine, func(t *testing.T) {
			x := e.Node(map[string]int{"bolt": 10, "pebble": 11}[engine])
			args := zkobserverArgs(e, x, engine, t.TempDir(), "--max-session-timeout", "20000")
			child := runproc.Start(t, bin, args...)
			child.Next(60*time.Second, runproc.Synced)
			r := restartRun(t, x.ClientAddr, java, "/restart-"+engine, clients, timeout, func() {
				child.Kill()
				child = runproc.Start(t, bin, args...)
				// The store survived the kill: the leader sends a DIFF.
				if l := child.Next(60*time.Second, runproc.Synced); l.Str("mode") != "DIFF" {
					t.Errorf("restart synced by %s, want DIFF: %v", l.Str("mode"), l)
				}
			})
			t.Logf("zkobserver %s: %s", engine, r)
			if r.survived != clients || r.expired != 0 {
				t.Fatalf("zkobserver on %s lost sessions: %s", engine, r)
			}
			if err := child.Stop(10 * time.Second); err != nil {
				t.Errorf("stop: %v", err)
			}
		})
	}
	t.Run("java-observer", func(t *testing.T) {
		obs := e.Node(4)
		r := restartRun(t, obs.ClientAddr, java, "/restart-java", clients, timeout, func() {
			if err := e.Kill(obs.ID); err != nil {
				t.Fatal(err)
			}
			if err := e.Restart(obs.ID); err != nil {
				t.Fatal(err)
			}
		})
		t.Logf("Java observer: %s", r)
	})
}

// zkobserverArgs runs `zkobserver run` as member x of e with engine in dir.
// extra flags are appended.
func zkobserverArgs(e *ensemble.Ensemble, x *ensemble.Node, engine, dir string, extra ...string) []string {
	o := e.Options()
	var vs []string
	for _, n := range e.Nodes() {
		if n.Role == ensemble.RoleParticipant {
			vs = append(vs, fmt.Sprintf("%d=%s:%d", n.ID, n.QuorumAddr, n.ElectionPort))
		}
	}
	args := []string{"run", "--log-format", "json", "--ensemble", strings.Join(vs, ","), "--sid", fmt.Sprint(x.ID),
		"--storage", engine, "--client-addr", x.ClientAddr,
		"--tick-time", fmt.Sprintf("%dms", o.TickTime), "--init-limit", fmt.Sprint(o.InitLimit), "--sync-limit", fmt.Sprint(o.SyncLimit)}
	if dir != "" {
		args = append(args, "--data", dir)
	}
	return append(args, extra...)
}

// survival is the outcome of one restart experiment.
type survival struct {
	clients, survived, expired, ephemerals int
	reconnect                              time.Duration // kill to the last client's first successful request
}

func (s survival) String() string {
	return fmt.Sprintf("%d/%d sessions survived (%.0f%%), %d StateExpired events, %d/%d ephemerals held by their original session on a voter, all clients served again %v after the kill",
		s.survived, s.clients, 100*float64(s.survived)/float64(s.clients), s.expired, s.ephemerals, s.clients, s.reconnect.Round(10*time.Millisecond))
}

// restartRun connects n clients to addr only, each creating one ephemeral
// under root, calls restart (kill and start the server again), waits until
// every client has been answered again (or its session was expired), and
// counts on the voter java which ephemerals still belong to their original
// sessions.
func restartRun(t testing.TB, addr, java, root string, n int, timeout time.Duration, restart func()) survival {
	t.Helper()
	oracle := connect(t, java, timeout)
	if _, err := oracle.Create(root, nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatalf("create %s: %v", root, err)
	}
	cs := make([]*client, n)
	defer func() { // end the sessions now: a ladder of runs stays under maxClientCnxns
		var wg sync.WaitGroup
		for _, c := range append(cs, &client{c: oracle}) {
			if c != nil {
				wg.Go(c.c.Close)
			}
		}
		wg.Wait()
	}()
	for i := range cs {
		cs[i] = dial(t, addr, timeout)
		if _, err := cs[i].c.Create(fmt.Sprintf("%s/c%02d", root, i), nil, zk.FlagEphemeral, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatalf("client %d: create ephemeral: %v", i, err)
		}
	}
	killed := time.Now()
	restart()
	var s survival
	s.clients = n
	// Poll every client until it is answered on the restarted server or its
	// session is reported expired: the expiry is decided by the leader, at
	// most one session timeout after the kill, so 3x that is the bound.
	deadline := killed.Add(3*timeout + 30*time.Second)
	for i, c := range cs {
		for {
			if c.expired.Load() > 0 {
				break
			}
			if _, _, err := c.c.Exists(root); err == nil && c.c.SessionID() == c.sid {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("client %d: neither served again nor expired %v after the kill (state %v)", i, time.Since(killed), c.c.State())
			}
			time.Sleep(20 * time.Millisecond) // polling real state under a deadline
		}
	}
	s.reconnect = time.Since(killed)
	if _, err := oracle.Sync(root); err != nil {
		t.Fatalf("sync: %v", err)
	}
	for i, c := range cs {
		e := int(c.expired.Load())
		s.expired += e
		if e == 0 && c.c.SessionID() == c.sid {
			s.survived++
		}
		_, st, err := oracle.Exists(fmt.Sprintf("%s/c%02d", root, i))
		if err != nil {
			t.Fatalf("exists on the voter: %v", err)
		}
		if st != nil && st.EphemeralOwner == c.sid {
			s.ephemerals++
		}
	}
	if s.ephemerals != s.survived {
		t.Errorf("%d sessions survived but %d ephemerals did", s.survived, s.ephemerals)
	}
	return s
}
