package snapshot

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// File name prefixes.
const (
	SnapPrefix = "snapshot"
	LogPrefix  = "log"
)

// Compression is the encoding of a snapshot file, chosen by its name.
type Compression int

// Compression kinds (B1.3).
const (
	CompressionNone   Compression = iota // plain ("snapshot.1a", also any unknown extension)
	CompressionGzip                      // ".gz"
	CompressionSnappy                    // ".snappy" (snappy-java stream format)
)

func (c Compression) String() string {
	switch c {
	case CompressionGzip:
		return "gz"
	case CompressionSnappy:
		return "snappy"
	}
	return "none"
}

// Ext returns the file name extension for c: "", ".gz" or ".snappy".
func (c Compression) Ext() string {
	switch c {
	case CompressionGzip:
		return ".gz"
	case CompressionSnappy:
		return ".snappy"
	}
	return ""
}

// CompressionForName returns the compression Java would assume for a file
// name: the last dot-separated component compared case-insensitively with
// "gz" and "snappy"; anything else is uncompressed.
func CompressionForName(name string) Compression {
	name = filepath.Base(name)
	i := strings.LastIndexByte(name, '.')
	if i < 0 {
		return CompressionNone
	}
	switch ext := name[i+1:]; {
	case strings.EqualFold(ext, "gz"):
		return CompressionGzip
	case strings.EqualFold(ext, "snappy"):
		return CompressionSnappy
	}
	return CompressionNone
}

// ParseZxidFromName parses "<prefix>.<hexzxid>[.anything]" like Java's
// Util.getZxidFromName. Unlike Java it refuses a sign before the hex digits.
func ParseZxidFromName(name, prefix string) (int64, bool) {
	rest, ok := strings.CutPrefix(name, prefix+".")
	if !ok {
		return 0, false
	}
	if i := strings.IndexByte(rest, '.'); i >= 0 {
		rest = rest[:i]
	}
	if rest == "" || rest[0] == '+' || rest[0] == '-' {
		return 0, false
	}
	z, err := strconv.ParseInt(rest, 16, 64)
	if err != nil {
		return 0, false
	}
	return z, true
}

// SnapshotFileName returns the name Java gives a snapshot of zxid:
// "snapshot.<lower-case hex>" plus the compression's extension.
func SnapshotFileName(zxid int64, c Compression) string {
	return SnapPrefix + "." + strconv.FormatInt(zxid, 16) + c.Ext()
}

// LogFileName returns "log.<lower-case hex zxid>".
func LogFileName(zxid int64) string {
	return LogPrefix + "." + strconv.FormatInt(zxid, 16)
}

// FileName is a parsed data file name.
type FileName struct {
	Path        string // directory joined with Name
	Name        string
	Zxid        int64       // from the name
	Compression Compression // snapshots only
}

// listNames returns the files in dir whose names parse with prefix, sorted
// by zxid (ties by name), ascending.
func listNames(dir, prefix string) ([]FileName, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []FileName
	for _, e := range ents {
		if e.IsDir() {
			continue
		}
		z, ok := ParseZxidFromName(e.Name(), prefix)
		if !ok {
			continue
		}
		out = append(out, FileName{
			Path:        filepath.Join(dir, e.Name()),
			Name:        e.Name(),
			Zxid:        z,
			Compression: CompressionForName(e.Name()),
		})
	}
	slices.SortFunc(out, func(a, b FileName) int {
		if a.Zxid != b.Zxid {
			if a.Zxid < b.Zxid {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out, nil
}

// ParseSnapshotName parses a snapshot file name (a base name).
func ParseSnapshotName(name string) (FileName, error) {
	z, ok := ParseZxidFromName(name, SnapPrefix)
	if !ok {
		return FileName{}, fmt.Errorf("%w: %q is not snapshot.<hexzxid>", ErrBadName, name)
	}
	return FileName{Path: name, Name: name, Zxid: z, Compression: CompressionForName(name)}, nil
}
