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
		{"tmux", map[string]string{"TMUX": "/tmp/tmux-1/default,1,0"}, []string{"tmux", "xclip"}, "tmux"},
		{"tmux on a desktop", map[string]string{"TMUX": "/tmp/tmux-1/default,1,0", "DISPLAY": ":0"}, []string{"tmux", "xclip"}, "xclip"},
		{"tmux without its command", map[string]string{"TMUX": "/tmp/tmux-1/default,1,0"}, []string{"xclip"}, ""},
		{"tmux installed, not in tmux", nil, []string{"tmux"}, ""},
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

// TestToolRoundTrip drives each tool's stand-in: copy, paste, and clear
// only while it still holds our value.
func TestToolRoundTrip(t *testing.T) {
	fc := newFakeClipboard(t)
	for _, c := range candidates {
		t.Run(c.tool.Name, func(t *testing.T) {
			tool := c.tool
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
			if got := fc.holds(); got != "" {
				t.Fatalf("after clearing: %q", got)
			}
			// Nothing to read (an empty clipboard, a deleted tmux
			// buffer): left alone.
			if cleared, _ := tool.ClearIf([]byte("s3cret")); cleared {
				t.Fatal("cleared an empty clipboard")
			}
		})
	}
	if strings.Contains(fc.log(), "s3cret") {
		t.Fatalf("the value reached a tool's arguments:\n%s", fc.log())
	}
}

func TestOSC52(t *testing.T) {
	var b bytes.Buffer
	if err := OSC52(&b, []byte("hunter2")); err != nil {
		t.Fatal(err)
	}
	if b.String() != "\x1b]52;c;aHVudGVyMg==\x07" {
		t.Fatalf("sequence %q", b.String())
	}
	if err := OSC52(&b, make([]byte, 60000)); !errors.Is(err, ErrTooLong) {
		t.Fatalf("long value: %v", err)
	}
}

// fakeClipboard puts stand-ins for every clipboard tool first on PATH:
// one script that stores what it is given to copy in a file of a temp
// folder, prints it to paste, removes it to clear, and logs its
// arguments. Tests using it cannot run in parallel (PATH).
type fakeClipboard struct {
	dir string
}

const fakeTool = `#!/bin/sh
store="$FAKECLIP_DIR/clip"
call=$(basename "$0")
[ $# -gt 0 ] && call="$call $*"
echo "$call" >> "$FAKECLIP_DIR/log"
case "$call" in
"wl-copy --clear"|"xsel --clipboard --clear"|"tmux delete-buffer -b vault") rm -f "$store" ;;
"wl-copy"|"xclip -selection clipboard -in"|"xsel --clipboard --input"|"pbcopy"|"tmux load-buffer -b vault -")
  [ -e "$FAKECLIP_DIR/broken" ] && exit 1
  cat > "$store.new" && mv "$store.new" "$store" ;;
"wl-paste --no-newline"|"xclip -selection clipboard -out"|"xsel --clipboard --output"|"pbpaste"|"tmux save-buffer -b vault -")
  [ -s "$store" ] || exit 1
  cat "$store" ;;
*) exit 2 ;;
esac
`

func newFakeClipboard(t *testing.T) *fakeClipboard {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o700); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, "fakeclip")
	if err := os.WriteFile(script, []byte(fakeTool), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"wl-copy", "wl-paste", "xclip", "xsel", "pbcopy", "pbpaste", "tmux"} {
		if err := os.Symlink(script, filepath.Join(bin, name)); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("FAKECLIP_DIR", dir)
	return &fakeClipboard{dir: dir}
}

// holds returns what the clipboard holds.
func (f *fakeClipboard) holds() string {
	b, _ := os.ReadFile(filepath.Join(f.dir, "clip"))
	return string(b)
}

// set copies s as another program would.
func (f *fakeClipboard) set(t *testing.T, s string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(f.dir, "clip"), []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

// log returns every call of a tool, with its arguments.
func (f *fakeClipboard) log() string {
	b, _ := os.ReadFile(filepath.Join(f.dir, "log"))
	return string(b)
}
