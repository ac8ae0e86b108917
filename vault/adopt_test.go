package vault

import (
	"bytes"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestAdoptKeepsOnlyTheLog: a machine's first open copies the shared file
// to start its own copy, but takes from it only operations, blobs and
// grants. A crafted file that also carries a keyset, signature verdicts,
// an index, nested buckets or odd keys has them dropped before the copy
// is used; the operations are checked and folded like any others.
func TestAdoptKeepsOnlyTheLog(t *testing.T) {
	g := newGroup(t, Classic, "alice", "bob")
	g.do("alice", func(v *Vault) {
		if _, err := v.Add(NewSecret{Name: "airtable", Share: []string{"bob"}}, NewValue([]byte("pw"))); err != nil {
			t.Fatal(err)
		}
	})
	planted := bytes.Repeat([]byte{0xee}, 32)
	tamper(t, g.path, func(tx *bolt.Tx) error {
		for _, name := range []string{bLocal, "verified", bSecrets, bNames, bFolded, "extra"} {
			b, err := tx.CreateBucketIfNotExists([]byte(name))
			if err != nil {
				return err
			}
			if err := b.Put(planted, []byte{1}); err != nil {
				return err
			}
		}
		if err := tx.Bucket([]byte(bLocal)).Put([]byte(lFormat), []byte{replicaFormat}); err != nil {
			return err
		}
		ops := tx.Bucket([]byte(bOps))
		if _, err := ops.CreateBucket(planted); err != nil {
			return err
		}
		return tx.Bucket([]byte(bGrants)).Put([]byte("odd"), []byte("key"))
	})
	v := g.as("bob")
	if !v.adopted {
		t.Fatal("the first open did not start from a copy of the shared file")
	}
	if got := reveal(t, v, "airtable"); got != "pw" {
		t.Fatalf("airtable = %q", got)
	}
	err := v.rep.View(func(tx *bolt.Tx) error {
		for _, name := range []string{bMeta, "extra", "verified"} {
			if tx.Bucket([]byte(name)) != nil {
				t.Errorf("this machine's copy kept the file's %s bucket", name)
			}
		}
		for _, name := range []string{bLocal, bSecrets, bNames, bFolded} {
			if tx.Bucket([]byte(name)).Get(planted) != nil {
				t.Errorf("this machine's copy kept what the file planted in %s", name)
			}
		}
		if tx.Bucket([]byte(bOps)).Bucket(planted) != nil {
			t.Error("this machine's copy kept a bucket nested in ops")
		}
		if tx.Bucket([]byte(bGrants)).Get([]byte("odd")) != nil {
			t.Error("this machine's copy kept an odd key")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestAdoptChecksBlobs: a blob that is not what its hash says makes a
// first open fail as damaged, adopted or not.
func TestAdoptChecksBlobs(t *testing.T) {
	g := newGroup(t, Classic, "alice", "bob")
	g.do("alice", func(v *Vault) {
		if _, err := v.Add(NewSecret{Name: "airtable", Share: []string{"bob"}}, NewValue([]byte("pw"))); err != nil {
			t.Fatal(err)
		}
	})
	tamper(t, g.path, func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bBlobs))
		k, val := b.Cursor().First()
		val = append([]byte(nil), val...)
		val[len(val)-1] ^= 1
		return b.Put(k, val)
	})
	_, err := Open(g.path, g.opts("bob"))
	mustIs(t, err, ErrCorrupt)
}

// TestAdoptInterrupted: a first open that stops after copying the shared
// file (a crash, a killed command) leaves every operation pending; the
// next open checks and folds them.
func TestAdoptInterrupted(t *testing.T) {
	g := newGroup(t, Classic, "alice", "bob")
	g.do("alice", func(v *Vault) {
		if _, err := v.Add(NewSecret{Name: "airtable", Share: []string{"bob"}}, NewValue([]byte("pw"))); err != nil {
			t.Fatal(err)
		}
	})
	v, err := newVault(g.path, g.opts("bob"))
	if err != nil {
		t.Fatal(err)
	}
	sf, err := v.openShared(g.path)
	if err != nil {
		t.Fatal(err)
	}
	v.repPath = v.replicaPath(sf.vaultID)
	if !v.adoptShared(sf) {
		t.Fatal("not adopted")
	}
	sf.close()
	v.Close()
	bob := g.as("bob")
	if got := reveal(t, bob, "airtable"); got != "pw" {
		t.Fatalf("airtable = %q", got)
	}
}
