package session

import (
	"testing"

	"github.com/zkobserver/zkobserver/core/proto"
)

func TestApplyTxn(t *testing.T) {
	tab, _ := newTestTable(t, 4, 100, 0)
	mine := tab.CreateGlobal(3000, "cnxn")
	const theirs = int64(0x0200000000000001)
	hdr := func(typ proto.OpCode, id int64) proto.TxnHeader {
		return proto.TxnHeader{ClientID: id, Type: typ}
	}

	steps := []struct {
		name       string
		txn        proto.Txn
		wantClosed int64 // 0: nothing closed
		id         int64
		wantState  State // 0: absent
	}{
		{"our createSession applied", proto.Txn{Header: hdr(proto.OpCreateSession, mine), Body: &proto.CreateSessionTxn{TimeOut: 3000}}, 0, mine, Global},
		{"another server's createSession", proto.Txn{Header: hdr(proto.OpCreateSession, theirs), Body: &proto.CreateSessionTxn{TimeOut: 8000}}, 0, theirs, Global},
		{"an ordinary txn changes nothing", proto.Txn{Header: hdr(proto.OpCreate, theirs), Body: &proto.CreateTxn{Path: "/x"}}, 0, theirs, Global},
		{"an error txn changes nothing", proto.Txn{Header: hdr(proto.OpError, theirs), Body: &proto.ErrorTxn{Err: -112}}, 0, theirs, Global},
		{"closeSession with its path list", proto.Txn{Header: hdr(proto.OpCloseSession, theirs), Body: &proto.CloseSessionTxn{Paths2Delete: []string{"/e"}}}, theirs, theirs, 0},
		{"closeSession without a body (leader expiry, old format)", proto.Txn{Header: hdr(proto.OpCloseSession, mine)}, mine, mine, 0},
		{"closeSession of an unknown session", proto.Txn{Header: hdr(proto.OpCloseSession, 0x77)}, 0, 0x77, 0},
	}
	for _, s := range steps {
		closed, ok := tab.ApplyTxn(&s.txn)
		if ok != (s.wantClosed != 0) || (ok && closed.ID != s.wantClosed) {
			t.Errorf("%s: closed %+v %v, want %#x", s.name, closed, ok, s.wantClosed)
		}
		got, found := tab.Get(s.id)
		if got.State != s.wantState || found != (s.wantState != 0) {
			t.Errorf("%s: session %#x is %+v (found %v), want state %v", s.name, s.id, got, found, s.wantState)
		}
	}
	if got := decodeTouches(t, tab.Touches(nil)); len(got) != 0 {
		t.Errorf("closed sessions still touched: %v", got)
	}
}

func TestApplyTxnOwnerReturned(t *testing.T) {
	tab, _ := newTestTable(t, 4, 100, 0)
	id := tab.CreateGlobal(3000, "cnxn-7")
	tab.ApplyTxn(&proto.Txn{Header: proto.TxnHeader{ClientID: id, Type: proto.OpCreateSession}, Body: &proto.CreateSessionTxn{TimeOut: 3000}})
	closed, ok := tab.ApplyTxn(&proto.Txn{Header: proto.TxnHeader{ClientID: id, Type: proto.OpCloseSession}, Body: &proto.CloseSessionTxn{}})
	if !ok || closed.Owner != "cnxn-7" || closed.Timeout != 3000 {
		t.Fatalf("closed = %+v %v: the caller needs the owner to close its connection", closed, ok)
	}
}
