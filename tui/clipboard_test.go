package tui

import (
	"os"
	"path/filepath"
	"testing"
)

// TestCopyAndClear copies a value with a stand-in system clipboard tool,
// and checks the clipboard is cleared when the time is up, but only if it
// still holds the value.
func TestCopyAndClear(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "clip")
	script := "#!/bin/sh\nfor a; do case \"$a\" in -in) cat > " + store + "; exit 0;; -out) cat " + store + " 2>/dev/null; exit 0;; esac; done; exit 1\n"
	if err := os.WriteFile(filepath.Join(dir, "xclip"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	opts, err := BuildDemo(t.TempDir(), demoNow)
	if err != nil {
		t.Fatal(err)
	}
	opts.Getenv = func(k string) string {
		if k == "DISPLAY" {
			return ":99"
		}
		return ""
	}
	h := newHarness(t, opts)
	h.selectSecret("airtable")
	h.key("c")
	h.mustSee("Copied airtable's password; the clipboard is cleared in 45s if it still holds it.")
	h.mustNotSee("correct-Horse-42-battery")
	if b, _ := os.ReadFile(store); string(b) != "correct-Horse-42-battery" {
		t.Fatalf("clipboard holds %q", b)
	}
	h.send(clipClearMsg{gen: h.m.sh.clipGen})
	if b, _ := os.ReadFile(store); len(b) != 0 {
		t.Fatalf("not cleared: %q", b)
	}
	// Copied again, then the person copies something else: left alone.
	h.key("c")
	if err := os.WriteFile(store, []byte("something else"), 0o600); err != nil {
		t.Fatal(err)
	}
	h.send(clipClearMsg{gen: h.m.sh.clipGen})
	if b, _ := os.ReadFile(store); string(b) != "something else" {
		t.Fatalf("cleared someone else's copy: %q", b)
	}
	// An older copy's timer does nothing.
	h.key("c")
	h.send(clipClearMsg{gen: h.m.sh.clipGen - 1})
	if b, _ := os.ReadFile(store); string(b) != "correct-Horse-42-battery" {
		t.Fatalf("an old timer cleared the new copy: %q", b)
	}
}
