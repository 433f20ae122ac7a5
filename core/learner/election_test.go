package learner

import (
	"context"
	"testing"
	"time"

	"github.com/zkobserver/zkobserver/internal/ensemble"
)

// TestDiscoverOnRealEnsemble: both discovery methods name the leader a real
// 3.8 ensemble elected, and the quorum-port probe connects to it.
func TestDiscoverOnRealEnsemble(t *testing.T) {
	ensemble.Require(t)
	e := ensemble.Start(t, ensemble.Options{ExtraServers: []ensemble.ServerSpec{{}}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	want, err := e.WaitForLeader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ens Ensemble
	for _, n := range e.Nodes() {
		if n.Role == ensemble.RoleParticipant {
			ens.Voters = append(ens.Voters, Peer{SID: int64(n.ID), QuorumAddr: n.QuorumAddr, ElectionAddr: n.ElectionAddr})
		}
	}
	sid := int64(e.Extras()[0].ID) // larger than every voter's: the voters keep our socket

	leader, votes, err := AskLeader(ctx, ens, sid)
	if err != nil {
		t.Fatal(err)
	}
	if leader.SID != int64(want.ID) {
		t.Errorf("election ports name sid %d, the ensemble's leader is %d", leader.SID, want.ID)
	}
	if len(votes) != 3 {
		t.Fatalf("votes %+v", votes)
	}
	for _, v := range votes {
		wantState := Following
		if v.SID == int64(want.ID) {
			wantState = Leading
		}
		if v.State != wantState || v.Leader != int64(want.ID) || v.PeerEpoch < 1 || v.Config == "" {
			t.Errorf("vote of %d: %+v", v.SID, v)
		}
	}

	c, p, err := Probe(ctx, ens.Voters, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if p.SID != int64(want.ID) {
		t.Errorf("probe connected to sid %d, the leader is %d", p.SID, want.ID)
	}
}
