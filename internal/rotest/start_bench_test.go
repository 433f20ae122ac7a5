package rotest

import (
	"net"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/zkobserver/zkobserver/core/persist"
	"github.com/zkobserver/zkobserver/core/proto"
	"github.com/zkobserver/zkobserver/core/tree"
	"github.com/zkobserver/zkobserver/internal/bench"
	"github.com/zkobserver/zkobserver/internal/runproc"
	"github.com/zkobserver/zkobserver/storage"
	"github.com/zkobserver/zkobserver/storage/bolt"
	"github.com/zkobserver/zkobserver/storage/pebble"
)

// BenchmarkReadOnlyStart measures issue 7's acceptance 5 target: how soon
// after its process starts a zkobserver whose quorum is unreachable answers
// a read-only client from its engine. The store holds the benchmarks'
// 1M-znode tree (ZKOBSERVER_BENCH_ZNODES to change it), installed as a SNAP
// would; the ensemble it is given is one voter address nobody listens on.
// The time runs from exec to the getData reply of a client that dials as
// soon as the process logs "zkobserver starting" (the listener is up), with
// the store's files in the page cache, as after a kill and restart.
//
//	go test -run '^$' -bench ReadOnlyStart -benchtime 1x ./internal/rotest/
func BenchmarkReadOnlyStart(b *testing.B) {
	n := 1_000_000
	if s := os.Getenv("ZKOBSERVER_BENCH_ZNODES"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil {
			b.Fatal(err)
		}
		n = v
	}
	tr, err := bench.Tree(n, 128, 1)
	if err != nil {
		b.Fatal(err)
	}
	bin, err := runproc.Build(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	dead := freeAddr(b) // a voter nobody runs
	for _, engine := range []struct {
		name string
		open func(dir string) (storage.Engine, error)
	}{
		{"bolt", func(dir string) (storage.Engine, error) { return bolt.Open(dir, bolt.Options{}) }},
		{"pebble", func(dir string) (storage.Engine, error) { return pebble.Open(dir, pebble.Options{}) }},
	} {
		b.Run(engine.name, func(b *testing.B) {
			dir := b.TempDir()
			seedStore(b, engine.open, dir, tr)
			client := freeAddr(b)
			args := []string{"run", "--log-format", "json", "--ensemble", "1=" + dead, "--sid", "10",
				"--storage", engine.name, "--data", dir, "--client-addr", client, "--tick-time", "200ms"}
			var total time.Duration
			for range b.N {
				start := time.Now()
				c := runproc.Start(b, bin, args...)
				c.Next(60*time.Second, runproc.Msg("zkobserver starting"))
				raw := dialReadOnly(b, client)
				var gd proto.GetDataResponse
				h := raw.callDecode(proto.OpGetData, &proto.GetDataRequest{Path: "/bench0000/node000000"}, &gd)
				took := time.Since(start)
				if h.Err != proto.ErrOK || len(gd.Data) != 128 {
					b.Fatalf("read-only read: %+v", h)
				}
				total += took
				raw.conn.Close()
				if err := c.Stop(30 * time.Second); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(total.Seconds()/float64(b.N), "s_to_first_read")
			b.Logf("%s, %d znodes: first read-only read %v after exec", engine.name, n, (total / time.Duration(b.N)).Round(time.Millisecond))
		})
	}
}

// seedStore installs tr into a fresh store in dir, as a SNAP would.
func seedStore(tb testing.TB, open func(dir string) (storage.Engine, error), dir string, tr *tree.DataTree) {
	tb.Helper()
	eng, err := open(dir)
	if err != nil {
		tb.Fatal(err)
	}
	if err := persist.Install(eng, tr, storage.Meta{LastZxid: tr.LastZxid(), AcceptedEpoch: 1, CurrentEpoch: 1}); err != nil {
		tb.Fatal(err)
	}
	if err := eng.Close(); err != nil {
		tb.Fatal(err)
	}
}

// freeAddr returns a loopback address nothing listens on now.
func freeAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
