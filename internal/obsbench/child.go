package obsbench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// buildBinary builds cmd/zkobserver into dir.
func buildBinary(dir string) (string, error) {
	bin := filepath.Join(dir, "zkobserver")
	out, err := exec.Command("go", "build", "-o", bin, "../../cmd/zkobserver").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
}

// child is a `zkobserver run` process whose json log lines are collected.
type child struct {
	cmd   *exec.Cmd
	mu    sync.Mutex
	lines []map[string]any
	added chan struct{} // signalled when a line arrives
	done  chan struct{}
}

func startChild(bin string, args ...string) (*child, error) {
	c := &child{cmd: exec.Command(bin, append([]string{"run", "--log-format", "json"}, args...)...), added: make(chan struct{}, 1), done: make(chan struct{})}
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stderr, err := c.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := c.cmd.Start(); err != nil {
		return nil, err
	}
	go c.read(stderr)
	return c, nil
}

func (c *child) read(r io.Reader) {
	defer close(c.done)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) != nil {
			m = map[string]any{"message": sc.Text()}
		}
		c.mu.Lock()
		c.lines = append(c.lines, m)
		c.mu.Unlock()
		select {
		case c.added <- struct{}{}:
		default:
		}
	}
}

// waitLine waits for a log line with the given message whose fields pass
// ok (nil: any), starting at line index from; it returns the line and the
// index after it.
func (c *child) waitLine(message string, from int, timeout time.Duration, ok func(map[string]any) bool) (map[string]any, int, error) {
	deadline := time.After(timeout)
	for {
		c.mu.Lock()
		for i := from; i < len(c.lines); i++ {
			if c.lines[i]["message"] == message && (ok == nil || ok(c.lines[i])) {
				l := c.lines[i]
				c.mu.Unlock()
				return l, i + 1, nil
			}
		}
		c.mu.Unlock()
		select {
		case <-c.added:
		case <-c.done:
			return nil, 0, fmt.Errorf("zkobserver exited before %q:\n%s", message, c.tail(30))
		case <-deadline:
			return nil, 0, fmt.Errorf("no %q after %v:\n%s", message, timeout, c.tail(30))
		}
	}
}

func (c *child) tail(n int) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b strings.Builder
	for _, l := range c.lines[max(0, len(c.lines)-n):] {
		j, _ := json.Marshal(l)
		b.Write(j)
		b.WriteByte('\n')
	}
	return b.String()
}

// stop sends SIGTERM and waits for the process to exit.
func (c *child) stop() error {
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(60 * time.Second):
		c.cmd.Process.Kill()
	}
	return c.cmd.Wait()
}

func (c *child) kill() {
	c.cmd.Process.Kill()
	c.cmd.Wait()
}
