package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mutual-aid-vault/vault/rotation"
	"github.com/mutual-aid-vault/vault/tui"
	"github.com/mutual-aid-vault/vault/vault"
	"github.com/mutual-aid-vault/vault/vault/display"
)

// stateWords says a rotation state in words for people.
func stateWords(s rotation.State) string { return tui.StateWords(s) }

func (a *app) dueCommand() *cobra.Command {
	var within string
	var asJSON bool
	c := &cobra.Command{
		Use:   "due",
		Short: "List everything due, most urgent first; exit 10 if anything is",
		Long: `List everything that is due in the vault, most urgent first: secrets to rotate
now (and why), overdue, with a rotation pending, or due within --within
(default 14 days); the access review; secrets waiting for one of their
readers to re-encrypt them for someone.

Made for cron: unlike the reminder line of other commands (once a day
without a terminal), it lists everything at every run. Exit codes:

  0   nothing is due
  10  something is due (listed on stdout)
  1, 5, 6, ...  a failure (a damaged file, the vault busy, a wrong
      passphrase or identity...): the error is on stderr, and nothing
      says whether anything is due

So do not read any non-zero code as "due". A crontab line that mails the
list to the organizers when something is due, and the error to the owner
of the crontab (cron mails what a job prints) when 'vault due' failed:

  0 9 * * 1  vault due >due.txt 2>&1; case $? in 0) ;; 10) mail -s "vault: things to do" organizers@example.org <due.txt ;; *) cat due.txt ;; esac

Cron has no terminal: set VAULT_PASSPHRASE_FILE (or use an identity
without a passphrase) for it.`,
		Args: args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			days := -1
			if within != "" {
				p, err := rotation.ParsePeriod(within)
				if err != nil {
					return usageError{fmt.Errorf("--within: %w", err)}
				}
				now := a.now()
				days = int(p.After(now).Sub(now).Hours()/24 + 0.5)
			}
			a.noReminders = true
			var items []vault.DueItem
			err := a.withVault(func(v *vault.Vault) error {
				var err error
				items, err = v.Due(days)
				return err
			})
			if err != nil {
				return err
			}
			if asJSON {
				if items == nil {
					items = []vault.DueItem{}
				}
				if err := a.printJSON(items); err != nil {
					return err
				}
			} else {
				for _, it := range items {
					fmt.Fprintln(a.stdout, display.Line(dueLine(it)))
				}
			}
			if len(items) == 0 {
				a.note("nothing is due")
				return nil
			}
			return errDue
		},
	}
	c.Flags().StringVar(&within, "within", "", "also list what is due within this `PERIOD` (e.g. 30d, 2w; default 14d)")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

// dueLine is one item of 'vault due': "airtable: rotate now, ben was
// removed on 2026-11-26".
func dueLine(it vault.DueItem) string {
	var line string
	switch it.Kind {
	case "review":
		line = fmt.Sprintf("access review: %s, %s", stateWords(it.State), it.Reason)
	case "reencrypt":
		line = fmt.Sprintf("%s: %s", it.Name, it.Reason)
	default:
		line = fmt.Sprintf("%s: %s, %s", it.Name, stateWords(it.State), it.Reason)
	}
	if !it.CanAct {
		switch it.Kind {
		case "review":
			line += " (an admin marks it done)"
		default:
			line += fmt.Sprintf(" (you cannot read it; its readers: %s)", strings.Join(it.Readers, ", "))
		}
	}
	return line
}

func (a *app) reviewCommand() *cobra.Command {
	var markdown, asJSON, done bool
	c := &cobra.Command{
		Use:   "review",
		Short: "The access review: who can read what, inactive members; --done records it",
		Long: `Print the group's periodic data and access review: every secret with who can
read it (members and groups), when it was last rotated and when it is due;
every member with their groups, when they were added and last active, with
the inactive ones flagged; and when the last review was held. It never
shows a secret value.

--markdown writes the report as a Markdown document the group can keep in
its records. --done records that the review was held today (admins), which
starts the next period.`,
		Args: args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if markdown && asJSON {
				return usageError{fmt.Errorf("choose --markdown or --json")}
			}
			return a.withVault(func(v *vault.Vault) error {
				r, err := v.Review()
				if err != nil {
					return err
				}
				switch {
				case asJSON:
					err = a.printJSON(r)
				case markdown:
					err = writeReviewMarkdown(a.stdout, r)
				default:
					err = a.writeReviewText(r)
				}
				if err != nil || !done {
					return err
				}
				if err := v.MarkReviewed(); err != nil {
					return err
				}
				after, err := v.Review()
				if err != nil {
					return err
				}
				a.note("recorded the access review as held today; the next is due on %s", day(after.Next.Due))
				return nil
			})
		},
	}
	c.Flags().BoolVar(&markdown, "markdown", false, "write the report as Markdown, to keep in the group's records")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	c.Flags().BoolVar(&done, "done", false, "record that the review was held today (admins)")
	return c
}

func lastReview(r vault.Review) string {
	if r.LastReview == nil {
		return "never"
	}
	return day(*r.LastReview) + " by " + r.LastReviewBy
}

