package rotest

import (
	"bufio"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"sync"
	"testing"
	"time"
)

//go:embed kazoo_driver.py
var driverScript string

// kazoo runs kazoo_driver.py: commands in, one reply per command out; watch
// events collected as they come.
type kazoo struct {
	t     *testing.T
	cmd   *exec.Cmd
	in    io.WriteCloser
	reps  chan map[string]any
	mu    sync.Mutex
	evs   []event
	evCh  chan struct{} // signalled (non-blocking) at every event
	stder *lockedBuffer
}

// event is a kazoo watch callback, in the order the driver saw them.
type event struct {
	Name, Path, Type string
	Seq              int
}

type lockedBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b = append(l.b, p...)
	return len(p), nil
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.b)
}

// startKazoo starts the driver; it is stopped at the test's end.
func startKazoo(t *testing.T) *kazoo {
	t.Helper()
	cmd := exec.Command("/usr/bin/python3", "-c", driverScript)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	k := &kazoo{t: t, cmd: cmd, in: in, reps: make(chan map[string]any, 1), evCh: make(chan struct{}, 1), stder: &lockedBuffer{}}
	cmd.Stderr = k.stder
	if err := cmd.Start(); err != nil {
		t.Fatalf("kazoo driver: %v", err)
	}
	go k.read(out)
	t.Cleanup(func() {
		in.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("kazoo driver stderr (tail):\n%s", tail(k.stder.String(), 4000))
		}
	})
	return k
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func (k *kazoo) read(out io.Reader) {
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			continue
		}
		if m["event"] == true {
			k.mu.Lock()
			k.evs = append(k.evs, event{Name: str(m["name"]), Path: str(m["path"]), Type: str(m["type"]), Seq: int(num(m["seq"]))})
			k.mu.Unlock()
			select {
			case k.evCh <- struct{}{}:
			default:
			}
			continue
		}
		k.reps <- m
	}
	close(k.reps)
}

func str(v any) string { s, _ := v.(string); return s }
func num(v any) float64 {
	f, _ := v.(float64)
	return f
}

// do sends one command and returns its reply; a dead driver fails the test.
func (k *kazoo) do(cmd map[string]any, timeout time.Duration) map[string]any {
	k.t.Helper()
	b, _ := json.Marshal(cmd)
	if _, err := k.in.Write(append(b, '\n')); err != nil {
		k.t.Fatalf("kazoo driver: %v\n%s", err, tail(k.stder.String(), 4000))
	}
	select {
	case m, ok := <-k.reps:
		if !ok {
			k.t.Fatalf("kazoo driver exited\n%s", tail(k.stder.String(), 4000))
		}
		return m
	case <-time.After(timeout):
		k.t.Fatalf("kazoo driver: no reply to %v within %v\n%s", cmd, timeout, tail(k.stder.String(), 4000))
	}
	return nil
}

// mustOK is do for a command that must succeed.
func (k *kazoo) mustOK(cmd map[string]any, timeout time.Duration) map[string]any {
	k.t.Helper()
	m := k.do(cmd, timeout)
	if m["ok"] != true {
		k.t.Fatalf("kazoo %v: %v", cmd, m)
	}
	return m
}

// events returns the watch events so far.
func (k *kazoo) events() []event {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]event(nil), k.evs...)
}

// waitEvents waits until n watch events have come, or timeout.
func (k *kazoo) waitEvents(n int, timeout time.Duration) []event {
	k.t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		if evs := k.events(); len(evs) >= n {
			return evs
		}
		select {
		case <-k.evCh:
		case <-deadline.C:
			k.t.Fatalf("%d watch events within %v, want %d: %v", len(k.events()), timeout, n, k.events())
		}
	}
}

// clientInfo is a client's info reply.
type clientInfo struct {
	Session, ClientState string
	States               []string
	OK, Failed           int
	Errors               []string
	Regress              [][]any
}

func infoOf(m map[string]any) clientInfo {
	ci := clientInfo{Session: str(m["session"]), ClientState: str(m["client_state"]), OK: int(num(m["reads_ok"])), Failed: int(num(m["reads_failed"]))}
	for _, s := range anyList(m["states"]) {
		ci.States = append(ci.States, str(s))
	}
	for _, s := range anyList(m["errors"]) {
		ci.Errors = append(ci.Errors, str(s))
	}
	for _, r := range anyList(m["regress"]) {
		ci.Regress = append(ci.Regress, anyList(r))
	}
	return ci
}

func anyList(v any) []any { l, _ := v.([]any); return l }

func (c clientInfo) String() string {
	return fmt.Sprintf("session %s state %s transitions %v reads ok %d failed %d errors %v regressions %v",
		c.Session, c.ClientState, c.States, c.OK, c.Failed, c.Errors, c.Regress)
}
