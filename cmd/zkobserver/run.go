package main

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"github.com/urfave/cli/v2"

	"github.com/zkobserver/zkobserver/core/learner"
	"github.com/zkobserver/zkobserver/core/observer"
	"github.com/zkobserver/zkobserver/core/persist"
	"github.com/zkobserver/zkobserver/core/tree"
)

// defaultEngine is the measured pick (README, "Storage engines").
const defaultEngine = "pebble"

func env(name string) []string { return []string{"ZKOBSERVER_" + name} }

func runCommand() *cli.Command {
	return &cli.Command{
		Name:  "run",
		Usage: "join an ensemble as an observer and follow it",
		Description: "Finds the leader of the ensemble, syncs (DIFF from the stored zxid, or SNAP), and follows every\n" +
			"committed txn, persisting the tree through the storage engine. Every flag can be set by the\n" +
			"environment variable shown with it.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "ensemble", EnvVars: env("ENSEMBLE"), Usage: "voters, comma-separated `host:quorumPort[:electionPort]` (or sid=host:...); or use --zoo-cfg"},
			&cli.StringFlag{Name: "zoo-cfg", EnvVars: env("ZOO_CFG"), Usage: "take the server.N lines, tickTime, initLimit and syncLimit from this zoo.cfg"},
			&cli.Int64Flag{Name: "sid", EnvVars: env("SID"), Usage: "this observer's server id: 1..254, unique, never a voter's", Required: true},
			&cli.StringFlag{Name: "storage", EnvVars: env("STORAGE"), Value: defaultEngine, Usage: "storage engine: memory|bolt|pebble"},
			&cli.StringFlag{Name: "data", EnvVars: env("DATA"), Usage: "data directory of the storage engine (not used by memory)"},
			&cli.StringFlag{Name: "sync", EnvVars: env("SYNC"), Value: "batch", Usage: "fsync policy: always|batch|none"},
			&cli.StringFlag{Name: "client-addr", EnvVars: env("CLIENT_ADDR"), Value: "127.0.0.1:2181", Usage: "address for ZooKeeper clients"},
			&cli.StringFlag{Name: "metrics-addr", EnvVars: env("METRICS_ADDR"), Usage: "serve Prometheus metrics at http://ADDR/metrics (off when empty)"},
			&cli.StringFlag{Name: "log-level", EnvVars: env("LOG_LEVEL"), Value: "info", Usage: "trace|debug|info|warn|error"},
			&cli.StringFlag{Name: "log-format", EnvVars: env("LOG_FORMAT"), Value: "json", Usage: "json|console"},
			&cli.BoolFlag{Name: "reset", EnvVars: env("RESET"), Usage: "wipe the stored state and resync from the leader by SNAP"},
			&cli.DurationFlag{Name: "tick-time", EnvVars: env("TICK_TIME"), Value: learner.DefaultTickTime, Usage: "the ensemble's tickTime (with --ensemble)"},
			&cli.IntFlag{Name: "init-limit", EnvVars: env("INIT_LIMIT"), Value: learner.DefaultInitLimit, Usage: "the ensemble's initLimit, in ticks (with --ensemble)"},
			&cli.IntFlag{Name: "sync-limit", EnvVars: env("SYNC_LIMIT"), Value: learner.DefaultSyncLimit, Usage: "the ensemble's syncLimit, in ticks (with --ensemble)"},
			&cli.BoolFlag{Name: "extended-types", EnvVars: env("EXTENDED_TYPES"), Usage: "the ensemble runs with zookeeper.extendedTypesEnabled=true (TTL nodes)"},
		},
		Action: runObserver,
	}
}

func runObserver(c *cli.Context) error {
	log, err := newLogger(c.String("log-format"), os.Stderr)
	if err != nil {
		return err
	}
	lvl, err := zerolog.ParseLevel(c.String("log-level"))
	if err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log = log.Level(lvl)
	ens, err := ensembleFromFlags(c)
	if err != nil {
		return err
	}
	sid := c.Int64("sid")
	if err := ens.CheckSID(sid); err != nil {
		return err
	}
	policy, err := persist.ParsePolicy(c.String("sync"))
	if err != nil {
		return err
	}
	name := c.String("storage")
	open, err := engineFactory(name)
	if err != nil {
		return err
	}
	dir := c.String("data")
	if dir == "" && name != "memory" {
		return fmt.Errorf("--data is required with --storage %s", name)
	}
	if dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	log = log.With().Int64("sid", sid).Logger()
	opened := time.Now()
	eng, err := open(dir)
	if err != nil {
		return fmt.Errorf("opening %s store in %s: %w", name, dir, err)
	}
	defer eng.Close()
	log.Info().Str("storage", name).Str("data", dir).Dur("open", time.Since(opened)).Msg("store opened")
	o, err := observer.New(observer.Config{
		Learner: learner.Config{Ensemble: ens, SID: sid, Tree: tree.Options{ExtendedTypes: c.Bool("extended-types")}},
		Engine:  eng,
		Persist: persist.Options{Policy: policy},
		Reset:   c.Bool("reset"),
		Logger:  log,
	})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(c.Context, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if addr := c.String("metrics-addr"); addr != "" {
		srv, err := serveMetrics(addr, o)
		if err != nil {
			return err
		}
		defer srv.Close()
		log.Info().Str("addr", srv.Addr).Msg("metrics at /metrics")
	}
	log.Info().Str("storage", name).Str("data", dir).Stringer("sync", policy).Int("voters", len(ens.Voters)).Msg("zkobserver starting")
	return o.Run(ctx)
}

func ensembleFromFlags(c *cli.Context) (learner.Ensemble, error) {
	switch cfg, list := c.String("zoo-cfg"), c.String("ensemble"); {
	case cfg != "" && list != "":
		return learner.Ensemble{}, errors.New("give --ensemble or --zoo-cfg, not both")
	case cfg != "":
		return learner.ReadZooCfg(cfg)
	case list != "":
		e, err := learner.ParseEnsembleFlag(list)
		if err != nil {
			return e, err
		}
		e.TickTime, e.InitLimit, e.SyncLimit = c.Duration("tick-time"), c.Int("init-limit"), c.Int("sync-limit")
		if e.TickTime <= 0 || e.InitLimit <= 0 || e.SyncLimit <= 0 {
			return e, errors.New("--tick-time, --init-limit and --sync-limit must be positive")
		}
		return e, nil
	}
	return learner.Ensemble{}, errors.New("--ensemble or --zoo-cfg is required")
}

// newLogger returns a zerolog logger in the given format.
func newLogger(format string, w *os.File) (zerolog.Logger, error) {
	switch format {
	case "json", "":
		return zerolog.New(w).With().Timestamp().Logger(), nil
	case "console":
		return zerolog.New(zerolog.ConsoleWriter{Out: w, TimeFormat: time.RFC3339Nano}).With().Timestamp().Logger(), nil
	}
	return zerolog.Logger{}, fmt.Errorf("--log-format %q: want json or console", format)
}

// serveMetrics serves the observer's metrics in Prometheus text format.
func serveMetrics(addr string, o *observer.Observer) (*http.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics-addr: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		o.Metrics().WritePrometheus(w)
	})
	srv := &http.Server{Addr: ln.Addr().String(), Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	return srv, nil
}
