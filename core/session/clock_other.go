//go:build !unix

package session

import "time"

var clockOrigin = time.Now()

// ElapsedMillis is ZooKeeper's Time.currentElapsedTime: milliseconds of a
// monotonic clock. On this platform its origin is the wall-clock time at
// which the process started (ids then differ from a Java server's only in
// their time bits, which no peer interprets).
func ElapsedMillis() int64 {
	return clockOrigin.UnixMilli() + time.Since(clockOrigin).Milliseconds()
}
