//go:build !unix

package fourletter

// processFDs returns -1, -1: unknown, as Java's OSMXBean reports off Unix.
func processFDs() (open, max int64) { return -1, -1 }
