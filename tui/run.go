package tui

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
)

// SignalError is what Run returns when a signal stopped the UI: SIGINT,
// SIGTERM, SIGHUP (the terminal closed) or SIGQUIT (Ctrl-\). The terminal
// has been put back (raw mode and the alternate screen left) and the vault
// closed by then.
type SignalError struct {
	Signal syscall.Signal
}

func (e SignalError) Error() string {
	return fmt.Sprintf("the terminal UI stopped on a signal (%v)", e.Signal)
}

// Run runs the UI on a terminal (in and out) until the person quits, and
// closes the vault.
func Run(opts Options, in io.Reader, out io.Writer) error {
	m := New(opts)
	// bubbletea's own handler quits on SIGTERM as if the person had (exit
	// status 0) and leaves SIGHUP and SIGQUIT to their defaults, which end
	// the process in raw mode on the alternate screen (SIGQUIT with a
	// goroutine dump): every signal is handled here instead.
	popts := []tea.ProgramOption{tea.WithInput(in), tea.WithOutput(out), tea.WithoutSignalHandler()}
	if p, ok := colorProfile(m.sh.getenv); ok {
		popts = append(popts, tea.WithColorProfile(p))
	}
	p := tea.NewProgram(m, popts...)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
	defer signal.Stop(sigs)
	stopped := make(chan syscall.Signal, 1)
	done := make(chan struct{})
	go func() {
		select {
		case sig := <-sigs:
			if s, ok := sig.(syscall.Signal); ok {
				stopped <- s
			}
			// Quit, not Kill: it waits for the program's loop, so even a
			// signal that comes before the UI is up leaves the terminal
			// restored, and the final model (and its vault) is returned.
			p.Quit()
		case <-done:
		}
	}()
	final, err := p.Run()
	close(done)
	select {
	case s := <-stopped:
		err = SignalError{Signal: s}
	default:
	}
	if fm, ok := final.(Model); ok {
		if cerr := fm.Close(); err == nil {
			err = cerr
		}
	} else {
		m.Close()
	}
	return err
}

// colorProfile returns the colour profile to force, if any. NO_COLOR with
// any value turns colour off, as no-color.org asks (the terminal detection
// bubbletea uses only understands values such as 1 or true); bold and
// underline stay, and every state is spelled out, so nothing is lost.
func colorProfile(getenv func(string) string) (colorprofile.Profile, bool) {
	if getenv("NO_COLOR") != "" {
		return colorprofile.Ascii, true
	}
	return 0, false
}
