package tui

import (
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/mutual-aid-vault/vault/vault/display"
)

// listView is a titled list with a cursor, for the smaller lists (history,
// trash, members, the share picker's items).
type listView[T any] struct {
	title  string
	empty  string
	items  []T
	cursor int
	offset int
	err    string
	loaded bool
	// keyOf, when set, names an item, so that the selection stays on the
	// same item when the list is read again.
	keyOf func(T) string
}

func newListView[T any](title, empty string) *listView[T] {
	return &listView[T]{title: title, empty: empty}
}

func (l *listView[T]) set(items []T, err error) {
	l.loaded = true
	cur, had := l.selected()
	l.items, l.err = items, ""
	if err != nil {
		l.err = oneLine(err.Error())
	}
	l.cursor = min(l.cursor, max(0, len(items)-1))
	if had && l.keyOf != nil {
		k := l.keyOf(cur)
		for i, it := range items {
			if l.keyOf(it) == k {
				l.cursor = i
			}
		}
	}
}

func (l *listView[T]) selected() (T, bool) {
	var zero T
	if l.cursor < 0 || l.cursor >= len(l.items) {
		return zero, false
	}
	return l.items[l.cursor], true
}

// move handles the cursor keys; it reports whether the key was one.
func (l *listView[T]) move(k tea.KeyPressMsg, keys KeyMap) bool {
	switch {
	case key.Matches(k, keys.Up):
		l.cursor = max(0, l.cursor-1)
	case key.Matches(k, keys.Down):
		l.cursor = max(0, min(len(l.items)-1, l.cursor+1))
	case key.Matches(k, keys.Top):
		l.cursor = 0
	case key.Matches(k, keys.Bottom):
		l.cursor = max(0, len(l.items)-1)
	default:
		return false
	}
	return true
}

// View draws the list in height rows with row drawing each item and a
// footer line of hints.
func (l *listView[T]) View(st Styles, width, height int, row func(T, bool) string, footer string) string {
	var b strings.Builder
	b.WriteString(st.Heading.Render(l.title) + "\n\n")
	rows := max(1, height-4)
	if l.cursor < l.offset {
		l.offset = l.cursor
	}
	if l.cursor >= l.offset+rows {
		l.offset = l.cursor - rows + 1
	}
	switch {
	case !l.loaded:
		b.WriteString(st.Faint.Render("Loading…") + "\n")
	case l.err != "":
		b.WriteString(st.Error.Render(wrapAll(display.Text(l.err), max(10, width-2))) + "\n")
	case len(l.items) == 0:
		b.WriteString(st.Faint.Render(l.empty) + "\n")
	}
	for i := l.offset; i < len(l.items) && i < l.offset+rows; i++ {
		line := truncate(row(l.items[i], i == l.cursor), max(10, width-2))
		if i == l.cursor {
			b.WriteString(st.Title.Render("▸ ") + st.Selected.Render(line) + "\n")
		} else {
			b.WriteString("  " + line + "\n")
		}
	}
	b.WriteString("\n" + st.Faint.Render(footer))
	return b.String()
}
