package boltcheck

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

func TestAcceptsRealFiles(t *testing.T) {
	fixtures := map[string]func(testing.TB) []byte{
		"empty":    fixtureEmpty,
		"nested":   fixtureNested,
		"inline":   fixtureInline,
		"overflow": fixtureOverflow,
		"multi":    fixtureMulti,
		"bench":    fixtureBench,
	}
	for name, fix := range fixtures {
		t.Run(name, func(t *testing.T) {
			data := fix(t)
			if err := Check(data); err != nil {
				t.Fatalf("Check: %v", err)
			}
		})
	}
	for _, ps := range []int{512, 1024, 4096, 16384, 65536} {
		t.Run(fmt.Sprintf("pagesize-%d", ps), func(t *testing.T) {
			data := build(t, &bolt.Options{PageSize: ps}, func(tx *bolt.Tx) error {
				b, err := tx.CreateBucket([]byte("b"))
				if err != nil {
					return err
				}
				return putKeys(b, 400, "key-%05d", 100)
			})
			// bbolt itself cannot reopen a 512-byte-page file shorter than
			// the 4 KiB it reads first; ours is longer.
			if err := Check(data); err != nil {
				t.Fatalf("Check: %v", err)
			}
		})
	}
	t.Run("no-freelist-sync-refused", func(t *testing.T) {
		data := build(t, &bolt.Options{NoFreelistSync: true}, func(tx *bolt.Tx) error {
			b, err := tx.CreateBucket([]byte("b"))
			if err != nil {
				return err
			}
			return putKeys(b, 400, "key-%05d", 100)
		}, func(tx *bolt.Tx) error {
			return tx.Bucket([]byte("b")).Delete([]byte("key-00007"))
		})
		if f := parse(t, data); f.freelist != noFreelist {
			t.Fatalf("freelist at page %d, want none", f.freelist)
		}
		// A valid bbolt file, but bbolt's read-write open would rebuild
		// the freelist by walking the tree in a goroutine of its own,
		// and write it: refused.
		if err := Check(data); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("Check = %v, want %v", err, ErrCorrupt)
		}
		if _, err := CheckHead(bytes.NewReader(data), int64(len(data))); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("CheckHead = %v, want %v", err, ErrCorrupt)
		}
	})
	t.Run("freelist-not-empty", func(t *testing.T) {
		f := parse(t, fixtureMulti(t))
		if _, n := f.freeIDs(); n == 0 {
			t.Fatal("fixture has an empty freelist")
		}
	})
	t.Run("three-levels", func(t *testing.T) {
		f := parse(t, fixtureMulti(t))
		f.deepBranch()
	})
}

// TestFixtureDeterministic makes sure a seed reproduces a random test run.
func TestFixtureDeterministic(t *testing.T) {
	if !bytes.Equal(fixtureMulti(t), fixtureMulti(t)) {
		t.Fatal("fixtureMulti differs between builds")
	}
}

// TestMetaFallback checks that a damaged meta page is passed over as bbolt
// does, and that bbolt then opens the file.
func TestMetaFallback(t *testing.T) {
	for _, ps := range []int{1024, 4096} {
		// Two transactions, so that both metas point to a tree with keys.
		base := build(t, &bolt.Options{PageSize: ps}, func(tx *bolt.Tx) error {
			b, err := tx.CreateBucket([]byte("b"))
			if err != nil {
				return err
			}
			return putKeys(b, 100, "key-%05d", 100)
		}, func(tx *bolt.Tx) error {
			return putKeys(tx.Bucket([]byte("b")), 150, "more-%05d", 100)
		})
		for _, tc := range []struct {
			name string
			edit func(f *dbFile)
		}{
			{"meta0-checksum", func(f *dbFile) { f.data[f.metaOff(0)+metaChecksum] ^= 1 }},
			{"meta1-checksum", func(f *dbFile) { f.data[f.metaOff(1)+metaChecksum] ^= 1 }},
			{"page0-zeroed", func(f *dbFile) { clear(f.data[:f.psz]) }},
		} {
			t.Run(fmt.Sprintf("%s-%d", tc.name, ps), func(t *testing.T) {
				data := bytes.Clone(base)
				tc.edit(parse(t, data))
				if err := Check(data); err != nil {
					t.Fatalf("Check: %v", err)
				}
				if r := probe(t, t.TempDir(), data); r.openErr != nil || r.updErr != nil || r.recheckErr != nil || r.panics != 0 || r.hung || r.steps < 100 {
					t.Fatalf("bbolt on the checked file: %+v", r)
				}
			})
		}
	}
}

