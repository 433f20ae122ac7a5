package ensemble

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/zkobserver/zkobserver/internal/ensemble/zkjava"
)

// Node is one ensemble member. The exported fields are fixed after Start and
// must not be modified.
type Node struct {
	ID   int    // server id (myid)
	Role string // RoleParticipant or RoleObserver
	// External is true for ExtraServers: the harness allocated ports but runs
	// no process; DataDir, ConfigFile and LogFile are empty.
	External bool

	ClientAddr, QuorumAddr, ElectionAddr string // "127.0.0.1:port"
	ClientPort, QuorumPort, ElectionPort int

	DataDir    string // the dataDir of zoo.cfg (contains myid and version-2)
	ConfigFile string // zoo.cfg path
	LogFile    string // stdout+stderr of the JVM (slf4j-simple log)

	e   *Ensemble
	dir string // per-node directory holding zoo.cfg and data

	mu   sync.Mutex
	proc *process // most recently started process, nil before the first start
	pids []int    // every pid started for this node
}

// process is one JVM run of a node.
type process struct {
	pid  int
	done chan struct{} // closed when Wait returned
	err  error         // Wait's result, valid after done is closed
}

const (
	sigKill = syscall.SIGKILL
	sigTerm = syscall.SIGTERM
)

// stopTimeout is how long Stop waits after SIGTERM before sending SIGKILL.
const stopTimeout = 10 * time.Second

// ErrNotRunning is returned by Stop and Kill for a server whose process is
// not running.
var ErrNotRunning = errors.New("ensemble: server is not running")

// errPortInUse marks start failures caused by a port that was already taken.
var errPortInUse = errors.New("port already in use")

// VersionDir returns DataDir/version-2, where ZooKeeper keeps snapshot.* and
// log.* files.
func (n *Node) VersionDir() string { return filepath.Join(n.DataDir, "version-2") }

// ReadLog returns the whole log file of the node (all runs, each preceded by
// an "=== ensemble: starting ..." marker line).
func (n *Node) ReadLog() (string, error) {
	b, err := os.ReadFile(n.LogFile)
	return string(b), err
}

// Running reports whether the node's JVM is currently running (started and
// not yet exited).
func (n *Node) Running() bool {
	p := n.current()
	if p == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// PID returns the pid of the node's current or most recent JVM, 0 if it was
// never started.
func (n *Node) PID() int {
	if p := n.current(); p != nil {
		return p.pid
	}
	return 0
}

// PIDs returns every pid ever started for this node, oldest first.
func (n *Node) PIDs() []int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.pids)
}

func (n *Node) current() *process {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.proc
}

// jvmArgs returns the java command line arguments for a run of n.
func (n *Node) jvmArgs(extra []string) []string {
	args := []string{
		"-Xmx256m",
		"-XX:+UseSerialGC",
		"-XX:TieredStopAtLevel=1",
		"-XX:-UsePerfData",
		"-Djava.awt.headless=true",
		"-Dzookeeper.jmx.log4j.disable=true",
		"-Dorg.slf4j.simpleLogger.showDateTime=true",
		"-Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS",
		"-Dorg.slf4j.simpleLogger.showShortLogName=true",
	}
	args = append(args, n.e.opts.JVMFlags...)
	args = append(args, extra...)
	return append(args, "-cp", zkjava.Classpath(), zkjava.QuorumPeerMain, n.ConfigFile)
}

