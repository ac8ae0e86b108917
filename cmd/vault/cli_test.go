package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mutual-aid-vault/vault/rotation"
	"github.com/mutual-aid-vault/vault/vault"
)

// noTTY is a terminal that is never there.
type noTTY struct{}

func (noTTY) Available() bool                   { return false }
func (noTTY) ReadSecret(string) ([]byte, error) { return nil, errNoTerminal }

// cli runs the program in-process with an environment of its own.
type cli struct {
	t   *testing.T
	env map[string]string
}

func newCLI(t *testing.T) *cli {
	dir := t.TempDir()
	return &cli{t: t, env: map[string]string{
		"HOME":       filepath.Join(dir, "home"),
		"VAULT_FILE": filepath.Join(dir, "vault.db"),
	}}
}

func (c *cli) run(stdin string, args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = runWith(append([]string{"vault"}, args...), strings.NewReader(stdin), &out, &errb,
		func(k string) string { return c.env[k] }, noTTY{}, options{scryptWorkFactor: 10})
	return code, out.String(), errb.String()
}

func (c *cli) must(stdin string, args ...string) string {
	c.t.Helper()
	code, out, errs := c.run(stdin, args...)
	if code != 0 {
		c.t.Fatalf("vault %v: exit %d: %s", args, code, errs)
	}
	return out
}

