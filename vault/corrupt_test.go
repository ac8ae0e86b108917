package vault

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// TestCorruptFile damages a real vault file in many ways: bytes flipped
// across every page, page headers scrambled, the file truncated at many
// lengths. Every run must end in a clean one-line error (one of the file
// errors) or the right values: never a panic, a crash, or a wrong value.
func TestCorruptFile(t *testing.T) {
	g := newGroup(t, Classic, "alice", "bob", "carol")
	want := map[string]string{}
	g.do("alice", func(v *Vault) {
		if _, err := v.EditMember("bob", MemberEdit{AddGroups: []string{"intake"}}); err != nil {
			t.Fatal(err)
		}
		for i := range 40 {
			name := fmt.Sprintf("secret-%02d", i)
			want[name] = fmt.Sprintf("value %d %s", i, strings.Repeat("x", i*40))
			if _, err := v.Add(NewSecret{Name: name, Username: "user", Note: strings.Repeat("n", i*30), Share: []string{"@intake"}}, NewValue([]byte("first"))); err != nil {
				t.Fatal(err)
			}
			if _, err := v.Set(name, NewValue([]byte(want[name]))); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := v.RemoveMember("carol", false, nil); err != nil {
			t.Fatal(err)
		}
		if err := v.Remove("secret-00"); err != nil {
			t.Fatal(err)
		}
		delete(want, "secret-00")
	})
	orig, err := os.ReadFile(g.path)
	if err != nil {
		t.Fatal(err)
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("file of %d bytes; random seed %d", len(orig), seed)
	rng := rand.New(rand.NewPCG(seed, seed>>1))
	dir := t.TempDir()
	alice := g.ids["alice"]
	outcomes := map[string]int{}

	var names []string
	for n := range want {
		names = append(names, n)
	}
	cases := 0
	check := func(label string, data []byte) {
		cases++
		// Read a different handful of secrets each time.
		rng.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
		// A fresh file each time: a vault that found damage may keep its lock.
		path := filepath.Join(dir, fmt.Sprintf("case-%d.db", cases))
		defer os.Remove(path)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		clean := func(err error) {
			t.Helper()
			for _, kind := range []error{ErrCorrupt, ErrTampered, ErrNotVault, ErrNotMember, ErrNewerFormat, ErrOldFormat, ErrOtherVault} {
				if errors.Is(err, kind) {
					if strings.Contains(err.Error(), "\n") {
						t.Fatalf("%s: error is not one line: %q", label, err)
					}
					outcomes[kind.Error()]++
					return
				}
			}
			t.Fatalf("%s: unexpected error %v", label, err)
		}
		v, err := Open(path, Options{Identity: alice, Clock: g.clock, LockTimeout: 100 * time.Millisecond})
		if err != nil {
			clean(err)
			return
		}
		defer v.Close()
		for _, name := range names[:6] {
			val := want[name]
			got, err := v.Reveal(name, 0)
			if err != nil {
				clean(err)
				continue
			}
			if string(got.Bytes()) != val {
				t.Fatalf("%s: %s revealed a wrong value", label, name)
			}
			outcomes["right value"]++
		}
		for _, read := range []func() error{
			func() error { _, err := v.List(false); return err },
			func() error { _, err := v.Members(); return err },
			func() error { _, err := v.Log(0); return err },
		} {
			if err := read(); err != nil {
				clean(err)
			}
		}
		// A write must not crash either, whatever it finds. Writes sync the
		// file to disk, which is slow, so only some cases write.
		if cases%16 == 0 {
			if _, err := v.Set("secret-01", NewValue([]byte("written"))); err != nil {
				clean(err)
			}
		}
	}

	flips := 400
	if testing.Short() || raceEnabled {
		flips = 150
	}
	// Truncations at many lengths, including inside the meta pages.
	for _, n := range []int{0, 1, 16, 100, 4095, 4096, 4097, 8191, 8192} {
		check(fmt.Sprintf("truncated to %d", n), orig[:n])
	}
	step := max(len(orig)/(flips/4), 1)
	for n := 8192; n < len(orig); n += step + rng.IntN(step) {
		check(fmt.Sprintf("truncated to %d", n), orig[:n])
	}
	// Page headers and the first elements of every page, scrambled.
	for page := 0; page*4096 < len(orig); page += 1 + rng.IntN(1000/flips+1) {
		for _, off := range []int{0, 8, 10, 12, 16, 20, 24, 28, 40} {
			at := page*4096 + off
			if at < len(orig) {
				data := append([]byte(nil), orig...)
				data[at] ^= byte(1 + rng.IntN(255))
				check(fmt.Sprintf("page %d byte %d changed", page, off), data)
			}
		}
	}
	// Bytes flipped anywhere.
	for range flips {
		data := append([]byte(nil), orig...)
		at := rng.IntN(len(data))
		data[at] ^= byte(1 + rng.IntN(255))
		check(fmt.Sprintf("byte %d changed", at), data)
	}
	// Several bytes at once.
	for range flips / 5 {
		data := append([]byte(nil), orig...)
		for range 8 {
			data[rng.IntN(len(data))] = byte(rng.IntN(256))
		}
		check("eight bytes changed", data)
	}
	t.Logf("%d cases; outcomes: %v", cases, outcomes)
}

// TestDamageAfterOpen damages a file in place after this machine opened
// it sound, in the ways the corruption test does: every open still ends
// in a clean error or the right value.
func TestDamageAfterOpen(t *testing.T) {
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
		// The sound file, opened...
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

// TestReadsOnlyWhatChanged: after another member's change, opening the
// vault reads the new change and what it needs, not the whole file:
// damage to a page it does not need goes unseen by reads (which never
// write), and the next change this machine writes checks the whole file it
// replaces, keeps it aside, says so, and writes the file afresh.
func TestReadsOnlyWhatChanged(t *testing.T) {
	g := newGroup(t, Classic, "alice", "bob")
	g.do("alice", func(v *Vault) {
		for i := range 60 {
			if _, err := v.Add(NewSecret{Name: fmt.Sprintf("s%02d", i), Share: []string{"bob"}}, NewValue([]byte(strings.Repeat(fmt.Sprint(i), 400)))); err != nil {
				t.Fatal(err)
			}
		}
	})
	g.do("bob", func(v *Vault) {})
	var fresh []byte
	g.do("alice", func(v *Vault) {
		if _, err := v.Add(NewSecret{Name: "new", Share: []string{"bob"}}, NewValue([]byte("new value"))); err != nil {
			t.Fatal(err)
		}
		fresh = storedValue(t, v, "new")
	})
	data, err := os.ReadFile(g.path)
	if err != nil {
		t.Fatal(err)
	}
	page := filePageSize(t, g.path)
	// Damage the header of a page of values that holds none of the new
	// value: a page bob never needs to read now. (A value may also sit in
	// pages bbolt freed; every page holding it is damaged.)
	pages := func(ct []byte) map[int]bool {
		out := map[int]bool{}
		for off := 0; ; {
			i := bytes.Index(data[off:], ct)
			if i < 0 {
				return out
			}
			out[(off+i)/page] = true
			off += i + 1
		}
	}
	avoid := pages(fresh)
	damaged, want := "", ""
	g.do("alice", func(v *Vault) {
		for i := range 60 {
			name := fmt.Sprintf("s%02d", i)
			ps := pages(storedValue(t, v, name))
			clash := false
			for p := range ps {
				clash = clash || avoid[p]
			}
			if clash || i == 1 {
				continue
			}
			for p := range ps {
				data[p*page] ^= 0xff // the page's ID
			}
			damaged, want = name, strings.Repeat(fmt.Sprint(i), 400)
			return
		}
	})
	if damaged == "" {
		t.Fatal("every value shares a page with the new one")
	}
	if err := os.WriteFile(g.path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	bob := g.as("bob")
	if got := reveal(t, bob, "new"); got != "new value" {
		t.Fatalf("new = %q", got)
	}
	if got := reveal(t, bob, damaged); got != want {
		t.Fatalf("%s: wrong value from bob's own copy", damaged)
	}
	if w := bob.Warnings(); len(w) != 0 {
		t.Fatalf("a read saw damage it did not need to read: %q", w)
	}
	if err := checkFile(g.path); err == nil {
		t.Fatal("the damage is gone before any write")
	}
	if _, err := bob.Set("s01", NewValue([]byte("bob's"))); err != nil {
		t.Fatal(err)
	}
	w := strings.Join(bob.Warnings(), "\n")
	if !strings.Contains(w, "damaged") || !strings.Contains(w, "written afresh") {
		t.Fatalf("the write did not say the file it replaced was damaged: %q", w)
	}
	if err := checkFile(g.path); err != nil {
		t.Fatalf("the file written is not sound: %v", err)
	}
	g.do("alice", func(v *Vault) {
		if got := reveal(t, v, "s01"); got != "bob's" {
			t.Fatalf("s01 = %q", got)
		}
		if got := reveal(t, v, damaged); got != want {
			t.Fatalf("%s lost", damaged)
		}
	})
}

// filePageSize returns the page size of the bbolt file at path.
func filePageSize(t *testing.T, path string) int {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	return db.Info().PageSize
}
