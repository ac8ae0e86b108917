package clipboard

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFind(t *testing.T) {
	have := func(names ...string) func(string) (string, error) {
		return func(n string) (string, error) {
			for _, h := range names {
				if h == n {
					return "/usr/bin/" + n, nil
				}
			}
			return "", errors.New("not found")
		}
	}
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	tests := []struct {
		name string
		env  map[string]string
		have []string
		want string
	}{
		{"wayland", map[string]string{"WAYLAND_DISPLAY": "w"}, []string{"wl-copy", "xclip"}, "wl-copy"},
		{"x11 xclip", map[string]string{"DISPLAY": ":0"}, []string{"wl-copy", "xclip"}, "xclip"},
		{"x11 xsel", map[string]string{"DISPLAY": ":0"}, []string{"xsel"}, "xsel"},
		{"no display", nil, []string{"xclip", "wl-copy"}, ""},
		{"macOS", nil, []string{"pbcopy"}, "pbcopy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tool, ok := Find(env(tt.env), have(tt.have...))
			if ok != (tt.want != "") || tool.Name != tt.want {
				t.Fatalf("Find = %q, %v; want %q", tool.Name, ok, tt.want)
			}
		})
	}
}

// TestToolRoundTrip drives a fake clipboard tool: copy, paste, and clear
// only while it still holds our value.
func TestToolRoundTrip(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "clip")
	script := filepath.Join(dir, "fakeclip")
	os.WriteFile(script, []byte("#!/bin/sh\nif [ \"$1\" = in ]; then cat > "+store+"; else cat "+store+"; fi\n"), 0o755)
	tool := Tool{Name: "fakeclip", copy: []string{script, "in"}, paste: []string{script, "out"}}
	if err := tool.Copy([]byte("s3cret")); err != nil {
		t.Fatal(err)
	}
	if got, err := tool.Paste(); err != nil || string(got) != "s3cret" {
		t.Fatalf("paste = %q, %v", got, err)
	}
	if cleared, err := tool.ClearIf([]byte("other")); cleared || err != nil {
		t.Fatalf("cleared someone else's value: %v, %v", cleared, err)
	}
	if cleared, err := tool.ClearIf([]byte("s3cret")); !cleared || err != nil {
		t.Fatalf("ClearIf = %v, %v", cleared, err)
	}
	if got, _ := tool.Paste(); len(got) != 0 {
		t.Fatalf("after clearing: %q", got)
	}
}

func TestOSC52(t *testing.T) {
	var b bytes.Buffer
	if err := OSC52(&b, []byte("hunter2"), false); err != nil {
		t.Fatal(err)
	}
	if b.String() != "\x1b]52;c;aHVudGVyMg==\x07" {
		t.Fatalf("sequence %q", b.String())
	}
	b.Reset()
	OSC52(&b, []byte("hunter2"), true)
	if !strings.HasPrefix(b.String(), "\x1bPtmux;\x1b\x1b]52;c;") || !strings.HasSuffix(b.String(), "\x07\x1b\\") {
		t.Fatalf("tmux sequence %q", b.String())
	}
	if err := OSC52(&b, make([]byte, 60000), false); !errors.Is(err, ErrTooLong) {
		t.Fatalf("long value: %v", err)
	}
}
