package bench

import (
	"encoding/json"
	"os"
	"time"

	"github.com/zkobserver/zkobserver/core/tree"
	"github.com/zkobserver/zkobserver/snapshot"
)

// RestoreResult is one restore measurement: a Java data directory restored
// into a fresh engine by snapshot.Restore (newest snapshot read and
// verified while its nodes stream into a staged install, logs replayed,
// the install corrected and committed with fsync), in a child process so
// that its peak RSS is the restore's alone.
type RestoreResult struct {
	Engine  string  `json:"engine"`
	Nodes   int     `json:"znodes"`
	Seconds float64 `json:"restore_seconds"`
	// TreeSeconds runs until the tree is built (snapshot read, logs
	// replayed; the install is fed meanwhile), InstallSeconds is the rest
	// (the install catching up, committed, the engine closed).
	TreeSeconds    float64 `json:"tree_seconds"`
	InstallSeconds float64 `json:"install_seconds"`
	PeakRSS        int64   `json:"peak_rss_bytes"`
	// DiskBytes is the restored store's size.
	DiskBytes int64 `json:"disk_bytes"`
	// VsJava is Seconds over the Java server's start-up load of the same
	// data directory, measured in the same run (0 when not measured).
	VsJava float64 `json:"vs_java,omitempty"`
}

// RestoreInChild runs `self args...` (which must call RestoreChild) and
// parses its report.
func RestoreInChild(self string, args []string) (RestoreResult, error) {
	var res RestoreResult
	err := runChild(self, args, &res)
	return res, err
}

// RestoreChild is the child side: restore the Java data directory from into
// a fresh engine in dir, close the engine, and print the time (from opening
// the engine to closing it), node count and peak RSS as JSON on stdout.
func RestoreChild(name string, open Factory, from, dir string) error {
	res, err := Restore(name, open, from, dir)
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(res)
}

// Restore restores the Java data directory from into a fresh engine in dir
// with snapshot.Restore and closes the engine;
// Seconds runs from opening the engine to closing it, PeakRSS is this
// process's. DiskBytes is left to the caller.
func Restore(name string, open Factory, from, dir string) (RestoreResult, error) {
	res := RestoreResult{Engine: name}
	start := time.Now()
	eng, err := open(dir)
	if err != nil {
		return res, err
	}
	var treeDone time.Time
	sum, err := snapshot.Restore(from, eng, snapshot.RestoreOptions{
		Tree: tree.Options{ExtendedTypes: true},
		Progress: func(p snapshot.Progress) {
			if p.Stage == "install" && treeDone.IsZero() {
				treeDone = time.Now()
			}
		},
	})
	if err != nil {
		eng.Close()
		return res, err
	}
	if err := eng.Close(); err != nil {
		return res, err
	}
	res.Seconds = time.Since(start).Seconds()
	res.TreeSeconds = treeDone.Sub(start).Seconds()
	res.InstallSeconds = res.Seconds - res.TreeSeconds
	res.Nodes, res.PeakRSS = sum.Znodes, peakRSSOf("self")
	return res, nil
}