type corruption struct {
	name string
	edit func(f *dbFile)
	want error
}

func corruptions() []corruption {
	return []corruption{
		// Tree shape.
		{"branch child is its own page", func(f *dbFile) {
			p := f.branch()
			f.set64(elemOff(f.base(p.id), 0)+8, p.id)
		}, ErrCorrupt},
		{"branch child is an ancestor", func(f *dbFile) {
			p := f.deepBranch()
			f.set64(elemOff(f.base(p.id), 1)+8, p.ancestors[len(p.ancestors)-1])
		}, ErrCorrupt},
		{"branch child is the root", func(f *dbFile) {
			p := f.deepBranch()
			f.set64(elemOff(f.base(p.id), 0)+8, f.root)
		}, ErrCorrupt},
		{"two branch elements share a child", func(f *dbFile) {
			p := f.branch()
			e := elemOff(f.base(p.id), 0)
			f.set64(e+elemSize+8, f.u64(e+8))
		}, ErrCorrupt},
		{"bucket root is an ancestor", func(f *dbFile) {
			b := f.bucket(false, 0)
			f.set64(b.value, f.root)
		}, ErrCorrupt},
		{"branch child at high-water mark", func(f *dbFile) {
			f.set64(elemOff(f.base(f.branch().id), 0)+8, f.hwm)
		}, ErrCorrupt},
		{"branch child far beyond file", func(f *dbFile) {
			f.set64(elemOff(f.base(f.branch().id), 0)+8, 1<<60)
		}, ErrCorrupt},
		{"branch child is a meta page", func(f *dbFile) {
			f.set64(elemOff(f.base(f.branch().id), 0)+8, 1)
		}, ErrCorrupt},
		{"branch child is page 0", func(f *dbFile) {
			f.set64(elemOff(f.base(f.branch().id), 0)+8, 0)
		}, ErrCorrupt},
		{"branch child is the freelist", func(f *dbFile) {
			f.set64(elemOff(f.base(f.branch().id), 0)+8, f.freelist)
		}, ErrCorrupt},
		{"bucket root beyond high-water mark", func(f *dbFile) {
			f.set64(f.bucket(false, 0).value, f.hwm+5)
		}, ErrCorrupt},

		// Page headers.
		{"page header id mismatch", func(f *dbFile) {
			f.set64(f.base(f.leaf().id), f.leaf().id+1)
		}, ErrCorrupt},
		{"branch header id mismatch", func(f *dbFile) {
			f.set64(f.base(f.branch().id), 7)
		}, ErrCorrupt},
		{"leaf flags with extra bit", func(f *dbFile) {
			f.set16(f.base(f.leaf().id)+hdrFlags, leafPageFlag|0x20)
		}, ErrCorrupt},
		{"branch and leaf flags", func(f *dbFile) {
			f.set16(f.base(f.leaf().id)+hdrFlags, leafPageFlag|branchPageFlag)
		}, ErrCorrupt},
		{"tree page flagged meta", func(f *dbFile) {
			f.set16(f.base(f.leaf().id)+hdrFlags, 0x04)
		}, ErrCorrupt},
		{"tree page flagged freelist", func(f *dbFile) {
			f.set16(f.base(f.branch().id)+hdrFlags, freelistPageFlag)
		}, ErrCorrupt},
		{"leaf flagged branch", func(f *dbFile) {
			f.set16(f.base(f.leaf().id)+hdrFlags, branchPageFlag)
		}, ErrCorrupt},
		{"overflow past high-water mark", func(f *dbFile) {
			f.set32(f.base(f.leaf().id)+hdrOverflow, int64(f.hwm))
		}, ErrCorrupt},
		{"overflow into the next page", func(f *dbFile) {
			p := f.leaf()
			f.set32(f.base(p.id)+hdrOverflow, int64(f.hwm-p.id-1))
		}, ErrCorrupt},
		{"overflow maximal", func(f *dbFile) {
			f.set32(f.base(f.leaf().id)+hdrOverflow, 0xFFFFFFFF)
		}, ErrCorrupt},
		{"leaf count past page", func(f *dbFile) {
			f.set16(f.base(f.leaf().id)+hdrCount, 0xFFFF)
		}, ErrCorrupt},
		{"branch count past page", func(f *dbFile) {
			f.set16(f.base(f.branch().id)+hdrCount, 200)
		}, ErrCorrupt},
		{"branch without elements", func(f *dbFile) {
			f.set16(f.base(f.branch().id)+hdrCount, 0)
		}, ErrCorrupt},

		// Elements.
		{"leaf element pos past page", func(f *dbFile) {
			f.set32(elemOff(f.base(f.leaf().id), 0)+4, int64(f.psz))
		}, ErrCorrupt},
		{"leaf element pos maximal", func(f *dbFile) {
			f.set32(elemOff(f.base(f.leaf().id), 1)+4, 0xFFFFFFFF)
		}, ErrCorrupt},
		{"leaf element ksize past page", func(f *dbFile) {
			f.set32(elemOff(f.base(f.leaf().id), 0)+8, int64(f.psz))
		}, ErrCorrupt},
		{"leaf element ksize maximal", func(f *dbFile) {
			f.set32(elemOff(f.base(f.leaf().id), 0)+8, 0xFFFFFFFF)
		}, ErrCorrupt},
		{"last leaf element vsize past page", func(f *dbFile) {
			p := f.leaf()
			f.set32(elemOff(f.base(p.id), f.count(p.id)-1)+12, int64(f.psz))
		}, ErrCorrupt},
		{"leaf element vsize maximal", func(f *dbFile) {
			f.set32(elemOff(f.base(f.leaf().id), 0)+12, 0xFFFFFFFF)
		}, ErrCorrupt},
		{"leaf element empty key", func(f *dbFile) {
			f.set32(elemOff(f.base(f.leaf().id), 0)+8, 0)
		}, ErrCorrupt},
		{"leaf elements overlap", func(f *dbFile) {
			e := elemOff(f.base(f.leaf().id), 0)
			f.set32(e+elemSize+4, int64(f.u32(e+4))-elemSize)
		}, ErrCorrupt},
		{"leaf element data inside element array", func(f *dbFile) {
			f.set32(elemOff(f.base(f.leaf().id), 0)+4, 0)
		}, ErrCorrupt},
		{"branch element pos past page", func(f *dbFile) {
			f.set32(elemOff(f.base(f.branch().id), 0), int64(f.psz))
		}, ErrCorrupt},
		{"branch element ksize maximal", func(f *dbFile) {
			f.set32(elemOff(f.base(f.branch().id), 0)+4, 0xFFFFFFFF)
		}, ErrCorrupt},
		{"branch element empty key", func(f *dbFile) {
			f.set32(elemOff(f.base(f.branch().id), 0)+4, 0)
		}, ErrCorrupt},

		// Key order, as bbolt needs it to write pages back.
		{"leaf keys out of order", func(f *dbFile) {
			e := elemOff(f.base(f.leaf().id), 1)
			f.data[e+uint64(f.u32(e+4))] = 0
		}, ErrCorrupt},
		{"branch keys out of order", func(f *dbFile) {
			e := elemOff(f.base(f.deepBranch().id), 1)
			f.data[e+uint64(f.u32(e))] = 0
		}, ErrCorrupt},
		{"first key of a page differs from its branch key", func(f *dbFile) {
			leaf := f.u64(elemOff(f.base(f.deepBranch().id), 1) + 8)
			e := elemOff(f.base(leaf), 0)
			f.data[e+uint64(f.u32(e+4))+uint64(f.u32(e+8))-1]--
		}, ErrCorrupt},
		{"keys of a page beyond the next branch key", func(f *dbFile) {
			leaf := f.u64(elemOff(f.base(f.deepBranch().id), 0) + 8)
			e := elemOff(f.base(leaf), f.count(leaf)-1)
			f.data[e+uint64(f.u32(e+4))+uint64(f.u32(e+8))-2] = 0xff
		}, ErrCorrupt},
		{"empty leaf below a branch", func(f *dbFile) {
			leaf := f.u64(elemOff(f.base(f.deepBranch().id), 1) + 8)
			f.set16(f.base(leaf)+hdrCount, 0)
		}, ErrCorrupt},
		{"inline bucket keys out of order", func(f *dbFile) {
			b := f.bucket(true, 2)
			e := elemOff(b.value+bucketHeaderSize, 1)
			f.data[e+uint64(f.u32(e+4))] = 0
		}, ErrCorrupt},

		// Buckets.
		{"top-level entry is not a bucket", func(f *dbFile) {
			b := f.bucket(true, 0)
			f.set32(b.off, int64(f.u32(b.off)&^bucketLeafFlag))
		}, ErrCorrupt},
		{"bucket value shorter than header", func(f *dbFile) {
			f.set32(f.bucket(false, 0).off+12, 8)
		}, ErrCorrupt},
		{"empty bucket value", func(f *dbFile) {
			f.set32(f.bucket(true, 0).off+12, 0)
		}, ErrCorrupt},
		{"inline bucket without page header", func(f *dbFile) {
			f.set32(f.bucket(true, 0).off+12, bucketHeaderSize+8)
		}, ErrCorrupt},
		{"inline bucket elements overflow value", func(f *dbFile) {
			b := f.bucket(true, 1)
			f.set16(b.value+bucketHeaderSize+hdrCount, int(b.vsize/elemSize))
		}, ErrCorrupt},
		{"inline bucket last value past bucket value", func(f *dbFile) {
			b := f.bucket(true, 2)
			ip := b.value + bucketHeaderSize
			e := elemOff(ip, int(f.u16(ip+hdrCount))-1)
			f.set32(e+12, int64(f.u32(e+12))+1)
		}, ErrCorrupt},
		{"inline bucket key past bucket value", func(f *dbFile) {
			b := f.bucket(true, 1)
			e := elemOff(b.value+bucketHeaderSize, 0)
			f.set32(e+4, int64(b.vsize))
		}, ErrCorrupt},
		{"inline bucket page is a branch", func(f *dbFile) {
			b := f.bucket(true, 1)
			f.set16(b.value+bucketHeaderSize+hdrFlags, branchPageFlag)
		}, ErrCorrupt},
		{"inline bucket empty key", func(f *dbFile) {
			b := f.bucket(true, 1)
			f.set32(elemOff(b.value+bucketHeaderSize, 0)+8, 0)
		}, ErrCorrupt},

		// Freelist.
		{"freelist count overflow", func(f *dbFile) {
			base := f.base(f.freelist)
			f.set16(base+hdrCount, freelistOverflow)
			f.set64(base+pageHeaderSize, 1<<62)
		}, ErrCorrupt},
		{"freelist count overflows int", func(f *dbFile) {
			base := f.base(f.freelist)
			f.set16(base+hdrCount, freelistOverflow)
			f.set64(base+pageHeaderSize, 1<<63+5)
		}, ErrCorrupt},
		{"freelist count past page", func(f *dbFile) {
			f.set16(f.base(f.freelist)+hdrCount, freelistOverflow-1)
		}, ErrCorrupt},
		{"freelist id at high-water mark", func(f *dbFile) {
			off, _ := f.freeIDs()
			f.set64(off, f.hwm)
		}, ErrCorrupt},
		{"freelist id is a meta page", func(f *dbFile) {
			off, _ := f.freeIDs()
			f.set64(off, 1)
		}, ErrCorrupt},
		{"freelist id in use", func(f *dbFile) {
			off, _ := f.freeIDs()
			f.set64(off, f.root)
		}, ErrCorrupt},
		{"freelist lists itself", func(f *dbFile) {
			off, _ := f.freeIDs()
			f.set64(off, f.freelist)
		}, ErrCorrupt},
		{"freelist id twice", func(f *dbFile) {
			off, _ := f.freeIDs()
			f.set64(off+8, f.u64(off))
		}, ErrCorrupt},
		{"freelist page flagged leaf", func(f *dbFile) {
			f.set16(f.base(f.freelist)+hdrFlags, leafPageFlag)
		}, ErrCorrupt},
		{"freelist header id mismatch", func(f *dbFile) {
			f.set64(f.base(f.freelist), 3)
		}, ErrCorrupt},
		{"freelist overflow past high-water mark", func(f *dbFile) {
			f.set32(f.base(f.freelist)+hdrOverflow, int64(f.hwm))
		}, ErrCorrupt},

		// Meta.
		{"freelist page at high-water mark", func(f *dbFile) { f.setMeta(metaFreelist, f.hwm) }, ErrCorrupt},
		{"freelist page is a meta page", func(f *dbFile) { f.setMeta(metaFreelist, 1) }, ErrCorrupt},
		{"freelist page is the root", func(f *dbFile) { f.setMeta(metaFreelist, f.root) }, ErrCorrupt},
		{"root at high-water mark", func(f *dbFile) { f.setMeta(metaRoot, f.hwm) }, ErrCorrupt},
		{"root is page 0", func(f *dbFile) { f.setMeta(metaRoot, 0) }, ErrCorrupt},
		{"root is the freelist", func(f *dbFile) { f.setMeta(metaRoot, f.freelist) }, ErrCorrupt},
		{"high-water mark past file", func(f *dbFile) {
			f.setMeta(metaPgid, uint64(len(f.data))/f.psz+1)
		}, ErrTruncated},
		{"high-water mark enormous", func(f *dbFile) { f.setMeta(metaPgid, 1<<62) }, ErrTruncated},
		{"high-water mark 2", func(f *dbFile) { f.setMeta(metaPgid, 2) }, ErrCorrupt},
		{"high-water mark 0", func(f *dbFile) { f.setMeta(metaPgid, 0) }, ErrCorrupt},
		{"page size not a power of two", func(f *dbFile) {
			for i := range uint64(2) {
				o := f.metaOff(i)
				f.set32(o+metaPageSize, 1000)
				f.set64(o+metaChecksum, fnv64a(f.data[o:o+metaChecksum]))
			}
		}, ErrCorrupt},
		{"page size 0", func(f *dbFile) {
			o := f.metaOff(0)
			f.set32(o+metaPageSize, 0)
			f.set64(o+metaChecksum, fnv64a(f.data[o:o+metaChecksum]))
		}, ErrCorrupt},
		{"page sizes differ", func(f *dbFile) {
			// Meta 1 is newer but claims other pages than meta 0 gives.
			o := f.metaOff(1)
			f.set32(o+metaPageSize, 2048)
			f.set64(o+metaTxid, 1<<40)
			f.set64(o+metaChecksum, fnv64a(f.data[o:o+metaChecksum]))
		}, ErrCorrupt},
		{"both checksums broken", func(f *dbFile) {
			f.data[f.metaOff(0)+metaChecksum] ^= 0x80
			f.data[f.metaOff(1)+metaChecksum+7] ^= 0x01
		}, ErrCorrupt},
		{"both versions wrong", func(f *dbFile) {
			f.set32(f.metaOff(0)+metaVersion, 1)
			f.set32(f.metaOff(1)+metaVersion, 3)
		}, ErrCorrupt},
		{"one meta without magic, other checksum broken", func(f *dbFile) {
			f.set32(f.metaOff(0), 0)
			f.data[f.metaOff(1)+metaTxid] ^= 1
		}, ErrCorrupt},
		// The pages of a bbolt file are still there: damaged, not
		// another kind of file (a copy whose first blocks were never
		// written looks so).
		{"both magics gone", func(f *dbFile) {
			f.set32(f.metaOff(0), 0x12345678)
			f.set32(f.metaOff(1), 0)
		}, ErrCorrupt},
	}
}

