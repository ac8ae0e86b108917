package tui

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/mutual-aid-vault/vault/vault"
	"github.com/mutual-aid-vault/vault/vault/display"
)

// Options says where the vault and the identity are, and how to reach the
// outside world. Only the paths are required.
type Options struct {
	VaultPath    string
	IdentityPath string
	// StateDir is passed to vault.Options.StateDir.
	StateDir string
	// Identity, when set, is used instead of reading IdentityPath: no
	// unlock screen (the demo).
	Identity *vault.Identity
	// FromAgent, when set, returns the identity a running agent holds, or
	// nil: then there is no unlock screen.
	FromAgent func() *vault.Identity
	// Unlocked, when set, is told of an identity unlocked with a
	// passphrase typed here (the command line starts an agent with it).
	Unlocked func(*vault.Identity)
	// Clock stamps changes; nil means the system clock.
	Clock vault.Clock
	// ScryptWorkFactor lowers the cost of new identity files in tests.
	ScryptWorkFactor int
	// Getenv reads the environment (to find a clipboard tool); nil means
	// os.Getenv.
	Getenv func(string) string
	// RevealFor is how long a revealed value stays on screen (default 30 s);
	// ClipboardFor how long a copied one stays on the clipboard (45 s).
	RevealFor    time.Duration
	ClipboardFor time.Duration
	// Clearer returns the command that clears a copy once ClipboardFor
	// is up, even after the UI has quit (the program's hidden
	// clipboard-clear); nil means copies are not cleared, and the UI
	// says so when it copies.
	Clearer func() *exec.Cmd
	// Title names the program in the header, e.g. "vault demo".
	Title string
	// Watch is how often the vault file is looked at (one stat) for
	// changes made elsewhere: another terminal, a sync. Zero means every
	// 1.5 s.
	Watch time.Duration
	// Join, when set, joins the group's vault at src (a file, or a git
	// repository's folder or address) with the member's identity, as
	// 'vault join' does: the first-run screen offers it when there is no
	// vault yet.
	Join func(src string, id *vault.Identity) (JoinResult, error)
}

// JoinResult is what joining a group's vault did.
type JoinResult struct {
	// VaultPath is the group's vault file, where commands now find it.
	VaultPath string
	// Done says what was done (the file copied or cloned, the
	// configuration written), a sentence each.
	Done []string
	// Next says how the change that adds the member reaches this copy,
	// e.g. "run 'vault sync' (it fetches the change from the repository)".
	Next string
	// Welcome is set when the identity opens the vault already: who added
	// the member, and what they can read.
	Welcome string
}

// appState is where the program stands.
type appState int

const (
	stateStarting appState = iota // looking at the identity file
	stateSetup                    // first run: no identity or no vault
	stateLocked                   // asking for the passphrase
	stateOpening                  // unlocking and loading
	stateReady                    // the screens
	stateFailed                   // cannot go on; says why
)

// shared is what every screen needs: the vault, who is using it, the keys
// and styles, and a way to copy to the clipboard. Screens hold a pointer to
// the one the root owns.
type shared struct {
	opts   Options
	keys   KeyMap
	styles Styles
	// id is the unlocked identity: unlocked once per session. The vault
	// file itself is opened for each action and closed right after, so the
	// command line (a script, cron) can use it while the UI is open.
	id   *vault.Identity
	mu   sync.Mutex // one action at a time: each takes the file's lock
	me   vault.Member
	info vault.Info
}

// with opens the vault, runs fn, and closes it.
func (sh *shared) with(fn func(*vault.Vault) error) error {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	v, err := vault.Open(sh.opts.VaultPath, vault.Options{Identity: sh.id, Clock: sh.opts.Clock, StateDir: sh.opts.StateDir})
	if err != nil {
		return err
	}
	defer v.Close()
	return fn(v)
}

