package vault

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func TestOpenRefusesNewerFormat(t *testing.T) {
	g := newGroup(t, Classic, "alice")
	tamper(t, g.path, func(tx *bolt.Tx) error {
		return tx.Bucket([]byte(bucketMeta)).Put([]byte(metaFormat), binary.BigEndian.AppendUint32(nil, FormatVersion+1))
	})
	_, err := Open(g.path, Options{Identity: g.ids["alice"]})
	mustIs(t, err, ErrNewerFormat)
	if want := "was written by a newer version of vault (format 2; this one reads up to 1)"; !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q does not say %q", err, want)
	}
}

func TestOpenRefusesForeignFiles(t *testing.T) {
	id, _ := GenerateIdentity(Classic)
	dir := t.TempDir()
	// A bbolt file of another program.
	other := filepath.Join(dir, "other.db")
	db, err := bolt.Open(other, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket([]byte("meta"))
		if err != nil {
			return err
		}
		return b.Put([]byte("app"), []byte("something else"))
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	text := filepath.Join(dir, "notes.txt")
	os.WriteFile(text, []byte("just some notes\n"), 0o600)
	empty := filepath.Join(dir, "empty.db")
	os.WriteFile(empty, nil, 0o600)

	for _, tt := range []struct {
		path string
		want error
	}{
		{other, ErrNotVault},
		{text, ErrNotVault},
		{empty, ErrCorrupt},
		{dir, ErrNotVault},
		{filepath.Join(dir, "missing.db"), ErrNoVault},
	} {
		t.Run(filepath.Base(tt.path), func(t *testing.T) {
			before, _ := os.ReadFile(tt.path)
			_, err := Open(tt.path, Options{Identity: id})
			mustIs(t, err, tt.want)
			after, _ := os.ReadFile(tt.path)
			if string(before) != string(after) {
				t.Fatal("Open changed the file")
			}
		})
	}
}

func TestOpenBusy(t *testing.T) {
	g := newGroup(t, Classic, "alice")
	holder := g.as("alice")
	start := time.Now()
	_, err := Open(g.path, Options{Identity: g.ids["alice"], LockTimeout: 200 * time.Millisecond})
	mustIs(t, err, ErrBusy)
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("gave up after %v", d)
	}
	holder.Close()
	v, err := Open(g.path, Options{Identity: g.ids["alice"]})
	if err != nil {
		t.Fatalf("after the holder closed: %v", err)
	}
	v.Close()
}

func TestOpenNotMember(t *testing.T) {
	g := newGroup(t, Classic, "alice")
	stranger, _ := GenerateIdentity(Classic)
	_, err := Open(g.path, Options{Identity: stranger})
	mustIs(t, err, ErrNotMember)
}
