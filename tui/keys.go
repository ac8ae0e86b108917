package tui

import "charm.land/bubbles/v2/key"

// KeyMap is every key the terminal UI answers to. Screens show the bindings
// that apply to them through their ShortHelp and FullHelp methods, so the
// help bar always matches the screen.
type KeyMap struct {
	// Everywhere.
	Quit       key.Binding
	Help       key.Binding
	Back       key.Binding
	NextScreen key.Binding
	PrevScreen key.Binding
	Dismiss    key.Binding

	// Lists.
	Up     key.Binding
	Down   key.Binding
	PgUp   key.Binding
	PgDown key.Binding
	Top    key.Binding
	Bottom key.Binding
	Filter key.Binding

	// Secrets.
	Reveal  key.Binding
	Copy    key.Binding
	OTP     key.Binding // copies the two-factor code
	Add     key.Binding
	Edit    key.Binding
	Delete  key.Binding
	History key.Binding
	Rotate  key.Binding
	Share   key.Binding
	Trash   key.Binding

	// Rotation, history, trash and dialogs.
	Generate key.Binding
	Confirm  key.Binding
	Abort    key.Binding
	Restore  key.Binding
	Purge    key.Binding
	Toggle   key.Binding
	Submit   key.Binding
	Yes      key.Binding
	No       key.Binding
	NextItem key.Binding
	PrevItem key.Binding

	// Members and review.
	Groups     key.Binding
	Remove     key.Binding
	ApproveKey key.Binding
	ReviewDone key.Binding
}

// DefaultKeyMap returns the standard keys.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Quit:       key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
		Help:       key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "all keys")),
		Back:       key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
		NextScreen: key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "next screen")),
		PrevScreen: key.NewBinding(key.WithKeys("shift+tab"), key.WithHelp("shift+tab", "previous screen")),
		Dismiss:    key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "dismiss notice")),

		Up:     key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:   key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		PgUp:   key.NewBinding(key.WithKeys("pgup"), key.WithHelp("pgup", "page up")),
		PgDown: key.NewBinding(key.WithKeys("pgdown"), key.WithHelp("pgdn", "page down")),
		Top:    key.NewBinding(key.WithKeys("home", "g"), key.WithHelp("home", "first")),
		Bottom: key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("end", "last")),
		Filter: key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),

		Reveal:  key.NewBinding(key.WithKeys("enter", "v"), key.WithHelp("enter", "show/hide value")),
		Copy:    key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "copy value")),
		OTP:     key.NewBinding(key.WithKeys("o"), key.WithHelp("o", "copy two-factor code")),
		Add:     key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "add")),
		Edit:    key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "edit")),
		Delete:  key.NewBinding(key.WithKeys("d"), key.WithHelp("d", "delete")),
		History: key.NewBinding(key.WithKeys("h"), key.WithHelp("h", "history")),
		Rotate:  key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "rotate")),
		Share:   key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "share")),
		Trash:   key.NewBinding(key.WithKeys("t"), key.WithHelp("t", "trash")),

		Generate: key.NewBinding(key.WithKeys("g"), key.WithHelp("g", "generate")),
		Confirm:  key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "I changed it at the service")),
		Abort:    key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "abort")),
		Restore:  key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "restore")),
		Purge:    key.NewBinding(key.WithKeys("P"), key.WithHelp("P", "delete for good")),
		Toggle:   key.NewBinding(key.WithKeys("space"), key.WithHelp("space", "toggle")),
		Submit:   key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "save")),
		Yes:      key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "yes")),
		No:       key.NewBinding(key.WithKeys("n", "esc"), key.WithHelp("n", "no")),
		NextItem: key.NewBinding(key.WithKeys("tab", "down"), key.WithHelp("tab", "next field")),
		PrevItem: key.NewBinding(key.WithKeys("shift+tab", "up"), key.WithHelp("shift+tab", "previous field")),

		Groups:     key.NewBinding(key.WithKeys("g"), key.WithHelp("g", "groups")),
		Remove:     key.NewBinding(key.WithKeys("d"), key.WithHelp("d", "remove")),
		ApproveKey: key.NewBinding(key.WithKeys("K"), key.WithHelp("K", "approve new key")),
		ReviewDone: key.NewBinding(key.WithKeys("D"), key.WithHelp("D", "mark review done")),
	}
}