// call is a command that runs fn with the vault open and returns its
// message; if the vault cannot be opened, fail says so.
func (sh *shared) call(fn func(*vault.Vault) tea.Msg, fail func(error) tea.Msg) tea.Cmd {
	return func() tea.Msg {
		var msg tea.Msg
		if err := sh.with(func(v *vault.Vault) error { msg = fn(v); return nil }); err != nil {
			if errors.Is(err, vault.ErrAgentLocked) {
				return agentLockedMsg{}
			}
			return fail(err)
		}
		return msg
	}
}

func (sh *shared) getenv(k string) string {
	if sh.opts.Getenv != nil {
		return sh.opts.Getenv(k)
	}
	return os.Getenv(k)
}

func (sh *shared) now() time.Time {
	if sh.opts.Clock != nil {
		return sh.opts.Clock.Now()
	}
	return time.Now()
}

func (sh *shared) revealFor() time.Duration {
	if sh.opts.RevealFor > 0 {
		return sh.opts.RevealFor
	}
	return 30 * time.Second
}

func (sh *shared) clipboardFor() time.Duration {
	if sh.opts.ClipboardFor > 0 {
		return sh.opts.ClipboardFor
	}
	return 45 * time.Second
}

// Messages between commands and models. Errors travel as messages too.
type (
	identityMsg struct {
		id  *vault.Identity
		err error
	}
	openedMsg struct {
		id        *vault.Identity
		me        vault.Member
		info      vault.Info
		notices   []string
		reminders []string
		// stamp is the file as it was before it was opened.
		stamp fileStamp
		err   error
	}
	// statusMsg reports the outcome of an action on the status line.
	statusMsg struct {
		text string
		err  error
	}
	// agentLockedMsg says the agent the session unlocked through has
	// locked (idle, or 'vault lock'): back to the unlock screen.
	agentLockedMsg struct{}
)

// Model is the whole terminal UI. Create it with New and run it with
// bubbletea; call Close when the program ends.
type Model struct {
	sh       *shared
	state    appState
	width    int
	height   int
	help     help.Model
	showHelp bool

	passphrase secretInput
	unlockErr  string
	identity   *vault.Identity
	setup      *setupScreen
	failure    error

	screens []screen
	current int
	banner  []string
	status  string
	errText string

	// notices are the one-off lines of the notice (a welcome, what a
	// change brought in, warnings about the file) and reminders what is
	// due; dismissed the lines the member dismissed with x.
	notices   []string
	reminders []string
	dismissed map[string]bool
	// watchGen numbers the chain of looks at the file, and known is the
	// file as last seen (see watch.go).
	watchGen int
	known    fileStamp
	// joined is what joining did, shown until the vault opens.
	joined *JoinResult
}

// screen is what every screen of the ready program is: a model with its
// own size and help.
type screen interface {
	help.KeyMap
	Title() string
	Init() tea.Cmd
	Update(tea.Msg) tea.Cmd
	View() string
	SetSize(width, height int)
	// Capturing reports whether the screen is taking text input (a filter
	// or a form), so that keys such as q and tab go to it.
	Capturing() bool
	// Nested reports whether the screen shows something on top of its
	// list (a dialog, the rotate flow…): its keys win over switching
	// screens and dismissing the notice.
	Nested() bool
}

// New returns the UI for opts. It reads nothing until it runs.
func New(opts Options) Model {
	h := help.New()
	return Model{
		sh:   &shared{opts: opts, keys: DefaultKeyMap(), styles: DefaultStyles(true)},
		help: h,
	}
}

// Close ends the session: the identity is forgotten. (The vault file is
// only ever open during an action.)
func (m Model) Close() error {
	m.sh.id = nil
	return nil
}

// Init starts by looking at the identity file and the terminal background.
func (m Model) Init() tea.Cmd {
	return tea.Batch(tea.RequestBackgroundColor, m.readIdentity(nil))
}

