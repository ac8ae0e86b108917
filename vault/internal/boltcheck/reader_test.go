package boltcheck

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

var filesFlag = flag.Int("boltcheck.files", 0, "number of files for TestReaderAgreesWithBolt (0: default)")

// entry is a key of a bucket and its value, or the entries of the bucket
// it names, as bbolt or a Reader reads them.
type entry struct {
	k, v   []byte
	bucket bool
	sub    []entry
}

// boltEntries reads every key of c's bucket, and of the buckets below it.
func boltEntries(c *bolt.Cursor) []entry {
	var out []entry
	for k, v := c.First(); k != nil; k, v = c.Next() {
		e := entry{k: bytes.Clone(k), v: bytes.Clone(v)}
		if v == nil {
			if b := c.Bucket().Bucket(k); b != nil {
				e.bucket, e.sub = true, boltEntries(b.Cursor())
			}
		}
		out = append(out, e)
	}
	return out
}

// readerEntries reads every key of the bucket b (the top level if nil) and
// of the buckets below it.
func readerEntries(r *Reader, b *Bucket) ([]entry, error) {
	open, c := r.Bucket, r.Cursor()
	if b != nil {
		open, c = b.Bucket, b.Cursor()
	}
	var out []entry
	k, v, err := c.First()
	for ; err == nil && k != nil; k, v, err = c.Next() {
		e := entry{k: k, v: v}
		if v == nil {
			sub, err := open(k)
			if err != nil {
				return nil, err
			}
			if sub != nil {
				if e.sub, err = readerEntries(r, sub); err != nil {
					return nil, err
				}
				e.bucket = true
			}
		}
		out = append(out, e)
	}
	return out, err
}

// sameValue compares values as bbolt returns them: nil (absent, or a
// bucket) differs from empty.
func sameValue(a, b []byte) bool { return (a == nil) == (b == nil) && bytes.Equal(a, b) }

// diffEntries describes the first difference between two readings, or
// returns "".
func diffEntries(got, want []entry, path string) string {
	for i := range max(len(got), len(want)) {
		switch {
		case i >= len(got):
			return fmt.Sprintf("%s: missing key %q", path, want[i].k)
		case i >= len(want):
			return fmt.Sprintf("%s: extra key %q", path, got[i].k)
		case !bytes.Equal(got[i].k, want[i].k):
			return fmt.Sprintf("%s: key %d is %q, want %q", path, i, got[i].k, want[i].k)
		case got[i].bucket != want[i].bucket:
			return fmt.Sprintf("%s: key %q: bucket %v, want %v", path, got[i].k, got[i].bucket, want[i].bucket)
		case !sameValue(got[i].v, want[i].v):
			return fmt.Sprintf("%s: key %q: value of %d bytes (nil %v), want %d (nil %v)", path, got[i].k, len(got[i].v), got[i].v == nil, len(want[i].v), want[i].v == nil)
		}
		if d := diffEntries(got[i].sub, want[i].sub, fmt.Sprintf("%s/%q", path, got[i].k)); d != "" {
			return d
		}
	}
	return ""
}

// probeKeys returns the keys of es, keys next to them, and the keys of
// extra: what Get and Seek are asked for.
func probeKeys(es, extra []entry) [][]byte {
	keys := [][]byte{{0}, {0xff, 0xff}, []byte("absent")}
	for _, list := range [][]entry{es, extra} {
		for _, e := range list {
			k := e.k
			keys = append(keys, k, append(bytes.Clone(k), 0))
			if len(k) > 1 {
				keys = append(keys, k[:len(k)-1])
			}
			if last := k[len(k)-1]; last < 0xff {
				up := bytes.Clone(k)
				up[len(up)-1] = last + 1
				keys = append(keys, up)
			}
		}
	}
	return keys
}

// sample returns about n of keys, spread over them, or all if n is 0.
func sample(keys [][]byte, n int) [][]byte {
	if n == 0 || len(keys) <= n {
		return keys
	}
	out := make([][]byte, 0, n+1)
	for i := 0; i < len(keys); i += len(keys) / n {
		out = append(out, keys[i])
	}
	return out
}

// find returns the entry of es, which is in key order, for key k, or nil.
func find(es []entry, k []byte) *entry {
	if i, ok := slices.BinarySearchFunc(es, k, func(e entry, k []byte) int { return bytes.Compare(e.k, k) }); ok {
		return &es[i]
	}
	return nil
}

