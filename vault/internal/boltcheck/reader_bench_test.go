package boltcheck

import (
	"crypto/sha256"
	"encoding/binary"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// hashKey is the key of record i: a 32-byte hash, as the vault's ops,
// blobs and grants are keyed.
func hashKey(i int) []byte {
	h := sha256.Sum256(binary.BigEndian.AppendUint64(nil, uint64(i)))
	return h[:]
}

const (
	largeOps    = 9000
	largeBlobs  = 2500
	largeGrants = 2000
)

// fixtureLarge is about 30 MB of 4 KiB pages, shaped like a large shared
// vault: a meta bucket of a few keys, and ops, blobs and grants of 1 KB,
// 3 KB and 200 bytes keyed by hashes, written in several transactions.
func fixtureLarge(tb testing.TB) []byte {
	fill := func(name string, n, vsize int) func(tx *bolt.Tx) error {
		return func(tx *bolt.Tx) error {
			b, err := tx.CreateBucketIfNotExists([]byte(name))
			if err != nil {
				return err
			}
			v := make([]byte, vsize)
			for i := range n {
				binary.BigEndian.PutUint64(v, uint64(i))
				if err := b.Put(hashKey(i), v); err != nil {
					return err
				}
			}
			return nil
		}
	}
	return build(tb, nil,
		func(tx *bolt.Tx) error {
			m, err := tx.CreateBucket([]byte("meta"))
			if err != nil {
				return err
			}
			for _, k := range []string{"app", "format", "id", "head"} {
				if err := m.Put([]byte(k), []byte("value of "+k)); err != nil {
					return err
				}
			}
			return nil
		},
		fill("ops", largeOps, 1000),
		fill("blobs", largeBlobs, 3000),
		fill("grants", largeGrants, 200),
	)
}

// BenchmarkReaderGet opens a Reader on a 30 MB file and reads a key of
// the meta bucket and one of the ops bucket, as the vault does when the
// shared file changed; compare BenchmarkCheckLarge.
func BenchmarkReaderGet(b *testing.B) {
	data := fixtureLarge(b)
	pages := 0
	get := func(i int, count bool) {
		r, err := NewReader(data)
		if err != nil {
			b.Fatal(err)
		}
		for _, kv := range [][2][]byte{{[]byte("meta"), []byte("app")}, {[]byte("ops"), hashKey(i % largeOps)}} {
			bk, err := r.Bucket(kv[0])
			if err != nil || bk == nil {
				b.Fatal(bk, err)
			}
			if v, err := bk.Get(kv[1]); err != nil || v == nil {
				b.Fatal(v, err)
			}
			if count {
				pages += lookupPages(b, r.top(), kv[0]) + lookupPages(b, bk, kv[1])
			}
		}
	}
	get(0, true)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		get(i, false)
		i++
	}
	b.ReportMetric(float64(pages), "pages/op")
	b.ReportMetric(float64(len(data))/4096, "pages/file")
}

// lookupPages counts the pages a lookup of key in bk checks.
func lookupPages(tb testing.TB, bk *Bucket, key []byte) int {
	c := Cursor{b: bk}
	if _, _, _, err := c.lookup(key); err != nil {
		tb.Fatal(err)
	}
	return len(c.stack)
}

// BenchmarkCheckLarge checks the whole file BenchmarkReaderGet reads.
func BenchmarkCheckLarge(b *testing.B) {
	data := fixtureLarge(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if err := Check(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReaderForEach walks the grants bucket of the 30 MB file.
func BenchmarkReaderForEach(b *testing.B) {
	data := fixtureLarge(b)
	b.ReportAllocs()
	for b.Loop() {
		r, err := NewReader(data)
		if err != nil {
			b.Fatal(err)
		}
		g, err := r.Bucket([]byte("grants"))
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		if err := g.ForEach(func(k, v []byte) error { n++; return nil }); err != nil || n != largeGrants {
			b.Fatal(n, err)
		}
	}
}
