package learner

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Peer is one voter of the ensemble.
type Peer struct {
	SID          int64
	QuorumAddr   string // host:port the leader listens on for learners
	ElectionAddr string // host:port of leader election ("" when unknown)
}

// Ensemble is what the observer must know of the ensemble: the voters and
// the timing the voters run with (they never appear on the wire).
type Ensemble struct {
	Voters []Peer
	// Observers lists the sids the configuration gives to observers (a
	// zkobserver's sid must not be a voter's; it may be one of these).
	Observers []int64
	TickTime  time.Duration
	InitLimit int // ticks, for the handshake and the sync until NEWLEADER
	SyncLimit int // ticks, for every read after NEWLEADER
}

// Defaults of Java's QuorumPeerConfig / Debian's zoo.cfg.
const (
	DefaultTickTime  = 2000 * time.Millisecond
	DefaultInitLimit = 10
	DefaultSyncLimit = 5
)

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("ensemble configuration")

// ParseEnsembleFlag parses a comma-separated list of voters, each
// "host:quorumPort[:electionPort]". Voters get sids 1, 2, ... in order
// unless written "sid=host:quorumPort[:electionPort]".
func ParseEnsembleFlag(s string) (Ensemble, error) {
	e := Ensemble{TickTime: DefaultTickTime, InitLimit: DefaultInitLimit, SyncLimit: DefaultSyncLimit}
	for i, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		sid := int64(i + 1)
		if k, v, ok := strings.Cut(f, "="); ok {
			n, err := strconv.ParseInt(k, 10, 64)
			if err != nil {
				return e, fmt.Errorf("%w: voter %q: bad sid", ErrConfig, f)
			}
			sid, f = n, v
		}
		p, err := parseHostPorts(sid, f)
		if err != nil {
			return e, err
		}
		e.Voters = append(e.Voters, p)
	}
	if len(e.Voters) == 0 {
		return e, fmt.Errorf("%w: no voters", ErrConfig)
	}
	return e, e.check()
}

// parseHostPorts parses host:quorumPort[:electionPort] (an IPv6 host in
// brackets).
func parseHostPorts(sid int64, s string) (Peer, error) {
	host, rest := s, ""
	if strings.HasPrefix(s, "[") {
		i := strings.Index(s, "]")
		if i < 0 {
			return Peer{}, fmt.Errorf("%w: %q: unclosed [", ErrConfig, s)
		}
		host, rest = s[:i+1], strings.TrimPrefix(s[i+1:], ":")
	} else if i := strings.IndexByte(s, ':'); i >= 0 {
		host, rest = s[:i], s[i+1:]
	}
	ports := strings.Split(rest, ":")
	if host == "" || rest == "" || len(ports) > 2 {
		return Peer{}, fmt.Errorf("%w: %q: want host:quorumPort[:electionPort]", ErrConfig, s)
	}
	h := strings.Trim(host, "[]")
	p := Peer{SID: sid}
	for i, port := range ports {
		if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
			return Peer{}, fmt.Errorf("%w: %q: bad port %q", ErrConfig, s, port)
		}
		if i == 0 {
			p.QuorumAddr = net.JoinHostPort(h, port)
		} else {
			p.ElectionAddr = net.JoinHostPort(h, port)
		}
	}
	return p, nil
}

