// Package server serves ZooKeeper clients on the observer: the client port's
// listener, one connection per client with its handshake, the per-session
// request pipeline (reads answered from the local DataTree, writes forwarded
// to the leader and answered when their txn is applied here), watches, and
// the sessions of the observer (global ones through the leader, local ones
// on this server only).
//
// What it mirrors in Apache ZooKeeper 3.8 (read for behaviour, never copied):
// NIOServerCnxn / NIOServerCnxnFactory (framing, limits, per-IP connection
// cap, the sessionless connection timeout), ZooKeeperServer
// (processConnectRequest, reopenSession, finishSessionInit, processPacket),
// ObserverRequestProcessor and CommitProcessor (which requests go to the
// leader, per-session ordering), FinalRequestProcessor (every reply) and
// ObserverZooKeeperServer / LearnerZooKeeperServer (pending syncs and
// revalidations, local sessions and their upgrade).
//
// Goroutines: Serve's accept loop; per connection one reader goroutine (it
// runs the handshake and every request of the connection, in arrival order,
// and is the only goroutine that forwards its requests) and one writer
// goroutine (it drains the connection's bounded outbound queue); one
// local-session expiry goroutine. The observer calls the Clients methods
// (Committed, Synced, Revalidated, Reset on its apply loop; LeaderFound,
// LeaderLost, Touches on the learner's goroutine); none of them blocks: they
// only enqueue replies, signal readers and close connections.
//
// Lock order: Server.mu before conn.mu before outQueue.mu. The tree's read
// lock (View) may be held while taking conn.mu or outQueue.mu (a reply or a
// watch event is enqueued inside a View or inside the tree's Trigger), never
// the other way round.
package server

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/zkobserver/zkobserver/core/jute"
	"github.com/zkobserver/zkobserver/core/learner"
	"github.com/zkobserver/zkobserver/core/session"
	"github.com/zkobserver/zkobserver/core/tree"
	"github.com/zkobserver/zkobserver/core/watch"
)

var errNoLeader = errors.New("no leader")

// Defaults of Config, as Java's.
const (
	// DefaultMaxClientCnxns is Java's maxClientCnxns: connections per
	// client IP.
	DefaultMaxClientCnxns = 60
	// DefaultSessionlessTimeout is zookeeper.nio.sessionlessCnxnTimeout: a
	// connection that has not sent its ConnectRequest by then is closed.
	DefaultSessionlessTimeout = 10 * time.Second
	// DefaultMaxOutgoing bounds one connection's queued replies and events.
	DefaultMaxOutgoing = 16 << 20
	// handshakeWait bounds how long a connection waits for the leader's
	// answer to its createSession or REVALIDATE.
	handshakeWait = 30 * time.Second
)

// LocalSessions is the policy for new sessions (ZOOKEEPER-1147).
type LocalSessions int

const (
	// LocalReadOnlyClients gives a local session to a client that connects
	// with readOnly=true, a global one to the others (the default).
	LocalReadOnlyClients LocalSessions = iota
	// LocalAll gives every new session a local session.
	LocalAll
	// LocalNone makes every session global, as a stock Java observer does.
	LocalNone
)

// ParseLocalSessions parses the --local-sessions values
// readonly-clients, all and none.
func ParseLocalSessions(s string) (LocalSessions, error) {
	switch strings.ToLower(s) {
	case "readonly-clients", "":
		return LocalReadOnlyClients, nil
	case "all":
		return LocalAll, nil
	case "none":
		return LocalNone, nil
	}
	return 0, fmt.Errorf("local sessions policy %q: want readonly-clients, all or none", s)
}

func (p LocalSessions) String() string {
	switch p {
	case LocalAll:
		return "all"
	case LocalNone:
		return "none"
	}
	return "readonly-clients"
}

// Upstream is what the server needs from the observer: the forwarder of the
// current leader session, nil while there is none. The server is in sync
// with a leader exactly while it is not nil (the observer attaches it after
// UPTODATE and detaches it before it reports the leader lost).
type Upstream interface {
	Forwarder() *learner.Forwarder
}

