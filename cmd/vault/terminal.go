package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
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

// lineReader is a terminal that can also read a line shown as it is
// typed: for what is not secret, such as a name typed to confirm.
type lineReader interface {
	ReadLine(prompt string) ([]byte, error)
}

// readLine asks on the terminal for a line shown as it is typed, or, on a
// terminal that cannot show it, for one that is not.
func (a *app) readLine(prompt string) ([]byte, error) {
	if r, ok := a.tty.(lineReader); ok {
		return r.ReadLine(prompt)
	}
	return a.tty.ReadSecret(prompt)
}

// holder is a terminal that can be held across several prompts (see
// devTTY.Hold).
type holder interface {
	Hold(fn func() error) error
}

// holdTerminal runs fn as one turn at the terminal, if the terminal can
// be held.
func (a *app) holdTerminal(fn func() error) error {
	if h, ok := a.tty.(holder); ok {
		return h.Hold(fn)
	}
	return fn()
}

// errNoTerminal is returned by ReadSecret when there is no terminal.
var errNoTerminal = errors.New("no terminal to ask on")

// devTTY is the process's controlling terminal, shared with the other
// processes on it: in 'vault get a | vault set b' both may ask for a
// passphrase. A process holds the terminal while it asks (see Hold), so
// their prompts come one after the other, never mixed. One goroutine asks
// at a time.
type devTTY struct {
	// lockDir holds the lock files of terminals; empty means prompts are
	// not kept from mixing.
	lockDir string
	// quit is the process's SIGQUIT catcher, told while a prompt catches
	// SIGQUIT itself; nil under test.
	quit *quitCatcher
	// holding is set while Hold runs, and held once it has asked.
	holding bool
	held    *heldTTY
}

// newDevTTY returns the controlling terminal, its lock files in
// $XDG_RUNTIME_DIR/vault, else in the state folder.
func newDevTTY(getenv func(string) string) *devTTY {
	dir := getenv("XDG_RUNTIME_DIR")
	if dir != "" && filepath.IsAbs(dir) {
		return &devTTY{lockDir: filepath.Join(dir, "vault")}
	}
	dir, err := xdgDir(getenv, "XDG_STATE_HOME", filepath.Join(".local", "state"))
	if err != nil {
		return &devTTY{}
	}
	return &devTTY{lockDir: dir}
}

func (*devTTY) Available() bool {
	f, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return false
	}
	f.Close()
	return true
}

// maxLine caps a typed line: passphrases and passwords, not files.
const maxLine = 64 << 10

func (t *devTTY) ReadSecret(prompt string) ([]byte, error) {
	if t.holding {
		if t.held == nil {
			h, err := holdTTY(t.lockDir, t.quit)
			if err != nil {
				return nil, err
			}
			t.held = h
		}
		return t.held.readLine(prompt)
	}
	h, err := holdTTY(t.lockDir, t.quit)
	if err != nil {
		return nil, err
	}
	b, err := h.readLine(prompt)
	h.release(err != nil)
	return b, err
}

// ReadLine shows prompt and reads one line with echo: a name, never a
// secret. It waits for its turn at the terminal as ReadSecret does. Not
// for use inside Hold, which keeps echo off. It returns io.EOF when
// Ctrl-D ends an empty line.
func (t *devTTY) ReadLine(prompt string) ([]byte, error) {
	f, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return nil, errNoTerminal
	}
	defer f.Close()
	if lock := lockTerminal(t.lockDir, f); lock != nil {
		defer lock.Close()
	}
	fmt.Fprint(f, prompt)
	var b []byte
	one := make([]byte, 1)
	for len(b) <= maxLine {
		n, err := f.Read(one)
		switch {
		case n == 1 && one[0] == '\n':
			return bytes.TrimSuffix(b, []byte("\r")), nil
		case n == 1:
			b = append(b, one[0])
		case errors.Is(err, io.EOF) && len(b) == 0:
			return nil, io.EOF
		case errors.Is(err, io.EOF):
			return b, nil
		case err != nil:
			return nil, fmt.Errorf("cannot read from the terminal: %w", err)
		}
	}
	return nil, fmt.Errorf("that line is longer than %d KiB", maxLine>>10)
}

// Take starts this process's turn at the terminal inside Hold, before it
// asks: it waits while another vault process asks on it. Outside Hold it
// does nothing.
func (t *devTTY) Take() error {
	if !t.holding || t.held != nil {
		return nil
	}
	h, err := holdTTY(t.lockDir, t.quit)
	if err != nil {
		return err
	}
	t.held = h
	return nil
}

// Hold runs fn, in which ReadSecret may be called several times, as one
// turn at the terminal: from the first prompt until fn returns, no other
// vault process asks on this terminal, and echo stays off, so that what
// is typed ahead while fn works (checking a passphrase takes a second) is
// never shown. When fn fails after asking, what was typed ahead is
// dropped rather than left for the shell to echo: it may be another try
// at a passphrase.
func (t *devTTY) Hold(fn func() error) error {
	if t.holding {
		return fn()
	}
	t.holding = true
	failed := true
	defer func() {
		t.holding = false
		if t.held != nil {
			t.held.release(failed)
			t.held = nil
		}
	}()
	err := fn()
	failed = err != nil
	return err
}

