package vault

import (
	"encoding/binary"
	"fmt"
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
		return tx.Bucket([]byte(bMeta)).Put([]byte(metaFmt), binary.BigEndian.AppendUint32(nil, FormatVersion+1))
	})
	_, err := Open(g.path, Options{Identity: g.ids["alice"]})
	mustIs(t, err, ErrNewerFormat)
	if want := "was written by a newer version of vault (format 5; this one reads up to 4)"; !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q does not say %q", err, want)
	}
}

// TestOpenRefusesOldFormats: files of the unreleased formats 1 and 2 get a
// clear message, not an attempt to read them.
func TestOpenRefusesOldFormats(t *testing.T) {
	for _, n := range []uint32{1, 2} {
		g := newGroup(t, Classic, "alice")
		tamper(t, g.path, func(tx *bolt.Tx) error {
			return tx.Bucket([]byte(bMeta)).Put([]byte(metaFmt), binary.BigEndian.AppendUint32(nil, n))
		})
		_, err := Open(g.path, Options{Identity: g.ids["alice"]})
		mustIs(t, err, ErrOldFormat)
		if want := fmt.Sprintf("unreleased test version of vault (format %d)", n); !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q does not say %q", err, want)
		}
	}
}

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

// TestOpenBusy: a command that is writing holds this machine's copy;
// another one waits for it, then says the vault is busy. Readers do not
// hold each other up.
func TestOpenBusy(t *testing.T) {
	g := newGroup(t, Classic, "alice")
	reader := g.as("alice")
	other, err := Open(g.path, g.opts("alice"))
	if err != nil {
		t.Fatalf("a second reader: %v", err)
	}
	other.Close()
	reader.Close()
	holder := g.as("alice")
	if _, err := holder.Add(NewSecret{Name: "x"}, NewValue([]byte("v"))); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	o := g.opts("alice")
	o.LockTimeout = 200 * time.Millisecond
	_, err = Open(g.path, o)
	mustIs(t, err, ErrBusy)
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("gave up after %v", d)
	}
	holder.Close()
	v, err := Open(g.path, g.opts("alice"))
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
