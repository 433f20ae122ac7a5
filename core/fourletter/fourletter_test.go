package fourletter

import (
	"errors"
	"io"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/zkobserver/zkobserver/core/watch"
)

var _ Watches = (*watch.Manager)(nil)

type fakeWatches struct{ count int }

func (f fakeWatches) WatchCount() int { return f.count }
func (f fakeWatches) WriteWchs(w io.Writer) error {
	_, err := io.WriteString(w, "1 connections watching 1 paths\nTotal watches:1\n")
	return err
}
func (f fakeWatches) WriteWchc(w io.Writer) error {
	_, err := io.WriteString(w, "0x100000000000000\n\t/a\n\n")
	return err
}
func (f fakeWatches) WriteWchp(w io.Writer) error {
	_, err := io.WriteString(w, "/a\n\t0x100000000000000\n\n")
	return err
}

// fakeServer is a Server with fixed answers.
type fakeServer struct {
	version     string
	state       State
	stats       Stats
	conns       []Connection
	config      Config
	watches     Watches
	statsResets int
	cnxnResets  int
}

func (f *fakeServer) Version() string           { return f.version }
func (f *fakeServer) State() State              { return f.state }
func (f *fakeServer) Stats() Stats              { return f.stats }
func (f *fakeServer) Connections() []Connection { return f.conns }
func (f *fakeServer) Config() Config            { return f.config }
func (f *fakeServer) Watches() Watches          { return f.watches }
func (f *fakeServer) ResetStats()               { f.statsResets++ }
func (f *fakeServer) ResetConnectionStats()     { f.cnxnResets++ }

const testVersion = "3.8.0-zkobserver-v1.2.3, built on 2025-01-02 03:04 UTC"

func newFake(st State) *fakeServer {
	est := time.UnixMilli(1700000000123)
	return &fakeServer{
		version: testVersion,
		state:   st,
		stats: Stats{
			LastZxid: 0x100000003, NodeCount: 7,
			PacketsReceived: 10, PacketsSent: 9,
			Latency:     Summary{Count: 3, Sum: 5, Min: 0, Max: 4},
			Outstanding: 0, Connections: 2, Ephemerals: 1, ApproximateDataSize: 222,
			GlobalSessions: 2, LocalSessions: 1, Uptime: 4321 * time.Millisecond,
			ResponseSize: BufferStats{Last: 16, Min: 16, Max: 120},
			QuorumSize:   3, Leader: 3, DigestMismatches: 0,
			ObserverSync:       Summary{Count: 1, Sum: 42, Min: 42, Max: 42},
			SinceLeaderContact: 12345 * time.Millisecond,
		},
		conns: []Connection{
			{Remote: "/127.0.0.1:43374", InterestOps: OpRead, Received: 5, Sent: 4, SessionID: 0x100000000000000,
				LastOp: "GETD", Established: est, Timeout: 4000, LastCxid: 3, LastZxid: 0x100000003,
				LastResponse: 123456789, LastLatency: 1, Latency: Summary{Count: 4, Sum: 7, Min: 0, Max: 4}},
			{Remote: "/127.0.0.1:43380", Received: 1},
		},
		config: Config{
			ClientPort: 2181, SecureClientPort: -1,
			DataDir: "/var/lib/zkobserver", DataDirSize: 1000, DataLogDir: "/var/lib/zkobserver", DataLogSize: 1000,
			TickTime: 2000, MaxClientCnxns: 60, MinSessionTimeout: 4000, MaxSessionTimeout: 40000,
			ClientPortListenBacklog: -1, ServerID: 10, InitLimit: 10, SyncLimit: 5, ElectionAlg: 3,
			ElectionPorts: []int{3888}, QuorumPorts: []int{2888}, PeerType: 1,
			Membership: "server.1=127.0.0.1:2888:3888:participant\nserver.10=127.0.0.1:2889:3889:observer\nversion=0",
		},
		watches: fakeWatches{count: 2},
	}
}

