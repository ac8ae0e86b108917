package main

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPromptDoesNotBlock: a member leaves 'vault add' waiting at its value
// prompt (in tmux, a real terminal); meanwhile other commands on the same
// machine add and read at once, instead of failing as busy; then she types
// the value and her add goes through on top of theirs. Without tmux it is
// skipped, except under CI, where it must run.
func TestPromptDoesNotBlock(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and drives it in tmux")
	}
	needTmux(t)
	dir := t.TempDir()
	bin := buildVault(t)
	env := []string{"HOME=" + filepath.Join(dir, "home"), "PATH=/usr/bin:/bin", "TERM=xterm-256color", "LANG=C.UTF-8"}
	cli := func(stdin string, args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		cmd.Stdin = strings.NewReader(stdin)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		start := time.Now()
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("vault %v (after %v): %v\n%s", args, time.Since(start), err, stderr.String())
		}
		return string(out)
	}
	cli("", "keygen", "--no-passphrase")
	cli("", "init", "--me", "alex")
	cli("one\n", "add", "first")

	tmux := tmuxServer(t, "prompt")
	shell := fmt.Sprintf("env -i %s %s add waiting; echo EXITED $?; sleep 60", strings.Join(env, " "), bin)
	tmux("new-session", "-d", "-s", "p", "-x", "100", "-y", "20", shell)
	waitFor := func(want string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			s := tmux("capture-pane", "-p", "-t", "p")
			if strings.Contains(s, want) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the screen never showed %q:\n%s", want, s)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitFor("Value for waiting (not shown):")

	// Others go on while she types.
	cli("two\n", "add", "other")
	if got := cli("", "get", "first"); got != "one\n" {
		t.Fatalf("get first = %q", got)
	}

	tmux("send-keys", "-t", "p", "-l", "typed-value")
	tmux("send-keys", "-t", "p", "Enter")
	waitFor("Same again:")
	tmux("send-keys", "-t", "p", "-l", "typed-value")
	tmux("send-keys", "-t", "p", "Enter")
	waitFor("EXITED 0")
	if got := cli("", "get", "waiting"); got != "typed-value\n" {
		t.Fatalf("get waiting = %q", got)
	}
	if got := cli("", "get", "other"); got != "two\n" {
		t.Fatalf("get other = %q", got)
	}
}
