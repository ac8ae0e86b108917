//go:build linux

package clipboard

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// helperArg makes the test binary the clearing helper, as the hidden
// 'vault clipboard-clear' makes vault.
const helperArg = "clipboard-test-serve"

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == helperArg {
		if err := Serve(os.Stdin, os.Stdout, os.Getenv); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// helpers starts clearing helpers and remembers them.
type helpers struct {
	mu   sync.Mutex
	cmds []*exec.Cmd
}

func (h *helpers) clearer() *exec.Cmd {
	exe, err := os.Executable()
	if err != nil {
		return nil
	}
	cmd := exec.Command(exe, helperArg)
	h.mu.Lock()
	h.cmds = append(h.cmds, cmd)
	h.mu.Unlock()
	return cmd
}

// last returns the pid of the helper started last.
func (h *helpers) last(t *testing.T) int {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.cmds) == 0 || h.cmds[len(h.cmds)-1].Process == nil {
		t.Fatal("no clearing helper was started")
	}
	return h.cmds[len(h.cmds)-1].Process.Pid
}

// gate sets the test-only gate and returns a function that opens it.
func gate(t *testing.T) func() {
	t.Helper()
	path := filepath.Join(t.TempDir(), "gate")
	t.Setenv(GateEnv, path)
	return func() {
		if err := os.WriteFile(path, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// eventually waits (up to a generous limit, for loaded machines) until
// ok holds.
func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !ok(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("never happened: %s", what)
		}
	}
}

// gone reports whether process pid has ended (and been reaped, or is a
// zombie).
func gone(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// The state follows the command name in parentheses.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && len(s) > i+2 && s[i+2] == 'Z'
}

// checkHelper checks what any process can see of the helper: its
// arguments and environment hold neither the value nor its hash, and it
// runs in a session of its own, away from the terminal.
func checkHelper(t *testing.T, pid int, value string) {
	t.Helper()
	if _, err := os.Stat("/proc"); err != nil {
		t.Skip("needs /proc")
	}
	sum := sha256.Sum256([]byte(value))
	for _, f := range []string{"cmdline", "environ"} {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/%s", pid, f))
		if err != nil {
			t.Fatalf("reading the helper's %s: %v", f, err)
		}
		if strings.Contains(string(b), value) || strings.Contains(string(b), hex.EncodeToString(sum[:])) {
			t.Fatalf("the helper's %s holds the value or its hash: %q", f, b)
		}
	}
	if sid, err := unix.Getsid(pid); err != nil || sid != pid {
		t.Fatalf("the helper is not in a session of its own: sid %d, %v", sid, err)
	}
}

func TestCopierClears(t *testing.T) {
	const value = "correct-Horse-42-battery"
	env := map[string]string{"DISPLAY": ":99"}
	getenv := func(k string) string { return env[k] }

	t.Run("cleared when the time is up", func(t *testing.T) {
		fc := newFakeClipboard(t)
		var h helpers
		c := Copier{Getenv: getenv, Clearer: h.clearer, After: 300 * time.Millisecond}
		got, err := c.Copy([]byte(value))
		if err != nil || got.Tool != "xclip" || got.ClearIn != 300*time.Millisecond || got.ClearErr != nil {
			t.Fatalf("Copy = %+v, %v", got, err)
		}
		eventually(t, "the clipboard is cleared", func() bool { return fc.holds() == "" })
		eventually(t, "the helper ends", func() bool { return gone(h.last(t)) })
	})

	t.Run("cleared if it still holds the value", func(t *testing.T) {
		fc := newFakeClipboard(t)
		open := gate(t)
		var h helpers
		c := Copier{Getenv: getenv, Clearer: h.clearer, After: 30 * time.Second}
		if _, err := c.Copy([]byte(value)); err != nil {
			t.Fatal(err)
		}
		if fc.holds() != value {
			t.Fatalf("the clipboard holds %q", fc.holds())
		}
		pid := h.last(t)
		checkHelper(t, pid, value)
		if gone(pid) || fc.holds() != value {
			t.Fatal("cleared before its time")
		}
		open()
		eventually(t, "the clipboard is cleared", func() bool { return fc.holds() == "" })
		eventually(t, "the helper ends", func() bool { return gone(pid) })
	})

	t.Run("left alone if something else was copied", func(t *testing.T) {
		fc := newFakeClipboard(t)
		open := gate(t)
		var h helpers
		c := Copier{Getenv: getenv, Clearer: h.clearer, After: 30 * time.Second}
		if _, err := c.Copy([]byte(value)); err != nil {
			t.Fatal(err)
		}
		fc.set(t, "something the person copied")
		open()
		pid := h.last(t)
		eventually(t, "the helper ends", func() bool { return gone(pid) })
		if got := fc.holds(); got != "something the person copied" {
			t.Fatalf("the clipboard holds %q", got)
		}
		if !strings.Contains(fc.log(), "xclip -selection clipboard -out") {
			t.Fatalf("the helper never looked:\n%s", fc.log())
		}
	})
}

func TestCopierFailures(t *testing.T) {
	const value = "correct-Horse-42-battery"
	none := func(string) (string, error) { return "", errors.New("not found") }
	tests := []struct {
		name     string
		env      map[string]string
		lookPath func(string) (string, error)
		broken   bool
		want     string
		terminal bool
	}{
		{"no tool", nil, none, false, "could not copy: no clipboard tool found (install wl-clipboard or xclip)", true},
		{"tmux without its command", map[string]string{"TMUX": "/tmp/x,1,0"}, none, false, "could not copy: no clipboard tool found (install wl-clipboard or xclip), and no tmux command to reach the tmux this runs in", false},
		{"the tool fails", map[string]string{"DISPLAY": ":99"}, nil, true, "could not copy: xclip failed: exit status 1; xsel failed: exit status 1; pbcopy failed: exit status 1", true},
		{"every tool fails", map[string]string{"DISPLAY": ":99", "TMUX": "/tmp/x,1,0"}, nil, true, "could not copy: xclip failed: exit status 1; xsel failed: exit status 1; pbcopy failed: exit status 1; tmux failed: exit status 1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fc := newFakeClipboard(t)
			if tt.broken {
				fc.set(t, "before")
				if err := os.WriteFile(filepath.Join(fc.dir, "broken"), nil, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			var h helpers
			c := Copier{Getenv: func(k string) string { return tt.env[k] }, LookPath: tt.lookPath, Clearer: h.clearer}
			got, err := c.Copy([]byte(value))
			if !errors.Is(err, ErrNotCopied) || err.Error() != tt.want {
				t.Fatalf("Copy = %+v, %v; want %q", got, err, tt.want)
			}
			if c.TerminalAllowed() != tt.terminal {
				t.Fatalf("TerminalAllowed = %v", !tt.terminal)
			}
			if len(h.cmds) != 0 {
				t.Fatal("a helper was started for a copy that did not happen")
			}
		})
	}
}

// TestCopierCannotClear: the copy is made, and the result says it will
// not be cleared, rather than promising it.
func TestCopierCannotClear(t *testing.T) {
	env := func(k string) string { return map[string]string{"DISPLAY": ":99"}[k] }
	tests := []struct {
		name    string
		clearer func() *exec.Cmd
		want    string
	}{
		{"no helper", nil, "no program to clear it later"},
		{"a helper that cannot start", func() *exec.Cmd { return exec.Command("/nonexistent/vault") }, "cannot start the program that clears it"},
		{"a helper that never says ready", func() *exec.Cmd { return exec.Command("true") }, "the program that clears it did not start"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fc := newFakeClipboard(t)
			got, err := Copier{Getenv: env, Clearer: tt.clearer}.Copy([]byte("v"))
			if err != nil || got.ClearErr == nil || got.ClearIn != 0 || !strings.Contains(got.ClearErr.Error(), tt.want) {
				t.Fatalf("Copy = %+v, %v; want a copy not cleared: %q", got, err, tt.want)
			}
			if fc.holds() != "v" {
				t.Fatalf("the clipboard holds %q", fc.holds())
			}
		})
	}
}

// TestCopierTmux copies into a real tmux server's paste buffer and checks
// the buffer is deleted when the time is up, unless it changed.
func TestCopierTmux(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("tmux is needed for this test under CI")
		}
		t.Skip("tmux is not installed")
	}
	socket := filepath.Join(t.TempDir(), "tmux.sock")
	tmux := func(args ...string) (string, error) {
		out, err := exec.Command("tmux", append([]string{"-S", socket}, args...)...).CombinedOutput()
		return string(out), err
	}
	if out, err := tmux("new-session", "-d", "-x", "80", "-y", "24", "sleep 600"); err != nil {
		t.Fatalf("starting tmux: %v\n%s", err, out)
	}
	t.Cleanup(func() { tmux("kill-server") })
	// How a program inside tmux finds its server.
	t.Setenv("TMUX", socket+",1,0")
	buffers := func() string {
		out, err := tmux("list-buffers", "-F", "#{buffer_name}")
		if err != nil {
			t.Fatalf("list-buffers: %v\n%s", err, out)
		}
		return out
	}
	const value = "correct-Horse-42-battery"
	getenv := func(k string) string { return map[string]string{"TMUX": os.Getenv("TMUX")}[k] }

	var h helpers
	c := Copier{Getenv: getenv, Clearer: h.clearer, After: 500 * time.Millisecond}
	got, err := c.Copy([]byte(value))
	if err != nil || got.Tool != "tmux" || got.ClearErr != nil {
		t.Fatalf("Copy = %+v, %v", got, err)
	}
	if !strings.Contains(got.Where(), `tmux's paste buffer "vault"`) {
		t.Fatalf("Where = %q", got.Where())
	}
	if out, _ := tmux("show-buffer", "-b", TmuxBuffer); out != value {
		t.Fatalf("the buffer holds %q", out)
	}
	checkHelper(t, h.last(t), value)
	eventually(t, "the buffer is deleted", func() bool { return !strings.Contains(buffers(), TmuxBuffer) })

	// Changed meanwhile: left alone.
	open := gate(t)
	c.After = 30 * time.Second
	if _, err := c.Copy([]byte(value)); err != nil {
		t.Fatal(err)
	}
	load := exec.Command("tmux", "-S", socket, "load-buffer", "-b", TmuxBuffer, "-")
	load.Stdin = strings.NewReader("something else")
	if out, err := load.CombinedOutput(); err != nil {
		t.Fatalf("load-buffer: %v\n%s", err, out)
	}
	open()
	pid := h.last(t)
	eventually(t, "the helper ends", func() bool { return gone(pid) })
	if out, _ := tmux("show-buffer", "-b", TmuxBuffer); out != "something else" {
		t.Fatalf("the buffer holds %q", out)
	}
}

