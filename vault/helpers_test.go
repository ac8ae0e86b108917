package vault

import (
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// fixedClock is a Clock that tests move by hand.
type fixedClock struct{ t time.Time }

func (c *fixedClock) Now() time.Time { return c.t }

// group is a vault with several members, each with their own identity and
// their own machine (state folder), sharing one vault file.
type group struct {
	t     *testing.T
	path  string
	clock *fixedClock
	ids   map[string]*Identity
	state map[string]string
}

func newGroup(t *testing.T, kind Kind, names ...string) *group {
	t.Helper()
	g := &group{t: t, path: filepath.Join(t.TempDir(), "vault.db"),
		clock: &fixedClock{time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)}, ids: map[string]*Identity{}, state: map[string]string{}}
	for _, n := range names {
		g.member(n, kind)
	}
	first := names[0]
	v, err := Create(g.path, CreateOptions{Options: g.opts(first), Name: "test", MemberName: first, PublicKey: g.ids[first].PublicKey()})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names[1:] {
		if _, err := v.AddMember(NewMember{Name: n, PublicKey: g.ids[n].PublicKey()}); err != nil {
			t.Fatal(err)
		}
	}
	v.Close()
	return g
}

// member makes an identity and a machine for name.
func (g *group) member(name string, kind Kind) *Identity {
	id, err := GenerateIdentity(kind)
	if err != nil {
		g.t.Fatal(err)
	}
	g.ids[name] = id
	g.state[name] = g.t.TempDir()
	return id
}

func (g *group) opts(name string) Options {
	return Options{Identity: g.ids[name], Clock: g.clock, StateDir: g.state[name]}
}

// as opens the vault as the named member and closes it when the test ends.
func (g *group) as(name string) *Vault {
	g.t.Helper()
	v, err := Open(g.path, g.opts(name))
	if err != nil {
		g.t.Fatalf("open as %s: %v", name, err)
	}
	g.t.Cleanup(func() { v.Close() })
	return v
}

// do runs fn with the vault opened as name and closes it right after, as one
// command of the CLI would.
func (g *group) do(name string, fn func(v *Vault)) {
	g.t.Helper()
	v, err := Open(g.path, g.opts(name))
	if err != nil {
		g.t.Fatalf("open as %s: %v", name, err)
	}
	defer v.Close()
	fn(v)
}

func mustIs(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error = %v, want one matching %v", err, want)
	}
}

func reveal(t *testing.T, v *Vault, name string) string {
	t.Helper()
	val, err := v.Reveal(name, 0)
	if err != nil {
		t.Fatalf("reveal %s: %v", name, err)
	}
	return string(val.Bytes())
}