func TestCorruptions(t *testing.T) {
	base := fixtureMulti(t)
	for _, tc := range corruptions() {
		t.Run(tc.name, func(t *testing.T) {
			data := bytes.Clone(base)
			tc.edit(parse(t, data))
			if bytes.Equal(data, base) {
				t.Fatal("edit changed nothing")
			}
			err := Check(data)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Check = %v, want %v", err, tc.want)
			}
			if errors.Is(err, errInternal) {
				t.Fatalf("Check hit an internal error: %v", err)
			}
			t.Log(err)
		})
	}
}

func TestTruncation(t *testing.T) {
	for name, fix := range map[string]func(testing.TB) []byte{"multi": fixtureMulti, "empty": fixtureEmpty} {
		t.Run(name, func(t *testing.T) {
			data := fix(t)
			f := parse(t, data)
			need := int(f.hwm * f.psz)
			lengths := map[int]bool{}
			for l := range min(300, len(data)) {
				lengths[l] = true
			}
			for l := 0; l < len(data); l += 61 {
				lengths[l] = true
			}
			for p := 0; p <= len(data); p += int(f.psz) {
				for d := -17; d <= 17; d++ {
					if l := p + d; l >= 0 && l < len(data) {
						lengths[l] = true
					}
				}
			}
			lengths[4095], lengths[4096], lengths[need-1], lengths[need] = true, true, true, true
			for l := range lengths {
				err := Check(data[:l])
				switch {
				case l < need && !errors.Is(err, ErrTruncated):
					t.Fatalf("Check(data[:%d]) = %v, want %v (high-water mark at %d bytes)", l, err, ErrTruncated, need)
				case l >= need && err != nil:
					t.Fatalf("Check(data[:%d]) = %v, want nil (high-water mark at %d bytes)", l, err, need)
				}
			}
		})
	}
}

