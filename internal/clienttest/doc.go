// Package clienttest holds end-to-end tests of zkobserver's client serving
// with real clients and real processes (issue 6's acceptance items 4 and 5):
// sessions that survive a SIGKILL and restart of the server they are
// connected to, compared with a stock Java observer, and the 1M-znode
// variant as a benchmark (BenchmarkRestartSessionTimeout, not part of
// `make test`):
//
//	go test -run '^$' -bench RestartSessionTimeout -benchtime 1x -timeout 60m ./internal/clienttest/
package clienttest
