package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mutual-aid-vault/vault/vault"
)

// passphraseSource returns how to get the passphrase of the identity file at
// path: the file VAULT_PASSPHRASE_FILE names when set (for scripts), else a
// prompt on the terminal, else nothing (and unlocking fails saying how).
func (a *app) passphraseSource(path string) (ask func() (vault.Value, error), interactive bool) {
	if file := a.getenv("VAULT_PASSPHRASE_FILE"); file != "" {
		return func() (vault.Value, error) { return readPassphraseFile(file) }, false
	}
	if a.tty.Available() {
		return func() (vault.Value, error) {
			b, err := a.tty.ReadSecret(fmt.Sprintf("Passphrase for %s: ", path))
			// One copy of the passphrase lives on, in the Value, which
			// vault.ReadIdentity wipes once it has unlocked the identity.
			defer clear(b)
			if err != nil {
				return vault.Value{}, err
			}
			return vault.NewValue(b), nil
		}, true
	}
	return func() (vault.Value, error) {
		return vault.Value{}, fail(vault.ErrNoPassphrase, "%s is protected by a passphrase and there is no terminal to ask on; set VAULT_PASSPHRASE_FILE to a file (mode 600) holding the passphrase", path)
	}, false
}

// maxPassphraseFile caps what is read from VAULT_PASSPHRASE_FILE.
const maxPassphraseFile = 4096

func readPassphraseFile(path string) (vault.Value, error) {
	f, err := vault.OpenRegular(path)
	if err != nil {
		var nr *vault.NotRegularError
		if errors.As(err, &nr) {
			return vault.Value{}, fail(vault.ErrNoPassphrase, "VAULT_PASSPHRASE_FILE %s is %s, not a passphrase file; give the path of a file (mode 600) holding the passphrase", nr.Path, nr.Kind)
		}
		return vault.Value{}, fmt.Errorf("cannot read VAULT_PASSPHRASE_FILE: %w", err)
	}
	defer f.Close()
	if err := vault.CheckPrivateFile(path); err != nil {
		return vault.Value{}, err
	}
	// One buffer, never grown (io.ReadAll would leave a copy at each
	// growth), wiped once the Value has its copy.
	buf := make([]byte, maxPassphraseFile+1)
	defer clear(buf)
	n, err := io.ReadFull(f, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return vault.Value{}, fmt.Errorf("cannot read VAULT_PASSPHRASE_FILE: %w", err)
	}
	b := buf[:n]
	if len(b) > maxPassphraseFile {
		return vault.Value{}, fmt.Errorf("VAULT_PASSPHRASE_FILE %s is larger than a passphrase can be", path)
	}
	b = bytes.TrimSuffix(b, []byte("\n"))
	b = bytes.TrimSuffix(b, []byte("\r"))
	if len(b) == 0 {
		return vault.Value{}, fmt.Errorf("VAULT_PASSPHRASE_FILE %s is empty", path)
	}
	return vault.NewValue(b), nil
}

