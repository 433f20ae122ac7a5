// Package storagetest is the conformance suite every storage engine passes:
// load after commit, atomicity and zxid order, reopen, installs interrupted
// at every step, reset, empty and foreign data directories, corrupted files,
// and crash tests in a child process killed with SIGKILL.
//
// An engine package runs it from its tests:
//
//	func TestConformance(t *testing.T) { storagetest.Run(t, harness) }
//	func TestCrash(t *testing.T)       { storagetest.RunCrash(t, harness, "TestCrash") }
//
// where the crash test's name is passed so the suite can re-run the test
// binary as the child process (the child part runs inside the same test
// function when the suite's environment variable is set).
package storagetest

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/zkobserver/zkobserver/core/proto"
	"github.com/zkobserver/zkobserver/storage"
)

// Harness describes an engine to the suite.
type Harness struct {
	// Open opens (creating if needed) the engine stored in dir.
	Open func(dir string) (storage.Engine, error)
	// Durable is false for engines that keep nothing across Open calls
	// (memory); reopen, file and crash tests are then skipped... except
	// through Reopen below.
	Durable bool
	// Reopen, for a non-durable engine, simulates a restart of e (e.g.
	// memory's Crash) and returns the engine to use afterwards. Durable
	// engines leave it nil: the suite closes and opens again.
	Reopen func(e storage.Engine) storage.Engine
}

// State is an engine's whole content, for comparisons.
type State struct {
	Meta     storage.Meta
	Nodes    []*storage.Node
	Sessions []storage.Session
}

