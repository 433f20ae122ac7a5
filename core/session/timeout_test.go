package session

import "testing"

func TestNewTimeouts(t *testing.T) {
	for _, c := range []struct {
		name             string
		tick, min, max   int32
		wantMin, wantMax int32
		wantErr          bool
	}{
		{"defaults -1", 2000, -1, -1, 4000, 40000, false},
		{"defaults 0", 2000, 0, 0, 4000, 40000, false},
		{"min set", 2000, 1000, -1, 1000, 40000, false},
		{"max set", 200, -1, 60000, 400, 60000, false},
		{"both set", 200, 300, 300, 300, 300, false},
		{"min above default max", 200, 5000, -1, 0, 0, true},
		{"min above max", 2000, 9000, 8000, 0, 0, true},
		{"no tick", 0, -1, -1, 0, 0, true},
	} {
		got, err := NewTimeouts(c.tick, c.min, c.max)
		if (err != nil) != c.wantErr {
			t.Errorf("%s: err = %v, want error %v", c.name, err, c.wantErr)
			continue
		}
		if err == nil && (got.Min != c.wantMin || got.Max != c.wantMax) {
			t.Errorf("%s: got %+v, want {%d %d}", c.name, got, c.wantMin, c.wantMax)
		}
	}
}

func TestNegotiate(t *testing.T) {
	tt, err := NewTimeouts(2000, -1, -1)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ req, want int32 }{
		{100, 4000}, // the spec's live example
		{10_000_000, 40000},
		{0, 4000},
		{-5, 4000},
		{3999, 4000},
		{4000, 4000},
		{30000, 30000},
		{40000, 40000},
		{40001, 40000},
		{1<<31 - 1, 40000},
	} {
		if got := tt.Negotiate(c.req); got != c.want {
			t.Errorf("Negotiate(%d) = %d, want %d", c.req, got, c.want)
		}
	}
	// Java clamps min first, then max: with min > max (which New refuses)
	// the max wins.
	if got := (Timeouts{Min: 500, Max: 300}).Negotiate(100); got != 300 {
		t.Errorf("min>max: got %d, want 300", got)
	}
}
