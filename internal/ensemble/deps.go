package ensemble

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zkobserver/zkobserver/internal/ensemble/zkjava"
)

// zkCliConnTimeout is zkCli's -timeout, in ms.
const zkCliConnTimeout = "10000"

// cliJVMFlags keep the zkCli JVM small and quick to start.
const cliJVMFlags = "-Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:-UsePerfData"

// Require fails the test (never skips) if java, the ZooKeeper jars or
// zkCli.sh are missing, with an install hint. Start calls it.
func Require(tb testing.TB) {
	tb.Helper()
	missing := zkjava.Missing(true)
	if len(missing) == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		tb.Fatalf("ensemble: missing %s; the CI job must install them first: %s",
			strings.Join(missing, ", "), zkjava.InstallHint)
	}
	tb.Fatalf("ensemble: %s", zkjava.MissingError(missing))
}

// ZkCli runs "zkCli.sh -server server -waitforconnection -timeout 10000
// args..." (one non-interactive command) and returns its stdout without the
// connection preamble ("Connecting to ...", "WATCHER::", "WatchedEvent
// state:SyncConnected ..."). A non-zero exit (failed connection, missing
// node, ...) is an error that includes stderr without slf4j noise; note that
// zkCli prints some results, e.g. "Created /path", to stderr. If ctx has no
// deadline a 60s deadline applies; when ctx ends the whole process group is
// killed.
func ZkCli(ctx context.Context, server string, args ...string) (string, error) {
	ctx, cancel := withDefaultDeadline(ctx)
	defer cancel()
	cliArgs := append([]string{"-server", server, "-waitforconnection", "-timeout", zkCliConnTimeout}, args...)
	cmd := exec.CommandContext(ctx, zkjava.ZkCli(), cliArgs...)
	cmd.Env = append(os.Environ(), "JVMFLAGS="+cliJVMFlags)
	cmd.SysProcAttr = zkjava.SysProcAttr(false)
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	err := cmd.Run()
	out := cleanCliStdout(stdout.String())
	if err != nil {
		return out, fmt.Errorf("zkCli.sh -server %s %s: %w\nstdout: %s\nstderr: %s",
			server, strings.Join(args, " "), err, out, cleanCliStderr(stderr.String()))
	}
	return out, nil
}

// cleanCliStdout strips zkCli's leading connection preamble.
func cleanCliStdout(s string) string {
	for s != "" {
		line, rest, _ := strings.Cut(s, "\n")
		if line != "" && line != "WATCHER::" &&
			!strings.HasPrefix(line, "Connecting to ") &&
			line != "WatchedEvent state:SyncConnected type:None path:null" {
			break
		}
		s = rest
	}
	return s
}

// cleanCliStderr drops slf4j's "no binding" warnings.
func cleanCliStderr(s string) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if !strings.HasPrefix(l, "SLF4J: ") {
			keep = append(keep, l)
		}
	}
	return strings.TrimSpace(strings.Join(keep, "\n"))
}