func TestLookup(t *testing.T) {
	known := []string{"conf", "cons", "crst", "dirs", "dump", "envi", "gtmk", "ruok", "stmk", "srvr", "srst", "stat", "wchc", "wchp", "wchs", "mntr", "isro", "hash"}
	for _, w := range known {
		var b [4]byte
		copy(b[:], w)
		got, ok := Lookup(b)
		if !ok || got != w {
			t.Errorf("Lookup(%q) = %q, %v", w, got, ok)
		}
	}
	if got, ok := Lookup([4]byte{0xff, 0xf4, 0xff, 0xfd}); !ok || got != TelnetClose {
		t.Errorf("Lookup(telnet IAC IP) = %q, %v", got, ok)
	}
	// Frame lengths, other words and case variants are not words.
	for _, b := range [][4]byte{{0, 0, 0, 45}, {'R', 'U', 'O', 'K'}, {'k', 'i', 'l', 'l'}, {'d', 'i', 'r', 'e'}} {
		if w, ok := Lookup(b); ok {
			t.Errorf("Lookup(%q) = %q, want not a word", b[:], w)
		}
	}
}

func TestWhitelist(t *testing.T) {
	all := append([]string{TelnetClose}, strings.Fields("conf cons crst dirs dump envi gtmk ruok stmk srvr srst stat wchc wchp wchs mntr isro hash")...)
	tests := []struct {
		list    string
		ro      bool
		allowed []string
	}{
		{"", false, []string{"srvr"}},
		{"", true, []string{"srvr", "isro"}},
		{"ruok", false, []string{"srvr", "ruok"}},
		{" ruok , mntr,,stat ", false, []string{"srvr", "ruok", "mntr", "stat"}},
		{"*", false, all},
		{"ruok, *", false, all},
		{"bogus", false, []string{"srvr"}},
	}
	for _, tc := range tests {
		wl := ParseWhitelist(tc.list, tc.ro)
		for _, w := range all {
			want := false
			for _, a := range tc.allowed {
				want = want || a == w
			}
			if got := wl.Allowed(w); got != want {
				t.Errorf("ParseWhitelist(%q, %v).Allowed(%q) = %v, want %v", tc.list, tc.ro, w, got, want)
			}
		}
	}
	var zero Whitelist
	if !zero.Allowed(Srvr) || zero.Allowed(Ruok) {
		t.Error("zero Whitelist: want only srvr")
	}
	var b strings.Builder
	if err := WriteRefusal(&b, "mntr"); err != nil || b.String() != "mntr is not executed because it is not in the whitelist.\n" {
		t.Errorf("WriteRefusal = %q, %v", b.String(), err)
	}
}

func fixedSys(t *testing.T) {
	t.Helper()
	env, fds := environment, fileDescriptors
	environment = func() []KV {
		return []KV{{"host.name", "h"}, {"go.version", "go1.26"}, {"os.memory.max", "<NA>"}}
	}
	fileDescriptors = func() (int64, int64) { return 45, 20000 }
	t.Cleanup(func() { environment, fileDescriptors = env, fds })
}

const wantMntrTail = `zk_ephemerals_count	1
zk_num_alive_connections	2
zk_avg_latency	1.6667
zk_outstanding_requests	0
zk_znode_count	7
zk_global_sessions	2
zk_last_client_response_size	16
zk_packets_sent	9
zk_packets_received	10
zk_max_client_response_size	120
zk_watch_count	2
zk_min_latency	0
zk_max_file_descriptor_count	20000
zk_approximate_data_size	222
zk_open_file_descriptor_count	45
zk_local_sessions	1
zk_uptime	4321
zk_max_latency	4
zk_min_client_response_size	16
zk_quorum_size	3
zk_digest_mismatches_count	0
zk_avg_observer_sync_time	42.0
zk_min_observer_sync_time	42
zk_max_observer_sync_time	42
zk_cnt_observer_sync_time	1
zk_sum_observer_sync_time	42
`

