package boltcheck

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// build creates a bbolt file with the given options, runs each update in
// its own read-write transaction, and returns the file's bytes.
func build(tb testing.TB, opts *bolt.Options, updates ...func(tx *bolt.Tx) error) []byte {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "db")
	o := bolt.Options{NoSync: true, NoGrowSync: true}
	if opts != nil {
		o = *opts
		o.NoSync, o.NoGrowSync = true, true
	}
	db, err := bolt.Open(path, 0o600, &o)
	if err != nil {
		tb.Fatal(err)
	}
	for _, u := range updates {
		if err := db.Update(u); err != nil {
			db.Close()
			tb.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		tb.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

func putKeys(b *bolt.Bucket, n int, key string, vsize int) error {
	for i := range n {
		v := []byte(strings.Repeat(string(rune('a'+i%26)), vsize))
		if err := b.Put([]byte(fmt.Sprintf(key, i)), v); err != nil {
			return err
		}
	}
	return nil
}

// fixtureEmpty is a freshly created database.
func fixtureEmpty(tb testing.TB) []byte { return build(tb, nil) }

// fixtureNested has buckets nested three deep, each with a few keys, and
// small (inline) sub-buckets.
func fixtureNested(tb testing.TB) []byte {
	return build(tb, nil, func(tx *bolt.Tx) error {
		a, err := tx.CreateBucket([]byte("a"))
		if err != nil {
			return err
		}
		b, err := a.CreateBucket([]byte("b"))
		if err != nil {
			return err
		}
		c, err := b.CreateBucket([]byte("c"))
		if err != nil {
			return err
		}
		for _, bk := range []*bolt.Bucket{a, b, c} {
			if err := putKeys(bk, 300, "key-%04d", 20); err != nil {
				return err
			}
		}
		for i := range 5 {
			in, err := a.CreateBucket([]byte(fmt.Sprintf("inline-%d", i)))
			if err != nil {
				return err
			}
			if err := putKeys(in, 3, "k%d", 5); err != nil {
				return err
			}
		}
		_, err = tx.CreateBucket([]byte("empty"))
		return err
	})
}

// fixtureInline has only small buckets, all stored inline in their
// parent's leaf page.
func fixtureInline(tb testing.TB) []byte {
	return build(tb, nil, func(tx *bolt.Tx) error {
		for i := range 10 {
			b, err := tx.CreateBucket([]byte(fmt.Sprintf("bucket-%d", i)))
			if err != nil {
				return err
			}
			if err := putKeys(b, i, "k%d", 10); err != nil {
				return err
			}
		}
		return nil
	})
}

// fixtureOverflow has values larger than a page.
func fixtureOverflow(tb testing.TB) []byte {
	return build(tb, nil, func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket([]byte("big"))
		if err != nil {
			return err
		}
		return putKeys(b, 10, "key-%d", 20000)
	})
}

// fixtureMulti is the main fixture for corruption tests: 1 KiB pages, a
// bucket with a three-level tree, a nested bucket with its own pages,
// inline buckets, values spanning overflow pages, and a non-empty
// freelist left by deletes. Each transaction changes one bucket, so that
// bbolt's map iteration order cannot change the layout: the file is the
// same every time, and a seed reproduces a random test.
func fixtureMulti(tb testing.TB) []byte {
	const key = "a-rather-long-key-to-lower-the-fanout-%06d"
	return build(tb, &bolt.Options{PageSize: 1024},
		func(tx *bolt.Tx) error {
			b, err := tx.CreateBucket([]byte("big"))
			if err != nil {
				return err
			}
			return putKeys(b, 500, key, 8)
		},
		func(tx *bolt.Tx) error {
			n, err := tx.Bucket([]byte("big")).CreateBucket([]byte("nested"))
			if err != nil {
				return err
			}
			return putKeys(n, 60, "nested-key-%04d", 30)
		},
		func(tx *bolt.Tx) error {
			for i := range 3 {
				in, err := tx.CreateBucket([]byte(fmt.Sprintf("inline-%d", i)))
				if err != nil {
					return err
				}
				if err := putKeys(in, 2+i, "k%d", 8); err != nil {
					return err
				}
			}
			return nil
		},
		func(tx *bolt.Tx) error {
			o, err := tx.CreateBucket([]byte("overflow"))
			if err != nil {
				return err
			}
			return putKeys(o, 3, "ov-%d", 3000)
		},
		func(tx *bolt.Tx) error {
			b := tx.Bucket([]byte("big"))
			for i := 0; i < 500; i += 7 {
				if err := b.Delete([]byte(fmt.Sprintf(key, i))); err != nil {
					return err
				}
			}
			return nil
		},
		func(tx *bolt.Tx) error {
			return tx.Bucket([]byte("overflow")).Delete([]byte("ov-1"))
		},
	)
}

// fixtureBench is about 3 MB: 1000 small records and 1000 values of 2 KB.
func fixtureBench(tb testing.TB) []byte {
	return build(tb, nil, func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucket([]byte("meta"))
		if err != nil {
			return err
		}
		if err := meta.Put([]byte("app"), []byte("vault")); err != nil {
			return err
		}
		rec, err := tx.CreateBucket([]byte("records"))
		if err != nil {
			return err
		}
		if err := putKeys(rec, 1000, "record-%032d", 60); err != nil {
			return err
		}
		val, err := tx.CreateBucket([]byte("values"))
		if err != nil {
			return err
		}
		return putKeys(val, 1000, "value-%032d", 2048)
	})
}

