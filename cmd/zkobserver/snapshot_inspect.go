package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/zkobserver/zkobserver/core/tree"
	"github.com/zkobserver/zkobserver/snapshot"
)

// snapshotInspectCommand describes a snapshot file, or the tree a data
// directory restores to.
func snapshotInspectCommand() *cli.Command {
	return &cli.Command{
		Name:      "inspect",
		Usage:     "describe a snapshot file, or the tree a dataDir restores to (snapshot + txn logs)",
		ArgsUsage: "FILE|DIR",
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "top", Value: 10, Usage: "how many of the largest subtrees to list"},
			&cli.BoolFlag{Name: "json", Usage: "print the description as JSON"},
			&cli.BoolFlag{Name: "dump", Usage: "print every znode instead, one line each, sorted by path (a listing that diffs cleanly against one from another source)"},
			&cli.BoolFlag{Name: "extended-types", Value: true, Usage: "the servers ran with zookeeper.extendedTypesEnabled (TTL nodes)"},
		},
		Action: runSnapshotInspect,
	}
}

// errDigestMismatch makes inspect exit non-zero after its report when a
// snapshot's digest block disagrees with its content.
var errDigestMismatch = errors.New("the snapshot's digest block does not match its content")

func runSnapshotInspect(c *cli.Context) error {
	if c.NArg() != 1 {
		return fmt.Errorf("inspect: want one FILE or DIR argument, got %d", c.NArg())
	}
	path := c.Args().First()
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("inspect: %w", err)
	}
	topts := tree.Options{ExtendedTypes: c.Bool("extended-types")}
	var in *snapshot.Inspection
	var t *tree.DataTree
	if st.IsDir() {
		in, t, err = snapshot.InspectDir(path, snapshot.RestoreOptions{Tree: topts})
	} else {
		in, t, err = snapshot.InspectFile(path, topts, nil)
	}
	if err != nil {
		return fmt.Errorf("inspect: %w", err)
	}
	if c.Bool("dump") {
		return snapshot.DumpTree(c.App.Writer, t)
	}
	rep := newInspectReport(in, snapshot.LargestSubtrees(t, c.Int("top")))
	if c.Bool("json") {
		enc := json.NewEncoder(c.App.Writer)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		rep.print(c.App.Writer)
	}
	if in.Digest.Status == snapshot.DigestMismatch {
		return fmt.Errorf("inspect: %s: %w", path, errDigestMismatch)
	}
	return nil
}

// inspectReport is what inspect prints (and its JSON form).
type inspectReport struct {
	Path     string `json:"path"`
	Source   string `json:"source"` // "file" or "directory"
	Snapshot string `json:"snapshot"`
	Header   struct {
		Magic   string `json:"magic"`
		Version int32  `json:"version"`
		DBID    int64  `json:"dbid"`
	} `json:"header"`
	Compression string             `json:"compression"`
	Zxid        string             `json:"zxid"`
	Znodes      int                `json:"znodes"`
	Sessions    int                `json:"sessions"`
	ACLs        int                `json:"acls"`
	Digest      inspectDigest      `json:"digest"`
	Replay      *inspectReplay     `json:"replay,omitempty"`
	Largest     []snapshot.Subtree `json:"largestSubtrees"`
}

type inspectDigest struct {
	Status   snapshot.DigestStatus `json:"status"`
	Tree     int64                 `json:"tree"`
	File     *int64                `json:"file,omitempty"`
	FileZxid string                `json:"fileZxid,omitempty"`
	Summary  string                `json:"summary"`
}

type inspectReplay struct {
	Logs       []string `json:"logs"`
	Txns       int      `json:"txns"`
	TxnDigests int      `json:"txnDigestsChecked"`
	Skipped    []string `json:"skippedSnapshots,omitempty"`
	Warnings   []string `json:"warnings,omitempty"`
	Epochs     struct {
		Accepted int64 `json:"accepted"`
		Current  int64 `json:"current"`
	} `json:"epochs"`
	EpochsDerived bool `json:"epochsDerived"`
}