// start launches the node's JVM with stdout and stderr appended to LogFile.
// The caller must make sure the node is not running.
func (n *Node) start(extra []string) error {
	if n.Running() {
		return fmt.Errorf("ensemble: server %d is already running", n.ID)
	}
	f, err := os.OpenFile(n.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer f.Close() // the child has its own descriptor
	args := n.jvmArgs(extra)
	fmt.Fprintf(f, "=== ensemble: starting server %d (%s) at %s: java %s\n",
		n.ID, n.Role, time.Now().Format(time.RFC3339Nano), strings.Join(args, " "))
	cmd := exec.Command(zkjava.Java(), args...)
	cmd.Dir = n.dir
	cmd.Stdout = f
	cmd.Stderr = f
	cmd.SysProcAttr = zkjava.SysProcAttr(true)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("ensemble: starting server %d: %w", n.ID, err)
	}
	p := &process{pid: cmd.Process.Pid, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	n.mu.Lock()
	n.proc = p
	n.pids = append(n.pids, p.pid)
	n.mu.Unlock()
	return nil
}

// signal sends sig to the process group of the running JVM and returns the
// process, or nil if it is not running. The group is only signalled before
// the process has been reaped, so the pgid cannot have been reused.
func (n *Node) signal(sig syscall.Signal) *process {
	n.mu.Lock()
	defer n.mu.Unlock()
	p := n.proc
	if p == nil {
		return nil
	}
	select {
	case <-p.done:
		return nil
	default:
	}
	// The JVM is the group leader (Setpgid), so -pid is its group.
	if err := syscall.Kill(-p.pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		syscall.Kill(p.pid, sig)
	}
	return p
}

// Stop sends SIGTERM to server id's process group, waits up to 10s for it to
// exit, then SIGKILLs it and waits. It returns ErrNotRunning if the server is
// not running.
func (e *Ensemble) Stop(id int) error {
	n, err := e.javaNode(id)
	if err != nil {
		return err
	}
	p := n.signal(sigTerm)
	if p == nil {
		return fmt.Errorf("stop %d: %w", id, ErrNotRunning)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(stopTimeout):
	}
	n.signal(sigKill)
	<-p.done
	return nil
}

// Kill sends SIGKILL to server id's process group and waits until the
// process has been reaped. It returns ErrNotRunning if the server is not
// running.
func (e *Ensemble) Kill(id int) error {
	n, err := e.javaNode(id)
	if err != nil {
		return err
	}
	p := n.signal(sigKill)
	if p == nil {
		return fmt.Errorf("kill %d: %w", id, ErrNotRunning)
	}
	<-p.done
	return nil
}

// Restart starts server id again with the same zoo.cfg, dataDir and ports.
// If the server is still running it is stopped first (as by Stop).
// extraJVMFlags apply to this run only, in addition to Options.JVMFlags.
// Restart returns once the new JVM answers "ruok" on its client port (it
// does not wait for the server to rejoin the quorum; use WaitForMode or
// WaitForLeader for that). On failure the error includes the log tail.
func (e *Ensemble) Restart(id int, extraJVMFlags ...string) error {
	n, err := e.javaNode(id)
	if err != nil {
		return err
	}
	if n.Running() {
		if err := e.Stop(id); err != nil && !errors.Is(err, ErrNotRunning) {
			return err
		}
	}
	if err := n.start(extraJVMFlags); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), e.opts.StartTimeout)
	defer cancel()
	if err := n.waitAlive(ctx); err != nil {
		tail, _ := n.logTail(40)
		return fmt.Errorf("ensemble: restarting server %d: %w\n%s", id, err, tail)
	}
	return nil
}

// checkHealth returns an error if the node's JVM has exited or its log
// reports a port bind failure (wrapping errPortInUse in that case).
func (n *Node) checkHealth() error {
	p := n.current()
	exited := false
	if p != nil {
		select {
		case <-p.done:
			exited = true
		default:
		}
	}
	log, _ := os.ReadFile(n.LogFile)
	if line := bindFailure(log); line != "" {
		return fmt.Errorf("server %d: %w: %s", n.ID, errPortInUse, line)
	}
	if exited {
		return fmt.Errorf("server %d exited: %v (see %s)", n.ID, p.err, n.LogFile)
	}
	return nil
}

// bindFailure returns the log line (with the one before it, which usually
// names the port) showing that a port was taken, or "" if there is none.
func bindFailure(log []byte) string {
	i := bytes.Index(log, []byte("Address already in use"))
	if i < 0 {
		i = bytes.Index(log, []byte("java.net.BindException"))
	}
	if i < 0 {
		return ""
	}
	start := bytes.LastIndexByte(log[:i], '\n')
	if start > 0 {
		start = bytes.LastIndexByte(log[:start], '\n')
	}
	end := bytes.IndexByte(log[i:], '\n')
	if end < 0 {
		end = len(log) - i
	}
	return strings.TrimSpace(string(log[start+1 : i+end]))
}

// waitAlive polls until the node answers ruok with imok, its process exits
// or ctx is done.
func (n *Node) waitAlive(ctx context.Context) error {
	for {
		if err := n.checkHealth(); err != nil {
			return err
		}
		if r, err := probe(ctx, n.ClientAddr, "ruok"); err == nil && r == "imok" {
			return nil
		}
		if err := sleepCtx(ctx, pollInterval); err != nil {
			return fmt.Errorf("server %d not answering ruok: %w", n.ID, err)
		}
	}
}

// logTail returns the last max lines of the node's log.
func (n *Node) logTail(max int) (string, error) {
	b, err := os.ReadFile(n.LogFile)
	if err != nil {
		return "", err
	}
	return tailLines(string(b), max), nil
}

// tailLines returns the last max lines of s.
func tailLines(s string, max int) string {
	s = strings.TrimRight(s, "\n")
	i := len(s)
	for range max {
		j := strings.LastIndexByte(s[:i], '\n')
		if j < 0 {
			return s
		}
		i = j
	}
	return s[i+1:]
}
