package tui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/mutual-aid-vault/vault/vault"
	"github.com/mutual-aid-vault/vault/vault/display"
)

// reviewScreen is the periodic access review: who can read what, who is
// inactive, when the last review was; admins mark it done.
type reviewScreen struct {
	sh      *shared
	width   int
	height  int
	review  *vault.Review
	err     string
	offset  int
	confirm bool
}

type reviewMsg struct {
	r   vault.Review
	err error
}

func newReviewScreen(sh *shared) *reviewScreen { return &reviewScreen{sh: sh} }

func (s *reviewScreen) Title() string    { return "Review" }
func (s *reviewScreen) SetSize(w, h int) { s.width, s.height = w, h }
func (s *reviewScreen) Capturing() bool  { return false }
func (s *reviewScreen) Nested() bool     { return s.confirm }
func (s *reviewScreen) Init() tea.Cmd    { return s.load() }
func (s *reviewScreen) lines() []string  { return strings.Split(s.body(), "\n") }
func (s *reviewScreen) maxOffset() int   { return max(0, len(s.lines())-s.height+2) }
func (s *reviewScreen) scroll(n int)     { s.offset = max(0, min(s.maxOffset(), s.offset+n)) }
func (s *reviewScreen) FullHelp() [][]key.Binding {
	return [][]key.Binding{s.ShortHelp(), {s.sh.keys.Help}}
}

func (s *reviewScreen) load() tea.Cmd {
	return s.sh.call(func(v *vault.Vault) tea.Msg {
		r, err := v.Review()
		return reviewMsg{r: r, err: err}
	}, func(err error) tea.Msg { return reviewMsg{err: err} })
}

func (s *reviewScreen) Update(msg tea.Msg) tea.Cmd {
	keys := s.sh.keys
	switch msg := msg.(type) {
	case reviewMsg:
		s.err = ""
		if msg.err != nil {
			s.err = oneLine(msg.err.Error())
			return nil
		}
		r := msg.r
		s.review = &r
	case doneMsg:
		if msg.err != nil {
			return statusCmd("", msg.err)
		}
		return tea.Batch(statusCmd(msg.text, nil), s.load())
	case reloadMsg:
		return s.load()
	case tea.KeyPressMsg:
		if s.confirm {
			switch {
			case key.Matches(msg, keys.Yes):
				s.confirm = false
				return s.sh.call(func(v *vault.Vault) tea.Msg {
					if err := v.MarkReviewed(); err != nil {
						return doneMsg{err: err}
					}
					return doneMsg{text: "Recorded the access review as held today."}
				}, func(err error) tea.Msg { return doneMsg{err: err} })
			case key.Matches(msg, keys.No):
				s.confirm = false
			}
			return nil
		}
		switch {
		case key.Matches(msg, keys.Up):
			s.scroll(-1)
		case key.Matches(msg, keys.Down):
			s.scroll(1)
		case key.Matches(msg, keys.PgUp):
			s.scroll(-s.height)
		case key.Matches(msg, keys.PgDown):
			s.scroll(s.height)
		case key.Matches(msg, keys.ReviewDone):
			if !s.sh.me.Admin {
				return statusCmd("", fmt.Errorf("only an admin can mark the access review done"))
			}
			s.confirm = true
		}
	}
	return nil
}

func (s *reviewScreen) body() string {
	st := s.sh.styles
	r := s.review
	if r == nil {
		if s.err != "" {
			return st.Error.Render(wrapAll(display.Text(s.err), max(10, s.width)))
		}
		return st.Faint.Render("Loading…")
	}
	var b strings.Builder
	last := "never"
	if r.LastReview != nil {
		last = day(*r.LastReview) + " by " + display.Line(r.LastReviewBy)
	}
	b.WriteString(st.Heading.Render("Access review") + st.Faint.Render(" · last held "+last+" · "+display.Line(r.Next.Reason)) + "\n\n")
	b.WriteString(st.Heading.Render("Who can read what") + "\n")
	for _, sec := range r.Secrets {
		b.WriteString(truncate(fmt.Sprintf("  %-24s %s", truncate(display.Line(sec.Name), 24), joinShown(sec.Readers, ", ")), s.width) + "\n")
		if len(sec.Waiting) > 0 {
			b.WriteString(st.Faint.Render("  "+strings.Repeat(" ", 24)+" waiting: "+joinShown(sec.Waiting, ", ")) + "\n")
		}
	}
	b.WriteString("\n" + st.Heading.Render("Members") + "\n")
	for _, m := range r.Members {
		flag := ""
		if m.Inactive {
			flag = st.Banner.Render("  inactive over " + plural(r.InactiveAfter, "day"))
		}
		b.WriteString(truncate(fmt.Sprintf("  %-20s reads %-4d last active %s", truncate(display.Line(m.Name), 20), m.Reads, day(m.LastActive)), s.width) + flag + "\n")
	}
	return b.String()
}

func (s *reviewScreen) View() string {
	st := s.sh.styles
	lines := s.lines()
	s.offset = min(s.offset, s.maxOffset())
	end := min(len(lines), s.offset+max(1, s.height-2))
	out := strings.Join(lines[s.offset:end], "\n")
	if s.confirm {
		return out + "\n" + st.Heading.Render(wrapAll("Record the access review as held today? The next is due in six months.", max(10, s.width))) + "\n" + st.Faint.Render("y yes · n no")
	}
	if s.sh.me.Admin {
		return out + "\n" + st.Faint.Render("D marks the review done · ↑/↓ scroll")
	}
	return out + "\n" + st.Faint.Render("↑/↓ scroll")
}

func (s *reviewScreen) ShortHelp() []key.Binding {
	k := s.sh.keys
	if s.confirm {
		return []key.Binding{k.Yes, k.No}
	}
	if s.sh.me.Admin {
		return []key.Binding{k.Up, k.Down, k.ReviewDone, k.NextScreen, k.Quit}
	}
	return []key.Binding{k.Up, k.Down, k.NextScreen, k.Quit}
}
