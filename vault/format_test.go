package vault

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mutual-aid-vault/vault/vault/internal/oplog"
	"github.com/mutual-aid-vault/vault/vault/internal/padme"
)

// The fixture testdata/format3.tar.gz was written by this package at
// commit 587da18, the last one before padding (shared file format 3,
// replica format 9): alice made the vault "old" with bob and carol,
// added airtable (hunter2, for bob, with a two-factor seed) and bank
// (first-bank, then second-bank, for bob and carol), and removed carol;
// then bob opened it. It holds vault.db, alice.key and bob.key (plain
// identities) and both machines' state folders.

// unpackFormat3 unpacks the fixture into a temporary folder.
func unpackFormat3(t *testing.T) string {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "format3.tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return dir
		}
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, filepath.Clean(h.Name))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(path, 0o700); err != nil {
				t.Fatal(err)
			}
		case tar.TypeReg:
			b, err := io.ReadAll(io.LimitReader(tr, 1<<20))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// fileFormat returns the shared file's format and whether it names the
// program.
func fileFormat(t *testing.T, path string) (uint32, bool) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n uint32
	var named bool
	db.View(func(tx *bolt.Tx) error {
		m := tx.Bucket([]byte(bMeta))
		n = binary.BigEndian.Uint32(m.Get([]byte(metaFmt)))
		named = m.Get([]byte(metaApp)) != nil
		return nil
	})
	return n, named
}

func replicaFormatOf(t *testing.T, v *Vault) byte {
	t.Helper()
	var f byte
	v.rep.View(func(tx *bolt.Tx) error {
		f = tx.Bucket([]byte(bLocal)).Get([]byte(lFormat))[0]
		return nil
	})
	return f
}