// agree fails tb unless r reads what bbolt's tx reads: the same buckets,
// keys and values in the same order, and the same answer to Bucket, Get
// and Seek for every key, keys next to them, and the keys of extra (an
// earlier reading, such as of the file before it was damaged); or for
// about n of those per bucket, if n is not 0.
func agree(tb testing.TB, r *Reader, tx *bolt.Tx, extra []entry, n int) {
	tb.Helper()
	want := boltEntries(tx.Cursor())
	got, err := readerEntries(r, nil)
	if err != nil {
		tb.Fatalf("Reader: %v", err)
	}
	if d := diffEntries(got, want, ""); d != "" {
		tb.Fatalf("Reader differs from bbolt: %s", d)
	}
	for _, name := range sample(probeKeys(want, extra), n) {
		rb, err := r.Bucket(name)
		if err != nil {
			tb.Fatalf("Reader.Bucket(%q): %v", name, err)
		}
		bb := tx.Bucket(name)
		if (rb == nil) != (bb == nil) {
			tb.Fatalf("Reader.Bucket(%q) is nil %v, bbolt's is nil %v", name, rb == nil, bb == nil)
		}
		if rb != nil {
			var sub []entry
			if e := find(extra, name); e != nil {
				sub = e.sub
			}
			agreeBucket(tb, rb, bb, find(want, name).sub, sub, n, fmt.Sprintf("%q", name))
		}
	}
	compareSeeks(tb, r.Cursor(), tx.Cursor(), sample(probeKeys(want, extra), n), "top level")
}

func agreeBucket(tb testing.TB, rb *Bucket, bb *bolt.Bucket, want, extra []entry, n int, path string) {
	tb.Helper()
	keys := sample(probeKeys(want, extra), n)
	for i, k := range keys {
		got, err := rb.Get(k)
		if err != nil {
			tb.Fatalf("%s: Get(%q): %v", path, k, err)
		}
		if w := bb.Get(k); !sameValue(got, w) {
			tb.Fatalf("%s: Get(%q) = %d bytes (nil %v), bbolt %d bytes (nil %v)", path, k, len(got), got == nil, len(w), w == nil)
		}
		if e := find(want, k); i%8 != 0 && (e == nil || !e.bucket) {
			// Bucket takes the path Get takes; ask it for some keys.
			continue
		}
		sub, err := rb.Bucket(k)
		if err != nil {
			tb.Fatalf("%s: Bucket(%q): %v", path, k, err)
		}
		if bsub := bb.Bucket(k); (sub == nil) != (bsub == nil) {
			tb.Fatalf("%s: Bucket(%q) is nil %v, bbolt's is nil %v", path, k, sub == nil, bsub == nil)
		} else if sub != nil {
			var ex []entry
			if e := find(extra, k); e != nil {
				ex = e.sub
			}
			agreeBucket(tb, sub, bsub, find(want, k).sub, ex, n, path+fmt.Sprintf("/%q", k))
		}
	}
	compareSeeks(tb, rb.Cursor(), bb.Cursor(), keys, path)
}

// compareSeeks seeks to some of keys with both cursors and takes a few
// steps from there.
func compareSeeks(tb testing.TB, rc *Cursor, bc *bolt.Cursor, keys [][]byte, path string) {
	tb.Helper()
	for i := 0; i < len(keys); i += 1 + len(keys)/20 {
		gk, gv, err := rc.Seek(keys[i])
		wk, wv := bc.Seek(keys[i])
		for step := 0; ; step++ {
			if err != nil {
				tb.Fatalf("%s: Seek(%q), step %d: %v", path, keys[i], step, err)
			}
			if !bytes.Equal(gk, wk) || (gk == nil) != (wk == nil) || !sameValue(gv, wv) {
				tb.Fatalf("%s: Seek(%q), step %d: key %q, bbolt %q", path, keys[i], step, gk, wk)
			}
			if gk == nil || step == 3 {
				break
			}
			gk, gv, err = rc.Next()
			wk, wv = bc.Next()
		}
	}
}

// gen makes random changes to a bbolt file: keys of 1 byte to two pages,
// values of 0 bytes to several pages, puts and overwrites, runs of deletes
// that free pages for later reuse, top-level and nested buckets, small
// ones stored inline, and deleted buckets.
type gen struct {
	rng *rand.Rand
	psz int
}

func (g *gen) key() []byte {
	n := 1 + g.rng.IntN(40)
	switch r := g.rng.IntN(20); {
	case r == 0 && g.rng.IntN(max(1, g.psz/1024)) == 0:
		// Long keys are rare with large pages, or the files get large.
		n = 1 + g.rng.IntN(min(2*g.psz, bolt.MaxKeySize))
	case r < 4:
		n = 1 + g.rng.IntN(3)
	}
	k := make([]byte, n)
	for i := range k {
		k[i] = "abcxyz\x00\xff"[g.rng.IntN(8)]
	}
	return k
}

