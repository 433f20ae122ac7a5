package bench

import (
	"fmt"
	"os"
	"time"

	"github.com/zkobserver/zkobserver/core/tree"
	"github.com/zkobserver/zkobserver/snapshot"
)

// JavaResult is the Java side of the start-up load comparison: the tree of
// a store exported as a Java 3.8 snapshot, and a real Java server loading it.
type JavaResult struct {
	Nodes int `json:"znodes"`
	// SnapshotBytes is the size of the exported snapshot file (plain).
	SnapshotBytes int64 `json:"snapshot_bytes"`
	// ExportSeconds is the time `snapshot export` took (load the store,
	// write the file, no fsync).
	ExportSeconds float64 `json:"export_seconds"`
	JavaLoad
}

// CompareJava exports the store in dir (opened with open) into the fresh
// Java dataDir javaDir and has a Java 3.8 server load it. Java must report
// the zxid and digest of the exported tree, or the measurement is refused.
func CompareJava(open Factory, dir, javaDir string, jopts JavaOptions) (JavaResult, error) {
	var res JavaResult
	if err := RequireJava(); err != nil {
		return res, err
	}
	start := time.Now()
	exp, err := exportStore(open, dir, javaDir)
	if err != nil {
		return res, err
	}
	res.ExportSeconds = time.Since(start).Seconds()
	res.Nodes, res.SnapshotBytes = exp.Nodes, exp.Bytes
	res.JavaLoad, err = JavaLoadExport(javaDir, exp, jopts)
	return res, err
}

// JavaLoadExport has a Java 3.8 server load the dataDir javaDir that holds
// the export exp (JavaLoadDataDir), and refuses the measurement unless Java
// reports the export's zxid and digest (so the timing is of a correct load).
func JavaLoadExport(javaDir string, exp snapshot.Exported, jopts JavaOptions) (JavaLoad, error) {
	j, err := JavaLoadDataDir(javaDir, jopts)
	if err != nil {
		return j, err
	}
	if j.Zxid != exp.Zxid || j.Digest != exp.Digest.Digest {
		return j, fmt.Errorf("java loaded zxid %#x with digest %d; the export is at %#x with digest %d", j.Zxid, j.Digest, exp.Zxid, exp.Digest.Digest)
	}
	return j, nil
}

// BuildJavaDataDir makes javaDir a Java dataDir holding the tree of
// BuildStore(n, dataSize), by building it in a store in dir (opened with
// open, removed afterwards) and exporting that.
func BuildJavaDataDir(open Factory, dir, javaDir string, n, dataSize int, progress Progress) (snapshot.Exported, error) {
	defer os.RemoveAll(dir)
	if _, err := BuildStore(open, dir, n, dataSize, progress); err != nil {
		return snapshot.Exported{}, err
	}
	if progress != nil {
		progress(fmt.Sprintf("export %d znodes", n), 0, 1)
	}
	return exportStore(open, dir, javaDir)
}

// exportStore loads the tree of the store in dir and exports it into the
// dataDir javaDir, without fsync.
func exportStore(open Factory, dir, javaDir string) (snapshot.Exported, error) {
	eng, err := open(dir)
	if err != nil {
		return snapshot.Exported{}, err
	}
	defer eng.Close()
	t, _, err := snapshot.LoadEngineTree(eng, tree.Options{ExtendedTypes: true})
	if err != nil {
		return snapshot.Exported{}, err
	}
	return snapshot.ExportDataDir(javaDir, t, snapshot.DataDirOptions{NoSync: true})
}

// SetJavaRatios fills LoadVsJava and DiskVsJava of every load measurement
// with a Java measurement of the same node count.
func SetJavaRatios(loads []LoadResult, java []JavaResult) {
	for i := range loads {
		for _, j := range java {
			if j.Nodes == loads[i].Nodes && j.LoadSeconds > 0 && j.SnapshotBytes > 0 {
				loads[i].LoadVsJava = loads[i].LoadSeconds / j.LoadSeconds
				loads[i].DiskVsJava = float64(loads[i].DiskBytes) / float64(j.SnapshotBytes)
			}
		}
	}
}
