package vault

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// tail is a distinctive chunk of a stored value: the end of its sealed
// bytes, random, found nowhere else.
func tail(t *testing.T, v *Vault, name string) []byte {
	t.Helper()
	ct := storedValue(t, v, name)
	if ct == nil {
		t.Fatalf("no stored value for %s", name)
	}
	return bytes.Clone(ct[len(ct)-48:])
}

// filesHolding returns the files under the roots whose raw bytes contain chunk.
func filesHolding(t *testing.T, chunk []byte, roots ...string) []string {
	t.Helper()
	var out []string
	for _, root := range roots {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.Type().IsRegular() {
				return nil
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if bytes.Contains(b, chunk) {
				out = append(out, path)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestDeletedCiphertextLeavesFiles: a purge, an unshare and a member's
// removal each make ciphertext dead (the purged values; the values
// re-encrypted without someone). Afterwards no file the acting member's
// machine holds (the shared file, this machine's copy, the spare), nor
// another member's machine once it took the change in, holds a byte of
// it. The shared file is written in place here (the rule that writes a
// bloated file afresh is off), so what keeps it clean is the rule that a
// write which deletes something writes the file afresh. Before that rule,
// and before this machine's copy cleared its freed pages, both kept the
// old bytes (seen).
func TestDeletedCiphertextLeavesFiles(t *testing.T) {
	old := bloatSlack
	t.Cleanup(func() { bloatSlack = old })
	bloatSlack = 1 << 40
	for _, c := range []struct {
		name string
		// act makes the ciphertexts of the values it returns dead.
		act func(t *testing.T, v *Vault) []string
	}{
		{"purge", func(t *testing.T, v *Vault) []string {
			for _, n := range []string{"s03", "s07"} {
				if err := v.Remove(n); err != nil {
					t.Fatal(err)
				}
				if err := v.Purge(n); err != nil {
					t.Fatal(err)
				}
			}
			return nil
		}},
		{"unshare", func(t *testing.T, v *Vault) []string {
			if _, err := v.Unshare("s05", []string{"carol"}); err != nil {
				t.Fatal(err)
			}
			return nil
		}},
		{"member removal", func(t *testing.T, v *Vault) []string {
			if _, err := v.RemoveMember("carol", false, nil); err != nil {
				t.Fatal(err)
			}
			return nil
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := newGroup(t, Classic, "alice", "bob", "carol")
			v := g.as("alice")
			var entries []Entry
			for i := range 40 {
				// Values of several KB, some larger than a page.
				val := bytes.Repeat([]byte{byte('a' + i%26)}, 1000+i*500)
				entries = append(entries, Entry{Secret: NewSecret{Name: fmt.Sprintf("s%02d", i), Share: []string{"bob", "carol"}}, Value: NewValue(val)})
			}
			if err := v.AddMany(entries); err != nil {
				t.Fatal(err)
			}
			// bob's machine has everything as it was.
			g.do("bob", func(*Vault) {})
			chunks := map[string][]byte{}
			for i := range 40 {
				n := fmt.Sprintf("s%02d", i)
				chunks[n] = tail(t, v, n)
			}
			if h := filesHolding(t, chunks["s03"], g.path); len(h) == 0 {
				t.Fatal("the chunk searched for is not in the file to begin with")
			}
			fresh := v.freshWrites
			c.act(t, v)
			live := map[string]bool{}
			for i := range 40 {
				n := fmt.Sprintf("s%02d", i)
				if ct := storedValue(t, v, n); bytes.Contains(ct, chunks[n]) {
					live[n] = true
				}
			}
			if len(live) == 40 {
				t.Fatal("no value's ciphertext died")
			}
			g.do("bob", func(*Vault) {})
			for n, chunk := range chunks {
				if live[n] {
					continue
				}
				if h := filesHolding(t, chunk, g.path, g.state["alice"], g.state["bob"]); len(h) > 0 {
					t.Errorf("the dead ciphertext of %s is still in %s", n, strings.Join(h, ", "))
				}
			}
			if v.freshWrites == fresh {
				t.Error("the shared file was not written afresh")
			}
			// Every value still live reads back.
			g.do("bob", func(v *Vault) {
				for n := range live {
					if _, err := v.Reveal(n, 0); err != nil {
						t.Errorf("bob reads %s: %v", n, err)
					}
				}
			})
		})
	}
}

// plant writes marker into the free pages of the bbolt file at path, as a
// program that wrote a value and deleted it would leave it (an older
// version of vault changing the shared file in place, say), and returns
// the file's size.
func plant(t *testing.T, path string, bucket string, marker []byte) int64 {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, del := range []bool{false, true} {
		if err := db.Update(func(tx *bolt.Tx) error {
			b := tx.Bucket([]byte(bucket))
			for i := range 300 {
				k := []byte(fmt.Sprintf("planted-%04d", i))
				if del {
					if err := b.Delete(k); err != nil {
						return err
					}
					continue
				}
				if err := b.Put(k, bytes.Repeat(marker, 3000/len(marker))); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if h := filesHolding(t, marker, path); len(h) == 0 {
		t.Fatal("the marker is not in the file's free pages")
	}
	return info.Size()
}

// TestCompact: a shared file and a copy of this machine's whose free pages
// hold deleted bytes (planted, as an older version's changes in place
// would leave them): Compact writes the shared file afresh, smaller and
// without them, and clears them from this machine's copy; the vault is
// whole afterwards, for another member too.
func TestCompact(t *testing.T) {
	g := newGroup(t, Classic, "alice", "bob")
	g.do("alice", func(v *Vault) {
		for i := range 20 {
			if _, err := v.Add(NewSecret{Name: fmt.Sprintf("s%02d", i), Share: []string{"bob"}}, NewValue([]byte(fmt.Sprintf("value-%02d", i)))); err != nil {
				t.Fatal(err)
			}
		}
	})
	marker := []byte("PLANTED-DELETED-BYTES;")
	v := g.as("alice")
	rep := v.repPath
	v.Close()
	bloated := plant(t, g.path, bBlobs, marker)
	plant(t, rep, bBlobs, marker)

	v = g.as("alice")
	r, err := v.Compact()
	if err != nil {
		t.Fatal(err)
	}
	if r.Before != bloated || r.After >= r.Before {
		t.Fatalf("compact: %+v; the file was %d bytes", r, bloated)
	}
	info, err := os.Stat(g.path)
	if err != nil || info.Size() != r.After {
		t.Fatalf("the file is %v bytes, the report says %d (%v)", info.Size(), r.After, err)
	}
	if h := filesHolding(t, marker, g.path, g.state["alice"]); len(h) > 0 {
		t.Fatalf("deleted bytes are still in %s", strings.Join(h, ", "))
	}
	if r.GitRepo != "" {
		t.Fatalf("not in a git working tree, but the report names %s", r.GitRepo)
	}
	g.do("bob", func(v *Vault) {
		for i := range 20 {
			if got := reveal(t, v, fmt.Sprintf("s%02d", i)); got != fmt.Sprintf("value-%02d", i) {
				t.Fatalf("bob reads %q", got)
			}
		}
	})
	v.Close()

	// A file others may only read is not compacted, and left as it was.
	if err := os.Chmod(g.path, 0o444); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(g.path)
	v = g.as("alice")
	_, err = v.Compact()
	mustIs(t, err, ErrReadOnly)
	after, _ := os.ReadFile(g.path)
	if !bytes.Equal(before, after) {
		t.Fatal("a read-only file was changed")
	}
}

// TestGitTop: a file in a git working tree (a .git folder, or the .git
// file of a linked worktree) names the tree's top; one outside names none.
func TestGitTop(t *testing.T) {
	dir := t.TempDir()
	repo := filepath.Join(dir, "repo")
	wt := filepath.Join(dir, "wt")
	for _, d := range []string{filepath.Join(repo, ".git"), filepath.Join(repo, "sub", "deeper"), filepath.Join(dir, "plain"), wt} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(wt, ".git"), []byte("gitdir: elsewhere\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ path, want string }{
		{filepath.Join(repo, "vault.db"), repo},
		{filepath.Join(repo, "sub", "deeper", "vault.db"), repo},
		{filepath.Join(wt, "vault.db"), wt},
		{filepath.Join(dir, "plain", "vault.db"), ""},
	} {
		if got := GitTop(c.path); got != c.want && !(c.want == "" && !strings.HasPrefix(got, dir)) {
			t.Errorf("GitTop(%s) = %q, want %q", c.path, got, c.want)
		}
	}
}

// TestBackup: a backup is the vault, compact and encrypted as it is: a
// member opens it as the same vault and reads its values; no value is in
// it in plain text; it is mode 600, named after the day, and never
// replaces a file (a second backup the same day, or a file already of
// that name, gets the next name).
func TestBackup(t *testing.T) {
	g := newGroup(t, Classic, "alice", "bob")
	const plain = "backup-plaintext-7f3a"
	dir := filepath.Join(t.TempDir(), "backups")
	var first, second string
	g.do("alice", func(v *Vault) {
		if _, err := v.Add(NewSecret{Name: "bank", Share: []string{"bob"}}, NewValue([]byte(plain))); err != nil {
			t.Fatal(err)
		}
		var err error
		if first, err = v.Backup(dir); err != nil {
			t.Fatal(err)
		}
		if second, err = v.Backup(dir); err != nil {
			t.Fatal(err)
		}
	})
	if filepath.Base(first) != "vault-2026-11-26.db" || filepath.Base(second) != "vault-2026-11-26-2.db" {
		t.Fatalf("backups named %s and %s", first, second)
	}
	// A file already there keeps its name and content.
	precious := filepath.Join(dir, "vault-2026-11-26-3.db")
	if err := os.WriteFile(precious, []byte("not a backup"), 0o600); err != nil {
		t.Fatal(err)
	}
	var third string
	g.do("alice", func(v *Vault) {
		var err error
		if third, err = v.Backup(dir); err != nil {
			t.Fatal(err)
		}
	})
	if filepath.Base(third) != "vault-2026-11-26-4.db" {
		t.Fatalf("third backup named %s", third)
	}
	if b, _ := os.ReadFile(precious); string(b) != "not a backup" {
		t.Fatal("a backup replaced a file")
	}
	for _, b := range []string{first, second, third} {
		info, err := os.Stat(b)
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != 0o600 {
			t.Fatalf("%s has mode %04o", b, info.Mode().Perm())
		}
		if h := filesHolding(t, []byte(plain), b); len(h) > 0 {
			t.Fatalf("%s holds the value in plain text", b)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 4 {
		t.Fatalf("the folder holds %d files, want 4 (a temporary file left?)", len(entries))
	}
	// bob opens the backup as the vault he knows, from his own machine.
	g.do("bob", func(v *Vault) {})
	bobID := g.opts("bob")
	v, err := Open(first, bobID)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if got := reveal(t, v, "bank"); got != plain {
		t.Fatalf("bob reads %q from the backup", got)
	}
	// And a member whose machine never saw the vault opens it too.
	carol := Options{Identity: g.ids["alice"], Clock: g.clock, StateDir: t.TempDir()}
	w, err := Open(second, carol)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if got := reveal(t, w, "bank"); got != plain {
		t.Fatalf("a fresh machine reads %q from the backup", got)
	}
}
