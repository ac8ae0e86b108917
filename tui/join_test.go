package tui

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mutual-aid-vault/vault/vault"
)

// newcomer makes an identity without a passphrase for a member who has no
// vault yet, and returns options to start the UI with it.
func newcomer(t *testing.T, kind vault.Kind) (Options, *vault.Identity) {
	t.Helper()
	dir := t.TempDir()
	// A long folder name: paths wrap, they are never cut.
	long := filepath.Join(dir, "a-rather-long-folder-name-for-the-group-vault", "and-another-one")
	opts := Options{VaultPath: filepath.Join(long, "vault.db"), IdentityPath: filepath.Join(dir, "id.age"), StateDir: filepath.Join(dir, "state"),
		Getenv: func(string) string { return "" }}
	id, err := vault.GenerateIdentity(kind)
	if err != nil {
		t.Fatal(err)
	}
	if err := vault.WriteIdentity(opts.IdentityPath, id, vault.Value{}, vault.IdentityOptions{}); err != nil {
		t.Fatal(err)
	}
	return opts, id
}

// mustShowInFull checks that no line of the screen is wider than width
// and that each of parts is on it, possibly broken over lines.
func mustShowInFull(t *testing.T, h *harness, width int, parts ...string) {
	t.Helper()
	v := h.view()
	for i, l := range strings.Split(v, "\n") {
		if w := displayWidth(l); w > width {
			t.Fatalf("line %d is %d cells wide, more than %d:\n%s", i+1, w, width, v)
		}
	}
	joined := strings.NewReplacer("\n", "", " ", "").Replace(v)
	for _, p := range parts {
		if !strings.Contains(joined, strings.ReplaceAll(p, " ", "")) {
			t.Fatalf("the screen does not show %q in full:\n%s", p, v)
		}
	}
}

// TestNoVaultScreen: with an identity and no vault, the first-run screen
// explains both ways on, with the exact commands, and the public key line
// and fingerprint in full, wrapped at a narrow width.
func TestNoVaultScreen(t *testing.T) {
	for _, tc := range []struct {
		name  string
		kind  vault.Kind
		width int
	}{
		{"classic at 80 columns", vault.Classic, 80},
		{"classic at 32 columns", vault.Classic, 32},
		{"post-quantum at 40 columns", vault.PostQuantum, 40},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts, id := newcomer(t, tc.kind)
			h := newHarness(t, opts)
			h.send(teaSize(tc.width, 60))
			if h.m.state != stateSetup || !h.m.setup.noVault {
				t.Fatalf("not the no-vault screen:\n%s", h.view())
			}
			h.mustSee("Joining a group?", "vault join FILE_OR_GIT_URL", "Starting a vault for your group?", "vault init", "c copy your public key line")
			mustShowInFull(t, h, tc.width, opts.VaultPath, id.PublicKey(), id.Fingerprint(), `vault init --name "Group name" --me YOUR-NAME`)
			h.key("c")
			h.mustSee("Copied your public key line")
		})
	}
}

