package tui

import (
	"fmt"
	"strings"

	"github.com/mutual-aid-vault/vault/rotation"
	"github.com/mutual-aid-vault/vault/vault"
	"github.com/mutual-aid-vault/vault/vault/display"
)

// ReminderLines turns reminders into at most two short lines, the same for
// the command line (on stderr) and the terminal UI (its startup banner):
//
//	2 secrets overdue for rotation (airtable, call-log) and the access review is due; run 'vault due'
func ReminderLines(r vault.Reminders) []string {
	var mine, admin []string
	if n := len(r.RotateNow); n > 0 {
		mine = append(mine, fmt.Sprintf("%s to rotate now (%s)", plural(n, "secret"), names(r.RotateNow)))
	}
	if n := len(r.Overdue); n > 0 {
		mine = append(mine, fmt.Sprintf("%s overdue for rotation (%s)", plural(n, "secret"), names(r.Overdue)))
	}
	if n := len(r.Pending); n > 0 {
		mine = append(mine, fmt.Sprintf("%s to confirm (%s)", plural(n, "rotation"), names(r.Pending)))
	}
	if n := len(r.Reencrypt); n > 0 {
		mine = append(mine, fmt.Sprintf("%s to re-encrypt for new readers (%s; your next change or 'vault sync' does it)", plural(n, "secret"), names(r.Reencrypt)))
	}
	if r.Review != nil {
		admin = append(admin, "the access review is "+map[bool]string{true: "overdue", false: "due"}[r.Review.State == rotation.Overdue])
	}
	if n := len(r.Waiting); n > 0 && len(r.Reencrypt) < n {
		admin = append(admin, fmt.Sprintf("%s waiting for a reader to re-encrypt (%s)", plural(n, "secret"), names(r.Waiting)))
	}
	all := append(append([]string(nil), mine...), admin...)
	if len(all) == 0 {
		return nil
	}
	const hint = "; run 'vault due'"
	if one := joinAnd(all) + hint; len(one) <= 110 || len(mine) == 0 || len(admin) == 0 {
		return []string{one}
	}
	return []string{joinAnd(mine), joinAnd(admin) + hint}
}

// IncomingLines describes changes other members made since this machine
// last looked: one line naming the first few.
func IncomingLines(events []vault.Event) []string {
	var parts []string
	n := 0
	for _, e := range events {
		if e.Rejected != "" || e.Action == "member.active" {
			continue
		}
		n++
		if n <= 3 {
			parts = append(parts, display.Line(e.Summary))
		}
	}
	if n == 0 {
		return nil
	}
	line := "New since you last looked: " + strings.Join(parts, "; ")
	if n > 3 {
		line += fmt.Sprintf("; and %d more", n-3)
	}
	return []string{line}
}

// WelcomeLine is what a member who joined on this machine is told the
// first time their key opens the vault, the same on the command line and
// in the terminal UI's notice:
//
//	you were added by alex on 2026-11-27; you can read 3 secrets
func WelcomeLine(w vault.Welcome) string {
	return fmt.Sprintf("you were added by %s on %s; you can read %s", display.Line(w.AddedBy), w.Added.UTC().Format("2006-01-02"), plural(w.Readable, "secret"))
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// names lists up to three names, then how many more, each shown with
// display.Line.
func names(ns []string) string {
	if len(ns) <= 3 {
		return joinShown(ns, ", ")
	}
	return joinShown(ns[:3], ", ") + fmt.Sprintf(" and %d more", len(ns)-3)
}

// joinShown joins names (or other fields from the vault) with sep, each
// shown with display.Line: any member can write them with other tools, and
// the terminal must never act on what they hold.
func joinShown(ns []string, sep string) string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = display.Line(n)
	}
	return strings.Join(out, sep)
}

// joinOr joins names as "a, b or c", each shown with display.Line.
func joinOr(ns []string) string {
	if len(ns) <= 1 {
		return joinShown(ns, "")
	}
	return joinShown(ns[:len(ns)-1], ", ") + " or " + display.Line(ns[len(ns)-1])
}

func joinAnd(parts []string) string {
	if len(parts) == 1 {
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}

// StateWords says a rotation state in words: "rotate now", "overdue"…
func StateWords(s rotation.State) string {
	switch s {
	case rotation.RotateNow:
		return "rotate now"
	case rotation.Overdue:
		return "overdue"
	case rotation.Pending:
		return "rotation pending"
	case rotation.DueSoon:
		return "due soon"
	}
	return "ok"
}
