package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTUIClipboardOutlivesQuit drives the real binary in tmux: c copies a
// password into tmux's paste buffer, the UI quits (or its terminal
// closes), and the buffer is deleted afterwards by the helper the UI
// started, which outlived it and never held the value in its arguments
// or environment.
func TestTUIClipboardOutlivesQuit(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and drives it for several seconds")
	}
	needTmux(t)
	if _, err := os.Stat("/proc/self/cmdline"); err != nil {
		t.Skip("needs /proc")
	}
	dir := t.TempDir()
	bin := buildVault(t)
	home := filepath.Join(dir, "home")
	gate := filepath.Join(dir, "gate")
	const value = "hunter2-clipboard-value"
	env := []string{"HOME=" + home, "PATH=/usr/bin:/bin", "TERM=xterm-256color", "LANG=C.UTF-8", "VAULT_NO_AGENT=1"}
	cli := func(stdin string, args ...string) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		cmd.Stdin = strings.NewReader(stdin)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("vault %v: %v\n%s", args, err, out)
		}
	}
	cli("", "keygen", "--no-passphrase")
	cli("", "init", "--me", "alex")
	cli(value+"\n", "add", "airtable")

	tmux := tmuxServer(t, "clip")
	// No system clipboard: the copy goes to tmux. The gate (tests only)
	// lets the helper go ahead when the test says, not after 45 s.
	shell := fmt.Sprintf(`env -i %s TMUX="$TMUX" VAULTTEST_CLIPBOARD_GATE=%s %s; echo EXITED $?; sleep 60`, strings.Join(env, " "), gate, bin)
	tmux("new-session", "-d", "-s", "clip", "-x", "100", "-y", "24", shell)
	waitFor := func(want string) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			s := tmux("capture-pane", "-p", "-J", "-t", "clip")
			if strings.Contains(strings.Join(strings.Fields(s), " "), want) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the screen never showed %q:\n%s", want, s)
			}
		}
	}
	waitFor("most urgent first")
	tmux("send-keys", "-t", "clip", "c")
	waitFor(`Copied airtable's password to tmux's paste buffer "vault"`)
	if got := tmux("show-buffer", "-b", "vault"); got != value {
		t.Fatalf("the buffer holds %q", got)
	}
	tmux("send-keys", "-t", "clip", "q")
	waitFor("EXITED 0")

	// The UI has quit; its helper still runs, and still has to clear.
	helpers := func() []int {
		var pids []int
		dirs, _ := filepath.Glob("/proc/[0-9]*")
		for _, d := range dirs {
			cmdline, _ := os.ReadFile(filepath.Join(d, "cmdline"))
			environ, _ := os.ReadFile(filepath.Join(d, "environ"))
			if string(cmdline) != "vault\x00clipboard-clear\x00" || !strings.Contains(string(environ), "VAULTTEST_CLIPBOARD_GATE="+gate+"\x00") {
				continue
			}
			if strings.Contains(string(cmdline), value) || strings.Contains(string(environ), value) {
				t.Fatalf("the helper's arguments or environment hold the value")
			}
			var pid int
			fmt.Sscanf(filepath.Base(d), "%d", &pid)
			pids = append(pids, pid)
		}
		return pids
	}
	if n := len(helpers()); n != 1 {
		t.Fatalf("%d clearing helpers run after the UI quit, want 1", n)
	}
	if !strings.Contains(tmux("list-buffers", "-F", "#{buffer_name}"), "vault") {
		t.Fatal("the buffer went before its time")
	}
	if err := os.WriteFile(gate, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); strings.Contains(tmux("list-buffers", "-F", "#{buffer_name}"), "vault"); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the buffer was never deleted")
		}
	}
	waitHelpers := func() {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); len(helpers()) > 0; time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("the helper never ended")
			}
		}
	}
	waitHelpers()

	// The terminal closed right after a copy (its processes get SIGHUP):
	// the helper, in a session of its own, still clears.
	if err := os.Remove(gate); err != nil {
		t.Fatal(err)
	}
	tmux("new-session", "-d", "-s", "closed", "-x", "100", "-y", "24", shell)
	waitFor = func(want string) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			s := tmux("capture-pane", "-p", "-J", "-t", "closed")
			if strings.Contains(strings.Join(strings.Fields(s), " "), want) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the screen never showed %q:\n%s", want, s)
			}
		}
	}
	waitFor("most urgent first")
	tmux("send-keys", "-t", "closed", "c")
	waitFor(`Copied airtable's password to tmux's paste buffer "vault"`)
	tmux("kill-session", "-t", "closed")
	if n := len(helpers()); n != 1 {
		t.Fatalf("%d clearing helpers run after the terminal closed, want 1", n)
	}
	if err := os.WriteFile(gate, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	waitHelpers()
	if strings.Contains(tmux("list-buffers", "-F", "#{buffer_name}"), "vault") {
		t.Fatal("the buffer was not deleted after the terminal closed")
	}
}
