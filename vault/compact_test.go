package vault

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"os"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestSharedFileStaysCompact: a shared file that carries far more than its
// data (free pages, part-empty pages: changes in place leave both) is
// written afresh by the next change that would otherwise update it in
// place; the same changes with the rule turned off leave it
// bloated, so the check can fail. This machine's count of the data it
// holds stays exact through adds, new versions and purges.
func TestSharedFileStaysCompact(t *testing.T) {
	old := bloatSlack
	t.Cleanup(func() { bloatSlack = old })
	for _, rule := range []bool{false, true} {
		bloatSlack = old
		if !rule {
			bloatSlack = 1 << 40
		}
		v, size := compactScenario(t)
		// What a file written afresh now takes:
		fresh := t.TempDir() + "/fresh.db"
		if err := v.fillShared(fresh, true); err != nil {
			t.Fatal(err)
		}
		info, err := os.Stat(fresh)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("rule on: %v; the file reaches %d bytes; a fresh one takes %d; %d written anew", rule, size, info.Size(), v.freshWrites)
		switch {
		case !rule && size < 2*info.Size():
			t.Fatal("without the rule the file stays small: the scenario does not bloat it")
		case rule && size > info.Size()+max(info.Size()/40, int64(bloatSlack*sharedPageSize)):
			t.Fatal("with the rule the file is not kept compact")
		case rule && v.freshWrites == 0:
			// The bloated file, read, is the spare for the second change,
			// which writes a fresh one. (A file this small is written
			// afresh at most changes after that: see bloatSlack.)
			t.Fatal("no file written anew")
		}
	}
}

// compactScenario adds 200 secrets, purges one, bloats the shared file
// with pages that hold nothing (as another machine's changes in place
// might), then has alice make three changes; it returns alice's vault and
// the largest size of the file after the second and third.
func compactScenario(t *testing.T) (*Vault, int64) {
	g := newGroup(t, Classic, "alice", "bob")
	v := g.as("alice")
	value := func(i, n int) Value { return NewValue(bytes.Repeat([]byte{byte('a' + (i+n)%26)}, 2000)) }
	name := func(i int) string { return fmt.Sprintf("s%03d", i) }
	var entries []Entry
	for i := range 200 {
		entries = append(entries, Entry{Secret: NewSecret{Name: name(i), Share: []string{"bob"}}, Value: value(i, 0)})
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
	var largest int64
	for i := range 3 {
		if _, err := v.Set(name(i), value(i, 1)); err != nil {
			t.Fatal(err)
		}
		measure("after a new value of " + name(i))
		if i > 0 {
			// Without the rule, the bloated file comes back every other
			// change: it is the spare of one, the file its next replaces.
			largest = max(largest, size)
		}
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
	return v, largest
}

// TestBloatedEstimate: what a fresh file would take is judged from the
// data, and from the last fresh file only where it shows more overhead
// than pages' ends (values larger than a page): a tiny vault's last fresh
// file, mostly fixed pages, must not excuse a large bloated one.
func TestBloatedEstimate(t *testing.T) {
	const mb = 1 << 20
	tiny := freshRecord{Size: 12 * sharedPageSize, Data: 10_000}
	pq := freshRecord{Size: 2*20*mb + 12*sharedPageSize, Data: 20 * mb}
	for _, c := range []struct {
		size int64
		data uint64
		last freshRecord
		want bool
	}{
		{29 * mb, 28 * mb, freshRecord{}, false},                                     // fresh
		{34 * mb, 28 * mb, freshRecord{}, true},                                      // 20% over
		{34 * mb, 28 * mb, tiny, true},                                               // the bug this test is for
		{29 * mb, 28 * mb, tiny, false},                                              //
		{57 * mb, 28 * mb, pq, false},                                                // a fresh file of large values
		{64 * mb, 28 * mb, pq, true},                                                 // and one grown 12%
		{700_000, 549_227, freshRecord{}, false},                                     // a small fresh file
		{1_000_000, 549_227, freshRecord{}, true},                                    // and one grown by half
		{3_080_192, 2_670_000, freshRecord{Size: 3_014_656, Data: 2_660_000}, false}, // 1,000 secrets: a fresh file and a change
		{3_342_336, 2_672_000, freshRecord{Size: 3_014_656, Data: 2_660_000}, true},  // and one grown 11%
	} {
		if got := bloated(c.size, c.data, c.last); got != c.want {
			t.Errorf("bloated(%d, %d, %+v) = %v, want %v", c.size, c.data, c.last, got, c.want)
		}
	}
}
