package tui

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/mutual-aid-vault/vault/vault"
)

// liveGroup is a vault of two members, alex (an admin) and sam, each on a
// machine of their own (a state folder each), so that one can change the
// vault while the other has it open in the UI.
type liveGroup struct {
	t      *testing.T
	path   string
	ids    map[string]*vault.Identity
	states map[string]string
}

// longName is a secret name near the limit of 128 characters: whatever
// names it must wrap, never be cut.
const longName = "intake/the-shared-spreadsheet-of-volunteer-intake-calls-for-the-dispatch-team-and-the-grocery-team"

func newLiveGroup(t *testing.T) *liveGroup {
	t.Helper()
	dir := t.TempDir()
	g := &liveGroup{t: t, path: filepath.Join(dir, "vault.db"), ids: map[string]*vault.Identity{}, states: map[string]string{}}
	for _, who := range []string{"alex", "sam"} {
		id, err := vault.GenerateIdentity(vault.Classic)
		if err != nil {
			t.Fatal(err)
		}
		g.ids[who], g.states[who] = id, filepath.Join(dir, who+"-state")
	}
	v, err := vault.Create(g.path, vault.CreateOptions{Options: g.vaultOptions("alex"), Name: "Eastside", MemberName: "alex", PublicKey: g.ids["alex"].PublicKey()})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if _, err := v.AddMember(vault.NewMember{Name: "sam", PublicKey: g.ids["sam"].PublicKey(), Admin: true}); err != nil {
		t.Fatal(err)
	}
	ago := func(months int) time.Time { return demoNow.AddDate(0, -months, 0) }
	for _, e := range []vault.Entry{
		{Secret: vault.NewSecret{Name: "airtable", Username: "intake", Share: []string{"sam"}, LastRotated: ago(9)}, Value: vault.NewValue([]byte("airtable-value"))},
		{Secret: vault.NewSecret{Name: "bank", LastRotated: ago(7)}, Value: vault.NewValue([]byte("bank-value"))},
		{Secret: vault.NewSecret{Name: "call-log", Username: "callers", Share: []string{"sam"}, LastRotated: ago(1)}, Value: vault.NewValue([]byte("call-log-value"))},
		{Secret: vault.NewSecret{Name: longName, LastRotated: ago(1)}, Value: vault.NewValue([]byte("long-value"))},
	} {
		if _, err := v.Add(e.Secret, e.Value); err != nil {
			t.Fatal(err)
		}
	}
	return g
}

func (g *liveGroup) vaultOptions(who string) vault.Options {
	return vault.Options{Identity: g.ids[who], StateDir: g.states[who], Clock: fixed(demoNow)}
}

// opts are the UI's options for who.
func (g *liveGroup) opts(who string) Options {
	return Options{VaultPath: g.path, IdentityPath: filepath.Join(g.states[who], "unused.key"), StateDir: g.states[who],
		Identity: g.ids[who], Clock: fixed(demoNow), Getenv: func(string) string { return "" }}
}

// as changes the vault as who, on their own machine, while the UI is
// open elsewhere.
func (g *liveGroup) as(who string, fn func(v *vault.Vault) error) {
	g.t.Helper()
	v, err := vault.Open(g.path, g.vaultOptions(who))
	if err != nil {
		g.t.Fatal(err)
	}
	defer v.Close()
	if err := fn(v); err != nil {
		g.t.Fatal(err)
	}
}

func (g *liveGroup) add(who, name string) {
	g.t.Helper()
	g.as(who, func(v *vault.Vault) error {
		_, err := v.Add(vault.NewSecret{Name: name, Share: []string{"alex", "sam"}}, vault.NewValue([]byte(name+"-value")))
		return err
	})
}

func (g *liveGroup) trash(who, name string) {
	g.t.Helper()
	g.as(who, func(v *vault.Vault) error { return v.Remove(name) })
}

func selectedName(h *harness) string {
	cur, ok := h.secrets().selected()
	if !ok {
		return ""
	}
	return cur.Name
}

// TestFileStamp: a look at the file tells a changed file from an
// unchanged one, a change being a new file renamed over the old.
func TestFileStamp(t *testing.T) {
	g := newLiveGroup(t)
	a, b := stampFile(g.path), stampFile(g.path)
	if a.info == nil || !a.same(b) {
		t.Fatal("two looks at an unchanged file differ")
	}
	g.add("sam", "new-one")
	if c := stampFile(g.path); a.same(c) {
		t.Fatal("a change to the vault went unseen")
	}
	if missing := stampFile(filepath.Join(t.TempDir(), "none.db")); missing.same(a) || !missing.same(fileStamp{}) {
		t.Fatal("a missing file compares wrong")
	}
}

