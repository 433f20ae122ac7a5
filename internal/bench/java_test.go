package bench

import (
	"path/filepath"
	"testing"

	"github.com/zkobserver/zkobserver/storage"
	"github.com/zkobserver/zkobserver/storage/pebble"
)

func pebbleFactory(dir string) (storage.Engine, error) { return pebble.Open(dir, pebble.Options{}) }

// TestCompareJava exports a small store and has a real Java 3.8 server
// load it; a missing Java is a failure, not a skip. CompareJava itself
// refuses a load that ends at another zxid or digest than the export's.
func TestCompareJava(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	if _, err := BuildStore(pebbleFactory, store, 2000, 32, nil); err != nil {
		t.Fatal(err)
	}
	j, err := CompareJava(pebbleFactory, store, filepath.Join(dir, "java"), JavaOptions{Heap: "256m"})
	if err != nil {
		t.Fatal(err)
	}
	if j.Nodes != 2004 || j.Zxid != 2000 || j.SnapshotBytes == 0 || j.StartSeconds <= 0 || j.PeakRSS == 0 {
		t.Fatalf("%+v", j)
	}
	j.LoadSeconds = max(j.LoadSeconds, 0.001) // a 1 ms resolution can say 0
	loads := []LoadResult{{Nodes: 2004, LoadSeconds: 2 * j.LoadSeconds, DiskBytes: j.SnapshotBytes / 2}, {Nodes: 5}}
	SetJavaRatios(loads, []JavaResult{j})
	if loads[0].LoadVsJava != 2 || loads[0].DiskVsJava < 0.49 || loads[0].DiskVsJava > 0.51 || loads[1].LoadVsJava != 0 {
		t.Fatalf("ratios %+v", loads)
	}
}

// TestRestoreFromExport restores a generated Java dataDir into pebble.
func TestRestoreFromExport(t *testing.T) {
	dir := t.TempDir()
	exp, err := BuildJavaDataDir(pebbleFactory, filepath.Join(dir, "gen"), filepath.Join(dir, "java"), 1000, 16, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Restore("pebble", pebbleFactory, filepath.Join(dir, "java"), filepath.Join(dir, "restored"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Nodes != exp.Nodes || res.Nodes != 1004 || res.Seconds <= 0 {
		t.Fatalf("restored %+v from an export of %d znodes", res, exp.Nodes)
	}
}
