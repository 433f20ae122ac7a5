// Package bench measures the storage engines end to end, for
// `zkobserver bench engines`: apply throughput (decoded txns applied to the
// DataTree and committed through the persister), start-up load time and
// peak RSS, and bytes on disk.
package bench

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/zkobserver/zkobserver/core/persist"
	"github.com/zkobserver/zkobserver/core/proto"
	"github.com/zkobserver/zkobserver/core/tree"
	"github.com/zkobserver/zkobserver/internal/txngen"
	"github.com/zkobserver/zkobserver/storage"
)

// Factory opens an engine in dir.
type Factory func(dir string) (storage.Engine, error)

// Progress is told how far a stage is; it may be nil.
type Progress func(stage string, done, total int)

// ApplyResult is one apply measurement.
type ApplyResult struct {
	Engine     string  `json:"engine"`
	Policy     string  `json:"sync"`
	Txns       int     `json:"txns"`
	Seconds    float64 `json:"seconds"`
	TxnsPerSec float64 `json:"txns_per_sec"`
	Commits    int64   `json:"commits"`
	DiskBytes  int64   `json:"disk_bytes"`
}

// Apply measures end-to-end apply throughput: txns (encoded as the leader
// sends them) are decoded, applied to a DataTree whose persister commits to
// a fresh engine in dir under policy, and the clock stops when the last txn
// is committed.
func Apply(name string, open Factory, dir string, policy persist.Policy, maxBatch int, txns [][]byte, progress Progress) (ApplyResult, error) {
	res := ApplyResult{Engine: name, Policy: policy.String(), Txns: len(txns)}
	eng, err := open(dir)
	if err != nil {
		return res, err
	}
	defer eng.Close()
	t, meta, err := persist.LoadTree(eng, tree.Options{})
	if err != nil {
		return res, err
	}
	p := persist.New(eng, meta.LastZxid, persist.Options{Policy: policy, MaxTxns: maxBatch})
	t.SetRecorder(p)
	// Two stages, as in the observer: the learner's reader goroutine
	// decodes what arrives, the apply loop applies it (and the persister
	// commits on a third goroutine).
	type chunk struct {
		txns []*proto.Txn
		err  error
	}
	const chunkSize = 256
	decoded := make(chan chunk, 16)
	stop := make(chan struct{})
	defer close(stop)
	start := time.Now()
	go func() {
		defer close(decoded)
		for i := 0; i < len(txns); i += chunkSize {
			c := chunk{txns: make([]*proto.Txn, 0, chunkSize)}
			for _, b := range txns[i:min(i+chunkSize, len(txns))] {
				txn, err := proto.DecodeTxn(b, 0)
				if err != nil {
					c.err = err
					break
				}
				c.txns = append(c.txns, txn)
			}
			select {
			case decoded <- c:
			case <-stop:
				return
			}
			if c.err != nil {
				return
			}
		}
	}()
	i := 0
	for c := range decoded {
		for _, txn := range c.txns {
			if rc := t.Apply(txn); rc.Err != 0 && txn.Header.Type != proto.OpError {
				return res, fmt.Errorf("txn %d (%v): %v", i, txn.Header.Type, rc.Err)
			}
			if progress != nil && i%8192 == 0 {
				progress("apply "+name+"/"+res.Policy, i, len(txns))
			}
			i++
		}
		if c.err != nil {
			return res, c.err
		}
	}
	if err := p.Close(); err != nil {
		return res, err
	}
	res.Seconds = time.Since(start).Seconds()
	res.TxnsPerSec = float64(len(txns)) / res.Seconds
	res.Commits = p.Stats().Commits
	res.DiskBytes = diskBytes(eng, dir)
	return res, nil
}

// diskBytes asks the engine, or sums the files in dir.
func diskBytes(eng storage.Engine, dir string) int64 {
	if s, ok := eng.(storage.Stats); ok {
		if n, err := s.DiskBytes(); err == nil {
			return n
		}
	}
	return DirBytes(dir)
}

// DirBytes sums the sizes of the regular files below dir (allocated blocks,
// so sparse files count what they use).
func DirBytes(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += allocated(info)
			}
		}
		return nil
	})
	return n
}

