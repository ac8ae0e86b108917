package clipboard

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"time"
)

// Tool is a clipboard reached through external commands: a system
// clipboard tool, or tmux's paste buffers.
type Tool struct {
	// Name is the tool's name, for messages and for the clearing helper.
	Name  string
	copy  []string
	paste []string
	// clear empties the clipboard; nil means copying nothing does.
	clear []string
}

// TmuxBuffer is the tmux paste buffer copies go to inside tmux. A fixed
// name, so that the newest copy replaces the previous one instead of
// piling up beside it.
const TmuxBuffer = "vault"

// candidates are the tools tried, in order, with the environment each
// needs. The system clipboard comes first: inside tmux on a desktop it is
// still the one the person pastes from.
var candidates = []struct {
	env   string // a variable that must be set, or ""
	tool  Tool
	check string // the command that must be on PATH
}{
	{"WAYLAND_DISPLAY", Tool{"wl-copy", []string{"wl-copy"}, []string{"wl-paste", "--no-newline"}, []string{"wl-copy", "--clear"}}, "wl-copy"},
	{"DISPLAY", Tool{"xclip", []string{"xclip", "-selection", "clipboard", "-in"}, []string{"xclip", "-selection", "clipboard", "-out"}, nil}, "xclip"},
	{"DISPLAY", Tool{"xsel", []string{"xsel", "--clipboard", "--input"}, []string{"xsel", "--clipboard", "--output"}, []string{"xsel", "--clipboard", "--clear"}}, "xsel"},
	{"", Tool{"pbcopy", []string{"pbcopy"}, []string{"pbpaste"}, nil}, "pbcopy"},
	// The value goes to tmux on stdin ("-"), never in its arguments.
	{"TMUX", Tool{"tmux", []string{"tmux", "load-buffer", "-b", TmuxBuffer, "-"}, []string{"tmux", "save-buffer", "-b", TmuxBuffer, "-"}, []string{"tmux", "delete-buffer", "-b", TmuxBuffer}}, "tmux"},
}

// Find returns the first clipboard tool that can work here, given the
// environment and a way to find commands (exec.LookPath).
func Find(getenv func(string) string, lookPath func(string) (string, error)) (Tool, bool) {
	if all := available(getenv, lookPath); len(all) > 0 {
		return all[0], true
	}
	return Tool{}, false
}

// available returns every clipboard tool that can work here, in the order
// they are tried.
func available(getenv func(string) string, lookPath func(string) (string, error)) []Tool {
	var out []Tool
	for _, c := range candidates {
		if c.env != "" && getenv(c.env) == "" {
			continue
		}
		if _, err := lookPath(c.check); err == nil {
			out = append(out, c.tool)
		}
	}
	return out
}

// byName returns the tool called name, for the clearing helper, which is
// told which tool the copy went through.
func byName(name string) (Tool, bool) {
	for _, c := range candidates {
		if c.tool.Name == name {
			return c.tool, true
		}
	}
	return Tool{}, false
}

// timeout bounds each call of a clipboard tool.
const timeout = 5 * time.Second

// run runs argv with stdin and its output going to out (nil: discarded).
// Without a reader of its output, a tool that leaves a process behind to
// serve the clipboard (xclip, wl-copy) does not keep run waiting.
func run(argv []string, stdin []byte, out io.Writer) error {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin = bytes.NewReader(stdin)
	cmd.Stdout = out
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(timeout):
		_ = cmd.Process.Kill()
		return fmt.Errorf("%s did not finish", argv[0])
	}
}

// Copy puts b on the clipboard.
func (t Tool) Copy(b []byte) error {
	if err := run(t.copy, b, nil); err != nil {
		return fmt.Errorf("%s failed: %w", t.Name, err)
	}
	return nil
}

// Paste returns what is on the clipboard.
func (t Tool) Paste() ([]byte, error) {
	var out bytes.Buffer
	if err := run(t.paste, nil, &out); err != nil {
		return nil, fmt.Errorf("%s failed: %w", t.Name, err)
	}
	return out.Bytes(), nil
}

// sum returns the SHA-256 of what is on the clipboard. The content streams
// through the hash: it is never held in memory, whatever its size.
func (t Tool) sum() ([32]byte, error) {
	h := sha256.New()
	if err := run(t.paste, nil, h); err != nil {
		return [32]byte{}, fmt.Errorf("%s failed: %w", t.Name, err)
	}
	return [32]byte(h.Sum(nil)), nil
}

// Clear empties the clipboard, whatever it holds.
func (t Tool) Clear() error {
	if t.clear == nil {
		return t.Copy(nil)
	}
	if err := run(t.clear, nil, nil); err != nil {
		return fmt.Errorf("%s failed: %w", t.Name, err)
	}
	return nil
}

// ClearIf empties the clipboard if it still holds exactly b, so a value the
// person copied since is left alone. It reports whether it cleared it.
func (t Tool) ClearIf(b []byte) (bool, error) { return t.ClearIfSum(sha256.Sum256(b)) }

// ClearIfSum is ClearIf for a value known only by its SHA-256, so that the
// value itself need not be kept in memory until then. A clipboard that
// cannot be read (empty, or the tmux buffer gone) is left alone.
func (t Tool) ClearIfSum(sum [32]byte) (bool, error) {
	now, err := t.sum()
	if err != nil {
		return false, err
	}
	if now != sum {
		return false, nil
	}
	return true, t.Clear()
}

// maxOSC52 is a size most terminals accept in one OSC 52 sequence.
const maxOSC52 = 74994

// ErrTooLong is returned by OSC52 for values terminals would refuse.
var ErrTooLong = errors.New("too long for the terminal clipboard")

// OSC52 writes the escape sequence that asks the terminal to put b on its
// clipboard. Nothing confirms that the terminal did, and nothing can
// clear it later: the caller must say so. Not for use inside tmux (see
// Copier.TerminalAllowed).
func OSC52(w io.Writer, b []byte) error {
	enc := base64.StdEncoding.EncodeToString(b)
	if len(enc) > maxOSC52 {
		return ErrTooLong
	}
	_, err := io.WriteString(w, "\x1b]52;c;"+enc+"\x07")
	return err
}
