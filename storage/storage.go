// Package storage defines how the observer persists its state: the Engine
// interface, its contracts, and the value encoding every engine shares.
//
// What an engine holds: every znode (path, data, ACL list, persisted stat),
// the session table (id -> timeout), acceptedEpoch, currentEpoch, lastZxid,
// and whether an install (a full replace after a SNAP) was interrupted.
//
// The one invariant: the engine never holds a zxid ahead of its data, nor
// data ahead of its zxid. Every Commit is atomic (all of a batch, with its
// LastZxid, or none of it), and an install is staged and switched
// atomically, so after a crash an engine reopens at some earlier txn
// boundary: the old state, the new state, or (for engines that install in
// place) an empty store flagged NeedsResync. The leader's DIFF from that
// point repairs the rest.
//
// Concurrency: an Engine serves one writer (the persister, or an install)
// and any number of concurrent Get calls. Load, Commit, BeginInstall and
// Reset must not run concurrently with each other.
//
// Byte slices: Commit and Installer.Put take ownership of the Nodes they are
// given and of their slices (the caller must not modify them afterwards;
// the persister hands over immutable data), and every slice an engine
// returns is owned by the caller.
package storage

import (
	"errors"

	"github.com/zkobserver/zkobserver/core/proto"
)

// Errors, grouped by when they happen. Every error an engine returns wraps
// one of these; test with errors.Is.
var (
	// Opening.

	// ErrForeign means the data directory holds files that are not this
	// engine's (another engine's, or something else). Nothing is changed.
	ErrForeign = errors.New("storage: data directory belongs to something else")
	// ErrCorrupt means stored bytes fail their checks (truncated or changed
	// files, a value whose checksum does not match). It is fatal for the
	// store: the recovery is to wipe it and resync from the leader
	// (zkobserver run --reset). The error names the file.
	ErrCorrupt = errors.New("storage: data is corrupt; wipe it and resync from the leader (run with --reset)")
	// ErrLocked means another process has the store open.
	ErrLocked = errors.New("storage: data directory is in use by another process")

	// Reading.

	// ErrNotFound means no node at that path.
	ErrNotFound = errors.New("storage: no such node")

	// Writing.

	// ErrStaleZxid means a batch whose LastZxid is below the stored one.
	ErrStaleZxid = errors.New("storage: batch zxid is older than the stored zxid")
	// ErrInstallActive means a Commit or second install while an install
	// is staged.
	ErrInstallActive = errors.New("storage: an install is in progress")

	// Any time.

	// ErrClosed means the engine (or installer) was closed.
	ErrClosed = errors.New("storage: closed")
)

// Node is a znode as stored. Data nil means null data (distinct from
// empty). ACL is the node's ACL list; nil is the null list, which ZooKeeper
// gives its built-in nodes and reads as OPEN_ACL_UNSAFE (distinct from an
// empty list).
type Node struct {
	Path string
	Data []byte
	ACL  []proto.ACL
	Stat proto.StatPersisted
}

// Session is one entry of the session table.
type Session struct {
	ID      int64
	Timeout int32 // ms
}

// Meta is an engine's metadata.
type Meta struct {
	// LastZxid is the zxid of the last txn whose effects are stored.
	LastZxid int64
	// AcceptedEpoch and CurrentEpoch are the Zab epochs (quorum spec 4.2).
	AcceptedEpoch int64
	CurrentEpoch  int64
	// NeedsResync is set when an install was interrupted or the store was
	// found unusable: the store is empty and the observer must report
	// lastZxid 0 to the leader (which answers with a SNAP).
	NeedsResync bool
}

// Epochs carries new epoch values in a Batch.
type Epochs struct {
	Accepted int64
	Current  int64
}

// Batch is one atomic commit: the net effect of whole txns, ending at
// LastZxid. A path appears at most once across Puts and Deletes, and a
// session id at most once across Sessions and SessionDeletes (the persister
// coalesces). The engine applies Deletes and Puts, then the session
// changes, then LastZxid (and Epochs when non-nil), all or nothing.
type Batch struct {
	Puts           []*Node
	Deletes        []string
	Sessions       []Session
	SessionDeletes []int64
	LastZxid       int64
	Epochs         *Epochs
}

// Empty reports whether b changes nothing but (possibly) the zxid.
func (b *Batch) Empty() bool {
	return len(b.Puts) == 0 && len(b.Deletes) == 0 && len(b.Sessions) == 0 && len(b.SessionDeletes) == 0 && b.Epochs == nil
}

// Visitor receives a streaming load. Nodes arrive in path byte order, so a
// parent always comes before its children; sessions come after all nodes.
// The Node's Path, Data and ACL are the visitor's to keep, but the *Node
// itself may be reused by the engine once Node returns (so a load need not
// allocate one per znode). Returning an error stops
// the load and Load returns it.
type Visitor struct {
	Node    func(n *Node) error
	Session func(s Session) error
}

// Engine persists one observer's state. See the package comment for the
// invariants every implementation keeps.
type Engine interface {
	// Meta returns the stored metadata.
	Meta() (Meta, error)
	// Load streams every node and session to v (see Visitor). It reads
	// only: it is the one sequential pass at start-up.
	Load(v Visitor) error
	// Get returns the node at path, or ErrNotFound. Safe to call
	// concurrently with Commit.
	Get(path string) (*Node, error)
	// Commit applies b atomically. With sync true it returns only once b
	// is durable (fsync); with sync false it may be lost in a crash (never
	// partly). LastZxid must not go backwards (ErrStaleZxid).
	Commit(b *Batch, sync bool) error
	// BeginInstall stages a full replacement of the state (after a SNAP).
	// Nothing changes until Installer.Commit; a crash before that reopens
	// the old state (or an empty store flagged NeedsResync).
	BeginInstall() (Installer, error)
	// Reset wipes every node, session and the zxid, keeping the epochs
	// (they are Zab promises, not data). The store is then empty with
	// LastZxid 0 and NeedsResync false.
	Reset() error
	// Close releases the engine. Nothing is lost that was committed with
	// sync true.
	Close() error
}

// Installer builds the replacement state of BeginInstall.
type Installer interface {
	// Put adds a node; nodes may come in any order. The engine does not
	// keep n (the caller may reuse it) but may keep n.Data and n.ACL,
	// which the caller must not modify.
	Put(n *Node) error
	// PutSession adds a session.
	PutSession(s Session) error
	// Delete removes a node put earlier in this install; a path never put
	// is no error. For each path the last Put or Delete wins (a restore
	// streams a snapshot's nodes in, then corrects what its txn logs
	// changed).
	Delete(path string) error
	// DeleteSession removes a session put earlier in this install, likewise.
	DeleteSession(id int64) error
	// Commit durably switches the engine to the staged state with meta
	// (LastZxid and epochs; NeedsResync is cleared).
	Commit(meta Meta) error
	// Abort drops the staged state; the engine keeps its old state.
	Abort() error
}

// Optional capabilities. An engine implements those it can.

// Stats reports engine statistics, for metrics and benchmarks.
type Stats interface {
	// DiskBytes returns the bytes the store occupies on disk.
	DiskBytes() (int64, error)
}

// Counter reports how many nodes and sessions the store holds without
// loading them (a load presizes its maps with it).
type Counter interface {
	Counts() (nodes, sessions int64, err error)
}

// Compacter can reclaim space.
type Compacter interface {
	Compact() error
}

// Checkpointer can write a consistent copy of the store to dir.
type Checkpointer interface {
	Checkpoint(dir string) error
}