func (g *gen) value() []byte {
	n := 1 + g.rng.IntN(32)
	switch r := g.rng.IntN(64); {
	case r == 0:
		n = 0
	case r == 1 && g.rng.IntN(max(1, g.psz/2048)) == 0:
		n = g.psz + g.rng.IntN(3*g.psz) // overflow pages
	case r < 8:
		n = 1 + g.rng.IntN(min(g.psz, 1024))
	}
	v := make([]byte, n)
	for i := range v {
		v[i] = byte(g.rng.Uint32())
	}
	return v
}

func (g *gen) name() []byte { return fmt.Appendf(nil, "bucket-%d", g.rng.IntN(8)) }

// anyBucket returns a random top-level bucket, or one nested in it.
func (g *gen) anyBucket(tx *bolt.Tx) *bolt.Bucket {
	var names [][]byte
	_ = tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
		names = append(names, bytes.Clone(name))
		return nil
	})
	if len(names) == 0 {
		return nil
	}
	b := tx.Bucket(names[g.rng.IntN(len(names))])
	if g.rng.IntN(3) == 0 {
		var subs [][]byte
		_ = b.ForEachBucket(func(k []byte) error {
			subs = append(subs, bytes.Clone(k))
			return nil
		})
		if len(subs) > 0 {
			return b.Bucket(subs[g.rng.IntN(len(subs))])
		}
	}
	return b
}

func (g *gen) tx(tx *bolt.Tx) error {
	for range 1 + g.rng.IntN(12) {
		b := g.anyBucket(tx)
		switch op := g.rng.IntN(20); {
		case b == nil || op == 0:
			if _, err := tx.CreateBucketIfNotExists(g.name()); err != nil {
				return err
			}
		case op == 1:
			if _, err := b.CreateBucketIfNotExists(g.name()); err != nil && !errors.Is(err, berrors.ErrIncompatibleValue) {
				return err
			}
		case op == 2 && g.rng.IntN(3) == 0:
			if err := tx.DeleteBucket(g.name()); err != nil && !errors.Is(err, berrors.ErrBucketNotFound) {
				return err
			}
		case op < 8:
			// Delete a run of keys, often many.
			c := b.Cursor()
			k, v := c.Seek(g.key())
			for range g.rng.IntN(min(4*g.psz/64, 1000)) {
				if k == nil {
					break
				}
				if v != nil {
					if err := c.Delete(); err != nil {
						return err
					}
				}
				k, v = c.Next()
			}
		default:
			// Enough puts to make several levels of pages.
			for range 1 + g.rng.IntN(min(3*g.psz/64, 800)) {
				if err := b.Put(g.key(), g.value()); err != nil && !errors.Is(err, berrors.ErrIncompatibleValue) {
					return err
				}
			}
		}
	}
	return nil
}

var pageSizes = []int{512, 1024, 2048, 4096, 8192, 16384, 65536}

