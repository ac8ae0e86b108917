package rotation

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Period is a calendar length of time: whole years, months, weeks and days.
//
// The zero Period is not valid as a rotation period; use [DefaultPeriod] or
// [ParsePeriod].
type Period struct {
	Years  int
	Months int
	Days   int
}

// DefaultPeriod returns six calendar months: the period most groups' rules
// set for changing shared passwords and reviewing access.
func DefaultPeriod() Period { return Period{Months: 6} }

// maxPeriodDays bounds a period so that dates stay meaningful and arithmetic
// cannot overflow: about ten years.
const maxPeriodDays = 3660

// ErrBadPeriod is returned by [ParsePeriod] when the text is not a period.
var ErrBadPeriod = errors.New("invalid period")

// units maps each accepted suffix to what it adds. Longer suffixes come first
// so that "mo" is matched before "m" would be.
var units = []struct {
	suffix string
	apply  func(p *Period, n int)
}{
	{"months", func(p *Period, n int) { p.Months += n }},
	{"month", func(p *Period, n int) { p.Months += n }},
	{"mo", func(p *Period, n int) { p.Months += n }},
	{"years", func(p *Period, n int) { p.Years += n }},
	{"year", func(p *Period, n int) { p.Years += n }},
	{"y", func(p *Period, n int) { p.Years += n }},
	{"weeks", func(p *Period, n int) { p.Days += 7 * n }},
	{"week", func(p *Period, n int) { p.Days += 7 * n }},
	{"w", func(p *Period, n int) { p.Days += 7 * n }},
	{"days", func(p *Period, n int) { p.Days += n }},
	{"day", func(p *Period, n int) { p.Days += n }},
	{"d", func(p *Period, n int) { p.Days += n }},
}

// ParsePeriod reads a period such as "6mo", "90d", "2w", "1y" or "1y6mo".
// Units are y (years), mo (months), w (weeks) and d (days); the long forms
// "months", "days" and so on are accepted too. A period must be at least one
// day and at most about ten years.
func ParsePeriod(s string) (Period, error) {
	var p Period
	rest := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), " ", ""))
	if rest == "" {
		return Period{}, fmt.Errorf("%w: empty; write it like 6mo, 90d, 2w or 1y", ErrBadPeriod)
	}
	for rest != "" {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 || i > 5 {
			return Period{}, fmt.Errorf("%w %q: write it like 6mo, 90d, 2w or 1y", ErrBadPeriod, s)
		}
		n, _ := strconv.Atoi(rest[:i])
		rest = rest[i:]
		matched := false
		for _, u := range units {
			if strings.HasPrefix(rest, u.suffix) {
				u.apply(&p, n)
				rest = rest[len(u.suffix):]
				matched = true
				break
			}
		}
		if !matched {
			return Period{}, fmt.Errorf("%w %q: units are y, mo, w and d (e.g. 6mo, 90d, 1y)", ErrBadPeriod, s)
		}
	}
	if err := p.Validate(); err != nil {
		return Period{}, fmt.Errorf("%w %q: %v", ErrBadPeriod, s, err)
	}
	return p, nil
}

// Validate reports whether p can be used as a rotation period: positive, no
// negative parts, and at most about ten years.
func (p Period) Validate() error {
	if p.Years < 0 || p.Months < 0 || p.Days < 0 {
		return errors.New("must not be negative")
	}
	approx := p.Years*366 + p.Months*31 + p.Days
	if approx == 0 {
		return errors.New("must be at least one day")
	}
	if p.Years > 10 || p.Months > 120 || p.Days > maxPeriodDays || approx > maxPeriodDays+31 {
		return errors.New("must be at most ten years")
	}
	return nil
}

// String returns the period in the short form [ParsePeriod] reads back:
// "6mo", "90d", "1y6mo". Whole weeks of days are written as days.
func (p Period) String() string {
	var b strings.Builder
	if p.Years != 0 {
		fmt.Fprintf(&b, "%dy", p.Years)
	}
	if p.Months != 0 {
		fmt.Fprintf(&b, "%dmo", p.Months)
	}
	if p.Days != 0 || b.Len() == 0 {
		fmt.Fprintf(&b, "%dd", p.Days)
	}
	return b.String()
}

// IsZero reports whether p is the zero Period (no period set).
func (p Period) IsZero() bool { return p == Period{} }

// MarshalText encodes p as [Period.String] does, and the zero Period (no
// period set) as empty text.
func (p Period) MarshalText() ([]byte, error) {
	if p.IsZero() {
		return []byte{}, nil
	}
	return []byte(p.String()), nil
}

// UnmarshalText decodes a period written by [Period.MarshalText] or typed by
// a person (see [ParsePeriod]); empty text is the zero Period.
func (p *Period) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*p = Period{}
		return nil
	}
	q, err := ParsePeriod(string(b))
	if err != nil {
		return err
	}
	*p = q
	return nil
}

// After returns the moment one period after t, by the calendar of t's
// location.
//
// The rule: first move the calendar year and month forward by the period's
// years and months, keeping the day of the month but clamping it to the last
// day of the target month (31 August + 6 months = 28 or 29 February; 29
// February + 1 year = 28 February); then add the period's days as calendar
// days. The time of day is kept. This differs from [time.Time.AddDate], which
// would roll 31 August + 6 months over into March.
func (p Period) After(t time.Time) time.Time {
	y, m, d := t.Date()
	months := int(m) - 1 + p.Months + 12*p.Years
	ty := y + months/12
	tm := time.Month(months%12 + 1)
	if last := daysIn(ty, tm); d > last {
		d = last
	}
	hh, mm, ss := t.Clock()
	out := time.Date(ty, tm, d, hh, mm, ss, t.Nanosecond(), t.Location())
	if p.Days != 0 {
		out = out.AddDate(0, 0, p.Days)
	}
	return out
}

// daysIn returns the number of days in month m of year y.
func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
