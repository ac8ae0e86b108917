package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/charmbracelet/x/exp/golden"

	"github.com/mutual-aid-vault/vault/rotation"
	"github.com/mutual-aid-vault/vault/vault"
)

// The hostile record: what a member who writes the vault with other tools
// could put in a secret's fields. The vault package refuses control
// characters in what it reads back (vault.TestHostileRecord shows the
// forged change refused); these tests show that even a record that got
// through would reach the terminal harmless: show, list and log render
// every control and escape character visibly (like cat -v).
const (
	osc52      = "\x1b]52;c;aHVudGVyMg==\x07"                       // writes the clipboard
	titleSet   = "\x1b]0;x\x07"                                     // changes the window title
	clearAll   = "\x1b[2J"                                          // clears the screen
	fakePrompt = "\rPassphrase for alice (not shown): "             // overwrites the line
	c1Bidi     = "\u009b2J \u202egpj.exe\u202c \u2066x\u2069\u200b" // what typed input lets through
)

func hostileSecret() vault.Secret {
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	return vault.Secret{
		Name:        "air\x1b[31mtable",
		Username:    "intake\u202e@example.org",
		URL:         "https://example.org/" + clearAll,
		Note:        "line one " + osc52 + "\nline two " + titleSet + clearAll + fakePrompt + "\n" + c1Bidi,
		SharedWith:  []string{"@intake", "bob\x1b[8m"},
		Readers:     []string{"alice", "bob\x1b[8m"},
		CanRead:     true,
		Version:     1,
		RotateEvery: rotation.Period{Months: 6},
		LastRotated: at,
		State:       rotation.OK,
		Reason:      "due in 5 months",
		Created:     at,
		CreatedBy:   "mallory\x07",
		Updated:     at,
		UpdatedBy:   "mallory\x07",
	}
}

func hostileEvents() []vault.Event {
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	return []vault.Event{
		{Seq: 1, At: at, Actor: "mallory" + titleSet, Action: "secret.add", Target: "air\x1b[31mtable", Detail: "note " + osc52, Summary: "mallory added airtable"},
		{Seq: 2, At: at, Actor: "mallory", Action: "secret.edit", Target: "x" + fakePrompt, Rejected: "the note contains a control character " + clearAll},
	}
}

// checkTerminalSafe fails if out holds anything a terminal acts on: a
// control character other than a newline, DEL, a C1 control or a format
// character such as a bidi override.
func checkTerminalSafe(t *testing.T, out string) {
	t.Helper()
	for _, r := range out {
		if r < 0x20 && r != '\n' || r == 0x7f || r >= 0x80 && r <= 0x9f || unicode.Is(unicode.Cf, r) {
			t.Fatalf("output holds %U:\n%s", r, out)
		}
	}
}

func TestHostileRecordShown(t *testing.T) {
	for _, tc := range []struct {
		name  string
		write func(w *bytes.Buffer) error
	}{
		{"show", func(w *bytes.Buffer) error { return writeShow(w, hostileSecret()) }},
		{"list", func(w *bytes.Buffer) error { return writeList(w, []vault.Secret{hostileSecret()}) }},
		{"log", func(w *bytes.Buffer) error { return writeLog(w, hostileEvents()) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tc.write(&b); err != nil {
				t.Fatal(err)
			}
			checkTerminalSafe(t, b.String())
			golden.RequireEqual(t, b.String())
		})
	}
}

