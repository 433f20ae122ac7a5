package snapshot

// adler is a running Adler-32 (RFC 1950) tuned for many small writes: the
// modulo reductions are deferred until they are needed to avoid overflow,
// instead of being done on every write as hash/adler32 does.
type adler struct {
	s1, s2  uint32
	pending int // bytes added since the last reduction
}

const (
	adlerMod = 65521
	// adlerNMax is the largest n such that 255n(n+1)/2 + (n+1)(mod-1)
	// fits in 32 bits: up to this many bytes may be added unreduced.
	adlerNMax = 5552
)

func newAdler() adler { return adler{s1: 1} }

func (a *adler) update(p []byte) {
	for len(p) > 0 {
		if a.pending == adlerNMax {
			a.s1 %= adlerMod
			a.s2 %= adlerMod
			a.pending = 0
		}
		q := p
		if room := adlerNMax - a.pending; len(q) > room {
			q = q[:room]
		}
		p = p[len(q):]
		a.pending += len(q)
		s1, s2 := a.s1, a.s2
		for len(q) >= 4 {
			s1 += uint32(q[0])
			s2 += s1
			s1 += uint32(q[1])
			s2 += s1
			s1 += uint32(q[2])
			s2 += s1
			s1 += uint32(q[3])
			s2 += s1
			q = q[4:]
		}
		for _, b := range q {
			s1 += uint32(b)
			s2 += s1
		}
		a.s1, a.s2 = s1, s2
	}
}

func (a *adler) sum() uint32 {
	return (a.s2%adlerMod)<<16 | a.s1%adlerMod
}
