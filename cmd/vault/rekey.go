package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mutual-aid-vault/vault/vault"
)

// A new key for a member: an admin gives it ('vault member rekey NAME
// KEY'), or the member asks for it with their current key ('vault rekey')
// and an admin approves ('vault member rekey NAME'). The member's machine
// then goes on with the new identity ('vault rekey --finish').

func (a *app) memberRekeyCommand() *cobra.Command {
	var approve, compromised, asJSON bool
	c := &cobra.Command{
		Use:   "rekey NAME [KEY]",
		Short: "Give a member a new key (new laptop, lost or stolen key), or approve the one they asked for",
		Long: `Replace a member's key with KEY, the line 'vault pubkey' printed on their new
identity (check its fingerprint with them by phone or in person, as for
'member add'). Without KEY (or with --approve), approve the new key the
member asked for with 'vault rekey': 'vault member list' shows it and its
fingerprint. Only admins can.

The member keeps their name, groups and everything shared with them. A new
vault key is issued, so their old key opens nothing written from now on;
every secret they read is re-encrypted for the new key: by you now where you
can read it, by the next of its readers otherwise, and what only they read
by the member with their old key ('vault rekey --finish').

--compromised says the old key was lost or stolen: every secret the member
could read is marked rotate-now (whoever has the key may read them), and
what the old key signed meanwhile is void. A routine new laptop needs no
--compromised.`,
		Args: func(cmd *cobra.Command, got []string) error {
			if len(got) == 0 {
				return usageError{fmt.Errorf("missing NAME; usage: %s", cmd.UseLine())}
			}
			if len(got) > 2 {
				return usageError{fmt.Errorf("too many arguments; usage: %s", cmd.UseLine())}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			nk := vault.NewKey{Compromised: compromised}
			if len(args) == 2 {
				if approve {
					return usageError{fmt.Errorf("give KEY or --approve, not both: --approve takes the key the member asked for")}
				}
				nk.PublicKey = args[1]
			}
			return a.withVault(func(v *vault.Vault) error {
				me, err := v.Me()
				if err != nil {
					return err
				}
				nk.Progress = func(done, total int) {
					if total >= 50 && !a.quiet && (done%50 == 0 || done == total) {
						a.say("re-encrypting: %d of %d", done, total)
					}
				}
				rk, err := v.ReplaceKey(args[0], nk)
				if err != nil {
					return err
				}
				if asJSON {
					if err := a.printJSON(rk); err != nil {
						return err
					}
				}
				self := me.Name == rk.Member
				a.reportRekey(rk, self)
				if self {
					a.note("this identity signs nothing more: go on with the new one; 'vault rekey --finish --new-identity FILE' re-encrypts with this one what waits for the new key and makes FILE this machine's identity")
				}
				return nil
			})
		},
	}
	c.Flags().BoolVar(&approve, "approve", false, "approve the new key the member asked for (the default without KEY)")
	c.Flags().BoolVar(&compromised, "compromised", false, "the old key was lost or stolen: mark every secret they could read rotate-now")
	c.Flags().BoolVar(&asJSON, "json", false, "print what was done as JSON")
	return c
}

// reportRekey says what replacing a member's key did and what is left.
func (a *app) reportRekey(rk vault.Rekey, self bool) {
	if self {
		// What waits for the new key, the old one re-encrypts next
		// (swapIdentity).
		a.note("replaced your own key; the new one has fingerprint %s", rk.Fingerprint)
		a.note("issued a new vault key: the old key opens nothing written from now on")
		return
	}
	if rk.Requested {
		a.note("approved %s's new key, fingerprint %s: check it with them by phone or in person", rk.Member, rk.Fingerprint)
	} else {
		a.note("gave %s a new key, fingerprint %s: check it with them by phone or in person", rk.Member, rk.Fingerprint)
	}
	a.note("issued a new vault key: the old key opens nothing written from now on")
	if len(rk.Reencrypted) > 0 {
		a.note("re-encrypted for the new key: %s", strings.Join(rk.Reencrypted, ", "))
	}
	if len(rk.Waiting) > 0 {
		a.note("you cannot read %s; each is re-encrypted for the new key with the next change of one of its readers", strings.Join(rk.Waiting, ", "))
	}
	if len(rk.OnlyTheirs) > 0 {
		a.note("only %s reads %s: they re-encrypt it with their old key ('vault rekey --finish'); if that key is lost, only a recovery key still opens it", rk.Member, strings.Join(rk.OnlyTheirs, ", "))
	}
	if len(rk.RotateNow) > 0 {
		a.note("change these passwords at their services now, then 'vault set' them: %s", strings.Join(rk.RotateNow, ", "))
	}
}

func (a *app) rekeyCommand() *cobra.Command {
	var newIdentity, oldIdentity string
	var noPassphrase, finish bool
	c := &cobra.Command{
		Use:   "rekey",
		Short: "Move to a new key (a new laptop): ask an admin to approve it, then --finish",
		Long: `Make a new identity and ask the group's admins, with your current key, to
make it your key in the vault. Your public key line is printed on stdout and
its fingerprint on stderr: read it to the admin who approves it
('vault member rekey YOUR-NAME'). Until then, nothing changes.

The new identity is written beside your identity file (IDENTITY.new), protected
by a passphrase you choose (or --no-passphrase); --new-identity FILE uses one
you made already ('vault keygen --output FILE', on the new laptop say).

Once approved, run 'vault rekey --finish' on this machine: your old key
re-encrypts for the new one what waits for it (above all what only you read),
and the new identity takes the old one's place (the old file is kept beside
it). If you made the new key elsewhere and use it already, give the old one:
'vault rekey --finish --old-identity FILE'.

An admin's new key needs no approval: it takes effect at once.

If your old key was lost or stolen, you cannot sign a request with it: send
your new 'vault pubkey' line to an admin, who runs
'vault member rekey YOUR-NAME KEY --compromised'.`,
		Args: args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			idPath, err := a.identityPath()
			if err != nil {
				return err
			}
			if finish {
				return a.finishRekey(idPath, newIdentity, oldIdentity)
			}
			if oldIdentity != "" {
				return usageError{fmt.Errorf("--old-identity goes with --finish")}
			}
			return a.startRekey(idPath, newIdentity, noPassphrase)
		},
	}
	c.Flags().StringVar(&newIdentity, "new-identity", "", "the new identity `FILE` (default: IDENTITY.new, made here)")
	c.Flags().StringVar(&oldIdentity, "old-identity", "", "with --finish: the old identity `FILE`, when the new one is already in use")
	c.Flags().BoolVar(&noPassphrase, "no-passphrase", false, "write the new identity without a passphrase (for unattended scripts)")
	c.Flags().BoolVar(&finish, "finish", false, "once an admin approved: re-encrypt with the old key, and make the new identity yours")
	return c
}

