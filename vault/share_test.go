package vault

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mutual-aid-vault/vault/vault/internal/oplog"
)

// A command that took in another member's change keeps this machine's copy
// open, but with a shared lock: other commands read meanwhile; a write
// waits for it, and its own later write takes the exclusive lock again.
func TestTakeInThenShare(t *testing.T) {
	g := newGroup(t, Classic, "alice", "bob")
	g.do("bob", func(v *Vault) {})
	g.do("alice", func(v *Vault) {
		if _, err := v.Add(NewSecret{Name: "wifi", Share: []string{"bob"}}, NewValue([]byte("one"))); err != nil {
			t.Fatal(err)
		}
	})
	opts := g.opts("bob")
	opts.LockTimeout = 200 * time.Millisecond
	reading, err := Open(g.path, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer reading.Close()
	if len(reading.Incoming()) != 1 {
		t.Fatalf("incoming = %v, want alice's change", reading.Incoming())
	}
	if reading.repRW {
		t.Fatal("the copy is still held for writing after the change was taken in")
	}
	// Another command on the same machine reads while this one is open.
	start := time.Now()
	other, err := Open(g.path, opts)
	if err != nil {
		t.Fatalf("another command could not read while this one was open: %v", err)
	}
	if got := reveal(t, other, "wifi"); got != "one" {
		t.Fatalf("wifi = %q", got)
	}
	// But not write: this one still holds the copy.
	_, err = other.Set("wifi", NewValue([]byte("blocked")))
	mustIs(t, err, ErrBusy)
	other.Close()
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("took %v", d)
	}
	// This one reads on the pages it has, and writes.
	if got := reveal(t, reading, "wifi"); got != "one" {
		t.Fatalf("wifi = %q", got)
	}
	// Any write of the copy takes the exclusive lock again first.
	if err := reading.update0(func(*bolt.Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if !reading.repRW {
		t.Fatal("a write went through on a copy held with a shared lock")
	}
	if _, err := reading.Set("wifi", NewValue([]byte("two"))); err != nil {
		t.Fatal(err)
	}
	if got := reveal(t, reading, "wifi"); got != "two" {
		t.Fatalf("wifi = %q", got)
	}
	reading.Close()
	g.do("alice", func(v *Vault) {
		if got := reveal(t, v, "wifi"); got != "two" {
			t.Fatalf("alice sees wifi = %q", got)
		}
	})
}

// The stamp hint only decides how this machine's copy is first opened:
// missing, damaged or lying, the change is still taken in.
func TestStampHintOnlyAHint(t *testing.T) {
	g := newGroup(t, Classic, "alice", "bob")
	var hint string
	g.do("bob", func(v *Vault) { hint = v.stampHintPath() })
	set := func(value string) {
		g.do("alice", func(v *Vault) {
			if _, err := v.Set("wifi", NewValue([]byte(value))); err != nil {
				t.Fatal(err)
			}
		})
	}
	g.do("alice", func(v *Vault) {
		if _, err := v.Add(NewSecret{Name: "wifi", Share: []string{"bob"}}, NewValue([]byte("v0"))); err != nil {
			t.Fatal(err)
		}
	})
	lie := func() {
		info, err := os.Stat(g.path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(hint, stampOf(info).encode(), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for i, spoil := range []func(){
		func() {},                  // right
		func() { os.Remove(hint) }, // missing
		func() { os.WriteFile(hint, []byte("{\"dev"), 0o600) }, // torn
		lie, // says the file did not change
	} {
		value := "v" + string(rune('1'+i))
		set(value)
		spoil()
		g.do("bob", func(v *Vault) {
			if got := reveal(t, v, "wifi"); got != value {
				t.Fatalf("case %d: bob sees wifi = %q, want %q", i, got, value)
			}
			if v.repRW {
				t.Fatalf("case %d: the copy is still held for writing", i)
			}
		})
	}
}

// otherSigner is an identity that signs with a key the vault does not have
// for its member.
type otherSigner struct {
	*Identity
	key ed25519.PrivateKey
}

func (s otherSigner) SigningKey() ed25519.PublicKey { return s.key.Public().(ed25519.PublicKey) }
func (s otherSigner) SignOp(msg []byte) ([]byte, error) {
	return ed25519.Sign(s.key, msg), nil
}

// An identity whose signing key is not the member's reads, and is told why
// it cannot write when it tries.
func TestOtherSigningKeyReadsOnly(t *testing.T) {
	g := newGroup(t, Classic, "alice")
	g.do("alice", func(v *Vault) {
		if _, err := v.Add(NewSecret{Name: "wifi"}, NewValue([]byte("one"))); err != nil {
			t.Fatal(err)
		}
	})
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	opts := g.opts("alice")
	opts.Identity = otherSigner{g.ids["alice"], key}
	v, err := Open(g.path, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if got := reveal(t, v, "wifi"); got != "one" {
		t.Fatalf("wifi = %q", got)
	}
	_, err = v.Set("wifi", NewValue([]byte("two")))
	mustIs(t, err, ErrReadOnly)
	if !strings.Contains(err.Error(), "signing key is not the one the vault has for alice") {
		t.Fatalf("error = %v", err)
	}
}

// Whether the shared file may be written is worked out only when a
// command is about to write it: reading never pays for the check.
func TestReadsDoNotCheckWritable(t *testing.T) {
	g := newGroup(t, Classic, "alice", "bob")
	g.do("alice", func(v *Vault) {
		if _, err := v.Add(NewSecret{Name: "wifi", Share: []string{"bob"}}, NewValue([]byte("one"))); err != nil {
			t.Fatal(err)
		}
	})
	for _, name := range []string{"bob", "bob", "alice"} {
		g.do(name, func(v *Vault) {
			if _, err := v.Reminders(); err != nil {
				t.Fatal(err)
			}
			reveal(t, v, "wifi")
			if v.readOnlyChecked {
				t.Fatalf("%s: reading checked whether the file may be written", name)
			}
		})
	}
	if err := os.Chmod(g.path, 0o444); err != nil {
		t.Fatal(err)
	}
	g.do("bob", func(v *Vault) {
		_, err := v.Set("wifi", NewValue([]byte("two")))
		mustIs(t, err, ErrReadOnly)
	})
}

// A copy written by another version of vault is named as such, with what
// to do, whether it is opened to read or to take in a change.
func TestReplicaOfAnotherVersion(t *testing.T) {
	g := newGroup(t, Classic, "alice", "bob")
	var rep string
	g.do("bob", func(v *Vault) { rep = v.repPath })
	setFormat := func(f byte) {
		db, err := bolt.Open(rep, 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := db.Update(func(tx *bolt.Tx) error {
			return tx.Bucket([]byte(bLocal)).Put([]byte(lFormat), []byte{f})
		}); err != nil {
			t.Fatal(err)
		}
	}
	setFormat(replicaFormat + 1)
	for _, change := range []bool{false, true} {
		if change {
			g.do("alice", func(v *Vault) {
				if _, err := v.Add(NewSecret{Name: "wifi"}, NewValue([]byte("one"))); err != nil {
					t.Fatal(err)
				}
			})
		}
		_, err := Open(g.path, g.opts("bob"))
		mustIs(t, err, ErrCorrupt)
		if !strings.Contains(err.Error(), "is of another version of vault; delete") {
			t.Fatalf("change %v: error = %v", change, err)
		}
	}
	setFormat(replicaFormat)
	g.do("bob", func(v *Vault) {})
}

// Pins survive any path and name, and pins kept as JSON by an earlier
// version are moved to the new file.
func TestPinsFile(t *testing.T) {
	dir := t.TempDir()
	v := &Vault{stateDir: dir}
	pins := map[string]pin{
		"/home/kim/vault.db":              {Vault: oplog.ID{1}, Name: "mutual aid"},
		"/tmp/odd \"name\"\nwith\tbreaks": {Vault: oplog.ID{2}, Name: "line\nbreak \"quoted\""},
		"/x":                              {Vault: oplog.ID{3}},
	}
	if err := v.writePins(pins); err != nil {
		t.Fatal(err)
	}
	if got := v.readPins(); !maps.Equal(got, pins) {
		t.Fatalf("read back %v, want %v", got, pins)
	}
	// From before: pins.json.
	dir2 := t.TempDir()
	old := &Vault{stateDir: dir2}
	b, _ := json.Marshal(pins)
	if err := os.WriteFile(old.oldPinsPath(), b, 0o600); err != nil {
		t.Fatal(err)
	}
	if got := old.readPins(); !maps.Equal(got, pins) {
		t.Fatalf("read from pins.json %v, want %v", got, pins)
	}
	if _, err := os.Stat(old.oldPinsPath()); !os.IsNotExist(err) {
		t.Fatal("pins.json was not moved")
	}
	if got := old.readPins(); !maps.Equal(got, pins) {
		t.Fatalf("after the move %v, want %v", got, pins)
	}
}

// Signatures are checked once per machine: when copies that forked are
// merged and the whole log is folded again, only the changes new to this
// machine have their signatures checked.
func TestSignaturesCheckedOnce(t *testing.T) {
	g := newGroup(t, Classic, "alice", "bob")
	g.do("alice", func(v *Vault) {
		for _, name := range []string{"a", "b", "c", "d", "e"} {
			if _, err := v.Add(NewSecret{Name: name, Share: []string{"bob"}}, NewValue([]byte("one"))); err != nil {
				t.Fatal(err)
			}
		}
	})
	g.do("bob", func(v *Vault) {})
	// A fork: bob changes a copy, alice the file.
	fork := filepath.Join(t.TempDir(), "fork.db")
	b, err := os.ReadFile(g.path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(fork, b, 0o600); err != nil {
		t.Fatal(err)
	}
	g.do("alice", func(v *Vault) {
		if _, err := v.Set("a", NewValue([]byte("two"))); err != nil {
			t.Fatal(err)
		}
	})
	bob, err := Open(fork, g.opts("bob"))
	if err != nil {
		t.Fatal(err)
	}
	defer bob.Close()
	if _, err := bob.Set("b", NewValue([]byte("three"))); err != nil {
		t.Fatal(err)
	}
	before := bob.signaturesChecked.Load()
	rep, err := bob.Merge(g.path)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Changes) != 1 {
		t.Fatalf("merged %d changes, want alice's one", len(rep.Changes))
	}
	if n := bob.signaturesChecked.Load() - before; n != 1 {
		t.Fatalf("the merge checked %d signatures, want 1 (the new change's)", n)
	}
	if got := reveal(t, bob, "a"); got != "two" {
		t.Fatalf("a = %q", got)
	}
}

// Two admins remove two members at once, on copies that forked: both
// removals stand on every copy, and the vault key a removed member was
// given by the other removal is replaced by an admin's next change.
func TestTwoRemovalsAtOnce(t *testing.T) {
	g := newGroup(t, Classic, "alice", "ben", "sam", "kim")
	bens := g.whileBenRemovesKim(func(v *Vault) {
		if _, err := v.RemoveMember("sam", false, nil); err != nil {
			t.Fatal(err)
		}
	})
	g.do("alice", func(v *Vault) {
		rep, err := v.Merge(bens)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range v.Warnings() {
			if strings.Contains(w, "refused") {
				t.Fatalf("warning: %s", w)
			}
		}
		if len(rep.Changes) == 0 {
			t.Fatal("nothing merged")
		}
		a, _ := v.authState()
		for _, name := range []string{"sam", "kim"} {
			if m := a.Member(g.memberIDOf(v, name)); m == nil || m.Active() {
				t.Fatalf("%s is still a member", name)
			}
		}
		// alice's next change (here, her chores) issues a vault key that
		// neither removed member holds.
		if _, err := v.Maintain(); err != nil {
			t.Fatal(err)
		}
		a, _ = v.authState()
		for _, name := range []string{"sam", "kim"} {
			if a.HasEpoch(g.memberIDOf(v, name), a.Epoch) {
				t.Fatalf("%s, removed, holds the current vault key", name)
			}
		}
	})
	for _, name := range []string{"sam", "kim"} {
		_, err := Open(g.path, g.opts(name))
		mustIs(t, err, ErrNotMember)
	}
}

// whileBenRemovesKim makes ben an admin, then has alice make the change
// alice makes while ben, on a copy of the file from before it, removes kim.
// The shared file is left as alice wrote it; ben's copy is at the path
// returned, for alice to merge.
func (g *group) whileBenRemovesKim(alice func(v *Vault)) (bens string) {
	t := g.t
	g.do("alice", func(v *Vault) {
		if _, err := v.EditMember("ben", MemberEdit{Admin: ptr(true)}); err != nil {
			t.Fatal(err)
		}
	})
	g.do("ben", func(*Vault) {})
	fork := readFile(t, g.path)
	g.do("alice", alice)
	alices := readFile(t, g.path)
	replaceFile(t, g.path, fork)
	benOpts := g.opts("ben")
	benOpts.StateDir = t.TempDir()
	v, err := Open(g.path, benOpts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.RemoveMember("kim", false, nil); err != nil {
		t.Fatal(err)
	}
	v.Close()
	bens = g.path + ".ben"
	replaceFile(t, bens, readFile(t, g.path))
	replaceFile(t, g.path, alices)
	return bens
}