func (a *app) writeReviewText(r vault.Review) error {
	w := a.stdout
	fmt.Fprintf(w, "Access review of %s, %s\n", display.Line(orDash(r.Vault)), day(r.At))
	fmt.Fprintf(w, "Last review: %s; %s.\n\n", display.Line(lastReview(r)), display.Line(r.Next.Reason))
	tw := newTable(w)
	fmt.Fprintln(tw, "SECRET\tSHARED WITH\tREADERS\tLAST ROTATED\tSTATE")
	for _, s := range r.Secrets {
		tw.row(s.Name, strings.Join(s.SharedWith, ", "), strings.Join(s.Readers, ", "), day(s.LastRotated), stateWords(s.State)+": "+s.Reason)
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = newTable(w)
	fmt.Fprintln(tw, "MEMBER\tGROUPS\tADMIN\tADDED\tLAST ACTIVE\tREADS\t")
	for _, m := range r.Members {
		flag := ""
		if m.Inactive {
			flag = fmt.Sprintf("INACTIVE (over %s)", plural(r.InactiveAfter, "day"))
		}
		tw.row(m.Name, orDash(strings.Join(m.Groups, ",")), yesNo(m.Admin), day(m.Added)+" by "+m.AddedBy, day(m.LastActive), strconv.Itoa(m.Reads), flag)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(r.KeyRequests) > 0 {
		fmt.Fprintln(w)
		tw = newTable(w)
		fmt.Fprintln(tw, "NEW KEY ASKED FOR BY\tFINGERPRINT\tASKED ON")
		for _, k := range r.KeyRequests {
			tw.row(k.Member, k.Fingerprint, day(k.At))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintln(w, "Check each fingerprint with its member by phone or in person; an admin approves with 'vault member rekey NAME'.")
	}
	if len(r.Recovery) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	tw = newTable(w)
	fmt.Fprintln(tw, "RECOVERY KEY\tFINGERPRINT\tADDED\tREADS")
	for _, k := range r.Recovery {
		tw.row(k.Name, k.Fingerprint, day(k.Added)+" by "+k.AddedBy, recoveryReads(k))
	}
	return tw.Flush()
}

// recoveryReads says what a recovery key can do.
func recoveryReads(k vault.RecoveryKey) string {
	if k.CanSign {
		return "every secret; can act as an admin"
	}
	return "every secret"
}

// mdCell makes text safe inside a Markdown table cell, and on a terminal
// (see display.Line).
func mdCell(s string) string {
	return display.Line(strings.NewReplacer("|", `\|`, "\n", " ", "\r", " ").Replace(s))
}

func writeReviewMarkdown(w interface{ Write([]byte) (int, error) }, r vault.Review) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Access review: %s\n\n", mdCell(orDash(r.Vault)))
	fmt.Fprintf(&b, "- Date: %s\n- Previous review: %s\n- Next review: %s\n", day(r.At), mdCell(lastReview(r)), day(r.Next.Due))
	inactive := 0
	for _, m := range r.Members {
		if m.Inactive {
			inactive++
		}
	}
	fmt.Fprintf(&b, "- %s, %s (%d inactive for over %s)\n\n", plural(len(r.Secrets), "secret"), plural(len(r.Members), "member"), inactive, plural(r.InactiveAfter, "day"))
	b.WriteString("This report lists what the vault holds and who can read it. It contains no password.\n\n")
	b.WriteString("## Secrets\n\n| Secret | Shared with | Can read | Last rotated | Next rotation |\n|---|---|---|---|---|\n")
	for _, s := range r.Secrets {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", mdCell(s.Name), mdCell(strings.Join(s.SharedWith, ", ")), mdCell(strings.Join(s.Readers, ", ")), day(s.LastRotated), mdCell(stateWords(s.State)+": "+s.Reason))
	}
	b.WriteString("\n## Members\n\n| Member | Groups | Admin | Added | Last active | Can read | Inactive |\n|---|---|---|---|---|---|---|\n")
	for _, m := range r.Members {
		fmt.Fprintf(&b, "| %s | %s | %s | %s by %s | %s | %s | %s |\n", mdCell(m.Name), mdCell(strings.Join(m.Groups, ", ")), yesNo(m.Admin), day(m.Added), mdCell(m.AddedBy), day(m.LastActive), plural(m.Reads, "secret"), map[bool]string{true: "**yes**", false: "no"}[m.Inactive])
	}
	if len(r.KeyRequests) > 0 {
		b.WriteString("\n## New keys asked for\n\nEach is checked with its member by phone or in person before an admin approves it.\n\n| Member | Fingerprint | Asked on |\n|---|---|---|\n")
		for _, k := range r.KeyRequests {
			fmt.Fprintf(&b, "| %s | %s | %s |\n", mdCell(k.Member), k.Fingerprint, day(k.At))
		}
	}
	if len(r.Recovery) > 0 {
		b.WriteString("\n## Recovery keys\n\nKept offline by the group; every secret is also encrypted to them.\n\n| Key | Fingerprint | Added | Can read |\n|---|---|---|---|\n")
		for _, k := range r.Recovery {
			fmt.Fprintf(&b, "| %s | %s | %s by %s | %s |\n", mdCell(k.Name), k.Fingerprint, day(k.Added), mdCell(k.AddedBy), recoveryReads(k))
		}
	}
	b.WriteString("\n## Decisions\n\n- Members to remove:\n- Secrets to unshare or delete:\n- Held by:\n")
	_, err := w.Write([]byte(b.String()))
	return err
}

// reminderLines turns reminders into at most two short lines.
func reminderLines(r vault.Reminders) []string { return tui.ReminderLines(r) }

// remind prints the reminders at the start of a command, unless quiet.
// They go to stderr, and never change the command's result. On a terminal
// they are printed at every start; elsewhere (cron, CI) only when this
// machine has not told them today, or something new is due since it did
// (see vault.MarkReminded), so that a job run every minute does not repeat
// them in every mail.
func (a *app) remind(v *vault.Vault) {
	if a.quiet || a.noReminders {
		return
	}
	r, err := v.Reminders()
	if err != nil {
		return // the command itself will report a damaged vault
	}
	if !a.stderrTerminal() && !v.MarkReminded(r) {
		return
	}
	for _, l := range reminderLines(r) {
		a.say("%s", l)
	}
}
