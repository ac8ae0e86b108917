package vault

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/mutual-aid-vault/vault/vault/internal/oplog"
)

// fileShape is what anyone holding a shared file sees of it without a
// key: its size, and for each bucket its name, and the sizes of its keys
// and values (sorted: keys are hashes, so their order says nothing).
type fileShape struct {
	size    int64
	buckets map[string][]string // bucket → sorted "key size/value size"
}

// shapeOf walks a bbolt file, as an outsider can.
func shapeOf(t *testing.T, path string) fileShape {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s := fileShape{size: info.Size(), buckets: map[string][]string{}}
	err = db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			entries := []string{}
			err := b.ForEach(func(k, v []byte) error {
				entries = append(entries, fmt.Sprintf("%d/%d", len(k), len(v)))
				return nil
			})
			slices.Sort(entries)
			s.buckets[string(name)] = entries
			return err
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// diff says how two shapes differ, or "" when they are the same.
func (s fileShape) diff(o fileShape) string {
	var out []string
	if s.size != o.size {
		out = append(out, fmt.Sprintf("file size %d ≠ %d", s.size, o.size))
	}
	for _, name := range slices.Sorted(maps.Keys(s.buckets)) {
		a, b := s.buckets[name], o.buckets[name]
		if !slices.Equal(a, b) {
			out = append(out, fmt.Sprintf("bucket %s: %v ≠ %v", name, a, b))
		}
	}
	for name := range o.buckets {
		if _, ok := s.buckets[name]; !ok {
			out = append(out, "bucket "+name+" only in one")
		}
	}
	return strings.Join(out, "; ")
}

// twoVaults builds a vault of alice, bob and carol, runs act as alice with
// each of a and b, writes the file afresh (as publishing does at this
// size) and returns the two shapes.
func twoVaults[T any](t *testing.T, a, b T, act func(t *testing.T, v *Vault, x T)) (fileShape, fileShape) {
	t.Helper()
	var shapes []fileShape
	for _, x := range []T{a, b} {
		g := newGroup(t, Classic, "alice", "bob", "carol")
		g.do("alice", func(v *Vault) {
			act(t, v, x)
			if _, err := v.Compact(); err != nil {
				t.Fatal(err)
			}
		})
		shapes = append(shapes, shapeOf(t, g.path))
	}
	return shapes[0], shapes[1]
}

func addSecret(t *testing.T, v *Vault, ns NewSecret, val string) {
	t.Helper()
	if _, err := v.Add(ns, NewValue([]byte(val))); err != nil {
		t.Fatal(err)
	}
}

// TestFileHolderLearns builds pairs of vaults that differ only in one
// property and checks that the files look alike to someone without a key
// (the same size, the same buckets with the same number of entries of the
// same sizes): what the README's "What a file holder learns" says is
// hidden. The last cases differ in what it says is not, and must differ,
// so that the comparison is known to see sizes.
func TestFileHolderLearns(t *testing.T) {
	type pair struct {
		name   string
		a, b   func(t *testing.T, v *Vault)
		differ bool
	}
	add := func(ns NewSecret, val string) func(t *testing.T, v *Vault) {
		return func(t *testing.T, v *Vault) { addSecret(t, v, ns, val) }
	}
	then := func(fns ...func(t *testing.T, v *Vault)) func(t *testing.T, v *Vault) {
		return func(t *testing.T, v *Vault) {
			for _, fn := range fns {
				fn(t, v)
			}
		}
	}
	airtable := NewSecret{Name: "airtable", Share: []string{"bob"}}
	note := func(s string) func(t *testing.T, v *Vault) {
		return func(t *testing.T, v *Vault) {
			if _, err := v.Edit("airtable", SecretEdit{Note: &s}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, tt := range []pair{
		{name: "a value's length", a: add(airtable, "hunter2"), b: add(airtable, "hunter2hunter2")},
		{name: "a long password's length", a: add(airtable, strings.Repeat("x", 16)), b: add(airtable, strings.Repeat("x", 64))},
		{name: "the number of readers", a: add(airtable, "hunter2"),
			b: add(NewSecret{Name: "airtable", Share: []string{"bob", "carol"}}, "hunter2")},
		{name: "a name's length", a: add(airtable, "hunter2"), b: add(NewSecret{Name: "the-airtable-login-of-the-intake-team", Share: []string{"bob"}}, "hunter2")},
		{name: "details", a: add(airtable, "hunter2"),
			b: add(NewSecret{Name: "airtable", Share: []string{"bob"}, Username: "intake@example.org", URL: "https://airtable.com/login", Note: "the shared login of the intake team"}, "hunter2")},
		{name: "a two-factor seed's length", a: then(add(airtable, "hunter2"), func(t *testing.T, v *Vault) {
			if _, err := v.SetTOTP("airtable", NewValue([]byte("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP"))); err != nil {
				t.Fatal(err)
			}
		}), b: then(add(airtable, "hunter2"), func(t *testing.T, v *Vault) {
			if _, err := v.SetTOTP("airtable", NewValue([]byte("otpauth://totp/airtable:intake@example.org?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Airtable&digits=8"))); err != nil {
				t.Fatal(err)
			}
		})},
		{name: "what a change does (trash or edit)", a: then(add(airtable, "hunter2"), func(t *testing.T, v *Vault) {
			if err := v.Remove("airtable"); err != nil {
				t.Fatal(err)
			}
		}), b: then(add(airtable, "hunter2"), note("x"))},
		{name: "a note's length", a: then(add(airtable, "hunter2"), note("x")), b: then(add(airtable, "hunter2"), note(strings.Repeat("n", 120)))},

		// Not hidden: a value of another class, the number of changes.
		{name: "a value of another class", a: add(airtable, "hunter2"), b: add(airtable, strings.Repeat("x", 2000)), differ: true},
		{name: "the number of changes", a: add(airtable, "hunter2"), b: then(add(airtable, "hunter2"), note("x")), differ: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a, b := twoVaults(t, tt.a, tt.b, func(t *testing.T, v *Vault, fn func(t *testing.T, v *Vault)) { fn(t, v) })
			d := a.diff(b)
			switch {
			case tt.differ && d == "":
				t.Fatalf("the files look alike, and should not:\n%v", a.buckets)
			case !tt.differ && d != "":
				t.Fatalf("the files differ: %s", d)
			}
		})
	}
}

// TestGrantPadding: a key grant's plaintext is the same size whether it
// holds one vault key or 21, and reads back exactly; grants written
// before the padding read too.
func TestGrantPadding(t *testing.T) {
	k := newKeyset()
	var sizes []int
	for i := range 21 {
		k.add(oplogEpoch(i), [32]byte{byte(i)})
		b := k.marshalGrant(k.sortedEpochs())
		sizes = append(sizes, len(b))
		got, err := parseGrant(b)
		if err != nil || len(got) != i+1 {
			t.Fatalf("%d keys: %d back, %v", i+1, len(got), err)
		}
		unpadded := b[:len(grantMagic)+2+48*(i+1)]
		if got, err := parseGrant(unpadded); err != nil || len(got) != i+1 {
			t.Fatalf("%d keys, unpadded: %d back, %v", i+1, len(got), err)
		}
		bad := slices.Clone(b)
		bad[len(bad)-1] = 1
		if _, err := parseGrant(bad); err == nil && len(b) > len(unpadded) {
			t.Fatal("a grant padded with something else than zeros was read")
		}
	}
	if slices.Min(sizes) != slices.Max(sizes) {
		t.Fatalf("grant sizes: %v", sizes)
	}
	k.add(oplogEpoch(21), [32]byte{21})
	if n := len(k.marshalGrant(k.sortedEpochs())); n == sizes[0] {
		t.Fatal("22 keys fit the floor: the floor is larger than this test thinks")
	}
}

// TestFileNamesNoEpoch: after a removal (a second vault key), neither
// key's epoch ID appears in the shared file: operations and values carry
// tags that only key holders can match, so a file holder cannot count the
// keys or tell which change came under which.
func TestFileNamesNoEpoch(t *testing.T) {
	g := newGroup(t, Classic, "alice", "bob", "carol")
	var epochs []oplog.EpochID
	g.do("alice", func(v *Vault) {
		addSecret(t, v, NewSecret{Name: "airtable", Share: []string{"bob", "carol"}}, "hunter2")
		if _, err := v.RemoveMember("carol", false, nil); err != nil {
			t.Fatal(err)
		}
		addSecret(t, v, NewSecret{Name: "bank", Share: []string{"bob"}}, "money")
		epochs = vaultKeys(v).sortedEpochs()
	})
	if len(epochs) != 2 {
		t.Fatalf("%d epochs", len(epochs))
	}
	raw, err := os.ReadFile(g.path)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range epochs {
		if bytes.Contains(raw, e[:]) {
			t.Fatalf("epoch %s is in the file", e)
		}
	}
	g.do("bob", func(v *Vault) {
		if got := reveal(t, v, "bank"); got != "money" {
			t.Fatalf("bank = %q", got)
		}
	})
}