// TestBusy holds the vault open in this process in the middle of a change,
// as another vault command would. A second command waits for it, says so
// after a second, and gives up at --wait with exit 5 saying why; once the
// first is done, it goes through. (Two commands that only read do not hold
// each other up: the vault package tests that, and that a stopped writer
// is not waited for.)
func TestBusy(t *testing.T) {
	c := newCLI(t)
	c.must("", "keygen", "--no-passphrase")
	c.must("", "init", "--me", "alice")
	c.must("hunter2\n", "add", "airtable")
	id, err := vault.ReadIdentity(filepath.Join(c.env["HOME"], ".config", "vault", "identity.age"), nil)
	if err != nil {
		t.Fatal(err)
	}
	holder, err := vault.Open(c.env["VAULT_FILE"], vault.Options{Identity: id, StateDir: filepath.Join(c.env["HOME"], ".local", "state", "vault")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := holder.Add(vault.NewSecret{Name: "other"}, vault.NewValue([]byte("v"))); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	code, out, errs := c.run("", "get", "airtable", "--wait", "1500ms")
	if code != exitBusy || out != "" {
		t.Fatalf("exit %d, stdout %q; want exit 5 and nothing", code, out)
	}
	if d := time.Since(start); d < 1400*time.Millisecond {
		t.Fatalf("gave up after %v, before --wait", d)
	}
	lines := strings.Split(strings.TrimSuffix(errs, "\n"), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "waiting for") || !strings.Contains(lines[0], fmt.Sprintf("(process %d)", os.Getpid())) ||
		!strings.Contains(lines[1], "was still working after") || !strings.Contains(lines[1], "--wait") {
		t.Fatalf("stderr = %q", errs)
	}
	// It finishes while the other waits: the other goes through.
	go func() {
		time.Sleep(1500 * time.Millisecond)
		holder.Close()
	}()
	code, out, errs = c.run("", "get", "airtable")
	if code != 0 || out != "hunter2\n" || !strings.Contains(errs, "waiting for") {
		t.Fatalf("while the holder finished: exit %d, stdout %q, stderr %q", code, out, errs)
	}
}

// TestGetPrintsOnlyTheValue: stdout is exactly the value and a newline,
// byte for byte, whatever the value holds.
func TestGetPrintsOnlyTheValue(t *testing.T) {
	c := newCLI(t)
	c.must("", "keygen", "--no-passphrase")
	c.must("", "init", "--me", "alice")
	for _, value := range []string{"hunter2", "with spaces  ", "tab\there", "ünïcødé", "line1\nline2", "\x00binary\xff"} {
		c.must(value+"\n", "add", "v")
		if out := c.must("", "get", "v"); out != value+"\n" {
			t.Fatalf("get printed %q, want %q", out, value+"\n")
		}
		c.must("", "rm", "v")
		c.must("", "purge", "v")
	}
}

// TestExitCodes checks each documented exit code comes from the error it is
// documented for.
func TestExitCodes(t *testing.T) {
	c := newCLI(t)
	if code, _, _ := c.run("", "get", "x"); code != exitFailure {
		t.Fatalf("no vault: exit %d", code)
	}
	c.must("", "keygen", "--no-passphrase")
	c.must("", "init", "--me", "alice")
	for _, tt := range []struct {
		args []string
		want int
	}{
		{[]string{"get"}, exitUsage},
		{[]string{"get", "x", "--nope"}, exitUsage},
		{[]string{"nope"}, exitUsage},
		{[]string{"get", "x"}, exitNotFound},
		{[]string{"member", "rm", "x"}, exitNotFound},
	} {
		if code, _, errs := c.run("", tt.args...); code != tt.want {
			t.Errorf("vault %v: exit %d, want %d (%s)", tt.args, code, tt.want, errs)
		}
	}
	c.env["VAULT_IDENTITY"] = filepath.Join(t.TempDir(), "missing")
	if code, _, _ := c.run("", "list"); code != exitBadKey {
		t.Fatalf("missing identity: exit %d, want 6", code)
	}
}

// TestHugeInputs: oversized values and fields are refused with a clear
// error, and nothing is stored.
func TestHugeInputs(t *testing.T) {
	c := newCLI(t)
	c.must("", "keygen", "--no-passphrase")
	c.must("", "init", "--me", "alice")
	huge := strings.Repeat("x", vault.MaxValueSize+1)
	code, _, errs := c.run(huge, "add", "big")
	if code != exitFailure || !strings.Contains(errs, "larger than 64 KiB") {
		t.Fatalf("huge value: exit %d, %q", code, errs)
	}
	// Exactly the limit is fine, with or without the trailing newline.
	c.must(strings.Repeat("y", vault.MaxValueSize)+"\n", "add", "limit")
	if out := c.must("", "get", "limit"); len(out) != vault.MaxValueSize+1 {
		t.Fatalf("got %d bytes", len(out))
	}
	code, _, errs = c.run("v\n", "add", "note", "--note", strings.Repeat("n", 5000))
	if code != exitFailure || !strings.Contains(errs, "the note is longer than 4096 bytes") {
		t.Fatalf("huge note: exit %d, %q", code, errs)
	}
	code, _, errs = c.run("", "add", strings.Repeat("n", 200))
	if code != exitFailure || !strings.Contains(errs, "the limit is 128") {
		t.Fatalf("huge name: exit %d, %q", code, errs)
	}
	if out := c.must("", "list", "--json"); strings.Contains(out, `"big"`) || strings.Contains(out, `"note"`) {
		t.Fatalf("a refused secret was stored: %s", out)
	}
	for _, bad := range []string{"rtl\u202eevil", "zero\u200bwidth", "nul\x00"} {
		if code, _, errs := c.run("v\n", "add", bad); code != exitFailure || !strings.Contains(errs, "control or invisible character") {
			t.Errorf("name %q: exit %d, %q", bad, code, errs)
		}
	}
}

func TestReminderLines(t *testing.T) {
	review := &rotation.Status{State: rotation.Overdue}
	tests := []struct {
		name string
		r    vault.Reminders
		want []string
	}{
		{"nothing", vault.Reminders{}, nil},
		{"one overdue", vault.Reminders{Overdue: []string{"airtable"}},
			[]string{"1 secret overdue for rotation (airtable); run 'vault due'"}},
		{"the issue's example", vault.Reminders{Overdue: []string{"airtable", "call-log"}, Review: &rotation.Status{State: rotation.DueSoon}},
			[]string{"2 secrets overdue for rotation (airtable, call-log) and the access review is due; run 'vault due'"}},
		{"many names", vault.Reminders{Overdue: []string{"a", "b", "c", "d", "e"}},
			[]string{"5 secrets overdue for rotation (a, b, c and 2 more); run 'vault due'"}},
		{"too long for one line", vault.Reminders{RotateNow: []string{"airtable-intake-base"}, Overdue: []string{"call-log-service", "shared-inbox"}, Pending: []string{"slack-admin"}, Review: review, Waiting: []string{"bank-online"}},
			[]string{
				"1 secret to rotate now (airtable-intake-base), 2 secrets overdue for rotation (call-log-service, shared-inbox) and 1 rotation to confirm (slack-admin)",
				"the access review is overdue and 1 secret waiting for a reader to re-encrypt (bank-online); run 'vault due'",
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := reminderLines(tt.r)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if len(got) > 2 {
				t.Fatal("more than two lines")
			}
		})
	}
}

// TestNoArgumentsWithoutTerminal: 'vault' alone opens the UI on a
// terminal; anywhere else it prints help and exits 2.
func TestNoArgumentsWithoutTerminal(t *testing.T) {
	c := newCLI(t)
	code, out, errs := c.run("")
	if code != exitUsage || out != "" || !strings.Contains(errs, "Usage:") || !strings.Contains(errs, "'vault' alone opens the terminal UI") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errs)
	}
	for _, cmd := range []string{"tui", "demo"} {
		if code, _, errs := c.run("", cmd); code != exitUsage || !strings.Contains(errs, "needs a terminal") {
			t.Fatalf("vault %s: exit %d, %q", cmd, code, errs)
		}
	}
}

// Damage to this machine's copy says to delete it (it is rebuilt), never
// to restore the group's file from a backup.
func TestHintForLocalDamage(t *testing.T) {
	local := fmt.Errorf("this machine's copy of the vault is damaged (local); delete the vault folder in the state folder and it is rebuilt: %w", vault.ErrCorrupt)
	if h := hint(local); h != "" {
		t.Fatalf("hint for a damaged local copy = %q", h)
	}
	if h := hint(fmt.Errorf("vault.db is damaged: %w", vault.ErrCorrupt)); !strings.Contains(h, "backup") {
		t.Fatalf("hint for a damaged vault file = %q", h)
	}
}
