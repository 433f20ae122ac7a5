package loadgen

import (
	"fmt"
	"strconv"
	"strings"
)

// Op is a measured operation type.
type Op uint8

// The measured operations.
const (
	OpGet    Op = iota // getData, no watch
	OpExists           // exists, no watch
	OpSet              // setData, version -1, data of the configured size
	numOps
)

var opNames = [numOps]string{"getData", "exists", "setData"}

// String returns ZooKeeper's name of the op.
func (o Op) String() string {
	if o < numOps {
		return opNames[o]
	}
	return "op(" + strconv.Itoa(int(o)) + ")"
}

// Mix is the relative weight of each op: an op is drawn with probability
// weight/sum. A valid Mix has no negative weight and a positive sum.
type Mix [numOps]int

// Preset mixes.
var (
	MixReads  = Mix{OpGet: 90, OpExists: 10}
	MixWrites = Mix{OpSet: 100}
)

// ParseMix parses "get=80,exists=10,set=10" (names get/getData,
// exists, set/setData; weights are relative, missing ops weigh 0) or a
// preset: "reads" (get 90, exists 10) or "writes" (set 100).
func ParseMix(s string) (Mix, error) {
	switch strings.TrimSpace(s) {
	case "reads":
		return MixReads, nil
	case "writes":
		return MixWrites, nil
	}
	var m Mix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		name, val, ok := strings.Cut(f, "=")
		if !ok {
			return Mix{}, fmt.Errorf("mix %q: %q is not op=weight", s, f)
		}
		var op Op
		switch strings.TrimSpace(name) {
		case "get", "getData":
			op = OpGet
		case "exists":
			op = OpExists
		case "set", "setData":
			op = OpSet
		default:
			return Mix{}, fmt.Errorf("mix %q: unknown op %q (get, exists, set)", s, name)
		}
		w, err := strconv.Atoi(strings.TrimSpace(val))
		if err != nil || w < 0 {
			return Mix{}, fmt.Errorf("mix %q: bad weight %q", s, val)
		}
		m[op] += w
	}
	if err := m.Validate(); err != nil {
		return Mix{}, fmt.Errorf("mix %q: %w", s, err)
	}
	return m, nil
}

// Validate reports whether m can be drawn from.
func (m Mix) Validate() error {
	sum := 0
	for _, w := range m {
		if w < 0 {
			return fmt.Errorf("negative weight")
		}
		sum += w
	}
	if sum <= 0 {
		return fmt.Errorf("all weights are 0")
	}
	return nil
}

// String formats m as ParseMix reads it, listing nonzero weights.
func (m Mix) String() string {
	var parts []string
	for op, w := range m {
		if w > 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", [numOps]string{"get", "exists", "set"}[op], w))
		}
	}
	return strings.Join(parts, ",")
}

// cumulative returns the running sums of m's weights, for drawing an op
// with one random number below the last sum.
func (m Mix) cumulative() [numOps]int {
	var c [numOps]int
	sum := 0
	for i, w := range m {
		sum += w
		c[i] = sum
	}
	return c
}
