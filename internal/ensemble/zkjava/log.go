package zkjava

import (
	"bytes"
	"regexp"
	"strconv"
)

// SnapshotLoad is what ZooKeeper 3.8's ZKDatabase.loadDataBase logs at
// start-up once the data directory is loaded ("Snapshot loaded in N ms,
// highest zxid is 0x<hex>, digest is D"): Millis covers
// FileTxnSnapLog.restore, i.e. reading the newest valid snapshot and
// replaying the txn logs after it (not JVM start-up, nor the snapshot Java
// writes right after); Zxid is the last zxid loaded; Digest the tree digest
// Java computed over what it loaded.
type SnapshotLoad struct {
	Millis int64
	Zxid   int64
	Digest int64
}

var snapshotLoadRE = regexp.MustCompile(`Snapshot loaded in (\d+) ms, highest zxid is 0x([0-9a-fA-F]+), digest is (-?\d+)`)

// ParseSnapshotLoad finds the last SnapshotLoad line of a server log.
func ParseSnapshotLoad(log []byte) (SnapshotLoad, bool) {
	all := snapshotLoadRE.FindAllSubmatch(log, -1)
	if len(all) == 0 {
		return SnapshotLoad{}, false
	}
	m := all[len(all)-1]
	ms, err1 := strconv.ParseInt(string(m[1]), 10, 64)
	zxid, err2 := strconv.ParseUint(string(m[2]), 16, 64)
	d, err3 := strconv.ParseInt(string(m[3]), 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return SnapshotLoad{}, false
	}
	return SnapshotLoad{Millis: ms, Zxid: int64(zxid), Digest: d}, true
}

// DigestMismatch reports whether a server log says a digest check failed
// (DataTree.reportDigestMismatch: the tree against a snapshot's digest
// block or a txn's digest).
func DigestMismatch(log []byte) bool {
	return bytes.Contains(log, []byte("Digests are not matching"))
}
