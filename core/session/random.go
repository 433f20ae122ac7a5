package session

// JavaRandom is java.util.Random: the 48-bit linear congruential generator
// of Knuth (TAOCP 3.2.1) with Java's constants, initial scramble and
// nextBytes layout, so that the same seed yields the same numbers as on a
// JVM. It is not safe for concurrent use (Java's is; nothing here needs it).
type JavaRandom struct {
	seed int64 // 48 significant bits
}

const (
	javaRandomMultiplier = 0x5DEECE66D
	javaRandomAddend     = 0xB
	javaRandomMask       = 1<<48 - 1
)

// NewJavaRandom returns a generator seeded as new java.util.Random(seed).
func NewJavaRandom(seed int64) *JavaRandom {
	r := new(JavaRandom)
	r.SetSeed(seed)
	return r
}

// SetSeed reseeds the generator as Random.setSeed(seed): only the low 48
// bits of seed matter.
func (r *JavaRandom) SetSeed(seed int64) {
	r.seed = (seed ^ javaRandomMultiplier) & javaRandomMask
}

// Next advances the generator and returns its top bits (1..32) as
// Random.next(bits): the result is the int of seed >>> (48 - bits).
func (r *JavaRandom) Next(bits uint) int32 {
	r.seed = (r.seed*javaRandomMultiplier + javaRandomAddend) & javaRandomMask
	return int32(uint64(r.seed) >> (48 - bits))
}

// NextInt is Random.nextInt(): Next(32).
func (r *JavaRandom) NextInt() int32 { return r.Next(32) }

// NextBytes fills b as Random.nextBytes: one NextInt per 4 bytes, each int's
// bytes least significant first; a trailing partial group uses the low
// bytes of one more int and discards the rest.
func (r *JavaRandom) NextBytes(b []byte) {
	for i := 0; i < len(b); {
		rnd := r.NextInt()
		for n := min(len(b)-i, 4); n > 0; n-- {
			b[i] = byte(rnd)
			i++
			rnd >>= 8
		}
	}
}
