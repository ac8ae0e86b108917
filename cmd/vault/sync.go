package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mutual-aid-vault/vault/vault"
	"github.com/mutual-aid-vault/vault/vault/display"
)

func (a *app) mergeCommand() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "merge FILE",
		Short: "Fold another copy of the vault into this one, and say what came in",
		Long: `Fold another copy of the same vault (FILE: a copy from a USB stick, an old
backup, a copy a sync tool kept) into this one: every change FILE has that
this vault lacks comes in, checked as always, and is listed one line each.
FILE itself is not changed. Merging the same copies in any order, any number
of times, gives the same vault. A copy of another vault is refused.

Copies that sync tools leave beside the vault file (Syncthing's
*.sync-conflict-*, Nextcloud's and Dropbox's "conflicted copy") are merged
and removed by every command on their own.`,
		Args: args("FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := os.Stat(args[0]); err != nil {
				if errors.Is(err, os.ErrNotExist) {
					return fmt.Errorf("no file at %s; give the path of a copy of the vault", args[0])
				}
				return err
			}
			return a.withVault(func(v *vault.Vault) error {
				r, err := v.Merge(args[0])
				if errors.Is(err, vault.ErrNotVault) || errors.Is(err, vault.ErrCorrupt) {
					return fmt.Errorf("cannot merge %s: %v; give the path of a copy of this vault", args[0], err)
				}
				if err != nil {
					return err
				}
				if asJSON {
					if r.Changes == nil {
						r.Changes = []vault.Event{}
					}
					return a.printJSON(r)
				}
				for _, e := range r.Changes {
					if e.Rejected != "" {
						continue
					}
					fmt.Fprintf(a.stdout, "%s on %s\n", display.Line(e.Summary), e.At.UTC().Format(time.DateOnly))
				}
				n := 0
				for _, e := range r.Changes {
					if e.Rejected == "" {
						n++
					}
				}
				switch {
				case len(r.Changes) == 0:
					a.note("%s has nothing this vault lacks", args[0])
				default:
					a.note("merged %s from %s", plural(n, "change"), args[0])
				}
				if r.Lacked > 0 {
					a.note("%s lacks %s this vault has; it was not changed", args[0], plural(r.Lacked, "change"))
				}
				return nil
			})
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON: {\"changes\": [events], \"lacked\": N}")
	return c
}

func (a *app) syncCommand() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "sync",
		Short: "Exchange changes with the group through the vault's git repository",
		Long: `For a vault file kept in a git repository: commit this machine's changes,
pull the others' (merging the vault file with the union of both sides'
changes), and push, pulling again if someone pushed meanwhile. It also
records you as active (at most once a day) and does the chores that fall to
you (re-encrypting secrets shared with someone new).

The first sync sets up a merge driver (a line in .gitattributes, committed,
and the driver command in the repository's own git configuration), so that
a plain 'git pull' merges the vault file too. Commit messages name no secret
and no member.

Before you are added to the vault, sync only brings your clone up to date
with the repository (fast-forward), so that the change adding you reaches
it.

A vault in a shared folder (Syncthing, Nextcloud, Dropbox) needs no sync:
every command merges the copies those tools leave beside it.`,
		Args: args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			err := a.withVault(func(v *vault.Vault) error { return a.sync(v, asJSON) })
			if !errors.Is(err, vault.ErrNotAdded) {
				return err
			}
			// A newcomer waiting to be added has nothing to push: fetch
			// the group's changes, then sync if they were added.
			path, perr := a.vaultPath()
			if perr != nil {
				return err
			}
			changed, ferr := vault.Fetch(path, vault.SyncOptions{})
			if ferr != nil {
				return fmt.Errorf("%v; then run 'vault sync' again", ferr)
			}
			if !changed {
				return err
			}
			return a.withVault(func(v *vault.Vault) error { return a.sync(v, asJSON) })
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print what the sync did as JSON")
	return c
}

// sync syncs v and says what it did.
func (a *app) sync(v *vault.Vault, asJSON bool) error {
	r, err := v.Sync(vault.SyncOptions{Driver: a.driverCommand()})
	if err != nil {
		return err
	}
	if asJSON {
		if r.Changes == nil {
			r.Changes = []vault.Event{}
		}
		return a.printJSON(r)
	}
	if r.NotGit {
		a.note("did your chores and recorded you as active; %s is not in a git repository, so there is nothing to pull or push: a shared folder carries it (to sync through git instead, keep it in a repository with a remote)", v.Path())
		return nil
	}
	if r.Setup {
		a.note("set up the merge driver: a plain 'git pull' now merges the vault file too")
	}
	for _, e := range r.Changes {
		if e.Rejected == "" && e.Action != "member.active" {
			a.note("%s on %s", e.Summary, e.At.UTC().Format(time.DateOnly))
		}
	}
	switch {
	case r.Committed:
		a.note("synced: your changes are committed and pushed")
	default:
		a.note("synced: the remote has everything this copy has")
	}
	return nil
}

// driverCommand is how git runs this program's merge driver: by the path
// this program was started from.
func (a *app) driverCommand() string {
	exe := a.opts.exe
	if exe == "" {
		p, err := exec.LookPath(os.Args[0])
		if err != nil {
			p = os.Args[0]
		}
		if abs, err := filepath.Abs(p); err == nil {
			exe = abs
		}
	}
	if strings.ContainsAny(exe, " '\"\\") {
		exe = "'" + strings.ReplaceAll(exe, "'", `'\''`) + "'"
	}
	return exe + " merge-driver"
}

func (a *app) mergeDriverCommand() *cobra.Command {
	return &cobra.Command{
		Use:    "merge-driver BASE OURS THEIRS",
		Short:  "Merge two copies of a vault file for git (set up by 'vault sync')",
		Hidden: true,
		Long: `The merge driver git runs for the vault file: it writes into OURS the union
of the changes in OURS and THEIRS (BASE is not needed: nothing is ever
removed from a vault's log). It needs no key; the next vault command checks
every change that came in.`,
		Args: args("BASE", "OURS", "THEIRS"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return vault.MergeFiles(args[1], args[2])
		},
	}
}

func (a *app) forgetCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "forget FILE",
		Short: "Forget which vault this machine saw at FILE, so another can be opened there",
		Long: `Every machine remembers which vault it opened at each path, and refuses a
different vault there: someone who can write the shared file could
otherwise swap in a vault of their own. If your group really replaced its
vault (check with an admin by another channel first), 'vault forget FILE'
lets this machine open the new one. This machine's copies of vaults stay.`,
		Args: args("FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := vault.Forget(a.stateDir(), args[0]); err != nil {
				return err
			}
			a.note("forgot the vault at %s; the next command pins the vault it finds there", args[0])
			return nil
		},
	}
}
