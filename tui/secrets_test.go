package tui

import (
	"os"
	"strings"
	"testing"

	"github.com/mutual-aid-vault/vault/rotation"
	"github.com/mutual-aid-vault/vault/vault"
)

// The demo vault's values, which must never be on screen unless revealed.
var demoValues = []string{"correct-Horse-42-battery", "Call-Log-2025!", "inbox-Spring-77", "inbox-Autumn-2026", "sl4ck-Admin-#1", "0815", "4711", "Tr3asury-Online-8", "portal-Winter-3", "cash-4-2-9"}

func TestValueAbsentUntilRevealed(t *testing.T) {
	h := demo(t)
	h.mustNotSee(demoValues...)
	h.selectSecret("airtable")
	h.mustSee("airtable", "intake@eastside.example", "enter shows it")
	h.mustNotSee(demoValues...)

	h.key("enter")
	h.mustSee("correct-Horse-42-battery", "hidden again in 30s")
	// enter again hides it.
	h.key("enter")
	h.mustNotSee(demoValues...)

	// Moving away hides it.
	h.key("enter")
	h.mustSee("correct-Horse-42-battery")
	h.key("down")
	h.mustNotSee(demoValues...)
	h.key("up")
	h.mustNotSee(demoValues...)

	// The timer hides it.
	h.key("enter")
	h.mustSee("correct-Horse-42-battery")
	h.send(hideMsg{gen: h.secrets().revealGen})
	h.mustNotSee(demoValues...)
	if h.secrets().revealed != nil {
		t.Fatal("the value is still held after hiding")
	}

	// Leaving the screen hides it.
	h.key("enter")
	h.key("tab")
	h.key("shift+tab", "shift+tab")
	h.mustNotSee(demoValues...)
}

func TestCannotRevealWithoutReading(t *testing.T) {
	h := demo(t)
	h.selectSecret("bank/cash-box")
	h.mustSee("you cannot read it")
	h.key("enter")
	h.mustSee("you are not a reader of bank/cash-box")
	h.mustNotSee(demoValues...)
}

func TestFilter(t *testing.T) {
	h := demo(t)
	h.key("x") // the banner names secrets too
	h.key("/")
	h.typeText("bank")
	h.mustSee("bank/online", "bank/cash-box", "2 of 8")
	h.mustNotSee("airtable", "slack-admin")
	h.typeText("/onl")
	h.mustSee("bank/online", "1 of 8")
	h.mustNotSee("cash-box")
	// Filters ignore case.
	h.key("backspace", "backspace", "backspace", "backspace", "backspace", "backspace", "backspace", "backspace")
	h.typeText("BANK")
	h.mustSee("bank/online", "bank/cash-box")
	// enter keeps the filter; esc clears it.
	h.key("enter")
	h.mustSee("2 of 8")
	h.key("esc")
	h.mustSee("airtable", "slack-admin", "8 secrets")
	// Nothing matches.
	h.key("/")
	h.typeText("zzz")
	h.mustSee("Nothing matches the filter")
	h.key("esc")
	h.mustSee("airtable")
}

func TestRotateConfirm(t *testing.T) {
	h := demo(t)
	h.selectSecret("slack-admin")
	h.key("r")
	h.mustSee("Rotate slack-admin", "24 characters", "g  generate")
	h.key("g")
	h.mustSee("PENDING", "A new password (version 2) is pending", "https://eastside.slack.com")
	h.mustNotSee(demoValues...)
	// The pending value shows only when asked.
	h.key("v")
	s := h.secrets()
	if s.revealed == nil || !s.revealedPen || len(s.revealed.Bytes()) != 24 {
		t.Fatalf("the new password is not shown: %+v", s.revealed)
	}
	newValue := string(s.revealed.Bytes())
	h.mustSee(newValue)
	h.key("y")
	h.mustSee("Rotated slack-admin: version 2 is current")
	h.mustNotSee(newValue)
	got, err := h.v().Reveal("slack-admin", 0)
	if err != nil || string(got.Bytes()) != newValue {
		t.Fatalf("current value after confirm: %v", err)
	}
	old, _ := h.v().Reveal("slack-admin", 1)
	if string(old.Bytes()) != "sl4ck-Admin-#1" {
		t.Fatal("the old value is not in history")
	}
	h.key("esc")
	h.mustSee("slack-admin")
}

