//go:build unix

package fourletter

import (
	"os"
	"syscall"
)

// processFDs returns the number of open file descriptors (the entries of
// /proc/self/fd, or /dev/fd where there is no /proc) and the soft limit
// RLIMIT_NOFILE, as Java's UnixOperatingSystemMXBean does; -1 for what
// cannot be read.
func processFDs() (open, max int64) {
	open, max = -1, -1
	for _, dir := range []string{"/proc/self/fd", "/dev/fd"} {
		if ents, err := os.ReadDir(dir); err == nil {
			open = int64(len(ents)) - 1 // the descriptor ReadDir itself held
			break
		}
	}
	var rl syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl) == nil {
		max = int64(rl.Cur)
	}
	return open, max
}
