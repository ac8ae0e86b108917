package tui

import (
	"os"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/mutual-aid-vault/vault/vault"
)

// demoNow is the fixed moment the test vaults are built at.
var demoNow = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

// harness drives a Model the way bubbletea would, synchronously: it sends
// messages to Update and runs the commands that come back, feeding their
// messages in turn. Commands that do not return quickly (timers) are left
// running and ignored; tests send their messages by hand.
type harness struct {
	t    *testing.T
	m    Model
	quit bool
	// pending holds the commands still running after the wait in run:
	// timers, or vault work slowed by a loaded machine. mustSee waits for
	// them before it fails.
	pending []chan tea.Msg
}

func newHarness(t *testing.T, opts Options) *harness {
	t.Helper()
	if opts.Watch == 0 {
		// Tests look at the file by hand (h.tick): a look every second
		// would keep mustSee waiting for ever on a failure.
		opts.Watch = time.Hour
	}
	h := &harness{t: t, m: New(opts)}
	t.Cleanup(func() { h.m.Close() })
	h.send(tea.WindowSizeMsg{Width: 80, Height: 24})
	h.run(h.m.Init())
	return h
}

// demo returns a harness on a fresh demo vault, opened as its admin.
func demo(t *testing.T) *harness {
	t.Helper()
	opts, err := BuildDemo(t.TempDir(), demoNow)
	if err != nil {
		t.Fatal(err)
	}
	opts.Getenv = func(string) string { return "" }
	h := newHarness(t, opts)
	h.mustOpen()
	return h
}

// mustOpen fails unless the vault opens. Opening is vault work: on a
// loaded machine it outlasts run's wait, and is waited for here.
func (h *harness) mustOpen() {
	h.t.Helper()
	for deadline := time.Now().Add(30 * time.Second); h.m.state != stateReady && len(h.pending) > 0 && time.Now().Before(deadline); {
		h.settle(time.Second)
	}
	if h.m.state != stateReady {
		h.t.Fatalf("demo did not open: %s", h.view())
	}
}

func (h *harness) send(msg tea.Msg) {
	h.t.Helper()
	switch msg.(type) {
	case tea.QuitMsg:
		h.quit = true
		return
	}
	m, cmd := h.m.Update(msg)
	h.m = m.(Model)
	h.run(cmd)
}

func (h *harness) run(cmd tea.Cmd) {
	h.t.Helper()
	if cmd == nil {
		return
	}
	ch := make(chan tea.Msg, 1)
	go func() { ch <- cmd() }()
	select {
	case msg := <-ch:
		h.deliver(msg)
	case <-time.After(300 * time.Millisecond):
		// A timer (a value's time on screen, the clipboard's), or slow
		// work: left running. Tests send timer messages by hand; mustSee
		// waits for slow work.
		h.pending = append(h.pending, ch)
	}
}

func (h *harness) deliver(msg tea.Msg) {
	h.t.Helper()
	switch msg := msg.(type) {
	case nil:
	case tea.BatchMsg:
		for _, c := range msg {
			h.run(c)
		}
	default:
		h.send(msg)
	}
}

