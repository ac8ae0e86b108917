package tui

import (
	"io"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
)

// Run runs the UI on a terminal (in and out) until the person quits, and
// closes the vault.
func Run(opts Options, in io.Reader, out io.Writer) error {
	m := New(opts)
	popts := []tea.ProgramOption{tea.WithInput(in), tea.WithOutput(out)}
	if p, ok := colorProfile(m.sh.getenv); ok {
		popts = append(popts, tea.WithColorProfile(p))
	}
	final, err := tea.NewProgram(m, popts...).Run()
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