// TestReaderAgreesWithBolt writes random files with bbolt and compares
// what the Reader reads with what bbolt reads, after every transaction;
// then damages the newer meta page and expects both to read the state
// before the last transaction.
func TestReaderAgreesWithBolt(t *testing.T) {
	seed := *seedFlag
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (reproduce with -boltcheck.seed=%d)", seed, seed)
	// Get and Seek every key of the last state, about 200 of each bucket
	// before; fewer in short runs.
	files, txs, last, before := 21, 8, 0, 200
	if raceEnabled || testing.Short() {
		files, last, before = 7, 300, 50
	}
	if *filesFlag > 0 {
		files = *filesFlag
	}
	var keys, branches, inline, overflow int
	for i := range files {
		psz := pageSizes[i%len(pageSizes)]
		t.Run(fmt.Sprintf("%d-%d", i, psz), func(t *testing.T) {
			g := gen{rng: rand.New(rand.NewPCG(seed, uint64(i))), psz: psz}
			path := filepath.Join(t.TempDir(), "db")
			db, err := bolt.Open(path, 0o600, &bolt.Options{PageSize: psz, NoSync: true, NoGrowSync: true, NoFreelistSync: i%5 == 4})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var prev []entry
			var data []byte
			for n := range txs {
				if n == txs-1 {
					_ = db.View(func(tx *bolt.Tx) error { prev = boltEntries(tx.Cursor()); return nil })
				}
				if err := db.Update(g.tx); err != nil {
					t.Fatalf("tx %d: %v", n, err)
				}
				if data, err = os.ReadFile(path); err != nil {
					t.Fatal(err)
				}
				if len(data) < firstMetaRead {
					// Nor can bbolt open a file of small pages shorter than
					// the 4 KiB it reads first.
					if _, err := NewReader(data); !errors.Is(err, ErrTruncated) {
						t.Fatalf("tx %d: a %d-byte file: NewReader = %v, want %v", n, len(data), err, ErrTruncated)
					}
					continue
				}
				// Check refuses a file without a freelist (bbolt would
				// rebuild it on a read-write open); the Reader reads it.
				if err := Check(data); err != nil && (i%5 != 4 || !errors.Is(err, errNoFreelist)) {
					t.Fatalf("tx %d: Check: %v", n, err)
				}
				r, err := NewReader(data)
				if err != nil {
					t.Fatalf("tx %d: NewReader: %v", n, err)
				}
				if err := db.View(func(tx *bolt.Tx) error {
					if h := r.Head(); h.TxID != uint64(tx.ID()) {
						t.Fatalf("tx %d: Reader reads transaction %d, bbolt %d", n, h.TxID, tx.ID())
					}
					probes := last
					if n < txs-1 {
						probes = before
					}
					agree(t, r, tx, prev, probes)
					return nil
				}); err != nil {
					t.Fatal(err)
				}
			}
			k, b, in, o := shape(t, data)
			keys, branches, inline, overflow = keys+k, branches+b, inline+in, overflow+o
			t.Logf("%d bytes: %d keys, %d branch pages, %d inline buckets, %d overflowing pages", len(data), k, b, in, o)

			if len(data) < firstMetaRead {
				return
			}
			// With the newer meta page damaged, bbolt falls back to the
			// older one, and so must the Reader: it reads the state
			// before the last transaction.
			f := parse(t, bytes.Clone(data))
			newer := uint64(0)
			if f.u64(f.metaOff(1)+metaTxid) > f.u64(f.metaOff(0)+metaTxid) {
				newer = 1
			}
			f.data[f.metaOff(newer)+metaChecksum] ^= 1
			r, err := NewReader(f.data)
			if err != nil {
				t.Fatalf("older meta: %v", err)
			}
			got, err := readerEntries(r, nil)
			if err != nil {
				t.Fatalf("older meta: %v", err)
			}
			if d := diffEntries(got, prev, ""); d != "" {
				t.Fatalf("older meta: Reader differs from the state before the last transaction: %s", d)
			}
		})
	}
	t.Logf("%d files of %d transactions: %d keys, %d branch pages, %d inline buckets, %d overflowing pages in the last states", files, txs, keys, branches, inline, overflow)
}

// shape counts what a file holds, to show what the random files cover.
func shape(tb testing.TB, data []byte) (keys, branches, inline, overflow int) {
	f := parse(tb, data)
	for _, p := range f.pages() {
		switch f.flags(p.id) {
		case branchPageFlag:
			branches++
		case leafPageFlag:
			keys += f.count(p.id)
		}
		if f.u32(f.base(p.id)+hdrOverflow) > 0 {
			overflow++
		}
	}
	for _, b := range f.buckets() {
		if b.inline {
			inline++
			keys += int(f.u16(b.value + bucketHeaderSize + hdrCount))
		}
	}
	return keys, branches, inline, overflow
}

// TestReaderFixtures compares the Reader with bbolt on the fixtures and on
// every page size.
func TestReaderFixtures(t *testing.T) {
	fixtures := map[string]func(testing.TB) []byte{
		"empty": fixtureEmpty, "nested": fixtureNested, "inline": fixtureInline,
		"overflow": fixtureOverflow, "multi": fixtureMulti, "bench": fixtureBench,
	}
	for _, ps := range pageSizes {
		fixtures[fmt.Sprint("pagesize-", ps)] = func(tb testing.TB) []byte {
			return build(tb, &bolt.Options{PageSize: ps}, func(tx *bolt.Tx) error {
				b, err := tx.CreateBucket([]byte("b"))
				if err != nil {
					return err
				}
				if err := putKeys(b, 400, "key-%05d", 100); err != nil {
					return err
				}
				return putKeys(b, 3, "big-%d", 3*ps)
			})
		}
	}
	for name, fix := range fixtures {
		t.Run(name, func(t *testing.T) {
			data := fix(t)
			r, err := NewReader(data)
			if err != nil {
				t.Fatal(err)
			}
			withBolt(t, data, func(tx *bolt.Tx) { agree(t, r, tx, nil, 0) })
		})
	}
}

