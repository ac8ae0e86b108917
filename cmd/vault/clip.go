package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"time"

	"github.com/spf13/cobra"

	"github.com/mutual-aid-vault/vault/tui/clipboard"
)

// copier is how this run copies to the clipboard: clearing is left to
// 'vault clipboard-clear', started detached, so that it happens even
// after this process (a command, or the terminal UI) has ended.
func (a *app) copier() clipboard.Copier {
	return clipboard.Copier{Getenv: a.getenv, Clearer: a.clearer, After: a.clipClear()}
}

// clearer returns the command that runs this program's clearing helper,
// or nil when this program cannot be found.
func (a *app) clearer() *exec.Cmd {
	exe := a.opts.exe
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return nil
		}
	}
	cmd := exec.Command(exe, "clipboard-clear")
	cmd.Args[0] = "vault"
	return cmd
}

func (a *app) clipClear() time.Duration {
	if a.opts.clipClear != 0 {
		return a.opts.clipClear
	}
	return clipboard.DefaultAfter
}

// copyValue puts b, described by what ("the new password for airtable"),
// on the clipboard and says where it went and when it is cleared. Outside
// tmux and without a clipboard tool, it asks the terminal to copy it (OSC
// 52), and says that nothing confirms it and nothing clears it. It fails
// when no copy was made.
func (a *app) copyValue(b []byte, what string) error {
	c := a.copier()
	got, err := c.Copy(b)
	switch {
	case err == nil && got.ClearErr != nil:
		a.note("copied %s to %s, but it cannot be cleared automatically (%v): copy something else once you have pasted it", what, got.Where(), got.ClearErr)
		return nil
	case err == nil:
		a.note("copied %s to %s; it is cleared in %v if still there", what, got.Where(), got.ClearIn)
		return nil
	case !c.TerminalAllowed():
		return err
	}
	tty, terr := os.OpenFile("/dev/tty", os.O_WRONLY, 0)
	if terr != nil {
		return fmt.Errorf("%w, and no terminal to ask", err)
	}
	defer tty.Close()
	if terr := clipboard.OSC52(tty, b); terr != nil {
		return fmt.Errorf("%w, and the terminal's clipboard cannot take it: %v", err, terr)
	}
	a.note("asked your terminal to copy %s (OSC 52, as no clipboard tool was found); vault cannot check that it did, nor clear it: copy something else once you have pasted it", what)
	return nil
}

// clipboardClearCommand is the hidden helper that copier starts: it reads
// its orders (a tool, a delay, a hash) on stdin, says "ready" on stdout,
// closes both, and clears the clipboard when the time is up if it still
// holds the copied value.
func (a *app) clipboardClearCommand() *cobra.Command {
	return &cobra.Command{
		Use:    "clipboard-clear",
		Short:  "For vault's own use: clears a copied value later",
		Hidden: true,
		Args:   args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ready, ok := a.stdout.(*os.File)
			if !ok {
				return errors.New("this command is for vault's own use")
			}
			if f, ok := a.stdin.(*os.File); ok {
				defer f.Close()
			}
			return clipboard.Serve(a.stdin, ready, a.getenv)
		},
	}
}
