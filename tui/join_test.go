package tui

import (
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
