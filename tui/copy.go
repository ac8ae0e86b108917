package tui

import (
	"bytes"
	"fmt"

	tea "charm.land/bubbletea/v2"

	"github.com/mutual-aid-vault/vault/tui/clipboard"
)

// copier copies to the clipboard; clearing is left to the helper that
// Options.Clearer starts, which outlives the UI.
func (sh *shared) copier() clipboard.Copier {
	return clipboard.Copier{Getenv: sh.getenv, Clearer: sh.opts.Clearer, After: sh.clipboardFor()}
}

// copySecret copies b, a secret named by what ("airtable's password"),
// and then says on the status line where it went and when it is cleared,
// or why it could not be copied: never "Copied" before it is. extra is
// added after what (", valid 12s more"). b is copied first: the caller
// may wipe it as soon as this returns.
func (sh *shared) copySecret(b []byte, what, extra string) tea.Cmd {
	buf := bytes.Clone(b)
	c := sh.copier()
	return func() tea.Msg {
		defer clear(buf)
		got, err := c.Copy(buf)
		switch {
		case err == nil && got.ClearErr != nil:
			return statusMsg{text: fmt.Sprintf("Copied %s%s to %s, but vault cannot clear it (%v): copy something else after pasting.", what, extra, got.Where(), got.ClearErr)}
		case err == nil && got.Tool == "tmux":
			return statusMsg{text: fmt.Sprintf("Copied %s%s to %s; it is deleted in %v if it still holds it.", what, extra, got.Where(), got.ClearIn)}
		case err == nil:
			return statusMsg{text: fmt.Sprintf("Copied %s%s; the clipboard is cleared in %v if it still holds it.", what, extra, got.ClearIn)}
		case !c.TerminalAllowed():
			return statusMsg{err: err}
		}
		text := fmt.Sprintf("Asked your terminal to copy %s%s (OSC 52); vault cannot check or clear that copy: copy something else after pasting.", what, extra)
		return tea.BatchMsg{tea.SetClipboard(string(buf)), statusCmd(text, nil)}
	}
}

// copyValue copies b, which is not secret (a public key): it is not
// cleared later, and only a failure is reported, the caller saying
// "Copied" itself.
func (sh *shared) copyValue(b []byte) tea.Cmd {
	buf := bytes.Clone(b)
	c := sh.copier()
	c.Clearer = nil
	return func() tea.Msg {
		_, err := c.Copy(buf)
		switch {
		case err == nil:
			return nil
		case c.TerminalAllowed():
			return tea.SetClipboard(string(buf))()
		}
		return statusMsg{err: err}
	}
}
