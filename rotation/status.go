package rotation

import (
	"fmt"
	"time"
)

// State is where a secret stands in its rotation cycle.
type State int

// States, from least to most urgent. Code that sorts by urgency relies on
// this order.
const (
	// OK: not due within the warning window.
	OK State = iota
	// DueSoon: due within the warning window (or today).
	DueSoon
	// Pending: a new value was generated and waits to be confirmed once it
	// has been changed at the service.
	Pending
	// Overdue: the rotation period has passed.
	Overdue
	// RotateNow: the password must change now whatever the dates say, for
	// a reason such as a member leaving.
	RotateNow
)

var stateNames = [...]string{"ok", "due-soon", "pending", "overdue", "rotate-now"}

// String returns the state's name: "ok", "due-soon", "pending", "overdue"
// or "rotate-now".
func (s State) String() string {
	if s < 0 || int(s) >= len(stateNames) {
		return fmt.Sprintf("State(%d)", int(s))
	}
	return stateNames[s]
}

// MarshalText encodes the state by name.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Policy is the group's timing rules. The zero Policy is not useful; start
// from DefaultPolicy.
type Policy struct {
	// Window is how many days before its due date a secret counts as due
	// soon.
	Window int
	// ReviewEvery is how often the group reviews who has access.
	ReviewEvery Period
	// InactiveAfter is how many days without using the vault make a member
	// inactive for the access review.
	InactiveAfter int
}

// DefaultPolicy returns the defaults: a 14-day warning window, an access
// review every six months, and members inactive after 90 days.
func DefaultPolicy() Policy {
	return Policy{Window: 14, ReviewEvery: DefaultPeriod(), InactiveAfter: 90}
}

// Secret is what the policy needs to know about a secret.
type Secret struct {
	// LastRotated is when the password was last changed at the service.
	LastRotated time.Time
	// Every is the rotation period; the zero Period means DefaultPeriod.
	Every Period
	// RotateNow, when not empty, says why the password must change now.
	RotateNow string
	// Pending is when a rotation was started and not yet confirmed; zero
	// when none is under way.
	Pending time.Time
}

// Status is a secret's (or the access review's) state with its date and
// reason.
type Status struct {
	State State
	// Due is the date the next rotation (or review) is due.
	Due time.Time
	// DaysLeft is the number of calendar days from now to Due: negative
	// when overdue, 0 on the day itself.
	DaysLeft int
	// Pending is true when a rotation is under way, whatever the state.
	Pending bool
	// Reason explains the state in a few words, for people.
	Reason string
}

// date returns t's calendar date in UTC, at midnight.
func date(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// daysBetween counts calendar days from a to b (UTC dates).
func daysBetween(a, b time.Time) int {
	return int(date(b).Sub(date(a)).Hours() / 24)
}

// DueDate returns the date a secret's next rotation is due: one period
// after the date it was last rotated, by the calendar rule of Period.After.
func DueDate(lastRotated time.Time, every Period) time.Time {
	if every.IsZero() {
		every = DefaultPeriod()
	}
	return every.After(date(lastRotated))
}

// ByDate returns the state a due date puts something in, now: OK, DueSoon
// (within the window, or today) or Overdue (the day after the due date and
// later), with the days left.
func (p Policy) ByDate(due, now time.Time) (State, int) {
	left := daysBetween(now, due)
	switch {
	case left < 0:
		return Overdue, left
	case left <= p.Window:
		return DueSoon, left
	}
	return OK, left
}

// Status says where a secret stands now. A rotate-now reason always wins
// over the dates; a pending rotation comes next; then the dates decide.
func (p Policy) Status(s Secret, now time.Time) Status {
	due := DueDate(s.LastRotated, s.Every)
	state, left := p.ByDate(due, now)
	st := Status{State: state, Due: due, DaysLeft: left, Pending: !s.Pending.IsZero()}
	switch {
	case s.RotateNow != "":
		st.State, st.Reason = RotateNow, s.RotateNow
	case st.Pending:
		st.State, st.Reason = Pending, "a new value is waiting since "+date(s.Pending).Format(time.DateOnly)+" to be confirmed"
	case state == Overdue:
		st.Reason = fmt.Sprintf("was due on %s (%s ago)", due.Format(time.DateOnly), days(-left))
	case state == DueSoon && left == 0:
		st.Reason = "due today"
	case state == DueSoon:
		st.Reason = fmt.Sprintf("due on %s (in %s)", due.Format(time.DateOnly), days(left))
	default:
		st.Reason = "due on " + due.Format(time.DateOnly)
	}
	return st
}

// Review says where the group's access review stands: due one ReviewEvery
// after the last review, or after the vault was created if there was none.
func (p Policy) Review(last time.Time, now time.Time) Status {
	due := DueDate(last, p.ReviewEvery)
	state, left := p.ByDate(due, now)
	st := Status{State: state, Due: due, DaysLeft: left}
	switch state {
	case Overdue:
		st.Reason = fmt.Sprintf("the access review was due on %s", due.Format(time.DateOnly))
	case DueSoon:
		st.Reason = fmt.Sprintf("the access review is due on %s", due.Format(time.DateOnly))
	default:
		st.Reason = "next access review on " + due.Format(time.DateOnly)
	}
	return st
}

// Inactive reports whether a member who was last active at lastActive
// counts as inactive now: more than InactiveAfter calendar days ago.
func (p Policy) Inactive(lastActive, now time.Time) bool {
	return daysBetween(lastActive, now) > p.InactiveAfter
}

func days(n int) string { return count(n, "day") }

// count says a number of things: "1 day", "2 days", "0 digits".
func count(n int, word string) string {
	if n == 1 || n == -1 {
		return fmt.Sprintf("%d %s", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}