// TestReloadKeepsSelection: changes made elsewhere (another member's
// machine, or another terminal on this one) show at the next look, the
// selection stays on the same secret, and the notice is recomputed.
func TestReloadKeepsSelection(t *testing.T) {
	g := newLiveGroup(t)
	h := newHarness(t, g.opts("alex"))
	h.mustOpen()
	h.mustSee("secrets overdue for rotation (airtable, bank)", "airtable", "call-log")
	h.selectSecret("call-log")
	before := h.secrets().cursor

	// A look with nothing changed reloads nothing.
	known := h.m.known
	h.tick()
	if !h.m.known.same(known) || selectedName(h) != "call-log" {
		t.Fatal("a look at an unchanged file changed something")
	}

	// sam, on their machine, moves airtable (above call-log) to the trash.
	g.trash("sam", "airtable")
	h.tick()
	h.mustSee("New since you last looked:", "1 secret overdue for rotation (bank)")
	h.mustNotSee("airtable, bank")
	if s := h.secrets(); selectedName(h) != "call-log" || s.cursor != before-1 {
		t.Fatalf("the selection did not stay on call-log: %q at %d\n%s", selectedName(h), s.cursor, h.view())
	}
	for _, it := range h.secrets().items {
		if it.Name == "airtable" {
			t.Fatalf("airtable is still listed:\n%s", h.view())
		}
	}

	// Another terminal on this machine (alex's own state) adds one.
	g.add("alex", "zeta")
	h.tick()
	h.mustSee("zeta")
	if selectedName(h) != "call-log" {
		t.Fatalf("the selection moved to %q", selectedName(h))
	}

	// A value on screen stays through a reload that does not change it.
	h.key("enter")
	h.mustSee("call-log-value")
	g.add("sam", "omega")
	h.tick()
	h.mustSee("omega", "call-log-value")
	// ...and goes when it changes elsewhere.
	g.as("sam", func(v *vault.Vault) error {
		_, err := v.Set("call-log", vault.NewValue([]byte("changed-elsewhere")))
		return err
	})
	h.tick()
	h.mustNotSee("call-log-value")

	// A dismissed notice stays dismissed when nothing new comes.
	h.key("x")
	h.mustNotSee("overdue for rotation")
	g.add("sam", "psi")
	h.tick()
	h.mustSee("psi")
	h.mustNotSee("overdue for rotation")
}

// TestReloadKeepsTyping: the filter and a form keep what is being typed
// through a reload.
func TestReloadKeepsTyping(t *testing.T) {
	g := newLiveGroup(t)
	h := newHarness(t, g.opts("alex"))
	h.mustOpen()
	h.key("/")
	h.typeText("ca")
	h.mustSee("call-log")
	g.add("sam", "cable")
	h.tick()
	h.mustSee("cable", "call-log")
	if s := h.secrets(); s.mode != modeFilter || s.filter.Value() != "ca" {
		t.Fatalf("the filter lost its text: mode %v, %q", s.mode, s.filter.Value())
	}
	if s := h.secrets(); len(s.shown) != 3 {
		t.Fatalf("the filter no longer applies:\n%s", h.view())
	}
	h.key("esc")

	h.selectSecret("call-log")
	h.mustSee("username     callers")
	h.key("e")
	h.mustSee("Edit call-log")
	h.typeText("-and-more")
	g.add("sam", "another")
	h.tick()
	if s := h.secrets(); s.form == nil || s.form.value("Username") != "callers-and-more" {
		t.Fatalf("the form lost what was typed:\n%s", h.view())
	}
}

