package observer

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zkobserver/zkobserver/core/learner"
)

// Metrics are the observer's counters and gauges. Names follow ZooKeeper's
// (ServerMetrics) where ZooKeeper has the same measure: diff_count,
// snap_count, observer_sync_time, digest_mismatches_count.
type Metrics struct {
	obs *Observer

	txns             atomic.Int64
	lastZxid         atomic.Int64
	connects         atomic.Int64
	truncs           atomic.Int64
	digestMismatches atomic.Int64
	fuzzyDigests     atomic.Int64

	mu        sync.Mutex
	diffs     int64
	snaps     int64
	syncCount int64
	syncSum   time.Duration
	syncMax   time.Duration
	syncMin   time.Duration
	syncBytes int64
}

func (m *Metrics) recordSync(r learner.SyncReport) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch r.Mode {
	case learner.SyncDiff:
		m.diffs++
	case learner.SyncSnap:
		m.snaps++
	}
	m.syncCount++
	m.syncSum += r.Duration
	m.syncBytes += r.Bytes
	if r.Duration > m.syncMax {
		m.syncMax = r.Duration
	}
	if m.syncMin == 0 || r.Duration < m.syncMin {
		m.syncMin = r.Duration
	}
}

// Snapshot is a point-in-time copy of the metrics.
type Snapshot struct {
	State                 State
	Leader                int64
	LastZxid              int64
	DurableZxid           int64
	TxnsApplied           int64
	DiffCount             int64
	SnapCount             int64
	TruncCount            int64
	LeaderConnects        int64
	DigestMismatches      int64
	FuzzyDigestsSkipped   int64
	SyncCount             int64
	SyncTimeSumMs         float64
	SyncTimeMinMs         float64
	SyncTimeMaxMs         float64
	SyncBytes             int64
	Znodes                int
	ApproximateDataSizeMB float64
}

// Snapshot returns the current values.
func (m *Metrics) Snapshot() Snapshot {
	s := Snapshot{
		LastZxid: m.lastZxid.Load(), TxnsApplied: m.txns.Load(), TruncCount: m.truncs.Load(),
		LeaderConnects: m.connects.Load(), DigestMismatches: m.digestMismatches.Load(), FuzzyDigestsSkipped: m.fuzzyDigests.Load(),
		Leader: -1,
	}
	if o := m.obs; o != nil {
		s.State, s.Leader, s.DurableZxid = o.State(), o.Leader(), o.DurableZxid()
		s.Znodes = o.tree.NodeCount()
	}
	m.mu.Lock()
	s.DiffCount, s.SnapCount, s.SyncCount, s.SyncBytes = m.diffs, m.snaps, m.syncCount, m.syncBytes
	s.SyncTimeSumMs = float64(m.syncSum) / 1e6
	s.SyncTimeMinMs, s.SyncTimeMaxMs = float64(m.syncMin)/1e6, float64(m.syncMax)/1e6
	m.mu.Unlock()
	return s
}

// WritePrometheus writes the metrics in the Prometheus text format.
func (m *Metrics) WritePrometheus(w io.Writer) error {
	s := m.Snapshot()
	var err error
	p := func(name, typ, help string, v any) {
		if err == nil {
			_, err = fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n%s %v\n", name, help, name, typ, name, v)
		}
	}
	for st := Discovering; st <= Stopped; st++ {
		v := 0
		if st == s.State {
			v = 1
		}
		if err == nil {
			if st == Discovering {
				_, err = fmt.Fprintf(w, "# HELP observer_state 1 for the observer's current state\n# TYPE observer_state gauge\n")
			}
			if err == nil {
				_, err = fmt.Fprintf(w, "observer_state{state=%q} %d\n", st.String(), v)
			}
		}
	}
	p("leader", "gauge", "sid of the leader followed, -1 when none", s.Leader)
	p("last_zxid", "gauge", "zxid of the last txn applied to the tree", s.LastZxid)
	p("durable_zxid", "gauge", "zxid of the last txn the storage engine holds durably", s.DurableZxid)
	p("znode_count", "gauge", "znodes in the tree", s.Znodes)
	p("txns_applied", "counter", "txns applied since start", s.TxnsApplied)
	p("diff_count", "counter", "syncs by DIFF", s.DiffCount)
	p("snap_count", "counter", "syncs by SNAP", s.SnapCount)
	p("trunc_count", "counter", "TRUNCs received (each followed by a reset and a SNAP)", s.TruncCount)
	p("learner_connects", "counter", "connections a leader accepted", s.LeaderConnects)
	p("digest_mismatches_count", "counter", "txns after which the tree digest differed from the leader's", s.DigestMismatches)
	p("digest_fuzzy_skipped", "counter", "digest differences tolerated while replaying over a fuzzy SNAP", s.FuzzyDigestsSkipped)
	if err == nil {
		_, err = fmt.Fprintf(w, "# HELP observer_sync_time time from connecting to UPTODATE, ms\n# TYPE observer_sync_time summary\nobserver_sync_time_count %d\nobserver_sync_time_sum %g\n", s.SyncCount, s.SyncTimeSumMs)
	}
	p("observer_sync_bytes", "counter", "bytes received from leaders during syncs", s.SyncBytes)
	return err
}
