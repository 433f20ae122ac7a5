// Package fourletter answers ZooKeeper's four-letter words (ruok, srvr,
// mntr, ...) on the observer's client port, with the texts a Java 3.8
// server prints, laid out byte for byte as Java lays them out.
//
// Detection (NIOServerCnxn.readLength/checkFourLetterWord): on a
// connection that has not completed a handshake, the first four bytes are
// read as the big-endian frame length. If they spell a known word (Lookup)
// the connection is a four-letter-word connection: the server answers with
// plain text (no framing) and closes it. Any other value is an ordinary
// frame length. A known word that the whitelist does not allow is answered
// with WriteRefusal instead of Write, and the connection closed all the
// same.
//
// The answers are built from a Server, which the client-protocol server
// implements; this package keeps no state of its own.
package fourletter

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// The words, as Java's FourLetterCommands names them. TelnetClose is not
// four letters: it is the name of the prefix 0xfff4fffd (a telnet client's
// IAC IP sequence), and that name is what the whitelist and the refusal
// text use.
const (
	Conf        = "conf"
	Cons        = "cons"
	Crst        = "crst"
	Dirs        = "dirs"
	Dump        = "dump"
	Envi        = "envi"
	Gtmk        = "gtmk"
	Ruok        = "ruok"
	Stmk        = "stmk"
	Srvr        = "srvr"
	Srst        = "srst"
	Stat        = "stat"
	Wchc        = "wchc"
	Wchp        = "wchp"
	Wchs        = "wchs"
	Mntr        = "mntr"
	Isro        = "isro"
	Hash        = "hash"
	TelnetClose = "telnet close"
)

// telnetClosePrefix is FourLetterCommands.telnetCloseCmd.
const telnetClosePrefix = 0xfff4fffd

// words maps the first four bytes of a connection, as a big-endian uint32,
// to the word they name (FourLetterCommands.cmd2String, 3.8.0).
var words = func() map[uint32]string {
	m := map[uint32]string{telnetClosePrefix: TelnetClose}
	for _, w := range []string{Conf, Cons, Crst, Dirs, Dump, Envi, Gtmk, Ruok, Stmk, Srvr, Srst, Stat, Wchc, Wchp, Wchs, Mntr, Isro, Hash} {
		m[binary.BigEndian.Uint32([]byte(w))] = w
	}
	return m
}()

// Lookup reports whether the first four bytes of a connection that has
// not completed its handshake name a four-letter word, and which. ok is
// false for every other value: those four bytes are then the length of the
// first frame. Lookup knows the 19 words of Java 3.8.0, whitelisted or
// not, including TelnetClose for 0xfff4fffd.
func Lookup(first4 [4]byte) (word string, ok bool) {
	word, ok = words[binary.BigEndian.Uint32(first4[:])]
	return word, ok
}

// Whitelist is the set of words a server executes
// (`4lw.commands.whitelist` in zoo.cfg, `zookeeper.4lw.commands.whitelist`
// as a Java system property). The zero value allows only srvr, as Java's
// default does.
type Whitelist struct {
	allowed map[string]bool
}

// ParseWhitelist parses a whitelist as FourLetterCommands.isEnabled does:
// a comma-separated list, each entry trimmed of spaces, empty entries
// ignored; an entry "*" allows every known word (TelnetClose included)
// and ends the parse. srvr is always allowed (zkServer.sh relies on it),
// and isro too when readOnlyMode is true (Java adds it when
// readonlymode.enabled is true, because read-only clients probe with it).
// Names that are not words are kept but never match anything Lookup
// returns.
func ParseWhitelist(list string, readOnlyMode bool) Whitelist {
	wl := Whitelist{allowed: map[string]bool{}}
	for _, e := range strings.Split(list, ",") {
		e = strings.TrimSpace(e)
		if e == "*" {
			for _, w := range words {
				wl.allowed[w] = true
			}
			break
		}
		if e != "" {
			wl.allowed[e] = true
		}
	}
	if readOnlyMode {
		wl.allowed[Isro] = true
	}
	wl.allowed[Srvr] = true
	return wl
}

// Allowed reports whether word may be executed. srvr always may.
func (wl Whitelist) Allowed(word string) bool {
	return word == Srvr || wl.allowed[word]
}

// WriteRefusal writes Java's answer to a known word the whitelist does not
// allow: "<word> is not executed because it is not in the whitelist.\n".
func WriteRefusal(w io.Writer, word string) error {
	_, err := io.WriteString(w, word+" is not executed because it is not in the whitelist.\n")
	return err
}

// NotServing is what most words print, followed by a newline, while the
// server is not serving clients (AbstractFourLetterCommand.ZK_NOT_SERVING).
const NotServing = "This ZooKeeper instance is not currently serving requests"