func TestWriteGolden(t *testing.T) {
	fixedSys(t)
	statTail := "Latency min/avg/max: 0/1.6667/4\nReceived: 10\nSent: 9\nConnections: 2\nOutstanding: 0\nZxid: 0x100000003\n"
	clients := "Clients:\n /127.0.0.1:43374[1](queued=0,recved=5,sent=4)\n /127.0.0.1:43380[0](queued=0,recved=1,sent=0)\n\n"
	confHead := "clientPort=2181\nsecureClientPort=-1\ndataDir=/var/lib/zkobserver\ndataDirSize=1000\ndataLogDir=/var/lib/zkobserver\ndataLogSize=1000\n" +
		"tickTime=2000\nmaxClientCnxns=60\nminSessionTimeout=4000\nmaxSessionTimeout=40000\nclientPortListenBacklog=-1\nserverId=10\n" +
		"initLimit=10\nsyncLimit=5\nelectionAlg=3\nelectionPort=3888\nquorumPort=2888\npeerType=1\n"
	tests := []struct {
		word  string
		state State
		want  string
	}{
		{Ruok, Observing, "imok"},
		{Ruok, Stopped, "imok"},
		{Isro, Observing, "rw"},
		{Isro, ReadOnly, "ro"},
		{Isro, Stopped, "null"},
		{Srvr, Observing, "Zookeeper version: " + testVersion + "\n" + statTail + "Mode: observer\nNode count: 7\n"},
		{Srvr, ReadOnly, "Zookeeper version: " + testVersion + "\nREAD-ONLY mode; serving only read-only clients\nLast leader contact: 12.345 s ago\n" + statTail + "Mode: read-only\nNode count: 7\n"},
		{Stat, Observing, "Zookeeper version: " + testVersion + "\n" + clients + statTail + "Mode: observer\nNode count: 7\n"},
		{Stat, ReadOnly, "Zookeeper version: " + testVersion + "\nREAD-ONLY mode; serving only read-only clients\nLast leader contact: 12.345 s ago\n" + clients + statTail + "Mode: read-only\nNode count: 7\n"},
		{Mntr, Observing, "zk_version\t" + testVersion + "\nzk_server_state\tobserver\nzk_peer_state\tobserving - broadcast\nzk_observer_master_id\t3\n" + wantMntrTail},
		{Mntr, ReadOnly, "zk_version\t" + testVersion + "\nzk_server_state\tread-only\n" + wantMntrTail +
			"zk_read_only\t1\nzk_served_zxid\t4294967299\nzk_seconds_since_leader_contact\t12.345\n"},
		{Conf, Observing, confHead + "membership: \nserver.1=127.0.0.1:2888:3888:participant\nserver.10=127.0.0.1:2889:3889:observer\nversion=0"},
		{Conf, ReadOnly, confHead},
		{Cons, Observing, " /127.0.0.1:43374[1](queued=0,recved=5,sent=4,sid=0x100000000000000,lop=GETD,est=1700000000123,to=4000,lcxid=0x3," +
			"lzxid=0x100000003,lresp=123456789,llat=1,minlat=0,avglat=1,maxlat=4)\n /127.0.0.1:43380[0](queued=0,recved=1,sent=0)\n\n"},
		{Wchs, Observing, "1 connections watching 1 paths\nTotal watches:1\n"},
		{Wchc, ReadOnly, "0x100000000000000\n\t/a\n\n"},
		{Wchp, Observing, "/a\n\t0x100000000000000\n\n"},
		{Dirs, Observing, "datadir_size: 1000\nlogdir_size: 1000\n"},
		{Envi, Observing, "Environment:\nzookeeper.version=" + testVersion + "\nhost.name=h\ngo.version=go1.26\nos.memory.max=<NA>\n"},
		{Envi, Stopped, "Environment:\nzookeeper.version=" + testVersion + "\nhost.name=h\ngo.version=go1.26\nos.memory.max=<NA>\n"},
		{TelnetClose, Observing, ""},
	}
	for _, w := range strings.Fields("srvr stat mntr conf cons wchs wchc wchp dirs crst srst") {
		tests = append(tests, struct {
			word  string
			state State
			want  string
		}{w, Stopped, NotServing + "\n"})
	}
	for _, tc := range tests {
		var b strings.Builder
		if err := Write(&b, tc.word, newFake(tc.state)); err != nil {
			t.Errorf("Write(%s, state %d): %v", tc.word, tc.state, err)
			continue
		}
		if b.String() != tc.want {
			t.Errorf("Write(%s, state %d) =\n%q\nwant\n%q", tc.word, tc.state, b.String(), tc.want)
		}
	}
}

