package fourletter

import (
	"context"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkobserver/zkobserver/core/proto"
	"github.com/zkobserver/zkobserver/core/watch"
	"github.com/zkobserver/zkobserver/internal/ensemble"
)

// TestJavaObserverLayout asks a real Java 3.8 observer, with a client
// session holding an ephemeral znode and a data watch, for every word we
// answer, then renders ours from a fake Server holding the values Java
// printed and requires the same bytes (except the version, which differs
// by design). For mntr, ours must be Java's lines restricted to the keys
// we print, in Java's order; for envi, Java's keys other than java.* in
// Java's order.
func TestJavaObserverLayout(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Java ensemble")
	}
	e := ensemble.Start(t, ensemble.Options{Voters: 3, Observers: 1,
		Properties: map[string]string{"4lw.commands.whitelist": "*"}})
	const obs = 4
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	c, _, err := zk.Connect([]string{e.Node(obs).ClientAddr}, 4*time.Second, zk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	if _, err := c.Create("/fl", []byte("x"), zk.FlagEphemeral, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := c.GetW("/fl"); err != nil {
		t.Fatal(err)
	}
	sid := c.SessionID()

	ask := func(word string) string {
		t.Helper()
		out, err := e.FourLetter(ctx, obs, word)
		if err != nil {
			t.Fatalf("%s: %v", word, err)
		}
		return out
	}
	fixedSys(t)
	javaVersion := ""

	for _, word := range []string{Ruok, Isro, Srvr, Stat, Cons, Conf, Dirs, Mntr, Wchs, Wchc, Wchp} {
		java := ask(word)
		s := newFake(Observing)
		s.conns = nil
		s.config = Config{}
		s.stats = Stats{ResponseSize: NoBuffers, Leader: -1}
		m := watch.New()
		m.AddDataWatch("/fl", sessionWatcher{sid})
		s.watches = m
		if v, ok := strings.CutPrefix(firstLine(java), "Zookeeper version: "); ok {
			javaVersion = v
		}
		switch word {
		case Srvr, Stat:
			s.stats = statsFromSrvr(t, java)
			s.conns = connsFrom(t, java)
		case Cons:
			s.conns = connsFrom(t, java)
		case Conf, Dirs:
			s.config = configFrom(t, java)
		case Mntr:
			s.stats, javaVersion = statsFromMntr(t, java, s.stats)
		}
		if javaVersion == "" {
			javaVersion = "unknown"
		}
		s.version = javaVersion
		var b strings.Builder
		if err := Write(&b, word, s); err != nil {
			t.Fatalf("%s: %v", word, err)
		}
		ours := b.String()
		if word == Mntr {
			java = onlyKeys(java, ours)
		}
		if ours != java {
			t.Errorf("%s: ours\n%s\nJava's\n%s", word, ours, java)
		}
	}

	// envi: Java's keys, without the java.* ones, in Java's order.
	java := keys(ask(Envi), "=")
	java = slices.DeleteFunc(java, func(k string) bool { return strings.HasPrefix(k, "java.") })
	environment = processEnvironment
	var b strings.Builder
	if err := Write(&b, Envi, newFake(Observing)); err != nil {
		t.Fatal(err)
	}
	ours := slices.DeleteFunc(keys(b.String(), "="), func(k string) bool { return strings.HasPrefix(k, "go.") })
	if !slices.Equal(ours, java) {
		t.Errorf("envi keys: ours %q, Java's %q", ours, java)
	}
}

type sessionWatcher struct{ id int64 }

func (w sessionWatcher) Process(proto.WatcherEvent) {}
func (w sessionWatcher) SessionID() int64           { return w.id }

func firstLine(s string) string { l, _, _ := strings.Cut(s, "\n"); return l }

// keys returns, per line, the part before sep (the whole line without it).
func keys(text, sep string) []string {
	var ks []string
	for _, l := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		k, _, _ := strings.Cut(l, sep)
		ks = append(ks, k)
	}
	return ks
}

