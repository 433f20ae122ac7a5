package session

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
)

// State is where a session stands on this server.
type State uint8

const (
	// Local: created on this server without a leader round trip
	// (localSessionsEnabled, ZOOKEEPER-1147); unknown to the rest of the
	// ensemble, expired here by Table.Expire, never touched in PINGs.
	Local State = iota + 1
	// Upgrading: was Local; its createSession (same id) has been forwarded
	// to the leader and not yet applied. No longer expired here: the leader
	// tracks it from the moment it sees the request, so it is touched in
	// PINGs.
	Upgrading
	// Creating: a global session created through this server whose
	// createSession has been forwarded and not yet applied. Touched in PINGs.
	Creating
	// Global: its createSession txn has been applied here (whichever server
	// created it) or it came with a snapshot. The leader expires it; it
	// leaves the table when its closeSession txn is applied.
	Global
)

func (s State) String() string {
	switch s {
	case Local:
		return "local"
	case Upgrading:
		return "upgrading"
	case Creating:
		return "creating"
	case Global:
		return "global"
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// Session is a copy of one table entry.
type Session struct {
	ID int64
	// Timeout is the negotiated timeout in ms: the one the session was
	// created with (for Global, the one in its createSession txn).
	Timeout int32
	State   State
	// Closing is set by SetClosing or by Expire; a closing session is not
	// touched any more and waits for Remove.
	Closing bool
	// Expiry is when a Local session expires (ms of the table's clock), 0
	// for the other states.
	Expiry int64
	// Owner is the server's opaque value (its connection, typically); nil
	// for sessions this server only knows from txns.
	Owner any
}

// Config configures a Table.
type Config struct {
	// ServerID is this server's sid (myid): the top byte of every id it
	// hands out.
	ServerID int64
	// TickTime in ms is the width of the local expiry buckets. Required.
	TickTime int32
	// Clock returns milliseconds of a monotonic clock; nil means
	// ElapsedMillis. It gives the time bits of the first session id and the
	// "now" of Touch and the Create calls.
	Clock func() int64
}

// TouchEntryLen is the size of one PING touch entry: long sessionId, int
// timeoutMs.
const TouchEntryLen = 12

// Table is an observer's session table, in the manner of Java's
// LearnerSessionTracker with local sessions: every global session of the
// ensemble (so that reconnects, closeSession txns and ephemeral owners can be
// checked), the local sessions of this server with their expiry queue, the
// sessions in flight to the leader (Creating, Upgrading), and the touch
// table sent with each PING reply.
//
// Concurrency: all methods are safe for concurrent use (one mutex; none
// blocks on anything else). Owners are stored and returned as given, never
// inspected. The Table starts no goroutines: local expiry happens when the
// caller calls Expire.
//
// The caller's duties: forward createSession for Creating and Upgrading
// sessions; call CommitSession and Remove from the apply loop for every
// createSession and closeSession txn applied (any server's); call Remove
// after closing an expired or closed local session; call ResetGlobal after
// a SNAP (or at start from the persisted tree).
type Table struct {
	mu       sync.Mutex
	clock    func() int64
	ids      *Allocator
	sessions map[int64]*entry
	local    *ExpiryQueue[int64]
	touched  map[int64]int32 // the touch table: id -> timeout
}

type entry struct {
	timeout int32
	state   State
	closing bool
	owner   any
}

// New returns an empty table. Its first session id is
// InitialSessionID(cfg.ServerID, cfg.Clock()).
func New(cfg Config) (*Table, error) {
	if cfg.TickTime <= 0 {
		return nil, fmt.Errorf("session: tickTime %d must be positive", cfg.TickTime)
	}
	clock := cfg.Clock
	if clock == nil {
		clock = ElapsedMillis
	}
	now := clock()
	return &Table{
		clock:    clock,
		ids:      NewAllocator(cfg.ServerID, now),
		sessions: make(map[int64]*entry),
		local:    NewExpiryQueue[int64](int64(cfg.TickTime), now),
		touched:  make(map[int64]int32),
	}, nil
}

// CreateLocal starts a Local session with the negotiated timeout and
// returns its id: LearnerSessionTracker.createSession with local sessions
// (LocalSessionTracker.createSession). Its expiry is armed at once.
func (t *Table) CreateLocal(timeout int32, owner any) int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	id := t.ids.Next()
	t.sessions[id] = &entry{timeout: timeout, state: Local, owner: owner}
	t.local.Update(id, t.clock(), timeout)
	return id
}

// CreateGlobal allocates the id of a new global session and records it as
// Creating: LearnerSessionTracker.createSession without local sessions. The
// caller forwards createSession{timeout} for it and answers the client when
// CommitSession reports the txn applied.
func (t *Table) CreateGlobal(timeout int32, owner any) int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	id := t.ids.Next()
	t.sessions[id] = &entry{timeout: timeout, state: Creating, owner: owner}
	return id
}