// dbFile parses a bbolt file independently of the checker, to find the
// bytes that corruption tests patch.
type dbFile struct {
	tb                  testing.TB
	data                []byte
	psz                 uint64
	hwm, root, freelist uint64
}

func parse(tb testing.TB, data []byte) *dbFile {
	tb.Helper()
	f := &dbFile{tb: tb, data: data, psz: uint64(ne.Uint32(data[pageHeaderSize+metaPageSize:]))}
	m := uint64(0)
	if f.metaOK(1) && (!f.metaOK(0) || f.u64(f.metaOff(1)+metaTxid) > f.u64(f.metaOff(0)+metaTxid)) {
		m = 1
	}
	if !f.metaOK(m) {
		tb.Fatal("parse: no valid meta")
	}
	o := f.metaOff(m)
	f.hwm, f.root, f.freelist = f.u64(o+metaPgid), f.u64(o+metaRoot), f.u64(o+metaFreelist)
	return f
}

func (f *dbFile) metaOff(i uint64) uint64 { return i*f.psz + pageHeaderSize }

func (f *dbFile) metaOK(i uint64) bool {
	o := f.metaOff(i)
	return f.u32(o) == magic && f.u64(o+metaChecksum) == fnv64a(f.data[o:o+metaChecksum])
}

// setMeta sets a uint64 field in both metas and fixes their checksums.
func (f *dbFile) setMeta(field, v uint64) {
	for i := range uint64(2) {
		o := f.metaOff(i)
		f.set64(o+field, v)
		f.set64(o+metaChecksum, fnv64a(f.data[o:o+metaChecksum]))
	}
}

func (f *dbFile) u16(off uint64) uint16     { return ne.Uint16(f.data[off:]) }
func (f *dbFile) u32(off uint64) uint32     { return ne.Uint32(f.data[off:]) }
func (f *dbFile) u64(off uint64) uint64     { return ne.Uint64(f.data[off:]) }
func (f *dbFile) set16(off uint64, v int)   { ne.PutUint16(f.data[off:], uint16(v)) }
func (f *dbFile) set32(off uint64, v int64) { ne.PutUint32(f.data[off:], uint32(v)) }
func (f *dbFile) set64(off, v uint64)       { ne.PutUint64(f.data[off:], v) }