// BuildStore writes a tree of n znodes (dataSize bytes of data each, spread
// over parents of 1,000 children) into the engine in dir, as a SNAP install
// would, and returns the raw size of the tree: paths + data + 60 bytes of
// stat per node.
func BuildStore(open Factory, dir string, n, dataSize int, progress Progress) (raw int64, err error) {
	eng, err := open(dir)
	if err != nil {
		return 0, err
	}
	defer eng.Close()
	in, err := eng.BeginInstall()
	if err != nil {
		return 0, err
	}
	data := make([]byte, dataSize)
	for i := range data {
		data[i] = byte('a' + i%26)
	}
	put := func(path string, d []byte, zxid int64) error {
		raw += int64(len(path) + len(d) + proto.StatPersistedSize)
		return in.Put(&storage.Node{Path: path, Data: d, ACL: proto.OpenACLUnsafe, Stat: proto.StatPersisted{
			Czxid: zxid, Mzxid: zxid, Pzxid: zxid, Ctime: 1_750_000_000_000 + zxid, Mtime: 1_750_000_000_000 + zxid,
		}})
	}
	// The built-in nodes of a fresh tree, then the bench nodes.
	if raw, err = persist.PutTree(in, tree.New(tree.Options{})); err != nil {
		in.Abort()
		return 0, err
	}
	const fanout = 1000
	made := 0
	for parent := 0; made < n; parent++ {
		pp := fmt.Sprintf("/bench%05d", parent)
		if err := put(pp, []byte{}, int64(made+1)); err != nil {
			in.Abort()
			return 0, err
		}
		made++
		for c := 0; c < fanout-1 && made < n; c++ {
			if err := put(fmt.Sprintf("%s/node%06d", pp, c), data, int64(made+1)); err != nil {
				in.Abort()
				return 0, err
			}
			made++
			if progress != nil && made%16384 == 0 {
				progress(fmt.Sprintf("build %d znodes", n), made, n)
			}
		}
	}
	if err := in.Commit(storage.Meta{LastZxid: int64(n)}); err != nil {
		return 0, err
	}
	return raw, nil
}

// LoadResult is one start-up load measurement, made in a child process so
// that its peak RSS is the load's alone.
type LoadResult struct {
	Engine      string  `json:"engine"`
	Nodes       int     `json:"znodes"`
	RawBytes    int64   `json:"raw_bytes"`
	DiskBytes   int64   `json:"disk_bytes"`
	LoadSeconds float64 `json:"load_seconds"`
	PeakRSS     int64   `json:"peak_rss_bytes"`
	// HeapAfterLoad is the Go heap in use right after the load, garbage
	// included; LiveHeap is what a collection then keeps (the tree).
	HeapAfterLoad int64 `json:"heap_after_load_bytes"`
	LiveHeap      int64 `json:"live_heap_bytes"`
	// LoadVsJava and DiskVsJava compare with the Java 3.8 server on the
	// same tree in the same run (see SetJavaRatios): load seconds over
	// Java's, disk bytes over the size of the Java snapshot. 0 when not
	// measured.
	LoadVsJava float64 `json:"load_vs_java,omitempty"`
	DiskVsJava float64 `json:"disk_vs_java_snapshot,omitempty"`
}

// LoadInChild runs `self args...` (which must call LoadChild) and parses
// its report.
func LoadInChild(self string, args []string) (LoadResult, error) {
	var res LoadResult
	err := runChild(self, args, &res)
	return res, err
}

// runChild runs `self args...`, whose stdout must be one JSON value, and
// decodes it into out. The child's stderr is passed through.
func runChild(self string, args []string, out any) error {
	cmd := exec.Command(self, args...)
	cmd.Stderr = os.Stderr
	b, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("%s %s: %w", filepath.Base(self), strings.Join(args, " "), err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("child said %q: %w", b, err)
	}
	return nil
}

// LoadChild is the child side: open the engine, load the tree as the
// observer does at start-up, and print the time, node count and peak RSS as
// JSON on stdout.
func LoadChild(name string, open Factory, dir string) error {
	start := time.Now()
	eng, err := open(dir)
	if err != nil {
		return err
	}
	t, _, err := persist.LoadTree(eng, tree.Options{})
	if err != nil {
		return err
	}
	elapsed := time.Since(start).Seconds()
	res := LoadResult{Engine: name, LoadSeconds: elapsed, PeakRSS: peakRSSOf("self")}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	res.HeapAfterLoad = int64(ms.HeapAlloc)
	runtime.GC()
	runtime.ReadMemStats(&ms)
	res.LiveHeap = int64(ms.HeapAlloc)
	t.View(func(v tree.View) { res.Nodes = v.NodeCount() })
	eng.Close()
	return json.NewEncoder(os.Stdout).Encode(res)
}

// Stream returns n encoded txns of the realistic stream (txngen defaults:
// 100 B to 1 KB values over 2,000 parents, some multis, sessions with
// ephemerals).
func Stream(seed int64, n int) [][]byte { return txngen.New(seed, txngen.Options{}).Encoded(n) }