// readIdentity reads the identity with a passphrase (nil: try without).
func (m Model) readIdentity(pass []byte) tea.Cmd {
	opts := m.sh.opts
	return func() tea.Msg {
		if opts.Identity != nil {
			return identityMsg{id: opts.Identity}
		}
		if opts.FromAgent != nil {
			if id := opts.FromAgent(); id != nil {
				return identityMsg{id: id}
			}
		}
		var ask func() (vault.Value, error)
		if pass != nil {
			p := vault.NewValue(pass)
			ask = func() (vault.Value, error) { return p, nil }
		}
		id, err := vault.ReadIdentity(opts.IdentityPath, ask)
		if err == nil && pass != nil && opts.Unlocked != nil {
			opts.Unlocked(id)
		}
		return identityMsg{id: id, err: err}
	}
}

// open unlocks the vault with the identity and gathers the first screen.
func (m Model) open(id *vault.Identity) tea.Cmd {
	opts := m.sh.opts
	return func() tea.Msg {
		stamp := stampFile(opts.VaultPath)
		v, err := vault.Open(opts.VaultPath, vault.Options{Identity: id, Clock: opts.Clock, StateDir: opts.StateDir})
		if err != nil {
			return openedMsg{err: err, stamp: stamp}
		}
		defer v.Close()
		out := openedMsg{id: id, stamp: stamp}
		if w, ok := v.Welcome(); ok {
			out.notices = append(out.notices, WelcomeLine(w))
			_ = v.MarkWelcomed()
		}
		out.notices = append(out.notices, IncomingLines(v.Incoming())...)
		out.notices = append(out.notices, v.Warnings()...)
		if out.me, err = v.Me(); err != nil {
			return openedMsg{err: err}
		}
		if out.info, err = v.Info(); err != nil {
			return openedMsg{err: err}
		}
		if r, err := v.Reminders(); err == nil {
			out.reminders = ReminderLines(r)
		}
		return out
	}
}

// Update handles a message.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.help.SetWidth(msg.Width)
		m.resize()
		return m, nil
	case tea.BackgroundColorMsg:
		m.sh.styles = DefaultStyles(msg.IsDark())
		m.help.Styles = help.DefaultStyles(msg.IsDark())
		return m, nil
	case watchTickMsg:
		cmd := m.onWatchTick(msg)
		return m, cmd
	case fileStatMsg:
		cmd := m.onFileStat(msg) // changes m: called before m is returned
		return m, cmd
	case refreshedMsg:
		var cmd tea.Cmd
		if m.state == stateReady {
			cmd = m.refreshed(msg)
		}
		return m, cmd
	case doneMsg:
		if m.state == stateReady && msg.err == nil {
			// A change made here: the notice may say less now.
			next, cmd := m.updateReady(msg)
			nm := next.(Model)
			return nm, tea.Batch(cmd, nm.refresh())
		}
	case joinedMsg:
		return m.joinDone(msg)
	case statusMsg:
		m.setStatus(msg.text, msg.err)
		if m.state == stateReady {
			// The current screen may want it too (to reload).
			return m, m.screens[m.current].Update(msg)
		}
		return m, nil
	case agentLockedMsg:
		// Unlock again: through a new agent if one runs by now, else with
		// the passphrase (or without, for a file that has none).
		m.sh.id, m.identity = nil, nil
		m.state = stateStarting
		m.unlockErr = "The agent locked (idle, or 'vault lock'). Unlock again."
		return m, m.readIdentity(nil)
	case identityMsg:
		return m.gotIdentity(msg)
	case openedMsg:
		return m.opened(msg)
	case setupDoneMsg:
		return m.setupDone(msg)
	case tea.KeyPressMsg:
		if msg.String() == "ctrl+c" { // quits from anywhere, even a form
			return m, tea.Quit
		}
	}
	switch m.state {
	case stateLocked:
		return m.updateLocked(msg)
	case stateSetup:
		cmd := m.setup.Update(msg)
		return m, cmd
	case stateFailed, stateStarting, stateOpening:
		if k, ok := msg.(tea.KeyPressMsg); ok && key.Matches(k, m.sh.keys.Quit, m.sh.keys.Back) {
			return m, tea.Quit
		}
		return m, nil
	}
	return m.updateReady(msg)
}