func TestNotBolt(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 100_000)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	age := []byte("age-encryption.org/v1\n-> X25519 q3QmR0eH3Q6lJd+9yQ0cX2QvQf0aN2xkzJ7xY2bH6nE\nZ3Vlc3Mgd2hhdA\n--- 8yR6fS\n" + strings.Repeat("\x8f\x01\xfe", 3000))
	for name, data := range map[string][]byte{
		"random":      random,
		"random-5000": random[:5000],
		"random-100":  random[:100],
		"random-3":    random[:3],
		"text":        []byte("hello, world\n"),
		"long-text":   []byte(strings.Repeat("the quick brown fox jumps over the lazy dog\n", 1000)),
		"age":         age,
		"zeros":       make([]byte, 65536),
		"zeros-50":    make([]byte, 50),
		"ones":        bytes.Repeat([]byte{0xff}, 9000),
	} {
		t.Run(name, func(t *testing.T) {
			if err := Check(data); !errors.Is(err, ErrNotBolt) {
				t.Fatalf("Check = %v, want %v", err, ErrNotBolt)
			}
		})
	}
	t.Run("empty", func(t *testing.T) {
		for _, data := range [][]byte{nil, {}} {
			if err := Check(data); !errors.Is(err, ErrTruncated) {
				t.Fatalf("Check = %v, want %v", err, ErrTruncated)
			}
		}
	})
}

