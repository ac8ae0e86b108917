package tui

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/mutual-aid-vault/vault/vault"
)

// The benchmark vault: 10,000 secrets, one in ten overdue, a few members.
// Built once per test binary.
var bigVault struct {
	once sync.Once
	dir  string
	opts Options
	err  error
}

func bigVaultOptions(b *testing.B) Options {
	b.Helper()
	f := &bigVault
	f.once.Do(func() {
		if f.dir, f.err = os.MkdirTemp("", "vault-tui-bench-"); f.err != nil {
			return
		}
		id, err := vault.GenerateIdentity(vault.Classic)
		if err != nil {
			f.err = err
			return
		}
		path := filepath.Join(f.dir, "vault.db")
		v, err := vault.Create(path, vault.CreateOptions{Options: vault.Options{Identity: id}, Name: "bench", MemberName: "alex", PublicKey: id.PublicKey()})
		if err != nil {
			f.err = err
			return
		}
		defer v.Close()
		var entries []vault.Entry
		for i := range 10000 {
			ns := vault.NewSecret{Name: fmt.Sprintf("team-%02d/service-%05d", i%40, i), Username: "user"}
			if i%10 == 0 {
				ns.LastRotated = demoNow.AddDate(-1, 0, 0)
			}
			entries = append(entries, vault.Entry{Secret: ns, Value: vault.NewValue([]byte("value"))})
		}
		if f.err = v.AddMany(entries); f.err != nil {
			return
		}
		f.opts = Options{VaultPath: path, IdentityPath: filepath.Join(f.dir, "none"), StateDir: filepath.Join(f.dir, "state"),
			Identity: id, Getenv: func(string) string { return "" }}
	})
	if f.err != nil {
		b.Fatal(f.err)
	}
	return f.opts
}

// update runs one message through the model and returns it.
func update(m Model, msg tea.Msg) (Model, tea.Cmd) {
	next, cmd := m.Update(msg)
	return next.(Model), cmd
}

// BenchmarkFirstFrame measures from an unlocked identity to the first frame
// that shows the list: open the vault (structure check, key wrap, manifest),
// housekeeping, reminders, the summary of all 10,000 secrets, and drawing.
// Goal: under 100 ms.
func BenchmarkFirstFrame(b *testing.B) {
	opts := bigVaultOptions(b)
	for b.Loop() {
		m := New(opts)
		m, _ = update(m, tea.WindowSizeMsg{Width: 80, Height: 24})
		m, _ = update(m, m.open(opts.Identity)())
		if m.state != stateReady {
			b.Fatalf("not ready: %s", m.render())
		}
		m, _ = update(m, m.screens[0].Init()())
		if out := m.render(); len(out) == 0 {
			b.Fatal("empty frame")
		}
		m.Close()
	}
}

// BenchmarkFilterKeystroke measures one key typed into the filter of the
// list of 10,000 secrets, with the frame it draws. Goal: under 16 ms.
func BenchmarkFilterKeystroke(b *testing.B) {
	opts := bigVaultOptions(b)
	m := New(opts)
	m, _ = update(m, tea.WindowSizeMsg{Width: 80, Height: 24})
	m, _ = update(m, m.open(opts.Identity)())
	m, _ = update(m, m.screens[0].Init()())
	defer m.Close()
	m, _ = update(m, keyMsg("/"))
	keys := []tea.KeyPressMsg{keyMsg("1"), keyMsg("2"), keyMsg("backspace"), keyMsg("backspace")}
	i := 0
	for b.Loop() {
		m, _ = update(m, keys[i%len(keys)])
		_ = m.render()
		i++
	}
}

// TestMain removes the benchmark vault. The test binary is also the
// clipboard-clearing helper (clipboard_test.go).
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == clearHelperArg {
		os.Exit(serveClear())
	}
	code := m.Run()
	if bigVault.dir != "" {
		os.RemoveAll(bigVault.dir)
	}
	os.Exit(code)
}
