// Package ensemble starts a real Apache ZooKeeper 3.8 ensemble (Debian's
// zookeeper package: /usr/share/java/zookeeper.jar, run with Java 17) for
// tests.
//
// Every server is a separate JVM running
// org.apache.zookeeper.server.quorum.QuorumPeerMain on 127.0.0.1 with ports
// chosen by the harness, its own dataDir, zoo.cfg and myid under a temporary
// directory, and stdout+stderr (slf4j-simple logs to stderr) written to a
// per-node log file.
//
// Contracts:
//
//   - Start either returns an ensemble whose Java servers are all serving
//     (exactly one leader, every other Java server following or observing),
//     or fails the test with t.Fatal. Port conflicts are retried with fresh
//     ports.
//   - Every process the harness starts is SIGKILLed and reaped by the
//     t.Cleanup registered in Start (also when the test fails or panics), or
//     earlier by Close. On Linux, servers additionally get PDEATHSIG=SIGKILL so
//     they die with the test binary even if cleanups never run (e.g. a
//     go test -timeout panic).
//   - Synchronisation is done by polling real server state (four letter words
//     on the client port) under a deadline, never by fixed sleeps.
//   - Only the standard library is used.
package ensemble

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Defaults applied by Start to zero-valued Options fields.
const (
	DefaultVoters       = 3
	DefaultTickTime     = 200 // ms
	DefaultInitLimit    = 10  // ticks
	DefaultSyncLimit    = 5   // ticks
	DefaultStartTimeout = 60 * time.Second
)

// Roles of ensemble members, as used in Node.Role and ServerSpec.Role.
const (
	RoleParticipant = "participant" // voting member
	RoleObserver    = "observer"    // non-voting member
)

// Server modes as reported by the four letter word srvr ("Mode: ...").
const (
	ModeLeader     = "leader"
	ModeFollower   = "follower"
	ModeObserver   = "observer"
	ModeStandalone = "standalone"
)

// startAttempts is how often Start tries with fresh ports when a server
// reports that one of its ports was already in use.
const startAttempts = 3

// ServerSpec declares an additional ensemble member that is not run by the
// harness (for example the Go observer under test). The harness allocates
// its client, quorum and election ports and lists it in every Java server's
// zoo.cfg; starting it is up to the test.
type ServerSpec struct {
	// ID is the server id (myid). Zero means "next unused id after the Java
	// servers and earlier ExtraServers".
	ID int
	// Role is RoleObserver (the default when empty) or RoleParticipant.
	// Extra participants count towards the quorum size; if the Java voters
	// alone are then no majority, Start only waits for every Java server to
	// answer ruok instead of waiting for a leader.
	Role string
}

// Options for Start. Zero values select the documented defaults.
type Options struct {
	// Voters is the number of voting Java servers (ids 1..Voters). Default 3.
	Voters int
	// Observers is the number of Java observers (ids Voters+1..Voters+Observers,
	// "server.N=...:observer" and "peerType=observer"). Default 0.
	Observers int
	// ExtraServers are members that are not run by the harness.
	ExtraServers []ServerSpec
	// TickTime in milliseconds. Default 200, short so that tests are fast.
	TickTime int
	// InitLimit and SyncLimit in ticks. Defaults 10 and 5.
	InitLimit, SyncLimit int
	// JVMFlags are appended to the JVM command line of every Java server,
	// e.g. "-Dzookeeper.extendedTypesEnabled=true".
	JVMFlags []string
	// Properties are extra zoo.cfg lines for every Java server. A key that
	// the harness also sets (tickTime, dataDir, ...) replaces the harness's
	// value; other keys are appended in sorted order.
	Properties map[string]string
	// LogDir, if set, receives the node logs in a fresh subdirectory
	// ensemble-* that is kept after the test. Default: inside the temporary
	// directory, removed at cleanup.
	LogDir string
	// StartTimeout bounds how long Start (per attempt) and Restart wait for
	// servers to come up. Default 60s.
	StartTimeout time.Duration
	// Standalone runs one Java server whose zoo.cfg has no server.N lines,
	// so QuorumPeerMain runs it as a standalone ZooKeeperServerMain (srvr
	// says "Mode: standalone"; zxids stay in epoch 0; acceptedEpoch and
	// currentEpoch are neither read nor written). Voters must then be 0
	// or 1, with no Observers or ExtraServers. Start waits until it
	// serves; WaitForLeader never succeeds.
	Standalone bool
	// Prepare, if set, is called for every Java server after its dataDir,
	// myid and zoo.cfg are written and before its JVM first starts (again,
	// on a fresh directory, for each start attempt after a port conflict),
	// e.g. to seed DataDir/version-2 with snapshot files. An error fails
	// Start.
	Prepare func(n *Node) error

	// allocPorts replaces freePorts in tests of the port-conflict retry.
	allocPorts func(n int) ([]int, error)
}