// setStatus shows text, or err, on the status line; the screens make room
// for it (it wraps, never cut).
func (m *Model) setStatus(text string, err error) {
	m.status, m.errText = text, ""
	if err != nil {
		m.status, m.errText = "", oneLine(err.Error())
	}
	m.resize()
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func (m Model) gotIdentity(msg identityMsg) (tea.Model, tea.Cmd) {
	switch {
	case msg.err == nil:
		m.identity = msg.id
		m.passphrase.Reset()
		if _, err := os.Stat(m.sh.opts.VaultPath); errors.Is(err, fs.ErrNotExist) {
			m.state = stateSetup
			m.setup = newNoVaultSetup(m.sh, msg.id)
			m.resize()
			return m, nil
		}
		m.state = stateOpening
		return m, m.open(msg.id)
	case errors.Is(msg.err, vault.ErrNoPassphrase):
		m.state = stateLocked
		m.passphrase.focused = true
		return m, nil
	case errors.Is(msg.err, vault.ErrWrongPassphrase):
		m.state = stateLocked
		m.passphrase.Reset()
		m.unlockErr = "Wrong passphrase. Try again."
		return m, nil
	case errors.Is(msg.err, vault.ErrNoIdentity):
		m.state = stateSetup
		m.setup = newIdentitySetup(m.sh)
		m.resize()
		return m, nil
	}
	m.state, m.failure = stateFailed, msg.err
	return m, nil
}

func (m Model) updateLocked(msg tea.Msg) (tea.Model, tea.Cmd) {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		switch k.String() {
		case "esc":
			return m, tea.Quit
		case "enter":
			if m.passphrase.Empty() {
				m.unlockErr = "Type your passphrase, then press enter."
				return m, nil
			}
			pass := append([]byte(nil), m.passphrase.Value()...)
			m.passphrase.Reset()
			m.unlockErr = ""
			m.state = stateOpening
			return m, m.readIdentity(pass)
		}
	}
	m.passphrase.Update(msg)
	return m, nil
}

func (m Model) opened(msg openedMsg) (tea.Model, tea.Cmd) {
	if errors.Is(msg.err, vault.ErrNotAdded) && m.identity != nil {
		if m.state == stateSetup && m.setup != nil && m.setup.notMember {
			// Still not added: the screen stays as it is.
			return m, nil
		}
		// Not a member yet: what to send an admin, in full, and the vault
		// opens here once the change that adds them reaches this copy.
		m.state = stateSetup
		m.setup = newNotMemberSetup(m.sh, m.identity, m.joined)
		m.resize()
		cmd := m.startWatch(msg.stamp)
		return m, cmd
	}
	if msg.err != nil && m.state == stateSetup && m.setup != nil && m.setup.notMember {
		// Waiting to be added: say what went wrong and look again at the
		// next change.
		m.setup.err = failureText(msg.err)
		return m, nil
	}
	if msg.err != nil {
		m.state, m.failure = stateFailed, msg.err
		return m, nil
	}
	m.sh.id, m.sh.me, m.sh.info = msg.id, msg.me, msg.info
	m.state = stateReady
	m.setup = nil
	m.notices, m.reminders = msg.notices, msg.reminders
	if m.joined != nil && m.joined.Welcome != "" {
		m.notices = append([]string{m.joined.Welcome}, m.notices...)
	}
	m.joined = nil
	m.setBanner()
	m.screens = []screen{newSecretsScreen(m.sh), newMembersScreen(m.sh), newReviewScreen(m.sh)}
	m.current = 0
	m.resize()
	watch := m.startWatch(msg.stamp)
	return m, tea.Batch(m.screens[0].Init(), watch)
}

