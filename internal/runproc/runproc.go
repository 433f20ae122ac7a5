// Package runproc runs `zkobserver run` as a child process for tests: the
// real binary, its json log lines read from stderr as they come, and its
// Prometheus metrics.
//
// Contracts: Start registers a t.Cleanup that SIGKILLs the child (if it
// still runs) and reaps it; on Linux the child also gets PDEATHSIG=SIGKILL,
// so it dies with the test binary. Waiting is done on log lines and polled
// metrics under a deadline, never by fixed sleeps.
package runproc

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Build builds cmd/zkobserver into dir and returns the binary's path.
func Build(dir string) (string, error) {
	bin := filepath.Join(dir, "zkobserver")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/zkobserver/zkobserver/cmd/zkobserver")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/zkobserver: %v\n%s", err, out)
	}
	return bin, nil
}

// Line is one json log line ("message", "level", fields).
type Line map[string]any

// Message returns the line's message.
func (l Line) Message() string { return l.Str("message") }

// Str returns a string field ("" when absent).
func (l Line) Str(k string) string { s, _ := l[k].(string); return s }

// Int returns a number field, or a "0x..." string field parsed as hex.
func (l Line) Int(k string) int64 {
	switch v := l[k].(type) {
	case float64:
		return int64(v)
	case json.Number:
		n, _ := v.Int64()
		return n
	case string:
		if h, ok := strings.CutPrefix(v, "0x"); ok {
			n, _ := strconv.ParseUint(h, 16, 64)
			return int64(n)
		}
		n, _ := strconv.ParseInt(v, 10, 64)
		return n
	}
	return 0
}

func (l Line) String() string {
	b, _ := json.Marshal(map[string]any(l))
	return string(b)
}

// Child is one running `zkobserver run`.
type Child struct {
	t    testing.TB
	cmd  *exec.Cmd
	done chan struct{} // closed when stderr ended and the process was reaped
	err  error         // Wait's result, valid after done

	mu     sync.Mutex
	lines  []Line
	next   int           // Next's cursor
	notify chan struct{} // signalled on every new line
}

// Start starts bin with args (e.g. "run", "--log-format", "json", ...).
func Start(t testing.TB, bin string, args ...string) *Child {
	t.Helper()
	c := &Child{t: t, cmd: exec.Command(bin, args...), done: make(chan struct{}), notify: make(chan struct{}, 1)}
	c.cmd.SysProcAttr = sysProcAttr()
	stderr, err := c.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	go c.read(stderr)
	t.Cleanup(func() {
		c.signal(syscall.SIGKILL)
		<-c.done
		if t.Failed() {
			t.Logf("zkobserver (pid %d) log tail:\n%s", c.PID(), c.Tail(40))
		}
	})
	return c
}

func (c *Child) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		var l Line
		d := json.NewDecoder(strings.NewReader(sc.Text()))
		if d.Decode(&l) != nil {
			l = Line{"message": sc.Text(), "level": "raw"}
		}
		c.mu.Lock()
		c.lines = append(c.lines, l)
		c.mu.Unlock()
		select {
		case c.notify <- struct{}{}:
		default:
		}
	}
	io.Copy(io.Discard, r)
	c.err = c.cmd.Wait()
	close(c.done)
}

// PID returns the child's pid.
func (c *Child) PID() int { return c.cmd.Process.Pid }

// Lines returns every line read so far.
func (c *Child) Lines() []Line {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Line(nil), c.lines...)
}

// Count returns how many lines read so far satisfy ok.
func (c *Child) Count(ok func(Line) bool) int {
	n := 0
	for _, l := range c.Lines() {
		if ok(l) {
			n++
		}
	}
	return n
}

