package difftest

import (
	"fmt"
	"slices"
	"strings"

	"github.com/zkobserver/zkobserver/core/jute"
	"github.com/zkobserver/zkobserver/core/proto"
)

// responseRecord returns a fresh record for the success body of op, or nil
// for ops whose successful reply has no body.
func responseRecord(op proto.OpCode) jute.Record {
	switch op {
	case proto.OpCreate:
		return new(proto.CreateResponse)
	case proto.OpCreate2, proto.OpCreateContainer, proto.OpCreateTTL:
		return new(proto.Create2Response)
	case proto.OpExists:
		return new(proto.ExistsResponse)
	case proto.OpGetData, proto.OpReconfig:
		return new(proto.GetDataResponse)
	case proto.OpSetData:
		return new(proto.SetDataResponse)
	case proto.OpGetACL:
		return new(proto.GetACLResponse)
	case proto.OpSetACL:
		return new(proto.SetACLResponse)
	case proto.OpGetChildren:
		return new(proto.GetChildrenResponse)
	case proto.OpGetChildren2:
		return new(proto.GetChildren2Response)
	case proto.OpSync:
		return new(proto.SyncResponse)
	case proto.OpMulti, proto.OpMultiRead:
		return new(proto.MultiResponse)
	case proto.OpGetEphemerals:
		return new(proto.GetEphemeralsResponse)
	case proto.OpGetAllChildrenNumber:
		return new(proto.GetAllChildrenNumberResponse)
	case proto.OpAddWatch:
		return new(proto.ErrorResponse)
	case proto.OpWhoAmI:
		return new(proto.WhoAmIResponse)
	}
	return nil
}

// view renders replies and events of one target into a canonical text in
// which two targets' answers are equal exactly when they are equivalent.
//
// An exact view (prefix "") renders everything as it is. A mirror view
// belongs to one side of a mirrored session pair: paths under its prefix are
// rendered relative to it ("~/x"), zxids of the mirrored namespace are
// rendered as the A side's zxid of the same mirrored txn (learned by the
// runner from the write replies of both sides), session ids (ephemeralOwner)
// as the pair's label, and ctime/mtime as "=" once checked consistent with
// every earlier sighting of the same zxid on that target.
type view struct {
	prefix string
	side   int // 0 = A, 1 = B
	m      *maps
	// lo and hi bound the last processed zxid this target may report
	// (zxidGlobal): at least its own latest barrier write, at most the
	// ensemble's latest txn.
	lo, hi int64
}

// maps are what a run has learned about the correspondence of A and B.
type maps struct {
	zxidBA map[int64]int64     // B's zxid of a mirrored txn -> A's
	zxidA  map[int64]bool      // A's zxids of mirrored txns
	sess   [2]map[int64]string // session id -> label, per side
	times  [2]map[int64]int64  // zxid -> txn time seen in a Stat, per side
}

func newMaps() *maps {
	m := &maps{zxidBA: map[int64]int64{}, zxidA: map[int64]bool{}}
	for i := range 2 {
		m.sess[i] = map[int64]string{}
		m.times[i] = map[int64]int64{}
	}
	return m
}

func (v *view) exact() bool { return v.prefix == "" }

func (v *view) path(p string) string {
	if v.exact() {
		return p
	}
	if p == v.prefix {
		return "~"
	}
	if strings.HasPrefix(p, v.prefix+"/") {
		return "~" + p[len(v.prefix):]
	}
	return p
}

// mz renders a zxid of the mirrored namespace (a Stat field, a write's
// reply zxid).
func (v *view) mz(z int64) string {
	if v.exact() || z == 0 {
		return fmt.Sprintf("%#x", z)
	}
	if v.side == 0 {
		if v.m.zxidA[z] {
			return fmt.Sprintf("z%#x", z)
		}
	} else if a, ok := v.m.zxidBA[z]; ok {
		return fmt.Sprintf("z%#x", a)
	}
	return fmt.Sprintf("unmapped(%#x@%c)", z, 'A'+v.side)
}

func (v *view) owner(o int64) string {
	if v.exact() || o == 0 {
		return fmt.Sprintf("%#x", o)
	}
	if l, ok := v.m.sess[v.side][o]; ok {
		return l
	}
	return fmt.Sprintf("unmapped(%#x@%c)", o, 'A'+v.side)
}

// time renders a ctime/mtime of the txn zxid.
func (v *view) time(z, t int64) string {
	if v.exact() {
		return fmt.Sprint(t)
	}
	times := v.m.times[v.side]
	if old, ok := times[z]; ok && old != t {
		return fmt.Sprintf("%d(earlier %d for the same zxid)", t, old)
	}
	times[z] = t
	return "="
}

func (v *view) stat(b *strings.Builder, s *proto.Stat) {
	fmt.Fprintf(b, "{czxid=%s mzxid=%s ctime=%s mtime=%s version=%d cversion=%d aversion=%d owner=%s dataLength=%d numChildren=%d pzxid=%s}",
		v.mz(s.Czxid), v.mz(s.Mzxid), v.time(s.Czxid, s.Ctime), v.time(s.Mzxid, s.Mtime),
		s.Version, s.Cversion, s.Aversion, v.owner(s.EphemeralOwner), s.DataLength, s.NumChildren, v.mz(s.Pzxid))
}