// Config configures a Server.
type Config struct {
	// ServerID is this observer's sid: the top byte of its session ids.
	ServerID int64
	// TickTime is the ensemble's tickTime (local session expiry buckets).
	TickTime time.Duration
	// Timeouts are the session timeout bounds (session.NewTimeouts).
	Timeouts session.Timeouts
	// MaxFrame is jute.maxbuffer: the largest request frame; 0 means
	// jute.DefaultMaxBuffer.
	MaxFrame int
	// MaxClientCnxns limits connections per client IP; 0 means unlimited,
	// negative means DefaultMaxClientCnxns.
	MaxClientCnxns int
	// LocalSessions chooses which new sessions are local.
	LocalSessions LocalSessions
	// MaxOutgoing bounds the bytes queued for one client; a client that
	// does not read its replies beyond it is disconnected. 0 means
	// DefaultMaxOutgoing.
	MaxOutgoing int
	// SessionlessTimeout closes a connection that sends no ConnectRequest
	// in time; 0 means DefaultSessionlessTimeout.
	SessionlessTimeout time.Duration
	// ACL checks permissions and authenticates; nil means Policy{}
	// (core/acl's Java defaults: no super digest, ACLs checked).
	ACL ACL
	// FourLetter, if not nil, answers four-letter words (core/fourletter).
	FourLetter FourLetter
	// ReadOnly keeps serving read-only clients while there is no leader
	// (read-only mode, ZOOKEEPER-1607; see readonly.go). false behaves as
	// a Java observer: losing the leader drops every client and no client
	// is admitted until the next sync.
	ReadOnly bool
	Logger   zerolog.Logger
}

// Server serves ZooKeeper clients. Create it with New, give it the tree and
// the observer with Bind, then Serve a listener; it implements the
// observer's Clients interface.
type Server struct {
	cfg      Config
	log      zerolog.Logger
	acl      ACL
	sessions *session.Table
	watches  *watch.Manager

	tree *tree.DataTree // set by Bind
	up   Upstream       // set by Bind

	stats        *serverStats
	localCreated atomic.Int64 // local sessions created
	upgraded     atomic.Int64 // local sessions upgraded to global

	// servable: the tree is a state some leader had (loaded from the
	// engine, or synced), not an empty reset or a SNAP being synced; only
	// then may it be served read-only. leaderSeen is when the session with
	// a leader last ended or began (unix ns), 0 if never since New.
	servable   atomic.Bool
	leaderSeen atomic.Int64

	mu    sync.Mutex
	conns map[*conn]struct{}
	perIP map[string]int
	bound map[int64]*conn // session id -> the connection holding it
	// revalidating maps a session id to the connection waiting for the
	// leader's REVALIDATE answer (pendingRevalidations).
	revalidating map[int64]*conn
	syncMu       sync.Mutex // orders appends to syncs with their forwarding
	syncs        []*pending // forwarded syncs, oldest first (pendingSyncs)
	lns          []net.Listener
	closed       bool
	stopTick     chan struct{}
	wg           sync.WaitGroup
}

// New returns a Server.
func New(cfg Config) (*Server, error) {
	if cfg.TickTime <= 0 {
		return nil, errors.New("server: TickTime must be positive")
	}
	if cfg.Timeouts.Min <= 0 || cfg.Timeouts.Max < cfg.Timeouts.Min {
		return nil, fmt.Errorf("server: bad session timeout bounds %d..%d", cfg.Timeouts.Min, cfg.Timeouts.Max)
	}
	if cfg.MaxFrame <= 0 {
		cfg.MaxFrame = jute.DefaultMaxBuffer
	}
	if cfg.MaxClientCnxns < 0 {
		cfg.MaxClientCnxns = DefaultMaxClientCnxns
	}
	if cfg.MaxOutgoing <= 0 {
		cfg.MaxOutgoing = DefaultMaxOutgoing
	}
	if cfg.SessionlessTimeout <= 0 {
		cfg.SessionlessTimeout = DefaultSessionlessTimeout
	}
	acl := cfg.ACL
	if acl == nil {
		acl = Policy{}
	}
	st, err := session.New(session.Config{ServerID: cfg.ServerID, TickTime: int32(cfg.TickTime / time.Millisecond)})
	if err != nil {
		return nil, err
	}
	return &Server{
		cfg: cfg, log: cfg.Logger, acl: acl, sessions: st, watches: watch.New(), stats: newServerStats(),
		conns: map[*conn]struct{}{}, perIP: map[string]int{}, bound: map[int64]*conn{},
		revalidating: map[int64]*conn{},
		stopTick:     make(chan struct{}),
	}, nil
}

// Bind gives the server the observer's tree and the observer itself. It
// installs the watch manager's Trigger on t, so it must be called once,
// before t is shared (before the observer runs), and before Serve. The
// global sessions already in t (a persisted tree) become the session table.
func (s *Server) Bind(t *tree.DataTree, up Upstream) {
	s.tree, s.up = t, up
	t.SetTrigger(s.watches.TriggerACL)
	var sessions map[int64]int32
	t.View(func(v tree.View) { sessions = v.Sessions() })
	s.sessions.ResetGlobal(sessions)
	// A tree loaded from the engine is one the leader had: with read-only
	// mode on, read-only clients are served from it at once, before any
	// leader is found.
	s.servable.Store(t.LastZxid() > 0)
	s.wg.Add(1)
	go s.expireLocalSessions()
}

