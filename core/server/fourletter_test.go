package server_test

import (
	"context"
	"io"
	"net"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/rs/zerolog"

	"github.com/zkobserver/zkobserver/core/fourletter"
	"github.com/zkobserver/zkobserver/core/learner"
	"github.com/zkobserver/zkobserver/core/observer"
	"github.com/zkobserver/zkobserver/core/server"
	"github.com/zkobserver/zkobserver/core/session"
	"github.com/zkobserver/zkobserver/core/tree"
	"github.com/zkobserver/zkobserver/internal/ensemble"
	"github.com/zkobserver/zkobserver/storage/memory"
)

// askWord sends a four-letter word to addr and returns the whole answer.
func askWord(t *testing.T, addr, word string) string {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(15 * time.Second))
	if _, err := nc.Write([]byte(word)); err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(nc)
	if err != nil && !strings.Contains(err.Error(), "reset") {
		t.Fatalf("%s: %v", word, err)
	}
	return string(b)
}

var (
	numbers  = regexp.MustCompile(`0x[0-9a-f]+|[0-9][0-9a-fA-FE.-]*`)
	versionL = regexp.MustCompile(`(?m)^(Zookeeper version: |zk_version\t|zookeeper.version=).*$`)
)

// shape is an answer with numbers and the version blanked and its lines
// sorted (connections are listed in no defined order); each observer's
// client znode is named /fl-X.
func shape(s string) []string {
	s = strings.NewReplacer("/fl-java", "/fl-X", "/fl-zkobs", "/fl-X").Replace(s)
	s = versionL.ReplaceAllString(s, "${1}V")
	s = numbers.ReplaceAllString(s, "#")
	lines := strings.Split(s, "\n")
	slices.Sort(lines)
	return lines
}

func keysOf(s, sep string) []string {
	var ks []string
	for _, l := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
		k, _, _ := strings.Cut(l, sep)
		ks = append(ks, k)
	}
	return ks
}

