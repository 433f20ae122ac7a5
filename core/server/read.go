package server

import (
	"strings"

	"github.com/zkobserver/zkobserver/core/jute"
	"github.com/zkobserver/zkobserver/core/proto"
	"github.com/zkobserver/zkobserver/core/tree"
	"github.com/zkobserver/zkobserver/core/watch"
)

// read answers a request from the local tree (FinalRequestProcessor's read
// cases), on the reader goroutine, once the session has no write in
// flight. The reply is queued inside the tree View that read the data and
// registered any watch, so no event of a later txn can precede it.
func (c *conn) read(h proto.RequestHeader, body jute.Record) {
	c.s.tree.View(func(v tree.View) {
		zxid := v.LastZxid()
		rec, err := c.readOp(v, h.Type, body)
		c.sendReply(h.Xid, zxid, err, rec)
		c.answered(h.Xid, h.Type, c.readAt, zxid)
	})
}

// readOp executes one read inside v.
func (c *conn) readOp(v tree.View, op proto.OpCode, body jute.Record) (jute.Record, proto.ErrCode) {
	s := c.s
	switch op {
	case proto.OpPing:
		return nil, proto.ErrOK
	case proto.OpExists:
		r := body.(*proto.ExistsRequest)
		if strings.IndexByte(r.Path, 0) >= 0 {
			return nil, proto.ErrBadArguments
		}
		if r.Watch {
			s.watches.AddDataWatch(r.Path, c)
		}
		n, ok := v.Node(r.Path)
		if !ok {
			return nil, proto.ErrNoNode
		}
		return &proto.ExistsResponse{Stat: v.Stat(n)}, proto.ErrOK
	case proto.OpGetData:
		r := body.(*proto.GetDataRequest)
		n, code := c.node(v, r.Path, proto.PermRead)
		if code != proto.ErrOK {
			return nil, code
		}
		if r.Watch {
			s.watches.AddDataWatch(r.Path, c)
		}
		return &proto.GetDataResponse{Data: n.Data, Stat: v.Stat(n)}, proto.ErrOK
	case proto.OpGetACL:
		r := body.(*proto.GetACLRequest)
		n, ok := v.Node(r.Path)
		if !ok {
			return nil, proto.ErrNoNode
		}
		acl := v.ACL(n)
		if s.acl.Check(acl, proto.PermRead|proto.PermAdmin, c.ids) != proto.ErrOK {
			return nil, proto.ErrNoAuth
		}
		return &proto.GetACLResponse{ACL: s.acl.GetACL(acl, c.ids), Stat: v.Stat(n)}, proto.ErrOK
	case proto.OpGetChildren:
		r := body.(*proto.GetChildrenRequest)
		n, code := c.node(v, r.Path, proto.PermRead)
		if code != proto.ErrOK {
			return nil, code
		}
		if r.Watch {
			s.watches.AddChildWatch(r.Path, c)
		}
		return &proto.GetChildrenResponse{Children: n.Children()}, proto.ErrOK
	case proto.OpGetChildren2:
		r := body.(*proto.GetChildren2Request)
		n, code := c.node(v, r.Path, proto.PermRead)
		if code != proto.ErrOK {
			return nil, code
		}
		if r.Watch {
			s.watches.AddChildWatch(r.Path, c)
		}
		return &proto.GetChildren2Response{Children: n.Children(), Stat: v.Stat(n)}, proto.ErrOK
	case proto.OpGetAllChildrenNumber:
		r := body.(*proto.GetAllChildrenNumberRequest)
		if _, code := c.node(v, r.Path, proto.PermRead); code != proto.ErrOK {
			return nil, code
		}
		return &proto.GetAllChildrenNumberResponse{TotalNumber: int32(v.CountDescendants(r.Path))}, proto.ErrOK
	case proto.OpGetEphemerals:
		r := body.(*proto.GetEphemeralsRequest)
		all := v.Ephemerals(c.sessionID())
		prefix := strings.TrimSpace(r.PrefixPath)
		if prefix == "" || prefix == "/" {
			return &proto.GetEphemeralsResponse{Ephemerals: nonNil(all)}, proto.ErrOK
		}
		out := []string{}
		for _, p := range all {
			if strings.HasPrefix(p, r.PrefixPath) {
				out = append(out, p)
			}
		}
		return &proto.GetEphemeralsResponse{Ephemerals: out}, proto.ErrOK
	case proto.OpMultiRead:
		return c.multiRead(v, body.(*proto.MultiRequest)), proto.ErrOK
	case proto.OpCheckWatches:
		r := body.(*proto.CheckWatchesRequest)
		return nil, s.watches.CheckWatches(r, c)
	case proto.OpRemoveWatches:
		r := body.(*proto.RemoveWatchesRequest)
		return nil, s.watches.RemoveWatches(r, c)
	case proto.OpAddWatch:
		r := body.(*proto.AddWatchRequest)
		mode, ok := watch.ModeFromAddWatch(r.Mode)
		if !ok {
			return nil, proto.ErrMarshallingError
		}
		s.watches.AddWatch(r.Path, c, mode)
		return &proto.ErrorResponse{Err: proto.ErrOK}, proto.ErrOK
	case proto.OpSetWatches:
		r := body.(*proto.SetWatches)
		s.watches.SetWatches(&proto.SetWatches2{RelativeZxid: r.RelativeZxid, DataWatches: r.DataWatches,
			ExistWatches: r.ExistWatches, ChildWatches: r.ChildWatches}, c, watch.TreeLookup(v))
		return nil, proto.ErrOK
	case proto.OpSetWatches2:
		s.watches.SetWatches(body.(*proto.SetWatches2), c, watch.TreeLookup(v))
		return nil, proto.ErrOK
	case proto.OpWhoAmI:
		return &proto.WhoAmIResponse{ClientInfo: s.acl.WhoAmI(c.ids)}, proto.ErrOK
	case proto.OpCheck:
		// A top-level check: Java 3.8 logs a txn it cannot replay and never
		// answers (spec A5.5); this server checks the version locally and
		// answers header-only, logging nothing.
		r := body.(*proto.CheckVersionRequest)
		n, code := c.node(v, r.Path, proto.PermRead)
		if code != proto.ErrOK {
			return nil, code
		}
		if r.Version != -1 && r.Version != n.Stat.Version {
			return nil, proto.ErrBadVersion
		}
		return nil, proto.ErrOK
	}
	return nil, proto.ErrUnimplemented
}