// Upgrade turns a Local session into an Upgrading one with the same id and
// returns its timeout, for the createSession the caller must now forward
// (UpgradeableSessionTracker.upgradeSession). It stops the local expiry.
// ok is false (and nothing changes) unless id is Local and not closing; of
// concurrent callers exactly one succeeds.
func (t *Table) Upgrade(id int64) (timeout int32, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.sessions[id]
	if e == nil || e.state != Local || e.closing {
		return 0, false
	}
	e.state = Upgrading
	t.local.Remove(id)
	return e.timeout, true
}

// CommitSession records an applied createSession txn for id with the txn's
// timeout (LearnerSessionTracker.commitSession): the session becomes Global,
// keeping its owner if this server created it (Creating or Upgrading) and
// leaving any local expiry. As in Java it is also put in the touch table,
// whoever created it. added is true if the session was not Global before.
func (t *Table) CommitSession(id int64, timeout int32) (added bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	added = t.makeGlobal(id, timeout)
	t.touched[id] = timeout
	return added
}

// makeGlobal makes id a Global session with timeout, adding it if unknown
// and taking it out of local expiry if it was Local; it reports whether it
// was not Global before. t.mu must be held.
func (t *Table) makeGlobal(id int64, timeout int32) bool {
	e := t.sessions[id]
	if e == nil {
		e = &entry{}
		t.sessions[id] = e
	}
	was := e.state
	if was == Local {
		t.local.Remove(id)
		e.closing = false
	}
	e.state, e.timeout = Global, timeout
	return was != Global
}

// Revalidated records that the leader answered a REVALIDATE for id as
// valid and that owner now holds it. A session the table does not know
// (its createSession txn not applied here yet) is added as Global with
// timeout; a known one only gets the new owner. It returns false, changing
// nothing, for a Local session (those are never revalidated through the
// leader).
func (t *Table) Revalidated(id int64, timeout int32, owner any) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.sessions[id]
	if e == nil {
		t.sessions[id] = &entry{timeout: timeout, state: Global, owner: owner}
		return true
	}
	if e.state == Local {
		return false
	}
	e.owner = owner
	return true
}

// Touch records client activity on session id with the timeout of the
// client's connection, as LearnerSessionTracker.touchSession: a Local
// session's expiry is re-armed (ExpiryQueue bucketing); a Creating,
// Upgrading or Global session goes into the touch table for the next PING.
// It returns false for an unknown or closing session (the caller then
// treats the session as expired).
func (t *Table) Touch(id int64, timeout int32) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.sessions[id]
	if e == nil || e.closing {
		return false
	}
	if e.state == Local {
		t.local.Update(id, t.clock(), timeout)
		return true
	}
	t.touched[id] = timeout
	return true
}

// Touches appends the touch table to dst and resets it: the data of a PING
// reply (Learner.ping over LearnerSessionTracker.snapshot). Each entry is
// 12 bytes, {long sessionId, int timeoutMs} big-endian, in ascending id
// order; an empty table appends nothing. The result is never nil, because a
// null PING buffer makes the Java leader drop the learner. It plugs into
// learner.Sink.
func (t *Table) Touches(dst []byte) []byte {
	t.mu.Lock()
	ids := make([]int64, 0, len(t.touched))
	for id := range t.touched {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	dst = slices.Grow(dst, len(ids)*TouchEntryLen)
	for _, id := range ids {
		dst = binary.BigEndian.AppendUint64(dst, uint64(id))
		dst = binary.BigEndian.AppendUint32(dst, uint32(t.touched[id]))
	}
	clear(t.touched)
	t.mu.Unlock()
	if dst == nil {
		dst = []byte{}
	}
	return dst
}

// SetClosing marks a session closing (SessionTracker.setSessionClosing):
// it is no longer touched nor upgraded and waits for Remove. It reports
// whether the session exists.
func (t *Table) SetClosing(id int64) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.sessions[id]
	if e == nil {
		return false
	}
	e.closing = true
	if e.state == Local {
		t.local.Remove(id)
	}
	delete(t.touched, id)
	return true
}

