package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// ptyVault is a vault made by the real binary, whose identity is
// protected by a passphrase (at age's full scrypt cost, so that checking a
// passphrase takes a moment, as it does for people), with commands to run
// on a pseudo-terminal as a person would.
type ptyVault struct {
	t        *testing.T
	dir      string
	bin      string
	env      []string
	pass     string
	passFile string
}

func newPtyVault(t *testing.T) *ptyVault {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary and types at a terminal for several seconds")
	}
	dir := t.TempDir()
	p := &ptyVault{t: t, dir: dir, bin: buildVault(t), pass: "correct horse battery staple", passFile: filepath.Join(dir, "pass")}
	for _, d := range []string{"home", "run"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	p.env = []string{"HOME=" + filepath.Join(dir, "home"), "XDG_RUNTIME_DIR=" + filepath.Join(dir, "run"),
		"VAULT_FILE=" + filepath.Join(dir, "vault.db"), "PATH=/usr/bin:/bin", "TERM=xterm", "LANG=C.UTF-8",
		// These tests are about prompts without an agent; agentEnv drops it.
		"VAULT_NO_AGENT=1"}
	if err := os.WriteFile(p.passFile, []byte(p.pass+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p.script("", "keygen")
	p.script("", "init", "--me", "alice")
	p.script("first-value\n", "add", "a")
	p.script("placeholder\n", "add", "b")
	return p
}

// script runs the binary as a script does, without a terminal, and
// returns its stdout.
func (p *ptyVault) script(stdin string, args ...string) string {
	p.t.Helper()
	cmd := exec.Command(p.bin, args...)
	cmd.Env = append(p.env, "VAULT_PASSPHRASE_FILE="+p.passFile)
	cmd.Dir = p.dir
	cmd.Stdin = strings.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		p.t.Fatalf("vault %v: %v\n%s", args, err, stderr.String())
	}
	return string(out)
}

// screen is what a pseudo-terminal showed.
type screen struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *screen) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// start runs shell on a new pseudo-terminal, as the terminal that controls
// it: every process of the pipeline asks on it.
func (p *ptyVault) start(shell string) (cmd *exec.Cmd, tty *os.File, term *os.File, scr *screen) {
	p.t.Helper()
	cmd = exec.Command("/bin/sh", "-c", shell)
	cmd.Env = append(p.env, "VAULT="+p.bin)
	cmd.Dir = p.dir
	tty, term, err := pty.Open()
	if err != nil {
		p.t.Fatal(err)
	}
	if err := pty.Setsize(tty, &pty.Winsize{Rows: 24, Cols: 200}); err != nil {
		p.t.Fatal(err)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = term, term, term
	cmd.SysProcAttr = &unix.SysProcAttr{Setsid: true, Setctty: true}
	if err := cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.t.Cleanup(func() {
		_ = cmd.Process.Kill()
		tty.Close()
		term.Close()
	})
	scr = &screen{}
	go func() {
		b := make([]byte, 4096)
		for {
			n, err := tty.Read(b)
			scr.mu.Lock()
			scr.buf.Write(b[:n])
			scr.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	return cmd, tty, term, scr
}

// waitFor waits until the screen shows want n times.
func (p *ptyVault) waitFor(scr *screen, want string, n int) {
	p.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for strings.Count(scr.String(), want) < n {
		if time.Now().After(deadline) {
			p.t.Fatalf("the terminal never showed %q %d times:\n%s", want, n, scr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// wait waits for the command to end and returns its exit code.
func (p *ptyVault) wait(cmd *exec.Cmd, scr *screen) int {
	p.t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		p.t.Fatalf("the command did not end:\n%s", scr)
	}
	return cmd.ProcessState.ExitCode()
}

// echoOn reports whether the terminal echoes what is typed.
func echoOn(t *testing.T, term *os.File) bool {
	t.Helper()
	tio, err := unix.IoctlGetTermios(int(term.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	return tio.Lflag&unix.ECHO != 0
}

// typedAhead returns how many bytes typed on the terminal no process read
// yet, whole lines or not (as a shell's line editor, which reads them
// one by one, would see them). It leaves the terminal out of canonical
// mode.
func typedAhead(t *testing.T, term *os.File) int {
	t.Helper()
	fd := int(term.Fd())
	tio, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	tio.Lflag &^= unix.ICANON
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, tio); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCINQ)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestTypedAheadNotEchoed: a person who mistypes the passphrase and types
// the next try while the first is checked never sees it on the screen:
// echo stays off from the first prompt to the last, and is back on at the
// end. (Issue 8.)
func TestTypedAheadNotEchoed(t *testing.T) {
	p := newPtyVault(t)
	cmd, tty, term, scr := p.start(`"$VAULT" get a > out.txt; echo "EXIT $?"`)
	p.waitFor(scr, "Passphrase for", 1)
	if _, err := tty.WriteString("wrong-try-one\n"); err != nil {
		t.Fatal(err)
	}
	// Typed while the passphrase is checked (about a second of scrypt),
	// before the next prompt: never shown, read as the next try.
	time.Sleep(300 * time.Millisecond)
	if _, err := tty.WriteString("TYPED-AHEAD"); err != nil {
		t.Fatal(err)
	}
	p.waitFor(scr, "wrong passphrase, try again", 1)
	p.waitFor(scr, "Passphrase for", 2)
	if _, err := tty.WriteString("-still-wrong\n"); err != nil {
		t.Fatal(err)
	}
	p.waitFor(scr, "wrong passphrase, try again", 2)
	p.waitFor(scr, "Passphrase for", 3)
	if _, err := tty.WriteString(p.pass + "\n"); err != nil {
		t.Fatal(err)
	}
	p.waitFor(scr, "EXIT ", 1)
	if code := p.wait(cmd, scr); code != 0 {
		t.Fatalf("exit %d:\n%s", code, scr)
	}
	out := scr.String()
	if !strings.Contains(out, "EXIT 0") {
		t.Fatalf("vault get failed:\n%s", out)
	}
	for _, typed := range []string{"wrong-try-one", "TYPED-AHEAD", "still-wrong", p.pass} {
		if strings.Contains(out, typed) {
			t.Fatalf("the terminal showed %q:\n%s", typed, out)
		}
	}
	if !echoOn(t, term) {
		t.Fatal("echo was left off")
	}
}

// TestTwoPromptsOneTerminal: 'vault get a | vault set b' asks for the
// passphrase twice on one terminal, one process after the other, and both
// succeed. (Issue 8.)
func TestTwoPromptsOneTerminal(t *testing.T) {
	p := newPtyVault(t)
	cmd, tty, term, scr := p.start(`"$VAULT" get a | "$VAULT" set b; echo "EXIT $?"`)
	p.waitFor(scr, "Passphrase for", 1)
	// The other process waits for its turn: no second prompt while the
	// first is showing.
	time.Sleep(time.Second)
	if n := strings.Count(scr.String(), "Passphrase for"); n != 1 {
		t.Fatalf("%d prompts at once:\n%s", n, scr)
	}
	if _, err := tty.WriteString(p.pass + "\n"); err != nil {
		t.Fatal(err)
	}
	p.waitFor(scr, "Passphrase for", 2)
	if _, err := tty.WriteString(p.pass + "\n"); err != nil {
		t.Fatal(err)
	}
	p.waitFor(scr, "EXIT ", 1)
	if code := p.wait(cmd, scr); code != 0 {
		t.Fatalf("exit %d:\n%s", code, scr)
	}
	out := scr.String()
	if !strings.Contains(out, "EXIT 0") || !strings.Contains(out, "stored version 2 of b") {
		t.Fatalf("vault get a | vault set b failed:\n%s", out)
	}
	if strings.Contains(out, p.pass) || strings.Contains(out, "first-value") {
		t.Fatalf("the terminal showed the passphrase or the value:\n%s", out)
	}
	if !echoOn(t, term) {
		t.Fatal("echo was left off")
	}
	if got := p.script("", "get", "b"); got != "first-value\n" {
		t.Fatalf("b is %q, want a's value", got)
	}
}

// TestPromptSignals: a command stopped by a signal while it holds the
// terminal (at the prompt, or checking a passphrase with echo off) drops
// what was typed and puts echo back before it ends.
func TestPromptSignals(t *testing.T) {
	p := newPtyVault(t)
	for _, sig := range []unix.Signal{unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT} {
		t.Run(unix.SignalName(sig), func(t *testing.T) {
			p.t = t
			// The shell stays, as a person's shell does, and reads the
			// terminal after the command.
			cmd, tty, term, scr := p.start(`"$VAULT" get a; echo "EXIT $?"; exec sleep 60`)
			p.waitFor(scr, "Passphrase for", 1)
			if _, err := tty.WriteString("wrong-try\n"); err != nil {
				t.Fatal(err)
			}
			time.Sleep(200 * time.Millisecond)
			if echoOn(t, term) {
				t.Fatal("echo is on while the passphrase is checked")
			}
			// Half a try, typed when the signal comes: dropped, not left
			// for the shell to echo.
			if _, err := tty.WriteString("HALF-TYPED"); err != nil {
				t.Fatal(err)
			}
			time.Sleep(50 * time.Millisecond)
			children, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", cmd.Process.Pid, cmd.Process.Pid))
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
			p.waitFor(scr, "EXIT ", 1)
			if strings.Contains(scr.String(), "EXIT 0") {
				t.Fatalf("the command went on after %v:\n%s", sig, scr)
			}
			if !echoOn(t, term) {
				t.Fatalf("echo was left off after %v", sig)
			}
			if n := typedAhead(t, term); n != 0 {
				t.Fatalf("after %v, %d bytes typed are left for the shell to read", sig, n)
			}
			if strings.Contains(scr.String(), "HALF-TYPED") {
				t.Fatalf("the terminal showed what was typed:\n%s", scr)
			}
		})
	}
}

// TestGiveUpDropsTypedAhead: after the last wrong passphrase, a try typed
// ahead is dropped, not left for the shell to show (and keep in its
// history).
func TestGiveUpDropsTypedAhead(t *testing.T) {
	p := newPtyVault(t)
	_, tty, term, scr := p.start(`"$VAULT" get a; echo "EXIT $?"; exec sleep 60`)
	for i := 1; i <= 3; i++ {
		p.waitFor(scr, "Passphrase for", i)
		if _, err := tty.WriteString(fmt.Sprintf("wrong-%d\n", i)); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(200 * time.Millisecond)
	if _, err := tty.WriteString("FOURTH-TRY"); err != nil {
		t.Fatal(err)
	}
	p.waitFor(scr, "EXIT 6", 1)
	if !echoOn(t, term) {
		t.Fatal("echo was left off")
	}
	if n := typedAhead(t, term); n != 0 {
		t.Fatalf("%d bytes typed are left for the shell to read", n)
	}
	if strings.Contains(scr.String(), "FOURTH-TRY") {
		t.Fatalf("the terminal showed what was typed:\n%s", scr)
	}
}