func data(b []byte) string {
	if b == nil {
		return "null"
	}
	return fmt.Sprintf("%q", b)
}

func (v *view) paths(ps []string, sorted bool) string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = v.path(p)
	}
	if sorted {
		slices.Sort(out)
	}
	return fmt.Sprintf("%q", out)
}

// children renders child names (not paths), sorted: Java keeps them in a
// hash set, so their order is not part of the protocol.
func children(c []string) string {
	s := slices.Clone(c)
	slices.Sort(s)
	return fmt.Sprintf("%q", s)
}

func acls(a []proto.ACL) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, x := range a {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%d:%s", x.Perms, id(x.ID))
	}
	b.WriteByte(']')
	return b.String()
}

func id(x proto.Id) string {
	s, i := fmt.Sprintf("%q", x.Scheme), fmt.Sprintf("%q", x.ID)
	if x.NullScheme {
		s = "null"
	}
	if x.NullID {
		i = "null"
	}
	return s + ":" + i
}

// record renders one response record.
func (v *view) record(b *strings.Builder, r jute.Record) {
	switch r := r.(type) {
	case nil:
	case *proto.CreateResponse:
		fmt.Fprintf(b, "path=%q", v.path(r.Path))
	case *proto.Create2Response:
		fmt.Fprintf(b, "path=%s stat=", v.path(r.Path))
		v.stat(b, &r.Stat)
	case *proto.ExistsResponse:
		v.stat(b, &r.Stat)
	case *proto.GetDataResponse:
		fmt.Fprintf(b, "data=%s stat=", data(r.Data))
		v.stat(b, &r.Stat)
	case *proto.SetDataResponse:
		v.stat(b, &r.Stat)
	case *proto.GetACLResponse:
		fmt.Fprintf(b, "acl=%s stat=", acls(r.ACL))
		v.stat(b, &r.Stat)
	case *proto.SetACLResponse:
		v.stat(b, &r.Stat)
	case *proto.GetChildrenResponse:
		fmt.Fprintf(b, "children=%s", children(r.Children))
	case *proto.GetChildren2Response:
		fmt.Fprintf(b, "children=%s stat=", children(r.Children))
		v.stat(b, &r.Stat)
	case *proto.SyncResponse:
		fmt.Fprintf(b, "path=%q", v.path(r.Path))
	case *proto.GetEphemeralsResponse:
		fmt.Fprintf(b, "ephemerals=%s", v.paths(r.Ephemerals, true))
	case *proto.GetAllChildrenNumberResponse:
		fmt.Fprintf(b, "total=%d", r.TotalNumber)
	case *proto.ErrorResponse:
		fmt.Fprintf(b, "err=%v", r.Err)
	case *proto.WhoAmIResponse:
		for i, ci := range r.ClientInfo {
			if i > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprintf(b, "%q:%q", ci.AuthScheme, ci.User)
		}
	case *proto.MultiResponse:
		for i, res := range r.Results {
			fmt.Fprintf(b, "\n    [%d] type=%v err=%v ", i, res.Type, res.Err)
			v.record(b, res.Record)
		}
	default:
		fmt.Fprintf(b, "%+v", r)
	}
}

// zxidKind says how a reply header's zxid is compared.
type zxidKind int

const (
	zxidGlobal   zxidKind = iota // the server's last processed zxid: equal on both targets
	zxidMirrored                 // the zxid of this side's own txn: mapped
	zxidRaw                      // compared as it is (auth replies: 0)
)

// gz renders the last processed zxid of a read reply. Which of the two
// latest barrier writes a target has applied at that moment is timing, so
// any value between its own barrier write and the latest txn is "last".
func (v *view) gz(z int64) string {
	if z >= v.lo && z <= v.hi {
		return "last"
	}
	return fmt.Sprintf("%#x (outside [%#x, %#x])", z, v.lo, v.hi)
}

// reply renders a reply: header, then the decoded body (or the decode
// error and the raw bytes).
func (v *view) reply(op proto.OpCode, r Reply, zk zxidKind) string {
	var b strings.Builder
	z := fmt.Sprintf("%#x", r.Header.Zxid)
	switch zk {
	case zxidMirrored:
		z = v.mz(r.Header.Zxid)
	case zxidGlobal:
		z = v.gz(r.Header.Zxid)
	}
	fmt.Fprintf(&b, "%v: err=%v zxid=%s", op, proto.ErrCode(r.Header.Err), z)
	rec := responseRecord(op)
	if r.Header.Err != 0 || rec == nil {
		if len(r.Body) > 0 {
			fmt.Fprintf(&b, " unexpected body %x", r.Body)
		}
		return b.String()
	}
	if err := jute.Unmarshal(r.Body, rec); err != nil {
		fmt.Fprintf(&b, " undecodable body (%v) %x", err, r.Body)
		return b.String()
	}
	b.WriteByte(' ')
	v.record(&b, rec)
	return b.String()
}

func (v *view) event(e Event) string {
	return fmt.Sprintf("event{xid=%d zxid=%d err=%d type=%d state=%d path=%s}",
		e.Header.Xid, e.Header.Zxid, e.Header.Err, e.Type, e.State, v.path(e.Path))
}
