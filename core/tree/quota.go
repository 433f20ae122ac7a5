package tree

import (
	"sort"
	"strconv"
	"strings"
)

// Quotas, as Java's DataTree keeps them. A quota on path P is the node
// /zookeeper/quota/P/zookeeper_limits (created by clients through ordinary
// txns). Beside it, /zookeeper/quota/P/zookeeper_stats holds "count=N,bytes=M"
// for the subtree at P; every server recomputes and updates that node
// locally (outside any txn, without touching its stat), so it is part of the
// tree clients read but not of the digest (it lies under /zookeeper/).
const (
	quotaLimitNode = "zookeeper_limits"
	quotaStatNode  = "zookeeper_stats"
)

func quotaStatPath(p string) string { return QuotaPath + p + "/" + quotaStatNode }

// quotaPrefix returns the deepest path with a quota that is p or an ancestor
// of p (by whole path components), or "" when there is none; a quota on the
// root is ignored, as in Java (getMaxPrefixWithQuota).
func (t *DataTree) quotaPrefix(p string) string {
	if len(t.quotas) == 0 {
		return ""
	}
	for q := p; q != ""; q = parentOf(q) {
		if _, ok := t.quotas[q]; ok {
			return q
		}
	}
	return ""
}

// quotaChanged is called after a create (count +1), delete (count -1) or
// setData (count 0) under path, with the change in data bytes.
func (t *DataTree) quotaChanged(path string, bytesDiff int64, countDiff int64) {
	q := t.quotaPrefix(path)
	if q == "" {
		return
	}
	n := t.nodes[quotaStatPath(q)]
	if n == nil {
		return // Java logs "Missing node for stat"
	}
	st := parseStatsTrack(n.Data)
	st.set("count", st.get("count")+countDiff)
	st.set("bytes", st.get("bytes")+bytesDiff)
	t.setLocalData(n, st.bytes())
}

// quotaNodeCreated handles the creation of a limits or stats node.
func (t *DataTree) quotaNodeCreated(parent, name string) {
	if !strings.HasPrefix(parent, QuotaPath) {
		return
	}
	p := parent[len(QuotaPath):]
	switch name {
	case quotaLimitNode:
		if p != "" {
			t.quotas[p] = struct{}{}
		}
	case quotaStatNode:
		t.recountQuota(p)
	}
}

// quotaNodeDeleted handles the deletion of a limits node.
func (t *DataTree) quotaNodeDeleted(parent, name string) {
	if name == quotaLimitNode && strings.HasPrefix(parent, ZookeeperPath) && len(parent) >= len(QuotaPath) {
		delete(t.quotas, parent[len(QuotaPath):])
	}
}

// recountQuota sets the stats node of quota path p from its subtree
// (updateQuotaForPath).
func (t *DataTree) recountQuota(p string) {
	n := t.nodes[quotaStatPath(p)]
	if n == nil {
		return
	}
	var count, bytes int64
	var walk func(string)
	walk = func(path string) {
		node := t.nodes[path]
		if node == nil {
			return
		}
		count++
		bytes += int64(len(node.Data))
		for c := range node.children {
			walk(path + "/" + c)
		}
	}
	walk(p)
	st := statsTrack{}
	st.set("bytes", bytes)
	st.set("count", count)
	t.preChange(n)
	t.setLocalData(n, st.bytes())
	t.postChange(quotaStatPath(p), n)
}

// setupQuotas rebuilds the quota set and every stats node after a snapshot
// load (setupQuota): each leaf named zookeeper_limits under /zookeeper/quota
// declares a quota.
func (t *DataTree) setupQuotas() {
	var walk func(string)
	walk = func(path string) {
		n := t.nodes[path]
		if n == nil {
			return
		}
		if len(n.children) == 0 {
			if strings.HasSuffix(path, "/"+quotaLimitNode) {
				p := path[len(QuotaPath) : len(path)-len(quotaLimitNode)-1]
				t.recountQuota(p)
				if p != "" {
					t.quotas[p] = struct{}{}
				}
			}
			return
		}
		for c := range n.children {
			walk(path + "/" + c)
		}
	}
	walk(QuotaPath)
}

// statsTrack is Java's StatsTrack: "key=long" pairs separated by ',' or ';'.
// It renders count and bytes first, then the other keys sorted, after an
// extra '=' (Java's trick to keep old parsers working).
type statsTrack map[string]int64

func parseStatsTrack(b []byte) statsTrack {
	st := statsTrack{}
	for _, pair := range strings.FieldsFunc(string(b), func(r rune) bool { return r == ',' || r == ';' }) {
		kv := strings.Split(pair, "=")
		for len(kv) > 1 && kv[len(kv)-1] == "" { // Java's split drops trailing empties
			kv = kv[:len(kv)-1]
		}
		v := int64(-1)
		if len(kv) > 1 {
			if x, err := strconv.ParseInt(kv[1], 10, 64); err == nil {
				v = x
			}
		}
		st[kv[0]] = v
	}
	return st
}

func (s statsTrack) get(k string) int64 {
	if v, ok := s[k]; ok {
		return v
	}
	return -1
}

func (s statsTrack) set(k string, v int64) { s[k] = v }

func (s statsTrack) bytes() []byte {
	var b strings.Builder
	b.WriteString("count=")
	b.WriteString(strconv.FormatInt(s.get("count"), 10))
	b.WriteString(",bytes=")
	b.WriteString(strconv.FormatInt(s.get("bytes"), 10))
	var extra []string
	for k := range s {
		if k != "count" && k != "bytes" {
			extra = append(extra, k)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		b.WriteByte('=')
		for _, k := range extra {
			b.WriteByte(';')
			b.WriteString(k)
			b.WriteByte('=')
			b.WriteString(strconv.FormatInt(s[k], 10))
		}
	}
	return []byte(b.String())
}

// setLocalData replaces the data of a node the tree maintains itself (a
// quota stats node), keeping the data size.
func (t *DataTree) setLocalData(n *Node, data []byte) {
	t.dataSize += int64(len(data) - len(n.Data))
	n.Data = data
}
