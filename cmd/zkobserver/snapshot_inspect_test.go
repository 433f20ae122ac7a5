package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zkobserver/zkobserver/core/persist"
	"github.com/zkobserver/zkobserver/core/tree"
	"github.com/zkobserver/zkobserver/internal/restoretest"
	"github.com/zkobserver/zkobserver/snapshot"
)

func TestSnapshotInspectFile(t *testing.T) {
	file := filepath.Join(restoretest.GoldenDir(), "snapshot.45.gz")
	out, _, err := run(t, "snapshot", "inspect", "--top", "2", file)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"magic 0x5a4b534e (ZKSN), version 2, dbid -1; compression gz", "zxid:        0x45", "znodes:      35", "sessions:    3", "digest:      ok: ", "/n\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	out, _, err = run(t, "snapshot", "inspect", "--json", "--top", "1", file)
	var rep inspectReport
	if err != nil || json.Unmarshal([]byte(out), &rep) != nil {
		t.Fatalf("--json: %v\n%s", err, out)
	}
	if rep.Source != "file" || rep.Znodes != 35 || rep.Digest.Status != snapshot.DigestOK || len(rep.Largest) != 1 || rep.Largest[0].Path != "/n" {
		t.Fatalf("--json: %+v", rep)
	}
}

// TestSnapshotInspectDir inspects a dataDir (the restored tree, said so),
// and requires its --dump to equal the listing of the tree that restore
// put into an engine.
func TestSnapshotInspectDir(t *testing.T) {
	dir := restoretest.DataDir(t)
	out, _, err := run(t, "snapshot", "inspect", dir)
	if err != nil || !strings.Contains(out, "the tree restored from snapshot.49.snappy") {
		t.Fatalf("%v\n%s", err, out)
	}
	dump, _, err := run(t, "snapshot", "inspect", "--dump", dir)
	if err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	if _, _, err := run(t, "restore", "--from", dir, "--storage", "bolt", "--data", data); err != nil {
		t.Fatal(err)
	}
	open, _ := engineFactory("bolt")
	eng, err := open(data)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	tr, _, err := persist.LoadTree(eng, tree.Options{ExtendedTypes: true})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := snapshot.DumpTree(&b, tr); err != nil {
		t.Fatal(err)
	}
	if b.String() != dump || strings.Count(dump, "\n") != 36 {
		t.Fatalf("inspect --dump:\n%s\nengine:\n%s", dump, b.String())
	}
}

// TestSnapshotInspectBadInput: every damaged directory (and the damaged
// file itself, when there is one) is an error naming the file.
func TestSnapshotInspectBadInput(t *testing.T) {
	for _, bad := range restoretest.Bads {
		dir := restoretest.DataDir(t)
		file := bad.Make(t, filepath.Join(dir, snapshot.VersionDir))
		out, _, err := run(t, "snapshot", "inspect", dir)
		if out != "" {
			t.Errorf("%s: output %q", bad.Name, out)
		}
		restoretest.CheckError(t, err, bad, file)
	}
	if _, _, err := run(t, "snapshot", "inspect"); err == nil {
		t.Fatal("no argument accepted")
	}
}
