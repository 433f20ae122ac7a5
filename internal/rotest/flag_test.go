package rotest

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/zkobserver/zkobserver/core/proto"
	"github.com/zkobserver/zkobserver/internal/bench"
	"github.com/zkobserver/zkobserver/internal/runproc"
	"github.com/zkobserver/zkobserver/storage"
	"github.com/zkobserver/zkobserver/storage/bolt"
)

// TestReadOnlyFlag: `zkobserver run` with a store that holds a tree and no
// reachable voter serves read-only clients by default, and with
// --read-only-on-quorum-loss=false admits nobody (isro "null"), as a Java
// observer without a leader.
func TestReadOnlyFlag(t *testing.T) {
	tr, err := bench.Tree(20, 16, 1)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	seedStore(t, func(dir string) (storage.Engine, error) { return bolt.Open(dir, bolt.Options{}) }, dir, tr)
	bin, err := runproc.Build(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	dead, client := freeAddr(t), freeAddr(t)
	for _, tc := range []struct {
		flag   string
		served bool
		isro   string
	}{
		{"", true, "ro"},
		{"--read-only-on-quorum-loss=true", true, "ro"},
		{"--read-only-on-quorum-loss=false", false, "null"},
	} {
		args := []string{"run", "--log-format", "json", "--ensemble", "1=" + dead, "--sid", "10", "--storage", "bolt",
			"--data", dir, "--client-addr", client, "--tick-time", "200ms", "--4lw-whitelist", "isro"}
		if tc.flag != "" {
			args = append(args, tc.flag)
		}
		c := runproc.Start(t, bin, args...)
		c.Next(30*time.Second, runproc.Msg("zkobserver starting"))
		if got := strings.TrimSpace(word(t, client, "isro")); got != tc.isro {
			t.Errorf("%q: isro = %q, want %q", tc.flag, got, tc.isro)
		}
		conn, err := net.DialTimeout("tcp", client, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		conn.Write(proto.AppendFrame(nil, &proto.ConnectRequest{TimeOut: 10000, Passwd: make([]byte, 16), ReadOnly: true, HasReadOnly: true}))
		n, err := conn.Read(make([]byte, 64))
		conn.Close()
		if served := err == nil && n > 0; served != tc.served {
			t.Errorf("%q: read-only client served = %v (%d bytes, %v), want %v", tc.flag, served, n, err, tc.served)
		}
		if err := c.Stop(30 * time.Second); err != nil {
			t.Fatal(err)
		}
	}
}