func TestParseOrders(t *testing.T) {
	sum := hex.EncodeToString(make([]byte, 32))
	tests := []struct {
		in string
		ok bool
	}{
		{"xclip 45s " + sum + "\n", true},
		{"tmux 1m0s " + sum, true},
		{"", false},
		{"xclip 45s", false},
		{"sh 45s " + sum, false},
		{"xclip -1s " + sum, false},
		{"xclip 0s " + sum, false},
		{"xclip 2h " + sum, false},
		{"xclip 45s " + sum[:62], false},
		{"xclip 45s " + sum + "00", false},
		{"xclip 45s zz" + sum[2:], false},
		{"xclip 45s " + sum + " extra", false},
	}
	for _, tt := range tests {
		if _, err := parseOrders([]byte(tt.in)); (err == nil) != tt.ok {
			t.Errorf("parseOrders(%q) = %v", tt.in, err)
		}
	}
}

// FuzzParseOrders: whatever reaches the helper's stdin, it never panics,
// and accepts only a known tool, a delay within bounds and a full hash.
func FuzzParseOrders(f *testing.F) {
	f.Add([]byte("xclip 45s " + hex.EncodeToString(make([]byte, 32))))
	f.Add([]byte("tmux 1ns ff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := parseOrders(b)
		if err != nil {
			return
		}
		if _, ok := byName(o.tool.Name); !ok || o.after <= 0 || o.after > maxAfter {
			t.Fatalf("accepted %q as %+v", b, o)
		}
	})
}