func TestRotateAbortAndPendingEverywhere(t *testing.T) {
	h := demo(t)
	// The demo's shared-inbox has a rotation pending: visible on the list.
	h.mustSee("PENDING     shared-inbox")
	h.selectSecret("shared-inbox")
	h.mustSee("rotation pending")
	h.key("r")
	h.mustSee("A new password (version 2) is pending")
	h.key("x")
	h.mustSee("Dropped the new password of shared-inbox (kept in history as version 2)")
	sec, err := h.v().Get("shared-inbox")
	if err != nil || sec.Pending || sec.State == rotation.Pending {
		t.Fatalf("after abort: %+v, %v", sec, err)
	}
	cur, _ := h.v().Reveal("shared-inbox", 0)
	kept, _ := h.v().Reveal("shared-inbox", 2)
	if string(cur.Bytes()) != "inbox-Spring-77" || string(kept.Bytes()) != "inbox-Autumn-2026" {
		t.Fatal("abort lost a value")
	}
}

// TestFailingVaultShowsError: when the vault stops answering, the screen
// says so; nothing crashes.
func TestFailingVaultShowsError(t *testing.T) {
	h := demo(t)
	h.selectSecret("airtable")
	// The file goes away (a sync tool, a mistake): every action says so.
	if err := os.Rename(h.m.sh.opts.VaultPath, h.m.sh.opts.VaultPath+".gone"); err != nil {
		t.Fatal(err)
	}
	h.key("enter")
	h.mustSee("no vault at")
	h.key("r", "g")
	h.mustSee("no vault at")
	h.key("esc", "tab")
	h.mustSee("no vault at")
	h.key("tab")
	h.mustSee("no vault at")
	// It comes back: things work again.
	if err := os.Rename(h.m.sh.opts.VaultPath+".gone", h.m.sh.opts.VaultPath); err != nil {
		t.Fatal(err)
	}
	h.key("tab")
	h.mustSee("airtable")
}

func TestAddForm(t *testing.T) {
	h := demo(t)
	h.key("a")
	h.mustSee("Add a secret", "Name")
	h.typeText("food-bank")
	h.key("tab")
	h.typeText("pantry")
	h.key("tab", "tab", "tab")
	h.typeText("sam")
	h.key("tab")
	h.typeText("pantry-Pass-99")
	h.mustNotSee("pantry-Pass-99")
	// Nothing shows the length of what was typed, either.
	if !strings.Contains(h.view(), "(typing is hidden)") {
		t.Fatalf("no hidden input:\n%s", h.view())
	}
	h.key("tab", "tab")
	h.typeText("2026-10-01")
	h.key("enter")
	h.mustSee("Added food-bank, shared with alex, sam.")
	h.mustNotSee("pantry-Pass-99")
	got, err := h.v().Reveal("food-bank", 0)
	if err != nil || string(got.Bytes()) != "pantry-Pass-99" {
		t.Fatalf("stored value: %v", err)
	}
	// A bad date is said in the form, nothing stored.
	h.key("a")
	h.typeText("bad-date")
	h.key("tab", "tab", "tab", "tab", "tab", "tab", "tab")
	h.typeText("yesterday")
	h.key("enter")
	h.mustSee("write the date as YYYY-MM-DD")
	h.key("esc")
	if _, err := h.v().Get("bad-date"); err == nil {
		t.Fatal("a refused form stored a secret")
	}
}

func TestDeleteAndRestore(t *testing.T) {
	h := demo(t)
	h.selectSecret("slack-admin")
	h.key("d")
	h.mustSee("Move slack-admin to the trash?")
	h.key("n")
	h.mustSee("slack-admin")
	h.key("d", "y")
	h.mustSee("Moved slack-admin to the trash.")
	h.mustNotSee("OK          slack-admin")
	h.key("t")
	h.mustSee("Trash", "▸ old-wifi", "slack-admin")
	h.key("down", "r")
	h.mustSee("Restored slack-admin.")
	h.key("esc")
	h.mustSee("slack-admin")
}

func TestHistoryRestore(t *testing.T) {
	h := demo(t)
	h.selectSecret("dispatch/van-lockbox")
	h.key("h")
	h.mustSee("History of dispatch/van-lockbox", "version 1", "previous", "version 2", "current")
	h.key("r")
	h.mustSee("Make version 1 of dispatch/van-lockbox the current value again?")
	h.key("y")
	h.mustSee("Version 1 of dispatch/van-lockbox is current again (as version 3).")
	got, _ := h.v().Reveal("dispatch/van-lockbox", 0)
	if string(got.Bytes()) != "4711" {
		t.Fatal("not restored")
	}
}