// TestEditTrashedElsewhere: a secret being edited here goes to the trash
// elsewhere: the member is told, by whom, that the edit was not saved,
// nothing typed is lost, and saving again restores it with the edit.
func TestEditTrashedElsewhere(t *testing.T) {
	for _, live := range []bool{false, true} {
		name := map[bool]string{false: "found on saving", true: "found by the next look"}[live]
		t.Run(name, func(t *testing.T) {
			g := newLiveGroup(t)
			h := newHarness(t, g.opts("alex"))
			h.send(teaSize(60, 30))
			h.mustOpen()
			h.selectSecret("call-log")
			h.mustSee("username     callers")
			h.key("e")
			h.typeText("-new")
			g.trash("sam", "call-log")
			if live {
				h.tick()
				h.mustSee("call-log was moved to the trash by sam meanwhile; saving your edit now would fail.")
			} else {
				h.key("ctrl+s")
				h.mustSee("call-log was moved to the trash by sam meanwhile; your edit was not saved.")
			}
			h.mustSee("Press ctrl+s to restore it from the trash and save your edit, or esc to drop your edit.")
			mustShowInFull(t, h, 60, "call-log was moved to the trash by sam meanwhile")
			s := h.secrets()
			if s.mode != modeForm || s.form.value("Username") != "callers-new" {
				t.Fatalf("what was typed is gone:\n%s", h.view())
			}
			h.key("ctrl+s")
			h.mustSee("Restored call-log from the trash and saved your edit.")
			sec, err := h.v().Get("call-log")
			if err != nil || sec.Deleted != nil || sec.Username != "callers-new" {
				t.Fatalf("call-log: %+v, %v", sec, err)
			}
		})
	}

	t.Run("deleted for good", func(t *testing.T) {
		g := newLiveGroup(t)
		h := newHarness(t, g.opts("alex"))
		h.mustOpen()
		h.selectSecret("call-log")
		h.mustSee("username     callers")
		h.key("e")
		h.typeText("-new")
		g.trash("sam", "call-log")
		g.as("sam", func(v *vault.Vault) error { return v.Purge("call-log") })
		h.key("ctrl+s")
		h.mustSee("call-log was deleted for good meanwhile; your edit was not saved. It cannot be saved; what you typed stays here until esc.")
		if s := h.secrets(); s.mode != modeForm || s.form.value("Username") != "callers-new" {
			t.Fatalf("what was typed is gone:\n%s", h.view())
		}
	})
}

// TestRotateDialogSecretGone: the rotate dialog of a secret trashed
// elsewhere closes, saying so, rather than act on the secret that took its
// place on the list.
func TestRotateDialogSecretGone(t *testing.T) {
	g := newLiveGroup(t)
	h := newHarness(t, g.opts("alex"))
	h.mustOpen()
	h.selectSecret("airtable")
	h.mustSee("username     intake")
	h.key("r")
	h.mustSee("Rotate airtable")
	g.trash("sam", "airtable")
	h.tick()
	h.mustSee("airtable was moved to the trash by sam meanwhile; nothing was changed here.")
	if s := h.secrets(); s.mode != modeList {
		t.Fatalf("still in the dialog:\n%s", h.view())
	}
	h.mustNotSee("Rotate airtable")
}

// TestMembersReloadKeepsSelection: the members list is read again when
// the vault changes, the selection staying on the same member.
func TestMembersReloadKeepsSelection(t *testing.T) {
	g := newLiveGroup(t)
	h := newHarness(t, g.opts("alex"))
	h.mustOpen()
	h.key("x", "tab")
	h.mustSee("Members", "sam")
	h.key("down")
	if r, _ := h.m.screens[1].(*membersScreen).list.selected(); r.m.Name != "sam" {
		t.Fatalf("sam is not selected: %q", r.m.Name)
	}
	newcomer, err := vault.GenerateIdentity(vault.Classic)
	if err != nil {
		t.Fatal(err)
	}
	g.as("sam", func(v *vault.Vault) error {
		_, err := v.AddMember(vault.NewMember{Name: "aaron", PublicKey: newcomer.PublicKey()})
		return err
	})
	h.tick()
	h.mustSee("aaron")
	if r, _ := h.m.screens[1].(*membersScreen).list.selected(); r.m.Name != "sam" {
		t.Fatalf("the selection moved to %q", r.m.Name)
	}
}

// TestRemovedMeanwhile: a member removed elsewhere while the UI is open is
// told so at the next look, in full.
func TestRemovedMeanwhile(t *testing.T) {
	g := newLiveGroup(t)
	h := newHarness(t, g.opts("sam"))
	h.send(teaSize(50, 30))
	h.mustOpen()
	g.as("alex", func(v *vault.Vault) error { _, err := v.RemoveMember("sam", false, nil); return err })
	h.tick()
	if h.m.state != stateFailed {
		t.Fatalf("not told:\n%s", h.view())
	}
	mustShowInFull(t, h, 50, "you were removed from this vault by alex on 2026-11-26; send your public key ('vault pubkey') to an admin")
}

