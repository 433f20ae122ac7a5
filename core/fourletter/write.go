package fourletter

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"math/big"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Write writes the answer to word (a name Lookup returns) as Java 3.8
// lays it out for an observer, or for a read-only server in state
// ReadOnly. It writes no framing and does not close anything: the caller
// closes the connection afterwards, as Java does after every word.
//
// While s.State() is Stopped, ruok still answers "imok", isro answers
// "null", envi answers as usual and every other word prints NotServing and
// a newline. TelnetClose writes nothing (Java answers it by closing). For
// dump, gtmk, stmk and hash Write writes nothing and returns
// ErrUnsupported. An unknown word is an error. Other errors are w's.
func Write(w io.Writer, word string, s Server) error {
	bw := bufio.NewWriter(w)
	err := write(bw, word, s)
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	return err
}

func write(w *bufio.Writer, word string, s Server) error {
	switch word {
	case Ruok:
		w.WriteString("imok")
		return nil
	case Isro:
		switch s.State() {
		case Observing:
			w.WriteString("rw")
		case ReadOnly:
			w.WriteString("ro")
		default:
			w.WriteString("null")
		}
		return nil
	case Envi:
		writeEnvi(w, s)
		return nil
	case TelnetClose:
		return nil
	case Dump, Gtmk, Stmk, Hash:
		return fmt.Errorf("%w: %s", ErrUnsupported, word)
	case Srvr, Stat, Mntr, Conf, Cons, Wchs, Wchc, Wchp, Dirs, Crst, Srst:
	default:
		return fmt.Errorf("fourletter: unknown word %q", word)
	}
	st := s.State()
	if st != Observing && st != ReadOnly {
		w.WriteString(NotServing + "\n")
		return nil
	}
	switch word {
	case Srvr, Stat:
		writeStat(w, word == Stat, st, s)
	case Mntr:
		writeMntr(w, st, s)
	case Conf:
		writeConf(w, st, s.Config())
	case Cons:
		for _, c := range s.Connections() {
			writeConnection(w, c, false)
			w.WriteString("\n")
		}
		w.WriteString("\n")
	case Wchs:
		return s.Watches().WriteWchs(w)
	case Wchc:
		return s.Watches().WriteWchc(w)
	case Wchp:
		return s.Watches().WriteWchp(w)
	case Dirs:
		c := s.Config()
		fmt.Fprintf(w, "datadir_size: %d\nlogdir_size: %d\n", c.DataDirSize, c.DataLogSize)
	case Crst:
		s.ResetConnectionStats()
		w.WriteString("Connection stats reset.\n")
	case Srst:
		s.ResetStats()
		w.WriteString("Server stats reset.\n")
	}
	return nil
}

// sinceText is SinceLeaderContact for srvr: "12.345 s ago", or "none since
// start".
func sinceText(d time.Duration) string {
	if d < 0 {
		return "none since start"
	}
	return strconv.FormatFloat(d.Seconds(), 'f', 3, 64) + " s ago"
}

// modeName is ServerStats' "Mode:" value (ZooKeeperServer.getState).
func modeName(st State) string {
	if st == ReadOnly {
		return "read-only"
	}
	return "observer"
}

// writeStat is StatCommand: srvr, and stat with its Clients section.
func writeStat(w *bufio.Writer, clients bool, st State, s Server) {
	w.WriteString("Zookeeper version: " + s.Version() + "\n")
	if st == ReadOnly {
		w.WriteString("READ-ONLY mode; serving only read-only clients\n")
		// Not in Java's layout: how stale the answers may be.
		w.WriteString("Last leader contact: " + sinceText(s.Stats().SinceLeaderContact) + "\n")
	}
	if clients {
		w.WriteString("Clients:\n")
		for _, c := range s.Connections() {
			writeConnection(w, c, true)
			w.WriteString("\n")
		}
		w.WriteString("\n")
	}
	t := s.Stats()
	// ServerStats.toString, then the node count.
	fmt.Fprintf(w, "Latency min/avg/max: %d/%s/%d\n", t.Latency.Min, javaDouble(t.Latency.Avg()), t.Latency.Max)
	fmt.Fprintf(w, "Received: %d\nSent: %d\nConnections: %d\nOutstanding: %d\n",
		t.PacketsReceived, t.PacketsSent, t.Connections, t.Outstanding)
	fmt.Fprintf(w, "Zxid: 0x%s\nMode: %s\nNode count: %d\n", javaHex(t.LastZxid), modeName(st), t.NodeCount)
}

// writeConnection is ServerCnxn.dumpConnectionInfo, without the newline.
func writeConnection(w *bufio.Writer, c Connection, brief bool) {
	fmt.Fprintf(w, " %s[%s](queued=%d,recved=%d,sent=%d", c.Remote, strconv.FormatInt(int64(c.InterestOps), 16), c.Queued, c.Received, c.Sent)
	if !brief && c.SessionID != 0 {
		fmt.Fprintf(w, ",sid=0x%s,lop=%s,est=%d,to=%d", javaHex(c.SessionID), c.LastOp, c.Established.UnixMilli(), c.Timeout)
		if c.LastCxid >= 0 {
			fmt.Fprintf(w, ",lcxid=0x%s", javaHex(c.LastCxid))
		}
		avg := int64(0)
		if c.Latency.Count > 0 {
			avg = c.Latency.Sum / c.Latency.Count
		}
		fmt.Fprintf(w, ",lzxid=0x%s,lresp=%d,llat=%d,minlat=%d,avglat=%d,maxlat=%d",
			javaHex(c.LastZxid), c.LastResponse, c.LastLatency, c.Latency.Min, avg, c.Latency.Max)
	}
	w.WriteString(")")
}