// pendingIdentity is where 'vault rekey' writes the new identity: beside
// the current one, until the new key is approved.
func pendingIdentity(idPath string) string { return idPath + ".new" }

// startRekey makes (or reads) the new identity and asks for it, or, for an
// admin, makes it their key at once and finishes.
func (a *app) startRekey(idPath, newPath string, noPassphrase bool) error {
	made := newPath == ""
	if made {
		newPath = pendingIdentity(idPath)
		if _, err := os.Lstat(newPath); err == nil {
			return fail(vault.ErrExists, "a new identity from an earlier 'vault rekey' is waiting at %s; ask again with it: 'vault rekey --new-identity %s', or, if an admin approved it, run 'vault rekey --finish'", newPath, newPath)
		}
	}
	var old, newID *vault.Identity
	admin, asked := false, false
	err := a.withVault(func(v *vault.Vault) error {
		old = a.identity
		me, err := v.Me()
		if err != nil {
			return err
		}
		a.beforePrompt()
		if made {
			var pass vault.Value
			if !noPassphrase {
				if pass, err = a.newPassphrase(); err != nil {
					return err
				}
				defer pass.Wipe()
			}
			if newID, err = vault.GenerateIdentity(old.Kind()); err != nil {
				return err
			}
			opts := vault.IdentityOptions{ScryptWorkFactor: a.opts.scryptWorkFactor, Now: a.now()}
			if err := vault.WriteIdentity(newPath, newID, pass, opts); err != nil {
				return err
			}
			// Written before it is asked for, so that no key is asked for
			// that this machine has not kept; dropped if nothing asks.
			defer func() {
				if !asked {
					os.Remove(newPath)
				}
			}()
		} else if newID, err = a.unlockIdentity(newPath, false); err != nil {
			return err
		}
		if me.Admin {
			rk, err := v.ReplaceKey(me.Name, vault.NewKey{PublicKey: newID.PublicKey()})
			if err != nil {
				return err
			}
			asked = true
			admin = true
			fmt.Fprintln(a.stdout, newID.PublicKey())
			a.reportRekey(rk, true)
			return nil
		}
		kr, err := v.RequestKey(newID.PublicKey())
		if err != nil {
			return err
		}
		asked = true
		fmt.Fprintln(a.stdout, newID.PublicKey())
		a.note("asked the admins to make this your new key, fingerprint %s: read it to the admin who approves it ('vault member rekey %s')", kr.Fingerprint, kr.Member)
		a.note("the new identity is %s; until it is approved, go on with your current key; then run 'vault rekey --finish%s'", newPath, finishFlag(made, newPath))
		return nil
	})
	if err != nil || !admin {
		return err
	}
	return a.swapIdentity(idPath, newPath, old, newID, true)
}

