package server

import (
	"time"

	"github.com/zkobserver/zkobserver/core/jute"
	"github.com/zkobserver/zkobserver/core/proto"
	"github.com/zkobserver/zkobserver/core/tree"
)

// pending is a request forwarded to the leader and not yet answered. The
// reader goroutine creates it; the apply loop completes it (its txn was
// applied, or the leader's SYNC arrived). Fields other than done and frame
// never change after creation.
type pending struct {
	c    *conn
	xid  int32
	op   proto.OpCode
	path string    // sync: the path its reply echoes
	read time.Time // when the request was read (latency)

	// Guarded by c.mu.
	done       bool
	frame      []byte
	closeAfter bool
}

// addPending appends p to the connection's in-flight requests.
func (c *conn) addPending(p *pending) {
	c.mu.Lock()
	if len(c.pend) == 0 {
		c.drained = make(chan struct{})
	}
	c.pend = append(c.pend, p)
	c.mu.Unlock()
}

// waitIdle blocks the reader until the connection has no request in flight
// (a read behind a write waits for it). false means the connection closed.
func (c *conn) waitIdle() bool {
	c.mu.Lock()
	ch := c.drained
	c.mu.Unlock()
	if ch == nil {
		return !c.closing.Load()
	}
	select {
	case <-ch:
		return !c.closing.Load()
	case <-c.done:
		return false
	}
}

// finish records p's reply and queues, in request order, every reply at the
// head of the queue that is ready. A request already answered keeps its
// first answer. It never blocks.
func (c *conn) finish(p *pending, frame []byte, closeAfter bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p.done {
		return
	}
	p.done, p.frame, p.closeAfter = true, frame, closeAfter
	c.flushLocked()
}

// failInFlight answers every request of c still in flight with code, in
// order (read-only mode: the leader that would have answered is gone).
func (c *conn) failInFlight(code proto.ErrCode) {
	zxid := c.s.tree.LastZxid()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.pend {
		if !p.done {
			p.done, p.frame = true, proto.AppendFrame(nil, &proto.ReplyHeader{Xid: p.xid, Zxid: zxid, Err: code})
		}
	}
	c.flushLocked()
}

// flushLocked queues the ready replies at the head of c.pend. c.mu held.
func (c *conn) flushLocked() {
	for len(c.pend) > 0 && c.pend[0].done {
		h := c.pend[0]
		c.pend[0] = nil
		c.pend = c.pend[1:]
		c.send(h.frame)
		c.answered(h.xid, h.op, h.read, replyZxid(h.frame))
		if h.closeAfter {
			c.closeAfterFlush()
		}
	}
	if len(c.pend) == 0 && c.drained != nil {
		close(c.drained)
		c.drained = nil
		c.pend = nil
	}
}

// headWrite returns the oldest in-flight request that a txn completes (not
// a sync), or nil.
func (c *conn) headWrite() *pending {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.pend {
		if !p.done && p.op != proto.OpSync {
			return p
		}
	}
	return nil
}

// writeReply builds the reply to a forwarded request from the result of
// applying its txn here, as FinalRequestProcessor does. t is read for
// reconfig's config data only.
func writeReply(p *pending, rc *tree.Result, t *tree.DataTree) []byte {
	hdr := proto.ReplyHeader{Xid: p.xid, Zxid: rc.Zxid}
	if rc.Type == proto.OpError || (rc.Err != proto.ErrOK && rc.Type != proto.OpMulti) {
		hdr.Err = rc.Err
		if hdr.Err == proto.ErrOK {
			hdr.Err = proto.ErrSystemError
		}
		return proto.AppendFrame(nil, &hdr)
	}
	var rec jute.Record
	switch p.op {
	case proto.OpCreate:
		rec = &proto.CreateResponse{Path: rc.Path}
	case proto.OpCreate2, proto.OpCreateContainer, proto.OpCreateTTL:
		rec = &proto.Create2Response{Path: rc.Path, Stat: rc.Stat}
	case proto.OpSetData:
		rec = &proto.SetDataResponse{Stat: rc.Stat}
	case proto.OpSetACL:
		rec = &proto.SetACLResponse{Stat: rc.Stat}
	case proto.OpMulti:
		rec = multiResponse(rc)
	case proto.OpReconfig:
		var data []byte
		t.View(func(v tree.View) {
			if n, ok := v.Node(tree.ConfigPath); ok {
				data = n.Data
			}
		})
		rec = &proto.GetDataResponse{Data: data, Stat: rc.Stat}
	}
	if rec == nil {
		return proto.AppendFrame(nil, &hdr)
	}
	return proto.AppendFrame(nil, &hdr, rec)
}

// multiResponse is a multi's per-op results (header err is always 0).
func multiResponse(rc *tree.Result) *proto.MultiResponse {
	out := &proto.MultiResponse{Results: make([]proto.MultiResult, 0, len(rc.Multi))}
	for i := range rc.Multi {
		r := &rc.Multi[i]
		var mr proto.MultiResult
		switch r.Type {
		case proto.OpCheck:
			mr = proto.MultiResult{Type: proto.OpCheck}
		case proto.OpCreate:
			mr = proto.MultiResult{Type: proto.OpCreate, Record: &proto.CreateResponse{Path: r.Path}}
		case proto.OpCreate2, proto.OpCreateTTL, proto.OpCreateContainer:
			mr = proto.MultiResult{Type: proto.OpCreate2, Record: &proto.Create2Response{Path: r.Path, Stat: r.Stat}}
		case proto.OpDelete, proto.OpDeleteContainer:
			mr = proto.MultiResult{Type: proto.OpDelete}
		case proto.OpSetData:
			mr = proto.MultiResult{Type: proto.OpSetData, Record: &proto.SetDataResponse{Stat: r.Stat}}
		default:
			mr = proto.MultiErrorResult(r.Err)
		}
		out.Results = append(out.Results, mr)
	}
	return out
}
