package clienttest

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
)

type quietLogger struct{}

func (quietLogger) Printf(string, ...any) {}

// client is a go-zookeeper connection to one server address only, with its
// first session id and the StateExpired events it has seen.
type client struct {
	c       *zk.Conn
	sid     int64
	expired atomic.Int32
}

// dial connects to addr alone and waits for a session.
func dial(tb testing.TB, addr string, timeout time.Duration) *client {
	tb.Helper()
	c, events, err := zk.Connect([]string{addr}, timeout, zk.WithLogger(quietLogger{}), zk.WithLogInfo(false))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(c.Close)
	cl := &client{c: c}
	has := make(chan struct{})
	go func() {
		once := false
		for ev := range events {
			if ev.Type != zk.EventSession {
				continue
			}
			switch ev.State {
			case zk.StateHasSession:
				if !once {
					once = true
					close(has)
				}
			case zk.StateExpired:
				cl.expired.Add(1)
			}
		}
	}()
	select {
	case <-has:
	case <-time.After(30 * time.Second):
		tb.Fatalf("no session from %s within 30s", addr)
	}
	cl.sid = c.SessionID()
	return cl
}

// connect is dial for a client that only needs the connection.
func connect(tb testing.TB, addr string, timeout time.Duration) *zk.Conn {
	tb.Helper()
	return dial(tb, addr, timeout).c
}
