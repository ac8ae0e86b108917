package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/term"
)

// terminal asks the person at the keyboard. Prompts go to the terminal
// itself, never to stdout or stderr, so they do not mix with data.
type terminal interface {
	// Available reports whether there is a terminal to ask on.
	Available() bool
	// ReadSecret shows prompt and reads one line without echo.
	ReadSecret(prompt string) ([]byte, error)
}

// errNoTerminal is returned by ReadSecret when there is no terminal.
var errNoTerminal = errors.New("no terminal to ask on")

// devTTY is the process's controlling terminal.
type devTTY struct{}

func (devTTY) Available() bool {
	f, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return false
	}
	f.Close()
	return true
}

// maxLine caps a typed line: passphrases and passwords, not files.
const maxLine = 64 << 10

func (devTTY) ReadSecret(prompt string) ([]byte, error) {
	f, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return nil, errNoTerminal
	}
	defer f.Close()
	fd := int(f.Fd())
	state, err := term.GetState(fd)
	if err != nil {
		return nil, errNoTerminal
	}
	// If the person gives up with Ctrl-C while echo is off, put the
	// terminal back before the signal ends the process.
	sigs := make(chan os.Signal, 1)
	done := make(chan struct{})
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		select {
		case sig := <-sigs:
			_ = term.Restore(fd, state)
			fmt.Fprintln(f)
			signal.Reset(sig)
			_ = syscall.Kill(os.Getpid(), sig.(syscall.Signal))
		case <-done:
		}
	}()
	defer func() {
		signal.Stop(sigs)
		close(done)
	}()
	fmt.Fprint(f, prompt)
	b, err := term.ReadPassword(fd)
	fmt.Fprintln(f)
	if err != nil {
		return nil, fmt.Errorf("cannot read from the terminal: %w", err)
	}
	if len(b) > maxLine {
		return nil, fmt.Errorf("that line is longer than %d KiB", maxLine>>10)
	}
	return b, nil
}

// isTerminal reports whether the stream s (stdin, stdout or stderr) is a
// terminal.
func isTerminal(s any) bool {
	f, ok := s.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
