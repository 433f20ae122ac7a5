package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/zkobserver/zkobserver/core/persist"
	"github.com/zkobserver/zkobserver/internal/bench"
	"github.com/zkobserver/zkobserver/internal/progress"
)

func benchCommand() *cli.Command {
	return &cli.Command{
		Name:  "bench",
		Usage: "benchmarks",
		Subcommands: []*cli.Command{
			{
				Name:  "engines",
				Usage: "apply throughput, start-up load time, peak RSS and disk bytes of each storage engine",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "engines", Value: strings.Join(engineNames, ","), Usage: "engines to measure"},
					&cli.StringFlag{Name: "sync", Value: "always,batch,none", Usage: "sync policies for the apply measurement"},
					&cli.IntFlag{Name: "txns", Value: 300_000, Usage: "txns in the apply stream"},
					&cli.IntFlag{Name: "batch-txns", Usage: "the persister's largest batch in txns (default: the persister's)"},
					&cli.StringFlag{Name: "znodes", Value: "100000,1000000", Usage: "tree sizes for the load measurement"},
					&cli.IntFlag{Name: "data-size", Value: 128, Usage: "bytes of data per znode in the load measurement"},
					&cli.StringFlag{Name: "dir", Usage: "work directory (default: a temporary one, removed afterwards)"},
					&cli.BoolFlag{Name: "json", Usage: "print results as JSON"},
					&cli.BoolFlag{Name: "no-java", Usage: "skip the Java 3.8 comparison (quick runs; without it a missing Java is an error)"},
					javaHeapFlag,
				},
				Action: benchEngines,
			},
			benchRestoreCommand(),
			benchLoadCommand(),
			{
				Name:   "restore-child",
				Hidden: true,
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "storage", Required: true},
					&cli.StringFlag{Name: "from", Required: true},
					&cli.StringFlag{Name: "data", Required: true},
				},
				Action: func(c *cli.Context) error {
					open, err := engineFactory(c.String("storage"))
					if err != nil {
						return err
					}
					return bench.RestoreChild(c.String("storage"), open, c.String("from"), c.String("data"))
				},
			},
			{
				Name:   "load-child",
				Hidden: true,
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "storage", Required: true},
					&cli.StringFlag{Name: "data", Required: true},
				},
				Action: func(c *cli.Context) error {
					open, err := engineFactory(c.String("storage"))
					if err != nil {
						return err
					}
					return bench.LoadChild(c.String("storage"), open, c.String("data"))
				},
			},
		},
	}
}

type engineReport struct {
	Machine string              `json:"machine"`
	Apply   []bench.ApplyResult `json:"apply"`
	Load    []bench.LoadResult  `json:"load"`
	// Java is the Java 3.8 server loading the same trees (absent with
	// --no-java).
	Java []bench.JavaResult `json:"java,omitempty"`
}

// javaHeapFlag sets the Java server's heap in the comparisons.
var javaHeapFlag = &cli.StringFlag{Name: "java-heap", Value: "2g", Usage: "the Java server's heap (-Xms and -Xmx) in the Java comparison"}

// benchSetup returns the work directory (--dir, or else a new temporary
// one), this executable (which runs the child measurements), and what to
// call when the benchmark is done (it removes a temporary directory).
func benchSetup(c *cli.Context) (dir, self string, cleanup func(), err error) {
	if self, err = os.Executable(); err != nil {
		return "", "", nil, err
	}
	if dir = c.String("dir"); dir != "" {
		return dir, self, func() {}, nil
	}
	if dir, err = os.MkdirTemp("", "zkobserver-bench-"); err != nil {
		return "", "", nil, err
	}
	return dir, self, func() { os.RemoveAll(dir) }, nil
}

