package learner

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"time"
)

// ErrNoLeader means no voter accepted a learner connection and the election
// ports named no established leader.
var ErrNoLeader = errors.New("no leader found")

// probeTimeout bounds one TCP connect to a voter's quorum port.
const probeTimeout = 2 * time.Second

// Probe finds the leader by its quorum port, which only the current leader
// listens on: it dials the voters (hint first, when it names one; the sids
// in avoid last, in avoid's order: voters whose port accepted but failed
// the handshake, e.g. behind a proxy or a load balancer that accepts for
// them, the most recent failure last) and returns the first connection
// accepted, on which the caller then starts the handshake.
func Probe(ctx context.Context, voters []Peer, hint int64, avoid []int64) (net.Conn, Peer, error) {
	order := make([]Peer, 0, len(voters))
	for _, v := range voters {
		switch {
		case slices.Contains(avoid, v.SID):
		case v.SID == hint:
			order = append([]Peer{v}, order...)
		default:
			order = append(order, v)
		}
	}
	for _, sid := range avoid {
		if i := slices.IndexFunc(voters, func(v Peer) bool { return v.SID == sid }); i >= 0 {
			order = append(order, voters[i])
		}
	}
	var d net.Dialer
	var errs []error
	for _, v := range order {
		cctx, cancel := context.WithTimeout(ctx, probeTimeout)
		c, err := d.DialContext(cctx, "tcp", v.QuorumAddr)
		cancel()
		if err == nil {
			return c, v, nil
		}
		if ctx.Err() != nil {
			return nil, Peer{}, ctx.Err()
		}
		errs = append(errs, fmt.Errorf("sid %d %s: %w", v.SID, v.QuorumAddr, err))
	}
	return nil, Peer{}, fmt.Errorf("%w: %w", ErrNoLeader, errors.Join(errs...))
}

// Vote is one server's answer on its election port.
type Vote struct {
	SID           int64 // who answered
	State         ServerState
	Leader        int64
	Zxid          int64
	ElectionEpoch int64
	PeerEpoch     int64
	Config        string // the responder's quorum config text, when sent
}

// ServerState is QuorumPeer.ServerState as election messages carry it.
type ServerState int32

// Server states.
const (
	Looking ServerState = iota
	Following
	Leading
	Observing
)

func (s ServerState) String() string {
	switch s {
	case Looking:
		return "LOOKING"
	case Following:
		return "FOLLOWING"
	case Leading:
		return "LEADING"
	case Observing:
		return "OBSERVING"
	}
	return fmt.Sprintf("state(%d)", int32(s))
}

// Election protocol constants (QuorumCnxManager, FastLeaderElection).
const (
	electionProtocolV1 uint64 = 0xffffffffffff0000 // -65536
	maxElectionMsg            = 512 << 10
	minLong            uint64 = 1 << 63 // Long.MIN_VALUE
)