// onlyKeys returns java's mntr lines whose key ours has, in java's order,
// with java's version replaced by ours.
func onlyKeys(java, ours string) string {
	want := map[string]bool{}
	for _, k := range keys(ours, "\t") {
		want[k] = true
	}
	var b strings.Builder
	for _, l := range strings.SplitAfter(java, "\n") {
		if k, _, _ := strings.Cut(l, "\t"); want[k] {
			b.WriteString(l)
		}
	}
	return b.String()
}

func num(t *testing.T, s string) int64 {
	t.Helper()
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("number %q: %v", s, err)
	}
	return v
}

// latency builds a Summary whose Avg is the Java double avg (four
// decimals at most) and whose min and max are as given.
func latency(t *testing.T, min, avg, max string) Summary {
	t.Helper()
	f, err := strconv.ParseFloat(avg, 64)
	if err != nil {
		t.Fatal(err)
	}
	s := Summary{Min: num(t, min), Max: num(t, max)}
	if f != 0 {
		s.Count, s.Sum = 10000, int64(f*10000+0.5)
	}
	return s
}

var srvrLine = regexp.MustCompile(`(?m)^Latency min/avg/max: (\d+)/([\d.E-]+)/(\d+)\nReceived: (\d+)\nSent: (\d+)\nConnections: (\d+)\nOutstanding: (\d+)\nZxid: 0x([0-9a-f]+)\nMode: observer\nNode count: (\d+)\n$`)

func statsFromSrvr(t *testing.T, java string) Stats {
	t.Helper()
	m := srvrLine.FindStringSubmatch(java)
	if m == nil {
		t.Fatalf("srvr/stat: unexpected layout:\n%s", java)
	}
	z, _ := strconv.ParseUint(m[8], 16, 64)
	return Stats{Latency: latency(t, m[1], m[2], m[3]), PacketsReceived: num(t, m[4]), PacketsSent: num(t, m[5]),
		Connections: int(num(t, m[6])), Outstanding: num(t, m[7]), LastZxid: int64(z), NodeCount: int(num(t, m[9]))}
}

var consLine = regexp.MustCompile(`^ (\S+)\[([0-9a-f]+)\]\(queued=(\d+),recved=(\d+),sent=(\d+)` +
	`(?:,sid=0x([0-9a-f]+),lop=(\w+),est=(\d+),to=(\d+)(?:,lcxid=0x([0-9a-f]+))?,lzxid=0x([0-9a-f]+),lresp=(\d+),llat=(\d+),minlat=(\d+),avglat=(\d+),maxlat=(\d+))?\)$`)

func connsFrom(t *testing.T, java string) []Connection {
	t.Helper()
	var cs []Connection
	for _, l := range strings.Split(java, "\n") {
		m := consLine.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		ops, _ := strconv.ParseInt(m[2], 16, 32)
		c := Connection{Remote: m[1], InterestOps: int(ops), Queued: num(t, m[3]), Received: num(t, m[4]), Sent: num(t, m[5])}
		if m[6] != "" {
			id, _ := strconv.ParseUint(m[6], 16, 64)
			c.SessionID, c.LastOp, c.Established, c.Timeout = int64(id), m[7], time.UnixMilli(num(t, m[8])), int32(num(t, m[9]))
			c.LastCxid = -1
			if m[10] != "" {
				v, _ := strconv.ParseUint(m[10], 16, 64)
				c.LastCxid = int64(v)
			}
			z, _ := strconv.ParseUint(m[11], 16, 64)
			c.LastZxid, c.LastResponse, c.LastLatency = int64(z), num(t, m[12]), num(t, m[13])
			c.Latency = Summary{Count: 1, Sum: num(t, m[15]), Min: num(t, m[14]), Max: num(t, m[16])}
		}
		cs = append(cs, c)
	}
	if len(cs) == 0 && strings.Contains(java, "(") {
		t.Fatalf("no connection line parsed in:\n%s", java)
	}
	return cs
}