// TestNotMemberScreen: a member whose key does not open the vault yet is
// told so, and shown the line to send and its fingerprint in full; once
// added (after joining on this machine), the first open says who added
// them, once.
func TestNotMemberScreen(t *testing.T) {
	opts, id := newcomer(t, vault.Classic)
	admin, err := vault.GenerateIdentity(vault.Classic)
	if err != nil {
		t.Fatal(err)
	}
	adminState := t.TempDir()
	v, err := vault.Create(opts.VaultPath, vault.CreateOptions{Options: vault.Options{Identity: admin, StateDir: adminState}, MemberName: "alex", PublicKey: admin.PublicKey()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Add(vault.NewSecret{Name: "airtable"}, vault.NewValue([]byte("hunter2"))); err != nil {
		t.Fatal(err)
	}
	v.Close()
	if _, err := vault.Join(opts.StateDir, opts.VaultPath); err != nil {
		t.Fatal(err)
	}

	for _, width := range []int{80, 30} {
		h := newHarness(t, opts)
		h.send(teaSize(width, 40))
		if h.m.state != stateSetup || !h.m.setup.notMember {
			t.Fatalf("not the not-a-member screen:\n%s", h.view())
		}
		h.mustSee("You are not a member of the vault at", "Send this line to an admin", "Read them its fingerprint", "start vault again")
		mustShowInFull(t, h, width, opts.VaultPath, id.PublicKey(), id.Fingerprint())
		h.mustNotSee("n  start a new vault")
		h.key("n") // nothing to create here
		if h.m.setup.form != nil {
			t.Fatal("n opened a form on the not-a-member screen")
		}
		h.key("c")
		h.mustSee("Copied your public key line")
		h.key("q")
		if !h.quit {
			t.Fatal("q did not quit")
		}
	}

	// The admin adds them and shares the secret.
	v, err = vault.Open(opts.VaultPath, vault.Options{Identity: admin, StateDir: adminState})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.AddMember(vault.NewMember{Name: "sam", PublicKey: id.PublicKey()}); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Share("airtable", []string{"sam"}); err != nil {
		t.Fatal(err)
	}
	v.Close()
	h := newHarness(t, opts)
	if h.m.state != stateReady {
		t.Fatalf("did not open once added:\n%s", h.view())
	}
	h.mustSee("you were added by alex on", "you can read 1 secret", "airtable")
	h = newHarness(t, opts)
	h.mustSee("airtable")
	h.mustNotSee("you were added by")
}

// TestJoinFromFirstRunScreen: with no vault, the first-run screen joins
// the group's vault through Options.Join: an error shows in full, with
// what was typed kept to try again; once joined, the line to send and the
// fingerprint show in full with what was done and what comes next, and
// the vault opens by itself once the member is added.
func TestJoinFromFirstRunScreen(t *testing.T) {
	opts, id := newcomer(t, vault.Classic)
	admin, err := vault.GenerateIdentity(vault.Classic)
	if err != nil {
		t.Fatal(err)
	}
	adminState := t.TempDir()
	group := filepath.Join(t.TempDir(), "eastside.db")
	v, err := vault.Create(group, vault.CreateOptions{Options: vault.Options{Identity: admin, StateDir: adminState}, MemberName: "alex", PublicKey: admin.PublicKey()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Add(vault.NewSecret{Name: "airtable"}, vault.NewValue([]byte("hunter2"))); err != nil {
		t.Fatal(err)
	}
	v.Close()

	var asked []string
	opts.Join = func(src string, got *vault.Identity) (JoinResult, error) {
		asked = append(asked, src)
		if got.PublicKey() != id.PublicKey() {
			t.Error("Join was not given the member's identity")
		}
		if src != group {
			return JoinResult{}, fmt.Errorf("there is no file or folder at %s; give the path of your group's vault file, or the address of its git repository (ask an admin for it)", src)
		}
		if _, err := vault.Join(opts.StateDir, group); err != nil {
			return JoinResult{}, err
		}
		return JoinResult{VaultPath: group, Done: []string{"the group's vault is " + group + ", where it is"},
			Next: "wait until your shared folder brings their change"}, nil
	}
	const width = 40
	h := newHarness(t, opts)
	h.send(teaSize(width, 80))
	h.mustSee("There is no vault at", "j  join your group's vault", "press j")
	h.key("j")
	h.mustSee("Join your group's vault", "File or URL")
	wrong := "/no/such/place/with-a-rather-long-name/eastside.db"
	h.typeText(wrong)
	h.key("enter")
	h.mustSee("there is no file or folder at")
	mustShowInFull(t, h, width, "there is no file or folder at "+wrong+"; give the path of your group's vault file, or the address of its git repository (ask an admin for it)")
	if f := h.m.setup.form; f == nil || f.value("File or URL") != wrong {
		t.Fatalf("what was typed is gone:\n%s", h.view())
	}
	h.key("ctrl+u")
	h.typeText(group)
	h.key("enter")
	h.mustSee("✓ the group's vault is", "You are not a member of the vault at", "Send this line to an admin",
		"wait until your shared folder brings their change", "opens here by itself")
	mustShowInFull(t, h, width, id.PublicKey(), id.Fingerprint(), group)
	if len(asked) != 2 {
		t.Fatalf("Join was called %d times", len(asked))
	}
	// Nothing changed: still waiting.
	h.tick()
	if h.m.state != stateSetup || !h.m.setup.notMember {
		t.Fatalf("left the waiting screen:\n%s", h.view())
	}

	// The admin adds them: the vault opens here by itself.
	v, err = vault.Open(group, vault.Options{Identity: admin, StateDir: adminState})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.AddMember(vault.NewMember{Name: "sam", PublicKey: id.PublicKey()}); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Share("airtable", []string{"sam"}); err != nil {
		t.Fatal(err)
	}
	v.Close()
	h.tick()
	h.mustSee("you were added by alex on", "you can read 1 secret", "airtable")
	if h.m.state != stateReady {
		t.Fatalf("did not open once added:\n%s", h.view())
	}
}

// TestJoinAlreadyMember: joining a vault the key opens already goes
// straight to it, with the welcome Join reports.
func TestJoinAlreadyMember(t *testing.T) {
	opts, id := newcomer(t, vault.Classic)
	group := filepath.Join(t.TempDir(), "eastside.db")
	v, err := vault.Create(group, vault.CreateOptions{Options: vault.Options{Identity: id, StateDir: opts.StateDir}, Name: "Eastside", MemberName: "sam", PublicKey: id.PublicKey()})
	if err != nil {
		t.Fatal(err)
	}
	v.Close()
	opts.Join = func(string, *vault.Identity) (JoinResult, error) {
		return JoinResult{VaultPath: group, Welcome: "you were added by alex on 2026-11-26; you can read 3 secrets"}, nil
	}
	h := newHarness(t, opts)
	h.key("j")
	h.typeText(group)
	h.key("enter")
	h.mustSee("you were added by alex on 2026-11-26", "Eastside", "No secrets yet")
	if h.m.state != stateReady {
		t.Fatalf("not opened:\n%s", h.view())
	}
}

// TestNoJoinWithoutOption: without Options.Join (the demo), the screen
// names the command instead, and j does nothing.
func TestNoJoinWithoutOption(t *testing.T) {
	opts, _ := newcomer(t, vault.Classic)
	h := newHarness(t, opts)
	h.mustSee("vault join FILE_OR_GIT_URL")
	h.mustNotSee("j  join")
	h.key("j")
	if h.m.setup.form != nil {
		t.Fatal("j opened a form without a way to join")
	}
}
