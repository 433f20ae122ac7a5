package watch

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/zkobserver/zkobserver/core/proto"
	"github.com/zkobserver/zkobserver/core/tree"
)

// model is a deliberately naive restatement of Java 3.8's rules: one flat
// map of registrations, scanned whole on every trigger, with "below a
// recursive watch" decided by string prefix instead of a parent walk.
type model struct {
	regs    map[regKey]Mode
	known   map[int]bool // connections with a data-table watch2Paths entry
	stale   map[int]bool
	events  map[int][]string
	delPath string
	delSet  map[int]bool // nil: no data-table NodeDeleted just before
}

type regKey struct {
	child bool
	path  string
	w     int
}

func newModel() *model {
	return &model{regs: map[regKey]Mode{}, known: map[int]bool{}, stale: map[int]bool{}, events: map[int][]string{}}
}

func (md *model) add(child bool, p string, w int, mode Mode) {
	if md.stale[w] {
		return
	}
	md.regs[regKey{child, p, w}] = mode
	if !child {
		md.known[w] = true
	}
}

func under(root, p string) bool {
	return root == p || root == "/" || strings.HasPrefix(p, root+"/")
}

func (md *model) trigger(ev tree.EventType, p string, child bool) {
	fired := map[int]bool{}
	for k, mode := range md.regs {
		if k.child != child {
			continue
		}
		switch {
		case mode == PersistentRecursive:
			if ev != tree.EventNodeChildrenChanged && under(k.path, p) {
				fired[k.w] = true
			}
		case k.path == p:
			fired[k.w] = true
			if mode == Standard {
				delete(md.regs, k)
			}
		}
	}
	suppress := map[int]bool{}
	if child && ev == tree.EventNodeDeleted && md.delSet != nil && md.delPath == p {
		suppress = md.delSet
	}
	md.delSet = nil
	if !child && ev == tree.EventNodeDeleted && len(fired) > 0 {
		md.delPath, md.delSet = p, fired
	}
	for w := range fired {
		if !suppress[w] {
			md.events[w] = append(md.events[w], evString(ev, p))
		}
	}
}

func (md *model) remove(p string, typ WatcherType, w int) bool {
	removed := false
	for _, child := range []bool{true, false} {
		if (child && typ == Data) || (!child && typ == Children) {
			continue
		}
		k := regKey{child, p, w}
		if _, ok := md.regs[k]; ok {
			delete(md.regs, k)
			removed = true
		}
	}
	return removed
}

func (md *model) contains(p string, typ WatcherType) bool {
	for k := range md.regs {
		if k.path == p && ((k.child && typ != Data) || (!k.child && typ != Children)) {
			return true
		}
	}
	return false
}

func (md *model) registrations() []string {
	var out []string
	for k, mode := range md.regs {
		t := "D"
		if k.child {
			t = "C"
		}
		out = append(out, fmt.Sprintf("%s %s %d %v", t, k.path, k.w, mode))
	}
	slices.Sort(out)
	return out
}

func (md *model) summary() Summary {
	s := Summary{Connections: len(md.known)}
	paths := map[string]bool{}
	for k := range md.regs {
		if !k.child {
			paths[k.path] = true
			s.Total++
		}
	}
	s.Paths = len(paths)
	return s
}

var modelPaths = []string{"/", "/a", "/a/b", "/a/b/c", "/ab", "/a/bc", "/b", "/b/a"}

const modelConns = 5