func configFrom(t *testing.T, java string) Config {
	t.Helper()
	var c Config
	head, membership, _ := strings.Cut(java, "membership: \n")
	c.Membership = membership
	ports := func(v string) (ps []int) {
		for _, p := range strings.Split(v, "|") {
			ps = append(ps, int(num(t, p)))
		}
		return ps
	}
	for _, l := range strings.Split(strings.TrimSuffix(head, "\n"), "\n") {
		k, v, _ := strings.Cut(l, "=")
		if strings.HasPrefix(l, "datadir_size: ") {
			c.DataDirSize = num(t, strings.TrimPrefix(l, "datadir_size: "))
			continue
		}
		if strings.HasPrefix(l, "logdir_size: ") {
			c.DataLogSize = num(t, strings.TrimPrefix(l, "logdir_size: "))
			continue
		}
		i := func(p *int) { *p = int(num(t, v)) }
		switch k {
		case "clientPort":
			i(&c.ClientPort)
		case "secureClientPort":
			i(&c.SecureClientPort)
		case "dataDir":
			c.DataDir = v
		case "dataDirSize":
			c.DataDirSize = num(t, v)
		case "dataLogDir":
			c.DataLogDir = v
		case "dataLogSize":
			c.DataLogSize = num(t, v)
		case "tickTime":
			i(&c.TickTime)
		case "maxClientCnxns":
			i(&c.MaxClientCnxns)
		case "minSessionTimeout":
			i(&c.MinSessionTimeout)
		case "maxSessionTimeout":
			i(&c.MaxSessionTimeout)
		case "clientPortListenBacklog":
			i(&c.ClientPortListenBacklog)
		case "serverId":
			c.ServerID = num(t, v)
		case "initLimit":
			i(&c.InitLimit)
		case "syncLimit":
			i(&c.SyncLimit)
		case "electionAlg":
			i(&c.ElectionAlg)
		case "electionPort":
			c.ElectionPorts = ports(v)
		case "quorumPort":
			c.QuorumPorts = ports(v)
		case "peerType":
			i(&c.PeerType)
		default:
			t.Fatalf("conf/dirs: unexpected line %q", l)
		}
	}
	return c
}

// statsFromMntr fills s from the mntr keys we print and returns Java's
// version; file descriptor counts go to fileDescriptors.
func statsFromMntr(t *testing.T, java string, s Stats) (Stats, string) {
	t.Helper()
	v := map[string]string{}
	for _, l := range strings.Split(strings.TrimSuffix(java, "\n"), "\n") {
		k, val, ok := strings.Cut(l, "\t")
		if !ok {
			t.Fatalf("mntr: line without a tab: %q", l)
		}
		v[strings.TrimPrefix(k, "zk_")] = val
	}
	n := func(k string) int64 {
		if _, ok := v[k]; !ok {
			t.Fatalf("mntr: Java printed no zk_%s", k)
		}
		return num(t, v[k])
	}
	s.Ephemerals, s.Connections = int(n("ephemerals_count")), int(n("num_alive_connections"))
	s.Latency = latency(t, v["min_latency"], v["avg_latency"], v["max_latency"])
	s.Outstanding, s.NodeCount = n("outstanding_requests"), int(n("znode_count"))
	s.GlobalSessions, s.LocalSessions = int(n("global_sessions")), int(n("local_sessions"))
	s.PacketsSent, s.PacketsReceived = n("packets_sent"), n("packets_received")
	s.ResponseSize = BufferStats{Last: int(n("last_client_response_size")), Min: int(n("min_client_response_size")), Max: int(n("max_client_response_size"))}
	s.ApproximateDataSize, s.Uptime = n("approximate_data_size"), time.Duration(n("uptime"))*time.Millisecond
	s.QuorumSize, s.Leader, s.DigestMismatches = int(n("quorum_size")), n("observer_master_id"), n("digest_mismatches_count")
	s.ObserverSync = Summary{Count: n("cnt_observer_sync_time"), Sum: n("sum_observer_sync_time"), Min: n("min_observer_sync_time"), Max: n("max_observer_sync_time")}
	open, max := n("open_file_descriptor_count"), n("max_file_descriptor_count")
	fileDescriptors = func() (int64, int64) { return open, max }
	if v["server_state"] != "observer" || v["peer_state"] != "observing - broadcast" {
		t.Errorf("Java observer: server_state %q, peer_state %q", v["server_state"], v["peer_state"])
	}
	return s, v["version"]
}