// TestBannerAfterRotate: rotating here takes the secret off the notice
// at once.
func TestBannerAfterRotate(t *testing.T) {
	h := demo(t)
	h.mustSee("2 secrets to rotate now (airtable, intake/call-log)")
	h.selectSecret("airtable")
	h.key("r")
	h.mustSee("Rotate airtable")
	h.key("g")
	h.mustSee("is pending")
	h.key("y")
	h.mustSee("Rotated airtable", "1 secret to rotate now (intake/call-log)")
	h.mustNotSee("(airtable, intake/call-log)")
}

// TestLongStatusWraps: a long message on the status line wraps to the
// window, however narrow, and the screen makes room for it.
func TestLongStatusWraps(t *testing.T) {
	g := newLiveGroup(t)
	for _, width := range []int{80, 40} {
		h := newHarness(t, g.opts("sam"))
		h.send(teaSize(width, 24))
		h.mustOpen()
		h.selectSecret(longName)
		h.key("c")
		want := "you are not a reader of " + longName + "; ask one of its readers or an admin to share it with you"
		h.mustSee("you are not a reader of")
		mustShowInFull(t, h, width, want)
		if n := len(strings.Split(h.view(), "\n")); n > 24 {
			t.Fatalf("the screen is %d lines, more than the window's 24:\n%s", n, h.view())
		}
	}
}

// TestGoldenLongError: the whole screen with a long error, wrapped.
func TestGoldenLongError(t *testing.T) {
	g := newLiveGroup(t)
	out := runGolden(t, New(g.opts("sam")),
		goldenStep{want: "most urgent first"},
		goldenStep{keys: []string{"x", "down", "down", "down"}, want: "you cannot read it"},
		goldenStep{keys: []string{"c"}, want: "share it with you"})
	golden.RequireEqual(t, out)
}

// TestGoldenEditTrashedElsewhere: the edit form of a secret trashed
// elsewhere, as the next look finds it.
func TestGoldenEditTrashedElsewhere(t *testing.T) {
	g := newLiveGroup(t)
	opts := g.opts("alex")
	opts.Watch = 50 * time.Millisecond
	out := runGolden(t, New(opts),
		goldenStep{want: "most urgent first"},
		goldenStep{keys: []string{"x", "down", "down"}, want: "callers"},
		goldenStep{keys: []string{"e"}, want: "Edit call-log"},
		goldenStep{do: func() { g.trash("sam", "call-log") }, keys: []string{"-", "x"}, want: "restore it from the trash"})
	golden.RequireEqual(t, out)
}

// TestLiveReloadProgram: the real program, its own timer looking at the
// file, shows a secret another member adds.
func TestLiveReloadProgram(t *testing.T) {
	g := newLiveGroup(t)
	opts := g.opts("alex")
	opts.Watch = 50 * time.Millisecond
	tm := teatest.NewTestModel(t, New(opts), teatest.WithInitialTermSize(80, 24),
		teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.Ascii)))
	wait := func(want string) {
		t.Helper()
		teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte(want)) },
			teatest.WithDuration(20*time.Second), teatest.WithCheckInterval(20*time.Millisecond))
	}
	wait("most urgent first")
	g.add("sam", "added-by-sam")
	wait("added-by-sam")
	if err := tm.Quit(); err != nil {
		t.Fatal(err)
	}
	tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
}

// TestHistoryStaysOnItsSecret: the history of a secret trashed elsewhere
// while it is open still acts on that secret, not on the one that took
// its place on the list.
func TestHistoryStaysOnItsSecret(t *testing.T) {
	g := newLiveGroup(t)
	g.as("sam", func(v *vault.Vault) error {
		_, err := v.Set("call-log", vault.NewValue([]byte("second-value")))
		return err
	})
	h := newHarness(t, g.opts("alex"))
	h.mustOpen()
	h.selectSecret("call-log")
	h.key("h")
	h.mustSee("History of call-log", "version 2", "version 1")
	g.trash("sam", "call-log")
	h.tick()
	h.mustSee("History of call-log")
	if selectedName(h) == "call-log" {
		t.Fatal("call-log is still on the list")
	}
	h.key("r")
	h.mustSee("Make version 1 of call-log the current value again?")
}
