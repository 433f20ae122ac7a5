// Package obsbench holds the observer's end-to-end benchmarks against a real
// ensemble (they run as Go benchmarks, since they need the ensemble harness):
// restart-to-synced time of zkobserver (bbolt, Pebble) against a stock Java
// observer of the same ensemble, and the DIFF window (how far behind an
// observer may fall and still be brought back by a DIFF).
//
//	go test -run '^$' -bench . -benchtime 1x -timeout 30m ./internal/obsbench/
//
// ZKOBSERVER_BENCH_ZNODES sets the tree size (default 1,000,000). The seeding
// (SeedDataDir, CopyDir, Znodes) is also used by internal/clienttest.
package obsbench