// writeConf is dumpConf of ZooKeeperServer plus, for a quorum member, of
// QuorumZooKeeperServer (ReadOnlyZooKeeperServer's omits the membership).
func writeConf(w *bufio.Writer, st State, c Config) {
	fmt.Fprintf(w, "clientPort=%d\nsecureClientPort=%d\n", c.ClientPort, c.SecureClientPort)
	fmt.Fprintf(w, "dataDir=%s\ndataDirSize=%d\ndataLogDir=%s\ndataLogSize=%d\n", c.DataDir, c.DataDirSize, c.DataLogDir, c.DataLogSize)
	fmt.Fprintf(w, "tickTime=%d\nmaxClientCnxns=%d\nminSessionTimeout=%d\nmaxSessionTimeout=%d\n",
		c.TickTime, c.MaxClientCnxns, c.MinSessionTimeout, c.MaxSessionTimeout)
	fmt.Fprintf(w, "clientPortListenBacklog=%d\nserverId=%d\n", c.ClientPortListenBacklog, c.ServerID)
	fmt.Fprintf(w, "initLimit=%d\nsyncLimit=%d\nelectionAlg=%d\n", c.InitLimit, c.SyncLimit, c.ElectionAlg)
	fmt.Fprintf(w, "electionPort=%s\nquorumPort=%s\npeerType=%d\n", joinPorts(c.ElectionPorts), joinPorts(c.QuorumPorts), c.PeerType)
	if st != ReadOnly {
		w.WriteString("membership: \n" + c.Membership)
	}
}

func joinPorts(ports []int) string {
	s := make([]string, len(ports))
	for i, p := range ports {
		s[i] = strconv.Itoa(p)
	}
	return strings.Join(s, "|")
}

// javaHex is Long.toHexString: lower case, no padding, two's complement.
func javaHex(v int64) string { return strconv.FormatUint(uint64(v), 16) }

// Avg is AvgMinMaxCounter.getAvg: Sum/Count rounded half up to four
// decimals, 0 with no data. The rounding is done on the exact quotient;
// Java rounds the nearest double to it, which can differ only when that
// double falls on the other side of a rounding tie.
func (s Summary) Avg() float64 {
	if s.Count <= 0 {
		return 0
	}
	// round(Sum*10000/Count) half up, for non-negative Sum.
	n := new(big.Int).Mul(big.NewInt(s.Sum), big.NewInt(20000))
	n.Add(n, big.NewInt(s.Count))
	n.Quo(n, big.NewInt(2*s.Count))
	f, _ := new(big.Rat).SetFrac(n, big.NewInt(10000)).Float64()
	return f
}

// javaDouble formats v as Java's Double.toString does: the shortest
// decimal that reads back as v, with at least one digit after the point
// ("0.0", "1.6667"), and in computerized scientific notation ("1.0E7",
// "1.234E-5") when |v| is at least 10^7 or below 10^-3.
func javaDouble(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "Infinity"
	case math.IsInf(v, -1):
		return "-Infinity"
	}
	a := math.Abs(v)
	if a == 0 || (a >= 1e-3 && a < 1e7) {
		s := strconv.FormatFloat(v, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	s := strconv.FormatFloat(v, 'e', -1, 64) // d.ddde±XX
	mant, exp, _ := strings.Cut(s, "e")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	e, _ := strconv.Atoi(exp)
	return mant + "E" + strconv.Itoa(e)
}

// JavaAddr formats a socket address as Java's InetSocketAddress.toString
// for an address without a host name: "/127.0.0.1:43374", and for IPv6
// (JDK 14 and later) "/[0:0:0:0:0:0:0:1]:43374" with every group in
// lower-case hex without leading zeros (Inet6Address.getHostAddress) and
// "%zone" if any. IPv4-mapped IPv6 addresses print as IPv4, as Java turns
// them into Inet4Address.
func JavaAddr(ap netip.AddrPort) string {
	a := ap.Addr().Unmap()
	port := strconv.Itoa(int(ap.Port()))
	if a.Is4() {
		return "/" + a.String() + ":" + port
	}
	b := a.As16()
	var sb strings.Builder
	sb.WriteString("/[")
	for i := 0; i < 16; i += 2 {
		if i > 0 {
			sb.WriteByte(':')
		}
		sb.WriteString(strconv.FormatUint(uint64(b[i])<<8|uint64(b[i+1]), 16))
	}
	if z := a.Zone(); z != "" {
		sb.WriteString("%" + z)
	}
	sb.WriteString("]:" + port)
	return sb.String()
}
