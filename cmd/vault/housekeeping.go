package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"filippo.io/age"
	"github.com/spf13/cobra"

	"github.com/mutual-aid-vault/vault/vault"
)

// backupDir is where 'vault backup' writes without a folder given, and
// where 'vault destroy' looks for backups: $XDG_DATA_HOME/vault/backups.
func (a *app) backupDir() (string, error) {
	return a.xdg("XDG_DATA_HOME", filepath.Join(".local", "share"), "backups")
}

// size says a number of bytes the way people read them.
func size(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%d KB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

func (a *app) compactCommand() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "compact",
		Short: "Write the vault file afresh, so no deleted value stays in its free space",
		Long: `Write the vault file afresh from this machine's copy: no free pages, no
part-empty ones, so no purged or replaced value's encrypted bytes stay in it.
Like every write, the new file is written beside it and renamed into place.
It also clears the freed space of this machine's own copy of the vault.

Every change that deletes something (a purge, a member's removal, an unshare)
already writes the file this way: 'vault compact' is for a file that grew by
changes made in place, before handing the file on, or when such a write
failed. It cannot reach copies made before: other members' machines (until
they next open the vault), backups, a sync tool's version history, and git
history, which keeps every committed version of the file.

Exit codes: 4 when the file cannot be written (read-only), 5 when busy.`,
		Args: args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withVault(func(v *vault.Vault) error {
				r, err := v.Compact()
				if err != nil {
					return err
				}
				if asJSON {
					return a.printJSON(r)
				}
				a.note("wrote %s afresh (%s, was %s): no deleted value is left in it or in this machine's copy", r.Path, size(r.After), size(r.Before))
				if r.GitRepo != "" {
					a.note("it is in the git repository at %s: earlier commits still hold what they held; 'vault sync' commits the new file, and only deleting the repository removes the old ones", r.GitRepo)
				}
				return nil
			})
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON: {\"path\", \"before\", \"after\", \"git_repository\"}")
	return c
}

// backupJSON is what 'vault backup --json' prints.
type backupJSON struct {
	Path string `json:"path"`
	Size int64  `json:"size"`
}

