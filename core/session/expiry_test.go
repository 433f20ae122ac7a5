package session

import (
	"slices"
	"testing"
)

func TestExpiryQueueBuckets(t *testing.T) {
	// tickTime 2000: expiry = (floor((now+timeout)/2000)+1)*2000.
	for _, c := range []struct {
		now     int64
		timeout int32
		want    int64
	}{
		{0, 4000, 6000},
		{1, 4000, 6000},
		{1999, 4000, 6000},
		{2000, 4000, 8000}, // exactly on a boundary: the next one
		{3999, 0, 4000},
		{10_001, 30000, 42000},
	} {
		q := NewExpiryQueue[int64](2000, 0)
		if got, changed := q.Update(1, c.now, c.timeout); got != c.want || !changed {
			t.Errorf("Update at %d for %d = %d changed=%v, want %d", c.now, c.timeout, got, changed, c.want)
		}
	}
}

func TestExpiryQueueUpdatePollRemove(t *testing.T) {
	q := NewExpiryQueue[int64](100, 1050) // first poll boundary 1100
	if w := q.WaitTime(1050); w != 50 {
		t.Fatalf("WaitTime = %d, want 50", w)
	}
	if _, ok := q.NextExpiry(); ok {
		t.Fatal("empty queue has a NextExpiry")
	}
	q.Update(1, 1050, 200) // 1300
	q.Update(2, 1060, 200) // 1300
	q.Update(3, 1050, 400) // 1500
	q.Update(4, 1050, 600) // 1700
	if at, changed := q.Update(2, 1090, 200); at != 1300 || changed {
		t.Fatalf("re-arm inside the same bucket: %d changed=%v", at, changed)
	}
	if at, changed := q.Update(2, 1100, 200); at != 1400 || !changed {
		t.Fatalf("re-arm into the next bucket: %d changed=%v", at, changed)
	}
	if at, ok := q.NextExpiry(); !ok || at != 1300 {
		t.Fatalf("NextExpiry = %d %v", at, ok)
	}
	if got := q.Poll(1299); got != nil {
		t.Fatalf("Poll(1299) = %v", got)
	}
	if got := q.Poll(1300); !slices.Equal(got, []int64{1}) {
		t.Fatalf("Poll(1300) = %v", got)
	}
	if w := q.WaitTime(1300); w != 100 {
		t.Fatalf("WaitTime after poll = %d", w)
	}
	if at, ok := q.Remove(3); !ok || at != 1500 {
		t.Fatalf("Remove(3) = %d %v", at, ok)
	}
	if _, ok := q.Remove(3); ok {
		t.Fatal("Remove twice")
	}
	// A late poll gets every overdue bucket, earliest first.
	q.Update(5, 1300, 0) // 1400
	got := q.Poll(5000)
	if len(got) != 3 || got[2] != 4 || !slices.Contains(got[:2], 2) || !slices.Contains(got[:2], 5) {
		t.Fatalf("late Poll = %v, want [2 5 in any order, 4]", got)
	}
	if q.Len() != 0 {
		t.Fatalf("Len = %d after everything expired", q.Len())
	}
	if w := q.WaitTime(5000); w != 100 {
		t.Fatalf("WaitTime = %d", w)
	}
}
