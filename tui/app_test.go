package tui

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/colorprofile"

	"github.com/mutual-aid-vault/vault/vault"
)

// passphraseVault makes an identity protected by a passphrase and a vault
// for it, and returns options to open them.
func passphraseVault(t *testing.T) Options {
	t.Helper()
	dir := t.TempDir()
	opts := Options{VaultPath: filepath.Join(dir, "vault.db"), IdentityPath: filepath.Join(dir, "id.age"), StateDir: filepath.Join(dir, "state"),
		Getenv: func(string) string { return "" }}
	id, err := vault.GenerateIdentity(vault.Classic)
	if err != nil {
		t.Fatal(err)
	}
	if err := vault.WriteIdentity(opts.IdentityPath, id, vault.NewValue([]byte("correct horse battery")), vault.IdentityOptions{ScryptWorkFactor: 10}); err != nil {
		t.Fatal(err)
	}
	v, err := vault.Create(opts.VaultPath, vault.CreateOptions{Options: vault.Options{Identity: id}, MemberName: "alex", PublicKey: id.PublicKey()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Add(vault.NewSecret{Name: "airtable"}, vault.NewValue([]byte("hunter2"))); err != nil {
		t.Fatal(err)
	}
	v.Close()
	return opts
}

func TestUnlock(t *testing.T) {
	h := newHarness(t, passphraseVault(t))
	h.mustSee("protected by a passphrase", "Passphrase: (typing is hidden)")
	empty := h.view()
	// Neither the passphrase nor its length shows: the screen is the same
	// after one character as after twenty.
	h.typeText("w")
	one := h.view()
	h.typeText("rong passphrase here")
	if h.view() != one || one != empty {
		t.Fatalf("the screen changes with what is typed:\n%s\n---\n%s", empty, h.view())
	}
	h.mustNotSee("wrong", "•", "*")
	h.key("enter")
	h.mustSee("Wrong passphrase. Try again.")
	if h.m.state != stateLocked {
		t.Fatal("not asking again")
	}
	h.typeText("correct horse battery")
	h.key("enter")
	h.mustSee("airtable")
	h.mustNotSee("correct horse")
	if h.m.state != stateReady {
		t.Fatalf("not unlocked:\n%s", h.view())
	}
	// Unlocked once for the session: moving around asks nothing more.
	h.key("tab", "tab", "tab")
	h.mustSee("airtable")
}

func TestFirstRunMakesAnIdentity(t *testing.T) {
	dir := t.TempDir()
	opts := Options{VaultPath: filepath.Join(dir, "vault.db"), IdentityPath: filepath.Join(dir, "cfg", "identity.age"), StateDir: filepath.Join(dir, "state"),
		ScryptWorkFactor: 10, Getenv: func(string) string { return "" }}
	h := newHarness(t, opts)
	h.mustSee("You have no identity yet", "n  make a new identity", "o  use an identity file")
	h.key("n")
	h.mustSee("A new identity", "Four or five random words")
	h.typeText("short")
	h.mustSee("Too short")
	h.key("backspace", "backspace", "backspace", "backspace", "backspace")
	h.typeText("purple otter climbs slowly")
	h.mustSee("Strong.")
	h.key("tab")
	h.typeText("purple otter climbs quickly")
	h.key("enter")
	h.mustSee("The two passphrases differ")
	h.typeText("purple otter climbs slowly")
	h.key("tab")
	h.typeText("purple otter climbs slowly")
	h.key("enter")
	// No vault yet: the public key to send, or a new vault.
	h.mustSee("There is no vault at", "vault join FILE_OR_GIT_URL", "age1", "c  copy your public key line")
	h.key("c")
	h.mustSee("Copied your public key")
	h.key("n")
	h.typeText("Eastside")
	h.key("tab")
	h.typeText("alex")
	h.key("enter")
	if h.m.state != stateReady {
		t.Fatalf("the new vault did not open:\n%s", h.view())
	}
	h.mustSee("Eastside", "alex (admin)", "No secrets yet")
	// The identity written is protected by that passphrase.
	id, err := vault.ReadIdentity(opts.IdentityPath, func() (vault.Value, error) { return vault.NewValue([]byte("purple otter climbs slowly")), nil })
	if err != nil || id.PublicKey() != h.m.sh.me.PublicKey {
		t.Fatalf("identity file: %v", err)
	}
}

func TestMembersScreen(t *testing.T) {
	h := demo(t)
	h.key("x", "tab")
	h.mustSee("Members", "alex (you)", "kim", "a add · g groups/admin · d remove")
	// Removing shows the impact first.
	h.key("down", "down") // jo, kim
	h.key("d")
	h.mustSee("Remove kim? kim can read 1 secret: it will be re-encrypted without them and marked rotate now")
	h.key("n")
	// Adding asks to compare the key's fingerprint.
	newcomer, _ := vault.GenerateIdentity(vault.Classic)
	h.key("a")
	h.typeText("robin")
	h.key("tab")
	h.send(pasteMsg(newcomer.PublicKey()))
	h.key("tab")
	h.typeText("intake")
	h.key("tab", "enter")
	h.mustSee("Is this robin's key?", fingerprint(newcomer.PublicKey()))
	h.key("y")
	h.mustSee("Added robin.", "robin")
	// A pasted secret key is refused and never shown.
	h.key("a")
	h.typeText("eve")
	h.key("tab")
	h.send(pasteMsg("AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ"))
	h.key("tab", "tab", "enter")
	h.mustSee("that is a SECRET key, not a public key")
	h.key("esc")
	h.mustNotSee("QQQQQQQQ")
}

func TestMembersScreenForNonAdmins(t *testing.T) {
	opts, err := BuildDemo(t.TempDir(), demoNow)
	if err != nil {
		t.Fatal(err)
	}
	// Open as jo, who is not an admin.
	v, err := vault.Open(opts.VaultPath, vault.Options{Identity: opts.Identity})
	if err != nil {
		t.Fatal(err)
	}
	jo, _ := vault.GenerateIdentity(vault.Classic)
	if _, err := v.AddMember(vault.NewMember{Name: "pat", PublicKey: jo.PublicKey()}); err != nil {
		t.Fatal(err)
	}
	v.Close()
	opts.Identity = jo
	opts.Getenv = func(string) string { return "" }
	h := newHarness(t, opts)
	h.key("tab")
	h.mustSee("Only admins change members.")
	h.key("a")
	h.mustSee("only an admin can add members")
	h.key("tab")
	h.key("D")
	h.mustSee("only an admin can mark the access review done")
}

// TestApproveNewKey: a member's request for a new key shows on the members
// screen with its fingerprint; an admin approves it with one key, after
// confirming the fingerprint.
func TestApproveNewKey(t *testing.T) {
	opts, err := BuildDemo(t.TempDir(), demoNow)
	if err != nil {
		t.Fatal(err)
	}
	v, err := vault.Open(opts.VaultPath, vault.Options{Identity: opts.Identity})
	if err != nil {
		t.Fatal(err)
	}
	pat, _ := vault.GenerateIdentity(vault.Classic)
	if _, err := v.AddMember(vault.NewMember{Name: "pat", PublicKey: pat.PublicKey()}); err != nil {
		t.Fatal(err)
	}
	v.Close()
	laptop, _ := vault.GenerateIdentity(vault.Classic)
	v, err = vault.Open(opts.VaultPath, vault.Options{Identity: pat})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.RequestKey(laptop.PublicKey()); err != nil {
		t.Fatal(err)
	}
	v.Close()
	opts.Getenv = func(string) string { return "" }
	h := newHarness(t, opts)
	h.key("x", "tab")
	h.mustSee("K approve new key", "asks for a new key")
	h.key("j", "j", "j")
	h.mustSee("fingerprint " + laptop.Fingerprint())
	h.key("K")
	h.mustSee("pat asked for a new key on", "compare with theirs: "+laptop.Fingerprint())
	h.key("y")
	h.mustSee("Gave pat the new key they asked for")
	h.m.Close()
	v, err = vault.Open(opts.VaultPath, vault.Options{Identity: laptop})
	if err != nil {
		t.Fatalf("the new key does not open the vault: %v", err)
	}
	defer v.Close()
	if me, _ := v.Me(); me.Name != "pat" {
		t.Fatalf("the new key is %q's", me.Name)
	}
}

func TestReviewScreen(t *testing.T) {
	h := demo(t)
	h.key("x", "tab", "tab")
	h.mustSee("Access review", "last held never", "Who can read what", "bank/cash-box", "waiting: jo")
	h.key("D")
	h.mustSee("Record the access review as held today?")
	h.key("y")
	h.mustSee("Recorded the access review as held today.", "last held 2026-11-26 by alex")
}

func TestBrokenVaultFileSaysSo(t *testing.T) {
	opts := passphraseVault(t)
	if err := writeFile(opts.VaultPath, []byte("not a vault")); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, opts)
	h.typeText("correct horse battery")
	h.key("enter")
	h.mustSee("is not a vault file", "Press q to quit.")
	h.key("q")
	if !h.quit {
		t.Fatal("q did not quit")
	}
}

func TestNoColor(t *testing.T) {
	if _, ok := colorProfile(func(string) string { return "" }); ok {
		t.Fatal("colour forced off without NO_COLOR")
	}
	for _, v := range []string{"1", "true", "yes", "anything"} {
		if p, ok := colorProfile(func(k string) string { return map[string]string{"NO_COLOR": v}[k] }); !ok || p != colorprofile.Ascii {
			t.Fatalf("NO_COLOR=%s: %v, %v", v, p, ok)
		}
	}
}

// TestVaultFreeWhileOpen: the UI holds the file only during an action, so
// a script or cron job can use the vault while an organizer has it open.
func TestVaultFreeWhileOpen(t *testing.T) {
	h := demo(t)
	h.selectSecret("airtable")
	v, err := vault.Open(h.m.sh.opts.VaultPath, vault.Options{Identity: h.m.sh.id, LockTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatalf("the vault is held by the UI: %v", err)
	}
	if _, err := v.Add(vault.NewSecret{Name: "added-outside"}, vault.NewValue([]byte("x"))); err != nil {
		t.Fatal(err)
	}
	v.Close()
	// The UI sees it on its next load.
	h.key("tab", "shift+tab")
	h.mustSee("9 secrets")
	h.key("/")
	h.typeText("outside")
	h.mustSee("added-outside")
}

// TestShowsWhatCameIn: changes other members made since this machine last
// looked (brought by a sync, a merge or a shared folder) are named at the
// top of the first screen.
func TestShowsWhatCameIn(t *testing.T) {
	opts, err := BuildDemo(t.TempDir(), demoNow)
	if err != nil {
		t.Fatal(err)
	}
	opts.Getenv = func(string) string { return "" }
	first := newHarness(t, opts)
	first.mustOpen()
	first.m.Close()
	// alex adds lee; lee, on her own machine, adds a secret.
	lee, err := vault.GenerateIdentity(vault.Classic)
	if err != nil {
		t.Fatal(err)
	}
	v, err := vault.Open(opts.VaultPath, vault.Options{Identity: opts.Identity, StateDir: opts.StateDir, Clock: opts.Clock})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.AddMember(vault.NewMember{Name: "lee", PublicKey: lee.PublicKey()}); err != nil {
		t.Fatal(err)
	}
	v.Close()
	w, err := vault.Open(opts.VaultPath, vault.Options{Identity: lee, StateDir: t.TempDir(), Clock: opts.Clock})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Add(vault.NewSecret{Name: "lee-notes"}, vault.NewValue([]byte("x"))); err != nil {
		t.Fatal(err)
	}
	w.Close()
	h := newHarness(t, opts)
	if got := h.view(); !strings.Contains(got, "New since you last looked: lee added lee-notes") {
		t.Fatalf("the screen does not say what came in:\n%s", got)
	}
}