// Ensemble is a running set of ZooKeeper servers. Its methods are safe for
// concurrent use.
type Ensemble struct {
	tb      testing.TB
	opts    Options
	root    string // temporary directory, removed by Close
	logDir  string
	servers []string // server.N=... lines

	// all members sorted by id; java are the ones the harness runs.
	all  []*Node
	java []*Node

	closeOnce sync.Once
}

// Start starts an ensemble described by opts and waits until it is ready:
// every Java server is serving, exactly one is leader (unless extra
// participants make the Java voters a minority, see ServerSpec.Role). It
// calls t.Fatal on failure. It registers a t.Cleanup that calls Close.
func Start(tb testing.TB, opts Options) *Ensemble {
	tb.Helper()
	Require(tb)
	opts, err := normalize(opts)
	if err != nil {
		tb.Fatalf("ensemble: %v", err)
	}
	e := &Ensemble{tb: tb, opts: opts}
	tb.Cleanup(e.Close)

	root, err := os.MkdirTemp("", "zkensemble-")
	if err != nil {
		tb.Fatalf("ensemble: %v", err)
	}
	e.root = root
	e.logDir = filepath.Join(root, "logs")
	if opts.LogDir != "" {
		if err := os.MkdirAll(opts.LogDir, 0o755); err != nil {
			tb.Fatalf("ensemble: %v", err)
		}
		if e.logDir, err = os.MkdirTemp(opts.LogDir, "ensemble-"); err != nil {
			tb.Fatalf("ensemble: %v", err)
		}
	} else if err := os.MkdirAll(e.logDir, 0o755); err != nil {
		tb.Fatalf("ensemble: %v", err)
	}

	for attempt := 1; ; attempt++ {
		began := time.Now()
		err := e.tryStart()
		if err == nil {
			tb.Logf("ensemble: %d Java server(s) ready in %v (attempt %d, dir %s)",
				len(e.java), time.Since(began).Round(time.Millisecond), attempt, root)
			return e
		}
		if !errors.Is(err, errPortInUse) || attempt == startAttempts {
			tb.Fatalf("ensemble: start failed (attempt %d): %v", attempt, err)
		}
		tb.Logf("ensemble: attempt %d hit a port conflict, retrying with fresh ports: %v", attempt, err)
		e.killAll()
		for _, n := range e.java {
			os.RemoveAll(n.dir)
			os.Remove(n.LogFile)
		}
	}
}

// normalize applies defaults and validates opts.
func normalize(o Options) (Options, error) {
	if o.Standalone && o.Voters == 0 {
		o.Voters = 1
	}
	if o.Voters == 0 {
		o.Voters = DefaultVoters
	}
	if o.TickTime == 0 {
		o.TickTime = DefaultTickTime
	}
	if o.InitLimit == 0 {
		o.InitLimit = DefaultInitLimit
	}
	if o.SyncLimit == 0 {
		o.SyncLimit = DefaultSyncLimit
	}
	if o.StartTimeout == 0 {
		o.StartTimeout = DefaultStartTimeout
	}
	if o.Voters < 0 || o.Observers < 0 || o.TickTime < 0 || o.InitLimit < 0 || o.SyncLimit < 0 {
		return o, errors.New("negative count in Options")
	}
	if o.Standalone && (o.Voters != 1 || o.Observers != 0 || len(o.ExtraServers) != 0) {
		return o, errors.New("a Standalone server is one Java server: no more Voters, no Observers or ExtraServers")
	}
	o.ExtraServers = slices.Clone(o.ExtraServers)
	used := map[int]bool{}
	for id := 1; id <= o.Voters+o.Observers; id++ {
		used[id] = true
	}
	next := o.Voters + o.Observers + 1
	for i := range o.ExtraServers {
		s := &o.ExtraServers[i]
		switch s.Role {
		case "":
			s.Role = RoleObserver
		case RoleObserver, RoleParticipant:
		default:
			return o, fmt.Errorf("ExtraServers[%d]: unknown role %q", i, s.Role)
		}
		if s.ID == 0 {
			for used[next] {
				next++
			}
			s.ID = next
		}
		if s.ID < 0 || used[s.ID] {
			return o, fmt.Errorf("ExtraServers[%d]: server id %d is invalid or already used", i, s.ID)
		}
		used[s.ID] = true
	}
	return o, nil
}

