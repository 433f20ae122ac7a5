package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/rs/zerolog"
	"github.com/urfave/cli/v2"

	"github.com/zkobserver/zkobserver/core/persist"
	"github.com/zkobserver/zkobserver/core/tree"
	"github.com/zkobserver/zkobserver/internal/progress"
	"github.com/zkobserver/zkobserver/snapshot"
	"github.com/zkobserver/zkobserver/storage"
)

// restoreCommand seeds a storage engine from a Java server's data
// directory: the newest valid snapshot plus the txn logs after it.
func restoreCommand() *cli.Command {
	return &cli.Command{
		Name:      "restore",
		Usage:     "load a ZooKeeper 3.8 dataDir (snapshot + txn logs) into a storage engine",
		ArgsUsage: " ",
		Description: "Reads the newest valid snapshot of --from (a Java dataDir or its version-2 directory), replays the txn\n" +
			"logs after it checking every digest Java recorded, and installs the tree into the engine in one atomic step.\n" +
			"On any error the engine is left exactly as it was.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "from", Required: true, Usage: "the Java `dataDir` (or its version-2 directory)"},
			&cli.StringFlag{Name: "from-logs", Usage: "Java's dataLogDir, when it differs from the dataDir"},
			&cli.StringFlag{Name: "storage", Value: "pebble", Usage: "storage engine: memory, bolt or pebble"},
			&cli.StringFlag{Name: "data", Usage: "the engine's data `directory` (not needed for memory)"},
			&cli.StringFlag{Name: "to-zxid", Usage: "stop after the txn with this `zxid` (0x-prefixed hex or decimal)"},
			&cli.BoolFlag{Name: "extended-types", Value: true, Usage: "the servers ran with zookeeper.extendedTypesEnabled (TTL nodes); false only for server ids of 255 and above"},
		},
		Action: runRestore,
	}
}

// parseZxid parses a zxid given as 0x-prefixed hex or decimal.
func parseZxid(s string) (int64, error) {
	z, err := strconv.ParseInt(s, 0, 64)
	if err != nil || z < 0 {
		return 0, fmt.Errorf("bad zxid %q: want 0x-prefixed hex or decimal", s)
	}
	return z, nil
}

func runRestore(c *cli.Context) error {
	if c.NArg() > 0 {
		return fmt.Errorf("restore: unexpected argument %q", c.Args().First())
	}
	opts := snapshot.RestoreOptions{
		LogDir: c.String("from-logs"),
		Tree:   tree.Options{ExtendedTypes: c.Bool("extended-types")},
	}
	if s := c.String("to-zxid"); s != "" {
		z, err := parseZxid(s)
		if err != nil || z == 0 {
			return fmt.Errorf("--to-zxid: bad zxid %q", s)
		}
		opts.ToZxid = z
	}
	name := c.String("storage")
	open, err := engineFactory(name)
	if err != nil {
		return err
	}
	dataDir := c.String("data")
	if dataDir == "" && name != "memory" {
		return fmt.Errorf("--data is required for the %s engine", name)
	}

	bar := progress.New(c.App.ErrWriter)
	defer bar.Done()
	opts.Progress = func(p snapshot.Progress) {
		bar.Update(progressStage(p), int(min(p.Done, 1<<40)>>10), int(min(p.Total, 1<<40)>>10))
	}
	start := time.Now()
	// Everything is read and checked before the engine is even opened.
	t, sum, err := snapshot.RestoreTree(c.String("from"), opts)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	bar.Update("install into "+name, 0, 1)
	if err := install(open, dataDir, t, sum); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	bar.Done()
	log := zerolog.New(zerolog.ConsoleWriter{Out: c.App.ErrWriter, NoColor: true}).With().Timestamp().Logger()
	for _, e := range sum.SkippedSnapshots {
		log.Warn().Err(e).Msg("skipped an unreadable snapshot, as Java does")
	}
	for _, w := range sum.Warnings {
		log.Warn().Msg(w)
	}
	if sum.DeadSessionEphemerals > 0 {
		log.Info().Int("ephemerals", sum.DeadSessionEphemerals).Msg("deleted the ephemerals of sessions missing from the session table, as Java does")
	}
	fmt.Fprintf(c.App.Writer, "restored zxid %#x: %d znodes, %d sessions, digest %d, from %s + %d txns in %d logs into %s in %s\n",
		sum.Zxid, sum.Znodes, sum.Sessions, sum.Digest, sum.Snapshot.Name, sum.Txns, len(sum.Logs), name,
		time.Since(start).Round(time.Millisecond))
	return nil
}

// install writes the restored tree into the engine in dataDir, as one
// staged install, and closes the engine.
func install(open func(string) (storage.Engine, error), dataDir string, t *tree.DataTree, sum *snapshot.RestoreSummary) error {
	if dataDir != "" {
		if err := os.MkdirAll(dataDir, 0o755); err != nil {
			return err
		}
	}
	eng, err := open(dataDir)
	if err != nil {
		return err
	}
	if err := persist.Install(eng, t, sum.Meta()); err != nil {
		eng.Close()
		return err
	}
	return eng.Close()
}

// progressStage names a restore stage for the bar.
func progressStage(p snapshot.Progress) string {
	if p.File == "" {
		return p.Stage
	}
	return p.Stage + " " + filepath.Base(p.File)
}
