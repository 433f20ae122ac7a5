package learner

import (
	"context"
	"net"
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

	c, p, err := Probe(ctx, ens.Voters, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if p.SID != int64(want.ID) {
		t.Errorf("probe connected to sid %d, the leader is %d", p.SID, want.ID)
	}
}

// TestProbeOrder: hint first, avoided voters last in the order they failed,
// and a hint that is also avoided is avoided. Every voter here accepts, as
// behind a proxy that accepts for voters that are not leading.
func TestProbeOrder(t *testing.T) {
	var voters []Peer
	for sid := int64(1); sid <= 3; sid++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		voters = append(voters, Peer{SID: sid, QuorumAddr: ln.Addr().String()})
	}
	for _, tc := range []struct {
		hint  int64
		avoid []int64
		want  int64
	}{
		{0, nil, 1},
		{2, nil, 2},
		{0, []int64{1}, 2},
		{0, []int64{1, 2}, 3},
		{3, []int64{1, 2}, 3},
		{0, []int64{3, 1, 2}, 3},
		{1, []int64{1}, 2},
		{2, []int64{1, 2, 3}, 1},
	} {
		c, p, err := Probe(context.Background(), voters, tc.hint, tc.avoid)
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		if p.SID != tc.want {
			t.Errorf("hint %d avoid %v: probed %d first, want %d", tc.hint, tc.avoid, p.SID, tc.want)
		}
	}
}
