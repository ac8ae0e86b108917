package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestSignalsLeaveTerminalSane drives the real binary in tmux, a real
// terminal, and stops it with each signal a person or the system sends:
// at a passphrase prompt (echo off) and in the terminal UI (raw mode, the
// alternate screen). Every time the program ends with the status a shell
// reports for the signal (128+N), prints no goroutine dump, and leaves the
// terminal as it found it: echo and line editing on, the alternate screen
// left. (Issue 10.) Without tmux it is skipped, except under CI, where it
// must run.
func TestSignalsLeaveTerminalSane(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and drives it in tmux")
	}
	needTmux(t)
	dir := t.TempDir()
	bin := buildVault(t)
	passFile := filepath.Join(dir, "pass")
	if err := os.WriteFile(passFile, []byte("a long enough passphrase\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "run"), 0o700); err != nil {
		t.Fatal(err)
	}
	env := []string{"HOME=" + filepath.Join(dir, "home"), "XDG_RUNTIME_DIR=" + filepath.Join(dir, "run"),
		"PATH=/usr/bin:/bin", "TERM=xterm-256color", "LANG=C.UTF-8", "VAULT_NO_AGENT=1"}
	for _, args := range [][]string{{"keygen"}, {"init", "--me", "alex"}, {"add", "x"}} {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(env, "VAULT_PASSPHRASE_FILE="+passFile)
		cmd.Stdin = strings.NewReader("the-value\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("vault %v: %v\n%s", args, err, out)
		}
	}

	places := []struct {
		name string
		args string
		// ready is on the screen once the program waits in that place.
		ready string
		alt   bool
	}{
		{"prompt", "get x", "Passphrase for", false},
		{"tui", "tui", "typing is hidden", true},
	}
	for _, place := range places {
		for _, sig := range []unix.Signal{unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT} {
			t.Run(place.name+"/"+unix.SignalName(sig), func(t *testing.T) {
				session := place.name + strconv.Itoa(int(sig))
				tmux := tmuxServer(t, "signals-"+session)
				shell := fmt.Sprintf("env -i %s %s %s; echo EXITED $?; sleep 60", strings.Join(env, " "), bin, place.args)
				tmux("new-session", "-d", "-s", session, "-x", "100", "-y", "24", shell)
				screen := func() string { return tmux("capture-pane", "-p", "-S", "-100", "-t", session) }
				waitFor := func(want string) string { t.Helper(); return waitScreen(t, screen, want) }
				display := func(format string) string {
					return strings.TrimSpace(tmux("display-message", "-p", "-t", session, format))
				}
				waitFor(place.ready)
				if got := display("#{alternate_on}") == "1"; got != place.alt {
					t.Fatalf("alternate screen on = %v before the signal, want %v", got, place.alt)
				}
				shellPid := display("#{pane_pid}")
				children, err := os.ReadFile(fmt.Sprintf("/proc/%s/task/%s/children", shellPid, shellPid))
				if err != nil {
					t.Skipf("cannot find the vault process: %v", err)
				}
				pid, err := strconv.Atoi(strings.TrimSpace(string(children)))
				if err != nil {
					t.Fatalf("the shell's children: %q", children)
				}
				if err := unix.Kill(pid, sig); err != nil {
					t.Fatal(err)
				}
				s := waitFor("EXITED ")
				if want := fmt.Sprintf("EXITED %d", 128+int(sig)); !strings.Contains(s, want) {
					t.Errorf("after %v the screen shows no %q:\n%s", sig, want, s)
				}
				for _, dump := range []string{"goroutine", "SIGQUIT:", "panic"} {
					if strings.Contains(s, dump) {
						t.Errorf("after %v the screen shows %q:\n%s", sig, dump, s)
					}
				}
				if display("#{alternate_on}") != "0" {
					t.Errorf("after %v the terminal is left on the alternate screen:\n%s", sig, s)
				}
				tty, err := os.Open(display("#{pane_tty}"))
				if err != nil {
					t.Fatal(err)
				}
				defer tty.Close()
				tio, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
				if err != nil {
					t.Fatal(err)
				}
				for _, flag := range []struct {
					name string
					on   bool
				}{
					{"echo", tio.Lflag&unix.ECHO != 0},
					{"icanon (line editing, no raw mode)", tio.Lflag&unix.ICANON != 0},
					{"isig (Ctrl-C)", tio.Lflag&unix.ISIG != 0},
					{"icrnl (Enter)", tio.Iflag&unix.ICRNL != 0},
					{"opost (output processing)", tio.Oflag&unix.OPOST != 0},
				} {
					if !flag.on {
						t.Errorf("after %v the terminal is left with %s off", sig, flag.name)
					}
				}
			})
		}
	}
}
