package tui

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mutual-aid-vault/vault/tui/clipboard"
)

// clearHelperArg makes the test binary the clipboard-clearing helper,
// as the hidden 'vault clipboard-clear' makes vault (see TestMain).
const clearHelperArg = "tui-test-clipboard-clear"

// serveClear is the test binary as the clearing helper.
func serveClear() int {
	if err := clipboard.Serve(os.Stdin, os.Stdout, os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// fakeClip is a stand-in xclip first on PATH, which keeps the clipboard
// in a file, and a gate that lets the clearing helper go ahead when the
// test says (clipboard.GateEnv), instead of after 45 s.
type fakeClip struct {
	t     *testing.T
	store string
	gate  string
}

func newFakeClip(t *testing.T) *fakeClip {
	t.Helper()
	dir := t.TempDir()
	f := &fakeClip{t: t, store: filepath.Join(dir, "clip"), gate: filepath.Join(dir, "gate")}
	script := "#!/bin/sh\nfor a; do case \"$a\" in -in) cat > " + f.store + ".new && mv " + f.store + ".new " + f.store + "; exit 0;; -out) [ -s " + f.store + " ] || exit 1; cat " + f.store + "; exit 0;; esac; done; exit 1\n"
	if err := os.WriteFile(filepath.Join(dir, "xclip"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv(clipboard.GateEnv, f.gate)
	return f
}

// clearer starts the test binary as the clearing helper.
func (f *fakeClip) clearer() *exec.Cmd {
	exe, err := os.Executable()
	if err != nil {
		return nil
	}
	return exec.Command(exe, clearHelperArg)
}

// options returns demo options with the stand-in as the system clipboard.
func (f *fakeClip) options() Options {
	f.t.Helper()
	opts, err := BuildDemo(f.t.TempDir(), demoNow)
	if err != nil {
		f.t.Fatal(err)
	}
	opts.Getenv = func(k string) string {
		if k == "DISPLAY" {
			return ":99"
		}
		return ""
	}
	opts.Clearer = f.clearer
	return opts
}

func (f *fakeClip) holds() string {
	b, _ := os.ReadFile(f.store)
	return string(b)
}

func (f *fakeClip) set(s string) {
	f.t.Helper()
	if err := os.WriteFile(f.store, []byte(s), 0o600); err != nil {
		f.t.Fatal(err)
	}
}

// helpers returns the running clearing helpers this test binary started.
func (f *fakeClip) helpers() int {
	n := 0
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		cmdline, err := os.ReadFile(filepath.Join(d, "cmdline"))
		if err != nil || !strings.HasSuffix(string(cmdline), "\x00"+clearHelperArg+"\x00") {
			continue
		}
		env, _ := os.ReadFile(filepath.Join(d, "environ"))
		if strings.Contains(string(env), clipboard.GateEnv+"="+f.gate+"\x00") {
			n++
		}
	}
	return n
}

// release opens the gate and waits until every helper has done its work.
func (f *fakeClip) release() {
	f.t.Helper()
	if err := os.WriteFile(f.gate, nil, 0o600); err != nil {
		f.t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); f.helpers() > 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			f.t.Fatal("the clearing helper still runs")
		}
	}
	if err := os.Remove(f.gate); err != nil {
		f.t.Fatal(err)
	}
}

// TestCopyAndClear copies a value with a stand-in system clipboard tool,
// quits, and checks that the clipboard is cleared by the helper that
// outlives the UI, but only if it still holds the value.
func TestCopyAndClear(t *testing.T) {
	if _, err := os.Stat("/proc/self/cmdline"); err != nil {
		t.Skip("needs /proc")
	}
	fc := newFakeClip(t)
	h := newHarness(t, fc.options())
	h.selectSecret("airtable")
	h.key("c")
	h.mustSee("Copied airtable's password; the clipboard is cleared in 45s if it still holds it.")
	h.mustNotSee("correct-Horse-42-battery")
	if got := fc.holds(); got != "correct-Horse-42-battery" {
		t.Fatalf("clipboard holds %q", got)
	}
	// The UI ends; the helper does not.
	h.m.Close()
	if fc.helpers() != 1 || fc.holds() != "correct-Horse-42-battery" {
		t.Fatal("the clearing helper ended with the UI")
	}
	fc.release()
	if got := fc.holds(); got != "" {
		t.Fatalf("not cleared: %q", got)
	}

	// Copied again, then the person copies something else: left alone.
	h = newHarness(t, fc.options())
	h.selectSecret("airtable")
	h.key("c")
	h.mustSee("Copied airtable's password")
	fc.set("something else")
	fc.release()
	if got := fc.holds(); got != "something else" {
		t.Fatalf("cleared someone else's copy: %q", got)
	}
}

// TestCopyFailures: a copy that did not happen is never reported as made.
func TestCopyFailures(t *testing.T) {
	t.Run("no tool, inside tmux", func(t *testing.T) {
		// The tools the UI runs see the process's environment: a tmux
		// that cannot be reached.
		t.Setenv("TMUX", filepath.Join(t.TempDir(), "no-such-tmux")+",1,0")
		t.Setenv("PATH", t.TempDir()+string(os.PathListSeparator)+os.Getenv("PATH"))
		opts, err := BuildDemo(t.TempDir(), demoNow)
		if err != nil {
			t.Fatal(err)
		}
		opts.Getenv = func(k string) string { return map[string]string{"TMUX": os.Getenv("TMUX")}[k] }
		h := newHarness(t, opts)
		h.selectSecret("airtable")
		h.key("c")
		h.mustSee("could not copy")
		h.mustNotSee("Copied", "correct-Horse-42-battery")
	})
	t.Run("no tool, no tmux", func(t *testing.T) {
		h := demo(t)
		h.selectSecret("airtable")
		h.key("c")
		h.mustSee("Asked your terminal to copy airtable's password (OSC 52")
		h.mustNotSee("Copied", "correct-Horse-42-battery")
	})
	t.Run("no clearing helper", func(t *testing.T) {
		fc := newFakeClip(t)
		opts := fc.options()
		opts.Clearer = nil
		h := newHarness(t, opts)
		h.selectSecret("airtable")
		h.key("c")
		h.mustSee("Copied airtable's password to the clipboard, but vault cannot clear it")
		h.mustNotSee("cleared in")
	})
}
