package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zkobserver/zkobserver/internal/bench"
	"github.com/zkobserver/zkobserver/snapshot"
)

func runApp(t *testing.T, args ...string) (string, error) {
	t.Helper()
	app := newApp()
	var out bytes.Buffer
	app.Writer = &out
	app.ErrWriter = &out
	err := app.Run(append([]string{"zkobserver"}, args...))
	return out.String(), err
}

func TestSnapshotExportCommand(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	open, _ := engineFactory("pebble")
	if _, err := bench.BuildStore(open, store, 500, 16, nil); err != nil {
		t.Fatal(err)
	}
	outDir := filepath.Join(dir, "java")
	out, err := runApp(t, "snapshot", "export", "--storage", "pebble", "--data", store, "--out-dir", outDir, "--compression", "gz", "--no-sync")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	// BuildStore's tree is at zxid 500 (0x1f4): 500 znodes plus the four
	// built-in ones.
	path := filepath.Join(outDir, "version-2", "snapshot.1f4.gz")
	if !strings.Contains(out, "exported 504 znodes and 0 sessions at zxid 0x1f4") || !strings.Contains(out, path) {
		t.Fatalf("output %q", out)
	}
	s, err := snapshot.ReadSnapshot(path, nil)
	if err != nil || len(s.Nodes) != 504 || s.Digest.Zxid != 0x1f4 {
		t.Fatalf("read back: %v", err)
	}
	for _, f := range []string{"acceptedEpoch", "currentEpoch"} {
		if v, err := snapshot.ReadEpochFile(filepath.Join(outDir, "version-2", f)); err != nil || v != 0 {
			t.Fatalf("%s: %d %v", f, v, err)
		}
	}

	file := filepath.Join(dir, "tree.snap")
	if out, err = runApp(t, "snapshot", "export", "--storage", "pebble", "--data", store, "--out", file); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(out, "only under the name snapshot.1f4") {
		t.Fatalf("no naming note: %q", out)
	}
	if err := snapshot.QuickCheck(file); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--storage", "pebble", "--data", store}, "exactly one of --out"},
		{[]string{"--storage", "pebble", "--data", store, "--out", file, "--out-dir", outDir}, "exactly one of --out"},
		{[]string{"--storage", "pebble", "--data", store, "--out", file, "--compression", "gz"}, "go with --out-dir"},
		{[]string{"--storage", "pebble", "--data", store, "--out-dir", outDir, "--compression", "zip"}, "not none, gz or snappy"},
		{[]string{"--storage", "pebble", "--data", filepath.Join(dir, "nothing"), "--out", file}, "no pebble store at"},
		{[]string{"--storage", "memory", "--data", store, "--out", file}, "keeps nothing on disk"},
		{[]string{"--storage", "lsm", "--data", store, "--out", file}, "unknown storage engine"},
		{[]string{"--storage", "pebble", "--data", store, "--out", filepath.Join(dir, "snapshot.1")}, "names zxid 0x1 but the tree is at zxid 0x1f4"},
		{[]string{"--storage", "pebble", "--data", store, "--out-dir", outDir}, "already holds ZooKeeper files"},
	} {
		out, err := runApp(t, append([]string{"snapshot", "export"}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("export %v: %v (output %q), want an error containing %q", c.args, err, out, c.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "nothing")); !os.IsNotExist(err) {
		t.Fatalf("export created a store where there was none: %v", err)
	}
}
