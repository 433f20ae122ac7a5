package snapshot_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/zkobserver/zkobserver/internal/restoretest"
	. "github.com/zkobserver/zkobserver/snapshot"
)

// FuzzRestoreLog restores the golden snapshot.41 followed by a fuzzed
// log.42 (seeded with the real one): RestoreTree must never panic, and
// every error must be an *Error naming the log or the directory.
func FuzzRestoreLog(f *testing.F) {
	golden := restoretest.GoldenDir()
	for _, name := range []string{"log.42", "log.46"} {
		b, err := os.ReadFile(filepath.Join(golden, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	snap, err := os.ReadFile(filepath.Join(golden, "snapshot.41"))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, log []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "snapshot.41"), snap, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "log.42"), log, 0o644); err != nil {
			t.Fatal(err)
		}
		tr, sum, err := RestoreTree(dir, restoreOpts)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v (%T) is not an *Error", err, err)
			}
			return
		}
		if tr.LastZxid() != sum.Zxid || sum.Zxid < 0x41 {
			t.Fatalf("zxid %#x, summary %#x", tr.LastZxid(), sum.Zxid)
		}
	})
}
