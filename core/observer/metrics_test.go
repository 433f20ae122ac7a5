package observer

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/zkobserver/zkobserver/core/learner"
	"github.com/zkobserver/zkobserver/storage/memory"
)

// TestMetricsPrometheusText: every sample line is "name[{labels}] value",
// every metric has HELP and TYPE, exactly one state is 1, and syncs are
// counted by mode with ZooKeeper's names.
func TestMetricsPrometheusText(t *testing.T) {
	o, err := New(Config{Engine: memory.New()})
	if err != nil {
		t.Fatal(err)
	}
	o.metrics.obs = o
	o.metrics.recordSync(learner.SyncReport{Mode: learner.SyncSnap, Duration: 30 * time.Millisecond, Bytes: 100})
	o.metrics.recordSync(learner.SyncReport{Mode: learner.SyncDiff, Duration: 10 * time.Millisecond, Bytes: 7})
	o.metrics.recordSync(learner.SyncReport{Mode: learner.SyncDiff, Duration: 20 * time.Millisecond, Bytes: 3})
	var buf bytes.Buffer
	if err := o.Metrics().WritePrometheus(&buf); err != nil {
		t.Fatal(err)
	}
	sample := regexp.MustCompile(`^([a-z_]+)(\{state="[A-Z]+"\})? (-?[0-9.e+]+)$`)
	values := map[string]string{}
	typed := map[string]bool{}
	states := 0
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if strings.HasPrefix(l, "# TYPE ") {
			typed[strings.Fields(l)[2]] = true
			continue
		}
		if strings.HasPrefix(l, "# HELP ") {
			continue
		}
		m := sample.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("bad sample line %q", l)
		}
		name := m[1]
		if !typed[strings.TrimSuffix(strings.TrimSuffix(name, "_count"), "_sum")] && !typed[name] {
			t.Errorf("%s has no TYPE line before it", name)
		}
		if m[2] != "" {
			if m[3] == "1" {
				states++
				if m[2] != `{state="DISCOVERING"}` {
					t.Errorf("state %s, want DISCOVERING", m[2])
				}
			}
			continue
		}
		values[name] = m[3]
	}
	want := map[string]string{
		"diff_count": "2", "snap_count": "1", "observer_sync_time_count": "3", "observer_sync_time_sum": "60",
		"observer_sync_bytes": "110", "leader": "-1", "last_zxid": "0", "znode_count": "4", "digest_mismatches_count": "0",
	}
	for k, v := range want {
		if values[k] != v {
			t.Errorf("%s = %q, want %q", k, values[k], v)
		}
	}
	if states != 1 {
		t.Errorf("%d states are 1", states)
	}
}
