// Package rotation is the vault's policy: given a secret's dates and a
// moment in time, it says when the secret is due to change.
//
// Everything here is a pure function of its arguments. Nothing reads the
// clock, the disk or the environment; callers pass "now" explicitly, which is
// what makes the policy testable with fixed dates.
//
// # Periods
//
// A [Period] is a calendar length ("6mo", "90d", "1y"), not a fixed number of
// seconds. Adding months moves the calendar month and keeps the day of the
// month, clamped to the last day of a shorter month: six months after 31
// August is the last day of February (28 or 29), never the 2nd or 3rd of
// March. See [Period.After] for the exact rule.
package rotation