func TestConnectionBeforeFirstReply(t *testing.T) {
	s := newFake(Observing)
	s.conns = []Connection{{Remote: "/[0:0:0:0:0:0:0:1]:5000", InterestOps: OpRead | OpWrite, SessionID: -2,
		LastOp: "NA", Established: time.UnixMilli(5), Timeout: 30000, LastCxid: -1, LastZxid: -1}}
	var b strings.Builder
	if err := Write(&b, Cons, s); err != nil {
		t.Fatal(err)
	}
	want := " /[0:0:0:0:0:0:0:1]:5000[5](queued=0,recved=0,sent=0,sid=0xfffffffffffffffe,lop=NA,est=5,to=30000," +
		"lzxid=0xffffffffffffffff,lresp=0,llat=0,minlat=0,avglat=0,maxlat=0)\n\n"
	if b.String() != want {
		t.Errorf("cons =\n%q\nwant\n%q", b.String(), want)
	}
}

func TestResets(t *testing.T) {
	s := newFake(Observing)
	var b strings.Builder
	if err := Write(&b, Srst, s); err != nil || b.String() != "Server stats reset.\n" || s.statsResets != 1 {
		t.Errorf("srst: %q, %v, resets %d", b.String(), err, s.statsResets)
	}
	b.Reset()
	if err := Write(&b, Crst, s); err != nil || b.String() != "Connection stats reset.\n" || s.cnxnResets != 1 {
		t.Errorf("crst: %q, %v, resets %d", b.String(), err, s.cnxnResets)
	}
	stopped := newFake(Stopped)
	Write(io.Discard, Srst, stopped)
	Write(io.Discard, Crst, stopped)
	if stopped.statsResets+stopped.cnxnResets != 0 {
		t.Error("resets ran while not serving")
	}
}

func TestUnsupportedAndUnknown(t *testing.T) {
	for _, w := range []string{Dump, Gtmk, Stmk, Hash} {
		var b strings.Builder
		if err := Write(&b, w, newFake(Observing)); !errors.Is(err, ErrUnsupported) || b.Len() != 0 {
			t.Errorf("Write(%s) = %q, %v; want nothing and ErrUnsupported", w, b.String(), err)
		}
	}
	if err := Write(io.Discard, "nope", newFake(Observing)); err == nil || errors.Is(err, ErrUnsupported) {
		t.Errorf("Write(unknown) = %v", err)
	}
}

func TestJavaFormats(t *testing.T) {
	for _, tc := range []struct {
		s    Summary
		want string
	}{
		{Summary{}, "0.0"},
		{Summary{Count: 3, Sum: 5}, "1.6667"},
		{Summary{Count: 2, Sum: 5}, "2.5"},
		{Summary{Count: 8, Sum: 1}, "0.125"},
		{Summary{Count: 20000, Sum: 1}, "1.0E-4"}, // 0.00005 rounds half up
		{Summary{Count: 3, Sum: 2}, "0.6667"},
		{Summary{Count: 1, Sum: 12345678}, "1.2345678E7"},
	} {
		if got := javaDouble(tc.s.Avg()); got != tc.want {
			t.Errorf("avg %d/%d = %s, want %s", tc.s.Sum, tc.s.Count, got, tc.want)
		}
	}
	var s Summary
	for _, v := range []int64{4, 0, 2} {
		s.Add(v)
	}
	if s != (Summary{Count: 3, Sum: 6, Min: 0, Max: 4}) {
		t.Errorf("Summary.Add: %+v", s)
	}
	for ap, want := range map[string]string{
		"127.0.0.1:43374":        "/127.0.0.1:43374",
		"[::ffff:10.0.0.1]:1":    "/10.0.0.1:1",
		"[::1]:2181":             "/[0:0:0:0:0:0:0:1]:2181",
		"[fe80::a:bc%eth0]:2181": "/[fe80:0:0:0:0:0:a:bc%eth0]:2181",
	} {
		if got := JavaAddr(netip.MustParseAddrPort(ap)); got != want {
			t.Errorf("JavaAddr(%s) = %s, want %s", ap, got, want)
		}
	}
	if got := FullVersion("v1", time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)); got != "3.8.0-zkobserver-v1, built on 2025-01-02 03:04 UTC" {
		t.Errorf("FullVersion = %q", got)
	}
}
