package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mutual-aid-vault/vault/vault"
)

func (a *app) memberCommand() *cobra.Command {
	return groupCommand("member", "Add, list, change and remove members (admins change; everyone lists)",
		a.memberAddCommand(), a.memberListCommand(), a.memberEditCommand(), a.memberRmCommand(), a.memberRekeyCommand())
}

func (a *app) memberAddCommand() *cobra.Command {
	var groups []string
	var admin bool
	c := &cobra.Command{
		Use:   "add NAME PUBKEY",
		Short: "Add a member by the public key line they sent you",
		Long: `Add a member. NAME is how the group knows them (a nickname is enough);
PUBKEY is the one line 'vault pubkey' printed for them (age1…:ed25519:…, or
age1pq1…:ed25519:… in a post-quantum vault): their encryption key and the key
that signs their changes. Secrets shared with their groups are re-encrypted
for them. Only admins can add members.

Before adding it, check the key with its owner by another channel: the
fingerprint printed here must match the one their 'vault pubkey' printed.`,
		Args: args("NAME", "PUBKEY"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withVault(func(v *vault.Vault) error {
				m, err := v.AddMember(vault.NewMember{Name: args[0], PublicKey: args[1], Groups: groups, Admin: admin})
				if err != nil {
					return err
				}
				a.note("added %s%s; fingerprint %s: check it with them by phone or in person", m.Name, describeRole(m), m.Fingerprint)
				return nil
			})
		},
	}
	c.Flags().StringArrayVarP(&groups, "group", "g", nil, "put the member in `GROUP` (repeatable)")
	c.Flags().BoolVar(&admin, "admin", false, "make the member an admin (can change membership)")
	return c
}

func describeRole(m vault.Member) string {
	var parts []string
	if len(m.Groups) > 0 {
		parts = append(parts, "in "+strings.Join(m.Groups, ", "))
	}
	if m.Admin {
		parts = append(parts, "admin")
	}
	if len(parts) == 0 {
		return ""
	}
	return ", " + strings.Join(parts, ", ")
}

func (a *app) memberListCommand() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "list",
		Short: "List the members and recovery keys: groups, fingerprints, who added them, last active",
		Args:  args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withVault(func(v *vault.Vault) error {
				ms, err := v.Members()
				if err != nil {
					return err
				}
				rks, err := v.RecoveryKeys()
				if err != nil {
					return err
				}
				if asJSON {
					if ms == nil {
						ms = []vault.Member{}
					}
					if rks == nil {
						rks = []vault.RecoveryKey{}
					}
					return a.printJSON(struct {
						Members  []vault.Member      `json:"members"`
						Recovery []vault.RecoveryKey `json:"recovery"`
					}{ms, rks})
				}
				tw := newTable(a.stdout)
				fmt.Fprintln(tw, "NAME\tGROUPS\tADMIN\tFINGERPRINT\tADDED\tBY\tLAST ACTIVE")
				for _, m := range ms {
					name := m.Name
					if m.You {
						name += " (you)"
					}
					tw.row(name, orDash(strings.Join(m.Groups, ",")), yesNo(m.Admin), m.Fingerprint, day(m.Added), m.AddedBy, day(m.LastActive))
				}
				for _, r := range rks {
					what := "recovery key (reads everything)"
					if r.CanSign {
						what = "recovery key (reads everything, acts as admin)"
					}
					tw.row(r.Name, what, "-", r.Fingerprint, day(r.Added), r.AddedBy, "-")
				}
				if err := tw.Flush(); err != nil {
					return err
				}
				a.noteKeyRequests(ms)
				return nil
			})
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON (with full public keys): {\"members\": […], \"recovery\": […]}")
	return c
}

func (a *app) memberEditCommand() *cobra.Command {
	var add, rm []string
	var admin bool
	c := &cobra.Command{
		Use:   "edit NAME",
		Short: "Change a member's groups or admin flag",
		Long: `Change a member's groups or admin flag. Secrets shared with the groups
involved are re-encrypted for their new readers; where the member loses
access, the secret is marked rotate-now (they may have seen it). Only admins
can edit members, and the last admin cannot stop being one.`,
		Args: args("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			e := vault.MemberEdit{AddGroups: add, RemoveGroups: rm}
			if cmd.Flags().Changed("admin") {
				e.Admin = &admin
			}
			if len(add)+len(rm) == 0 && e.Admin == nil {
				return usageError{fmt.Errorf("nothing to change; use --add-group, --rm-group or --admin=true|false")}
			}
			return a.withVault(func(v *vault.Vault) error {
				m, err := v.EditMember(args[0], e)
				if err != nil {
					return err
				}
				a.note("%s: groups %s, admin %s", m.Name, orDash(strings.Join(m.Groups, ", ")), yesNo(m.Admin))
				return nil
			})
		},
	}
	c.Flags().StringArrayVar(&add, "add-group", nil, "add the member to `GROUP` (repeatable)")
	c.Flags().StringArrayVar(&rm, "rm-group", nil, "take the member out of `GROUP` (repeatable)")
	c.Flags().BoolVar(&admin, "admin", false, "make (--admin=true) or unmake (--admin=false) an admin")
	return c
}

func (a *app) memberRmCommand() *cobra.Command {
	var force, asJSON bool
	c := &cobra.Command{
		Use:   "rm NAME",
		Short: "Remove a member: new vault key, secrets re-encrypted and marked rotate-now",
		Long: `Remove a member. The vault key is replaced (the removed member cannot read
anything written from now on), every secret they could read is re-encrypted
without them (those you cannot read are finished by their next reader), and
each of those secrets is marked rotate-now: the real password must change at
the service, since they may have seen it.

A member who is the only reader of a secret is not removed unless --force.`,
		Args: args("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withVault(func(v *vault.Vault) error {
				progress := func(done, total int) {
					if total >= 50 && !a.quiet && (done%50 == 0 || done == total) {
						a.say("re-encrypting: %d of %d", done, total)
					}
				}
				r, err := v.RemoveMember(args[0], force, progress)
				if err != nil {
					return err
				}
				if asJSON {
					if err := a.printJSON(r); err != nil {
						return err
					}
				}
				a.note("removed %s and issued a new vault key", args[0])
				if len(r.Waiting) > 0 {
					a.note("you cannot read %s; each is re-encrypted with the next change of one of its readers", strings.Join(r.Waiting, ", "))
				}
				if len(r.RotateNow) > 0 {
					a.note("change these passwords at their services now, then 'vault set' them: %s", strings.Join(r.RotateNow, ", "))
				}
				return nil
			})
		},
	}
	c.Flags().BoolVar(&force, "force", false, "remove even if they are the only reader of some secrets")
	c.Flags().BoolVar(&asJSON, "json", false, "print what was done as JSON")
	return c
}

// noteKeyRequests tells of the members' pending requests for a new key.
func (a *app) noteKeyRequests(ms []vault.Member) {
	for _, m := range ms {
		if kr := m.KeyRequest; kr != nil {
			a.note("%s asked for a new key on %s, fingerprint %s: check it with them by phone or in person, then an admin approves it: 'vault member rekey %s'", m.Name, day(kr.At), kr.Fingerprint, m.Name)
		}
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func day(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.DateOnly)
}