// Remove drops a session from the table, its expiry queue and the touch
// table (LearnerSessionTracker.removeSession) and returns what it was. It
// is the hook for an applied closeSession txn (the leader closed or expired
// a global session; the caller then closes the session's connection, if it
// has one) and for a local session once closed.
func (t *Table) Remove(id int64) (Session, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.sessions[id]
	if e == nil {
		return Session{}, false
	}
	s := t.copyOf(id, e)
	delete(t.sessions, id)
	t.local.Remove(id)
	delete(t.touched, id)
	return s, true
}

// Expire marks every Local session whose expiry bucket is due at now
// (ms of the table's clock) closing and returns their ids, ascending. The
// caller closes their connections and then calls Remove for each (Java's
// expirer submits a local closeSession). Call it from a ticker, e.g. after
// NextExpiry, or every tickTime.
func (t *Table) Expire(now int64) []int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	ids := t.local.Poll(now)
	out := ids[:0]
	for _, id := range ids {
		if e := t.sessions[id]; e != nil && e.state == Local && !e.closing {
			e.closing = true
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// NextExpiry returns the earliest time (ms of the table's clock) at which
// Expire will find a local session due; ok is false when no local session
// is armed.
func (t *Table) NextExpiry() (at int64, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.local.NextExpiry()
}

// ResetGlobal makes sessions (id -> timeout, e.g. a SNAP's or the persisted
// tree's session list) the set of Global sessions: Global sessions not in
// it are dropped and returned, ascending (the caller closes their
// connections); every listed session becomes Global with the listed timeout,
// keeping its owner if it was known (an in-flight Creating or Upgrading one
// completes, a Local one leaves local expiry). Creating, Upgrading and
// Local sessions not listed stay as they are. Loaded sessions are not
// touched, as in Java.
func (t *Table) ResetGlobal(sessions map[int64]int32) (removed []int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for id, e := range t.sessions {
		if _, keep := sessions[id]; !keep && e.state == Global {
			delete(t.sessions, id)
			delete(t.touched, id)
			removed = append(removed, id)
		}
	}
	for id, timeout := range sessions {
		t.makeGlobal(id, timeout)
	}
	slices.Sort(removed)
	return removed
}

// Get returns a copy of session id.
func (t *Table) Get(id int64) (Session, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.sessions[id]
	if e == nil {
		return Session{}, false
	}
	return t.copyOf(id, e), true
}

// SetOwner replaces the owner of session id; false if it is unknown or
// closing (SessionTracker.setOwner fails for those).
func (t *Table) SetOwner(id int64, owner any) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.sessions[id]
	if e == nil || e.closing {
		return false
	}
	e.owner = owner
	return true
}

// IsLocal reports whether id is a Local session (isLocalSession).
func (t *Table) IsLocal(id int64) bool { return t.state(id) == Local }

// IsGlobal reports whether id's createSession has been applied
// (isGlobalSession).
func (t *Table) IsGlobal(id int64) bool { return t.state(id) == Global }

func (t *Table) state(id int64) State {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e := t.sessions[id]; e != nil {
		return e.state
	}
	return 0
}

// Counts are the number of sessions in each state.
type Counts struct {
	Local, Upgrading, Creating, Global int
}

// Counts returns the number of sessions in each state (for mntr's
// zk_global_sessions / zk_local_sessions).
func (t *Table) Counts() Counts {
	t.mu.Lock()
	defer t.mu.Unlock()
	var c Counts
	for _, e := range t.sessions {
		switch e.state {
		case Local:
			c.Local++
		case Upgrading:
			c.Upgrading++
		case Creating:
			c.Creating++
		case Global:
			c.Global++
		}
	}
	return c
}

// List returns a copy of every session, ascending by id (for the dump and
// cons four-letter words).
func (t *Table) List() []Session {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]Session, 0, len(t.sessions))
	for id, e := range t.sessions {
		out = append(out, t.copyOf(id, e))
	}
	slices.SortFunc(out, func(a, b Session) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

func (t *Table) copyOf(id int64, e *entry) Session {
	s := Session{ID: id, Timeout: e.timeout, State: e.state, Closing: e.closing, Owner: e.owner}
	if e.state == Local {
		s.Expiry, _ = t.local.Expiry(id)
	}
	return s
}
