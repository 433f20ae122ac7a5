package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/zkobserver/zkobserver/internal/loadgen"
	"github.com/zkobserver/zkobserver/internal/progress"
)

// benchLoadCommand is `zkobserver bench load`: a client load against one
// server, or two compared in the same run.
func benchLoadCommand() *cli.Command {
	return &cli.Command{
		Name:  "load",
		Usage: "client load (getData/exists/setData mixes, pipelined) against a ZooKeeper server, optionally compared with another",
		Description: `Creates --znodes znodes of --data-size bytes under --prefix (through
--setup-addr, default --addr; a target that does not see them after a sync
gets its own copy), then runs the mix over --conns sessions with --pipeline
requests in flight on each, and removes the znodes. With --compare the same
load runs against the second server in the same run, in alternating rounds
(ABBA order, --rounds per target, default 5), and the ratio A/B is printed.
Prints ops/s and p50/p99/p999 latency per target and op type (stdout), a
progress bar on stderr. Exits non-zero if any op failed.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "addr", Required: true, Usage: "the server measured (A), host:port"},
			&cli.StringFlag{Name: "compare", Usage: "a second server (B) measured in the same run; ratios are A/B"},
			&cli.StringFlag{Name: "setup-addr", Usage: "where the znodes are created and removed (default: --addr)"},
			&cli.StringFlag{Name: "prefix", Value: "/zkobserver-bench-load", Usage: "the znode under which the znodes are created (must not exist; removed afterwards)"},
			&cli.IntFlag{Name: "znodes", Value: 10_000, Usage: "znodes the ops are spread over (uniformly)"},
			&cli.IntFlag{Name: "data-size", Value: 128, Usage: "bytes of data per znode (and per setData)"},
			&cli.IntFlag{Name: "conns", Value: 32, Usage: "connections (one session each)"},
			&cli.IntFlag{Name: "pipeline", Value: 16, Usage: "requests in flight per connection"},
			&cli.StringFlag{Name: "mix", Value: "get=80,exists=10,set=10", Usage: `op weights, e.g. "get=80,exists=10,set=10"; presets "reads" (get 90, exists 10) and "writes" (set 100)`},
			&cli.DurationFlag{Name: "duration", Value: 10 * time.Second, Usage: "measured time per target (unless --ops)"},
			&cli.Int64Flag{Name: "ops", Usage: "measure this many ops per target instead of a duration"},
			&cli.DurationFlag{Name: "warmup", Value: 2 * time.Second, Usage: "unmeasured load before each target's first round"},
			&cli.IntFlag{Name: "rounds", Usage: "rounds per target (default 5 with --compare, else 1)"},
			&cli.DurationFlag{Name: "session-timeout", Value: 30 * time.Second, Usage: "session timeout requested (the server negotiates; pings every third of it)"},
			&cli.BoolFlag{Name: "read-only", Usage: "connect with the readOnly flag, as read-only-capable clients do"},
			&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "seed of the op and znode draws"},
			&cli.BoolFlag{Name: "json", Usage: "print the report as JSON"},
		},
		Action: benchLoad,
	}
}

type loadReport struct {
	Machine string `json:"machine"`
	Conns   int    `json:"conns"`
	Pipe    int    `json:"pipeline"`
	Mix     string `json:"mix"`
	*loadgen.Report
}

func benchLoad(c *cli.Context) error {
	mix, err := loadgen.ParseMix(c.String("mix"))
	if err != nil {
		return err
	}
	targets := []string{c.String("addr")}
	if b := c.String("compare"); b != "" {
		targets = append(targets, b)
	}
	rounds := c.Int("rounds")
	if rounds == 0 {
		rounds = 1
		if len(targets) == 2 {
			rounds = 5
		}
	}
	if c.Int("znodes") < 1 || c.Int("data-size") < 0 || c.Int("conns") < 1 || c.Int("pipeline") < 1 || rounds < 1 {
		return errors.New("--znodes, --conns, --pipeline and --rounds must be at least 1, --data-size at least 0")
	}
	if c.Int64("ops") <= 0 && c.Duration("duration") <= 0 {
		return errors.New("give a positive --duration or --ops")
	}
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	bar := progress.New(os.Stderr)
	defer bar.Done()
	plan := loadgen.Plan{
		Load: loadgen.Config{
			DataSize: c.Int("data-size"), Conns: c.Int("conns"), Pipeline: c.Int("pipeline"), Mix: mix,
			SessionTimeout: c.Duration("session-timeout"), ReadOnly: c.Bool("read-only"), Seed: c.Uint64("seed"),
		},
		Targets:   targets,
		SetupAddr: c.String("setup-addr"),
		Prefix:    c.String("prefix"),
		Znodes:    c.Int("znodes"),
		Duration:  c.Duration("duration"),
		Ops:       c.Int64("ops"),
		Warmup:    c.Duration("warmup"),
		Rounds:    rounds,
		Progress:  bar.Update,
	}
	rep, err := loadgen.Execute(ctx, plan)
	bar.Done()
	if err != nil {
		return err
	}
	out := loadReport{Machine: machine(), Conns: plan.Load.Conns, Pipe: plan.Load.Pipeline, Mix: mix.String(), Report: rep}
	if c.Bool("json") {
		enc := json.NewEncoder(c.App.Writer)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return err
		}
	} else {
		printLoadReport(c, out)
	}
	if n := rep.Errors(); n > 0 {
		return fmt.Errorf("%d ops failed", n)
	}
	return nil
}

func printLoadReport(c *cli.Context, rep loadReport) {
	w := c.App.Writer
	length := rep.Duration
	if rep.Ops > 0 {
		length = fmt.Sprintf("%d ops", rep.Ops)
	}
	fmt.Fprintf(w, "machine: %s\n", rep.Machine)
	fmt.Fprintf(w, "load: mix %s, %d znodes of %d B, %d conns x %d in flight, %s per target after %s warmup; %s\n\n",
		rep.Mix, rep.Znodes, rep.DataSize, rep.Conns, rep.Pipe, length, rep.Warmup, rep.Order)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\taddr\top\tops\tops/s\tmean µs\tp50 µs\tp99 µs\tp999 µs\tmax µs\terrors\t")
	for i, t := range rep.Targets {
		name := string(rune('A' + i))
		for _, s := range append([]loadgen.OpStats{t.All}, t.PerOp...) {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t%d\t\n", name, t.Addr, s.Op, s.Ops, s.OpsPerSec,
				s.MeanUs, s.P50Us, s.P99Us, s.P999Us, s.MaxUs, s.Errors)
		}
	}
	tw.Flush()
	if len(rep.Ratios) > 0 {
		fmt.Fprintln(w, "\nA/B (throughput above 1 and latency below 1 favour A)")
		fmt.Fprintln(tw, "op\tops/s A/B\tp50 A/B\tp99 A/B\tp999 A/B\t")
		for _, r := range rep.Ratios {
			fmt.Fprintf(tw, "%s\t%.2f\t%.2f\t%.2f\t%.2f\t\n", r.Op, r.Throughput, r.P50, r.P99, r.P999)
		}
		tw.Flush()
	}
	for i, t := range rep.Targets {
		for _, k := range t.ErrorKindsSorted() {
			fmt.Fprintf(w, "errors %c: %d x %s\n", 'A'+i, t.ErrorKinds[k], k)
		}
	}
}