// TestOpensFormat3: a file and machine copies written before padding open
// and read as before (history, two-factor seeds, --ciphertext as a bare age
// file); the first change writes format 4 without the program's name, with
// the new value sealed and padded beside the old bare ones, and each
// machine's copy becomes format 10 when it next writes.
func TestOpensFormat3(t *testing.T) {
	dir := unpackFormat3(t)
	path := filepath.Join(dir, "vault.db")
	if n, named := fileFormat(t, path); n != 3 || !named {
		t.Fatalf("the fixture is format %d, named %v", n, named)
	}
	ids := map[string]*Identity{}
	for _, n := range []string{"alice", "bob"} {
		id, err := ReadIdentity(filepath.Join(dir, n+".key"), nil)
		if err != nil {
			t.Fatal(err)
		}
		ids[n] = id
	}
	clock := &fixedClock{time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)}
	opts := func(n, state string) Options {
		return Options{Identity: ids[n], Clock: clock, StateDir: filepath.Join(dir, state)}
	}
	open := func(n, state string) *Vault {
		t.Helper()
		v, err := Open(path, opts(n, state))
		if err != nil {
			t.Fatalf("open as %s (%s): %v", n, state, err)
		}
		return v
	}
	check := func(v *Vault, want map[string]string) {
		t.Helper()
		for name, val := range want {
			if got := reveal(t, v, name); got != val {
				t.Fatalf("%s = %q, want %q", name, got, val)
			}
		}
	}

	v := open("alice", "state-alice")
	check(v, map[string]string{"airtable": "hunter2", "bank": "second-bank"})
	if old, err := v.Reveal("bank", 1); err != nil || string(old.Bytes()) != "first-bank" {
		t.Fatalf("bank version 1: %v", err)
	}
	if _, err := v.TOTP("airtable", 0); err != nil {
		t.Fatal(err)
	}
	ct, err := v.Ciphertext("airtable", 0)
	if err != nil || !bytes.HasPrefix(ct, ageMagic) {
		t.Fatalf("the old value's --ciphertext is not its age file: %v", err)
	}
	if bare := storedValue(t, v, "airtable"); !bytes.Equal(bare, ct) {
		t.Fatal("an old value is not stored as its bare age file")
	}
	if val, err := decryptValue(ct, ids["alice"], -1); err != nil || string(val.Bytes()) != "hunter2" {
		t.Fatalf("the old age file: %v", err)
	}

	if _, err := v.Set("bank", NewValue([]byte("third-bank"))); err != nil {
		t.Fatal(err)
	}
	stored := storedValue(t, v, "bank")
	if bytes.HasPrefix(stored, ageMagic) || len(stored) != padme.Size(len(stored), valueFloor) {
		t.Fatalf("a new value is stored bare or unpadded (%d bytes)", len(stored))
	}
	ct, err = v.Ciphertext("bank", 0)
	if err != nil || !bytes.HasPrefix(ct, ageMagic) {
		t.Fatalf("the new value's --ciphertext is not an age file: %v", err)
	}
	if f := replicaFormatOf(t, v); f != replicaFormat {
		t.Fatalf("alice's copy is format %d after a write", f)
	}
	v.Close()
	if n, named := fileFormat(t, path); n != FormatVersion || named {
		t.Fatalf("after a change the file is format %d, named %v", n, named)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(appName)) {
		t.Fatal("the program's name is still in the file")
	}
	// Operations: the old ones as they were, the new one padded.
	versions := map[byte]int{}
	var keys *keyset
	g := open("alice", "state-alice")
	keys = vaultKeys(g)
	g.Close()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	db.View(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte(bOps)).ForEach(func(_, env []byte) error {
			versions[env[0]]++
			if e, key := oplog.FindKey(env, keys); key == nil {
				t.Error("an envelope's key is not found")
			} else if _, err := oplog.Open(env, e, key); err != nil {
				t.Error(err)
			}
			return nil
		})
	})
	db.Close()
	if versions[2] == 0 || versions[3] != 1 {
		t.Fatalf("envelope versions in the file: %v", versions)
	}

	// bob, on his machine (a format 9 copy) and on a new one.
	airtable := "hunter2"
	for _, state := range []string{"state-bob", "state-bob-new"} {
		v := open("bob", state)
		check(v, map[string]string{"airtable": airtable, "bank": "third-bank"})
		airtable = "bob's"
		if old, err := v.Reveal("bank", 2); err != nil || string(old.Bytes()) != "second-bank" {
			t.Fatalf("%s: bank version 2: %v", state, err)
		}
		if _, err := v.TOTP("airtable", 0); err != nil {
			t.Fatalf("%s: %v", state, err)
		}
		if _, err := v.Set("airtable", NewValue([]byte("bob's"))); err != nil {
			t.Fatalf("%s: %v", state, err)
		}
		if f := replicaFormatOf(t, v); f != replicaFormat {
			t.Fatalf("%s: bob's copy is format %d after a write", state, f)
		}
		v.Close()
	}
	v = open("alice", "state-alice")
	defer v.Close()
	check(v, map[string]string{"airtable": "bob's", "bank": "third-bank"})
}

// TestMergeFilesFormat3: git's merge driver, given a format 3 copy and a
// format 4 one, writes a format 4 file holding both.
func TestMergeFilesFormat3(t *testing.T) {
	dir := unpackFormat3(t)
	path := filepath.Join(dir, "vault.db")
	ours := filepath.Join(dir, "ours.db")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ours, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	id, err := ReadIdentity(filepath.Join(dir, "bob.key"), nil)
	if err != nil {
		t.Fatal(err)
	}
	v, err := Open(path, Options{Identity: id, StateDir: filepath.Join(dir, "state-bob")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Set("bank", NewValue([]byte("merged-bank"))); err != nil {
		t.Fatal(err)
	}
	v.Close()
	if err := MergeFiles(ours, path); err != nil {
		t.Fatal(err)
	}
	if n, named := fileFormat(t, ours); n != FormatVersion || named {
		t.Fatalf("the merged file is format %d, named %v", n, named)
	}
	v, err = Open(ours, Options{Identity: id, StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if got := reveal(t, v, "bank"); got != "merged-bank" {
		t.Fatalf("bank = %q", got)
	}
}
