package bench

import (
	"io/fs"
	"syscall"
)

// allocated returns the bytes a file occupies on disk (its allocated
// blocks, so preallocated or sparse files count what they really use), or
// its size where the system does not say.
func allocated(info fs.FileInfo) int64 {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return st.Blocks * 512
	}
	return info.Size()
}