func newInspectReport(in *snapshot.Inspection, largest []snapshot.Subtree) *inspectReport {
	r := &inspectReport{
		Path: in.Path, Source: "file", Snapshot: in.Snapshot.Name,
		Compression: in.Snapshot.Compression.String(),
		Zxid:        fmt.Sprintf("%#x", in.Zxid),
		Znodes:      in.Znodes, Sessions: in.Sessions, ACLs: in.ACLs,
		Largest: largest,
	}
	r.Header.Magic = magicString(in.Header.Magic)
	r.Header.Version, r.Header.DBID = in.Header.Version, in.Header.DBID
	d := in.Digest
	r.Digest = inspectDigest{Status: d.Status, Tree: d.Tree, Summary: d.String()}
	if d.File.Present && d.File.Zxid != 0 {
		r.Digest.File, r.Digest.FileZxid = &d.File.Digest, fmt.Sprintf("%#x", d.File.Zxid)
	}
	if s := in.Restore; s != nil {
		r.Source = "directory"
		rp := &inspectReplay{Txns: s.Txns, TxnDigests: s.TxnDigests, Warnings: s.Warnings, EpochsDerived: s.EpochsDerived}
		rp.Epochs.Accepted, rp.Epochs.Current = s.Epochs.Accepted, s.Epochs.Current
		for _, l := range s.Logs {
			rp.Logs = append(rp.Logs, l.Name)
		}
		for _, e := range s.SkippedSnapshots {
			rp.Skipped = append(rp.Skipped, e.Error())
		}
		r.Replay = rp
		r.Digest.Summary = fmt.Sprintf("ok: %d logged txn digests matched the tree during replay", s.TxnDigests)
		if s.SnapshotDigestChecked {
			r.Digest.Summary += ", and the snapshot's digest block"
		}
		r.Digest.Summary += fmt.Sprintf("; tree digest %d", s.Digest)
	}
	return r
}

// magicString shows a magic number with its ASCII form.
func magicString(m int32) string {
	b := []byte{byte(m >> 24), byte(m >> 16), byte(m >> 8), byte(m)}
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return fmt.Sprintf("%#08x", uint32(m))
		}
	}
	return fmt.Sprintf("%#08x (%s)", uint32(m), b)
}

func (r *inspectReport) print(w interface{ Write([]byte) (int, error) }) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	if r.Replay != nil {
		logs := "no log had txns after it"
		if len(r.Replay.Logs) > 0 {
			logs = strings.Join(r.Replay.Logs, ", ")
		}
		p("directory %s: the tree restored from %s + %d txns (%s)\n", r.Path, r.Snapshot, r.Replay.Txns, logs)
		p("epochs:      accepted %d, current %d%s\n", r.Replay.Epochs.Accepted, r.Replay.Epochs.Current, map[bool]string{true: " (a file is missing: derived from the zxid, as Java does)"}[r.Replay.EpochsDerived])
		for _, s := range r.Replay.Skipped {
			p("skipped snapshot: %s\n", s)
		}
		for _, s := range r.Replay.Warnings {
			p("warning: %s\n", s)
		}
	} else {
		p("file %s\n", r.Path)
	}
	p("header:      magic %s, version %d, dbid %d; compression %s\n", r.Header.Magic, r.Header.Version, r.Header.DBID, r.Compression)
	p("zxid:        %s\n", r.Zxid)
	p("znodes:      %d\n", r.Znodes)
	p("sessions:    %d\n", r.Sessions)
	p("ACL lists:   %d\n", r.ACLs)
	p("digest:      %s\n", r.Digest.Summary)
	if len(r.Largest) > 0 {
		p("largest subtrees (znodes, data bytes):\n")
		for _, s := range r.Largest {
			p("  %10d %12d  %s\n", s.Nodes, s.DataBytes, s.Path)
		}
	}
}
