package rotation

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestStatusByDate(t *testing.T) {
	p := DefaultPolicy()
	six := Period{Months: 6}
	tests := []struct {
		name   string
		last   time.Time
		every  Period
		now    time.Time
		want   State
		due    time.Time
		left   int
		reason string
	}{
		{"fresh", on(2026, 5, 1), six, on(2026, 6, 1), OK, on(2026, 11, 1), 153, "due on 2026-11-01"},
		{"fifteen days before", on(2026, 5, 1), six, on(2026, 10, 17), OK, on(2026, 11, 1), 15, "due on 2026-11-01"},
		{"fourteen days before is due soon", on(2026, 5, 1), six, on(2026, 10, 18), DueSoon, on(2026, 11, 1), 14, "due on 2026-11-01 (in 14 days)"},
		{"due today", on(2026, 5, 1), six, on(2026, 11, 1), DueSoon, on(2026, 11, 1), 0, "due today"},
		{"a day late", on(2026, 5, 1), six, on(2026, 11, 2), Overdue, on(2026, 11, 1), -1, "was due on 2026-11-01 (1 day ago)"},
		{"31 August: due at the end of February", on(2026, 8, 31), six, on(2027, 2, 28), DueSoon, on(2027, 2, 28), 0, "due today"},
		{"31 August: overdue on 1 March", on(2026, 8, 31), six, on(2027, 3, 1), Overdue, on(2027, 2, 28), -1, "was due on 2027-02-28 (1 day ago)"},
		{"leap year February", on(2027, 8, 31), six, on(2028, 2, 29), DueSoon, on(2028, 2, 29), 0, "due today"},
		{"leap day, yearly", on(2028, 2, 29), Period{Years: 1}, on(2029, 3, 1), Overdue, on(2029, 2, 28), -1, "was due on 2029-02-28 (1 day ago)"},
		{"90 days across a year end", on(2026, 12, 1), Period{Days: 90}, on(2027, 2, 20), DueSoon, on(2027, 3, 1), 9, "due on 2027-03-01 (in 9 days)"},
		{"zero period means six months", on(2026, 1, 31), Period{}, on(2026, 7, 31), DueSoon, on(2026, 7, 31), 0, "due today"},
		{"time of day does not matter", time.Date(2026, 5, 1, 23, 59, 0, 0, time.UTC), six, time.Date(2026, 11, 1, 23, 59, 0, 0, time.UTC), DueSoon, on(2026, 11, 1), 0, "due today"},
		{"long overdue", on(2025, 1, 10), six, on(2026, 11, 26), Overdue, on(2025, 7, 10), -504, "was due on 2025-07-10 (504 days ago)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := p.Status(Secret{LastRotated: tt.last, Every: tt.every}, tt.now)
			if got.State != tt.want || !got.Due.Equal(date(tt.due)) || got.DaysLeft != tt.left || got.Reason != tt.reason {
				t.Fatalf("Status = %v due %s left %d %q; want %v due %s left %d %q", got.State, got.Due.Format(time.DateOnly), got.DaysLeft, got.Reason, tt.want, tt.due.Format(time.DateOnly), tt.left, tt.reason)
			}
		})
	}
}

func TestStatusRotateNowAndPending(t *testing.T) {
	p := DefaultPolicy()
	now := on(2026, 11, 26)
	fresh := Secret{LastRotated: on(2026, 11, 1)}
	s := fresh
	s.RotateNow = "ben was removed on 2026-11-26"
	if got := p.Status(s, now); got.State != RotateNow || got.Reason != s.RotateNow {
		t.Fatalf("rotate-now: %+v", got)
	}
	s.Pending = on(2026, 11, 25)
	if got := p.Status(s, now); got.State != RotateNow || !got.Pending {
		t.Fatalf("rotate-now with a pending rotation: %+v", got)
	}
	s.RotateNow = ""
	if got := p.Status(s, now); got.State != Pending || got.Reason != "a new value is waiting since 2026-11-25 to be confirmed" {
		t.Fatalf("pending: %+v", got)
	}
	old := Secret{LastRotated: on(2020, 1, 1), Pending: on(2026, 11, 25)}
	if got := p.Status(old, now); got.State != Pending {
		t.Fatalf("pending wins over overdue: %+v", got)
	}
}

func TestReviewAndInactive(t *testing.T) {
	p := DefaultPolicy()
	if got := p.Review(on(2026, 5, 31), on(2026, 11, 30)); got.State != DueSoon || !got.Due.Equal(date(on(2026, 11, 30))) {
		t.Fatalf("review: %+v", got)
	}
	if got := p.Review(on(2026, 5, 31), on(2026, 12, 1)); got.State != Overdue || got.Reason != "the access review was due on 2026-11-30" {
		t.Fatalf("review: %+v", got)
	}
	if p.Inactive(on(2026, 8, 28), on(2026, 11, 26)) {
		t.Fatal("90 days is not yet inactive")
	}
	if !p.Inactive(on(2026, 8, 27), on(2026, 11, 26)) {
		t.Fatal("91 days is inactive")
	}
}

// TestStatusProperties checks rules that must hold for any dates, with a
// printed seed:
//   - a secret confirmed (rotated) at some date is never overdue before one
//     full period has passed, and never due soon more than the window before;
//   - rotate-now always wins over dates;
//   - the state never goes back from overdue to ok as time passes.
func TestStatusProperties(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	p := DefaultPolicy()
	base := on(2020, 1, 1)
	for range 20000 {
		last := base.AddDate(0, 0, rng.IntN(3650))
		every := Period{Years: rng.IntN(2), Months: rng.IntN(13), Days: rng.IntN(100)}
		if every.IsZero() {
			every.Days = 1
		}
		now := last.AddDate(0, 0, rng.IntN(1500))
		s := Secret{LastRotated: last, Every: every}
		got := p.Status(s, now)
		fullPeriodPassed := !now.Before(every.After(last).AddDate(0, 0, 1))
		if got.State == Overdue && !fullPeriodPassed {
			t.Fatalf("rotated %s every %v: overdue on %s", last.Format(time.DateOnly), every, now.Format(time.DateOnly))
		}
		if got.State == OK && fullPeriodPassed {
			t.Fatalf("rotated %s every %v: ok on %s", last.Format(time.DateOnly), every, now.Format(time.DateOnly))
		}
		if got.State == DueSoon && daysBetween(now, every.After(last)) > p.Window {
			t.Fatalf("due soon too early")
		}
		later := p.Status(s, now.AddDate(0, 0, rng.IntN(400)))
		if later.State < got.State {
			t.Fatalf("state went back from %v to %v", got.State, later.State)
		}
		s.RotateNow = "reason"
		if p.Status(s, now).State != RotateNow {
			t.Fatal("rotate-now lost to the dates")
		}
	}
}
