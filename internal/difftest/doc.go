// Package difftest is the differential test of the client protocol (issue
// 6, acceptance 2): one seeded random stream of operations issued in
// lockstep against two targets of the same ensemble, A and B, with every
// reply and every watch event compared. It is validated Java against Java
// (a follower against the leader); A can be any server of the ensemble,
// e.g. zkobserver.
//
// # Why two namespaces
//
// A write can happen only once, so A's and B's sessions cannot both create
// the same node. Each op is therefore mirrored: A's sessions write only
// under Root/a, B's only under Root/b, with the same relative paths, data,
// ACLs, flags and versions, and the two replies are compared after mapping
// (below). Because A's and B's writes never touch the same node, and each
// op starts only after both targets answered the previous one, the two
// namespaces go through the same history and every op gets equivalent
// answers on both sides: the same error codes, versions, cversions, child
// names, sequence numbers (counters are per parent), ACLs, multi results
// and watch events. Running the stream twice on two fresh ensembles would
// compare the same things but not the reads of each other's writes, and it
// would not be lockstep.
//
// On top of the mirrored session pairs, one "exact reader" session per
// target reads (and watches) the same absolute paths in both namespaces, so
// that A's view of what B wrote and B's view of what A wrote are compared
// byte for byte with nothing mapped: zxids, ctime/mtime and ephemeral
// owners included. Readers always act on a path in both namespaces at once,
// so each target's watch table stays the mirror image of the other's
// (3.8.0's checkWatches answers OK when any connection watches the path).
//
// # Lockstep and the barrier
//
// An op is sent to A and to B concurrently (pipelining within one op's
// requests is allowed); the next op starts when both answered. After every
// op that wrote, a barrier runs on each target: a setData of Root through
// that target's reader, then a ping on every session of that target. A
// server applies txns in zxid order, answers a write after applying it, and
// queues a txn's watch events at apply time, ahead of the reply to any later
// request of the same connection; so once the pings have answered, every
// event the op caused is in hand, and the event lists of each session pair
// are compared. No sleeps. (A sync would not do as the barrier: a Java
// leader answers sync at once, without waiting for commits in flight.)
//
// # What is compared, mapped or excused
//
//   - Reply header err: exactly. Reply header zxid of a write: the zxid of
//     that write's own txn; the two sides' zxids of the same mirrored op
//     are learned as a pair (each must be a new zxid, and no zxid may pair
//     twice) and compared through that bijection. Failed writes consume a
//     zxid too (error txns), and are checked likewise.
//   - Reply header zxid of a read: the server's last processed zxid. Which
//     of the two barrier writes a follower has applied at that instant is
//     timing, so it must lie between that target's own last barrier write
//     and the ensemble's last txn; it is compared as "last" when it does.
//   - Stat: czxid, mzxid and pzxid through the zxid bijection; version,
//     cversion, aversion, dataLength, numChildren exactly; ephemeralOwner
//     through the session-pair labels (session ids differ: each target
//     creates its own sessions); ctime/mtime are wall-clock times of two
//     different txns, so the mirror comparison only checks that a target
//     reports the same time for a zxid every time it shows it, and the
//     exact readers compare them across targets.
//   - Data, null vs empty kept distinct; ACL lists in order; paths after
//     replacing the namespace prefix by "~"; multi results entry by entry.
//   - Children and getEphemerals lists as sorted sets (Java keeps them in
//     hash sets: the order is not part of the protocol).
//   - Watch events per session in arrival order: type, state, path, and
//     the notification header (xid -1, zxid -1, err 0). Exception: the
//     events a closeSession txn causes in the mirrored namespaces are
//     compared as sorted lists, because Java deletes a session's
//     ephemerals in the hash-set order of their paths, which differs
//     between Root/a and Root/b (the exact readers still compare that order).
//   - ConnectResponse: protocol version, negotiated timeout, session label,
//     password length, read-only flag. whoAmI exactly (both targets see the
//     client from 127.0.0.1; targets seeing different client addresses would
//     need the ip entry mapped).
//
// # The stream
//
// Every client opcode except: a top-level check (3.8.0 logs it, never
// answers, and cannot load the log afterwards: spec A5.5), sasl (no SASL
// configured), deleteContainer (server-internal) and unknown opcodes (they
// close the connection). It has create in every mode and opcode (1, 15, 19,
// 21; persistent, ephemeral, sequential, container, TTL, invalid flags,
// flag 4 with opcode 1), delete, setData, exists, getData, getChildren,
// getChildren2 (with and without watches), getACL, setACL, getAllChildrenNumber,
// getEphemerals, multi (mixed sub-ops, often failing; empty; mixing reads and
// writes), multiRead, sync, addWatch persistent and recursive,
// removeWatches, checkWatches, whoAmI, auth, reconfig (disabled), closeSession
// followed by a new session, and reconnects that move a session to a new
// connection and send SetWatches2 with a relativeZxid taken from an earlier
// barrier. ACLs: world, digest (sessions authenticated as alice, bob, both or
// nobody), ip matching and not matching, auth (creator), and invalid ones.
// Paths: existing nodes, new children, random and invalid paths.
//
// # Java 3.8.0's missed wakeup
//
// Debian's ZooKeeper is 3.8.0, whose CommitProcessor reads its queues
// before it takes its lock and then waits on what it read: a commit that
// arrives in between is not seen until the next request reaches that
// server (ZOOKEEPER-4537, fixed in 3.8.1). Under ordinary traffic nobody
// notices; in a lockstep stream there is no next request, and a run of
// 10,000 ops met it about once, on a follower or on the leader, on any op.
// The servers' state during such a stall shows it plainly: the waiting
// request queued on its connection, the commit counted as received, the
// server's zxid one behind the ensemble's, and the CommitProcessor thread
// parked in wait(). Options.Wake marks the Java targets: a call on one of
// them that has waited SlowAfter sends a ping on a separate session of that
// target, which is the request that wakes it. zkobserver gets no such help.
//
// The ensemble must run with JVMFlags and Properties (TTL nodes enabled, the
// container reaper pushed out of the run, sessions that survive a loaded
// machine). A run leaves its nodes behind under Root, which must be fresh.
package difftest