// TestHostileRecordJSON: --json escapes ESC, DEL, C1 and format characters,
// and reads back as exactly the record.
func TestHostileRecordJSON(t *testing.T) {
	var b bytes.Buffer
	a := &app{stdout: &b}
	s := hostileSecret()
	s.Note += "\x7f"
	if err := a.printJSON(s); err != nil {
		t.Fatal(err)
	}
	checkTerminalSafe(t, b.String())
	for _, want := range []string{`\u001b]52;c;`, `\u009b2J`, `\u202e`, `\u2066`, `\u200b`, `\u007f`} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("the JSON lacks %s:\n%s", want, b.String())
		}
	}
	var back map[string]any
	if err := json.Unmarshal(b.Bytes(), &back); err != nil || back["note"] != s.Note || back["username"] != s.Username || back["name"] != s.Name {
		t.Fatalf("the JSON reads back as %q (%v)", back, err)
	}
	var list bytes.Buffer
	if err := printJSONList(&list, []vault.Secret{s}); err != nil {
		t.Fatal(err)
	}
	checkTerminalSafe(t, list.String())
}

// TestTypedOddCharacters: typed input accepts C1 controls and bidi
// overrides in a note, username or URL (older versions stored them, and a
// note in Arabic or Hebrew may need them); every command shows them
// escaped, while 'vault get --field' gives the field exactly as stored.
func TestTypedOddCharacters(t *testing.T) {
	c := newCLI(t)
	c.must("", "keygen", "--no-passphrase")
	c.must("", "init", "--me", "alice")
	note := "first " + c1Bidi + "\nsecond line"
	c.must("hunter2\n", "add", "airtable", "--username", "in\u202etake", "--url", "https://example.org/\u0085", "--note", note)
	for _, args := range [][]string{{"show", "airtable"}, {"list"}, {"log"}, {"history", "airtable"}, {"list", "--json"}, {"show", "airtable", "--json"}, {"log", "--json"}} {
		code, out, errs := c.run("", args...)
		if code != 0 {
			t.Fatalf("vault %v: exit %d: %s", args, code, errs)
		}
		checkTerminalSafe(t, out)
		checkTerminalSafe(t, errs)
	}
	out := c.must("", "show", "airtable")
	for _, want := range []string{`in\u202etake`, `https://example.org/\u0085`, "first \\u009b2J \\u202egpj.exe\\u202c \\u2066x\\u2069\\u200b\n" + strings.Repeat(" ", len("note:            ")) + "second line\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
	if got := c.must("", "get", "airtable", "--field", "note"); got != note+"\n" {
		t.Errorf("get --field note = %q, want the note as stored, %q", got, note)
	}
	// A message quoting a name from the vault is shown escaped too.
	code, _, errs := c.run("", "get", "in\u202etake")
	if code != exitNotFound || !strings.Contains(errs, `in\u202etake`) {
		t.Errorf("get of an odd name: exit %d, %q", code, errs)
	}
}

// TestWords: counts and articles read right.
func TestWords(t *testing.T) {
	for n, want := range map[int]string{8: "an 8-character", 11: "an 11-character", 18: "an 18-character", 80: "an 80-character",
		83: "an 83-character", 1: "a 1-character", 12: "a 12-character", 24: "a 24-character", 100: "a 100-character", 111: "a 111-character", 800: "an 800-character"} {
		if got := sized(n, "character"); got != want {
			t.Errorf("sized(%d) = %q, want %q", n, got, want)
		}
	}
	for n, want := range map[int]string{0: "0 secrets", 1: "1 secret", 2: "2 secrets"} {
		if got := plural(n, "secret"); got != want {
			t.Errorf("plural(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestGeneratedWords: 'vault add --generate --length 8' says "an
// 8-character password", and the rules say "1 digit".
func TestGeneratedWords(t *testing.T) {
	c := newCLI(t)
	c.must("", "keygen", "--no-passphrase")
	c.must("", "init", "--me", "alice")
	_, _, errs := c.run("", "add", "pin", "--generate", "--length", "8", "--digits", "1", "--no-symbols")
	if !strings.Contains(errs, "generated an 8-character password") {
		t.Errorf("add --generate said %q", errs)
	}
	if out := c.must("", "show", "pin"); !strings.Contains(out, "8 characters, 1 digit, no symbols") {
		t.Errorf("show:\n%s", out)
	}
}
