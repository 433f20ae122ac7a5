package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"github.com/urfave/cli/v2"

	"github.com/zkobserver/zkobserver/core/acl"
	"github.com/zkobserver/zkobserver/core/fourletter"
	"github.com/zkobserver/zkobserver/core/jute"
	"github.com/zkobserver/zkobserver/core/learner"
	"github.com/zkobserver/zkobserver/core/observer"
	"github.com/zkobserver/zkobserver/core/persist"
	"github.com/zkobserver/zkobserver/core/server"
	"github.com/zkobserver/zkobserver/core/session"
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
			&cli.StringFlag{Name: "local-sessions", EnvVars: env("LOCAL_SESSIONS"), Value: "readonly-clients", Usage: "which new sessions are local to this observer: readonly-clients|all|none"},
			&cli.IntFlag{Name: "max-client-cnxns", EnvVars: env("MAX_CLIENT_CNXNS"), Value: server.DefaultMaxClientCnxns, Usage: "client connections per IP address (0 = unlimited)"},
			&cli.IntFlag{Name: "min-session-timeout", EnvVars: env("MIN_SESSION_TIMEOUT"), Value: -1, Usage: "smallest session timeout granted, ms (-1 = 2 x tickTime)"},
			&cli.IntFlag{Name: "max-session-timeout", EnvVars: env("MAX_SESSION_TIMEOUT"), Value: -1, Usage: "largest session timeout granted, ms (-1 = 20 x tickTime)"},
			&cli.IntFlag{Name: "jute-maxbuffer", EnvVars: env("JUTE_MAXBUFFER"), Value: jute.DefaultMaxBuffer, Usage: "largest client request frame, bytes (Java's jute.maxbuffer)"},
			&cli.StringFlag{Name: "super-digest", EnvVars: env("SUPER_DIGEST"), Usage: "Java's zookeeper.DigestAuthenticationProvider.superDigest, `user:base64digest`: a client whose digest auth matches is super for local reads (give the voters the same value for writes)"},
			&cli.BoolFlag{Name: "skip-acl", EnvVars: env("SKIP_ACL"), Usage: "Java's zookeeper.skipACL=yes: reads answered here skip ACL checks (writes are checked by the leader with its own setting)"},
			&cli.StringFlag{Name: "4lw-whitelist", EnvVars: env("4LW_WHITELIST"), Value: "srvr", Usage: "four-letter words answered on the client port, comma-separated, * for all (Java's 4lw.commands.whitelist; srvr is always allowed)"},
			&cli.BoolFlag{Name: "extended-types", EnvVars: env("EXTENDED_TYPES"), Usage: "the ensemble runs with zookeeper.extendedTypesEnabled=true (TTL nodes)"},
			&cli.BoolFlag{Name: "read-only-on-quorum-loss", EnvVars: env("READ_ONLY_ON_QUORUM_LOSS"), Value: true, Usage: "without a leader, keep serving read-only clients from the local tree (writes get NOTREADONLY; also at a start while the quorum is down); =false behaves like a Java observer: every client dropped until the next sync"},
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
	srv, err := newClientServer(c, ens, sid, log)
	if err != nil {
		return err
	}
	o, err := observer.New(observer.Config{
		Clients: srv,
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
		ms, err := serveMetrics(addr, o, srv)
		if err != nil {
			return err
		}
		defer ms.Close()
		log.Info().Str("addr", ms.Addr).Msg("metrics at /metrics")
	}
	// The watch manager's Trigger goes on the tree before anything shares it.
	srv.Bind(o.Tree(), o)
	ln, err := net.Listen("tcp", c.String("client-addr"))
	if err != nil {
		return fmt.Errorf("--client-addr: %w", err)
	}
	srv.EnableFourLetter(fourLetterConfig(c, ens, sid, o, ln.Addr(), dir))
	go func() {
		if err := srv.Serve(ln); err != nil {
			log.Error().Err(err).Msg("client listener failed")
		}
	}()
	defer srv.Close()
	log.Info().Str("storage", name).Str("data", dir).Stringer("sync", policy).Int("voters", len(ens.Voters)).
		Str("client_addr", ln.Addr().String()).Msg("zkobserver starting")
	return o.Run(ctx)
}