// tryStart allocates ports, writes configuration and starts every Java
// server, then waits for readiness. On error the started processes are left
// for the caller (killAll / Close) to reap.
func (e *Ensemble) tryStart() error {
	o := e.opts
	nJava := o.Voters + o.Observers
	alloc := freePorts
	if o.allocPorts != nil {
		alloc = o.allocPorts
	}
	ports, err := alloc(3 * (nJava + len(o.ExtraServers)))
	if err != nil {
		return err
	}
	e.all, e.java = nil, nil
	mk := func(id int, role string, external bool) *Node {
		p := ports[:3]
		ports = ports[3:]
		n := &Node{
			ID:           id,
			Role:         role,
			External:     external,
			ClientPort:   p[0],
			QuorumPort:   p[1],
			ElectionPort: p[2],
			ClientAddr:   net.JoinHostPort("127.0.0.1", strconv.Itoa(p[0])),
			QuorumAddr:   net.JoinHostPort("127.0.0.1", strconv.Itoa(p[1])),
			ElectionAddr: net.JoinHostPort("127.0.0.1", strconv.Itoa(p[2])),
			e:            e,
		}
		if !external {
			n.dir = filepath.Join(e.root, fmt.Sprintf("node-%d", id))
			n.DataDir = filepath.Join(n.dir, "data")
			n.ConfigFile = filepath.Join(n.dir, "zoo.cfg")
			n.LogFile = filepath.Join(e.logDir, fmt.Sprintf("node-%d.log", id))
		}
		return n
	}
	for id := 1; id <= nJava; id++ {
		role := RoleParticipant
		if id > o.Voters {
			role = RoleObserver
		}
		n := mk(id, role, false)
		e.all = append(e.all, n)
		e.java = append(e.java, n)
	}
	for _, s := range o.ExtraServers {
		e.all = append(e.all, mk(s.ID, s.Role, true))
	}
	sort.Slice(e.all, func(i, j int) bool { return e.all[i].ID < e.all[j].ID })

	e.servers = nil
	for _, n := range e.all {
		if o.Standalone {
			break // no server.N lines: QuorumPeerMain runs it standalone
		}
		line := fmt.Sprintf("server.%d=127.0.0.1:%d:%d", n.ID, n.QuorumPort, n.ElectionPort)
		if n.Role == RoleObserver {
			line += ":observer"
		}
		e.servers = append(e.servers, line)
	}

	for _, n := range e.java {
		if err := e.writeNodeFiles(n); err != nil {
			return err
		}
		if o.Prepare != nil {
			if err := o.Prepare(n); err != nil {
				return fmt.Errorf("preparing server %d: %w", n.ID, err)
			}
		}
	}
	for _, n := range e.java {
		if err := n.start(nil); err != nil {
			return err
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), o.StartTimeout)
	defer cancel()
	return e.waitReady(ctx)
}

// writeNodeFiles creates the node's directories, myid and zoo.cfg.
func (e *Ensemble) writeNodeFiles(n *Node) error {
	if err := os.MkdirAll(n.DataDir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(n.DataDir, "myid"), []byte(strconv.Itoa(n.ID)+"\n"), 0o644); err != nil {
		return err
	}
	return os.WriteFile(n.ConfigFile, []byte(e.zooCfg(n)), 0o644)
}