// AskVote asks one voter for its current vote through its election port,
// as a Java observer does (section 8.2 of the quorum spec). sid is this
// observer's. A voter keeps a connection only from a larger sid; to a
// smaller one it answers by dialing back the address the initiator
// advertises, so AskVote listens for that call on the local address of its
// own connection.
func AskVote(ctx context.Context, v Peer, sid int64) (Vote, error) {
	if v.ElectionAddr == "" {
		return Vote{}, fmt.Errorf("sid %d: no election port known", v.SID)
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(5 * time.Second)
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", v.ElectionAddr)
	if err != nil {
		return Vote{}, err
	}
	defer c.Close()
	c.SetDeadline(deadline)
	var back net.Listener
	if sid < v.SID {
		host, _, _ := net.SplitHostPort(c.LocalAddr().String())
		if back, err = net.Listen("tcp", net.JoinHostPort(host, "0")); err != nil {
			return Vote{}, err
		}
		defer back.Close()
	}
	addr := c.LocalAddr().String() // not dialed back when sid > v.SID
	if back != nil {
		addr = back.Addr().String()
	}
	// The initial message, in one write: the receiver reads the address
	// with a single read.
	msg := binary.BigEndian.AppendUint64(nil, electionProtocolV1)
	msg = binary.BigEndian.AppendUint64(msg, uint64(sid))
	msg = binary.BigEndian.AppendUint32(msg, uint32(len(addr)))
	msg = append(msg, addr...)
	if _, err := c.Write(msg); err != nil {
		return Vote{}, err
	}
	if back != nil {
		// The voter drops c and calls back; its call starts with its own
		// initial message.
		if tl, ok := back.(*net.TCPListener); ok {
			tl.SetDeadline(deadline)
		}
		cb, err := back.Accept()
		if err != nil {
			return Vote{}, fmt.Errorf("sid %d: no call back on %s: %w", v.SID, addr, err)
		}
		defer cb.Close()
		cb.SetDeadline(deadline)
		if err := skipInitialMessage(cb); err != nil {
			return Vote{}, fmt.Errorf("sid %d: call back: %w", v.SID, err)
		}
		c = cb
	}
	// Our notification: LOOKING, no vote, version 1 (no config, so the
	// receiver parses nothing of ours).
	var n [4 + 44]byte
	binary.BigEndian.PutUint32(n[0:], 44)
	binary.BigEndian.PutUint32(n[4:], uint32(Looking))
	binary.BigEndian.PutUint64(n[8:], minLong)
	binary.BigEndian.PutUint64(n[16:], minLong)
	binary.BigEndian.PutUint64(n[24:], 1)
	binary.BigEndian.PutUint64(n[32:], minLong)
	binary.BigEndian.PutUint32(n[40:], 1)
	if _, err := c.Write(n[:]); err != nil {
		return Vote{}, err
	}
	var l [4]byte
	if _, err := io.ReadFull(c, l[:]); err != nil {
		return Vote{}, fmt.Errorf("sid %d: reading vote: %w", v.SID, err)
	}
	size := int32(binary.BigEndian.Uint32(l[:]))
	if size < 28 || size > maxElectionMsg {
		return Vote{}, fmt.Errorf("sid %d: vote of %d bytes", v.SID, size)
	}
	b := make([]byte, size)
	if _, err := io.ReadFull(c, b); err != nil {
		return Vote{}, fmt.Errorf("sid %d: reading vote: %w", v.SID, err)
	}
	return parseVote(v.SID, b)
}

// skipInitialMessage reads a QuorumCnxManager initial message.
func skipInitialMessage(c net.Conn) error {
	var h [8]byte
	if _, err := io.ReadFull(c, h[:]); err != nil {
		return err
	}
	if int64(binary.BigEndian.Uint64(h[:])) >= 0 {
		return nil // 3.4 style: the first long is the sid, nothing follows
	}
	var rest [12]byte
	if _, err := io.ReadFull(c, rest[:]); err != nil {
		return err
	}
	n := int32(binary.BigEndian.Uint32(rest[8:]))
	if n < 0 || n > 2048 {
		return fmt.Errorf("initial message address of %d bytes", n)
	}
	_, err := io.CopyN(io.Discard, c, int64(n))
	return err
}

// parseVote decodes a notification (28, 40 or more bytes).
func parseVote(sid int64, b []byte) (Vote, error) {
	v := Vote{
		SID:           sid,
		State:         ServerState(int32(binary.BigEndian.Uint32(b[0:]))),
		Leader:        int64(binary.BigEndian.Uint64(b[4:])),
		Zxid:          int64(binary.BigEndian.Uint64(b[12:])),
		ElectionEpoch: int64(binary.BigEndian.Uint64(b[20:])),
		PeerEpoch:     -1,
	}
	if len(b) >= 36 {
		v.PeerEpoch = int64(binary.BigEndian.Uint64(b[28:]))
	}
	if len(b) >= 44 && int32(binary.BigEndian.Uint32(b[36:])) > 1 {
		if len(b) < 48 {
			return v, fmt.Errorf("sid %d: vote of %d bytes lacks its config length", sid, len(b))
		}
		n := int32(binary.BigEndian.Uint32(b[40:]))
		if n < 0 || int(n) > len(b)-44 {
			return v, fmt.Errorf("sid %d: vote config of %d bytes in %d", sid, n, len(b))
		}
		v.Config = string(b[44 : 44+n])
	}
	return v, nil
}

// AskLeader asks every voter's election port and returns the leader they
// agree on, with Java's rule: a majority of voters follow or lead the same
// (leader, peerEpoch), and that leader itself says LEADING.
func AskLeader(ctx context.Context, e Ensemble, sid int64) (Peer, []Vote, error) {
	votes := make([]Vote, 0, len(e.Voters))
	type answer struct {
		v   Vote
		err error
	}
	ch := make(chan answer, len(e.Voters))
	for _, p := range e.Voters {
		go func() {
			v, err := AskVote(ctx, p, sid)
			ch <- answer{v, err}
		}()
	}
	var errs []error
	for range e.Voters {
		a := <-ch
		if a.err != nil {
			errs = append(errs, a.err)
			continue
		}
		votes = append(votes, a.v)
	}
	type key struct{ leader, epoch int64 }
	count := map[key]int{}
	leading := map[key]bool{}
	for _, v := range votes {
		if v.State != Following && v.State != Leading {
			continue
		}
		k := key{v.Leader, v.PeerEpoch}
		count[k]++
		if v.State == Leading && v.SID == v.Leader {
			leading[k] = true
		}
	}
	for k, n := range count {
		if n < e.Quorum() || !leading[k] {
			continue
		}
		for _, p := range e.Voters {
			if p.SID == k.leader {
				return p, votes, nil
			}
		}
	}
	return Peer{}, votes, fmt.Errorf("%w: votes %v: %w", ErrNoLeader, votes, errors.Join(errs...))
}

// Discover finds the leader and returns a connection to its quorum port:
// first by probing the quorum ports (hint first, avoid last); when none
// accepts, by asking the election ports, then dialing the leader they name.
func Discover(ctx context.Context, e Ensemble, sid, hint int64, avoid []int64) (net.Conn, Peer, error) {
	c, p, err := Probe(ctx, e.Voters, hint, avoid)
	if err == nil || ctx.Err() != nil {
		return c, p, err
	}
	actx, cancel := context.WithTimeout(ctx, 3*time.Second)
	leader, _, aerr := AskLeader(actx, e, sid)
	cancel()
	if aerr != nil {
		return nil, Peer{}, fmt.Errorf("%w; election ports: %w", err, aerr)
	}
	var d net.Dialer
	dctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	c, err = d.DialContext(dctx, "tcp", leader.QuorumAddr)
	if err != nil {
		return nil, Peer{}, fmt.Errorf("%w: election names sid %d, whose quorum port refuses: %w", ErrNoLeader, leader.SID, err)
	}
	return c, leader, nil
}