func TestShareFlow(t *testing.T) {
	h := demo(t)
	h.selectSecret("slack-admin")
	h.key("s")
	h.mustSee("Share slack-admin", "[ ] @cash (jo, kim)", "[x] sam")
	h.key("down", "down", "down", "down") // from @cash past @dispatch, @intake, alex to jo
	h.mustSee("▸ [ ] jo")
	h.key("space")
	h.mustSee("jo will be able to read this")
	h.key("down", "down", "space") // sam off
	h.mustSee("removing sam marks it rotate-now")
	h.key("enter")
	h.mustSee("slack-admin is shared with alex, jo.", "Marked rotate-now: sam could read it.")
}

func TestBannerAndQuit(t *testing.T) {
	h := demo(t)
	h.mustSee("to rotate now (airtable, intake/call-log)")
	h.key("x")
	h.mustNotSee("to rotate now (airtable")
	h.key("?")
	h.mustSee("page up", "trash")
	h.key("q")
	if !h.quit {
		t.Fatal("q did not quit")
	}
}

// TestFitsTheTerminal: at 80x24 and after a resize, no line is wider than
// the terminal and the screen is no taller.
func TestFitsTheTerminal(t *testing.T) {
	h := demo(t)
	for _, size := range [][2]int{{80, 24}, {100, 30}, {60, 20}} {
		h.send(teaSize(size[0], size[1]))
		for _, keys := range [][]string{nil, {"r"}, {"esc", "tab"}, {"tab"}, {"tab", "a"}, {"esc"}} {
			h.key(keys...)
			lines := strings.Split(strings.TrimRight(h.view(), "\n"), "\n")
			if len(lines) > size[1] {
				t.Fatalf("%dx%d after %v: %d lines:\n%s", size[0], size[1], keys, len(lines), h.view())
			}
			for _, l := range lines {
				if w := displayWidth(l); w > size[0] {
					t.Fatalf("%dx%d after %v: a line of %d cells: %q", size[0], size[1], keys, w, l)
				}
			}
		}
	}
}

// TestFilterDidYouMean: a filter that matches nothing suggests the names
// on the list it may have been meant for.
func TestFilterDidYouMean(t *testing.T) {
	h := demo(t)
	h.key("/")
	h.typeText("airtabel")
	h.mustSee("Nothing matches the filter; did you mean airtable? esc clears it.")
	h.key("esc", "/")
	h.typeText("call-log")
	h.mustSee("intake/call-log")
	h.mustNotSee("did you mean")
	h.key("esc", "/")
	h.typeText("zzzz")
	h.mustSee("Nothing matches the filter; esc clears it.")
}

// TestWordsOne: one secret is "1 secret", on the list and beside a member.
func TestWordsOne(t *testing.T) {
	sh := &shared{keys: DefaultKeyMap(), styles: DefaultStyles(true)}
	s := newSecretsScreen(sh)
	s.SetSize(80, 24)
	s.items, s.loaded = []vault.Summary{{Name: "airtable", CanRead: true}}, true
	s.applyFilter()
	if v := stripANSI(s.listView()); !strings.Contains(v, "1 secret, most urgent first") {
		t.Errorf("list:\n%s", v)
	}
	m := newMembersScreen(sh)
	m.SetSize(80, 24)
	m.list.set([]memberRow{{m: vault.Member{Name: "kim"}, reads: 1}, {m: vault.Member{Name: "sam"}, reads: 12}}, nil)
	v := stripANSI(m.View())
	if !strings.Contains(v, "kim            none                     1 secret   active") || !strings.Contains(v, "sam            none                    12 secrets  active") {
		t.Errorf("members:\n%s", v)
	}
}

// TestEditFormShowsFieldsSafely: the edit form, filled with a secret's
// fields, shows a bidi override or C1 control in them escaped, and saves
// the fields unchanged.
func TestEditFormShowsFieldsSafely(t *testing.T) {
	l := newLineInput()
	l.SetValue("in\u202etake\u009b2J")
	for _, focused := range []bool{false, true} {
		if focused {
			l.Focus()
		}
		v := stripANSI(l.View())
		if !strings.Contains(v, `in\u202etake\u009b2J`) || strings.ContainsRune(v, '\u202e') || strings.ContainsRune(v, '\u009b') {
			t.Errorf("focused %v: %q", focused, v)
		}
	}
	if l.Value() != "in\u202etake\u009b2J" {
		t.Errorf("the value changed: %q", l.Value())
	}
}
