package obsbench

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/zkobserver/zkobserver/core/proto"
	"github.com/zkobserver/zkobserver/core/tree"
	"github.com/zkobserver/zkobserver/snapshot"
	"github.com/zkobserver/zkobserver/storage"
)

// Znodes is the benchmark tree's size.
func Znodes(b testing.TB) int {
	if s := os.Getenv("ZKOBSERVER_BENCH_ZNODES"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1000 {
			b.Fatalf("ZKOBSERVER_BENCH_ZNODES=%q", s)
		}
		return n
	}
	return 1_000_000
}

// SeedDataDir writes a Java dataDir holding a tree of n znodes (128 B of
// data each, 1,000 per parent) in epoch 1.
func SeedDataDir(b testing.TB, dir string, n int) snapshot.Exported {
	t := tree.New(tree.Options{})
	data := make([]byte, 128)
	for i := range data {
		data[i] = byte('a' + i%26)
	}
	zxid := proto.MakeZxid(1, 0)
	create := func(path string, d []byte) {
		zxid++
		rc := t.Apply(&proto.Txn{Header: proto.TxnHeader{ClientID: 1, Zxid: zxid, Time: 1_750_000_000_000, Type: proto.OpCreate},
			Body: &proto.CreateTxn{Path: path, Data: d, ACL: proto.OpenACLUnsafe, ParentCVersion: -1}})
		if rc.Err != 0 {
			b.Fatalf("create %s: %v", path, rc.Err)
		}
	}
	for made, p := 0, 0; made < n; p++ {
		parent := fmt.Sprintf("/bench%04d", p)
		create(parent, []byte{})
		made++
		for c := 0; c < 999 && made < n; c++ {
			create(fmt.Sprintf("%s/node%06d", parent, c), data)
			made++
		}
	}
	ex, err := snapshot.ExportDataDir(dir, t, snapshot.DataDirOptions{Epochs: &storage.Epochs{Accepted: 1, Current: 1}, NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	return ex
}

// CopyDir copies the files under src into dst (same relative paths).
func CopyDir(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		to := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(to, 0o755)
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.Create(to)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
}