// heldTTY is the terminal while this process asks on it: locked against
// the other vault processes on the same terminal, echo off.
type heldTTY struct {
	f     *os.File
	fd    int
	state *term.State
	lock  *os.File
	sigs  chan os.Signal
	done  chan struct{}
	// quitDone ends the time this prompt catches SIGQUIT itself.
	quitDone func()
}

// holdTTY opens the controlling terminal, waits for its lock (another
// vault process may be asking on it) and turns echo off until release.
// If the person gives up (Ctrl-C, Ctrl-\) or the process is told to
// stop (SIGTERM, or SIGHUP when the terminal closes) while it holds the
// terminal, what was typed is dropped and echo is put back before the
// process ends, with no goroutine dump (see exitOnSignal).
func holdTTY(lockDir string, quit *quitCatcher) (*heldTTY, error) {
	f, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return nil, errNoTerminal
	}
	h := &heldTTY{f: f, fd: int(f.Fd())}
	h.lock = lockTerminal(lockDir, f)
	h.state, err = term.GetState(h.fd)
	if err != nil {
		h.close()
		return nil, errNoTerminal
	}
	h.sigs, h.done = make(chan os.Signal, 1), make(chan struct{})
	h.quitDone = quit.handledElsewhere()
	signal.Notify(h.sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
	go func() {
		select {
		case sig := <-h.sigs:
			// What was typed is part of a passphrase or a value: not for
			// the shell that reads the terminal next.
			_ = dropTypedAhead(h.fd)
			_ = term.Restore(h.fd, h.state)
			fmt.Fprintln(f)
			exitOnSignal(sig)
		case <-h.done:
		}
	}()
	if err := echoOff(h.fd); err != nil {
		h.release(false)
		return nil, fmt.Errorf("cannot turn off echo on the terminal: %w", err)
	}
	return h, nil
}

// readLine shows prompt and reads one line without echo (see readHidden).
// The caller wipes what it returns.
func (h *heldTTY) readLine(prompt string) ([]byte, error) {
	fmt.Fprint(h.f, prompt)
	b, err := readHidden(h.f)
	fmt.Fprintln(h.f)
	if err != nil {
		return nil, fmt.Errorf("cannot read from the terminal: %w", err)
	}
	return b, nil
}

// errLongLine is returned for a typed line longer than maxLine.
var errLongLine = fmt.Errorf("that line is longer than %d KiB", maxLine>>10)

// readSecretLine reads one line, as term.ReadPassword does (a backspace
// removes a byte, a carriage return is dropped, end of input ends a line
// that has something), into one buffer made once and never grown: a
// growing buffer leaves a copy of what was typed so far at each growth,
// where nothing wipes it. The caller wipes what it returns; on an error
// nothing is returned and the buffer is wiped here.
func readSecretLine(r io.Reader) ([]byte, error) {
	buf := make([]byte, maxLine+1)
	n := 0
	var one [1]byte
	for {
		k, err := r.Read(one[:])
		if k > 0 {
			switch one[0] {
			case '\b':
				if n > 0 {
					n--
					buf[n] = 0
				}
			case '\n':
				return buf[:n:n], nil
			case '\r':
			default:
				if n == maxLine {
					clear(buf)
					return nil, errLongLine
				}
				buf[n] = one[0]
				n++
			}
			one[0] = 0
			continue
		}
		if err != nil {
			if errors.Is(err, io.EOF) && n > 0 {
				return buf[:n:n], nil
			}
			clear(buf)
			return nil, err
		}
	}
}

// release puts the terminal back as it was, first dropping what was typed
// ahead when drop is set, and lets the next process ask.
func (h *heldTTY) release(drop bool) {
	if drop {
		_ = dropTypedAhead(h.fd)
	}
	_ = term.Restore(h.fd, h.state)
	signal.Stop(h.sigs)
	h.quitDone()
	close(h.done)
	h.close()
}

func (h *heldTTY) close() {
	if h.lock != nil {
		h.lock.Close() // which releases the lock
	}
	h.f.Close()
}

// lockTerminal takes the lock of the terminal f is, waiting for another
// vault process that holds it. Its file is named after the terminal's
// device, so every process on that terminal, whatever its streams, finds
// the same one. Without a device number or a folder to lock in, it takes
// none: prompts may then mix, as they did before locks.
func lockTerminal(dir string, f *os.File) *os.File {
	dev, ok := terminalDevice(f)
	if !ok || dir == "" {
		return nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil
	}
	lf, err := os.OpenFile(filepath.Join(dir, fmt.Sprintf("tty-%x.lock", dev)), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil
	}
	for {
		err = syscall.Flock(int(lf.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		lf.Close()
		return nil
	}
	return lf
}

// isTerminal reports whether the stream s (stdin, stdout or stderr) is a
// terminal.
func isTerminal(s any) bool {
	f, ok := s.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