// ErrUnsupported is returned by Write, having written nothing, for the
// known words this server does not answer: dump, gtmk, stmk and hash. The
// caller closes the connection as for any other word, so the client reads
// an empty answer. (stmk is followed by an 8-byte trace mask that Java
// reads; nothing needs it once the connection is closed.)
var ErrUnsupported = errors.New("fourletter: word not supported")

// State is what a server is doing for clients, as the words report it.
type State int

const (
	// Stopped: not serving clients (discovering or syncing without
	// read-only service, or shutting down). Java's isZKServerRunning() is
	// false: most words print NotServing and isro prints "null".
	Stopped State = iota
	// Observing: synced with the leader and serving; "Mode: observer",
	// isro "rw".
	Observing
	// ReadOnly: serving read-only clients without a leader; "Mode:
	// read-only", isro "ro", laid out as Java's ReadOnlyZooKeeperServer.
	ReadOnly
)

// Server is what the words read. Every method must be safe to call from
// the goroutine answering a word while the server runs; each returns a
// snapshot and may be called once per answer.
type Server interface {
	// Version is the full version string, printed after "Zookeeper
	// version: " and as mntr's zk_version and envi's zookeeper.version.
	// Tools parse its leading "major.minor.patch" as the ZooKeeper version
	// (kazoo's server_version reads envi), so it should be built with
	// FullVersion.
	Version() string
	// State is whether and how the server serves clients.
	State() State
	// Stats are the server-wide numbers.
	Stats() Stats
	// Connections are the open client connections in the order stat and
	// cons list them. Java lists the connection asking, too.
	Connections() []Connection
	// Config is what conf and dirs print.
	Config() Config
	// Watches answers wchs, wchc, wchp and mntr's zk_watch_count;
	// *watch.Manager implements it.
	Watches() Watches
	// ResetStats resets the server-wide latency, packet and response-size
	// numbers (srst, ServerStats.reset).
	ResetStats()
	// ResetConnectionStats resets every connection's numbers (crst,
	// ServerCnxn.resetStats: recved, sent and the latencies to zero, lop
	// "NA", lcxid and lzxid -1, lresp 0).
	ResetConnectionStats()
}

// Watches is the part of the watch manager the words use.
type Watches interface {
	// WatchCount is DataTree.getWatchCount (both tables).
	WatchCount() int
	// WriteWchs, WriteWchc and WriteWchp write the whole answer of their
	// word, final newline included.
	WriteWchs(io.Writer) error
	WriteWchc(io.Writer) error
	WriteWchp(io.Writer) error
}

// Stats are the server-wide numbers srvr, stat and mntr print. Times are
// in milliseconds.
type Stats struct {
	// LastZxid is the zxid of the last txn applied (Zxid line).
	LastZxid int64
	// NodeCount is the number of znodes.
	NodeCount int
	// PacketsReceived and PacketsSent count client packets since start
	// (or srst). Java counts a four-letter word as one packet received
	// before it answers, and its answer as one packet sent after.
	PacketsReceived, PacketsSent int64
	// Latency is the request latency: from reading a request to sending
	// its reply.
	Latency Summary
	// Outstanding is the number of requests read and not yet answered.
	Outstanding int64
	// Connections is the number of open client connections.
	Connections int
	// Ephemerals is the number of ephemeral znodes.
	Ephemerals int
	// ApproximateDataSize is DataTree.approximateDataSize: the sum over
	// znodes of path length plus data length, in bytes.
	ApproximateDataSize int64
	// GlobalSessions are the sessions of the ensemble the observer knows
	// of (committed createSession txns); LocalSessions are its own local
	// sessions.
	GlobalSessions, LocalSessions int
	// Uptime is how long the server has been serving (ServerStats' start
	// time is when the server object was made).
	Uptime time.Duration
	// ResponseSize are the sizes in bytes of the replies sent to clients
	// (BufferStats); -1 each before the first.
	ResponseSize BufferStats
	// QuorumSize is the number of voting members in the configuration.
	QuorumSize int
	// Leader is the server id of the leader followed while Observing
	// (zk_observer_master_id), -1 if none.
	Leader int64
	// DigestMismatches counts txns after which the tree digest differed
	// from the leader's (zk_digest_mismatches_count).
	DigestMismatches int64
	// SinceLeaderContact is how long ago the session with a leader ended:
	// 0 while in sync with one, negative if there was none since start.
	// In read-only mode it is how stale the answers may be (srvr's "Last
	// leader contact", mntr's zk_seconds_since_leader_contact).
	SinceLeaderContact time.Duration
	// ObserverSync is the time from connecting to the leader to being in
	// sync, per sync (zk_*_observer_sync_time).
	ObserverSync Summary
}

// Summary is Java's AvgMinMaxCounter: a count, a sum, a minimum and a
// maximum of non-negative values. The zero value is "no data" (min and
// max then print as 0, as Java's do).
type Summary struct {
	Count, Sum, Min, Max int64
}

