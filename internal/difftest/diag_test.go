package difftest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zkobserver/zkobserver/internal/ensemble"
)

// stallDumpAfter is how long a call waits before slowHook records the state
// of every server.
const stallDumpAfter = 3 * time.Second

// slowHook returns an Options.OnSlow that logs every slow call, and the
// first time a call has waited stallDumpAfter records what the servers of e
// say about themselves while the stall is still on: cons, stat and mntr of
// each, plus a thread dump of each JVM when DIFFTEST_LOGDIR names a
// directory to put it in. (That is how ZOOKEEPER-4537 was found: the
// follower's CommitProcessor parked in wait() with a commit queued.)
func slowHook(t *testing.T, e *ensemble.Ensemble, extra map[string]string) func(int, time.Duration, string) {
	var once sync.Once
	return func(side int, waited time.Duration, desc string) {
		t.Logf("difftest: target %c: %s has waited %v", 'A'+side, desc, waited.Round(time.Millisecond))
		if waited < stallDumpAfter {
			return
		}
		once.Do(func() {
			var b strings.Builder
			fmt.Fprintf(&b, "stall: target %c: %s has waited %v\n", 'A'+side, desc, waited)
			for name, addr := range extra {
				out, err := ensemble.FourLetterAt(context.Background(), addr, "cons")
				fmt.Fprintf(&b, "==== %s cons (err %v)\n%s\n", name, err, out)
			}
			dir := os.Getenv("DIFFTEST_LOGDIR")
			for _, n := range e.Nodes() {
				for _, w := range []string{"cons", "stat", "mntr"} {
					out, err := e.FourLetter(context.Background(), n.ID, w)
					fmt.Fprintf(&b, "==== node %d %s (err %v)\n%s\n", n.ID, w, err, out)
				}
				if dir != "" {
					out, err := exec.Command("jcmd", strconv.Itoa(n.PID()), "Thread.print").CombinedOutput()
					fmt.Fprintf(&b, "==== node %d thread dump (err %v)\n%s\n", n.ID, err, out)
				}
			}
			if dir == "" {
				t.Logf("%s", b.String())
				return
			}
			f := filepath.Join(dir, "stall-"+strings.ReplaceAll(t.Name(), "/", "_")+".txt")
			if err := os.WriteFile(f, []byte(b.String()), 0o644); err != nil {
				t.Logf("difftest: %v", err)
				return
			}
			t.Logf("difftest: the servers' state during the stall is in %s", f)
		})
	}
}
