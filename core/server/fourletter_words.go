package server

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"time"

	"github.com/zkobserver/zkobserver/core/fourletter"
	"github.com/zkobserver/zkobserver/core/observer"
	"github.com/zkobserver/zkobserver/core/tree"
)

// Status is what the four-letter words read from the observer;
// *observer.Observer implements it.
type Status interface {
	Metrics() *observer.Metrics
}

// WordsConfig configures the four-letter words (EnableFourLetter).
type WordsConfig struct {
	// Whitelist is 4lw.commands.whitelist (fourletter.ParseWhitelist); the
	// zero value allows only srvr, as Java 3.8.
	Whitelist fourletter.Whitelist
	// Status is the observer: state, leader, sync times, digest mismatches.
	Status Status
	// Version is the full version (fourletter.FullVersion).
	Version string
	// QuorumSize is the number of voters in the configuration.
	QuorumSize int
	// Config returns what conf and dirs print, called once per answer.
	// An empty Membership is filled from /zookeeper/config in the tree.
	Config func() fourletter.Config
}

// EnableFourLetter makes the server answer four-letter words with
// core/fourletter over this server's numbers and the observer's, as a
// Java 3.8 observer does: "observer" mode while the observer follows a
// leader (observer.Observing), "read-only" in read-only mode (as Java's
// ReadOnlyZooKeeperServer), NotServing otherwise. It must be called
// after Bind and before Serve, and replaces Config.FourLetter.
func (s *Server) EnableFourLetter(cfg WordsConfig) {
	s.cfg.FourLetter = &words{s: s, cfg: cfg}
}

// words implements FourLetter and fourletter.Server.
type words struct {
	s   *Server
	cfg WordsConfig
}

var (
	_ FourLetter        = (*words)(nil)
	_ fourletter.Server = (*words)(nil)
)

// IsWord implements FourLetter with fourletter.Lookup.
func (w *words) IsWord(word uint32) bool {
	_, ok := fourletter.Lookup(wordBytes(word))
	return ok
}

func wordBytes(word uint32) [4]byte {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], word)
	return b
}

// Serve implements FourLetter: the word counts as one packet received, its
// answer (or the whitelist refusal) as one packet sent, as in Java.
func (w *words) Serve(word uint32, nc net.Conn, _ *bufio.Reader) {
	name, ok := fourletter.Lookup(wordBytes(word))
	if !ok {
		return
	}
	c := w.s.connFor(nc)
	if c != nil {
		c.stats.mu.Lock()
		c.stats.word = true
		c.stats.mu.Unlock()
		c.countReceived()
	}
	nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	cw := &countWriter{w: nc}
	bw := bufio.NewWriter(cw)
	var err error
	if !w.cfg.Whitelist.Allowed(name) {
		w.s.log.Info().Str("word", name).Str("peer", nc.RemoteAddr().String()).Msg("four-letter word not in the whitelist")
		err = fourletter.WriteRefusal(bw, name)
	} else {
		err = fourletter.Write(bw, name, w)
	}
	if err == nil {
		err = bw.Flush()
	}
	if c != nil {
		c.s.stats.packetSent(int(cw.n))
		c.stats.mu.Lock()
		c.stats.sent++
		c.stats.mu.Unlock()
	}
	if err != nil && err != fourletter.ErrUnsupported && err != io.EOF {
		w.s.log.Debug().Err(err).Str("word", name).Msg("four-letter word answer failed")
	}
}

// connFor returns the registered connection whose socket is nc.
func (s *Server) connFor(nc net.Conn) *conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		if c.nc == nc {
			return c
		}
	}
	return nil
}

// Version implements fourletter.Server.
func (w *words) Version() string { return w.cfg.Version }

// State implements fourletter.Server.
func (w *words) State() fourletter.State {
	switch w.s.Mode() {
	case ModeServing:
		if w.cfg.Status == nil || w.cfg.Status.Metrics().Snapshot().State == observer.Observing {
			return fourletter.Observing
		}
	case ModeReadOnly:
		return fourletter.ReadOnly
	}
	return fourletter.Stopped
}

