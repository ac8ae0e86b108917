package boltcheck

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// fixtureSmall is a small file of 512-byte pages, for the fuzzers: a
// bucket of two levels of pages, a nested bucket, an inline bucket, a
// value on overflow pages, an empty value, and freed pages.
func fixtureSmall(tb testing.TB) []byte {
	return build(tb, &bolt.Options{PageSize: 512}, func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket([]byte("b"))
		if err != nil {
			return err
		}
		if err := putKeys(b, 60, "k%03d", 12); err != nil {
			return err
		}
		if err := b.Put([]byte("big"), bytes.Repeat([]byte("v"), 1500)); err != nil {
			return err
		}
		if err := b.Put([]byte("empty"), nil); err != nil {
			return err
		}
		n, err := b.CreateBucket([]byte("nested"))
		if err != nil {
			return err
		}
		if err := putKeys(n, 3, "n%d", 4); err != nil {
			return err
		}
		in, err := tx.CreateBucket([]byte("inline"))
		if err != nil {
			return err
		}
		return putKeys(in, 3, "i%d", 4)
	}, func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("b"))
		for i := 0; i < 60; i += 4 {
			if err := b.Delete(fmt.Appendf(nil, "k%03d", i)); err != nil {
				return err
			}
		}
		return nil
	})
}

// FuzzReader reads everything in any data with a Reader. It must never
// panic and must wrap a sentinel in every error; and whenever Check
// accepts data, it must read exactly what bbolt reads.
func FuzzReader(f *testing.F) {
	f.Add(fixtureSmall(f))
	f.Add(fixtureEmpty(f))
	f.Add(fixtureInline(f))
	f.Add(fixtureMulti(f))
	f.Add(randomFile(f, 512, 3))
	f.Add([]byte{})
	f.Add([]byte("age-encryption.org/v1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		errs := readAll(t, data, nil)
		if Check(data) != nil {
			return
		}
		if len(errs) > 0 {
			t.Fatalf("Check accepts the file, the Reader fails: %v", errs[0])
		}
		r, err := NewReader(data)
		if err != nil {
			t.Fatal(err)
		}
		viewGuarded(t, data, func(tx *bolt.Tx) { agree(t, r, tx, nil, 50) })
	})
}

// FuzzReaderGet looks up a key in a bucket of any data. Whenever a walk of
// the whole bucket succeeds, it has checked every page a lookup can
// visit, so Get and Seek must succeed and agree with the walk.
func FuzzReaderGet(f *testing.F) {
	small, multi := fixtureSmall(f), fixtureMulti(f)
	for _, k := range []string{"k001", "k004", "k0015", "big", "empty", "nested", "a", "zzz"} {
		f.Add(small, []byte("b"), []byte(k))
	}
	f.Add(small, []byte("inline"), []byte("i1"))
	f.Add(multi, []byte("big"), []byte("a-rather-long-key-to-lower-the-fanout-000250"))
	f.Add(multi, []byte("overflow"), []byte("ov-2"))
	f.Fuzz(func(t *testing.T, data, name, key []byte) {
		sentinel := func(err error) {
			if err != nil && (errors.Is(err, errInternal) || !errors.Is(err, ErrNotBolt) && !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrCorrupt)) {
				t.Fatalf("error wraps no sentinel or an internal one: %v", err)
			}
		}
		r, err := NewReader(data)
		if sentinel(err); err != nil {
			return
		}
		b, err := r.Bucket(name)
		if sentinel(err); b == nil {
			return
		}
		var keys, values [][]byte
		walkErr := b.ForEach(func(k, v []byte) error {
			keys, values = append(keys, k), append(values, v)
			return nil
		})
		sentinel(walkErr)
		got, getErr := b.Get(key)
		sentinel(getErr)
		sk, sv, seekErr := b.Cursor().Seek(key)
		sentinel(seekErr)
		if walkErr != nil {
			return
		}
		if getErr != nil || seekErr != nil {
			t.Fatalf("the walk succeeds, Get or Seek fail: %v, %v", getErr, seekErr)
		}
		i := 0
		for i < len(keys) && bytes.Compare(keys[i], key) < 0 {
			i++
		}
		var want, wk, wv []byte
		if i < len(keys) {
			wk, wv = keys[i], values[i]
			if bytes.Equal(wk, key) {
				want = wv
			}
		}
		if !sameValue(got, want) {
			t.Fatalf("Get = %d bytes (nil %v), the walk has %d (nil %v)", len(got), got == nil, len(want), want == nil)
		}
		if !bytes.Equal(sk, wk) || (sk == nil) != (wk == nil) || !sameValue(sv, wv) {
			t.Fatalf("Seek = %q, the walk has %q", sk, wk)
		}
	})
}
