//go:build linux

package bolt

import (
	"os"

	"go.etcd.io/bbolt"
	"golang.org/x/sys/unix"
)

// releaseMapping tells the kernel that the resident pages of db's
// read-only file mapping are not needed now (MADV_DONTNEED): they leave the
// process's RSS, stay in the page cache, and fault back in when read again.
// The mapping is shared and read-only, so no data can be lost. Errors are
// ignored: this only saves memory.
func releaseMapping(db *bbolt.DB) {
	info := db.Info()
	st, err := os.Stat(db.Path())
	if err != nil || info.Data == 0 {
		return
	}
	// bbolt maps at least the whole file.
	n := st.Size() &^ int64(os.Getpagesize()-1)
	if n <= 0 {
		return
	}
	// The raw syscall takes the mapping's address as bbolt reports it.
	unix.Syscall(unix.SYS_MADVISE, info.Data, uintptr(n), unix.MADV_DONTNEED)
}