// withBolt opens data with bbolt, read-only, and runs fn in a read
// transaction. It is for files Check accepts.
func withBolt(tb testing.TB, data []byte, fn func(tx *bolt.Tx)) {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "db")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		tb.Fatal(err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	_ = db.View(func(tx *bolt.Tx) error { fn(tx); return nil })
}

// readAll reads with r everything a caller could ask for: every bucket,
// key and value, and Get and Seek of the keys of want (what the file held
// before it was damaged) in the buckets of the same names. It returns the
// errors it met; each must wrap a sentinel, and none errInternal.
func readAll(tb testing.TB, data []byte, want []entry) []error {
	tb.Helper()
	var errs []error
	note := func(err error) {
		if err == nil {
			return
		}
		if errors.Is(err, errInternal) {
			tb.Fatalf("Reader hit an internal error: %v", err)
		}
		if !errors.Is(err, ErrNotBolt) && !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrCorrupt) {
			tb.Fatalf("error wraps no sentinel: %v", err)
		}
		errs = append(errs, err)
	}
	r, err := NewReader(data)
	if note(err); err != nil {
		return errs
	}
	_, err = readerEntries(r, nil)
	note(err)
	var probe func(open func([]byte) (*Bucket, error), es []entry)
	probe = func(open func([]byte) (*Bucket, error), es []entry) {
		for _, e := range es {
			b, err := open(e.k)
			if note(err); b == nil {
				continue
			}
			c := b.Cursor()
			for _, k := range sample(probeKeys(e.sub, nil), 100) {
				_, err := b.Get(k)
				note(err)
				_, _, err = c.Seek(k)
				note(err)
				_, _, err = c.Next()
				note(err)
			}
			probe(b.Bucket, e.sub)
		}
	}
	probe(r.Bucket, want)
	return errs
}

func TestReaderCorruptions(t *testing.T) {
	base := fixtureMulti(t)
	var want []entry
	withBolt(t, base, func(tx *bolt.Tx) { want = boltEntries(tx.Cursor()) })
	for _, tc := range corruptions() {
		t.Run(tc.name, func(t *testing.T) {
			data := bytes.Clone(base)
			tc.edit(parse(t, data))
			errs := readAll(t, data, want)
			// The freelist lies on no page the Reader visits, and an
			// overflow run that covers the rest of the file only meets
			// pages of other trees, which one walk does not compare.
			if len(errs) == 0 && !strings.HasPrefix(tc.name, "freelist") && tc.name != "overflow into the next page" {
				t.Fatal("Reader read the damaged file without an error")
			}
			for _, err := range errs {
				if msg := err.Error(); strings.Contains(msg, "aaaa") || strings.Contains(msg, "key-") || strings.Contains(msg, "inline-") {
					t.Fatalf("message contains data: %q", msg)
				}
			}
			if len(errs) > 0 {
				t.Log(errs[0])
			}
		})
	}
}

// bucketKey returns the key of the bucket element of b.
func (f *dbFile) bucketKey(b bucketElem) []byte {
	return f.data[b.off+uint64(f.u32(b.off+4)) : b.off+uint64(f.u32(b.off+4))+uint64(f.u32(b.off+8))]
}

// branchKey returns the key of element i of the branch page id.
func (f *dbFile) branchKey(id uint64, i int) []byte {
	e := elemOff(f.base(id), i)
	return bytes.Clone(f.data[e+uint64(f.u32(e)) : e+uint64(f.u32(e))+uint64(f.u32(e+4))])
}

