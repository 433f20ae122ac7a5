package observer

import (
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zkobserver/zkobserver/core/learner"
	"github.com/zkobserver/zkobserver/internal/runproc"
)

// maxAttempts is the most connection attempts learner.Run's backoff allows
// within window of the first one: waits of Min, 2*Min, ... up to Max, each
// shortened by at most the 20% jitter.
func maxAttempts(bo learner.Backoff, window time.Duration) int {
	n, elapsed, wait := 1, time.Duration(0), bo.Min
	for {
		elapsed += wait - wait/5
		if elapsed > window {
			return n
		}
		n++
		wait = min(2*wait, bo.Max)
	}
}

// cpuTime returns a process's user+system CPU time from /proc.
func cpuTime(t *testing.T, pid int) time.Duration {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	// Fields after the parenthesised command: state is field 3, utime 14,
	// stime 15, in clock ticks (100 per second on Linux).
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// TestLeaderDownBackoff: with a "leader" that accepts and at once closes
// every connection, the real binary retries with the 100ms..5s doubling
// backoff: few attempts, almost no CPU, one warning line, and a prompt
// clean stop on SIGTERM.
func TestLeaderDownBackoff(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Fatalf("needs /proc (Linux): %v", err)
	}
	bin := zkobserverBinary(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepts := make(chan time.Time, 1000)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepts <- time.Now()
			c.Close()
		}
	}()
	c := runproc.Start(t, bin, "run", "--log-format", "json", "--storage", "memory", "--sid", "9",
		"--ensemble", "1="+ln.Addr().String(), "--tick-time", "200ms")
	var first time.Time
	select {
	case first = <-accepts:
	case <-time.After(30 * time.Second):
		t.Fatalf("the observer never connected:\n%s", c.Tail(20))
	}
	cpu0 := cpuTime(t, c.PID())
	const window = 5 * time.Second
	n, end := 1, time.After(time.Until(first.Add(window)))
	var gaps []time.Duration
	last := first
count:
	for {
		select {
		case at := <-accepts:
			n++
			gaps = append(gaps, at.Sub(last).Round(time.Millisecond))
			last = at
		case <-end:
			break count
		}
	}
	cpu := cpuTime(t, c.PID()) - cpu0
	limit := maxAttempts(learner.DefaultBackoff, window)
	t.Logf("%d connection attempts in %v (gaps %v), at most %d allowed; CPU %v", n, window, gaps, limit, cpu)
	if n > limit {
		t.Errorf("%d attempts in %v, the backoff allows %d", n, window, limit)
	}
	if n < 4 {
		t.Errorf("%d attempts in %v: the observer does not retry", n, window)
	}
	for i := 1; i < len(gaps); i++ {
		if gaps[i] < gaps[i-1]*6/5 {
			t.Errorf("wait %d (%v) not longer than the one before (%v): no exponential backoff", i, gaps[i], gaps[i-1])
		}
	}
	if cpu > window/10 {
		t.Errorf("the observer used %v of CPU in %v of retrying", cpu, window)
	}
	if w := c.Count(runproc.Level("warn")); w != 1 {
		t.Errorf("%d warning lines in %v, want 1 (a run of failures is logged once, then every 30s):\n%s", w, window, c.Tail(20))
	}
	stopAt := time.Now()
	if err := c.Stop(10 * time.Second); err != nil {
		t.Errorf("SIGTERM while retrying: exit %v", err)
	}
	if d := time.Since(stopAt); d > 2*time.Second {
		t.Errorf("stop took %v", d)
	}
	c.Next(time.Second, runproc.Msg("observer stopped"))
}