func (a *app) backupCommand() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "backup [DIR]",
		Short: "Write a dated, compact copy of the vault into a folder",
		Long: `Write a copy of the vault into DIR (default $XDG_DATA_HOME/vault/backups,
i.e. ~/.local/share/vault/backups), named after the vault file and the day:
vault-2026-11-26.db, then vault-2026-11-26-2.db. It never replaces a file.

The copy is the vault file as it would be written afresh now, with every
change this machine has seen, encrypted exactly as the vault file is (mode
600): it holds no value in plain text, and a member opens it as the same
vault ('vault --vault BACKUP get NAME'); to anyone else it reveals no more
than the vault file does. 'vault merge BACKUP' folds it back in.`,
		Example: `  vault backup
  vault backup /media/usb/eastside --json`,
		Args: func(cmd *cobra.Command, got []string) error {
			if len(got) > 1 {
				return usageError{fmt.Errorf("too many arguments; usage: %s", cmd.UseLine())}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			var dir string
			if len(args) == 1 {
				dir = args[0]
			} else {
				var err error
				if dir, err = a.backupDir(); err != nil {
					return err
				}
			}
			return a.withVault(func(v *vault.Vault) error {
				path, err := v.Backup(dir)
				if err != nil {
					return err
				}
				info, err := os.Stat(path)
				if err != nil {
					return err
				}
				if asJSON {
					return a.printJSON(backupJSON{Path: path, Size: info.Size()})
				}
				a.note("wrote a backup of the vault to %s (%s), encrypted as the vault file is: only members can read it", path, size(info.Size()))
				return nil
			})
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON: {\"path\", \"size\"}")
	return c
}

// destroyJSON is what 'vault destroy --json' prints.
type destroyJSON struct {
	Vault          string   `json:"vault"`
	Name           string   `json:"name"`
	Deleted        []string `json:"deleted"`
	NotOverwritten []string `json:"not_overwritten"`
	AgentLocked    bool     `json:"agent_locked"`
	GitRepo        string   `json:"git_repository,omitempty"`
	SyncedBy       string   `json:"synced_by,omitempty"`
	Kept           []string `json:"kept,omitempty"`
	CannotReach    []string `json:"cannot_reach"`
	Checklist      []string `json:"checklist"`
}

func (a *app) destroyCommand() *cobra.Command {
	var withIdentity, asJSON, keepShared bool
	var confirm string
	c := &cobra.Command{
		Use:   "destroy",
		Short: "Delete this machine's copy of the group's data, when the group shuts down",
		Long: `Delete everything this machine holds of the vault: the vault file, the copies
of it vault can find (conflict copies beside it, copies it was opened from,
backups in the default backup folder), this machine's own copies of it and
its notes about it in the state folder; with --delete-identity, your
identity file too (and the old ones 'vault keygen --force' kept). A running
agent is locked.

It first lists what it deletes and what it cannot reach, then asks you to
type the vault's name (its file name for a vault without a name). Without a
terminal, give the name with --confirm-name NAME. A wrong name deletes
nothing; so does a vault that another vault command or the terminal UI has
open (exit 5). Each file is overwritten with zeros before it is removed;
on SSDs and copy-on-write file systems that is no guarantee (see "Shutting
down" in the README).

It cannot reach other members' copies, git history, backups kept
elsewhere, or the services themselves: it prints a checklist for the group.
It never runs git.

When the vault file is in a folder a sync tool shares (Syncthing, Dropbox,
Nextcloud, Google Drive, OneDrive…), deleting it here deletes it on every
machine that syncs the folder: right when the whole group shuts down, wrong
when only you leave a group that goes on. Then give --keep-shared-file: the
file (and the copies beside it) stay, and everything in this machine's own
folders goes.`,
		Example: `  vault destroy
  vault destroy --delete-identity
  vault destroy --keep-shared-file
  vault destroy --confirm-name "Eastside Mutual Aid" --json`,
		Args: args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			path, err := a.vaultPath()
			if err != nil {
				return err
			}
			idPath, err := a.identityPath()
			if err != nil {
				return err
			}
			backups, err := a.backupDir()
			if err != nil {
				return err
			}
			wait := a.wait
			if wait <= 0 {
				wait = time.Millisecond // --wait 0: do not wait
			}
			opts := vault.DestroyOptions{Path: path, StateDir: a.stateDir(), BackupDir: backups, LockTimeout: wait,
				EmptyFolders: []string{filepath.Dir(backups), a.stateDir()},
				Unlock:       func() (age.Identity, error) { return a.loadIdentity() }}
			if socket, err := a.agentSocket(idPath); err == nil {
				opts.AgentSocket = socket
			}
			if withIdentity {
				opts.IdentityPath = idPath
			}
			opts.KeepSharedFile = keepShared
			plan, err := vault.PlanDestroy(opts)
			if err != nil {
				return err
			}
			a.describeDestroy(plan)
			typed := confirm
			if !cmd.Flags().Changed("confirm-name") {
				if !a.tty.Available() {
					return usageError{fmt.Errorf("there is no terminal to type the vault's name on; to confirm, give it with --confirm-name NAME")}
				}
				b, err := a.readLine(fmt.Sprintf("Type the vault's name (%s) to delete all of this, or press enter to stop: ", plan.Name))
				if err != nil {
					return err
				}
				if typed = string(b); strings.TrimSpace(typed) == "" {
					return fail(vault.ErrNotConfirmed, "stopped; nothing was deleted")
				}
			}
			rep, err := plan.Destroy(typed)
			if err != nil {
				return err
			}
			reach, checklist := destroyAdvice(plan)
			if asJSON {
				return a.printJSON(destroyJSON{Vault: plan.Path, Name: plan.Name, Deleted: rep.Deleted, NotOverwritten: rep.NotOverwritten,
					AgentLocked: rep.AgentLocked, GitRepo: plan.GitRepo, SyncedBy: plan.SyncedBy, Kept: plan.Kept, CannotReach: reach, Checklist: checklist})
			}
			a.say("deleted %s, each overwritten with zeros first (on SSDs and copy-on-write file systems that is no guarantee: see \"Shutting down\" in the README)", plural(len(rep.Deleted), "file"))
			for _, f := range rep.NotOverwritten {
				a.say("  %s was removed without being overwritten (a link, or it could not be opened for writing)", f)
			}
			if rep.AgentLocked {
				a.say("locked the agent: your key is no longer held in memory")
			}
			a.say("what vault cannot reach, and the group must do now:")
			for i, s := range checklist {
				a.say("  %d. %s", i+1, s)
			}
			return nil
		},
	}
	c.Flags().BoolVar(&withIdentity, "delete-identity", false, "delete your identity file too (you lose access to every vault it opens)")
	c.Flags().BoolVar(&keepShared, "keep-shared-file", false, "leave the vault file and the copies beside it in place (when you leave a group that goes on, and its folder is synced)")
	c.Flags().StringVar(&confirm, "confirm-name", "", "confirm without a prompt: the vault's `NAME` (for scripts)")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON on stdout: what was deleted, and the group's checklist")
	return c
}

