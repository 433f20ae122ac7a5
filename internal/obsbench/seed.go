package obsbench

import (
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/zkobserver/zkobserver/internal/bench"
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
	t, err := bench.Tree(n, 128, 1)
	if err != nil {
		b.Fatal(err)
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
