package server_test

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zkobserver/zkobserver/internal/ensemble/zkjava"
)

// zkCliScenario is one interactive zkCli.sh session (ZooKeeper 3.8's
// commands, one per line). It leaves the tree as it found it (the last
// commands remove /cli), so the same script can run against two servers of
// one ensemble in turn and produce the same output up to zxids, times and
// session ids.
//
// Watches (-w) are left out: zkCli prints a watch event from its event
// thread, racing the main thread's output of the next command, so the
// interleaving is not reproducible even against one server.
var zkCliScenario = []string{
	"create /cli",
	"create /cli/a hello",
	"create /cli/a again",       // NodeExists
	"create /cli/missing/x",     // NoNode (parent)
	"create -e /cli/eph e-data", // ephemeral
	"create -s /cli/seq- s1",    // sequential
	"create -s /cli/seq- s2",
	"create -e -s /cli/eseq- es",
	"create -c /cli/cont",
	"create /cli/cont/child c",
	"create -t 60000 /cli/ttl t",
	"create -t 60000 -s /cli/ttlseq- t",
	"get /cli/a",
	"get -s /cli/a",
	"get /cli/nonode", // NoNode
	"set /cli/a world",
	"set -s /cli/a world2",
	"set -v 0 /cli/a stale", // BadVersion
	"set -v 2 /cli/a v3",
	"set /cli/nonode x", // NoNode
	"stat /cli/a",
	"stat /cli/eph",
	"stat /cli/ttl",
	"stat /cli/nonode",
	"ls /cli",
	"ls -s /cli",
	"ls -R /cli",
	"ls /cli/nonode",
	"getEphemerals /cli",
	"getAllChildrenNumber /cli",
	"sync /cli",
	"getAcl /cli/a",
	"setAcl /cli/a world:anyone:cdrwa",
	"addauth digest alice:secret",
	"whoami",
	"create /cli/secret s3cr3t digest:alice:" + digestOf("alice:secret") + ":cdrwa",
	"getAcl /cli/secret",
	"get /cli/secret",
	"setAcl /cli/secret auth::rwa",
	"getAcl /cli/secret",
	"setAcl -s /cli/a world:anyone:rw",
	"getAcl -s /cli/a",
	"delete /cli/a", // allowed: delete needs DELETE on /cli
	"create /cli/ro r world:anyone:r",
	"set /cli/ro nope", // NoAuth
	"get /cli/ro",
	"delete -v 5 /cli/seq-0000000002", // BadVersion
	"delete /cli/seq-0000000002",
	"delete /cli/cont", // NotEmpty
	"delete /cli/nonode",
	"deleteall /cli/cont",
	"ls /cli",
	"deleteall /cli",
	"stat /cli",
}

// TestZkCliScenario runs zkCliScenario through Debian's zkCli.sh against a
// Java follower and then against zkobserver (same ensemble, extended types
// on) and compares the two transcripts after normalising what legitimately
// differs between two sequential runs: the server address in the prompt,
// zxids (each run has its own; they are renamed in order of first
// appearance, so equal zxids stay equal and distinct ones distinct), times
// and nonzero session ids (ephemeralOwner).
func TestZkCliScenario(t *testing.T) {
	e := startEnsemble(t)
	z := startObs(t, e, obsOpts{sid: 12})
	var follower string
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, n := range e.Nodes() {
		if m, err := e.Mode(ctx, n.ID); err == nil && m == "follower" {
			follower = n.ClientAddr
			break
		}
	}
	if follower == "" {
		t.Fatal("no follower")
	}
	java := normalizeCli(runCliScript(t, ctx, follower, zkCliScenario))
	ours := normalizeCli(runCliScript(t, ctx, z.addr, zkCliScenario))
	if java != ours {
		t.Fatalf("zkCli transcripts differ:\n%s", lineDiff(java, ours))
	}
	t.Logf("%d transcript lines equal after normalising", strings.Count(java, "\n")+1)
	// The scenario must have exercised what it claims.
	for _, want := range []string{"Node already exists: /cli/a", "Node does not exist: /cli/nonode",
		"version No is not valid : /cli/a", "Insufficient permission : /cli/ro", "Node not empty: /cli/cont",
		"s3cr3t", "/cli/seq-0000000002", "ephemeralOwner = <session>", "'digest,'alice:"} {
		if !strings.Contains(java, want) {
			t.Errorf("the Java transcript lacks %q:\n%s", want, java)
		}
	}
}

// digestOf is DigestAuthenticationProvider.generateDigest's hash part:
// base64(sha1("user:password")).
func digestOf(idPassword string) string {
	h := sha1.Sum([]byte(idPassword))
	return base64.StdEncoding.EncodeToString(h[:])
}

// runCliScript feeds lines to one interactive zkCli.sh (stdin, no jline:
// one command per line, no prompts) and returns its stdout and stderr
// interleaved as written (both go to one pipe; Java's System.out and
// System.err flush on println).
func runCliScript(t *testing.T, ctx context.Context, addr string, lines []string) string {
	t.Helper()
	cmd := exec.CommandContext(ctx, zkjava.ZkCli(), "-server", addr, "-waitforconnection", "-timeout", "10000")
	cmd.Env = append(os.Environ(), "JVMFLAGS=-Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:-UsePerfData")
	cmd.SysProcAttr = zkjava.SysProcAttr(false)
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	cmd.Stdin = strings.NewReader(strings.Join(lines, "\n") + "\n")
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	// zkCli exits with the status of its last command (1 for the final
	// stat of the removed /cli); only a failure to run counts.
	var exit *exec.ExitError
	if err := cmd.Run(); err != nil && !errors.As(err, &exit) {
		t.Fatalf("zkCli.sh -server %s: %v\n%s", addr, err, out.String())
	}
	return out.String()
}

var (
	cliTime    = regexp.MustCompile(`(?m)^(ctime|mtime) = .*$`)
	cliOwner   = regexp.MustCompile(`(?m)^ephemeralOwner = (0x[0-9a-f]+)$`)
	cliZxidKey = regexp.MustCompile(`(?m)^(cZxid|mZxid|pZxid) = (0x[0-9a-f]+)$`)
)

// normalizeCli keeps the lines zkCli prints for commands (dropping slf4j
// and connection noise) and renames what differs between two runs.
func normalizeCli(s string) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		switch {
		case strings.HasPrefix(l, "SLF4J: "), strings.HasPrefix(l, "Connecting to "),
			l == "WATCHER::", l == "", strings.HasPrefix(l, "WatchedEvent state:SyncConnected type:None"):
			continue
		}
		keep = append(keep, l)
	}
	s = strings.Join(keep, "\n")
	s = cliTime.ReplaceAllString(s, "$1 = <time>")
	s = cliOwner.ReplaceAllStringFunc(s, func(m string) string {
		if strings.HasSuffix(m, "= 0x0") {
			return m
		}
		return "ephemeralOwner = <session>"
	})
	names := map[string]string{"0x0": "0x0"}
	s = cliZxidKey.ReplaceAllStringFunc(s, func(m string) string {
		k, v, _ := strings.Cut(m, " = ")
		if _, ok := names[v]; !ok {
			names[v] = fmt.Sprintf("Z%d", len(names))
		}
		return k + " = " + names[v]
	})
	return s
}

// lineDiff shows the first differing lines of two transcripts.
func lineDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out strings.Builder
	for i := 0; i < max(len(al), len(bl)); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		mark := "  "
		if x != y {
			mark = "! "
		}
		fmt.Fprintf(&out, "%s%-60s | %s\n", mark, x, y)
	}
	return out.String()
}
