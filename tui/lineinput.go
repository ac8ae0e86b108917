package tui

import (
	"strings"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/mutual-aid-vault/vault/vault/display"
)

// lineInput is a one-line text field: type, paste, move with the arrows,
// home and end, delete with backspace and delete, clear with ctrl+u. It is
// all the forms and the filter need, without the system-clipboard access
// and blinking timers of a general text input.
type lineInput struct {
	Prompt      string
	Placeholder string
	CharLimit   int
	value       []rune
	pos         int
	focused     bool
	width       int
}

func newLineInput() lineInput { return lineInput{CharLimit: 4096} }

func (l *lineInput) SetValue(s string) {
	l.value = []rune(s)
	if l.CharLimit > 0 && len(l.value) > l.CharLimit {
		l.value = l.value[:l.CharLimit]
	}
	l.pos = len(l.value)
}

func (l lineInput) Value() string { return string(l.value) }

func (l *lineInput) Focus() tea.Cmd { l.focused = true; return nil }

func (l *lineInput) Blur() { l.focused = false }

func (l *lineInput) SetWidth(w int) { l.width = w }

func (l *lineInput) insert(s string) {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1 // one line: no control characters
		}
		return r
	}, s)
	rs := []rune(s)
	if l.CharLimit > 0 && len(l.value)+len(rs) > l.CharLimit {
		rs = rs[:max(0, l.CharLimit-len(l.value))]
	}
	l.value = append(l.value[:l.pos], append(rs, l.value[l.pos:]...)...)
	l.pos += len(rs)
}

func (l lineInput) Update(msg tea.Msg) (lineInput, tea.Cmd) {
	if !l.focused {
		return l, nil
	}
	switch msg := msg.(type) {
	case tea.PasteMsg:
		l.insert(msg.Content)
	case tea.KeyPressMsg:
		switch msg.String() {
		case "left", "ctrl+b":
			l.pos = max(0, l.pos-1)
		case "right", "ctrl+f":
			l.pos = min(len(l.value), l.pos+1)
		case "home", "ctrl+a":
			l.pos = 0
		case "end", "ctrl+e":
			l.pos = len(l.value)
		case "backspace", "ctrl+h":
			if l.pos > 0 {
				l.value = append(l.value[:l.pos-1], l.value[l.pos:]...)
				l.pos--
			}
		case "delete", "ctrl+d":
			if l.pos < len(l.value) {
				l.value = append(l.value[:l.pos], l.value[l.pos+1:]...)
			}
		case "ctrl+u":
			l.value, l.pos = l.value[:0], 0
		default:
			if msg.Text != "" {
				l.insert(msg.Text)
			}
		}
	}
	return l, nil
}

// View shows the text with a block cursor, scrolled so the cursor shows.
func (l lineInput) View() string {
	if len(l.value) == 0 && !l.focused && l.Placeholder != "" {
		return l.Prompt + lipgloss.NewStyle().Faint(true).Render(l.Placeholder)
	}
	before, at, after := string(l.value[:l.pos]), " ", ""
	if l.pos < len(l.value) {
		at, after = string(l.value[l.pos]), string(l.value[l.pos+1:])
	}
	if l.width > 0 {
		// Keep the cursor in view: cut from the left of what comes before.
		for ansi.StringWidth(before)+1 > l.width && before != "" {
			_, size := firstRune(before)
			before = before[size:]
		}
		after = ansi.Truncate(after, max(0, l.width-ansi.StringWidth(before)-1), "")
	}
	// What is shown, not the value, goes through display.Line: a field
	// may hold, from the vault or a paste, what a terminal would act on.
	before, at, after = display.Line(before), display.Line(at), display.Line(after)
	if !l.focused {
		return l.Prompt + before + strings.TrimSuffix(at, " ") + after
	}
	if len(l.value) == 0 && l.Placeholder != "" {
		return l.Prompt + lipgloss.NewStyle().Reverse(true).Render(" ") + lipgloss.NewStyle().Faint(true).Render(l.Placeholder)
	}
	return l.Prompt + before + lipgloss.NewStyle().Reverse(true).Render(at) + after
}

func firstRune(s string) (rune, int) {
	for i, r := range s {
		if i > 0 {
			return r, i
		}
	}
	return 0, len(s)
}