func (m Model) updateReady(msg tea.Msg) (tea.Model, tea.Cmd) {
	cur := m.screens[m.current]
	if k, ok := msg.(tea.KeyPressMsg); ok && !cur.Capturing() {
		keys := m.sh.keys
		switch {
		case key.Matches(k, keys.Quit):
			return m, tea.Quit
		case key.Matches(k, keys.Help):
			m.showHelp = !m.showHelp
			m.resize()
			return m, nil
		case cur.Nested():
		case key.Matches(k, keys.Dismiss) && len(m.banner) > 0:
			m.dismissBanner()
			return m, nil
		case key.Matches(k, keys.NextScreen), key.Matches(k, keys.PrevScreen):
			step := 1
			if key.Matches(k, keys.PrevScreen) {
				step = len(m.screens) - 1
			}
			cur.Update(leaveMsg{})
			m.current = (m.current + step) % len(m.screens)
			m.setStatus("", nil)
			return m, m.screens[m.current].Init()
		}
	}
	if _, ok := msg.(tea.KeyPressMsg); ok && (m.status != "" || m.errText != "") {
		m.setStatus("", nil)
	}
	return m, cur.Update(msg)
}

// leaveMsg tells a screen it is being left: hide any value shown.
type leaveMsg struct{}

// chrome is the height of what surrounds a screen.
func (m *Model) chrome() int {
	h := 2 // header and rule
	h += len(m.bannerLines())
	h += m.statusHeight()
	h += lipgloss.Height(m.helpView())
	return h
}

// statusHeight is the room kept for the status line: two lines, more when
// a long message wraps.
func (m *Model) statusHeight() int { return max(2, len(m.statusLines())) }

func (m *Model) resize() {
	if m.setup != nil {
		m.setup.SetSize(m.width, m.height-3)
	}
	for _, s := range m.screens {
		s.SetSize(m.width, max(3, m.height-m.chrome()))
	}
}

func (m Model) helpView() string {
	if m.state != stateReady {
		return ""
	}
	m.help.ShowAll = m.showHelp
	lines := strings.Split(m.help.View(m.screens[m.current]), "\n")
	for i, l := range lines {
		lines[i] = ansi.Truncate(l, max(1, m.width), "…")
	}
	return strings.Join(lines, "\n")
}

// View draws the program.
func (m Model) View() tea.View {
	v := tea.NewView(m.render())
	v.AltScreen = true
	v.WindowTitle = "vault"
	return v
}

func (m Model) render() string {
	st := m.sh.styles
	title := m.sh.opts.Title
	if title == "" {
		title = "vault"
	}
	switch m.state {
	case stateStarting:
		return st.Title.Render(title) + "\n\n" + st.Faint.Render("Reading your identity…")
	case stateOpening:
		return st.Title.Render(title) + "\n\n" + st.Faint.Render("Unlocking the vault…")
	case stateFailed:
		// Wrapped, not cut: the message says what to do.
		return st.Title.Render(title) + "\n\n" + wrapAll(st.Error.Render(failureText(m.failure)), max(10, m.width)) + "\n\n" + st.Faint.Render("Press q to quit.")
	case stateLocked:
		var b strings.Builder
		b.WriteString(st.Title.Render(title) + "\n\n")
		b.WriteString("Your identity is protected by a passphrase:\n" + st.Faint.Render(m.sh.opts.IdentityPath) + "\n\n")
		b.WriteString("Passphrase: " + m.passphrase.View(st) + "\n")
		if m.unlockErr != "" {
			b.WriteString("\n" + st.Error.Render(m.unlockErr) + "\n")
		}
		b.WriteString("\n" + st.Faint.Render("enter unlock · esc quit"))
		return b.String()
	case stateSetup:
		return st.Title.Render(title) + "\n\n" + m.setup.View()
	}
	return m.renderReady()
}

