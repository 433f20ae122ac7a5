// Package session is the observer's session bookkeeping: session ids and
// passwords exactly as ZooKeeper 3.8 makes them, session timeout
// negotiation, the table of global and local sessions, the expiry of local
// sessions, and the touch table a learner sends in its PING replies.
//
// What it mirrors in Apache ZooKeeper 3.8 (read for behaviour, not copied):
//
//   - ids: SessionTrackerImpl.initializeNextSessionId and createSession
//     (LocalSessionTracker and LearnerSessionTracker use the same scheme);
//   - passwords: ZooKeeperServer.generatePasswd / checkPasswd, which draw 16
//     bytes from java.util.Random seeded with sessionId ^ superSecret;
//   - timeouts: ZooKeeperServer.processConnectRequest and
//     setMin/MaxSessionTimeout, QuorumPeerConfig's min <= max check;
//   - the table: quorum.LearnerSessionTracker and
//     quorum.UpgradeableSessionTracker (global sessions, local sessions,
//     upgrading sessions, commitSession / removeSession, the touch table
//     and its snapshot per ping);
//   - expiry: ExpiryQueue (buckets of tickTime, rounded up) as used by
//     SessionTrackerImpl for local sessions.
//
// Nothing here starts a goroutine. The Table reads its configured Clock
// (ElapsedMillis by default) when sessions are created or touched; local
// expiry happens only when the caller calls Table.Expire (from its own
// ticker). Global sessions are expired by the leader and leave the table
// when their closeSession txn is applied (Table.ApplyTxn, or Table.Remove).
//
// Nothing here is fatal at run time: constructors return errors for bad
// configuration; NewExpiryQueue panics on a non-positive interval and
// ElapsedMillis if the system has no monotonic clock, both programming or
// platform errors.
package session