// Stats implements fourletter.Server.
func (w *words) Stats() fourletter.Stats {
	s := w.s
	st := fourletter.Stats{Leader: -1, QuorumSize: w.cfg.QuorumSize, SinceLeaderContact: s.SinceLeaderContact()}
	if w.cfg.Status != nil {
		m := w.cfg.Status.Metrics().Snapshot()
		if m.State == observer.Observing {
			st.Leader = m.Leader
		}
		st.DigestMismatches = m.DigestMismatches
		st.ObserverSync = fourletter.Summary{Count: m.SyncCount, Sum: int64(m.SyncTimeSumMs + 0.5),
			Min: int64(m.SyncTimeMinMs + 0.5), Max: int64(m.SyncTimeMaxMs + 0.5)}
	}
	// Java's DataTree.nodes holds the root twice, under "" and "/", and
	// getNodeCount and approximateDataSize count both entries.
	s.tree.View(func(v tree.View) {
		st.LastZxid, st.NodeCount = v.LastZxid(), v.NodeCount()+1
		// Kept by the tree as it changes: walking it here would hold
		// the read lock (and stall the apply loop) for a second per
		// million znodes on every scrape.
		st.ApproximateDataSize = int64(len("/")) + v.ApproximateDataSize()
		st.Ephemerals = v.EphemeralCount()
	})
	counts := s.sessions.Counts()
	st.GlobalSessions, st.LocalSessions = counts.Global, counts.Local
	s.stats.mu.Lock()
	st.PacketsReceived, st.PacketsSent = s.stats.received, s.stats.sent
	st.Latency, st.ResponseSize = s.stats.latency, s.stats.respSize
	st.Uptime = time.Since(s.stats.start)
	s.stats.mu.Unlock()
	for _, c := range w.Connections() {
		st.Connections++
		st.Outstanding += c.Queued
	}
	return st
}

// Connections implements fourletter.Server: every open connection, the
// asking one included.
func (w *words) Connections() []fourletter.Connection {
	all := w.s.connList()
	out := make([]fourletter.Connection, 0, len(all))
	for _, c := range all {
		out = append(out, c.describe())
	}
	return out
}

// describe is the connection as cons prints it.
func (c *conn) describe() fourletter.Connection {
	d := fourletter.Connection{Remote: javaRemote(c.nc.RemoteAddr()), InterestOps: fourletter.OpRead}
	c.mu.Lock()
	for _, p := range c.pend {
		if !p.done {
			d.Queued++
		}
	}
	c.mu.Unlock()
	if id := c.sessionID(); id != 0 {
		d.SessionID = id
		if sess, ok := c.s.sessions.Get(id); ok {
			d.Timeout = sess.Timeout
		}
	}
	c.stats.mu.Lock()
	st := &c.stats
	if st.word {
		d.InterestOps = 0
	}
	d.Received, d.Sent = st.received, st.sent
	d.LastOp, d.Established, d.LastCxid, d.LastZxid = st.lastOp, st.established, st.lastCxid, st.lastZxid
	d.LastResponse, d.LastLatency, d.Latency = st.lastResp, st.lastLatency, st.latency
	c.stats.mu.Unlock()
	return d
}

func javaRemote(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return fourletter.JavaAddr(ta.AddrPort())
	}
	if ap, err := netip.ParseAddrPort(a.String()); err == nil {
		return fourletter.JavaAddr(ap)
	}
	return "/" + a.String()
}

// Config implements fourletter.Server.
func (w *words) Config() fourletter.Config {
	var c fourletter.Config
	if w.cfg.Config != nil {
		c = w.cfg.Config()
	}
	if c.Membership == "" {
		w.s.tree.View(func(v tree.View) {
			if n, ok := v.Node("/zookeeper/config"); ok {
				c.Membership = string(n.Data)
			}
		})
	}
	return c
}

// Watches implements fourletter.Server.
func (w *words) Watches() fourletter.Watches { return w.s.watches }

// ResetStats implements fourletter.Server (srst).
func (w *words) ResetStats() { w.s.stats.reset() }

// ResetConnectionStats implements fourletter.Server (crst).
func (w *words) ResetConnectionStats() {
	s := w.s
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.stats.mu.Lock()
		c.stats.resetLocked()
		c.stats.mu.Unlock()
	}
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
