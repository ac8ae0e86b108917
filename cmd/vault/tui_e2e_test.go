package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mutual-aid-vault/vault/vault"
)

// tuiRig runs the real binary for one person (a home of their own): as
// commands, and as the terminal UI in a tmux pane of its own.
type tuiRig struct {
	t    *testing.T
	bin  string
	home string
	env  []string
	tmux func(args ...string) string
	pane string
}

func newTUIRig(t *testing.T, bin, home string, extra ...string) *tuiRig {
	t.Helper()
	env := append([]string{"HOME=" + home, "PATH=/usr/bin:/bin", "TERM=xterm-256color", "LANG=C.UTF-8", "VAULT_NO_AGENT=1"}, extra...)
	return &tuiRig{t: t, bin: bin, home: home, env: env}
}

// cli runs a command and returns its stdout; a failure fails the test.
func (r *tuiRig) cli(stdin string, args ...string) string {
	r.t.Helper()
	cmd := exec.Command(r.bin, args...)
	cmd.Env = r.env
	cmd.Stdin = strings.NewReader(stdin)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		r.t.Fatalf("vault %v: %v\n%s", args, err, stderr.String())
	}
	return string(out)
}

// open starts the UI in a tmux pane of width x height.
func (r *tuiRig) open(name string, width, height int) {
	r.t.Helper()
	r.tmux = tmuxServer(r.t, name)
	r.pane = name
	shell := fmt.Sprintf("env -i %s %s; echo EXITED $?; sleep 60", strings.Join(r.env, " "), r.bin)
	r.tmux("new-session", "-d", "-s", name, "-x", fmt.Sprint(width), "-y", fmt.Sprint(height), shell)
}

func (r *tuiRig) screen() string { return r.tmux("capture-pane", "-p", "-t", r.pane) }

