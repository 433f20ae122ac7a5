//go:build !unix

package bolt

import "os"

// lockedBySomeone cannot tell on this platform; a damaged-looking file is
// then reported as corrupt even if another process is writing it.
func lockedBySomeone(string) bool { return false }

// syncDir is a no-op where directories cannot be fsynced.
func syncDir(string) error { return nil }

// unlockFile is a no-op where bbolt's lock is not a flock.
func unlockFile(*os.File) {}

// allocated is the space a file takes on disk (its size, here).
func allocated(info os.FileInfo) int64 { return info.Size() }