// TestDepthLimit builds buckets nested deeper than the depth limit: a
// valid bbolt file that Check refuses, by design.
func TestDepthLimit(t *testing.T) {
	nest := func(depth int) []byte {
		return build(t, nil, func(tx *bolt.Tx) error {
			b, err := tx.CreateBucket([]byte("b"))
			for range depth - 1 {
				if err != nil {
					return err
				}
				b, err = b.CreateBucket([]byte("b"))
			}
			return err
		})
	}
	if err := Check(nest(20)); err != nil {
		t.Fatalf("20 nested buckets: %v", err)
	}
	if err := Check(nest(100)); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("100 nested buckets: Check = %v, want %v", err, ErrCorrupt)
	}
}

func TestNoDataInErrors(t *testing.T) {
	// Keys and values are all lowercase letters and digits; no message
	// may contain a run of them from the data.
	base := fixtureMulti(t)
	for _, tc := range corruptions() {
		data := bytes.Clone(base)
		tc.edit(parse(t, data))
		if msg := Check(data).Error(); strings.Contains(msg, "aaaa") || strings.Contains(msg, "key-") {
			t.Errorf("%s: message contains data: %q", tc.name, msg)
		}
	}
}

func TestAllocations(t *testing.T) {
	data := fixtureBench(t)
	if n := testing.AllocsPerRun(20, func() { _ = Check(data) }); n > 1 {
		t.Fatalf("Check allocates %v times per run, want at most 1", n)
	}
}
