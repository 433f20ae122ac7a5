package main

import (
	"bytes"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/zkobserver/zkobserver/internal/restoretest"
	"github.com/zkobserver/zkobserver/snapshot"
	"github.com/zkobserver/zkobserver/storage"
)

// run runs the CLI with args and returns stdout, stderr and the error.
func run(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	app := newApp()
	var out, errOut bytes.Buffer
	app.Writer, app.ErrWriter = &out, &errOut
	err := app.Run(append([]string{"zkobserver"}, args...))
	return out.String(), errOut.String(), err
}

var summaryLine = regexp.MustCompile(`^restored zxid 0x[0-9a-f]+: \d+ znodes, \d+ sessions, digest -?\d+, from snapshot\.\S+ \+ \d+ txns in \d+ logs into \w+ in \S+\n$`)

// TestRestoreCommand restores the golden dataDir into each engine, then
// every damaged directory into the same engine: each fails with one line
// naming the file and offset, and the engine's content stays the same.
func TestRestoreCommand(t *testing.T) {
	for _, engine := range []string{"bolt", "pebble"} {
		t.Run(engine, func(t *testing.T) {
			data := filepath.Join(t.TempDir(), engine)
			out, _, err := run(t, "restore", "--from", restoretest.DataDir(t), "--storage", engine, "--data", data)
			if err != nil {
				t.Fatal(err)
			}
			if !summaryLine.MatchString(out) {
				t.Fatalf("summary %q", out)
			}
			before := engineListing(t, engine, data)
			if !strings.Contains(before, "LastZxid:73 ") { // 0x49
				t.Fatalf("engine after restore:\n%s", before)
			}
			for _, bad := range restoretest.Bads {
				dir := restoretest.DataDir(t)
				file := bad.Make(t, filepath.Join(dir, snapshot.VersionDir))
				out, _, err := run(t, "restore", "--from", dir, "--storage", engine, "--data", data)
				if out != "" {
					t.Errorf("%s: output %q", bad.Name, out)
				}
				restoretest.CheckError(t, err, bad, file)
				if got := engineListing(t, engine, data); got != before {
					t.Fatalf("%s: the engine changed:\n%s\nwas\n%s", bad.Name, got, before)
				}
			}
			// --to-zxid: an earlier state, from an older snapshot.
			out, _, err = run(t, "restore", "--from", restoretest.DataDir(t), "--storage", engine, "--data", data, "--to-zxid", "0x30")
			if err != nil || !strings.HasPrefix(out, "restored zxid 0x30: ") || !strings.Contains(out, "from snapshot.2d ") {
				t.Fatalf("--to-zxid 0x30: %q, %v", out, err)
			}
		})
	}
	if _, _, err := run(t, "restore", "--from", restoretest.DataDir(t), "--storage", "bolt"); err == nil {
		t.Fatal("bolt without --data accepted")
	}
	if _, _, err := run(t, "restore", "--from", restoretest.DataDir(t), "--storage", "memory", "--to-zxid", "zz"); err == nil {
		t.Fatal("bad --to-zxid accepted")
	}
}

func engineListing(t *testing.T, engine, data string) string {
	t.Helper()
	open, err := engineFactory(engine)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := open(data)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	return restoretest.EngineListing(t, storage.Engine(eng))
}