// TestReaderCycles crafts pages reached twice: a branch page that is its
// own child, a branch page whose child is an ancestor, and a leaf whose
// overflow run covers another leaf of the same tree.
func TestReaderCycles(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(f *dbFile) []byte // returns a key whose lookup meets the damage, or nil
		msg  string                 // in the error of ForEach, if not ""
	}{
		{"own child, only element", func(f *dbFile) []byte {
			// The keys stay in order and in range: only the path check
			// stops the lookup.
			p := f.branch()
			f.set16(f.base(p.id)+hdrCount, 1)
			f.set64(elemOff(f.base(p.id), 0)+8, p.id)
			return f.branchKey(p.id, 0)
		}, "reached more than once"},
		{"own child", func(f *dbFile) []byte {
			p := f.branch()
			f.set64(elemOff(f.base(p.id), 0)+8, p.id)
			return f.branchKey(p.id, 0)
		}, ""},
		{"ancestor as child", func(f *dbFile) []byte {
			p := f.deepBranch()
			f.set64(elemOff(f.base(p.id), 1)+8, p.ancestors[len(p.ancestors)-1])
			return f.branchKey(p.id, 1)
		}, ""},
		{"root as child", func(f *dbFile) []byte {
			p := f.deepBranch()
			f.set64(elemOff(f.base(p.id), 0)+8, f.root)
			return f.branchKey(p.id, 0)
		}, ""},
		{"overflow over a sibling", func(f *dbFile) []byte {
			// Two leaves of one bucket, the later id next to be reached
			// by an overflow run of the earlier.
			p := f.deepBranch()
			a, b := f.u64(elemOff(f.base(p.id), 0)+8), f.u64(elemOff(f.base(p.id), 1)+8)
			lo, hi := min(a, b), max(a, b)
			f.set32(f.base(lo)+hdrOverflow, int64(hi-lo))
			return nil
		}, "reached more than once"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := fixtureMulti(t)
			key := tc.edit(parse(t, data))
			r, err := NewReader(data)
			if err != nil {
				t.Fatal(err)
			}
			b, err := r.Bucket([]byte("big"))
			if err != nil || b == nil {
				t.Fatalf("Bucket = %v, %v", b, err)
			}
			err = b.ForEach(func(k, v []byte) error { return nil })
			if !errors.Is(err, ErrCorrupt) || errors.Is(err, errInternal) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("ForEach = %v, want %v with %q", err, ErrCorrupt, tc.msg)
			}
			t.Logf("ForEach: %v", err)
			if key != nil {
				if _, err := b.Get(key); !errors.Is(err, ErrCorrupt) || errors.Is(err, errInternal) {
					t.Fatalf("Get = %v, want %v", err, ErrCorrupt)
				}
				t.Logf("Get: %v", err)
				if _, _, err := b.Cursor().Seek(key); !errors.Is(err, ErrCorrupt) {
					t.Fatalf("Seek = %v, want %v", err, ErrCorrupt)
				}
			}
		})
	}
}

// TestReaderInlineOverflow crafts inline buckets whose page runs past the
// value that holds it.
func TestReaderInlineOverflow(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(f *dbFile, b bucketElem)
	}{
		{"elements past value", func(f *dbFile, b bucketElem) {
			f.set16(b.value+bucketHeaderSize+hdrCount, int(b.vsize/elemSize))
		}},
		{"count maximal", func(f *dbFile, b bucketElem) {
			f.set16(b.value+bucketHeaderSize+hdrCount, 0xFFFF)
		}},
		{"last value past value", func(f *dbFile, b bucketElem) {
			ip := b.value + bucketHeaderSize
			e := elemOff(ip, int(f.u16(ip+hdrCount))-1)
			f.set32(e+12, int64(f.u32(e+12))+1)
		}},
		{"key past value", func(f *dbFile, b bucketElem) {
			f.set32(elemOff(b.value+bucketHeaderSize, 0)+4, int64(b.vsize))
		}},
		{"value shorter than page header", func(f *dbFile, b bucketElem) {
			f.set32(b.off+12, bucketHeaderSize+8)
		}},
		{"page is a branch", func(f *dbFile, b bucketElem) {
			f.set16(b.value+bucketHeaderSize+hdrFlags, branchPageFlag)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := fixtureMulti(t)
			f := parse(t, data)
			be := f.bucket(true, 2)
			name := bytes.Clone(f.bucketKey(be))
			tc.edit(f, be)
			r, err := NewReader(data)
			if err != nil {
				t.Fatal(err)
			}
			b, err := r.Bucket(name)
			if err == nil {
				if b == nil {
					t.Fatal("bucket gone")
				}
				_, err = b.Get([]byte("k1"))
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("Get = %v, want %v", err, ErrCorrupt)
				}
				err = b.ForEach(func(k, v []byte) error { return nil })
			}
			if !errors.Is(err, ErrCorrupt) || errors.Is(err, errInternal) {
				t.Fatalf("err = %v, want %v", err, ErrCorrupt)
			}
			t.Log(err)
		})
	}
}