// ReadState loads everything from e, checking the Visitor order contract.
func ReadState(e storage.Engine) (*State, error) {
	m, err := e.Meta()
	if err != nil {
		return nil, err
	}
	st := &State{Meta: m, Nodes: []*storage.Node{}, Sessions: []storage.Session{}}
	var prev string
	sawSession := false
	err = e.Load(storage.Visitor{
		Node: func(n *storage.Node) error {
			if sawSession {
				return errors.New("storagetest: node after a session")
			}
			if len(st.Nodes) > 0 && n.Path <= prev {
				return fmt.Errorf("storagetest: node %q after %q: not in path order", n.Path, prev)
			}
			prev = n.Path
			c := *n // the engine may reuse n
			st.Nodes = append(st.Nodes, &c)
			return nil
		},
		Session: func(s storage.Session) error {
			sawSession = true
			st.Sessions = append(st.Sessions, s)
			return nil
		},
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(st.Sessions, func(i, j int) bool { return st.Sessions[i].ID < st.Sessions[j].ID })
	return st, nil
}

// Model is the expected content of an engine: what a sequence of batches
// leaves, computed without any engine.
type Model struct {
	Meta     storage.Meta
	Nodes    map[string]*storage.Node
	Sessions map[int64]int32
}

// NewModel returns an empty model.
func NewModel() *Model {
	return &Model{Nodes: map[string]*storage.Node{}, Sessions: map[int64]int32{}}
}

// Apply applies b to the model.
func (m *Model) Apply(b *storage.Batch) {
	for _, p := range b.Deletes {
		delete(m.Nodes, string(storage.NodeKey(p)))
	}
	for _, n := range b.Puts {
		c := *n
		c.Path = string(storage.NodeKey(n.Path))
		m.Nodes[c.Path] = &c
	}
	for _, s := range b.Sessions {
		m.Sessions[s.ID] = s.Timeout
	}
	for _, id := range b.SessionDeletes {
		delete(m.Sessions, id)
	}
	m.Meta.LastZxid = b.LastZxid
	if b.Epochs != nil {
		m.Meta.AcceptedEpoch, m.Meta.CurrentEpoch = b.Epochs.Accepted, b.Epochs.Current
	}
}

// State renders the model like ReadState renders an engine.
func (m *Model) State() *State {
	st := &State{Meta: m.Meta, Nodes: []*storage.Node{}, Sessions: []storage.Session{}}
	paths := make([]string, 0, len(m.Nodes))
	for p := range m.Nodes {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		st.Nodes = append(st.Nodes, m.Nodes[p])
	}
	for id, to := range m.Sessions {
		st.Sessions = append(st.Sessions, storage.Session{ID: id, Timeout: to})
	}
	sort.Slice(st.Sessions, func(i, j int) bool { return st.Sessions[i].ID < st.Sessions[j].ID })
	return st
}

// Diff describes how two states differ ("" when equal). Null and empty
// data are different.
func Diff(got, want *State) string {
	var b strings.Builder
	if got.Meta != want.Meta {
		fmt.Fprintf(&b, "meta %+v, want %+v\n", got.Meta, want.Meta)
	}
	g := map[string]*storage.Node{}
	for _, n := range got.Nodes {
		g[n.Path] = n
	}
	for _, w := range want.Nodes {
		n, ok := g[w.Path]
		switch {
		case !ok:
			fmt.Fprintf(&b, "missing node %q\n", w.Path)
		case (n.Data == nil) != (w.Data == nil) || !bytes.Equal(n.Data, w.Data):
			fmt.Fprintf(&b, "node %q: data %x (nil %v), want %x (nil %v)\n", w.Path, n.Data, n.Data == nil, w.Data, w.Data == nil)
		case n.Stat != w.Stat:
			fmt.Fprintf(&b, "node %q: stat %+v, want %+v\n", w.Path, n.Stat, w.Stat)
		case !proto.EqualACLs(n.ACL, w.ACL):
			fmt.Fprintf(&b, "node %q: acl %v, want %v\n", w.Path, n.ACL, w.ACL)
		}
		delete(g, w.Path)
	}
	for p := range g {
		fmt.Fprintf(&b, "extra node %q\n", p)
	}
	if !reflect.DeepEqual(got.Sessions, want.Sessions) {
		fmt.Fprintf(&b, "sessions %v, want %v\n", got.Sessions, want.Sessions)
	}
	return b.String()
}

// Gen produces a deterministic stream of batches: node puts and deletes
// spread over a few parents, null, empty and random data, several ACLs,
// sessions created and closed, occasional epoch changes.
type Gen struct {
	r     *rand.Rand
	zxid  int64
	live  []string
	sess  []int64
	epoch int64
}

// NewGen returns a generator for seed.
func NewGen(seed int64) *Gen { return &Gen{r: rand.New(rand.NewSource(seed)), zxid: 1 << 32, epoch: 1} }

var acls = [][]proto.ACL{
	proto.OpenACLUnsafe,
	proto.ReadACLUnsafe,
	{{Perms: proto.PermAll, ID: proto.Id{Scheme: "digest", ID: "u:abc="}}},
	{{Perms: 3, ID: proto.Id{Scheme: "ip", ID: "127.0.0.1"}}, {Perms: 16, ID: proto.Id{Scheme: "world", ID: "anyone", NullID: false}}},
	{{Perms: 1, ID: proto.Id{Scheme: "x", NullID: true}}},
}

// From makes the generator's zxids continue after zxid.
func (g *Gen) From(zxid int64) *Gen {
	g.zxid = zxid
	return g
}

// Next returns the next batch (a fresh value, owned by the caller).
func (g *Gen) Next() *storage.Batch {
	b := &storage.Batch{}
	ops := 1 + g.r.Intn(8)
	touched := map[string]bool{}
	for i := 0; i < ops; i++ {
		g.zxid++
		switch k := g.r.Intn(10); {
		case k < 5 || len(g.live) == 0:
			p := fmt.Sprintf("/p%d/n%d", g.r.Intn(4), g.r.Intn(300))
			if g.r.Intn(10) == 0 {
				p = fmt.Sprintf("/p%d", g.r.Intn(4))
			}
			if touched[p] {
				continue
			}
			touched[p] = true
			b.Puts = append(b.Puts, g.node(p))
			g.live = append(g.live, p)
		case k < 8:
			j := g.r.Intn(len(g.live))
			p := g.live[j]
			g.live = append(g.live[:j], g.live[j+1:]...)
			if touched[p] {
				continue
			}
			touched[p] = true
			b.Deletes = append(b.Deletes, p)
		case k < 9:
			id := g.r.Int63()
			b.Sessions = append(b.Sessions, storage.Session{ID: id, Timeout: int32(4000 + g.r.Intn(10000))})
			g.sess = append(g.sess, id)
		default:
			if len(g.sess) == 0 {
				continue
			}
			j := g.r.Intn(len(g.sess))
			id := g.sess[j]
			g.sess = append(g.sess[:j], g.sess[j+1:]...)
			if containsSession(b.Sessions, id) {
				continue
			}
			b.SessionDeletes = append(b.SessionDeletes, id)
		}
	}
	if g.r.Intn(50) == 0 {
		g.epoch++
		b.Epochs = &storage.Epochs{Accepted: g.epoch, Current: g.epoch}
	}
	// Dedupe deletes of paths that were re-put (a path at most once).
	b.Deletes = filter(b.Deletes, func(p string) bool {
		for _, n := range b.Puts {
			if n.Path == p {
				return false
			}
		}
		return true
	})
	b.LastZxid = g.zxid
	return b
}

func containsSession(ss []storage.Session, id int64) bool {
	for _, s := range ss {
		if s.ID == id {
			return true
		}
	}
	return false
}

func filter(ss []string, keep func(string) bool) []string {
	out := ss[:0]
	for _, s := range ss {
		if keep(s) {
			out = append(out, s)
		}
	}
	return out
}

func (g *Gen) node(p string) *storage.Node {
	var data []byte
	switch g.r.Intn(5) {
	case 0:
	case 1:
		data = []byte{}
	default:
		data = make([]byte, 1+g.r.Intn(200))
		g.r.Read(data)
	}
	z := g.zxid
	return &storage.Node{Path: p, Data: data, ACL: acls[g.r.Intn(len(acls))], Stat: proto.StatPersisted{
		Czxid: z - int64(g.r.Intn(5)), Mzxid: z, Ctime: 1700000000000 + z, Mtime: 1700000000000 + z,
		Version: int32(g.r.Intn(9)), Cversion: int32(g.r.Intn(9)), Aversion: int32(g.r.Intn(3)) - 1,
		EphemeralOwner: int64(g.r.Intn(3)) * g.r.Int63(), Pzxid: z,
	}}
}

// Dir returns a fresh directory for an engine inside t's temp dir.
func Dir(t testing.TB) string {
	d := filepath.Join(t.TempDir(), "data")
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}
