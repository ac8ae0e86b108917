package main

import (
	"errors"
	"fmt"
	"strings"
	"syscall"

	"github.com/mutual-aid-vault/vault/tui"
	"github.com/mutual-aid-vault/vault/vault"
)

// Exit codes. They are part of the command-line contract: documented in the
// README and never renumbered.
const (
	exitOK         = 0
	exitFailure    = 1
	exitUsage      = 2
	exitNotFound   = 3 // no such secret or member
	exitNotAllowed = 4 // not a reader of the secret, or not an admin
	exitBusy       = 5 // another process holds the vault
	exitBadKey     = 6 // wrong passphrase, or an identity that does not open the vault
	exitDue        = 10
)

// signalExit is the exit code of a run that a signal stopped: 128 plus the
// signal's number, as shells report it (130 for Ctrl-C, 143 for SIGTERM).
func signalExit(sig syscall.Signal) int { return 128 + int(sig) }

// kindError is an error with its own message that matches one of the
// vault's sentinel errors, so it maps to that sentinel's exit code.
type kindError struct {
	kind error
	msg  string
}

func (e kindError) Error() string { return e.msg }
func (e kindError) Unwrap() error { return e.kind }

// fail returns an error reading as the formatted message that matches kind.
func fail(kind error, format string, args ...any) error {
	return kindError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// errDue is what 'vault due' returns when something is due: not a failure,
// but exit code 10 for cron. 'vault run' and 'vault inject' wrap it when
// they refuse a secret that must be rotated now.
var errDue = errors.New("something is due")

// exitStatus is an error that sets the exit code itself: the exit code of
// the program 'vault run' ran (128+N when signal N ended it, as shells
// say), or a shell's 126 and 127 when it could not be started. With a nil
// err it is the program's own result, and vault prints nothing.
type exitStatus struct {
	code int
	err  error
}

func (e exitStatus) Error() string {
	if e.err != nil {
		return e.err.Error()
	}
	return fmt.Sprintf("the command exited with status %d", e.code)
}

func (e exitStatus) Unwrap() error { return e.err }

// silent reports whether err needs no message: it says all it has to say
// by its exit code.
func silent(err error) bool {
	var st exitStatus
	return err == errDue || (errors.As(err, &st) && st.err == nil)
}

// usageError marks mistakes in how the command was called.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// exitCode maps an error to the exit code scripts see. It is the only place
// that decides exit codes.
func exitCode(err error) int {
	var usage usageError
	var st exitStatus
	var stopped tui.SignalError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &st):
		return st.code
	case errors.As(err, &stopped):
		return signalExit(stopped.Signal)
	case errors.Is(err, errDue):
		return exitDue
	case errors.As(err, &usage):
		return exitUsage
	case errors.Is(err, vault.ErrNotFound):
		return exitNotFound
	case errors.Is(err, vault.ErrNotReader), errors.Is(err, vault.ErrNotAdmin), errors.Is(err, vault.ErrReadOnly):
		return exitNotAllowed
	case errors.Is(err, vault.ErrBusy):
		return exitBusy
	case errors.Is(err, vault.ErrWrongPassphrase), errors.Is(err, vault.ErrNotMember),
		errors.Is(err, vault.ErrNoIdentity), errors.Is(err, vault.ErrNoPassphrase), errors.Is(err, vault.ErrAgentLocked):
		return exitBadKey
	}
	return exitFailure
}

// hint returns what to do about an error, when its own message does not say.
func hint(err error) string {
	switch {
	case errors.Is(err, vault.ErrNoSecret):
		return "'vault list' shows the names ('vault list --trash' the trash)"
	case errors.Is(err, vault.ErrNoMember):
		return "'vault member list' shows the members"
	case errors.Is(err, vault.ErrInTrash):
		return "bring it back with 'vault restore'"
	case errors.Is(err, vault.ErrBusy):
		return "try again when the other vault command has finished"
	case errors.Is(err, vault.ErrCorrupt) && strings.Contains(err.Error(), "this machine's copy"):
		return "" // the message says what to do: this machine's copy is rebuilt
	case errors.Is(err, vault.ErrCorrupt):
		return "restore the file from a backup copy; vault has not changed it"
	case errors.Is(err, vault.ErrTampered):
		return "do not trust this copy: restore the file from a backup and tell your admins"
	case errors.Is(err, vault.ErrNotVault):
		return "check the path given by --vault or VAULT_FILE"
	case errors.Is(err, vault.ErrNewerFormat):
		return "upgrade vault to open it"
	case errors.Is(err, vault.ErrWrongPassphrase):
		return "try again, or check the file VAULT_PASSPHRASE_FILE names"
	case errors.Is(err, vault.ErrNoVault):
		return "to join your group's vault, run 'vault join' with its file or git address (ask an admin); to start a new one, 'vault init'"
	case errors.Is(err, vault.ErrNoIdentity):
		return "create one with 'vault keygen', or point --identity or VAULT_IDENTITY at yours"
	case errors.Is(err, vault.ErrRejected):
		return "this is a bug in vault: please report it"
	}
	return ""
}