// settle delivers the result of one pending command that finishes within
// wait (timers take far longer), and reports whether one did.
func (h *harness) settle(wait time.Duration) bool {
	h.t.Helper()
	deadline := time.After(wait)
	for {
		for i, ch := range h.pending {
			select {
			case msg := <-ch:
				h.pending = append(h.pending[:i], h.pending[i+1:]...)
				h.deliver(msg)
				return true
			default:
			}
		}
		if len(h.pending) == 0 {
			return false
		}
		select {
		case <-deadline:
			return false
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// tick is the UI's next look at the vault file, as its timer would
// send it; a change found is reloaded before it returns.
func (h *harness) tick() {
	h.t.Helper()
	h.send(watchTickMsg{gen: h.m.watchGen})
	for h.settle(time.Second) {
	}
}

// key sends key presses: names like "enter", "esc", "down", "shift+tab",
// or text, typed one character at a time.
func (h *harness) key(keys ...string) {
	h.t.Helper()
	for _, k := range keys {
		h.send(keyMsg(k))
	}
}

func (h *harness) typeText(s string) {
	h.t.Helper()
	for _, r := range s {
		h.send(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
}

func keyMsg(k string) tea.KeyPressMsg {
	switch k {
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	case "tab":
		return tea.KeyPressMsg{Code: tea.KeyTab}
	case "shift+tab":
		return tea.KeyPressMsg{Code: tea.KeyTab, Mod: tea.ModShift}
	case "space":
		return tea.KeyPressMsg{Code: tea.KeySpace, Text: " "}
	case "backspace":
		return tea.KeyPressMsg{Code: tea.KeyBackspace}
	case "ctrl+c":
		return tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
	case "ctrl+s":
		return tea.KeyPressMsg{Code: 's', Mod: tea.ModCtrl}
	case "ctrl+u":
		return tea.KeyPressMsg{Code: 'u', Mod: tea.ModCtrl}
	}
	r := []rune(k)[0]
	return tea.KeyPressMsg{Code: r, Text: k}
}

// view is the screen as text, without styling.
func (h *harness) view() string { return stripANSI(h.m.render()) }

func stripANSI(s string) string { return ansi.Strip(s) }

// mustSee checks the screen shows each part, which may run over a line
// break (status lines wrap).
func (h *harness) mustSee(parts ...string) {
	h.t.Helper()
	for {
		v := h.view()
		missing := missingFrom(v, parts)
		if missing == "" {
			return
		}
		// Work slowed by a loaded machine may still bring it.
		if !h.settle(10 * time.Second) {
			h.t.Fatalf("the screen does not show %q:\n%s", missing, v)
		}
	}
}

// missingFrom returns the first of parts the screen v does not show.
func missingFrom(v string, parts []string) string {
	flat := strings.Join(strings.Fields(v), " ")
	for _, p := range parts {
		if !strings.Contains(v, p) && !strings.Contains(flat, strings.Join(strings.Fields(p), " ")) {
			return p
		}
	}
	return ""
}

func (h *harness) mustNotSee(parts ...string) {
	h.t.Helper()
	v := h.view()
	for _, p := range parts {
		if strings.Contains(v, p) {
			h.t.Fatalf("the screen shows %q:\n%s", p, v)
		}
	}
}

// secrets returns the secrets screen.
func (h *harness) secrets() *secretsScreen {
	s, ok := h.m.screens[0].(*secretsScreen)
	if !ok {
		h.t.Fatal("the first screen is not the secrets screen")
	}
	return s
}

// selectSecret moves the cursor to the secret with that name.
func (h *harness) selectSecret(name string) {
	h.t.Helper()
	s := h.secrets()
	for range len(s.shown) + 1 {
		if cur, ok := s.selected(); ok && cur.Name == name {
			return
		}
		h.key("down")
	}
	h.t.Fatalf("no secret %q on the list:\n%s", name, h.view())
}

func teaSize(w, h int) tea.WindowSizeMsg { return tea.WindowSizeMsg{Width: w, Height: h} }

func displayWidth(s string) int { return ansi.StringWidth(s) }

func pasteMsg(s string) tea.PasteMsg { return tea.PasteMsg{Content: s} }

func writeFile(path string, b []byte) error { return os.WriteFile(path, b, 0o600) }

// checkVault is a vault opened as the UI's member, to check what the UI
// did; it is closed when the test ends. The UI opens the file for each
// action, so both can take turns.
type checkVault struct {
	h *harness
}

// v returns a way to read the vault as the UI's member.
func (h *harness) v() checkVault { return checkVault{h} }

func (c checkVault) do(fn func(v *vault.Vault) error) {
	c.h.t.Helper()
	if err := c.h.m.sh.with(fn); err != nil {
		c.h.t.Fatal(err)
	}
}

func (c checkVault) Reveal(name string, n int) (out vault.Value, err error) {
	c.do(func(v *vault.Vault) error { out, err = v.Reveal(name, n); return nil })
	return out, err
}

func (c checkVault) Get(name string) (out vault.Secret, err error) {
	c.do(func(v *vault.Vault) error { out, err = v.Get(name); return nil })
	return out, err
}
