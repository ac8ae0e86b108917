package main

import (
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// sendPair is alice, who keeps airtable, and kim, on their own machines
// sharing one vault file; alice has sent airtable to kim.
func sendPair(t *testing.T) (alice, kim *cli, msg string) {
	alice = newCLI(t)
	kim = &cli{t: t, env: maps.Clone(alice.env)}
	kim.env["HOME"] = filepath.Join(t.TempDir(), "kim")
	pub := strings.TrimSpace(kim.must("", "keygen", "--no-passphrase"))
	alice.must("", "keygen", "--no-passphrase")
	alice.must("", "init", "--me", "alice")
	alice.must("", "member", "add", "kim", pub)
	alice.must("hunter2-cli\n", "add", "airtable")
	return alice, kim, alice.must("", "send", "kim", "airtable")
}

// TestReceiveDamagedMessages: whatever happened to a message on the way,
// receive fails with exit 1 and one line saying what to do, prints nothing
// on stdout, and stores nothing.
func TestReceiveDamagedMessages(t *testing.T) {
	_, kim, msg := sendPair(t)
	if out := kim.must(msg, "receive"); out != "hunter2-cli\n" {
		t.Fatalf("the message as sent gives %q", out)
	}
	lines := strings.Split(strings.TrimSuffix(msg, "\n"), "\n")
	mid := len(lines) / 2
	flip := func(line string) string {
		c := "A"
		if line[10] == 'A' {
			c = "B"
		}
		return line[:10] + c + line[11:]
	}
	changed := func(i int) string {
		ls := append([]string(nil), lines...)
		ls[i] = flip(ls[i])
		return strings.Join(ls, "\n") + "\n"
	}
	tests := map[string]string{
		"a line of the header changed":  changed(1),
		"a line of the payload changed": changed(len(lines) - 2),
		"a middle line lost":            strings.Join(append(append([]string(nil), lines[:mid]...), lines[mid+1:]...), "\n") + "\n",
		"cut after half":                strings.Join(lines[:mid], "\n") + "\n",
		"cut, footer kept":              strings.Join(append(append([]string(nil), lines[:mid]...), lines[len(lines)-1]), "\n") + "\n",
		"nothing":                       "",
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			code, out, errs := kim.run(in, "receive", "--store", "stored")
			if code != exitFailure || out != "" {
				t.Fatalf("exit %d, stdout %q; want 1 and nothing", code, out)
			}
			if strings.Count(errs, "\n") != 1 || !strings.HasPrefix(errs, "vault: ") || strings.Contains(errs, "hunter2") {
				t.Fatalf("stderr = %q; want one line without the value", errs)
			}
			if code, _, _ := kim.run("", "get", "stored"); code != exitNotFound {
				t.Fatalf("something was stored: get exits %d", code)
			}
		})
	}
}

// TestReceiveAtTheTerminal drives receive in tmux, as a person would: with
// stdout on the terminal it asks for a name instead of showing the value,
// offers the name it was sent with, asks again for a name already taken;
// --print shows the value when asked; a message pasted at the terminal is
// read up to its END line. Without tmux it is skipped, except under CI.
func TestReceiveAtTheTerminal(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and drives it in tmux")
	}
	needTmux(t)
	dir := t.TempDir()
	bin := buildVault(t)
	base := []string{"PATH=/usr/bin:/bin", "TERM=xterm-256color", "LANG=C.UTF-8", "VAULT_NO_AGENT=1",
		"VAULT_FILE=" + filepath.Join(dir, "vault.db")}
	aliceEnv := append(base, "HOME="+filepath.Join(dir, "alice"))
	kimEnv := append(base, "HOME="+filepath.Join(dir, "kim"))
	run := func(env []string, stdin string, args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		cmd.Stdin = strings.NewReader(stdin)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("vault %v: %v\n%s", args, err, stderr.String())
		}
		return string(out)
	}
	pub := strings.TrimSpace(run(kimEnv, "", "keygen", "--no-passphrase"))
	run(aliceEnv, "", "keygen", "--no-passphrase")
	run(aliceEnv, "", "init", "--me", "alice")
	run(aliceEnv, "", "member", "add", "kim", pub)
	run(aliceEnv, "hunter2-tty\n", "add", "airtable")
	msg := run(aliceEnv, "", "send", "kim", "airtable")
	msgFile := filepath.Join(dir, "msg.txt")
	if err := os.WriteFile(msgFile, []byte(msg), 0o600); err != nil {
		t.Fatal(err)
	}

	tmux := tmuxServer(t, "receive")
	vault := fmt.Sprintf("env -i %s %s", strings.Join(kimEnv, " "), bin)
	// Each step waits for Enter, so that the screen of one is read before
	// the next writes to it.
	shell := fmt.Sprintf("%[1]s receive %[2]s; echo EXITED-1 $?; read x; clear; %[1]s receive --print %[2]s; echo EXITED-2 $?; read x; clear; "+
		"%[1]s receive --store pasted; echo EXITED-3 $?; sleep 60", vault, msgFile)
	tmux("new-session", "-d", "-s", "r", "-x", "160", "-y", "30", shell)
	screen := func() string { return tmux("capture-pane", "-p", "-t", "r") }
	waitFor := func(want string) string { t.Helper(); return waitScreen(t, screen, want) }
	keys := func(k ...string) { t.Helper(); tmux(append([]string{"send-keys", "-t", "r"}, k...)...) }
	text := func(s string) { t.Helper(); tmux("send-keys", "-t", "r", "-l", "--", s) }

	// 1. Asked for a name; Enter takes airtable, which is taken (alice's),
	// so it asks again, and the name typed shows as it is typed.
	waitFor("Store it as (Enter for airtable")
	keys("Enter")
	waitFor(`there is already a secret named "airtable"`)
	text("kims/airtable")
	waitFor("kims/airtable")
	keys("Enter")
	s := waitFor("EXITED-1 0")
	if !strings.Contains(s, "stored kims/airtable, readable by you alone") || strings.Contains(s, "hunter2-tty") {
		t.Fatalf("the first receive shows:\n%s", s)
	}
	keys("Enter")

	// 2. --print: asked for, so shown.
	s = waitFor("EXITED-2 0")
	if !strings.Contains(s, "hunter2-tty") {
		t.Fatalf("--print does not show the value:\n%s", s)
	}
	keys("Enter")

	// 3. Pasted at the terminal: read up to the END line, no Ctrl-D.
	waitFor("paste the message")
	text(msg)
	s = waitFor("EXITED-3 0")
	if !strings.Contains(s, "stored pasted") || strings.Contains(s, "hunter2-tty") {
		t.Fatalf("the pasted receive shows:\n%s", s)
	}

	for _, name := range []string{"kims/airtable", "pasted"} {
		if got := run(kimEnv, "", "get", name); got != "hunter2-tty\n" {
			t.Fatalf("get %s = %q", name, got)
		}
	}
}
