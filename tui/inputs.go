package tui

import (
	"strings"
	"unicode/utf8"

	tea "charm.land/bubbletea/v2"

	"github.com/mutual-aid-vault/vault/vault/display"
)

// secretInput reads a passphrase or a password without showing it: neither
// its characters nor its length appear on screen, ever.
type secretInput struct {
	buf     []byte
	focused bool
}

// maxSecretInput caps what is typed or pasted: passwords, not files.
const maxSecretInput = 64 << 10

func (s *secretInput) Update(msg tea.Msg) {
	switch msg := msg.(type) {
	case tea.PasteMsg:
		if len(s.buf)+len(msg.Content) <= maxSecretInput {
			s.buf = append(s.buf, strings.TrimRight(msg.Content, "\r\n")...)
		}
	case tea.KeyPressMsg:
		switch msg.String() {
		case "backspace", "ctrl+h":
			if len(s.buf) > 0 {
				_, n := utf8.DecodeLastRune(s.buf)
				s.buf = s.buf[:len(s.buf)-n]
			}
		case "ctrl+u", "ctrl+w":
			s.Reset()
		default:
			if msg.Text != "" && len(s.buf)+len(msg.Text) <= maxSecretInput {
				s.buf = append(s.buf, msg.Text...)
			}
		}
	}
}

// Value returns what was typed; the caller takes ownership.
func (s *secretInput) Value() []byte { return s.buf }

// Empty reports whether nothing was typed.
func (s *secretInput) Empty() bool { return len(s.buf) == 0 }

// Reset wipes what was typed.
func (s *secretInput) Reset() {
	for i := range s.buf {
		s.buf[i] = 0
	}
	s.buf = s.buf[:0]
}

// View shows the same text whatever was typed.
func (s *secretInput) View(st Styles) string {
	if s.focused {
		return st.Faint.Render("(typing is hidden)") + " █"
	}
	return st.Faint.Render("(hidden)")
}

// field is one line of a form: a text input, or a secret input.
type field struct {
	label  string
	hint   string
	input  lineInput
	secret *secretInput
}

func newField(label, value, hint string) field {
	in := newLineInput()
	in.SetValue(value)
	return field{label: label, hint: hint, input: in}
}

func newSecretField(label, hint string) field {
	return field{label: label, hint: hint, secret: &secretInput{}}
}

// form is a column of fields, moved through with tab and submitted with
// enter on the last one (or ctrl+s anywhere). Esc cancels.
type form struct {
	title  string
	fields []field
	focus  int
	err    string
	width  int
}

func newForm(title string, fields ...field) *form {
	f := &form{title: title, fields: fields}
	f.setFocus(0)
	return f
}

func (f *form) setFocus(i int) {
	f.focus = i
	for j := range f.fields {
		fd := &f.fields[j]
		if fd.secret != nil {
			fd.secret.focused = j == i
			continue
		}
		if j == i {
			fd.input.Focus()
		} else {
			fd.input.Blur()
		}
	}
}

// value returns the text of the field with that label.
func (f *form) value(label string) string {
	for _, fd := range f.fields {
		if fd.label == label && fd.secret == nil {
			return strings.TrimSpace(fd.input.Value())
		}
	}
	return ""
}

// secret returns the secret field with that label.
func (f *form) secret(label string) *secretInput {
	for _, fd := range f.fields {
		if fd.label == label && fd.secret != nil {
			return fd.secret
		}
	}
	return nil
}

// wipe clears every secret field.
func (f *form) wipe() {
	for _, fd := range f.fields {
		if fd.secret != nil {
			fd.secret.Reset()
		}
	}
}

type formResult int

const (
	formEditing formResult = iota
	formSubmitted
	formCancelled
)

// Update handles a message and says whether the form was submitted or
// cancelled.
func (f *form) Update(msg tea.Msg, keys KeyMap) (formResult, tea.Cmd) {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		switch k.String() {
		case "esc":
			f.wipe()
			return formCancelled, nil
		case "ctrl+s":
			return formSubmitted, nil
		case "enter":
			if f.focus == len(f.fields)-1 {
				return formSubmitted, nil
			}
			f.setFocus(f.focus + 1)
			return formEditing, nil
		case "tab", "down":
			f.setFocus((f.focus + 1) % len(f.fields))
			return formEditing, nil
		case "shift+tab", "up":
			f.setFocus((f.focus + len(f.fields) - 1) % len(f.fields))
			return formEditing, nil
		}
	}
	fd := &f.fields[f.focus]
	if fd.secret != nil {
		fd.secret.Update(msg)
		return formEditing, nil
	}
	var cmd tea.Cmd
	fd.input, cmd = fd.input.Update(msg)
	return formEditing, cmd
}

func (f *form) View(st Styles) string {
	var b strings.Builder
	b.WriteString(st.Heading.Render(f.title) + "\n\n")
	for i, fd := range f.fields {
		label := st.Label.Render(fd.label)
		if i == f.focus {
			label = st.Title.Width(14).Render(fd.label)
		}
		var in string
		if fd.secret != nil {
			in = fd.secret.View(st)
		} else {
			fd.input.SetWidth(max(10, f.width-18))
			in = fd.input.View()
		}
		b.WriteString(label + " " + in + "\n")
		if i == f.focus && fd.hint != "" {
			b.WriteString(indent(st.Faint.Render(wrapAll(fd.hint, max(10, f.textWidth()-15))), strings.Repeat(" ", 15)) + "\n")
		}
	}
	if f.err != "" {
		// Wrapped, never cut: it says what to do.
		b.WriteString("\n" + st.Error.Render(wrapAll(display.Text(f.err), f.textWidth())) + "\n")
	}
	b.WriteString("\n" + st.Faint.Render(wrapAll("tab next field · enter on the last field or ctrl+s saves · esc cancels", f.textWidth())))
	return b.String()
}

// textWidth is the width the form's text wraps to.
func (f *form) textWidth() int {
	if f.width <= 0 {
		return 80
	}
	return max(10, f.width)
}