// Counters are the server's session counts since New.
type Counters struct {
	LocalSessionsCreated  int64
	LocalSessionsUpgraded int64
}

// Counters returns the session counters.
func (s *Server) Counters() Counters {
	return Counters{LocalSessionsCreated: s.localCreated.Load(), LocalSessionsUpgraded: s.upgraded.Load()}
}

// Sessions returns the session table (for the four-letter words).
func (s *Server) Sessions() *session.Table { return s.sessions }

// Watches returns the watch manager (for the four-letter words).
func (s *Server) Watches() *watch.Manager { return s.watches }

// Serve accepts clients on ln until ln fails or Close is called. It returns
// nil after Close.
func (s *Server) Serve(ln net.Listener) error {
	if s.tree == nil {
		return errors.New("server: Serve before Bind")
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return nil
	}
	s.lns = append(s.lns, ln)
	s.mu.Unlock()
	for {
		nc, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		s.accept(nc)
	}
}

// accept registers a new connection, enforcing the per-IP limit, and starts
// its goroutines.
func (s *Server) accept(nc net.Conn) {
	ip := remoteIP(nc)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		nc.Close()
		return
	}
	if limit := s.cfg.MaxClientCnxns; limit > 0 && s.perIP[ip] >= limit {
		s.mu.Unlock()
		s.log.Warn().Str("peer", nc.RemoteAddr().String()).Int("max_client_cnxns", limit).Msg("too many connections from this address; closing")
		nc.Close()
		return
	}
	s.perIP[ip]++
	c := newConn(s, nc, ip)
	s.conns[c] = struct{}{}
	s.wg.Add(2)
	s.mu.Unlock()
	go c.readLoop()
	go c.writeLoop()
}

// removeConn forgets a closed connection.
func (s *Server) removeConn(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.conns[c]; !ok {
		return
	}
	delete(s.conns, c)
	if s.perIP[c.ip]--; s.perIP[c.ip] <= 0 {
		delete(s.perIP, c.ip)
	}
	if id := c.sessionID(); id != 0 && s.bound[id] == c {
		delete(s.bound, id)
	}
}

// bind makes c the connection of session id and returns the connection it
// replaces, if any.
func (s *Server) bind(id int64, c *conn) *conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.bound[id]
	s.bound[id] = c
	if old == c {
		return nil
	}
	return old
}

// connOf returns the connection holding session id.
func (s *Server) connOf(id int64) *conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bound[id]
}

// Close stops accepting, closes every connection and waits for their
// goroutines.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	for _, ln := range s.lns {
		ln.Close()
	}
	close(s.stopTick)
	s.mu.Unlock()
	s.dropClients("server closing")
	s.wg.Wait()
	return nil
}

// dropClients closes every client connection, sending nothing (Java's
// QuorumPeer.closeAllConnections when the learner shuts down). Pending
// requests die with their connections.
func (s *Server) dropClients(reason string) {
	s.forgetSyncs()
	all := s.connList()
	if len(all) > 0 {
		s.log.Info().Int("connections", len(all)).Str("reason", reason).Msg("closing all client connections")
	}
	for _, c := range all {
		c.close(reason)
	}
}

// connList returns the open connections.
func (s *Server) connList() []*conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	all := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		all = append(all, c)
	}
	return all
}

// forgetSyncs drops the forwarded syncs when the leader that would answer
// them is gone (their connections are closed or answered by the caller).
func (s *Server) forgetSyncs() {
	s.mu.Lock()
	s.syncs = nil
	s.mu.Unlock()
}

// ConnCount returns the number of open client connections.
func (s *Server) ConnCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// forwarder returns the current leader session's forwarder, or nil.
func (s *Server) forwarder() *learner.Forwarder {
	if s.up == nil {
		return nil
	}
	return s.up.Forwarder()
}

// expireLocalSessions expires local sessions every tick (Java's
// LocalSessionTracker expirer), closing their connections without a word.
func (s *Server) expireLocalSessions() {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.TickTime)
	defer t.Stop()
	for {
		select {
		case <-s.stopTick:
			return
		case <-t.C:
		}
		for _, id := range s.sessions.Expire(session.ElapsedMillis()) {
			s.log.Info().Str("session", hexID(id)).Msg("local session expired")
			if c := s.connOf(id); c != nil {
				c.close("local session expired")
			}
			s.sessions.Remove(id)
		}
	}
}

func remoteIP(nc net.Conn) string {
	if a, ok := nc.RemoteAddr().(*net.TCPAddr); ok {
		return a.IP.String()
	}
	host, _, err := net.SplitHostPort(nc.RemoteAddr().String())
	if err != nil {
		return nc.RemoteAddr().String()
	}
	return host
}

func hexID(id int64) string { return fmt.Sprintf("%#x", uint64(id)) }
