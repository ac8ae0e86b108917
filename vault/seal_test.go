package vault

import (
	"bytes"
	"errors"
	"testing"

	bolt "go.etcd.io/bbolt"
)

func testRing(t *testing.T) *keyring {
	t.Helper()
	ring, err := newKeyring([16]byte{1, 2, 3}, 1)
	if err != nil {
		t.Fatal(err)
	}
	return ring
}

func TestSealRoundTrip(t *testing.T) {
	ring := testRing(t)
	sealed, err := ring.sealRecord(bucketSecrets, []byte("key"), 7, []byte("plaintext"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("plaintext")) {
		t.Fatal("sealed record holds its plaintext")
	}
	pt, err := ring.openRecord(bucketSecrets, []byte("key"), 7, sealed)
	if err != nil || string(pt) != "plaintext" {
		t.Fatalf("open = %q, %v", pt, err)
	}
}

// TestSealRejects checks that a record that was changed, moved to another
// key or bucket, replayed at another revision, or sealed under another
// vault key or epoch does not open.
func TestSealRejects(t *testing.T) {
	ring := testRing(t)
	sealed, err := ring.sealRecord(bucketSecrets, []byte("key"), 7, []byte("plaintext"))
	if err != nil {
		t.Fatal(err)
	}
	other := testRing(t)
	nextEpoch, err := deriveKeyring(ring.vaultID, ring.epoch+1, ring.key)
	if err != nil {
		t.Fatal(err)
	}
	flipped := func(i int) []byte {
		b := bytes.Clone(sealed)
		b[i] ^= 0x01
		return b
	}
	tests := []struct {
		name   string
		ring   *keyring
		bucket string
		key    string
		rev    uint64
		sealed []byte
	}{
		{"changed ciphertext", ring, bucketSecrets, "key", 7, flipped(len(sealed) - 20)},
		{"changed tag", ring, bucketSecrets, "key", 7, flipped(len(sealed) - 1)},
		{"changed nonce", ring, bucketSecrets, "key", 7, flipped(10)},
		{"changed version byte", ring, bucketSecrets, "key", 7, flipped(0)},
		{"changed epoch", ring, bucketSecrets, "key", 7, flipped(4)},
		{"swapped to another key", ring, bucketSecrets, "other", 7, sealed},
		{"swapped to another bucket", ring, bucketMembers, "key", 7, sealed},
		{"replayed at a newer revision", ring, bucketSecrets, "key", 8, sealed},
		{"replayed at an older revision", ring, bucketSecrets, "key", 6, sealed},
		{"another vault key", other, bucketSecrets, "key", 7, sealed},
		{"same key, later epoch", nextEpoch, bucketSecrets, "key", 7, sealed},
		{"truncated", ring, bucketSecrets, "key", 7, sealed[:len(sealed)-1]},
		{"empty", ring, bucketSecrets, "key", 7, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if pt, err := tt.ring.openRecord(tt.bucket, []byte(tt.key), tt.rev, tt.sealed); !errors.Is(err, errUnseal) {
				t.Fatalf("open = %q, %v; want errUnseal", pt, err)
			}
		})
	}
}

func TestAdditionalDataIsUnambiguous(t *testing.T) {
	// Bucket "ab" + key "c" must not collide with bucket "a" + key "bc".
	if bytes.Equal(additionalData("ab", []byte("c"), 1, 1), additionalData("a", []byte("bc"), 1, 1)) {
		t.Fatal("additional data is ambiguous")
	}
}

func TestWrapRoundTrip(t *testing.T) {
	ring := testRing(t)
	id, err := GenerateIdentity(Classic)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := recipient(id.PublicKey())
	ct, err := ring.wrapFor(r)
	if err != nil {
		t.Fatal(err)
	}
	got, err := unwrap(ct, id, ring.vaultID)
	if err != nil || got == nil || got.key != ring.key || got.seal != ring.seal || got.epoch != ring.epoch {
		t.Fatalf("unwrap = %+v, %v", got, err)
	}
	stranger, _ := GenerateIdentity(Classic)
	if got, err := unwrap(ct, stranger, ring.vaultID); got != nil || err != nil {
		t.Fatalf("a stranger's unwrap = %v, %v; want nil, nil", got, err)
	}
	if _, err := unwrap(ct, id, [16]byte{9}); err == nil {
		t.Fatal("a wrap for another vault was accepted")
	}
}

// tamper opens the raw bbolt file of a closed vault and runs fn on it.
func tamper(t *testing.T, path string, fn func(tx *bolt.Tx) error) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// firstKey returns the first key of a bucket.
func firstKey(tx *bolt.Tx, bucket string) []byte {
	k, _ := tx.Bucket([]byte(bucket)).Cursor().First()
	return bytes.Clone(k)
}

