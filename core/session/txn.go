package session

import "github.com/zkobserver/zkobserver/core/proto"

// ApplyTxn updates the table for one applied txn, as
// ZooKeeperServer.processTxnForSessionEvents does on every server: a
// createSession txn commits its session (CommitSession with the txn's
// timeout), a closeSession txn removes its session (Remove), whoever created
// or closed it and whether the leader expired it. Other txns change
// nothing. The apply loop calls it for every txn, in zxid order, after the
// tree has applied it.
//
// closed is the session a closeSession txn removed (ok true): the caller
// closes its connection (Owner) if it has one. An error txn answering a
// forwarded createSession changes nothing here; the caller Removes the
// Creating session it was for.
func (t *Table) ApplyTxn(txn *proto.Txn) (closed Session, ok bool) {
	id := txn.Header.ClientID
	switch txn.Header.Type {
	case proto.OpCreateSession:
		if b, isCreate := txn.Body.(*proto.CreateSessionTxn); isCreate {
			t.CommitSession(id, b.TimeOut)
		}
	case proto.OpCloseSession:
		return t.Remove(id)
	}
	return Session{}, false
}
