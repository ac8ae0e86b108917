package rotation

import (
	"errors"
	"testing"
	"time"
)

func on(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 12, 0, 0, 0, time.UTC) }

func TestParsePeriod(t *testing.T) {
	tests := []struct {
		in   string
		want Period
	}{
		{"6mo", Period{Months: 6}},
		{"90d", Period{Days: 90}},
		{"1y", Period{Years: 1}},
		{"2w", Period{Days: 14}},
		{"1y6mo", Period{Years: 1, Months: 6}},
		{"6 months", Period{Months: 6}},
		{" 3Months ", Period{Months: 3}},
		{"1week", Period{Days: 7}},
		{"10y", Period{Years: 10}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParsePeriod(tt.in)
			if err != nil {
				t.Fatalf("ParsePeriod(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Fatalf("ParsePeriod(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
			back, err := ParsePeriod(got.String())
			if err != nil || back != got {
				t.Fatalf("round trip of %q through %q = %+v, %v", tt.in, got.String(), back, err)
			}
		})
	}
}

func TestParsePeriodRejects(t *testing.T) {
	for _, in := range []string{"", "0d", "6", "mo", "6m", "-6mo", "6mo-", "11y", "99999d", "1.5y", "6mo6", "123456d", "six months"} {
		t.Run(in, func(t *testing.T) {
			if p, err := ParsePeriod(in); !errors.Is(err, ErrBadPeriod) {
				t.Fatalf("ParsePeriod(%q) = %+v, %v; want ErrBadPeriod", in, p, err)
			}
		})
	}
}

func TestPeriodAfter(t *testing.T) {
	six := Period{Months: 6}
	tests := []struct {
		name string
		p    Period
		from time.Time
		want time.Time
	}{
		{"plain six months", six, on(2026, time.January, 15), on(2026, time.July, 15)},
		{"31 August to end of February", six, on(2026, time.August, 31), on(2027, time.February, 28)},
		{"31 August to leap February", six, on(2027, time.August, 31), on(2028, time.February, 29)},
		{"across a year end", six, on(2026, time.November, 26), on(2027, time.May, 26)},
		{"31 March to 30 September", six, on(2026, time.March, 31), on(2026, time.September, 30)},
		{"leap day plus a year", Period{Years: 1}, on(2028, time.February, 29), on(2029, time.February, 28)},
		{"leap day plus four years", Period{Years: 4}, on(2028, time.February, 29), on(2032, time.February, 29)},
		{"31 January plus a month", Period{Months: 1}, on(2026, time.January, 31), on(2026, time.February, 28)},
		{"days are calendar days", Period{Days: 90}, on(2026, time.December, 1), on(2027, time.March, 1)},
		{"months then days", Period{Months: 1, Days: 1}, on(2026, time.January, 31), on(2026, time.March, 1)},
		{"twelve months is a year", Period{Months: 12}, on(2026, time.May, 5), on(2027, time.May, 5)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.After(tt.from); !got.Equal(tt.want) {
				t.Fatalf("%v after %s = %s, want %s", tt.p, tt.from.Format(time.DateOnly), got.Format(time.DateOnly), tt.want.Format(time.DateOnly))
			}
		})
	}
}

// TestPeriodAfterMonotonic checks properties that must hold for every start
// date over several years: the result is later than the start, never later
// than the same period computed without clamping, and a longer period never
// ends earlier.
func TestPeriodAfterMonotonic(t *testing.T) {
	start := on(2024, time.January, 1)
	for day := 0; day < 4*366; day++ {
		from := start.AddDate(0, 0, day)
		prev := from
		for months := 1; months <= 24; months++ {
			got := Period{Months: months}.After(from)
			if !got.After(prev) {
				t.Fatalf("%d months after %s = %s, not after %s", months, from.Format(time.DateOnly), got.Format(time.DateOnly), prev.Format(time.DateOnly))
			}
			if got.After(from.AddDate(0, months, 0)) {
				t.Fatalf("%d months after %s = %s, later than AddDate", months, from.Format(time.DateOnly), got.Format(time.DateOnly))
			}
			if got.Day() != from.Day() && got.AddDate(0, 0, 1).Day() != 1 {
				t.Fatalf("%d months after %s = %s: day changed without reaching a month end", months, from.Format(time.DateOnly), got.Format(time.DateOnly))
			}
			prev = got
		}
	}
}

func FuzzParsePeriod(f *testing.F) {
	for _, s := range []string{"6mo", "90d", "1y6mo2w3d", "", "99999999999999999999d", "6 months"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePeriod(s)
		if err != nil {
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("ParsePeriod(%q) accepted an invalid period %+v: %v", s, p, err)
		}
		back, err := ParsePeriod(p.String())
		if err != nil {
			t.Fatalf("String of %+v = %q does not parse: %v", p, p.String(), err)
		}
		// Weeks are normalised to days, so compare by effect.
		from := on(2026, time.August, 31)
		if !back.After(from).Equal(p.After(from)) {
			t.Fatalf("round trip changed %+v into %+v", p, back)
		}
	})
}
