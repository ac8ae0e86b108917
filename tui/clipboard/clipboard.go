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

// Tool is a system clipboard reached through external commands.
type Tool struct {
	// Name is the tool's name, for messages.
	Name  string
	copy  []string
	paste []string
}

// candidates are the tools tried, with the environment each needs.
var candidates = []struct {
	env   string // a variable that must be set, or ""
	tool  Tool
	check string // the command that must be on PATH
}{
	{"WAYLAND_DISPLAY", Tool{"wl-copy", []string{"wl-copy"}, []string{"wl-paste", "--no-newline"}}, "wl-copy"},
	{"DISPLAY", Tool{"xclip", []string{"xclip", "-selection", "clipboard", "-in"}, []string{"xclip", "-selection", "clipboard", "-out"}}, "xclip"},
	{"DISPLAY", Tool{"xsel", []string{"xsel", "--clipboard", "--input"}, []string{"xsel", "--clipboard", "--output"}}, "xsel"},
	{"", Tool{"pbcopy", []string{"pbcopy"}, []string{"pbpaste"}}, "pbcopy"},
}

// Find returns the first system clipboard tool that can work here, given
// the environment and a way to find commands (exec.LookPath).
func Find(getenv func(string) string, lookPath func(string) (string, error)) (Tool, bool) {
	for _, c := range candidates {
		if c.env != "" && getenv(c.env) == "" {
			continue
		}
		if _, err := lookPath(c.check); err == nil {
			return c.tool, true
		}
	}
	return Tool{}, false
}

// timeout bounds each call of a clipboard tool.
const timeout = 5 * time.Second

func run(argv []string, stdin []byte) ([]byte, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin = bytes.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return out.Bytes(), err
	case <-time.After(timeout):
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("%s did not finish", argv[0])
	}
}

// Copy puts b on the clipboard.
func (t Tool) Copy(b []byte) error {
	if _, err := run(t.copy, b); err != nil {
		return fmt.Errorf("%s failed: %w", t.Name, err)
	}
	return nil
}

// Paste returns what is on the clipboard.
func (t Tool) Paste() ([]byte, error) {
	out, err := run(t.paste, nil)
	if err != nil {
		return nil, fmt.Errorf("%s failed: %w", t.Name, err)
	}
	return out, nil
}

// ClearIf empties the clipboard if it still holds exactly b, so a value the
// person copied since is left alone. It reports whether it cleared it.
func (t Tool) ClearIf(b []byte) (bool, error) { return t.ClearIfSum(sha256.Sum256(b)) }

// ClearIfSum is ClearIf for a value known only by its SHA-256, so that the
// value itself need not be kept in memory until then.
func (t Tool) ClearIfSum(sum [32]byte) (bool, error) {
	now, err := t.Paste()
	if err != nil {
		return false, err
	}
	if sha256.Sum256(now) != sum {
		return false, nil
	}
	return true, t.Copy(nil)
}

// maxOSC52 is a size most terminals accept in one OSC 52 sequence.
const maxOSC52 = 74994

// ErrTooLong is returned by OSC52 for values terminals would refuse.
var ErrTooLong = errors.New("too long for the terminal clipboard")

// OSC52 writes the escape sequence that asks the terminal to put b on its
// clipboard. Inside tmux (inTmux) the sequence is wrapped so tmux passes it
// on to the outer terminal.
func OSC52(w io.Writer, b []byte, inTmux bool) error {
	enc := base64.StdEncoding.EncodeToString(b)
	if len(enc) > maxOSC52 {
		return ErrTooLong
	}
	seq := "\x1b]52;c;" + enc + "\x07"
	if inTmux {
		seq = "\x1bPtmux;\x1b" + seq + "\x1b\\"
	}
	_, err := io.WriteString(w, seq)
	return err
}