// TestStoredRecordsRejectTampering changes the real file the way an attacker
// holding it could, and checks every change is reported as tampering, never
// silently used.
func TestStoredRecordsRejectTampering(t *testing.T) {
	setup := func(t *testing.T) *group {
		g := newGroup(t, Classic, "alice", "bob")
		g.do("alice", func(v *Vault) {
			for _, n := range []string{"airtable", "call-log"} {
				if _, err := v.Add(NewSecret{Name: n, Share: []string{"bob"}}, NewValue([]byte("value of "+n))); err != nil {
					t.Fatal(err)
				}
			}
		})
		return g
	}
	// snapshot returns a bucket's records as they are now.
	snapshot := func(t *testing.T, path, bucket string) map[string][]byte {
		out := map[string][]byte{}
		tamper(t, path, func(tx *bolt.Tx) error {
			return tx.Bucket([]byte(bucket)).ForEach(func(k, v []byte) error {
				out[string(k)] = bytes.Clone(v)
				return nil
			})
		})
		return out
	}
	// set marks the cases where airtable's value was changed before the
	// tampering: its right value is then "new value".
	tests := []struct {
		name   string
		change func(t *testing.T, g *group)
		set    bool
	}{
		{"flipped bit in a secret record", func(t *testing.T, g *group) {
			tamper(t, g.path, func(tx *bolt.Tx) error {
				b := tx.Bucket([]byte(bucketSecrets))
				for k, v := b.Cursor().First(); k != nil; k, v = b.Cursor().Next() {
					v = bytes.Clone(v)
					v[len(v)/2] ^= 1
					return b.Put(bytes.Clone(k), v)
				}
				return nil
			})
		}, false},
		{"two secret records swapped", func(t *testing.T, g *group) {
			tamper(t, g.path, func(tx *bolt.Tx) error {
				b := tx.Bucket([]byte(bucketSecrets))
				var keys, vals [][]byte
				b.ForEach(func(k, v []byte) error {
					keys, vals = append(keys, bytes.Clone(k)), append(vals, bytes.Clone(v))
					return nil
				})
				if err := b.Put(keys[0], vals[1]); err != nil {
					return err
				}
				return b.Put(keys[1], vals[0])
			})
		}, false},
		{"older copy of a secret record replayed", func(t *testing.T, g *group) {
			before := snapshot(t, g.path, bucketSecrets)
			g.do("alice", func(v *Vault) {
				if _, err := v.Set("airtable", NewValue([]byte("new value"))); err != nil {
					t.Fatal(err)
				}
			})
			// Put back every old record; the one that changed is now stale.
			tamper(t, g.path, func(tx *bolt.Tx) error {
				for k, v := range before {
					if err := tx.Bucket([]byte(bucketSecrets)).Put([]byte(k), v); err != nil {
						return err
					}
				}
				return nil
			})
		}, true},
		{"older manifest replayed", func(t *testing.T, g *group) {
			before := snapshot(t, g.path, bucketMeta)
			g.do("alice", func(v *Vault) {
				if _, err := v.Set("airtable", NewValue([]byte("new value"))); err != nil {
					t.Fatal(err)
				}
			})
			tamper(t, g.path, func(tx *bolt.Tx) error {
				return tx.Bucket([]byte(bucketMeta)).Put([]byte(metaManifest), before[metaManifest])
			})
		}, true},
		{"secret record deleted", func(t *testing.T, g *group) {
			tamper(t, g.path, func(tx *bolt.Tx) error {
				return tx.Bucket([]byte(bucketSecrets)).Delete(firstKey(tx, bucketSecrets))
			})
		}, false},
		{"value swapped for another", func(t *testing.T, g *group) {
			tamper(t, g.path, func(tx *bolt.Tx) error {
				b := tx.Bucket([]byte(bucketValues))
				var keys, vals [][]byte
				b.ForEach(func(k, v []byte) error {
					keys, vals = append(keys, bytes.Clone(k)), append(vals, bytes.Clone(v))
					return nil
				})
				if err := b.Put(keys[0], vals[1]); err != nil {
					return err
				}
				return b.Put(keys[1], vals[0])
			})
		}, false},
		{"member record changed", func(t *testing.T, g *group) {
			tamper(t, g.path, func(tx *bolt.Tx) error {
				b := tx.Bucket([]byte(bucketMembers))
				k := firstKey(tx, bucketMembers)
				v := bytes.Clone(b.Get(k))
				v[40] ^= 0x80
				return b.Put(k, v)
			})
		}, false},
		{"log entry deleted", func(t *testing.T, g *group) {
			tamper(t, g.path, func(tx *bolt.Tx) error {
				return tx.Bucket([]byte(bucketLog)).Delete(logKey(2))
			})
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := setup(t)
			tt.change(t, g)
			v, err := Open(g.path, Options{Identity: g.ids["alice"], Clock: g.clock})
			if err != nil {
				mustIs(t, err, ErrTampered)
				return
			}
			defer v.Close()
			// Every way of reading must report it; none may return data.
			var errs []error
			_, err = v.List(false)
			errs = append(errs, err)
			_, err = v.Log()
			errs = append(errs, err)
			for _, n := range []string{"airtable", "call-log"} {
				val, err := v.Reveal(n, 0)
				errs = append(errs, err)
				want := "value of " + n
				if tt.set && n == "airtable" {
					want = "new value"
				}
				if err == nil && string(val.Bytes()) != want {
					t.Fatalf("%s revealed a wrong value", n)
				}
			}
			_, err = v.Members()
			errs = append(errs, err)
			tampered := 0
			for _, err := range errs {
				if err != nil && !errors.Is(err, ErrTampered) {
					t.Fatalf("error %v does not report tampering", err)
				}
				if err != nil {
					tampered++
				}
			}
			if tampered == 0 {
				t.Fatal("the change went unnoticed")
			}
		})
	}
}
