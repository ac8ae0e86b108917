package vault

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"math"
	"os"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestSharedFileStaysCompact: a shared file that carries far more than its
// data (free pages, half-empty pages: changes in place leave both) is
// written afresh by the next change that would otherwise update it in
// place; the same changes with the rule turned off leave it bloated, so
// the check can fail. This machine's count of the data it holds stays
// exact through adds, new versions and purges.
func TestSharedFileStaysCompact(t *testing.T) {
	const slack = 12 * pageSize // a fresh small file is mostly its fixed pages
	old := bloatSlack
	t.Cleanup(func() { bloatSlack = old })
	for _, rule := range []bool{false, true} {
		bloatSlack = slack
		if !rule {
			bloatSlack = math.MaxUint64 / 2
		}
		size, data := compactScenario(t)
		if got := size > int64(data+data/5+slack); got == rule {
			t.Fatalf("rule on: %v; the file ends at %d bytes for %d of data", rule, size, data)
		}
	}
}

// compactScenario adds 200 secrets, purges one, bloats the shared file with pages that
// hold nothing (as another machine's changes in place might), then has
// alice make changes; it returns the file's size and data at the end.
func compactScenario(t *testing.T) (int64, uint64) {
	g := newGroup(t, Classic, "alice", "bob")
	v := g.as("alice")
	value := func(i, n int) Value { return NewValue(bytes.Repeat([]byte{byte('a' + (i+n)%26)}, 2000)) }
	name := func(i int) string { return fmt.Sprintf("s%03d", i) }
	var entries []Entry
	for i := range 200 {
		entries = append(entries, Entry{NewSecret{Name: name(i), Share: []string{"bob"}}, value(i, 0)})
	}
	if err := v.AddMany(entries); err != nil {
		t.Fatal(err)
	}
	var size int64
	var data uint64
	measure := func(what string) {
		t.Helper()
		info, err := os.Stat(g.path)
		if err != nil {
			t.Fatal(err)
		}
		var walked uint64
		if err := v.rep.View(func(tx *bolt.Tx) error {
			data = dataSize(tx)
			for _, b := range []string{bOps, bBlobs, bGrants} {
				_ = tx.Bucket([]byte(b)).ForEach(func(k, v []byte) error {
					walked += uint64(len(k) + len(v))
					return nil
				})
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if data != walked {
			t.Fatalf("%s: the replica counts %d bytes of data, holds %d", what, data, walked)
		}
		size = info.Size()
	}
	measure("after adding")
	if err := v.Remove(name(9)); err != nil {
		t.Fatal(err)
	}
	if err := v.Purge(name(9)); err != nil {
		t.Fatal(err)
	}
	measure("after a purge")
	v.Close()

	// Another program grows the file and frees what it grew by.
	db, err := bolt.Open(g.path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	junk := func(del bool) {
		if err := db.Update(func(tx *bolt.Tx) error {
			b := tx.Bucket([]byte(bBlobs))
			for i := range 1000 {
				k := []byte(fmt.Sprintf("junk-%04d", i))
				if del {
					if err := b.Delete(k); err != nil {
						return err
					}
					continue
				}
				val := make([]byte, 3000)
				rand.Read(val)
				if err := b.Put(k, val); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	junk(false)
	junk(true)
	db.Close()
	info, _ := os.Stat(g.path)
	if info.Size() < int64(2*data) {
		t.Fatalf("the file is not bloated: %d bytes for %d of data", info.Size(), data)
	}

	v = g.as("alice")
	for i := range 3 {
		if _, err := v.Set(name(i), value(i, 1)); err != nil {
			t.Fatal(err)
		}
		measure("after a new value of " + name(i))
	}
	// What bob reads is all there.
	g.do("bob", func(v *Vault) {
		for i := range 200 {
			if i == 9 {
				continue
			}
			want := value(i, 0)
			if i < 3 {
				want = value(i, 1)
			}
			if got := reveal(t, v, name(i)); got != string(want.Bytes()) {
				t.Fatalf("%s: wrong value", name(i))
			}
		}
	})
	return size, data
}