// newClientServer builds the client server from the flags.
func newClientServer(c *cli.Context, ens learner.Ensemble, sid int64, log zerolog.Logger) (*server.Server, error) {
	policy, err := server.ParseLocalSessions(c.String("local-sessions"))
	if err != nil {
		return nil, fmt.Errorf("--local-sessions: %w", err)
	}
	tick := int32(ens.TickTime / time.Millisecond)
	timeouts, err := session.NewTimeouts(tick, int32(c.Int("min-session-timeout")), int32(c.Int("max-session-timeout")))
	if err != nil {
		return nil, fmt.Errorf("session timeouts: %w", err)
	}
	maxCnxns := c.Int("max-client-cnxns")
	if maxCnxns < 0 {
		return nil, errors.New("--max-client-cnxns must be >= 0")
	}
	if d := c.String("super-digest"); d != "" && !strings.Contains(d, ":") {
		return nil, errors.New("--super-digest: want user:base64digest (see DigestAuthenticationProvider.generateDigest)")
	}
	aclPolicy, err := acl.New(acl.Options{SuperDigest: c.String("super-digest"), SkipACL: c.Bool("skip-acl")})
	if err != nil {
		return nil, err
	}
	return server.New(server.Config{
		ServerID: sid, TickTime: ens.TickTime, Timeouts: timeouts, MaxFrame: c.Int("jute-maxbuffer"),
		MaxClientCnxns: maxCnxns, LocalSessions: policy, ACL: server.Policy{P: aclPolicy}, ReadOnly: c.Bool("read-only-on-quorum-loss"),
		Logger: log.With().Str("part", "clients").Logger(),
	})
}

// fourLetterConfig is what the four-letter words print about this
// observer (conf, dirs, mntr's quorum size and version).
func fourLetterConfig(c *cli.Context, ens learner.Ensemble, sid int64, o *observer.Observer, addr net.Addr, dir string) server.WordsConfig {
	port := 0
	if ta, ok := addr.(*net.TCPAddr); ok {
		port = ta.Port
	}
	tick := int32(ens.TickTime / time.Millisecond)
	timeouts, _ := session.NewTimeouts(tick, int32(c.Int("min-session-timeout")), int32(c.Int("max-session-timeout")))
	abs, _ := filepath.Abs(dir)
	return server.WordsConfig{
		Whitelist:  fourletter.ParseWhitelist(c.String("4lw-whitelist"), c.Bool("read-only-on-quorum-loss")),
		Status:     o,
		Version:    fourletter.FullVersion(buildVersion(), time.Time{}),
		QuorumSize: len(ens.Voters),
		Config: func() fourletter.Config {
			size := dirSize(abs)
			return fourletter.Config{
				ClientPort: port, SecureClientPort: -1, DataDir: abs, DataDirSize: size, DataLogDir: abs, DataLogSize: size,
				TickTime: int(tick), MaxClientCnxns: c.Int("max-client-cnxns"),
				MinSessionTimeout: int(timeouts.Min), MaxSessionTimeout: int(timeouts.Max), ClientPortListenBacklog: -1,
				ServerID: sid, InitLimit: ens.InitLimit, SyncLimit: ens.SyncLimit, ElectionAlg: 3, PeerType: 1,
			}
		},
	}
}

// dirSize is the total size of the regular files under dir (0 for "").
func dirSize(dir string) int64 {
	if dir == "" {
		return 0
	}
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
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
func serveMetrics(addr string, o *observer.Observer, clients *server.Server) (*http.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics-addr: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		if o.Metrics().WritePrometheus(w) == nil {
			clients.WritePrometheus(w)
		}
	})
	srv := &http.Server{Addr: ln.Addr().String(), Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	return srv, nil
}