// TestReaderVisitsOnlyItsPath reads a key from a copy of a file in which
// every page but the meta pages and the path to the key is overwritten.
func TestReaderVisitsOnlyItsPath(t *testing.T) {
	data := fixtureBench(t)
	r, err := NewReader(data)
	if err != nil {
		t.Fatal(err)
	}
	psz := r.psz
	keep := map[uint64]bool{0: true, 1: true}
	path := func(b *Bucket, key []byte) {
		c := Cursor{b: b}
		if _, _, _, err := c.lookup(key); err != nil {
			t.Fatal(err)
		}
		for _, f := range c.stack {
			if !f.p.inline {
				for id := f.p.id; id < f.p.end/psz; id++ {
					keep[id] = true
				}
			}
		}
	}
	name, key := []byte("values"), fmt.Appendf(nil, "value-%032d", 777)
	path(r.top(), name)
	b, err := r.Bucket(name)
	if err != nil {
		t.Fatal(err)
	}
	path(b, key)
	want, err := b.Get(key)
	if err != nil || want == nil {
		t.Fatalf("Get = %v, %v", want, err)
	}

	hwm := uint64(len(data)) / psz
	damaged := bytes.Clone(data)
	for id := uint64(2); id < hwm; id++ {
		if !keep[id] {
			for i := id * psz; i < (id+1)*psz; i++ {
				damaged[i] = 0xA5
			}
		}
	}
	if Check(damaged) == nil {
		t.Fatal("Check accepts the damaged file")
	}
	r, err = NewReader(damaged)
	if err != nil {
		t.Fatal(err)
	}
	if b, err = r.Bucket(name); err != nil {
		t.Fatal(err)
	}
	got, err := b.Get(key)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("Get on the damaged file = %d bytes, %v", len(got), err)
	}
	t.Logf("read a %d-byte value visiting %d of %d pages", len(got), len(keep)-2, hwm-2)
}

func TestReaderTruncation(t *testing.T) {
	data := fixtureMulti(t)
	f := parse(t, data)
	need := int(f.hwm * f.psz)
	lengths := []int{need - 1, need, len(data)}
	for l := 0; l < len(data); l += 1 + l/7 {
		lengths = append(lengths, l)
	}
	for _, l := range lengths {
		r, err := NewReader(data[:l])
		switch {
		case l < need && !errors.Is(err, ErrTruncated):
			t.Fatalf("NewReader(data[:%d]) = %v, want %v", l, err, ErrTruncated)
		case l >= need && err != nil:
			t.Fatalf("NewReader(data[:%d]) = %v", l, err)
		case err == nil:
			if _, err := readerEntries(r, nil); err != nil {
				t.Fatalf("data[:%d]: %v", l, err)
			}
		}
	}
}

func TestReaderNotBolt(t *testing.T) {
	for name, data := range map[string][]byte{
		"text":  []byte(strings.Repeat("hello, world\n", 1000)),
		"zeros": make([]byte, 65536),
		"age":   []byte("age-encryption.org/v1\n-> X25519 abc\n--- def\n"),
	} {
		if _, err := NewReader(data); !errors.Is(err, ErrNotBolt) {
			t.Errorf("%s: NewReader = %v, want %v", name, err, ErrNotBolt)
		}
	}
	if _, err := NewReader(nil); !errors.Is(err, ErrTruncated) {
		t.Errorf("nil: NewReader = %v, want %v", err, ErrTruncated)
	}
}

// TestReaderDepthLimit opens buckets nested as deep as Check allows, and
// deeper.
func TestReaderDepthLimit(t *testing.T) {
	nest := func(depth int) error {
		data := build(t, nil, func(tx *bolt.Tx) error {
			b, err := tx.CreateBucket([]byte("b"))
			for range depth - 1 {
				if err != nil {
					return err
				}
				if err = b.Put([]byte("a"), []byte("value")); err == nil {
					b, err = b.CreateBucket([]byte("b"))
				}
			}
			return err
		})
		r, err := NewReader(data)
		if err != nil {
			return err
		}
		b, err := r.Bucket([]byte("b"))
		for range depth - 1 {
			if err != nil {
				return err
			}
			if _, err = b.Get([]byte("a")); err == nil {
				b, err = b.Bucket([]byte("b"))
			}
		}
		if err != nil {
			return err
		}
		return b.ForEach(func(k, v []byte) error { return nil })
	}
	if err := nest(20); err != nil {
		t.Fatalf("20 nested buckets: %v", err)
	}
	if err := nest(100); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("100 nested buckets: %v, want %v", err, ErrCorrupt)
	}
}

