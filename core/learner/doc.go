// Package learner speaks the observer side of ZooKeeper's quorum protocol
// (Zab 1.0, as a 3.8 leader speaks it): it finds the leader, registers as an
// observer (OBSERVERINFO / LEADERINFO / ACKEPOCH), follows the sync the
// leader chooses (DIFF, TRUNC or SNAP), and then streams the committed txns
// (INFORM), answering PINGs.
//
// The package knows the protocol and nothing of storage: everything the
// leader sends that changes state is handed, in order, to a Sink, which the
// observer implements (it owns the tree, the persister and the engine). The
// learner's reader goroutine calls the Sink; Sink methods that must be
// durable before the learner answers the leader (AcceptEpoch, NewLeader)
// return only once they are.
//
// Errors end a session; the caller reconnects (Run does, with backoff). A
// TRUNC ends it with *TruncError: an observer that applies only committed
// txns cannot roll back, so the caller resets its state and syncs again from
// zxid 0 (the leader then sends a SNAP). That is documented behaviour, not
// Java's (a Java learner truncates its txn log).
package learner