// Tail returns the last n lines, one per line.
func (c *Child) Tail(n int) string {
	ls := c.Lines()
	var b strings.Builder
	for _, l := range ls[max(0, len(ls)-n):] {
		b.WriteString(l.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// Next returns the first line after the previous Next's line that
// satisfies ok, waiting up to timeout; it fails the test if none comes or
// the process exits first.
func (c *Child) Next(timeout time.Duration, ok func(Line) bool) Line {
	c.t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		for ; c.next < len(c.lines); c.next++ {
			if l := c.lines[c.next]; ok(l) {
				c.next++
				c.mu.Unlock()
				return l
			}
		}
		c.mu.Unlock()
		select {
		case <-c.notify:
		case <-c.done:
			c.mu.Lock()
			more := c.next < len(c.lines)
			c.mu.Unlock()
			if !more {
				c.t.Fatalf("zkobserver exited (%v) before the awaited log line:\n%s", c.err, c.Tail(30))
			}
		case <-deadline.C:
			c.t.Fatalf("no awaited log line from zkobserver after %v:\n%s", timeout, c.Tail(30))
		}
	}
}

// Msg matches lines with the given message.
func Msg(m string) func(Line) bool { return func(l Line) bool { return l.Message() == m } }

// Level matches lines of the given level.
func Level(lv string) func(Line) bool { return func(l Line) bool { return l.Str("level") == lv } }

// Synced matches the line logged at every completed sync.
var Synced = Msg("synced with the leader")

func (c *Child) signal(sig syscall.Signal) {
	select {
	case <-c.done:
	default:
		c.cmd.Process.Signal(sig)
	}
}

// Kill SIGKILLs the child and waits until it is reaped.
func (c *Child) Kill() {
	c.signal(syscall.SIGKILL)
	<-c.done
}

// Stop sends SIGTERM and waits up to timeout for the child to exit; it
// returns the exit status (nil for 0). After timeout it SIGKILLs the child
// and fails the test.
func (c *Child) Stop(timeout time.Duration) error {
	c.t.Helper()
	c.signal(syscall.SIGTERM)
	select {
	case <-c.done:
		return c.err
	case <-time.After(timeout):
		c.Kill()
		c.t.Fatalf("zkobserver did not stop within %v of SIGTERM", timeout)
		return nil
	}
}

// ProcessState returns the exited process's state (CPU times included);
// nil while it runs.
func (c *Child) ProcessState() *os.ProcessState {
	select {
	case <-c.done:
		return c.cmd.ProcessState
	default:
		return nil
	}
}

// MetricsAddr waits for the "metrics at /metrics" line and returns its
// address.
func (c *Child) MetricsAddr(timeout time.Duration) string {
	c.t.Helper()
	for _, l := range c.Lines() {
		if l.Message() == "metrics at /metrics" {
			return l.Str("addr")
		}
	}
	return c.Next(timeout, Msg("metrics at /metrics")).Str("addr")
}

// Metrics reads the Prometheus text at http://addr/metrics into a map from
// series (name, with labels when it has them) to value.
func Metrics(ctx context.Context, addr string) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	m := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			return nil, fmt.Errorf("metrics line %q: %v", line, err)
		}
		m[line[:i]] = v
	}
	return m, sc.Err()
}

// WaitMetric polls the child's metrics until ok(value of name) holds,
// for up to timeout, and returns the last value read.
func (c *Child) WaitMetric(addr, name string, timeout time.Duration, ok func(float64) bool) float64 {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	var last float64
	var lastErr error
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		m, err := Metrics(ctx, addr)
		cancel()
		if err == nil {
			v, found := m[name]
			if found && ok(v) {
				return v
			}
			last, lastErr = v, nil
			if !found {
				lastErr = fmt.Errorf("no metric %s", name)
			}
		} else {
			lastErr = err
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("metric %s: last %v (%v) after %v:\n%s", name, last, lastErr, timeout, c.Tail(20))
		}
		select {
		case <-c.done:
			c.t.Fatalf("zkobserver exited (%v) while waiting for metric %s:\n%s", c.err, name, c.Tail(30))
		case <-time.After(20 * time.Millisecond): // polling real state under a deadline
		}
	}
}