func finishFlag(made bool, newPath string) string {
	if made {
		return ""
	}
	return " --new-identity " + newPath
}

// finishRekey re-encrypts with the old key what waits for the new one,
// then makes the new identity this machine's.
func (a *app) finishRekey(idPath, newPath, oldPath string) error {
	if oldPath != "" {
		// The new key is in use already: idPath is it.
		if newPath != "" {
			return usageError{fmt.Errorf("give --new-identity or --old-identity, not both: with --old-identity your current identity is the new one")}
		}
		newID, err := a.loadIdentity()
		if err != nil {
			return err
		}
		a.beforePrompt()
		old, err := a.unlockIdentity(oldPath, false)
		if err != nil {
			return err
		}
		return a.swapIdentity(idPath, idPath, old, newID, false)
	}
	made := newPath == ""
	if made {
		newPath = pendingIdentity(idPath)
	}
	if _, err := os.Lstat(newPath); errors.Is(err, fs.ErrNotExist) {
		return fail(vault.ErrNoIdentity, "no new identity at %s; start with 'vault rekey', or give the new identity with --new-identity FILE", newPath)
	}
	old, err := a.loadIdentity()
	if err != nil {
		return err
	}
	newID, err := a.unlockIdentity(newPath, false)
	if err != nil {
		return err
	}
	return a.swapIdentity(idPath, newPath, old, newID, true)
}

// swapIdentity opens the vault with the new identity, re-encrypts with
// the old one what waits for the new key, and (with move) puts the new
// identity file in the old one's place, keeping the old beside it.
func (a *app) swapIdentity(idPath, newPath string, old, newID *vault.Identity, move bool) error {
	path, err := a.vaultPath()
	if err != nil {
		return err
	}
	v, err := vault.Open(path, a.vaultOptions(newID))
	if err != nil {
		if errors.Is(err, vault.ErrNotMember) && !errors.Is(err, vault.ErrKeyReplaced) {
			return fail(vault.ErrNotMember, "your new key (fingerprint %s) is not yours in the vault yet: an admin approves it with 'vault member rekey NAME'", newID.Fingerprint())
		}
		return err
	}
	a.reportIncoming(v.Incoming())
	a.sayWarnings(v)
	done, unopened, err := v.ReencryptWithOldKey(old)
	a.sayWarnings(v)
	v.Close()
	if err != nil {
		return err
	}
	if len(done) > 0 {
		a.note("re-encrypted with your old key for your new one: %s", strings.Join(done, ", "))
	}
	if len(unopened) > 0 {
		a.note("your old key does not open %s; a reader re-encrypts it for your new key with their next change", strings.Join(unopened, ", "))
	}
	if !move {
		a.note("done: keep the old identity only for history from before the new key")
		return nil
	}
	kept, err := keepOldFile(idPath, a.now().UTC().Format("20060102-150405"))
	if err != nil {
		return err
	}
	if err := vault.MoveFile(newPath, idPath); err != nil {
		return fmt.Errorf("the new key is yours in the vault, but the new identity could not replace %s (%v); use --identity %s", idPath, err, newPath)
	}
	// An agent holding the old key would answer for the identity file.
	if socket, err := a.agentSocket(idPath); err == nil {
		_, _ = vault.LockAgent(socket)
	}
	a.note("this machine now uses your new key (fingerprint %s): %s", newID.Fingerprint(), idPath)
	if kept != "" {
		a.note("the old identity is kept as %s: it opens only history from before the new key; delete it when you no longer need that", kept)
	}
	return nil
}