// loadIdentity returns the member's identity: the one a running agent
// holds (no prompt), else the identity file unlocked here (see
// unlockIdentity), which starts an agent when a person typed the
// passphrase.
func (a *app) loadIdentity() (*vault.Identity, error) {
	if a.identity != nil {
		return a.identity, nil
	}
	path, err := a.identityPath()
	if err != nil {
		return nil, err
	}
	if a.identityFlag == "" && a.getenv("VAULT_IDENTITY") == "" {
		// The default folder holds identities only, and vault made it
		// private: no one else may even list it. (One named by
		// --identity may be a folder such as a home folder; vault
		// refuses it only when others can write it.)
		if err := vault.CheckPrivateFolder(filepath.Dir(path)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	if id := a.fromAgent(path); id != nil {
		a.identity = id
		return id, nil
	}
	id, err := a.unlockIdentity(path, a.agentEnabled())
	if err == nil {
		a.identity = id
	}
	return id, err
}

// errFromAgent stops reading the identity file: an agent has it.
var errFromAgent = errors.New("the agent holds the identity")

// unlockIdentity reads and unlocks the identity file at path, letting a
// person at a terminal retry a mistyped passphrase. With startAgent, a
// passphrase typed at the terminal also starts an agent, before the
// terminal is let go: another command waiting to ask on it (the other end
// of 'vault get a | vault set b') finds the agent and does not ask.
func (a *app) unlockIdentity(path string, startAgent bool) (*vault.Identity, error) {
	ask, interactive := a.passphraseSource(path)
	asked := false
	var fromAgent *vault.Identity
	counted := func() (vault.Value, error) {
		if !asked && startAgent && interactive {
			// Our turn at the terminal first: the process that had it may
			// have started an agent meanwhile.
			if t, ok := a.tty.(interface{ Take() error }); ok {
				if err := t.Take(); err != nil {
					return vault.Value{}, err
				}
			}
			if fromAgent = a.fromAgent(path); fromAgent != nil {
				return vault.Value{}, errFromAgent
			}
		}
		asked = true
		return ask()
	}
	var id *vault.Identity
	var err error
	unlock := func() error {
		for attempt := 1; ; attempt++ {
			id, err = vault.ReadIdentity(path, counted)
			if errors.Is(err, errFromAgent) {
				id, err = fromAgent, nil
				return nil
			}
			if errors.Is(err, vault.ErrWrongPassphrase) && interactive && attempt < 3 {
				a.say("wrong passphrase, try again")
				continue
			}
			break
		}
		if err == nil && startAgent && interactive && asked {
			if _, aerr := a.startAgent(path, id, vault.DefaultAgentIdle); aerr != nil {
				a.say("warning: could not start the agent (%v); the next command asks again", aerr)
			}
		}
		return err
	}
	if interactive {
		// One turn at the terminal for every try: echo stays off while a
		// passphrase is checked, and no other process asks in between.
		err = a.holdTerminal(unlock)
	} else {
		err = unlock()
	}
	return id, err
}

// openVault unlocks the identity and opens the vault with it, and says
// what opening it found: changes that came in from other members, copies
// that were repaired or merged, changes that were refused.
func (a *app) openVault() (*vault.Vault, error) {
	path, err := a.vaultPath()
	if err != nil {
		return nil, err
	}
	// Say there is no vault before asking for a passphrase.
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, fail(vault.ErrNoVault, "no vault at %s", path)
	}
	id, err := a.loadIdentity()
	if err != nil {
		return nil, err
	}
	v, err := vault.Open(path, a.vaultOptions(id))
	if errors.Is(err, vault.ErrNotAdded) {
		return nil, notAdded(path, id)
	}
	if err != nil {
		return nil, err
	}
	a.identity = id
	a.reportIncoming(v.Incoming())
	a.sayWarnings(v)
	if w, ok := v.Welcome(); ok && !a.quiet {
		// Once: the first command that opens a vault joined on this
		// machine, after the member was added.
		a.say("%s", welcomeText(w))
		_ = v.MarkWelcomed()
	}
	return v, nil
}

// notAdded is the error a member whose key does not open the vault yet
// sees: with their whole public key line and its fingerprint, so they
// can send it without another command. Never cut: the terminal wraps it.
func notAdded(path string, id *vault.Identity) error {
	return fail(vault.ErrNotAdded, "you are not a member of the vault at %s yet; send your key line to an admin of the group (it is safe to share): %s ; read them its fingerprint, by phone or in person: %s; once they have added you (and the change has reached this copy: 'vault sync' fetches it from git), try again", path, id.PublicKey(), id.Fingerprint())
}

// vaultOptions are the options every command opens the vault with.
func (a *app) vaultOptions(id *vault.Identity) vault.Options {
	wait := a.wait
	if wait <= 0 {
		wait = time.Millisecond // --wait 0: do not wait
	}
	return vault.Options{Identity: id, Clock: a.opts.clock, StateDir: a.stateDir(), LockTimeout: wait,
		OnWait: func(msg string) { a.say("%s", msg) }}
}

// maxIncoming is how many incoming changes are named one by one.
const maxIncoming = 3

// reportIncoming says what came in from other members since this machine
// last looked: a line for the first few, a count for the rest.
func (a *app) reportIncoming(events []vault.Event) {
	var ok []vault.Event
	for _, e := range events {
		if e.Rejected == "" && e.Action != "member.active" {
			ok = append(ok, e)
		}
	}
	if len(ok) == 0 || a.quiet {
		return
	}
	var parts []string
	for i, e := range ok {
		if i == maxIncoming {
			parts = append(parts, fmt.Sprintf("and %d more ('vault log' shows them)", len(ok)-maxIncoming))
			break
		}
		parts = append(parts, fmt.Sprintf("%s on %s", e.Summary, e.At.UTC().Format(time.DateOnly)))
	}
	a.say("new since you last looked: %s", strings.Join(parts, "; "))
}

// sayWarnings prints the vault's warnings not printed yet.
func (a *app) sayWarnings(v *vault.Vault) {
	ws := v.Warnings()
	for _, w := range ws[min(a.warned, len(ws)):] {
		a.say("warning: %s", w)
	}
	a.warned = len(ws)
}

// withVault opens the vault, prints the reminders, runs fn, and then says
// what else the command did (chores done on the way, like re-encrypting a
// secret for a member it was shared with: only to a person at a terminal,
// never to a cron mail or a CI log) and any new warning.
func (a *app) withVault(fn func(v *vault.Vault) error) error {
	v, err := a.openVault()
	if err != nil {
		return err
	}
	defer v.Close()
	a.open = v
	defer func() { a.open = nil }()
	a.remind(v)
	err = fn(v)
	if a.stderrTerminal() {
		for _, n := range v.Notes() {
			a.note("%s", n)
		}
	}
	a.sayWarnings(v)
	return err
}
