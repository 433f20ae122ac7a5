package fourletter

import (
	"bufio"
	"strconv"
)

// writeMntr is MonitorCommand for an observer: the values of
// ObserverZooKeeperServer.dumpMonitorValues, then the metrics zkobserver
// measures, in the order a Java 3.8 observer prints them (its metrics
// come out of hash maps in an order fixed by their names), each as
// "zk_<key>\t<value>\n". Integers print as integers, other numbers as Java
// doubles.
//
// In state ReadOnly the layout is ReadOnlyZooKeeperServer's: no
// zk_peer_state and no zk_observer_master_id.
//
// Printed: version, server_state, peer_state, observer_master_id,
// ephemerals_count, num_alive_connections, avg/min/max_latency,
// outstanding_requests, znode_count, global_sessions, local_sessions,
// packets_sent, packets_received, last/min/max_client_response_size,
// watch_count, open/max_file_descriptor_count, approximate_data_size,
// uptime, quorum_size, digest_mismatches_count and the observer_sync_time
// summary (avg/min/max/cnt/sum).
//
// Omitted, because zkobserver has no such thing to measure (printing a
// constant would pretend it does): the TLS gauges (outstanding_tls_handshake,
// auth_failed_count, non_mtls_remote/local_conn_count, all counted only by
// Java's Netty TLS code), connection_drop_probability (connection
// throttling), the quota gauge sets, and the several hundred counters and
// summaries of Java's request pipeline, storage and election
// (ServerMetrics). diff_count and snap_count are also omitted: in Java
// the leader counts the syncs it serves, so an observer prints 0, while
// zkobserver's metrics of those names count the syncs it received.
func writeMntr(w *bufio.Writer, st State, s Server) {
	t := s.Stats()
	p := func(key, value string) {
		w.WriteString("zk_" + key + "\t" + value + "\n")
	}
	i := func(key string, v int64) { p(key, strconv.FormatInt(v, 10)) }
	p("version", s.Version())
	p("server_state", modeName(st))
	if st == Observing {
		// QuorumPeer.getDetailedPeerState: OBSERVING, ZabState BROADCAST,
		// SyncMode NONE once synced.
		p("peer_state", "observing - broadcast")
		i("observer_master_id", t.Leader)
	}
	open, max := fileDescriptors()
	i("ephemerals_count", int64(t.Ephemerals))
	i("num_alive_connections", int64(t.Connections))
	p("avg_latency", javaDouble(t.Latency.Avg()))
	i("outstanding_requests", t.Outstanding)
	i("znode_count", int64(t.NodeCount))
	i("global_sessions", int64(t.GlobalSessions))
	i("last_client_response_size", int64(t.ResponseSize.Last))
	i("packets_sent", t.PacketsSent)
	i("packets_received", t.PacketsReceived)
	i("max_client_response_size", int64(t.ResponseSize.Max))
	i("watch_count", int64(s.Watches().WatchCount()))
	i("min_latency", t.Latency.Min)
	i("max_file_descriptor_count", max)
	i("approximate_data_size", t.ApproximateDataSize)
	i("open_file_descriptor_count", open)
	i("local_sessions", int64(t.LocalSessions))
	i("uptime", t.Uptime.Milliseconds())
	i("max_latency", t.Latency.Max)
	i("min_client_response_size", int64(t.ResponseSize.Min))
	i("quorum_size", int64(t.QuorumSize))
	i("digest_mismatches_count", t.DigestMismatches)
	// AvgMinMaxCounter.values.
	p("avg_observer_sync_time", javaDouble(t.ObserverSync.Avg()))
	i("min_observer_sync_time", t.ObserverSync.Min)
	i("max_observer_sync_time", t.ObserverSync.Max)
	i("cnt_observer_sync_time", t.ObserverSync.Count)
	i("sum_observer_sync_time", t.ObserverSync.Sum)
	if st != ReadOnly {
		return // a Java observer's keys, in Java's order
	}
	// Not in Java's mntr, and only in read-only mode (issue 7): how stale
	// the answers may be. read_only is 1; served_zxid is the zxid of the
	// state reads are answered from; seconds_since_leader_contact is -1 if
	// there was no leader since start.
	i("read_only", 1)
	i("served_zxid", t.LastZxid)
	since := "-1"
	if t.SinceLeaderContact >= 0 {
		since = strconv.FormatFloat(t.SinceLeaderContact.Seconds(), 'f', 3, 64)
	}
	p("seconds_since_leader_contact", since)
}
