package demotest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zkobserver/zkobserver/internal/ensemble"
	"github.com/zkobserver/zkobserver/internal/runproc"
)

// TestDemoCheck runs scripts/demo.sh --check with a prebuilt binary in a
// temporary demo directory, and checks it left no process behind.
func TestDemoCheck(t *testing.T) {
	ensemble.Require(t)
	if testing.Short() {
		t.Skip("starts three JVMs")
	}
	bin, err := runproc.Build(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "demo")
	cmd := exec.Command("bash", "../../scripts/demo.sh", "--check")
	cmd.Env = append(os.Environ(), "ZKOBSERVER_DEMO_DIR="+dir, "ZKOBSERVER_DEMO_BIN="+bin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	select {
	case err = <-done:
	case <-time.After(3 * time.Minute):
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		t.Fatalf("demo.sh --check still running after 3 minutes:\n%s", out.String())
	}
	if err != nil {
		t.Fatalf("demo.sh --check: %v\n%s", err, out.String())
	}
	for _, want := range []string{"zkobserver demo is running", "/metrics", "synced with the leader", "observer stopped", "demo stopped"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	// Every process of the script's group is gone.
	if err := syscall.Kill(-cmd.Process.Pid, 0); err == nil {
		t.Errorf("processes of the demo are still running")
	}
	t.Logf("%s", out.String())
}
