package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/zkobserver/zkobserver/core/tree"
	"github.com/zkobserver/zkobserver/snapshot"
	"github.com/zkobserver/zkobserver/storage"
)

// snapshotExportCommand writes the tree held by a storage engine as a Java
// ZooKeeper 3.8 snapshot.
func snapshotExportCommand() *cli.Command {
	return &cli.Command{
		Name:  "export",
		Usage: "write the tree of a storage engine as a ZooKeeper 3.8 snapshot (a file, or a Java dataDir)",
		Description: `Reads the store (it is not changed; it must not be in use) and writes its tree,
sessions and zxid as Java's FileSnap would: nodes in pre-order, ACL cache, seals,
and a digest block with the tree's zxid and digest, which Java checks on load.

--out-dir DIR makes DIR a Java dataDir that a ZooKeeper 3.8 server starts from
with no txn logs: DIR/version-2/snapshot.<hex zxid>[.gz|.snappy] plus
acceptedEpoch and currentEpoch from the store (read by quorum peers only;
--no-epochs leaves them out, and Java then derives them from the zxid).
DIR/version-2 must not hold snapshot, log or epoch files already.

--out FILE writes just the snapshot file; its extension picks the compression
(.gz, .snappy, else none). Java loads a snapshot only under the name
snapshot.<hex zxid>, and takes the zxid from it: a FILE named snapshot.<hex>
must carry the tree's zxid.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "storage", Required: true, Usage: "storage engine of the store: " + strings.Join(durableEngines(), ", ")},
			&cli.StringFlag{Name: "data", Required: true, Usage: "the store's data directory"},
			&cli.StringFlag{Name: "out", Usage: "snapshot file to write"},
			&cli.StringFlag{Name: "out-dir", Usage: "Java dataDir to write (version-2/snapshot.<zxid> and epoch files)"},
			&cli.StringFlag{Name: "compression", Value: "none", Usage: "with --out-dir: none, gz or snappy"},
			&cli.BoolFlag{Name: "no-epochs", Usage: "with --out-dir: do not write acceptedEpoch/currentEpoch"},
			&cli.BoolFlag{Name: "no-sync", Usage: "skip fsync (the files may be lost in a crash)"},
		},
		Action: snapshotExport,
	}
}

// durableEngines lists the engines that keep a store on disk.
func durableEngines() []string {
	var out []string
	for _, n := range engineNames {
		if n != "memory" {
			out = append(out, n)
		}
	}
	return out
}

func snapshotExport(c *cli.Context) error {
	out, outDir := c.String("out"), c.String("out-dir")
	if (out == "") == (outDir == "") {
		return errors.New("export: give exactly one of --out FILE and --out-dir DIR")
	}
	comp, err := parseCompression(c.String("compression"))
	if err != nil {
		return err
	}
	if out != "" && (c.IsSet("compression") || c.IsSet("no-epochs")) {
		return errors.New("export: --compression and --no-epochs go with --out-dir (with --out, the file name's extension picks the compression)")
	}
	eng, err := openExistingStore(c.String("storage"), c.String("data"))
	if err != nil {
		return err
	}
	defer eng.Close()
	// The export writes owners as stored; extended types only decide how
	// the tree classifies them in memory.
	t, meta, err := snapshot.LoadEngineTree(eng, tree.Options{ExtendedTypes: true})
	if err != nil {
		return fmt.Errorf("export: %s store %s: %w", c.String("storage"), c.String("data"), err)
	}
	var res snapshot.Exported
	if out != "" {
		res, err = snapshot.ExportFile(out, t, !c.Bool("no-sync"))
	} else {
		opts := snapshot.DataDirOptions{Compression: comp, NoSync: c.Bool("no-sync")}
		if !c.Bool("no-epochs") {
			opts.Epochs = &storage.Epochs{Accepted: meta.AcceptedEpoch, Current: meta.CurrentEpoch}
		}
		res, err = snapshot.ExportDataDir(outDir, t, opts)
		if errors.Is(err, snapshot.ErrEpochs) {
			err = fmt.Errorf("%w (the store's epochs; --no-epochs lets a Java quorum peer derive them from the zxid)", err)
		}
	}
	if err != nil {
		return err
	}
	w := c.App.Writer
	fmt.Fprintf(w, "exported %d znodes and %d sessions at zxid %#x (digest %d) to %s (%d bytes)\n",
		res.Nodes, res.Sessions, res.Zxid, res.Digest.Digest, res.Path, res.Bytes)
	if outDir != "" && !c.Bool("no-epochs") {
		fmt.Fprintf(w, "acceptedEpoch %d, currentEpoch %d\n", meta.AcceptedEpoch, meta.CurrentEpoch)
	}
	if want := snapshot.SnapshotFileName(res.Zxid, snapshot.CompressionForName(res.Path)); out != "" && filepath.Base(res.Path) != want {
		fmt.Fprintf(w, "note: Java loads this snapshot only under the name %s\n", want)
	}
	return nil
}

func parseCompression(s string) (snapshot.Compression, error) {
	for _, c := range []snapshot.Compression{snapshot.CompressionNone, snapshot.CompressionGzip, snapshot.CompressionSnappy} {
		if s == c.String() {
			return c, nil
		}
	}
	return 0, fmt.Errorf("--compression: %q is not none, gz or snappy", s)
}

// openExistingStore opens the durable store of engine name in dir, refusing
// to create one: dir must exist and hold files.
func openExistingStore(name, dir string) (storage.Engine, error) {
	if name == "memory" {
		return nil, errors.New("the memory engine keeps nothing on disk: there is no store to read")
	}
	open, err := engineFactory(name)
	if err != nil {
		return nil, err
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("no %s store at %s: %w", name, dir, err)
	}
	if len(ents) == 0 {
		return nil, fmt.Errorf("no %s store at %s: the directory is empty", name, dir)
	}
	eng, err := open(dir)
	if err != nil {
		return nil, fmt.Errorf("opening the %s store at %s: %w", name, dir, err)
	}
	return eng, nil
}