// ReadZooCfg reads the ensemble from a Java zoo.cfg: server.N lines (voters
// and, with the role "observer", observers; a dynamic config file named by
// dynamicConfigFile is read too), tickTime, initLimit and syncLimit.
func ReadZooCfg(path string) (Ensemble, error) {
	f, err := os.Open(path)
	if err != nil {
		return Ensemble{}, err
	}
	defer f.Close()
	e := Ensemble{TickTime: DefaultTickTime, InitLimit: DefaultInitLimit, SyncLimit: DefaultSyncLimit}
	dyn, err := parseCfg(f, path, &e)
	if err != nil {
		return e, err
	}
	if dyn != "" {
		if !strings.HasPrefix(dyn, "/") {
			dyn = filepathJoinDir(path, dyn)
		}
		df, err := os.Open(dyn)
		if err != nil {
			return e, fmt.Errorf("%w: dynamicConfigFile: %v", ErrConfig, err)
		}
		defer df.Close()
		if _, err := parseCfg(df, dyn, &e); err != nil {
			return e, err
		}
	}
	sort.Slice(e.Voters, func(i, j int) bool { return e.Voters[i].SID < e.Voters[j].SID })
	if len(e.Voters) == 0 {
		return e, fmt.Errorf("%w: %s: no server.N voter lines", ErrConfig, path)
	}
	return e, e.check()
}

func filepathJoinDir(cfg, name string) string {
	if i := strings.LastIndexByte(cfg, '/'); i >= 0 {
		return cfg[:i+1] + name
	}
	return name
}

// parseCfg reads key=value lines into e; it returns dynamicConfigFile.
func parseCfg(r io.Reader, name string, e *Ensemble) (dyn string, err error) {
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" || s[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(s, "=")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		bad := func(what string) error { return fmt.Errorf("%w: %s:%d: %s: %q", ErrConfig, name, line, what, s) }
		switch {
		case k == "tickTime":
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				return "", bad("bad tickTime")
			}
			e.TickTime = time.Duration(n) * time.Millisecond
		case k == "initLimit" || k == "syncLimit":
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				return "", bad("bad " + k)
			}
			if k == "initLimit" {
				e.InitLimit = n
			} else {
				e.SyncLimit = n
			}
		case k == "dynamicConfigFile":
			dyn = v
		case strings.HasPrefix(k, "server."):
			sid, err := strconv.ParseInt(k[len("server."):], 10, 64)
			if err != nil {
				return "", bad("bad server id")
			}
			addr, _, _ := strings.Cut(v, ";") // drop the client address
			// host:qp:ep[:role]; multi-address servers join with '|'
			// (the first address is used) and any of them may carry the
			// role (Java's QuorumServer takes the first one given).
			parts := strings.Split(addr, "|")
			role := ""
			for i, a := range parts {
				if j := strings.LastIndexByte(a, ':'); j >= 0 {
					switch a[j+1:] {
					case "participant", "observer":
						if role == "" {
							role = a[j+1:]
						}
						parts[i] = a[:j]
					}
				}
			}
			if role == "" {
				role = "participant"
			}
			addr = parts[0]
			if role == "observer" {
				e.Observers = append(e.Observers, sid)
				continue
			}
			p, err := parseHostPorts(sid, addr)
			if err != nil {
				return "", bad(err.Error())
			}
			e.Voters = append(e.Voters, p)
		}
	}
	return dyn, sc.Err()
}

// check validates the ensemble.
func (e Ensemble) check() error {
	seen := map[int64]bool{}
	for _, v := range e.Voters {
		if seen[v.SID] {
			return fmt.Errorf("%w: voter sid %d listed twice", ErrConfig, v.SID)
		}
		seen[v.SID] = true
	}
	return nil
}

// CheckSID reports whether sid may be this observer's: 1..254 (session ids
// embed it in their top byte; 255 would collide with TTL owners) and not a
// voter's (the leader counts acks and epochs by sid).
func (e Ensemble) CheckSID(sid int64) error {
	if sid < 1 || sid > 254 {
		return fmt.Errorf("%w: sid %d out of range 1..254", ErrConfig, sid)
	}
	for _, v := range e.Voters {
		if v.SID == sid {
			return fmt.Errorf("%w: sid %d is a voter's (%s); an observer needs a sid of its own", ErrConfig, sid, v.QuorumAddr)
		}
	}
	return nil
}

// Quorum returns the number of voters that make a majority.
func (e Ensemble) Quorum() int { return len(e.Voters)/2 + 1 }