// Add records one value.
func (s *Summary) Add(v int64) {
	if s.Count == 0 || v < s.Min {
		s.Min = v
	}
	if s.Count == 0 || v > s.Max {
		s.Max = v
	}
	s.Count++
	s.Sum += v
}

// BufferStats is Java's BufferStats: the last, smallest and largest size
// seen, each -1 before the first.
type BufferStats struct {
	Last, Min, Max int
}

// NoBuffers is BufferStats before the first size.
var NoBuffers = BufferStats{Last: -1, Min: -1, Max: -1}

// Connection is one client connection as stat and cons print it
// (ServerCnxn.dumpConnectionInfo).
type Connection struct {
	// Remote is the client's address, printed as Java prints an
	// InetSocketAddress: "/127.0.0.1:43374", "/[0:0:0:0:0:0:0:1]:43374".
	Remote string
	// InterestOps are Java's selection-key interest bits, printed in hex:
	// OpRead (waiting for a request), OpWrite (a reply being written),
	// both, or 0 (the connection is not polled, as for a four-letter-word
	// connection).
	InterestOps int
	// Queued is the number of the connection's requests not yet answered.
	Queued int64
	// Received and Sent count the connection's packets.
	Received, Sent int64
	// SessionID is the connection's session, 0 before the handshake; cons
	// prints the fields below only when it is not 0.
	SessionID int64
	// LastOp is the four-letter tag of the last operation answered
	// (Request.op2String: "GETD", "SESS", "PING", ...), "NA" before one.
	LastOp string
	// Established is when the connection was accepted.
	Established time.Time
	// Timeout is the negotiated session timeout in ms.
	Timeout int32
	// LastCxid is the cxid of the last request answered, -1 before one
	// (then not printed).
	LastCxid int64
	// LastZxid is the zxid of the last reply, -1 before one.
	LastZxid int64
	// LastResponse is when the last reply was sent, in ms of the server's
	// monotonic clock (Java prints Time.currentElapsedTime()), 0 before
	// one.
	LastResponse int64
	// LastLatency is the last request's latency in ms; Latency summarises
	// them all.
	LastLatency int64
	Latency     Summary
}

// Java's SelectionKey interest bits.
const (
	OpRead  = 1
	OpWrite = 4
)

// Config is what conf (ZooKeeperServer.dumpConf and
// QuorumZooKeeperServer.dumpConf) and dirs print.
type Config struct {
	ClientPort int
	// SecureClientPort is -1: zkobserver has no TLS port.
	SecureClientPort int
	// DataDir and DataLogDir are the absolute paths where the server keeps
	// its state (for zkobserver, the storage engine's directory for both);
	// DataDirSize and DataLogSize their size in bytes.
	DataDir     string
	DataDirSize int64
	DataLogDir  string
	DataLogSize int64
	// TickTime is in ms.
	TickTime int
	// MaxClientCnxns is the limit of connections per client address (0 =
	// none).
	MaxClientCnxns int
	// MinSessionTimeout and MaxSessionTimeout bound negotiated timeouts, in
	// ms.
	MinSessionTimeout, MaxSessionTimeout int
	// ClientPortListenBacklog is the listen backlog asked for, -1 for the
	// system's default.
	ClientPortListenBacklog int
	ServerID                int64
	InitLimit, SyncLimit    int
	// ElectionAlg is 3 (fast leader election), the only algorithm.
	ElectionAlg int
	// ElectionPorts and QuorumPorts are this server's ports in the
	// configuration (its server.N line), printed joined by "|"; empty when
	// it has no line.
	ElectionPorts, QuorumPorts []int
	// PeerType is LearnerType.ordinal(): 1 for an observer.
	PeerType int
	// Membership is the configuration as QuorumVerifier.toString() prints
	// it, the bytes /zookeeper/config holds: "server.N=..." lines and a
	// final "version=<hex>" without a newline. Printed verbatim after
	// "membership: " except in read-only mode, where Java's
	// ReadOnlyZooKeeperServer prints no membership.
	Membership string
}

// JavaVersion is the ZooKeeper version whose protocol and texts this
// package follows.
const JavaVersion = "3.8.0"

// FullVersion builds Version.getFullVersion's shape for zkobserver:
// "3.8.0-zkobserver-<build>, built on <yyyy-MM-dd HH:mm> UTC". Tools read
// the leading ZooKeeper version; the rest says what runs. A zero built
// time prints as "unknown".
func FullVersion(build string, built time.Time) string {
	on := "unknown"
	if !built.IsZero() {
		on = built.UTC().Format("2006-01-02 15:04") + " UTC"
	}
	return fmt.Sprintf("%s-zkobserver-%s, built on %s", JavaVersion, build, on)
}
