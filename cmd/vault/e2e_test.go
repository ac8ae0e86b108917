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

// needTmux skips a test without tmux, except under CI, where it fails.
// tmuxServer returns a function that runs tmux on a server of the
// test's own (named after name and this process), killed when the test
// ends.
// waitScreen waits up to 30 seconds for screen() to show want, and
// returns what it shows then.
func waitScreen(t *testing.T, screen func() string, want string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s := screen()
		if strings.Contains(s, want) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("the screen never showed %q:\n%s", want, s)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func tmuxServer(t *testing.T, name string) func(args ...string) string {
	t.Helper()
	socket := fmt.Sprintf("vault-%s-%d", name, os.Getpid())
	t.Cleanup(func() { exec.Command("tmux", "-L", socket, "kill-server").Run() })
	return func(args ...string) string {
		t.Helper()
		out, err := exec.Command("tmux", append([]string{"-L", socket}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("tmux %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
}

func needTmux(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("tmux is needed for this test under CI")
		}
		t.Skip("tmux is not installed")
	}
}

// TestTUIEndToEnd drives the real binary in tmux, as a person would: unlock
// with a passphrase, find a secret, reveal it, rotate it, quit. Without
// tmux it is skipped, except under CI, where it must run.
func TestTUIEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and drives it for several seconds")
	}
	needTmux(t)
	dir := t.TempDir()
	bin := buildVault(t)
	home := filepath.Join(dir, "home")
	passFile := filepath.Join(dir, "pass")
	if err := os.WriteFile(passFile, []byte("a long enough passphrase\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The passphrase typed in the UI would start an agent that outlives
	// the test; agent_test.go tests the agent.
	env := []string{"HOME=" + home, "PATH=/usr/bin:/bin", "TERM=xterm-256color", "LANG=C.UTF-8", "VAULT_NO_AGENT=1"}
	cli := func(stdin string, args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = append(env, "VAULT_PASSPHRASE_FILE="+passFile)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("vault %v: %v", args, err)
		}
		return string(out)
	}
	cli("", "keygen")
	cli("", "init", "--me", "alex", "--name", "Eastside")
	cli("hunter2-original\n", "add", "intake/call-log", "--username", "callers", "--url", "https://calllog.example")
	cli("other-value\n", "add", "airtable")

	tmux := tmuxServer(t, "e2e")
	// The program runs with no VAULT_PASSPHRASE_FILE: it must ask.
	shell := fmt.Sprintf("env -i %s %s; echo EXITED $?; sleep 60", strings.Join(env, " "), bin)
	tmux("new-session", "-d", "-s", "e2e", "-x", "80", "-y", "24", shell)

	screen := func() string { return tmux("capture-pane", "-p", "-t", "e2e") }
	waitFor := func(want string) string { t.Helper(); return waitScreen(t, screen, want) }
	keys := func(k ...string) { t.Helper(); tmux(append([]string{"send-keys", "-t", "e2e"}, k...)...) }
	text := func(s string) { t.Helper(); tmux("send-keys", "-t", "e2e", "-l", s) }

	// Unlock: the passphrase shows neither itself nor its length.
	waitFor("Passphrase: (typing is hidden)")
	text("a long enough passphrase")
	s := screen()
	if strings.Contains(s, "long enough") || strings.Contains(s, "•") || strings.Contains(s, "*") {
		t.Fatalf("the passphrase shows:\n%s", s)
	}
	keys("Enter")
	waitFor("most urgent first")

	// Find the secret with the filter.
	keys("/")
	text("call")
	s = waitFor("1 of 2")
	if strings.Contains(s, "airtable") {
		t.Fatalf("the filter did not hide airtable:\n%s", s)
	}
	keys("Enter")
	s = waitFor("intake/call-log")
	if strings.Contains(s, "hunter2-original") {
		t.Fatalf("the value shows before it is asked for:\n%s", s)
	}

	// Reveal it.
	keys("Enter")
	waitFor("hunter2-original")
	keys("Enter")
	s = waitFor("enter shows it")
	if strings.Contains(s, "hunter2-original") {
		t.Fatalf("the value is still on screen after hiding:\n%s", s)
	}

	// Rotate it: generate, then confirm.
	keys("r")
	waitFor("Rotate intake/call-log")
	keys("g")
	waitFor("is pending")
	keys("y")
	waitFor("Rotated intake/call-log")
	keys("Escape")
	waitFor("1 of 2") // back on the list, still filtered

	// Quit.
	keys("q")
	waitFor("EXITED 0")

	// The rotation is in the vault: a new current value, the old one kept.
	if out := cli("", "get", "intake/call-log", "--version", "1"); out != "hunter2-original\n" {
		t.Fatalf("version 1 is %q", out)
	}
	if out := cli("", "get", "intake/call-log"); out == "hunter2-original\n" || len(strings.TrimSpace(out)) != 24 {
		t.Fatalf("the current value was not rotated: %q", out)
	}
}
