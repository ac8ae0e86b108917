package vault

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestCheckCache: with a state folder, the whole structure is checked the
// first time a file is opened and skipped while the file is unchanged; any
// change through the file system (a write, even of the same bytes, a
// truncation, a chmod, a touch) makes the next open check it again.
func TestCheckCache(t *testing.T) {
	g := newGroup(t, Classic, "alice")
	state := filepath.Join(t.TempDir(), "state")
	opened := func() *Vault {
		t.Helper()
		v, err := Open(g.path, Options{Identity: g.ids["alice"], Clock: g.clock, StateDir: state})
		if err != nil {
			t.Fatal(err)
		}
		v.Close()
		return v
	}
	if !opened().structureChecked {
		t.Fatal("the first open did not check the file")
	}
	if opened().structureChecked {
		t.Fatal("an unchanged file was checked again")
	}
	orig, err := os.ReadFile(g.path)
	if err != nil {
		t.Fatal(err)
	}
	for _, change := range []struct {
		name string
		do   func() error
	}{
		{"rewritten with the same bytes", func() error { return os.WriteFile(g.path, orig, 0o600) }},
		{"chmod", func() error { return os.Chmod(g.path, 0o600) }},
		{"touched", func() error { now := time.Now(); return os.Chtimes(g.path, now, now) }},
		{"replaced by a copy", func() error {
			tmp := g.path + ".copy"
			if err := os.WriteFile(tmp, orig, 0o600); err != nil {
				return err
			}
			return os.Rename(tmp, g.path)
		}},
	} {
		time.Sleep(5 * time.Millisecond) // let the change time move on
		if err := change.do(); err != nil {
			t.Fatal(err)
		}
		if !opened().structureChecked {
			t.Fatalf("%s: not checked again", change.name)
		}
		if opened().structureChecked {
			t.Fatalf("%s: checked twice", change.name)
		}
	}
	// A write by the vault itself changes the file too.
	g.do("alice", func(v *Vault) {
		if _, err := v.Add(NewSecret{Name: "x"}, NewValue([]byte("v"))); err != nil {
			t.Fatal(err)
		}
	})
	if !opened().structureChecked {
		t.Fatal("not checked after the vault's own write")
	}
}

// TestCheckCacheNeverHidesDamage damages a file in place, after it was
// opened and its check remembered, in the ways the corruption test does:
// every open still ends in a clean error or the right value.
func TestCheckCacheNeverHidesDamage(t *testing.T) {
	g := newGroup(t, Classic, "alice")
	g.do("alice", func(v *Vault) {
		for i := range 30 {
			if _, err := v.Add(NewSecret{Name: fmt.Sprintf("s%02d", i)}, NewValue(fmt.Appendf(nil, "value %d", i))); err != nil {
				t.Fatal(err)
			}
		}
	})
	orig, err := os.ReadFile(g.path)
	if err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(t.TempDir(), "state")
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 4))
	path := filepath.Join(t.TempDir(), "vault.db")
	rounds := 300
	if testing.Short() || raceEnabled {
		rounds = 60
	}
	for i := range rounds {
		// The sound file, opened: its check is remembered...
		if err := os.WriteFile(path, orig, 0o600); err != nil {
			t.Fatal(err)
		}
		v, err := Open(path, Options{Identity: g.ids["alice"], StateDir: state, LockTimeout: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		v.Close()
		// ...then damaged in place.
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		if i%4 == 0 {
			err = f.Truncate(int64(rng.IntN(len(orig))))
		} else {
			_, err = f.WriteAt([]byte{byte(1 + rng.IntN(255))}, int64(rng.IntN(len(orig))))
		}
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		v, err = Open(path, Options{Identity: g.ids["alice"], StateDir: state, LockTimeout: 100 * time.Millisecond})
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrTampered) && !errors.Is(err, ErrNotVault) && !errors.Is(err, ErrNotMember) && !errors.Is(err, ErrNewerFormat) && !errors.Is(err, ErrOtherVault) && !errors.Is(err, ErrOldFormat) {
				t.Fatalf("round %d: %v", i, err)
			}
			continue
		}
		for j := range 30 {
			name := fmt.Sprintf("s%02d", j)
			val, err := v.Reveal(name, 0)
			if err == nil && string(val.Bytes()) != fmt.Sprintf("value %d", j) {
				t.Fatalf("round %d: %s revealed a wrong value", i, name)
			}
		}
		v.Close()
	}
}