// zooCfg renders the zoo.cfg of Java server n.
func (e *Ensemble) zooCfg(n *Node) string {
	o := e.opts
	type kv struct{ k, v string }
	props := []kv{
		{"tickTime", strconv.Itoa(o.TickTime)},
		{"initLimit", strconv.Itoa(o.InitLimit)},
		{"syncLimit", strconv.Itoa(o.SyncLimit)},
		{"dataDir", n.DataDir},
		{"clientPort", strconv.Itoa(n.ClientPort)},
		{"clientPortAddress", "127.0.0.1"},
		{"4lw.commands.whitelist", "*"},
		{"admin.enableServer", "false"},
	}
	if !o.Standalone {
		props = append(props,
			// Keeps a one-voter ensemble in quorum mode (leader, not standalone).
			kv{"standaloneEnabled", "false"},
			kv{"reconfigEnabled", "false"})
	}
	if n.Role == RoleObserver {
		props = append(props, kv{"peerType", "observer"})
	}
	var extra []string
	for k, v := range o.Properties {
		i := slices.IndexFunc(props, func(p kv) bool { return p.k == k })
		if i >= 0 {
			props[i].v = v
		} else {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	for _, k := range extra {
		props = append(props, kv{k, o.Properties[k]})
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# generated by zkobserver internal/ensemble for server %d (%s)\n", n.ID, n.Role)
	for _, p := range props {
		fmt.Fprintf(&b, "%s=%s\n", p.k, p.v)
	}
	for _, l := range e.servers {
		b.WriteString(l + "\n")
	}
	return b.String()
}

// freePorts returns n distinct TCP ports that were free on 127.0.0.1. All
// listeners are held open until every port is chosen, so the ports are
// distinct; they are closed before returning, so another process may still
// grab one (Start retries in that case).
func freePorts(n int) ([]int, error) {
	ls := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("allocating port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// Close kills (SIGKILL) every Java server of the ensemble, waits for the
// processes to be reaped, logs the tail of every node log via t.Log if the
// test has failed, and removes the temporary directory. It is idempotent and
// is called automatically by the cleanup registered in Start.
func (e *Ensemble) Close() {
	e.closeOnce.Do(func() {
		e.killAll()
		if e.tb.Failed() {
			e.dumpLogs()
		}
		if e.root != "" {
			if err := os.RemoveAll(e.root); err != nil {
				e.tb.Logf("ensemble: removing %s: %v", e.root, err)
			}
		}
	})
}

// killAll SIGKILLs every running Java server and waits for all of them.
func (e *Ensemble) killAll() {
	for _, n := range e.java {
		n.signal(sigKill)
	}
	for _, n := range e.java {
		if p := n.current(); p != nil {
			select {
			case <-p.done:
			case <-time.After(30 * time.Second):
				e.tb.Errorf("ensemble: node %d (pid %d) did not exit 30s after SIGKILL", n.ID, p.pid)
			}
		}
	}
}

// dumpLogs logs the last logTailLines lines of every Java server's log.
func (e *Ensemble) dumpLogs() {
	for _, n := range e.java {
		tail, err := n.logTail(logTailLines)
		if err != nil {
			e.tb.Logf("ensemble: node %d log %s: %v", n.ID, n.LogFile, err)
			continue
		}
		e.tb.Logf("ensemble: ---- node %d (%s) log %s, last %d lines ----\n%s",
			n.ID, n.Role, n.LogFile, logTailLines, tail)
	}
}

// logTailLines is how many lines of each node log are dumped on failure.
const logTailLines = 200

// Nodes returns the Java servers run by the harness, sorted by id.
func (e *Ensemble) Nodes() []*Node { return slices.Clone(e.java) }

// Extras returns the members declared by Options.ExtraServers (External
// nodes, not run by the harness), sorted by id, with their allocated ports.
func (e *Ensemble) Extras() []*Node {
	var out []*Node
	for _, n := range e.all {
		if n.External {
			out = append(out, n)
		}
	}
	return out
}

// Node returns the member with the given server id (Java server or extra
// server), or nil.
func (e *Ensemble) Node(id int) *Node {
	for _, n := range e.all {
		if n.ID == id {
			return n
		}
	}
	return nil
}

// javaNode returns the Java server with the given id or an error.
func (e *Ensemble) javaNode(id int) (*Node, error) {
	n := e.Node(id)
	if n == nil {
		return nil, fmt.Errorf("ensemble: no server with id %d", id)
	}
	if n.External {
		return nil, fmt.Errorf("ensemble: server %d is an extra server, not run by the harness", id)
	}
	return n, nil
}

// ClientAddrs returns "127.0.0.1:port" of every Java server whose process is
// currently running, sorted by id.
func (e *Ensemble) ClientAddrs() []string {
	var out []string
	for _, n := range e.java {
		if n.Running() {
			out = append(out, n.ClientAddr)
		}
	}
	return out
}

// ConnectString returns ClientAddrs joined by commas, as a ZooKeeper client
// connect string.
func (e *Ensemble) ConnectString() string { return strings.Join(e.ClientAddrs(), ",") }

// ServerLines returns the "server.N=127.0.0.1:quorumPort:electionPort[:observer]"
// lines present in every Java server's zoo.cfg (including ExtraServers), in
// id order, e.g. to configure a Go observer.
func (e *Ensemble) ServerLines() []string { return slices.Clone(e.servers) }

// ZooCfg returns the path of the zoo.cfg of Java server id, or "" if there is
// no such Java server.
func (e *Ensemble) ZooCfg(id int) string {
	if n, err := e.javaNode(id); err == nil {
		return n.ConfigFile
	}
	return ""
}

// Dir returns the ensemble's temporary directory (removed by Close).
func (e *Ensemble) Dir() string { return e.root }

// Options returns the options after defaults were applied (ExtraServers have
// their ids and roles filled in).
func (e *Ensemble) Options() Options { return e.opts }

// quorumSize is the number of participants (Java and extra) that form a
// majority.
func (e *Ensemble) quorumSize() int {
	voters := 0
	for _, n := range e.all {
		if n.Role == RoleParticipant {
			voters++
		}
	}
	return voters/2 + 1
}

// javaQuorum reports whether the Java voters alone form a quorum.
func (e *Ensemble) javaQuorum() bool {
	return e.opts.Voters >= e.quorumSize()
}