func (f *dbFile) base(id uint64) uint64 { return id * f.psz }
func (f *dbFile) flags(id uint64) uint16 {
	return f.u16(f.base(id) + hdrFlags)
}
func (f *dbFile) count(id uint64) int { return int(f.u16(f.base(id) + hdrCount)) }

// elem returns the offset of element i of the page at base.
func elemOff(base uint64, i int) uint64 { return base + pageHeaderSize + uint64(i)*elemSize }

// treePage is a page of some bucket's tree, with the pages above it
// (nearest last), bucket leaf pages included.
type treePage struct {
	id        uint64
	ancestors []uint64
}

// pages returns every branch and leaf page reachable from the root.
func (f *dbFile) pages() []treePage {
	var out []treePage
	var walk func(id uint64, anc []uint64)
	walk = func(id uint64, anc []uint64) {
		out = append(out, treePage{id, anc})
		anc = append(anc[:len(anc):len(anc)], id)
		base := f.base(id)
		for i := range f.count(id) {
			e := elemOff(base, i)
			switch f.flags(id) {
			case branchPageFlag:
				walk(f.u64(e+8), anc)
			case leafPageFlag:
				if f.u32(e)&bucketLeafFlag != 0 {
					if root := f.u64(e + uint64(f.u32(e+4)) + uint64(f.u32(e+8))); root != 0 {
						walk(root, anc)
					}
				}
			}
		}
	}
	walk(f.root, nil)
	return out
}

func (f *dbFile) pageWith(what string, pred func(p treePage) bool) treePage {
	for _, p := range f.pages() {
		if pred(p) {
			return p
		}
	}
	f.tb.Fatalf("fixture has no %s", what)
	return treePage{}
}

func (f *dbFile) branch() treePage {
	return f.pageWith("branch page", func(p treePage) bool { return f.flags(p.id) == branchPageFlag })
}

// deepBranch returns a branch page whose parent is a branch page.
func (f *dbFile) deepBranch() treePage {
	return f.pageWith("branch below a branch", func(p treePage) bool {
		return f.flags(p.id) == branchPageFlag && len(p.ancestors) > 0 && f.flags(p.ancestors[len(p.ancestors)-1]) == branchPageFlag
	})
}

func (f *dbFile) leaf() treePage {
	return f.pageWith("leaf page with two elements", func(p treePage) bool { return f.flags(p.id) == leafPageFlag && f.count(p.id) >= 2 })
}

// bucketElem is a leaf element holding a bucket.
type bucketElem struct {
	off    uint64 // the element
	value  uint64 // the bucket value
	vsize  uint64
	inline bool
}

func (f *dbFile) buckets() []bucketElem {
	var out []bucketElem
	for _, p := range f.pages() {
		if f.flags(p.id) != leafPageFlag {
			continue
		}
		for i := range f.count(p.id) {
			e := elemOff(f.base(p.id), i)
			if f.u32(e)&bucketLeafFlag == 0 {
				continue
			}
			v := e + uint64(f.u32(e+4)) + uint64(f.u32(e+8))
			out = append(out, bucketElem{off: e, value: v, vsize: uint64(f.u32(e + 12)), inline: f.u64(v) == 0})
		}
	}
	return out
}

func (f *dbFile) bucket(inline bool, minCount int) bucketElem {
	for _, b := range f.buckets() {
		if b.inline == inline && (!inline || int(f.u16(b.value+bucketHeaderSize+hdrCount)) >= minCount) {
			return b
		}
	}
	f.tb.Fatalf("fixture has no bucket (inline %v)", inline)
	return bucketElem{}
}

// freeIDs returns the offset and number of the freelist's page ids.
func (f *dbFile) freeIDs() (uint64, int) {
	base := f.base(f.freelist)
	n := f.count(f.freelist)
	if n == freelistOverflow {
		return base + pageHeaderSize + 8, int(f.u64(base + pageHeaderSize))
	}
	return base + pageHeaderSize, n
}
