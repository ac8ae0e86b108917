// Package rotation is the vault's policy: given a secret's dates and a
// moment in time, it says where the secret stands and when it is due; it
// says when the group's access review is due and who is inactive; and it
// holds the rules generated passwords follow.
//
// Everything here is a pure function of its arguments. Nothing reads the
// clock, the disk or the environment; callers pass "now" explicitly (and a
// source of randomness to generate passwords), which is what makes the
// policy testable with fixed dates.
//
// # Periods
//
// A [Period] is a calendar length ("6mo", "90d", "1y"), not a fixed number of
// seconds. Adding months moves the calendar month and keeps the day of the
// month, clamped to the last day of a shorter month: six months after 31
// August is the last day of February (28 or 29), never the 2nd or 3rd of
// March. See [Period.After] for the exact rule.
//
// # States
//
// [Policy.Status] puts a secret in one [State]: rotate-now (a reason such as
// a member leaving; it always wins over the dates), pending (a new value
// waits to be confirmed), overdue (from the day after the due date),
// due-soon (within the warning window, default 14 days, or on the due date
// itself) or ok. Dates are compared as calendar days in UTC.
//
// # Password rules
//
// [Rules] validate before generating, because go-password treats counts as
// exact, can loop forever on overlapping character sets without repeats, and
// mishandles non-ASCII sets. Generated passwords always mix lower and upper
// case letters and digits, with symbols unless the rules forbid them.
package rotation
