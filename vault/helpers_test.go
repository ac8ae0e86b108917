package vault

import (
	"bytes"
	"errors"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// fixedClock is a Clock that tests move by hand.
type fixedClock struct{ t time.Time }

func (c *fixedClock) Now() time.Time { return c.t }

// group is a vault with several members, each with their own identity, all
// in one temporary folder.
type group struct {
	t     *testing.T
	path  string
	clock *fixedClock
	ids   map[string]*Identity
}

func newGroup(t *testing.T, kind Kind, names ...string) *group {
	t.Helper()
	g := &group{t: t, path: filepath.Join(t.TempDir(), "vault.db"),
		clock: &fixedClock{time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)}, ids: map[string]*Identity{}}
	for _, n := range names {
		id, err := GenerateIdentity(kind)
		if err != nil {
			t.Fatal(err)
		}
		g.ids[n] = id
	}
	first := names[0]
	v, err := Create(g.path, CreateOptions{Options: Options{Identity: g.ids[first], Clock: g.clock}, Name: "test", MemberName: first, PublicKey: g.ids[first].PublicKey()})
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

// as opens the vault as the named member and closes it when the test ends.
func (g *group) as(name string) *Vault {
	g.t.Helper()
	v, err := Open(g.path, Options{Identity: g.ids[name], Clock: g.clock})
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
	v, err := Open(g.path, Options{Identity: g.ids[name], Clock: g.clock})
	if err != nil {
		g.t.Fatalf("open as %s: %v", name, err)
	}
	defer v.Close()
	fn(v)
	checkConsistency(g.t, v)
}

// checkConsistency checks what is derived from the records against the
// records: the due index must be exactly what the secrets say.
func checkConsistency(t *testing.T, v *Vault) {
	t.Helper()
	err := v.view(func(tx *txn) error {
		stored, err := tx.dueIdx()
		if err != nil {
			return err
		}
		secrets, keys, err := tx.allSecrets()
		if err != nil {
			return err
		}
		fresh := &txn{v: v, tx: tx.tx, keys: tx.keys, man: tx.man, now: tx.now, due: &dueIndex{}}
		for i, s := range secrets {
			if err := fresh.noteDue(keys[i], s); err != nil {
				return err
			}
		}
		if !reflect.DeepEqual(normalDue(stored), normalDue(fresh.due)) {
			t.Errorf("due index out of step:\nstored %+v\nfrom records %+v", stored.entries.all(), fresh.due.entries.all())
		}
		sum, err := tx.dueSummary()
		if err != nil {
			return err
		}
		want, err := tx.summarize()
		if err != nil {
			return err
		}
		if !bytes.Equal(sum.marshal(), want.marshal()) {
			t.Errorf("due summary out of step:\nstored %+v\nfrom the index %+v", sum, want)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("consistency check: %v", err)
	}
}

// normalDue drops the difference between an empty and a nil reader set.
func normalDue(d *dueIndex) []dueEntry {
	all := d.entries.all()
	out := make([]dueEntry, len(all))
	for i, e := range all {
		if len(e.readers) == 0 {
			e.readers = nil
		}
		out[i] = e
	}
	return out
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