// node looks up path and checks perm on it: NONODE, then NOAUTH.
func (c *conn) node(v tree.View, path string, perm int32) (*tree.Node, proto.ErrCode) {
	n, ok := v.Node(path)
	if !ok {
		return nil, proto.ErrNoNode
	}
	if c.s.acl.Check(v.ACL(n), perm, c.ids) != proto.ErrOK {
		return nil, proto.ErrNoAuth
	}
	return n, proto.ErrOK
}

// multiRead runs each sub-op independently; failures become error results
// and no watch is set.
func (c *conn) multiRead(v tree.View, m *proto.MultiRequest) *proto.MultiResponse {
	out := &proto.MultiResponse{Results: make([]proto.MultiResult, 0, len(m.Ops))}
	for _, op := range m.Ops {
		switch r := op.Op.(type) {
		case *proto.GetChildrenRequest:
			n, code := c.node(v, r.Path, proto.PermRead)
			if code != proto.ErrOK {
				out.Results = append(out.Results, proto.MultiErrorResult(code))
				continue
			}
			out.Results = append(out.Results, proto.MultiResult{Type: proto.OpGetChildren, Record: &proto.GetChildrenResponse{Children: n.Children()}})
		case *proto.GetDataRequest:
			n, code := c.node(v, r.Path, proto.PermRead)
			if code != proto.ErrOK {
				out.Results = append(out.Results, proto.MultiErrorResult(code))
				continue
			}
			out.Results = append(out.Results, proto.MultiResult{Type: proto.OpGetData, Record: &proto.GetDataResponse{Data: n.Data, Stat: v.Stat(n)}})
		default:
			out.Results = append(out.Results, proto.MultiErrorResult(proto.ErrUnimplemented))
		}
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
