package tui

import (
	"errors"
	"os"
	"slices"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/mutual-aid-vault/vault/vault"
	"github.com/mutual-aid-vault/vault/vault/display"
)

// The UI stays live: every Options.Watch (1.5 s by default) it looks at
// the vault file's size, modification time and identity (device and
// inode: the vault package never writes the file in place, so every change
// is a new file renamed over it), and when anything differs it reloads
// what is on screen, keeping the selection and whatever is being typed. A
// look is one stat: nothing is opened or locked between changes, so other
// commands (a script, cron, 'vault sync') use the file as if the UI were
// not there.

// defaultWatch is how often the vault file is looked at.
const defaultWatch = 1500 * time.Millisecond

func (sh *shared) watchEvery() time.Duration {
	if sh.opts.Watch > 0 {
		return sh.opts.Watch
	}
	return defaultWatch
}

// fileStamp is the vault file as a stat saw it; info is nil when the stat
// failed (no file there, for a moment or for good).
type fileStamp struct {
	info os.FileInfo
}

func stampFile(path string) fileStamp {
	info, err := os.Stat(path)
	if err != nil {
		return fileStamp{}
	}
	return fileStamp{info: info}
}

// same reports whether two stamps are of one unchanged file.
func (a fileStamp) same(b fileStamp) bool {
	if a.info == nil || b.info == nil {
		return a.info == nil && b.info == nil
	}
	return os.SameFile(a.info, b.info) && a.info.Size() == b.info.Size() && a.info.ModTime().Equal(b.info.ModTime())
}

type (
	// watchTickMsg is the time to look at the file again; gen tells a
	// stale chain of ticks (from before an unlock) from the live one.
	watchTickMsg struct{ gen int }
	// fileStatMsg is what the look found.
	fileStatMsg struct {
		gen   int
		stamp fileStamp
	}
	// reloadMsg tells the current screen the vault changed: read it
	// again, keeping the selection and anything being typed.
	reloadMsg struct{}
	// refreshedMsg carries what the frame around the screens shows: who
	// the member is, the vault's name, and the notice (reminders, and
	// what a change brought in).
	refreshedMsg struct {
		me        vault.Member
		info      vault.Info
		reminders []string
		notices   []string
		err       error
		// reload is set when the current screen is to be read again next.
		reload bool
	}
)

// watching reports whether the file is being watched now: on the screens,
// and on the "not a member yet" screen (which opens the vault once the
// member's addition reaches this copy).
func (m *Model) watching() bool {
	return m.state == stateReady || (m.state == stateSetup && m.setup != nil && m.setup.notMember)
}

// startWatch starts a new chain of looks at the file, from stamp; any
// older chain dies at its next tick.
func (m *Model) startWatch(stamp fileStamp) tea.Cmd {
	m.watchGen++
	m.known = stamp
	return m.watchTick()
}

func (m *Model) watchTick() tea.Cmd {
	gen := m.watchGen
	return tea.Tick(m.sh.watchEvery(), func(time.Time) tea.Msg { return watchTickMsg{gen} })
}

// onWatchTick looks at the file, unless the chain is stale.
func (m *Model) onWatchTick(msg watchTickMsg) tea.Cmd {
	if msg.gen != m.watchGen || !m.watching() {
		return nil
	}
	path := m.sh.opts.VaultPath
	return func() tea.Msg { return fileStatMsg{gen: msg.gen, stamp: stampFile(path)} }
}

// onFileStat reloads when the file changed, and schedules the next look:
// only once this one is done, so looks never pile up on a slow disk.
func (m *Model) onFileStat(msg fileStatMsg) tea.Cmd {
	if msg.gen != m.watchGen || !m.watching() {
		return nil
	}
	next := m.watchTick()
	if msg.stamp.same(m.known) {
		return next
	}
	// The stamp is taken before the reload reads the file: a change made
	// while it reads shows as another change at the next look.
	m.known = msg.stamp
	if m.state == stateSetup {
		// Not a member yet: perhaps now.
		return tea.Batch(next, m.open(m.identity))
	}
	return tea.Batch(next, m.reload())
}

// reload reads the vault again for the frame, then for the current
// screen: one after the other, so that the frame's read is the one that
// takes in what changed and can say what it brought.
func (m *Model) reload() tea.Cmd {
	return m.sh.call(func(v *vault.Vault) tea.Msg {
		out := readFrame(v)
		out.reload = true
		return out
	}, func(err error) tea.Msg { return refreshedMsg{err: err, reload: true} })
}

// refresh reads who the member is, the vault's name and the reminders: the
// notice is recomputed after every change, made here or elsewhere.
func (m *Model) refresh() tea.Cmd {
	return m.sh.call(func(v *vault.Vault) tea.Msg { return readFrame(v) },
		func(err error) tea.Msg { return refreshedMsg{err: err} })
}

func readFrame(v *vault.Vault) refreshedMsg {
	var out refreshedMsg
	out.notices = append(IncomingLines(v.Incoming()), v.Warnings()...)
	if out.me, out.err = v.Me(); out.err != nil {
		return out
	}
	if out.info, out.err = v.Info(); out.err != nil {
		return out
	}
	if r, err := v.Reminders(); err == nil {
		out.reminders = ReminderLines(r)
	}
	return out
}

func (m *Model) refreshed(msg refreshedMsg) tea.Cmd {
	if errors.Is(msg.err, vault.ErrNotMember) {
		// Removed meanwhile: nothing here works any more.
		m.state, m.failure = stateFailed, msg.err
		return nil
	}
	var next tea.Cmd
	if msg.reload {
		next = func() tea.Msg { return reloadMsg{} }
	}
	if msg.err != nil {
		m.setStatus("", msg.err)
		return next
	}
	m.sh.me, m.sh.info = msg.me, msg.info
	m.reminders = msg.reminders
	for _, n := range msg.notices {
		if !slices.Contains(m.notices, n) {
			m.notices = append(m.notices, n)
		}
	}
	m.setBanner()
	return next
}

// setBanner puts the notices and reminders in the notice at the top,
// leaving out the lines the member dismissed: a reminder that is still
// true does not come back after every change.
func (m *Model) setBanner() {
	m.banner = nil
	for _, l := range append(slices.Clone(m.notices), m.reminders...) {
		if !m.dismissed[l] {
			m.banner = append(m.banner, l)
		}
	}
	m.resize()
}

// dismissBanner hides the lines of the notice now shown.
func (m *Model) dismissBanner() {
	if m.dismissed == nil {
		m.dismissed = map[string]bool{}
	}
	for _, l := range m.banner {
		m.dismissed[l] = true
	}
	m.notices = nil
	m.setBanner()
}

// bannerLines is the notice as drawn: each line wrapped to the width,
// never cut.
func (m *Model) bannerLines() []string {
	var out []string
	width := max(10, m.width-2)
	for _, l := range m.banner {
		for i, w := range strings.Split(wrapAll(display.Line(l), width), "\n") {
			if i == 0 {
				out = append(out, "! "+w)
			} else {
				out = append(out, "  "+w)
			}
		}
	}
	return out
}

// statusLines is the status or error line as drawn: wrapped to the width,
// never cut.
func (m *Model) statusLines() []string {
	text := m.status
	if m.errText != "" {
		text = m.errText
	}
	if text == "" {
		return nil
	}
	return strings.Split(wrapAll(display.Line(text), max(10, m.width)), "\n")
}
