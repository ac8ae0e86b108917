package main

// Output rules, which scripts rely on:
//
//   - stdout carries data only: a value from get, a table or JSON from list,
//     a public key from keygen and pubkey. Nothing else is ever written there.
//   - Every message, warning and error goes to stderr, prefixed "vault: ".
//     Errors are one line that names the problem and what to do about it.
//     Without a terminal on stderr (cron, CI), the reminders come at most
//     once a day and chore notes not at all: see remind and withVault.
//   - Prompts (passphrases, values) are written to and read from the
//     terminal (/dev/tty), without echo; never taken from argv. Processes
//     on one terminal take turns at it (terminal.go).
//   - No secret value, passphrase or secret key is ever part of a message.
//   - Exit codes are mapped from errors in one place, exit.go.

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/mutual-aid-vault/vault/vault"
	"github.com/mutual-aid-vault/vault/vault/display"
)

// app is one run of the program: its streams, environment and options.
// Nothing in the program below run exits the process or reads globals, so
// the CLI runs in-process under test.
type app struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	tty    terminal
	opts   options

	// Flags shared by every command.
	vaultFlag    string
	identityFlag string
	quiet        bool
	// noReminders is set by commands that list what is due themselves.
	noReminders bool
	// warned counts the vault's warnings already printed.
	warned int
	// wait bounds the wait for another process changing the vault.
	wait time.Duration
	// open is the vault the command has open, if any: it is let go before
	// every prompt (see beforePrompt). identity is the identity
	// loadIdentity unlocked (once per process), which the vault was opened
	// with.
	open     *vault.Vault
	identity *vault.Identity
}

// beforePrompt lets go of the open vault, if any, before the command waits
// for a person: nobody else's command waits while someone types. The
// vault is taken again, and checked afresh, by the next call that needs it.
func (a *app) beforePrompt() {
	if a.open != nil {
		a.open.Release()
	}
}

// plural says a number of things: "1 secret", "2 secrets".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// sized says "a 12-character" or "an 8-character": a number before a word,
// with the article it takes when read aloud (an eight, an eleven, an
// eighteen, an eighty-…).
func sized(n int, word string) string {
	s := strconv.Itoa(n)
	if s[0] == '8' || n == 11 || n == 18 || (n >= 11000 && n < 12000) || (n >= 18000 && n < 19000) {
		return "an " + s + "-" + word
	}
	return "a " + s + "-" + word
}

// options are knobs that tests turn; real runs use the zero value.
type options struct {
	// scryptWorkFactor lowers the cost of passphrase-protected identity
	// files written by keygen, so tests run fast. Zero means age's default.
	scryptWorkFactor int
	// clock replaces the system clock.
	clock vault.Clock
	// clipClear is how long a copied password stays on the clipboard;
	// zero means 45 seconds.
	clipClear time.Duration
	// exe is the program git's merge driver runs; empty means this one.
	exe string
	// environ is the environment 'vault run' starts its program with;
	// nil means the process's own.
	environ func() []string
	// stderrTerminal makes the run behave as when stderr is a terminal
	// (reminders at every start, chores told), for scripts that check
	// what a person at a terminal sees.
	stderrTerminal bool
}

// run is main without the exit: it returns the exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	// Before anything secret is read.
	hardenProcess()
	tty := newDevTTY(os.Getenv)
	tty.quit = catchQuit()
	return runWith(args, stdin, stdout, stderr, os.Getenv, tty, options{})
}

func runWith(args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string, tty terminal, opts options) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv, tty: tty, opts: opts}
	root := a.rootCommand(args[1:])
	root.SetArgs(args[1:])
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	if err != nil && !silent(err) {
		a.errorf(err)
	}
	return exitCode(err)
}

// say writes one message line to stderr. The names and notes a message
// quotes come from the vault, which any member can write to with other
// tools: the line is shown with display.Line, so none of it reaches the
// terminal as a control or escape character.
func (a *app) say(format string, args ...any) {
	fmt.Fprintf(a.stderr, "vault: %s\n", display.Line(fmt.Sprintf(format, args...)))
}

// stderrTerminal reports whether messages go to a person at a terminal
// rather than to a cron mail or a CI log, which get fewer of them.
func (a *app) stderrTerminal() bool {
	return a.opts.stderrTerminal || isTerminal(a.stderr)
}

// note is say, unless --quiet.
func (a *app) note(format string, args ...any) {
	if !a.quiet {
		a.say(format, args...)
	}
}

// errorf prints err as one line on stderr.
func (a *app) errorf(err error) {
	msg := strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", " ")), " ")
	if h := hint(err); h != "" && !strings.Contains(msg, h) {
		if strings.HasSuffix(msg, "?") {
			// did you mean "airtable"? 'vault list' shows the names
			msg += " " + h
		} else {
			msg += "; " + h
		}
	}
	fmt.Fprintf(a.stderr, "vault: %s\n", display.Line(msg))
}

func (a *app) now() time.Time {
	if a.opts.clock != nil {
		return a.opts.clock.Now()
	}
	return time.Now()
}
