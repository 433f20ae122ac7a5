package ensemble

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Locations of Debian's zookeeper package (3.8.0). zookeeper.jar's manifest
// Class-Path pulls in slf4j-api, netty, jute, metrics-core, commons-cli,
// snappy-java etc., but no slf4j binding, so slf4j-simple (logs to stderr)
// is added explicitly; without it the server logs nothing at all.
const (
	defaultJava      = "/usr/bin/java"
	zookeeperJar     = "/usr/share/java/zookeeper.jar"
	slf4jSimpleJar   = "/usr/share/java/slf4j-simple.jar"
	defaultZkCli     = "/usr/share/zookeeper/bin/zkCli.sh"
	quorumPeerMain   = "org.apache.zookeeper.server.quorum.QuorumPeerMain"
	installHint      = "run scripts/install-deps.sh (apt-get install -y --no-install-recommends zookeeper python3-kazoo default-jre-headless)"
	envJava          = "ZKOBS_JAVA"         // overrides the java binary
	envClasspath     = "ZKOBS_ZK_CLASSPATH" // overrides the server classpath
	envZkCli         = "ZKOBS_ZKCLI"        // overrides the zkCli.sh path
	zkCliConnTimeout = "10000"              // ms, zkCli -timeout
)

// cliJVMFlags keep the zkCli JVM small and quick to start.
const cliJVMFlags = "-Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:-UsePerfData"

func javaPath() string {
	if p := os.Getenv(envJava); p != "" {
		return p
	}
	if p, err := exec.LookPath("java"); err == nil {
		return p
	}
	return defaultJava
}

func classpath() string {
	if cp := os.Getenv(envClasspath); cp != "" {
		return cp
	}
	return zookeeperJar + string(filepath.ListSeparator) + slf4jSimpleJar
}

func zkCliPath() string {
	if p := os.Getenv(envZkCli); p != "" {
		return p
	}
	return defaultZkCli
}

// missingDeps lists what is needed to run an ensemble but absent.
func missingDeps() []string {
	var missing []string
	if _, err := exec.LookPath(javaPath()); err != nil {
		missing = append(missing, "java ("+javaPath()+")")
	}
	for _, p := range filepath.SplitList(classpath()) {
		if _, err := os.Stat(p); err != nil {
			missing = append(missing, p)
		}
	}
	if _, err := os.Stat(zkCliPath()); err != nil {
		missing = append(missing, zkCliPath())
	}
	return missing
}

// Require fails the test (never skips) if java, the ZooKeeper jars or
// zkCli.sh are missing, with an install hint. Start calls it.
func Require(tb testing.TB) {
	tb.Helper()
	missing := missingDeps()
	if len(missing) == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		tb.Fatalf("ensemble: missing %s; the CI job must install them first: %s",
			strings.Join(missing, ", "), installHint)
	}
	tb.Fatalf("ensemble: missing %s; %s", strings.Join(missing, ", "), installHint)
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
	cmd := exec.CommandContext(ctx, zkCliPath(), cliArgs...)
	cmd.Env = append(os.Environ(), "JVMFLAGS="+cliJVMFlags)
	cmd.SysProcAttr = sysProcAttr(false)
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