// waitFor waits until the pane shows each of wants (a want may run over a
// line break: the screen is also searched with its lines joined).
func (r *tuiRig) waitFor(wants ...string) string {
	r.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s := r.screen()
		flat := strings.Join(strings.Fields(s), " ")
		missing := ""
		for _, w := range wants {
			if !strings.Contains(s, w) && !strings.Contains(flat, w) {
				missing = w
				break
			}
		}
		if missing == "" {
			return s
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("the screen never showed %q:\n%s", missing, s)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitGone waits until the pane no longer shows text.
func (r *tuiRig) waitGone(text string) string {
	r.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s := r.screen()
		if !strings.Contains(strings.Join(strings.Fields(s), " "), text) {
			return s
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("the screen still shows %q:\n%s", text, s)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (r *tuiRig) keys(k ...string) {
	r.t.Helper()
	r.tmux(append([]string{"send-keys", "-t", r.pane}, k...)...)
}
func (r *tuiRig) text(s string) { r.t.Helper(); r.tmux("send-keys", "-t", r.pane, "-l", s) }

// TestTUIInTmux drives the terminal UI of the real binary (built once) in
// tmux: live reload, and joining from the first-run screen. Without tmux
// (or git) it is skipped, except under CI, where it must run.
func TestTUIInTmux(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and drives it in tmux")
	}
	needTmux(t)
	needGit(t)
	bin := buildVault(t)
	t.Run("live reload", func(t *testing.T) { testTUILiveReload(t, bin) })
	t.Run("join", func(t *testing.T) { testTUIJoin(t, bin) })
}

// testTUILiveReload: the UI open in tmux shows what commands in another
// terminal do, as they do it: a secret added, a rotation that takes a
// secret off the notice.
func testTUILiveReload(t *testing.T, bin string) {
	r := newTUIRig(t, bin, filepath.Join(t.TempDir(), "home"))
	r.cli("", "keygen", "--no-passphrase")
	r.cli("", "init", "--me", "alex", "--name", "Eastside")
	old := time.Now().AddDate(-1, 0, 0).Format(time.DateOnly)
	r.cli("old-value\n", "add", "airtable", "--last-rotated", old)
	r.cli("other-value\n", "add", "call-log")

	r.open("live", 100, 30)
	r.waitFor("most urgent first", "1 secret overdue for rotation (airtable)")

	// Another terminal adds a secret: it shows, and the selection stays.
	r.cli("new-value\n", "add", "added-elsewhere")
	r.waitFor("added-elsewhere", "3 secrets, most urgent first")

	// Another terminal rotates airtable: the notice no longer names it.
	r.cli("", "rotate", "airtable")
	r.waitFor("1 rotation to confirm (airtable)")
	r.cli("", "rotate", "airtable", "--confirm")
	r.waitGone("airtable); run 'vault due'")
	s := r.screen()
	if strings.Contains(s, "overdue for rotation") {
		t.Fatalf("the notice still says airtable is overdue:\n%s", s)
	}
	r.keys("q")
	r.waitFor("EXITED 0")
}

// testTUIJoin: a new member joins from the terminal UI's first-run
// screen, as 'vault join' would: from the group's file (the UI makes
// their identity first) and from a git repository. The configuration
// names the vault, this machine pins it, the screen shows the line to
// send and its fingerprint; once the admin's change reaches the copy, the
// vault opens by itself.
func testTUIJoin(t *testing.T, bin string) {
	root := t.TempDir()
	admin := newTUIRig(t, bin, filepath.Join(root, "admin"))
	admin.cli("", "keygen", "--no-passphrase")
	admin.cli("", "init", "--me", "alex", "--name", "Eastside")
	admin.cli("hunter2\n", "add", "airtable")
	adminFile := filepath.Join(admin.home, ".local", "share", "vault", "vault.db")
	if _, err := os.Stat(adminFile); err != nil {
		t.Fatalf("the admin's vault is not where expected: %v", err)
	}

	// checkJoined checks what joining left on the member's machine.
	checkJoined := func(m *tuiRig, want string) {
		t.Helper()
		cfg, err := os.ReadFile(filepath.Join(m.home, ".config", "vault", "config"))
		if err != nil || !strings.Contains(string(cfg), want) {
			t.Fatalf("the configuration does not name %s: %q, %v", want, cfg, err)
		}
		if vault.Pinned(filepath.Join(m.home, ".local", "state", "vault"), want) == "" {
			t.Fatalf("this machine did not pin %s", want)
		}
	}

	t.Run("file", func(t *testing.T) {
		m := newTUIRig(t, bin, filepath.Join(root, "sam"))
		m.open("join-file", 100, 40)
		// No identity: the UI makes one first.
		m.waitFor("You have no identity yet")
		m.keys("n")
		m.waitFor("A new identity")
		m.text("purple otter climbs slowly")
		m.keys("Tab")
		m.text("purple otter climbs slowly")
		m.keys("Enter")
		m.waitFor("There is no vault at", "j  join your group's vault")
		m.keys("j")
		m.waitFor("Join your group's vault")
		// A wrong path first: the error, and the form to try again.
		m.text("/nowhere/eastside.db")
		m.keys("Enter")
		m.waitFor("there is no file or folder at /nowhere/eastside.db")
		m.keys("C-u")
		m.text(adminFile)
		m.keys("Enter")
		s := m.waitFor("You are not a member of the vault at", "Send this line to an admin", "opens here by itself")
		dest := filepath.Join(m.home, ".local", "share", "vault", "vault.db")
		checkJoined(m, dest)
		// The line to send is the member's public key, in full.
		env := append(append([]string(nil), m.env...), "VAULT_PASSPHRASE_FILE="+writePassFile(t, "purple otter climbs slowly"))
		m.env, env = env, m.env
		key := strings.TrimSpace(m.cli("", "pubkey"))
		m.env = env
		if flat := strings.Join(strings.Fields(s), ""); !strings.Contains(flat, key) {
			t.Fatalf("the screen does not show the key %s in full:\n%s", key, s)
		}

		// The admin adds them, and their file reaches the member's copy
		// the way a sync tool brings it (a new file renamed into place):
		// the vault opens there by itself.
		admin.cli("", "member", "add", "sam", key)
		admin.cli("", "share", "airtable", "sam")
		tmp := dest + ".sync-tmp"
		if err := vault.CopyFile(adminFile, tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, dest); err != nil {
			t.Fatal(err)
		}
		m.waitFor("you were added by alex on", "airtable")
		m.keys("q")
		m.waitFor("EXITED 0")
	})

	t.Run("git", func(t *testing.T) {
		remote := filepath.Join(root, "eastside.git")
		gitRun(t, root, "init", "--quiet", "--bare", remote)
		work := filepath.Join(root, "admin-clone")
		gitRun(t, root, "clone", "--quiet", remote, work)
		if err := vault.CopyFile(adminFile, filepath.Join(work, "eastside.db")); err != nil {
			t.Fatal(err)
		}
		gitRun(t, work, "add", "eastside.db")
		gitRun(t, work, "commit", "--quiet", "-m", "the group's vault")
		gitRun(t, work, "push", "--quiet", "origin", "HEAD")

		m := newTUIRig(t, bin, filepath.Join(root, "kim"))
		m.cli("", "keygen", "--no-passphrase")
		m.open("join-git", 100, 40)
		m.waitFor("There is no vault at", "j  join your group's vault")
		m.keys("j")
		m.waitFor("Join your group's vault")
		m.text(remote)
		m.keys("Enter")
		m.waitFor("cloned the group's repository", "You are not a member of the vault at", "run 'vault sync'", "opens here by itself")
		dest := filepath.Join(m.home, ".local", "share", "vault", "eastside", "eastside.db")
		checkJoined(m, dest)
		m.keys("q")
		m.waitFor("EXITED 0")
	})
}

// gitRun runs git in dir, away from the user's configuration, with an
// author of its own; a failure fails the test.
func gitRun(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=Organizer", "-c", "user.email=organizer@example.org", "-c", "init.defaultBranch=main"}, args...)...)
	cmd.Dir = dir
	cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=/usr/bin:/bin", "GIT_CONFIG_NOSYSTEM=1", "LC_ALL=C"}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

// writePassFile writes a passphrase file for commands run without a
// terminal.
func writePassFile(t *testing.T, pass string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "pass")
	if err := os.WriteFile(p, []byte(pass+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