// failureText says what went wrong and what to do.
func failureText(err error) string {
	switch {
	case errors.Is(err, vault.ErrBusy):
		return oneLine(err.Error()) + "; close the other vault command and start again."
	case errors.Is(err, vault.ErrNotMember):
		return oneLine(err.Error()) + "; send your public key ('vault pubkey') to an admin."
	case errors.Is(err, vault.ErrCorrupt), errors.Is(err, vault.ErrTampered):
		return oneLine(err.Error()) + "; restore the file from a backup and tell your admins."
	}
	return oneLine(err.Error())
}

func (m Model) renderReady() string {
	st := m.sh.styles
	var b strings.Builder
	// Header: program, vault, who, tabs.
	title := m.sh.opts.Title
	if title == "" {
		title = "vault"
	}
	left := st.Title.Render(title)
	if m.sh.info.Name != "" {
		left += st.Faint.Render(" · " + display.Line(m.sh.info.Name))
	}
	who := display.Line(m.sh.me.Name)
	if m.sh.me.Admin {
		who += " (admin)"
	}
	left += st.Faint.Render(" · " + who)
	var tabs []string
	for i, s := range m.screens {
		if i == m.current {
			tabs = append(tabs, st.TabOn.Render(s.Title()))
		} else {
			tabs = append(tabs, st.Tab.Render(s.Title()))
		}
	}
	right := strings.Join(tabs, "")
	if room := m.width - lipgloss.Width(right) - 1; lipgloss.Width(left) > room {
		left = truncate(ansi.Strip(left), max(1, room))
	}
	gap := max(1, m.width-lipgloss.Width(left)-lipgloss.Width(right))
	b.WriteString(left + strings.Repeat(" ", gap) + right + "\n")
	for _, l := range m.bannerLines() {
		b.WriteString(st.Banner.Render(l) + "\n")
	}
	b.WriteString(st.Rule.Render(strings.Repeat("─", max(1, m.width))) + "\n")
	// No screen line may run past the terminal's edge, whatever a screen
	// draws: long names and keys are cut, not wrapped into a mess.
	body := strings.Split(m.screens[m.current].View(), "\n")
	for i, l := range body {
		body[i] = ansi.Truncate(l, max(1, m.width), "…")
	}
	helpView := m.helpView()
	// A long message wraps at the bottom; on a small terminal the screen
	// gives up its last lines for it rather than push the top away.
	if room := m.height - (lipgloss.Height(b.String()) - 1) - m.statusHeight() - lipgloss.Height(helpView); m.height > 0 && len(body) > room {
		body = body[:max(1, room)]
	}
	b.WriteString(strings.Join(body, "\n"))
	// Pad so the help sits at the bottom.
	used := lipgloss.Height(b.String())
	if pad := m.height - used - m.statusHeight() - lipgloss.Height(helpView); pad > 0 {
		b.WriteString(strings.Repeat("\n", pad))
	}
	switch {
	case m.errText != "":
		b.WriteString("\n" + st.Error.Render(strings.Join(m.statusLines(), "\n")))
	case m.status != "":
		b.WriteString("\n" + st.Status.Render(strings.Join(m.statusLines(), "\n")))
	case len(m.banner) > 0:
		b.WriteString("\n" + st.Faint.Render("x dismisses the notice above"))
	default:
		b.WriteString("\n")
	}
	b.WriteString("\n" + helpView)
	return b.String()
}

// truncate cuts s to width cells, with an ellipsis.
func truncate(s string, width int) string {
	if width <= 0 || lipgloss.Width(s) <= width {
		return s
	}
	r := []rune(s)
	for len(r) > 0 && lipgloss.Width(string(r))+1 > width {
		r = r[:len(r)-1]
	}
	return string(r) + "…"
}
