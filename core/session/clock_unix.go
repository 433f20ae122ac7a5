//go:build unix

package session

import "golang.org/x/sys/unix"

// ElapsedMillis is ZooKeeper's Time.currentElapsedTime, System.nanoTime() /
// 1_000_000: milliseconds of CLOCK_MONOTONIC, which is what HotSpot reads for
// nanoTime on Linux. Session ids made from it carry the same time bits as
// those of a Java server started at the same moment on the same machine.
// It never goes back and does not follow wall-clock changes.
func ElapsedMillis() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		// CLOCK_MONOTONIC is always there on supported systems.
		panic("session: clock_gettime(CLOCK_MONOTONIC): " + err.Error())
	}
	return ts.Nano() / 1e6
}