// TestFourLetterLikeJavaObserver asks a Java 3.8 observer and zkobserver,
// observing the same ensemble, each with one client session holding an
// ephemeral and a data watch, for every word, and requires answers of the
// same structure; at quiesce srvr and mntr show the same zxid and node count
// as the Java servers.
func TestFourLetterLikeJavaObserver(t *testing.T) {
	e := ensemble.Start(t, ensemble.Options{Voters: 3, Observers: 1, JVMFlags: []string{"-Dzookeeper.extendedTypesEnabled=true"},
		Properties: map[string]string{"4lw.commands.whitelist": "*"}})
	const javaObs = 4
	le := ensembleOf(e)
	z := startObs(t, e, obsOpts{words: &server.WordsConfig{
		Whitelist: fourletter.ParseWhitelist("*", false), Version: fourletter.FullVersion("test", time.Time{}),
		QuorumSize: len(le.Voters),
		Config: func() fourletter.Config {
			return fourletter.Config{ClientPort: 1, SecureClientPort: -1, DataDir: "/d", DataLogDir: "/d", TickTime: int(le.TickTime / time.Millisecond),
				MaxClientCnxns: 60, MinSessionTimeout: 4000, MaxSessionTimeout: 40000, ClientPortListenBacklog: -1, ServerID: 10,
				InitLimit: le.InitLimit, SyncLimit: le.SyncLimit, ElectionAlg: 3, PeerType: 1}
		},
	}})
	// The default whitelist (srvr only) on a second zkobserver.
	zDefault := startObs(t, e, obsOpts{sid: 11, words: &server.WordsConfig{Version: "v"}})

	javaAddr := e.Node(javaObs).ClientAddr
	var clients []*zk.Conn
	for i, addr := range []string{javaAddr, z.addr} {
		c, _ := connect(t, []string{addr}, 10*time.Second)
		p := []string{"/fl-java", "/fl-zkobs"}[i]
		_, err := c.Create(p, []byte("x"), zk.FlagEphemeral, zk.WorldACL(zk.PermAll))
		must(t, err, "create %s", p)
		_, _, _, err = c.GetW(p)
		must(t, err, "getw")
		clients = append(clients, c)
	}
	// Quiesce: both observers have applied every txn once each syncs.
	for _, c := range clients {
		_, err := c.Sync("/")
		must(t, err, "sync")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ask := func(word string) (java, ours string) {
		t.Helper()
		java, err := e.FourLetter(ctx, javaObs, word)
		if err != nil {
			t.Fatalf("java %s: %v", word, err)
		}
		return java, askWord(t, z.addr, word)
	}

	for _, word := range []string{"ruok", "isro", "srvr", "stat", "cons", "wchs", "wchc", "wchp", "dirs"} {
		java, ours := ask(word)
		if !slices.Equal(shape(java), shape(ours)) {
			t.Errorf("%s: shapes differ\n java: %q\n ours: %q", word, java, ours)
		}
	}
	for _, word := range []string{"conf"} {
		java, ours := ask(word)
		// membership lines: the same servers, same version line.
		if !slices.Equal(keysOf(java, "="), keysOf(ours, "=")) {
			t.Errorf("%s: keys differ\n java:\n%s\n ours:\n%s", word, java, ours)
		}
	}
	{
		java, ours := ask("mntr")
		jk, ok := keysOf(java, "\t"), keysOf(ours, "\t")
		restricted := slices.DeleteFunc(slices.Clone(jk), func(k string) bool { return !slices.Contains(ok, k) })
		if !slices.Equal(restricted, ok) || len(ok) < 25 {
			t.Errorf("mntr: ours %q are not Java's %q in Java's order", ok, jk)
		}
		for _, l := range strings.Split(ours, "\n") {
			if strings.HasPrefix(l, "zk_server_state\t") && l != "zk_server_state\tobserver" {
				t.Errorf("mntr: %q", l)
			}
		}
	}
	{
		java, ours := ask("envi")
		drop := func(k string) bool { return strings.HasPrefix(k, "java.") || strings.HasPrefix(k, "go.") }
		jk, ok := slices.DeleteFunc(keysOf(java, "="), drop), slices.DeleteFunc(keysOf(ours, "="), drop)
		if !slices.Equal(jk, ok) {
			t.Errorf("envi keys: java %q ours %q", jk, ok)
		}
	}

	// srvr and mntr: zxid and node count equal to every Java server's.
	field := func(text, re string) string {
		m := regexp.MustCompile(re).FindStringSubmatch(text)
		if m == nil {
			t.Fatalf("no %s in\n%s", re, text)
		}
		return m[1]
	}
	oursSrvr := askWord(t, z.addr, "srvr")
	oursMntr := askWord(t, z.addr, "mntr")
	for _, n := range e.Nodes() {
		java, err := e.FourLetter(ctx, n.ID, "srvr")
		if err != nil {
			t.Fatal(err)
		}
		for _, re := range []string{`Zxid: (0x[0-9a-f]+)`, `Node count: (\d+)`} {
			if j, o := field(java, re), field(oursSrvr, re); j != o {
				t.Errorf("server %d srvr %s: java %s ours %s", n.ID, re, j, o)
			}
		}
		if j, o := field(java, `Node count: (\d+)`), field(oursMntr, `zk_znode_count\t(\d+)`); j != o {
			t.Errorf("server %d node count %s, ours in mntr %s", n.ID, j, o)
		}
	}
	if !strings.Contains(oursSrvr, "Mode: observer\n") {
		t.Errorf("srvr: %s", oursSrvr)
	}

	// Whitelist: the default allows srvr only.
	if got, want := askWord(t, zDefault.addr, "mntr"), "mntr is not executed because it is not in the whitelist.\n"; got != want {
		t.Errorf("mntr outside the whitelist: %q, want %q", got, want)
	}
	if got := askWord(t, zDefault.addr, "srvr"); !strings.Contains(got, "Mode: observer\n") {
		t.Errorf("srvr with the default whitelist: %q", got)
	}
	// A client still works on the port after the words.
	if _, _, err := clients[1].Get("/fl-zkobs"); err != nil {
		t.Fatal(err)
	}
}

// TestFourLetterNotServing: before the observer follows a leader, the words
// answer as a Java server that is not serving.
func TestFourLetterNotServing(t *testing.T) {
	log := zerolog.New(zerolog.NewTestWriter(t))
	to, err := session.NewTimeouts(2000, -1, -1)
	must(t, err, "timeouts")
	srv, err := server.New(server.Config{ServerID: 10, TickTime: 2 * time.Second, Timeouts: to, Logger: log})
	must(t, err, "server")
	o, err := observer.New(observer.Config{Learner: learner.Config{SID: 10, Tree: tree.Options{},
		Ensemble: learner.Ensemble{TickTime: 2 * time.Second, InitLimit: 10, SyncLimit: 5,
			Voters: []learner.Peer{{SID: 1, QuorumAddr: "127.0.0.1:1", ElectionAddr: "127.0.0.1:1"}}}},
		Engine: memory.New(), Logger: log, Clients: srv})
	must(t, err, "observer")
	srv.Bind(o.Tree(), o)
	srv.EnableFourLetter(server.WordsConfig{Whitelist: fourletter.ParseWhitelist("*", false), Status: o, Version: "v"})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err, "listen")
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	for word, want := range map[string]string{
		"srvr": fourletter.NotServing + "\n",
		"mntr": fourletter.NotServing + "\n",
		"ruok": "imok",
		"isro": "null",
	} {
		if got := askWord(t, ln.Addr().String(), word); got != want {
			t.Errorf("%s: %q, want %q", word, got, want)
		}
	}
}
