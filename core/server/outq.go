package server

import (
	"net"
	"sync"
	"time"
)

// outQueue is a connection's bounded queue of outgoing frames (replies and
// watch events, in the order they were produced). Producers never block:
// push fails when the queue would exceed its byte bound, and the producer
// then closes the connection. The writer goroutine is the only consumer.
//
// Ownership: a pushed frame belongs to the queue (and then to the writer);
// the producer must not touch it afterwards.
type outQueue struct {
	mu     sync.Mutex
	frames [][]byte
	bytes  int
	max    int
	finish bool // write what is queued, then close the connection
	wake   chan struct{}
}

func newOutQueue(max int) *outQueue {
	return &outQueue{max: max, wake: make(chan struct{}, 1)}
}

// push appends frame. It reports false, queueing nothing, when the queue
// already holds more than max bytes (a frame is always accepted into an
// empty queue, so one large reply cannot wedge a connection) or is
// finishing. It may be called with the tree's lock or the watch manager's
// mutex held.
func (q *outQueue) push(frame []byte) (ok, overflow bool) {
	q.mu.Lock()
	if q.finish {
		q.mu.Unlock()
		return false, false
	}
	if q.bytes > 0 && q.bytes+len(frame) > q.max {
		q.mu.Unlock()
		return false, true
	}
	q.frames = append(q.frames, frame)
	q.bytes += len(frame)
	q.mu.Unlock()
	q.signal()
	return true, false
}

// finishAfter marks the queue so that the writer closes the connection once
// everything queued so far is written; later pushes are dropped.
func (q *outQueue) finishAfter() {
	q.mu.Lock()
	q.finish = true
	q.mu.Unlock()
	q.signal()
}

// finishing reports whether finishAfter was called.
func (q *outQueue) finishing() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.finish
}

func (q *outQueue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// take removes and returns every queued frame.
func (q *outQueue) take() (frames [][]byte, finish bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	frames, q.frames = q.frames, nil
	q.bytes = 0
	return frames, q.finish
}

// writeTimeout bounds one write to a client. A client that reads nothing for
// this long while its replies are waiting is disconnected.
const writeTimeout = 60 * time.Second

// writeLoop is the connection's writer goroutine: it writes queued frames
// until the connection closes or the queue finishes.
func (c *conn) writeLoop() {
	defer c.s.wg.Done()
	for {
		select {
		case <-c.done:
			return
		case <-c.out.wake:
		}
		frames, finish := c.out.take()
		if len(frames) > 0 {
			c.nc.SetWriteDeadline(time.Now().Add(writeTimeout))
			bufs := net.Buffers(frames)
			if _, err := bufs.WriteTo(c.nc); err != nil {
				c.close("write failed: " + err.Error())
				return
			}
		}
		if finish {
			// Nothing is queued after finish: all is written.
			c.close("")
			return
		}
	}
}
