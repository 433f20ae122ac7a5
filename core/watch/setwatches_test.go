package watch

import (
	"slices"
	"testing"

	"github.com/zkobserver/zkobserver/core/proto"
)

// zxids is a NodeLookup over fixed nodes: path -> {mzxid, pzxid}.
type zxids map[string][2]int64

func (z zxids) NodeZxids(path string) (int64, int64, bool) {
	v, ok := z[path]
	return v[0], v[1], ok
}

// TestSetWatches pins DataTree.setWatches 3.8: per list, the node's
// presence and its mzxid / pzxid against the relative zxid decide between
// an immediate event (the watch is consumed) and a registration. Each case
// then applies txns to show what was registered.
func TestSetWatches(t *testing.T) {
	nodes := zxids{
		"/":     {0, 9},
		"/old":  {5, 5}, // mzxid and pzxid 5
		"/new":  {9, 4}, // data changed at 9, children at 4
		"/kids": {3, 9}, // children changed at 9
	}
	cases := []struct {
		name string
		req  proto.SetWatches2
		trig []step
		want []string
		left []string
	}{
		{
			name: "data watch: mzxid below, equal, above the relative zxid; missing node",
			req:  proto.SetWatches2{RelativeZxid: 5, DataWatches: []string{"/old", "/new", "/gone"}},
			trig: []step{setData("/old"), setData("/new")},
			want: []string{"Changed /new", "Deleted /gone", "Changed /old"},
		},
		{
			name: "data watch with the relative zxid above every mzxid: all registered",
			req:  proto.SetWatches2{RelativeZxid: 100, DataWatches: []string{"/old", "/new"}},
			want: nil,
			left: []string{"D /new 1 STANDARD", "D /old 1 STANDARD"},
		},
		{
			name: "exist watch: an existing node fires NodeCreated whatever the zxids; a missing one registers",
			req:  proto.SetWatches2{RelativeZxid: 100, ExistWatches: []string{"/old", "/gone"}},
			trig: []step{create("/gone")},
			want: []string{"Created /old", "Created /gone"},
		},
		{
			name: "child watch: pzxid below, equal, above; missing node",
			req:  proto.SetWatches2{RelativeZxid: 5, ChildWatches: []string{"/old", "/new", "/kids", "/gone"}},
			trig: []step{create("/old/x"), create("/new/x"), setData("/old")},
			want: []string{"Children /kids", "Deleted /gone", "Children /old", "Children /new"},
		},
		{
			name: "the root by either name",
			req:  proto.SetWatches2{RelativeZxid: 9, DataWatches: []string{"/"}, ChildWatches: []string{"/"}},
			trig: []step{create("/z"), setData("/")},
			want: []string{"Children /", "Changed /"},
		},
		{
			name: "order: data list, exist list, child list",
			req: proto.SetWatches2{RelativeZxid: 0, DataWatches: []string{"/old"}, ExistWatches: []string{"/new"},
				ChildWatches: []string{"/kids"}},
			want: []string{"Changed /old", "Created /new", "Children /kids"},
		},
		{
			name: "persistent and recursive: registered in both tables, existing or not, no event",
			req: proto.SetWatches2{RelativeZxid: 0, PersistentWatches: []string{"/old", "/gone"},
				PersistentRecursiveWatches: []string{"/new"}},
			trig: []step{setData("/old"), create("/gone"), create("/new/a")},
			want: []string{"Changed /old", "Created /gone", "Created /new/a"},
			left: []string{
				"C /gone 1 PERSISTENT", "C /new 1 PERSISTENT_RECURSIVE", "C /old 1 PERSISTENT",
				"D /gone 1 PERSISTENT", "D /new 1 PERSISTENT_RECURSIVE", "D /old 1 PERSISTENT",
			},
		},
		{
			name: "a persistent watch listed after a data watch on the same path wins (last registration)",
			req:  proto.SetWatches2{RelativeZxid: 100, DataWatches: []string{"/old"}, PersistentWatches: []string{"/old"}},
			trig: []step{setData("/old"), setData("/old")},
			want: []string{"Changed /old", "Changed /old"},
			left: []string{"C /old 1 PERSISTENT", "D /old 1 PERSISTENT"},
		},
		{
			name: "null and empty lists",
			req:  proto.SetWatches2{RelativeZxid: 0, DataWatches: []string{}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.m.SetWatches(&tc.req, h.c(1), nodes)
			for _, s := range tc.trig {
				s.do(h)
			}
			if got := h.c(1).events; !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			if got := h.m.registrations(); !slices.Equal(got, tc.left) {
				t.Errorf("left %q, want %q", got, tc.left)
			}
		})
	}
}

func TestSetWatchesStale(t *testing.T) {
	h := newHarness(t)
	c := h.c(1)
	c.stale = true
	h.m.SetWatches(&proto.SetWatches2{
		RelativeZxid: 0, DataWatches: []string{"/old", "/gone"}, ExistWatches: []string{"/old", "/gone"},
		ChildWatches: []string{"/old"}, PersistentWatches: []string{"/p"}, PersistentRecursiveWatches: []string{"/r"},
	}, c, zxids{"/old": {1, 1}})
	// Events are still sent (Java checks staleness only when registering).
	if want := []string{"Changed /old", "Deleted /gone", "Created /old", "Children /old"}; !slices.Equal(c.events, want) {
		t.Errorf("got %q, want %q", c.events, want)
	}
	if got := h.m.registrations(); len(got) != 0 {
		t.Errorf("registered %q", got)
	}
}