// runModel interprets ops as a stream of requests, txns and closes, applies
// it to a Manager and to the model, and fails at the first difference.
func runModel(t *testing.T, ops []byte) {
	h := newHarness(t)
	md := newModel()
	next := func() int {
		if len(ops) == 0 {
			return 0
		}
		b := ops[0]
		ops = ops[1:]
		return int(b)
	}
	for step := 0; len(ops) > 0; step++ {
		op, w, p := next()%16, next()%modelConns+1, modelPaths[next()%len(modelPaths)]
		c := h.c(w)
		var what string
		switch op {
		case 0, 1:
			what = "getData/exists " + p
			h.m.AddDataWatch(p, c)
			md.add(false, p, w, Standard)
		case 2:
			what = "getChildren " + p
			h.m.AddChildWatch(p, c)
			md.add(true, p, w, Standard)
		case 3:
			mode := Persistent + Mode(next()%2)
			what = fmt.Sprintf("addWatch %s %v", p, mode)
			h.m.AddWatch(p, c, mode)
			md.add(false, p, w, mode)
			md.add(true, p, w, mode)
		case 4:
			typ := WatcherType(next()%3 + 1)
			what = fmt.Sprintf("removeWatch %s %d", p, typ)
			if got, want := h.m.RemoveWatch(p, typ, c), md.remove(p, typ, w); got != want {
				t.Fatalf("step %d %s by %d: removed %v, model %v", step, what, w, got, want)
			}
		case 5:
			typ := WatcherType(next()%3 + 1)
			what = fmt.Sprintf("containsWatch %s %d", p, typ)
			if got, want := h.m.ContainsWatch(p, typ, c), md.contains(p, typ); got != want {
				t.Fatalf("step %d %s by %d: %v, model %v", step, what, w, got, want)
			}
		case 6:
			if next()%4 != 0 {
				continue
			}
			what = "close"
			c.stale = true
			h.m.RemoveWatcher(c)
			md.stale[w] = true
			delete(md.known, w)
			for k := range md.regs {
				if k.w == w {
					delete(md.regs, k)
				}
			}
		case 7, 8:
			what = "create " + p
			if p == "/" {
				continue
			}
			h.m.Trigger(tree.EventNodeCreated, p, false)
			h.m.Trigger(tree.EventNodeChildrenChanged, parent(p), true)
			md.trigger(tree.EventNodeCreated, p, false)
			md.trigger(tree.EventNodeChildrenChanged, parent(p), true)
		case 9, 10:
			what = "delete " + p
			if p == "/" {
				continue
			}
			for _, tr := range []struct {
				ev    tree.EventType
				p     string
				child bool
			}{{tree.EventNodeDeleted, p, false}, {tree.EventNodeDeleted, p, true}, {tree.EventNodeChildrenChanged, parent(p), true}} {
				h.m.Trigger(tr.ev, tr.p, tr.child)
				md.trigger(tr.ev, tr.p, tr.child)
			}
		case 11, 12:
			what = "setData " + p
			h.m.Trigger(tree.EventNodeDataChanged, p, false)
			md.trigger(tree.EventNodeDataChanged, p, false)
		case 13:
			ev, child := tree.EventType(next()%4+1), next()%2 == 1
			what = fmt.Sprintf("raw trigger %s child=%v", evString(ev, p), child)
			h.m.Trigger(ev, p, child)
			md.trigger(ev, p, child)
		case 14, 15:
			// SetWatches with one path per list picked by the next bytes and
			// a lookup where even bytes mean "missing".
			what = "setWatches"
			nodes := zxids{}
			for _, q := range modelPaths {
				if b := next(); b%2 == 1 {
					nodes[q] = [2]int64{int64(b % 5), int64(b / 5 % 5)}
				}
			}
			z := int64(next() % 5)
			var lists [5][]string
			for i := range lists {
				if b := next(); b%3 != 0 {
					lists[i] = []string{modelPaths[b%len(modelPaths)]}
				}
			}
			h.m.SetWatches(&proto.SetWatches2{RelativeZxid: z, DataWatches: lists[0], ExistWatches: lists[1],
				ChildWatches: lists[2], PersistentWatches: lists[3], PersistentRecursiveWatches: lists[4]}, c, nodes)
			md.setWatches(w, z, lists, nodes)
		}
		if got, want := h.m.registrations(), md.registrations(); !slices.Equal(got, want) {
			t.Fatalf("step %d %s by %d: tables\n%q\nmodel\n%q", step, what, w, got, want)
		}
		for i := 1; i <= modelConns; i++ {
			if got, want := h.c(i).events, md.events[i]; !slices.Equal(got, want) {
				t.Fatalf("step %d %s by %d: connection %d got\n%q\nmodel\n%q", step, what, w, i, got, want)
			}
		}
		if got, want := h.m.Summary(), md.summary(); got != want {
			t.Fatalf("step %d %s by %d: summary %+v, model %+v", step, what, w, got, want)
		}
	}
}

func (md *model) setWatches(w int, z int64, lists [5][]string, nodes zxids) {
	send := func(ev tree.EventType, p string) { md.events[w] = append(md.events[w], evString(ev, p)) }
	for _, p := range lists[0] {
		v, ok := nodes[p]
		switch {
		case !ok:
			send(tree.EventNodeDeleted, p)
		case v[0] > z:
			send(tree.EventNodeDataChanged, p)
		default:
			md.add(false, p, w, Standard)
		}
	}
	for _, p := range lists[1] {
		if _, ok := nodes[p]; ok {
			send(tree.EventNodeCreated, p)
		} else {
			md.add(false, p, w, Standard)
		}
	}
	for _, p := range lists[2] {
		v, ok := nodes[p]
		switch {
		case !ok:
			send(tree.EventNodeDeleted, p)
		case v[1] > z:
			send(tree.EventNodeChildrenChanged, p)
		default:
			md.add(true, p, w, Standard)
		}
	}
	for i, mode := range []Mode{Persistent, PersistentRecursive} {
		for _, p := range lists[3+i] {
			md.add(true, p, w, mode)
			md.add(false, p, w, mode)
		}
	}
}

// TestModel runs random op streams against the model.
func TestModel(t *testing.T) {
	n := 40
	if testing.Short() {
		n = 30
	}
	for seed := range n {
		r := rand.New(rand.NewPCG(uint64(seed), 7))
		ops := make([]byte, 1500)
		for i := range ops {
			ops[i] = byte(r.UintN(256))
		}
		t.Run(fmt.Sprint(seed), func(t *testing.T) { runModel(t, ops) })
	}
}

// FuzzModel is TestModel with the fuzzer choosing the ops.
func FuzzModel(f *testing.F) {
	f.Add([]byte{3, 0, 0, 1, 7, 0, 1, 9, 0, 2, 0, 1, 2, 2, 1, 9, 1, 2})
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) > 4096 {
			return
		}
		runModel(t, ops)
	})
}