// describeDestroy says, before asking, what destroy deletes and what it
// cannot reach. It is said even with --quiet: it is what the member
// confirms.
func (a *app) describeDestroy(p *vault.DestroyPlan) {
	a.say("this deletes everything this machine holds of the vault %q:", p.Name)
	inFile := false
	for _, f := range p.Files {
		inFile = inFile || f == p.Path
	}
	switch {
	case inFile:
		a.say("  the vault file %s", p.Path)
	case len(p.Kept) > 0:
		a.say("  not the vault file %s, nor the copies beside it (--keep-shared-file): %s", p.Path, strings.Join(p.Kept, ", "))
	default:
		a.say("  (the vault file %s is gone already)", p.Path)
	}
	for _, c := range p.Copies {
		a.say("  a copy of it: %s", c)
	}
	if n := len(p.State); n > 0 {
		a.say("  this machine's own copy of the vault and its notes about it: %s in %s", plural(n, "file"), a.stateDir())
	}
	if len(p.Identity) > 0 {
		a.say("  your identity: %s", strings.Join(p.Identity, ", "))
		if len(p.OtherVaults) > 0 {
			a.say("  without it you can no longer open the other vaults this machine opened: %s", strings.Join(p.OtherVaults, ", "))
		}
	}
	if p.GitRepo != "" {
		a.say("the vault file is in the git repository at %s: its history keeps every version that was committed, which this does not delete (it runs no git command)", p.GitRepo)
	}
	if p.SyncedBy != "" && inFile {
		a.say("WARNING: the vault file is in a folder %s syncs: deleting it here deletes it on every machine that syncs that folder, for the whole group. That is right only if the whole group shuts down; if only you are leaving, stop here (press enter) and run 'vault destroy --keep-shared-file'", p.SyncedBy)
	}
	reach, _ := destroyAdvice(p)
	a.say("it cannot reach: %s", strings.Join(reach, "; "))
}

// destroyAdvice is what destroy cannot reach, and the checklist for the
// group.
func destroyAdvice(p *vault.DestroyPlan) (reach, checklist []string) {
	reach = []string{
		"other members' copies, on their machines",
		"git history (every commit of the vault file, on the server and in every clone)",
		"backups kept elsewhere (other folders, USB sticks, mail), and a sync tool's copies or version history",
		"the services themselves: their accounts and passwords",
	}
	checklist = []string{"every member runs 'vault destroy' on every machine they used the vault on"}
	if p.GitRepo != "" {
		checklist = append(checklist, fmt.Sprintf("delete the git repository: on its server (e.g. the hosting site's settings: delete repository) and every clone, including this one (rm -rf %s, once nothing else in it is needed)", p.GitRepo))
	} else if p.SyncedBy != "" {
		checklist = append(checklist, fmt.Sprintf("delete the vault file from the folder %s syncs, and from that service's trash and version history (its website keeps deleted files for a while)", p.SyncedBy))
	} else {
		checklist = append(checklist, "delete the git repository or shared folder the group kept the vault file in, on the server and in every clone or synced copy")
	}
	checklist = append(checklist,
		"delete backups of the vault kept elsewhere",
		"close each service's account, or hand it over to whoever takes it on (changing its password first)")
	return reach, checklist
}
