//go:build !linux

package bolt

import "go.etcd.io/bbolt"

// releaseMapping is a no-op where madvise is not used.
func releaseMapping(*bbolt.DB) {}