// machine describes where a benchmark ran.
func machine() string {
	return fmt.Sprintf("%s/%s, %d CPUs, %s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func benchEngines(c *cli.Context) error {
	engines := splitList(c.String("engines"))
	var policies []persist.Policy
	for _, s := range splitList(c.String("sync")) {
		p, err := persist.ParsePolicy(s)
		if err != nil {
			return err
		}
		policies = append(policies, p)
	}
	var sizes []int
	for _, s := range splitList(c.String("znodes")) {
		n, err := strconv.Atoi(s)
		if err != nil || n < 10 {
			return fmt.Errorf("--znodes: bad size %q", s)
		}
		sizes = append(sizes, n)
	}
	for _, name := range engines {
		if _, err := engineFactory(name); err != nil {
			return err
		}
	}
	withJava := !c.Bool("no-java")
	javaFrom := "" // the engine whose stores are exported for Java
	if withJava {
		if err := bench.RequireJava(); err != nil {
			return err
		}
		for _, name := range engines {
			if name != "memory" {
				javaFrom = name
				break
			}
		}
		if javaFrom == "" {
			return errors.New("the Java comparison exports a durable engine's store: add bolt or pebble to --engines, or pass --no-java")
		}
	}
	dir, self, cleanup, err := benchSetup(c)
	if err != nil {
		return err
	}
	defer cleanup()
	bar := progress.New(os.Stderr)
	defer bar.Done()
	rep := engineReport{Machine: machine()}

	bar.Update("generating the txn stream", 0, 1)
	stream := bench.Stream(1, c.Int("txns"))
	for _, name := range engines {
		open, _ := engineFactory(name)
		for _, pol := range policies {
			d := filepath.Join(dir, fmt.Sprintf("apply-%s-%s", name, pol))
			res, err := bench.Apply(name, open, d, pol, c.Int("batch-txns"), stream, bar.Update)
			if err != nil {
				return fmt.Errorf("apply %s/%s: %w", name, pol, err)
			}
			rep.Apply = append(rep.Apply, res)
			os.RemoveAll(d)
		}
	}
	stream = nil
	for _, n := range sizes {
		for _, name := range engines {
			if name == "memory" {
				continue // nothing to load at start-up
			}
			open, _ := engineFactory(name)
			d := filepath.Join(dir, fmt.Sprintf("load-%s-%d", name, n))
			raw, err := bench.BuildStore(open, d, n, c.Int("data-size"), bar.Update)
			if err != nil {
				return fmt.Errorf("build %s/%d: %w", name, n, err)
			}
			bar.Update(fmt.Sprintf("load %s %d znodes", name, n), 0, 1)
			res, err := bench.LoadInChild(self, []string{"bench", "load-child", "--storage", name, "--data", d})
			if err != nil {
				return fmt.Errorf("load %s/%d: %w", name, n, err)
			}
			res.RawBytes = raw
			res.DiskBytes = bench.DirBytes(d)
			rep.Load = append(rep.Load, res)
			if name == javaFrom {
				bar.Update(fmt.Sprintf("Java 3.8 loads %d znodes", n), 0, 1)
				jd := filepath.Join(dir, fmt.Sprintf("java-%d", n))
				jr, err := bench.CompareJava(open, d, jd, bench.JavaOptions{Heap: c.String("java-heap")})
				if err != nil {
					return fmt.Errorf("java %d: %w", n, err)
				}
				rep.Java = append(rep.Java, jr)
				os.RemoveAll(jd)
			}
			os.RemoveAll(d)
		}
	}
	bench.SetJavaRatios(rep.Load, rep.Java)
	bar.Done()
	if c.Bool("json") {
		enc := json.NewEncoder(c.App.Writer)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	printEngineReport(c, rep)
	return nil
}

func printEngineReport(c *cli.Context, rep engineReport) {
	w := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(c.App.Writer, "machine: %s\n\napply (decode + DataTree + persister + engine, end to end)\n", rep.Machine)
	fmt.Fprintln(w, "engine\tsync\ttxns\tseconds\ttxn/s\tcommits\tdisk MB\t")
	for _, r := range rep.Apply {
		fmt.Fprintf(w, "%s\t%s\t%d\t%.2f\t%.0f\t%d\t%.1f\t\n", r.Engine, r.Policy, r.Txns, r.Seconds, r.TxnsPerSec, r.Commits, float64(r.DiskBytes)/1e6)
	}
	w.Flush()
	fmt.Fprintln(c.App.Writer, "\nstart-up load (child process; peak RSS is its VmHWM)")
	fmt.Fprintln(w, "engine\tznodes\tload s\traw MB\tdisk MB\tdisk/raw\tpeak RSS MB\tRSS/raw\theap MB\tlive heap MB\tload/Java\tdisk/Java snap\t")
	for _, r := range rep.Load {
		fmt.Fprintf(w, "%s\t%d\t%.3f\t%.1f\t%.1f\t%.2f\t%.1f\t%.2f\t%.1f\t%.1f\t%s\t%s\t\n", r.Engine, r.Nodes, r.LoadSeconds,
			float64(r.RawBytes)/1e6, float64(r.DiskBytes)/1e6, float64(r.DiskBytes)/float64(r.RawBytes),
			float64(r.PeakRSS)/1e6, float64(r.PeakRSS)/float64(r.RawBytes), float64(r.HeapAfterLoad)/1e6, float64(r.LiveHeap)/1e6,
			ratio(r.LoadVsJava, 0.5), ratio(r.DiskVsJava, 0))
	}
	w.Flush()
	if len(rep.Java) == 0 {
		fmt.Fprintln(c.App.Writer, "\n(no Java comparison: --no-java)")
		return
	}
	fmt.Fprintln(c.App.Writer, "\nJava 3.8 standalone server loading the same tree (exported by `snapshot export`), same run;")
	fmt.Fprintln(c.App.Writer, "load s is its own \"Snapshot loaded in N ms\" line (not JVM start-up); target: each durable engine's load/Java <= 0.5")
	fmt.Fprintln(w, "znodes\tsnapshot MB\texport s\tJava load s\tJava start->loaded s\tJava peak RSS MB\t")
	for _, j := range rep.Java {
		fmt.Fprintf(w, "%d\t%.1f\t%.2f\t%.3f\t%.2f\t%.1f\t\n", j.Nodes, float64(j.SnapshotBytes)/1e6, j.ExportSeconds,
			j.LoadSeconds, j.StartSeconds, float64(j.PeakRSS)/1e6)
	}
	w.Flush()
}

// ratio prints r with two decimals ("-" when not measured), marked against
// target when target > 0 (at most the target is good).
func ratio(r, target float64) string {
	switch {
	case r == 0:
		return "-"
	case target == 0:
		return fmt.Sprintf("%.2f", r)
	case r <= target:
		return fmt.Sprintf("%.2f ✓", r)
	}
	return fmt.Sprintf("%.2f ✗", r)
}
