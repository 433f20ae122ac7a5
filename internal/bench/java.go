package bench

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/zkobserver/zkobserver/internal/ensemble/zkjava"
)

// ErrNoJava means the Java ZooKeeper 3.8 server the comparison needs is not
// installed.
var ErrNoJava = errors.New("the Java ZooKeeper 3.8 server is not installed")

// RequireJava returns an error wrapping ErrNoJava, with what is missing and
// how to install it, unless java and the ZooKeeper jars are present.
func RequireJava() error {
	if m := zkjava.Missing(false); len(m) > 0 {
		return fmt.Errorf("%w: %s (or skip the Java comparison)", ErrNoJava, zkjava.MissingError(m))
	}
	return nil
}

// JavaLoad is one start-up load of a data directory by a standalone Java
// ZooKeeper 3.8 server.
type JavaLoad struct {
	// LoadSeconds is what Java logs as "Snapshot loaded in N ms"
	// (ZKDatabase.loadDataBase: the newest snapshot read and the logs
	// replayed; not JVM start-up). Resolution 1 ms.
	LoadSeconds float64 `json:"load_seconds"`
	// StartSeconds runs from starting the JVM to that log line.
	StartSeconds float64 `json:"start_to_loaded_seconds"`
	// Zxid and Digest are the zxid and tree digest Java reports.
	Zxid   int64 `json:"zxid"`
	Digest int64 `json:"digest"`
	// PeakRSS is the JVM's VmHWM when the line appeared.
	PeakRSS int64 `json:"peak_rss_bytes"`
}

// JavaOptions configures JavaLoadDataDir.
type JavaOptions struct {
	// Heap is the JVM heap, for -Xms and -Xmx (default "2g": a fixed heap
	// large enough that collections do not dominate a 1M-znode load).
	Heap string
	// Timeout bounds the wait for the load line (default 10 minutes).
	Timeout time.Duration
}

// JavaLoadDataDir starts a standalone Java 3.8 server (QuorumPeerMain with
// a zoo.cfg without server lines, digests and extended types enabled) on
// dataDir, waits for its "Snapshot loaded in" line, reads its peak RSS,
// and kills it (SIGKILL to its process group) before it writes its own
// start-up snapshot, so dataDir keeps what it held (Java may leave a
// snapshot.<zxid>.tmp). The server's log and zoo.cfg go to a temporary
// directory that is removed afterwards, unless an error occurs, in which
// case the error names the log.
func JavaLoadDataDir(dataDir string, opts JavaOptions) (JavaLoad, error) {
	var res JavaLoad
	if err := RequireJava(); err != nil {
		return res, err
	}
	if opts.Heap == "" {
		opts.Heap = "2g"
	}
	if opts.Timeout == 0 {
		opts.Timeout = 10 * time.Minute
	}
	work, err := os.MkdirTemp("", "zkobserver-java-")
	if err != nil {
		return res, err
	}
	keepLog := false
	defer func() {
		if !keepLog {
			os.RemoveAll(work)
		}
	}()
	port, err := freePort()
	if err != nil {
		return res, err
	}
	cfg := filepath.Join(work, "zoo.cfg")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(
		"tickTime=2000\ndataDir=%s\nclientPort=%d\nclientPortAddress=127.0.0.1\nadmin.enableServer=false\n",
		dataDir, port)), 0o644); err != nil {
		return res, err
	}
	logPath := filepath.Join(work, "server.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return res, err
	}
	defer logf.Close()
	cmd := exec.Command(zkjava.Java(), "-Xms"+opts.Heap, "-Xmx"+opts.Heap,
		"-Dzookeeper.extendedTypesEnabled=true", "-Dzookeeper.jmx.log4j.disable=true",
		"-cp", zkjava.Classpath(), zkjava.QuorumPeerMain, cfg)
	cmd.Dir = work
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = zkjava.SysProcAttr(true)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return res, fmt.Errorf("starting java: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	}()
	deadline := time.After(opts.Timeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		b, _ := os.ReadFile(logPath)
		if l, ok := zkjava.ParseSnapshotLoad(b); ok {
			res.StartSeconds = time.Since(start).Seconds()
			res.LoadSeconds = float64(l.Millis) / 1000
			res.Zxid, res.Digest = l.Zxid, l.Digest
			res.PeakRSS = peakRSSOf(strconv.Itoa(cmd.Process.Pid))
			break
		}
		select {
		case err := <-exited:
			exited <- err // for the deferred reap
			keepLog = true
			return res, fmt.Errorf("java exited before loading %s (%v); see %s", dataDir, err, logPath)
		case <-deadline:
			keepLog = true
			return res, fmt.Errorf("java did not load %s within %v; see %s", dataDir, opts.Timeout, logPath)
		case <-tick.C:
		}
	}
	return res, nil
}

// freePort returns a TCP port that was free on 127.0.0.1.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