// TestReaderRandomCorruption damages real files at random, as
// TestRandomCorruption does. The Reader must never panic and must wrap a
// sentinel in every error; whenever Check accepts the damaged file, it
// must read exactly what bbolt reads.
func TestReaderRandomCorruption(t *testing.T) {
	seed := *seedFlag
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (reproduce with -boltcheck.seed=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0x72656164))
	cases := 800
	if raceEnabled || testing.Short() {
		cases = 300
	}
	if *casesFlag > 0 {
		cases = *casesFlag
	}
	bases := [][]byte{fixtureMulti(t), randomFile(t, 512, 7), randomFile(t, 4096, 8)}
	wants := make([][]entry, len(bases))
	for i, base := range bases {
		withBolt(t, base, func(tx *bolt.Tx) { wants[i] = boltEntries(tx.Cursor()) })
	}
	var accepted, readClean, compared int
	for i := range cases {
		base, want := bases[i%len(bases)], wants[i%len(bases)]
		data := damage(rng, parse(t, bytes.Clone(base)))
		errs := readAll(t, data, want)
		if len(errs) == 0 {
			readClean++
		}
		if Check(data) != nil {
			continue
		}
		accepted++
		if len(errs) != 0 {
			t.Fatalf("case %d: Check accepts the file, the Reader fails: %v", i, errs[0])
		}
		r, err := NewReader(data)
		if err != nil {
			t.Fatal(err)
		}
		if viewGuarded(t, data, func(tx *bolt.Tx) { agree(t, r, tx, want, 100) }) {
			compared++
		}
	}
	t.Logf("%d cases: %d read without error, %d accepted by Check, %d of them compared with bbolt", cases, readClean, accepted, compared)
}

// randomFile writes a random file with bbolt.
func randomFile(tb testing.TB, psz int, seed uint64) []byte {
	g := gen{rng: rand.New(rand.NewPCG(seed, 1)), psz: psz}
	var txs []func(*bolt.Tx) error
	for range 6 {
		txs = append(txs, g.tx)
	}
	return build(tb, &bolt.Options{PageSize: psz}, txs...)
}

// damage changes f's data at random, as TestRandomCorruption does, and
// returns it.
func damage(rng *rand.Rand, f *dbFile) []byte {
	data := f.data
	var hot []uint64
	for i := range uint64(2) {
		for o := f.metaOff(i) - pageHeaderSize; o < f.metaOff(i)+metaSize; o++ {
			hot = append(hot, o)
		}
	}
	for _, p := range f.pages() {
		for o := f.base(p.id); o < f.base(p.id)+pageHeaderSize+uint64(f.count(p.id))*elemSize; o++ {
			hot = append(hot, o)
		}
	}
	for _, b := range f.buckets() {
		for o := b.value; o < b.value+min(b.vsize, 64); o++ {
			hot = append(hot, o)
		}
	}
	switch rng.IntN(5) {
	case 0:
		for range 1 + rng.IntN(4) {
			data[rng.IntN(len(data))] = byte(rng.Uint32())
		}
	case 1:
		for range 1 + rng.IntN(3) {
			data[hot[rng.IntN(len(hot))]] ^= 1 << rng.IntN(8)
		}
	case 2:
		o := hot[rng.IntN(len(hot))] &^ 3
		v := []uint64{0, 1, 2, f.root, f.hwm - 1, f.hwm, uint64(rng.IntN(int(f.hwm))), 0xFFFF, 0xFFFFFFFF, rng.Uint64()}[rng.IntN(10)]
		if rng.IntN(2) == 0 && o+8 <= uint64(len(data)) {
			ne.PutUint64(data[o:], v)
		} else {
			ne.PutUint32(data[o:], uint32(v))
		}
	case 3:
		data = data[:rng.IntN(len(data)+1)]
	case 4:
		// A key byte: Check cannot see most of these.
		p := f.pages()[rng.IntN(len(f.pages()))]
		if n := f.count(p.id); n > 0 {
			e := elemOff(f.base(p.id), rng.IntN(n))
			pos, ksize := f.u32(e+4), f.u32(e+8)
			if f.flags(p.id) == branchPageFlag {
				pos, ksize = f.u32(e), f.u32(e+4)
			}
			if ksize > 0 && ksize < 1<<16 && e+uint64(pos)+uint64(ksize) <= uint64(len(data)) {
				data[e+uint64(pos)+uint64(rng.IntN(int(ksize)))] ^= 1 << rng.IntN(8)
			}
		}
	}
	return data
}

// viewGuarded runs fn in a read transaction of bbolt on data, recovering
// from a panic or fault in bbolt itself. It reports whether fn ran to its
// end.
func viewGuarded(tb testing.TB, data []byte, fn func(tx *bolt.Tx)) (ok bool) {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "db")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		tb.Fatal(err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		tb.Logf("bbolt cannot open a file Check accepts: %v", err)
		return false
	}
	defer db.Close()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	done := false
	func() {
		defer func() {
			if p := recover(); p != nil {
				tb.Logf("bbolt panicked (recovered) on a file Check accepts: %v", p)
			}
		}()
		_ = db.View(func(tx *bolt.Tx) error { fn(tx); done = true; return nil })
	}()
	return done
}
