package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/zkobserver/zkobserver/internal/bench"
	"github.com/zkobserver/zkobserver/internal/progress"
)

func benchRestoreCommand() *cli.Command {
	return &cli.Command{
		Name:  "restore",
		Usage: "restore a Java dataDir into each durable engine, against a Java 3.8 server loading the same dataDir",
		Description: `Generates a Java dataDir (one snapshot written by snapshot export, no logs) of
--znodes znodes with --data-size bytes each, then measures, in the same run:
each engine restoring it (snapshot.Restore into a fresh store in a child process:
read and verify the snapshot, one staged install committed with fsync, close),
and a standalone Java 3.8 server loading it at start-up (its own
"Snapshot loaded in N ms" line).`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "engines", Value: strings.Join(durableEngines(), ","), Usage: "durable engines to restore into"},
			&cli.IntFlag{Name: "znodes", Value: 1_000_000, Usage: "znodes in the tree"},
			&cli.IntFlag{Name: "data-size", Value: 128, Usage: "bytes of data per znode"},
			&cli.StringFlag{Name: "dir", Usage: "work directory (default: a temporary one, removed afterwards)"},
			&cli.BoolFlag{Name: "json", Usage: "print results as JSON"},
			&cli.BoolFlag{Name: "no-java", Usage: "skip the Java 3.8 server (without it a missing Java is an error)"},
			javaHeapFlag,
		},
		Action: benchRestore,
	}
}

type restoreReport struct {
	Machine       string                `json:"machine"`
	Nodes         int                   `json:"znodes"`
	SnapshotBytes int64                 `json:"snapshot_bytes"`
	Restore       []bench.RestoreResult `json:"restore"`
	Java          *bench.JavaLoad       `json:"java,omitempty"`
}

func benchRestore(c *cli.Context) error {
	engines := splitList(c.String("engines"))
	for _, name := range engines {
		if name == "memory" {
			return errors.New("bench restore: the memory engine keeps nothing to restore into; use bolt or pebble")
		}
		if _, err := engineFactory(name); err != nil {
			return err
		}
	}
	if c.Int("znodes") < 10 {
		return fmt.Errorf("--znodes: %d is too few", c.Int("znodes"))
	}
	withJava := !c.Bool("no-java")
	if withJava {
		if err := bench.RequireJava(); err != nil {
			return err
		}
	}
	dir, self, cleanup, err := benchSetup(c)
	if err != nil {
		return err
	}
	defer cleanup()
	bar := progress.New(os.Stderr)
	defer bar.Done()
	rep := restoreReport{Machine: machine()}

	gen, _ := engineFactory("pebble")
	javaDir := filepath.Join(dir, "java")
	exp, err := bench.BuildJavaDataDir(gen, filepath.Join(dir, "gen"), javaDir, c.Int("znodes"), c.Int("data-size"), bar.Update)
	if err != nil {
		return fmt.Errorf("generating the Java dataDir: %w", err)
	}
	rep.Nodes, rep.SnapshotBytes = exp.Nodes, exp.Bytes
	for _, name := range engines {
		bar.Update("restore into "+name, 0, 1)
		d := filepath.Join(dir, "restore-"+name)
		res, err := bench.RestoreInChild(self, []string{"bench", "restore-child", "--storage", name, "--from", javaDir, "--data", d})
		if err != nil {
			return fmt.Errorf("restore %s: %w", name, err)
		}
		res.DiskBytes = bench.DirBytes(d)
		rep.Restore = append(rep.Restore, res)
		os.RemoveAll(d)
	}
	if withJava {
		bar.Update("Java 3.8 loads the dataDir", 0, 1)
		j, err := bench.JavaLoadExport(javaDir, exp, bench.JavaOptions{Heap: c.String("java-heap")})
		if err != nil {
			return err
		}
		rep.Java = &j
		for i := range rep.Restore {
			rep.Restore[i].VsJava = rep.Restore[i].Seconds / j.LoadSeconds
		}
	}
	bar.Done()
	if c.Bool("json") {
		enc := json.NewEncoder(c.App.Writer)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	w := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(c.App.Writer, "machine: %s\n\nrestore of a Java dataDir: %d znodes, one snapshot of %.1f MB, no logs\n",
		rep.Machine, rep.Nodes, float64(rep.SnapshotBytes)/1e6)
	fmt.Fprintln(w, "engine\trestore s\tread+build tree s\tinstall s\tpeak RSS MB\tdisk MB\trestore/Java load\t")
	for _, r := range rep.Restore {
		fmt.Fprintf(w, "%s\t%.3f\t%.3f\t%.3f\t%.1f\t%.1f\t%s\t\n", r.Engine, r.Seconds, r.TreeSeconds, r.InstallSeconds,
			float64(r.PeakRSS)/1e6, float64(r.DiskBytes)/1e6, ratio(r.VsJava, 0))
	}
	w.Flush()
	if j := rep.Java; j != nil {
		fmt.Fprintf(c.App.Writer, "\nJava 3.8 standalone start-up load of the same dataDir: %.3f s (\"Snapshot loaded in\"), %.2f s from JVM start, peak RSS %.1f MB\n",
			j.LoadSeconds, j.StartSeconds, float64(j.PeakRSS)/1e6)
	}
	return nil
}
