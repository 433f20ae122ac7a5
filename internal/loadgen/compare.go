package loadgen

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Plan is a whole benchmark: the znodes to create, one or two targets, and
// the load.
type Plan struct {
	// Load is the load of each round; its Addr, Paths, Duration, Ops,
	// Warmup and Progress are set per round.
	Load Config
	// Targets are the servers measured: one, or two to compare (the ratio
	// is Targets[0] / Targets[1]).
	Targets []string
	// SetupAddr is where the znodes are created and removed (default
	// Targets[0]). A target that does not see them after a sync (another
	// ensemble) gets its own copy, created and removed through itself.
	SetupAddr string
	Prefix    string
	Znodes    int
	// Duration or Ops (when positive) is each target's total, split evenly
	// over Rounds.
	Duration time.Duration
	Ops      int64
	// Warmup runs before each target's first round, unmeasured.
	Warmup time.Duration
	// Rounds is how many slices each target's measurement is cut into;
	// slices of the targets alternate (default 1).
	Rounds int
	// Progress, if set, receives the stage and its progress.
	Progress func(stage string, done, total int)
}

// Ratio compares the first target with the second for one op type (or
// "all"): throughput and latency quantiles of the first divided by the
// second's.
type Ratio struct {
	Op         string  `json:"op"`
	Throughput float64 `json:"throughput"`
	P50        float64 `json:"p50"`
	P99        float64 `json:"p99"`
	P999       float64 `json:"p999"`
}

// Report is the outcome of a Plan.
type Report struct {
	// Order says how the targets' rounds were scheduled.
	Order    string    `json:"order"`
	Znodes   int       `json:"znodes"`
	DataSize int       `json:"data_size"`
	Duration string    `json:"duration,omitempty"`
	Ops      int64     `json:"ops,omitempty"`
	Warmup   string    `json:"warmup"`
	Targets  []*Result `json:"targets"`
	// Ratios is the first target over the second, per op and for all
	// (absent with one target).
	Ratios []Ratio `json:"ratios,omitempty"`
}

// Errors returns the failed ops of every target.
func (r *Report) Errors() int64 {
	var n int64
	for _, t := range r.Targets {
		n += t.Errors
	}
	return n
}

// Execute creates the znodes, measures the targets and removes the znodes
// (also when the measurement fails or ctx is cancelled; what removal
// fails is joined to the returned error).
//
// With two targets the rounds alternate in ABBA order (A B, B A, A B, ...):
// the servers share the machine with the load generator, so running them
// at the same time would make each one's load depend on the other's, and
// running them one after the other would put any drift of the machine
// (other work, JIT, caches, the tree's growth in the servers' logs) on one
// side; alternating short rounds spreads it over both, and the ABBA order
// cancels a linear drift.
func Execute(ctx context.Context, p Plan) (rep *Report, err error) {
	if len(p.Targets) < 1 || len(p.Targets) > 2 {
		return nil, errors.New("loadgen: one or two targets")
	}
	if p.Znodes < 1 {
		return nil, errors.New("loadgen: no znodes")
	}
	if p.Rounds < 1 {
		p.Rounds = 1
	}
	if p.SetupAddr == "" {
		p.SetupAddr = p.Targets[0]
	}
	progress := func(stage string) func(done, total int) {
		if p.Progress == nil {
			return nil
		}
		return func(done, total int) { p.Progress(stage, done, total) }
	}
	var setups []*Setup
	defer func() {
		// Remove even when ctx is cancelled, for at most a minute.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		for _, s := range setups {
			if rerr := s.Remove(rctx, progress("removing the znodes through "+s.Addr)); rerr != nil {
				err = errors.Join(err, rerr)
			}
		}
	}()
	s, err := CreateZnodes(ctx, p.SetupAddr, p.Prefix, p.Znodes, p.Load.DataSize, progress(fmt.Sprintf("creating %d znodes through %s", p.Znodes, p.SetupAddr)))
	if err != nil {
		return nil, err
	}
	setups = append(setups, s)
	for _, t := range p.Targets {
		n, err := Visible(ctx, t, p.Prefix)
		if err != nil {
			return nil, err
		}
		switch n {
		case p.Znodes:
		case -1:
			s, err := CreateZnodes(ctx, t, p.Prefix, p.Znodes, p.Load.DataSize, progress(fmt.Sprintf("creating %d znodes through %s", p.Znodes, t)))
			if err != nil {
				return nil, err
			}
			setups = append(setups, s)
		default:
			return nil, fmt.Errorf("%s sees %d znodes under %s after a sync, want %d", t, n, p.Prefix, p.Znodes)
		}
	}

	rep = &Report{Znodes: p.Znodes, DataSize: p.Load.DataSize, Ops: p.Ops, Warmup: p.Warmup.String()}
	if p.Ops <= 0 {
		rep.Duration = p.Duration.String()
	}
	rep.Order = "one target"
	if len(p.Targets) == 2 {
		rep.Order = fmt.Sprintf("alternating rounds, ABBA order (A B, B A, ...), %d rounds per target, fresh connections each round", p.Rounds)
	}
	rep.Targets = make([]*Result, len(p.Targets))
	names := []string{"A", "B"}
	for round := range p.Rounds {
		order := []int{0, 1}[:len(p.Targets)]
		if round%2 == 1 && len(order) == 2 {
			order = []int{1, 0}
		}
		for _, ti := range order {
			cfg := p.Load
			cfg.Addr = p.Targets[ti]
			cfg.Paths = s.Paths
			cfg.Seed = p.Load.Seed + uint64(round*len(p.Targets)+ti)
			cfg.Duration = p.Duration / time.Duration(p.Rounds)
			if p.Ops > 0 {
				cfg.Ops = p.Ops / int64(p.Rounds)
				if round == p.Rounds-1 {
					cfg.Ops = p.Ops - cfg.Ops*int64(p.Rounds-1)
				}
			}
			cfg.Warmup = 0
			if round == 0 {
				cfg.Warmup = p.Warmup
			}
			cfg.Progress = progress(fmt.Sprintf("%s %s round %d/%d", names[ti], cfg.Addr, round+1, p.Rounds))
			res, err := Run(ctx, cfg)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", cfg.Addr, err)
			}
			if rep.Targets[ti] == nil {
				rep.Targets[ti] = res
			} else {
				rep.Targets[ti].Merge(res)
			}
		}
	}
	if len(rep.Targets) == 2 {
		rep.Ratios = ratios(rep.Targets[0], rep.Targets[1])
	}
	return rep, nil
}

// ratios divides a's figures by b's, for all and for each op both have.
func ratios(a, b *Result) []Ratio {
	div := func(x, y float64) float64 {
		if y == 0 {
			return 0
		}
		return x / y
	}
	one := func(x, y OpStats) Ratio {
		return Ratio{Op: x.Op, Throughput: div(x.OpsPerSec, y.OpsPerSec), P50: div(x.P50Us, y.P50Us),
			P99: div(x.P99Us, y.P99Us), P999: div(x.P999Us, y.P999Us)}
	}
	out := []Ratio{one(a.All, b.All)}
	for _, x := range a.PerOp {
		for _, y := range b.PerOp {
			if x.Op == y.Op {
				out = append(out, one(x, y))
			}
		}
	}
	return out
}
