package vault

import (
	"bytes"
	"crypto/sha256"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"filippo.io/age"
)

// tree returns every file under the roots with a hash of its content.
func tree(t *testing.T, roots ...string) map[string][32]byte {
	t.Helper()
	out := map[string][32]byte{}
	for _, root := range roots {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil && d.Type()&fs.ModeSocket == 0 {
				return err
			}
			out[path] = sha256.Sum256(b)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func sameTree(t *testing.T, what string, got, want map[string][32]byte) {
	t.Helper()
	for p, h := range want {
		if g, ok := got[p]; !ok {
			t.Errorf("%s: %s was deleted", what, p)
		} else if g != h {
			t.Errorf("%s: %s was changed", what, p)
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			t.Errorf("%s: %s appeared", what, p)
		}
	}
}

// machine is one member's machine with two vaults, as destroy finds it:
// Eastside (to destroy: its file, a conflict copy a sync tool left, a
// write cut short, a copy on a USB stick it was opened from, a backup)
// and Westside (to keep: its file, replica and backup in the same
// folders), the identity with an old one keygen --force kept, and
// unrelated files everywhere.
type machine struct {
	root, state, data, backups, config, usb string
	east, west, identity                    string
	id                                      *Identity
	clock                                   *fixedClock
}

func newMachine(t *testing.T) *machine {
	root := t.TempDir()
	m := &machine{root: root, state: filepath.Join(root, "state", "vault"), data: filepath.Join(root, "data", "vault"),
		config: filepath.Join(root, "config", "vault"), usb: filepath.Join(root, "usb"),
		clock: &fixedClock{time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)}}
	m.backups = filepath.Join(m.data, "backups")
	m.east = filepath.Join(m.data, "vault.db")
	m.west = filepath.Join(root, "west", "west.db")
	m.identity = filepath.Join(m.config, "identity.age")
	for _, d := range []string{m.data, m.config, m.usb, filepath.Dir(m.west)} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	id, err := GenerateIdentity(Classic)
	if err != nil {
		t.Fatal(err)
	}
	m.id = id
	if err := WriteIdentity(m.identity, id, Value{}, IdentityOptions{}); err != nil {
		t.Fatal(err)
	}
	write := func(path, text string) {
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	b, _ := os.ReadFile(m.identity)
	write(m.identity+".replaced-20260101-090000", string(b))
	for _, c := range []struct{ path, name string }{{m.east, "Eastside"}, {m.west, "Westside"}} {
		v, err := Create(c.path, CreateOptions{Options: m.opts(), Name: c.name, MemberName: "alice", PublicKey: id.PublicKey()})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.Add(NewSecret{Name: "bank"}, NewValue([]byte(c.name+"-password"))); err != nil {
			t.Fatal(err)
		}
		if _, err := v.Backup(m.backups); err != nil {
			t.Fatal(err)
		}
		v.Close()
	}
	// Eastside opened from a copy on a USB stick.
	copyTo := func(src, dst string) {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		write(dst, string(b))
	}
	copyTo(m.east, filepath.Join(m.usb, "east.db"))
	v, err := Open(filepath.Join(m.usb, "east.db"), m.opts())
	if err != nil {
		t.Fatal(err)
	}
	v.Close()
	// Left beside the file by a sync tool, and by a write cut short.
	copyTo(m.east, filepath.Join(m.data, "vault.sync-conflict-20261126-100000-ABC.db"))
	write(filepath.Join(m.data, ".vault.db.new-123"), "half a file")
	// Unrelated files, in every folder destroy visits.
	for _, p := range []string{filepath.Join(m.state, "notes.txt"), filepath.Join(m.data, "notes.txt"), filepath.Join(m.backups, "notes.txt"),
		filepath.Join(m.config, "notes.txt"), filepath.Join(m.usb, "photo.jpg"), filepath.Join(m.data, "vault.sync-conflict-x.db")} {
		write(p, "unrelated")
	}
	return m
}

func (m *machine) opts() Options {
	return Options{Identity: m.id, Clock: m.clock, StateDir: m.state}
}

func (m *machine) roots() []string { return []string{m.root} }

func (m *machine) destroyOptions(identity bool) DestroyOptions {
	o := DestroyOptions{Path: m.east, StateDir: m.state, BackupDir: m.backups, LockTimeout: 200 * time.Millisecond}
	if identity {
		o.IdentityPath = m.identity
	}
	return o
}

// TestDestroy: destroy deletes every file this machine holds of the vault
// (the file, the copies of it it can find, its own copies and notes in the
// state folder, and with the identity option the identity) and nothing
// else: the other vault in the same folders, and unrelated files, stay
// as they were, byte for byte. A mistyped name, and another process
// holding the vault, delete nothing.
func TestDestroy(t *testing.T) {
	for _, withIdentity := range []bool{false, true} {
		t.Run(map[bool]string{false: "vault only", true: "with identity"}[withIdentity], func(t *testing.T) {
			m := newMachine(t)
			before := tree(t, m.roots()...)
			plan, err := PlanDestroy(m.destroyOptions(withIdentity))
			if err != nil {
				t.Fatal(err)
			}
			sameTree(t, "planning", tree(t, m.roots()...), before)
			if plan.Name != "Eastside" || plan.GitRepo != "" {
				t.Fatalf("plan: name %q, git %q", plan.Name, plan.GitRepo)
			}
			eastID := plan.ID[:32]
			want := map[string]bool{
				m.east: true,
				filepath.Join(m.data, "vault.sync-conflict-20261126-100000-ABC.db"): true,
				filepath.Join(m.data, ".vault.db.new-123"):                          true,
				filepath.Join(m.usb, "east.db"):                                     true,
				filepath.Join(m.backups, "vault-2026-11-26.db"):                     true,
			}
			for p := range before {
				if strings.Contains(p, string(filepath.Separator)+eastID+"-") {
					want[p] = true
				}
			}
			if withIdentity {
				want[m.identity] = true
				want[m.identity+".replaced-20260101-090000"] = true
				if !slices.Equal(plan.OtherVaults, []string{"Westside"}) {
					t.Fatalf("other vaults the identity opens: %v", plan.OtherVaults)
				}
			}
			if got := slices.Sorted(slices.Values(plan.Files)); !slices.Equal(got, slices.Sorted(maps.Keys(want))) {
				t.Fatalf("plan lists\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(slices.Sorted(maps.Keys(want)), "\n"))
			}

			// A mistyped name deletes nothing.
			for _, typed := range []string{"", "Eastsid", "eastside", "Westside", "Eastside Mutual"} {
				_, err := plan.Destroy(typed)
				mustIs(t, err, ErrNotConfirmed)
			}
			sameTree(t, "a wrong name", tree(t, m.roots()...), before)

			// Nor does another process that has the vault open: it holds
			// a shared lock on this machine's copy while it reads (opening
			// it here would merge the conflict copy).
			for _, d := range plan.dirs {
				f, err := os.Open(filepath.Join(d, "replica.db"))
				if err != nil {
					t.Fatal(err)
				}
				if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH); err != nil {
					t.Fatal(err)
				}
				_, err = plan.Destroy("Eastside")
				mustIs(t, err, ErrBusy)
				f.Close()
			}
			sameTree(t, "a busy vault", tree(t, m.roots()...), before)

			rep, err := plan.Destroy("  Eastside\n")
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.NotOverwritten) > 0 {
				t.Fatalf("not overwritten: %v", rep.NotOverwritten)
			}
			after := tree(t, m.roots()...)
			kept := map[string][32]byte{}
			pins := filepath.Join(m.state, "pins")
			for p, h := range before {
				if !want[p] && p != pins {
					kept[p] = h
				}
			}
			delete(after, pins)
			sameTree(t, "destroy", after, kept)
			if got := slices.Sorted(slices.Values(rep.Deleted)); !slices.Equal(got, slices.Sorted(maps.Keys(want))) {
				t.Fatalf("deleted\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(slices.Sorted(maps.Keys(want)), "\n"))
			}
			// This machine forgot the vault's paths and name, not the
			// other vault's.
			b, err := os.ReadFile(pins)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(b, []byte("Eastside")) || bytes.Contains(b, []byte(m.east)) || bytes.Contains(b, []byte("east.db")) || !bytes.Contains(b, []byte("Westside")) {
				t.Fatalf("pins after destroy:\n%s", b)
			}
			if entries, _ := os.ReadDir(filepath.Join(m.state, "vaults")); len(entries) != 1 {
				t.Fatalf("the state folder keeps %d vault folders, want Westside's", len(entries))
			}
			// The other vault is whole.
			w, err := Open(m.west, m.opts())
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			if got := reveal(t, w, "bank"); got != "Westside-password" {
				t.Fatalf("Westside's value: %q", got)
			}
			// Nothing is left to destroy.
			_, err = PlanDestroy(m.destroyOptions(withIdentity))
			mustIs(t, err, ErrNoVault)
		})
	}
}

// TestDestroyLastVault: destroying the only vault a machine knows also
// deletes the pins file, and leaves no file of the vault's anywhere in
// the state, data and configuration folders.
func TestDestroyLastVault(t *testing.T) {
	root := t.TempDir()
	state, data, config := filepath.Join(root, "state"), filepath.Join(root, "data"), filepath.Join(root, "config")
	id, err := GenerateIdentity(Classic)
	if err != nil {
		t.Fatal(err)
	}
	idPath := filepath.Join(config, "identity.age")
	if err := os.MkdirAll(config, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := WriteIdentity(idPath, id, Value{}, IdentityOptions{}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(data, "vault.db")
	if err := os.MkdirAll(data, 0o700); err != nil {
		t.Fatal(err)
	}
	v, err := Create(path, CreateOptions{Options: Options{Identity: id, StateDir: state}, MemberName: "alice", PublicKey: id.PublicKey()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Add(NewSecret{Name: "bank"}, NewValue([]byte("pw"))); err != nil {
		t.Fatal(err)
	}
	// A vault file others may only read is destroyed all the same.
	v.Close()
	if err := os.Chmod(path, 0o444); err != nil {
		t.Fatal(err)
	}
	plan, err := PlanDestroy(DestroyOptions{Path: path, StateDir: state, IdentityPath: idPath, EmptyFolders: []string{data, state}})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Name != "vault.db" {
		t.Fatalf("a vault without a name is confirmed by %q, want its file's name", plan.Name)
	}
	rep, err := plan.Destroy("vault.db")
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.NotOverwritten) > 0 {
		t.Fatalf("not overwritten: %v", rep.NotOverwritten)
	}
	if left := tree(t, root); len(left) > 0 {
		t.Fatalf("left behind: %v", slices.Sorted(maps.Keys(left)))
	}
	for _, d := range []string{data, state, config} {
		if _, err := os.Stat(d); err == nil {
			t.Errorf("the empty folder %s is left", d)
		}
	}
}

// TestDestroyUnknownVault: a vault this machine never opened has no
// recorded name: it is opened with the identity Unlock gives, which
// records it; without Unlock, or with a key that does not open it, it is
// refused and nothing is deleted. A file that is not a vault is refused.
func TestDestroyUnknownVault(t *testing.T) {
	g := newGroup(t, Classic, "alice", "bob")
	fresh := t.TempDir()
	_, err := PlanDestroy(DestroyOptions{Path: g.path, StateDir: fresh})
	mustIs(t, err, ErrNoIdentity)
	stranger, err := GenerateIdentity(Classic)
	if err != nil {
		t.Fatal(err)
	}
	_, err = PlanDestroy(DestroyOptions{Path: g.path, StateDir: fresh, Unlock: func() (age.Identity, error) { return stranger, nil }})
	mustIs(t, err, ErrNotMember)
	if _, err := os.Stat(g.path); err != nil {
		t.Fatal(err)
	}
	plan, err := PlanDestroy(DestroyOptions{Path: g.path, StateDir: fresh, Unlock: func() (age.Identity, error) { return g.ids["bob"], nil }})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Name != "test" {
		t.Fatalf("name %q", plan.Name)
	}
	junk := filepath.Join(t.TempDir(), "notes.db")
	if err := os.WriteFile(junk, bytes.Repeat([]byte("not a vault "), 2000), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = PlanDestroy(DestroyOptions{Path: junk, StateDir: fresh})
	mustIs(t, err, ErrNotVault)
	if b, _ := os.ReadFile(junk); !bytes.HasPrefix(b, []byte("not a vault")) {
		t.Fatal("a file that is not a vault was changed")
	}
}

// TestShred: a file is overwritten before it is removed (a second name
// for the same file, a hard link, shows the zeros); a symbolic link is
// removed and its target left alone.
func TestShred(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "file")
	if err := os.WriteFile(f, bytes.Repeat([]byte("secret"), 500_000), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(f, f+".link"); err != nil {
		t.Skip("no hard links here")
	}
	if ok, err := shred(f); err != nil || !ok {
		t.Fatalf("shred: %v, %v", ok, err)
	}
	if _, err := os.Lstat(f); err == nil {
		t.Fatal("not removed")
	}
	b, _ := os.ReadFile(f + ".link")
	if len(b) != 3_000_000 || !bytes.Equal(b, make([]byte, len(b))) {
		t.Fatal("not overwritten with zeros")
	}
	target := filepath.Join(dir, "target")
	os.WriteFile(target, []byte("keep"), 0o600)
	os.Symlink(target, f)
	if ok, err := shred(f); err != nil || ok {
		t.Fatalf("shred of a link: %v, %v", ok, err)
	}
	if b, _ := os.ReadFile(target); string(b) != "keep" {
		t.Fatal("the link's target was changed")
	}
}

// TestDestroyLocksAgent: a running agent for the identity is locked, so
// the key leaves its memory; with the identity, its lock file goes too
// and the emptied agent folder with it.
func TestDestroyLocksAgent(t *testing.T) {
	m := newMachine(t)
	socket, _, served := startAgent(t, m.id, AgentOptions{IdentityPath: m.identity, Idle: time.Hour})
	o := m.destroyOptions(true)
	o.AgentSocket = socket
	plan, err := PlanDestroy(o)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := plan.Destroy("Eastside")
	if err != nil {
		t.Fatal(err)
	}
	if !rep.AgentLocked {
		t.Fatal("the agent was not locked")
	}
	select {
	case <-served:
	case <-time.After(5 * time.Second):
		t.Fatal("the agent still serves")
	}
	if _, err := DialAgent(socket); err == nil {
		t.Fatal("the agent still answers")
	}
	if _, err := os.Stat(filepath.Dir(socket)); err == nil {
		t.Fatalf("the agent folder is left: %v", slices.Collect(maps.Keys(tree(t, filepath.Dir(socket)))))
	}
}

// syncedBy finds a sync tool's folder by the marks it leaves at its top,
// or by its folder name, anywhere above the vault file.
func TestSyncedBy(t *testing.T) {
	for _, tc := range []struct {
		make []string // folders to make; the vault file is a/b/vault.db
		want string
	}{
		{nil, ""},
		{[]string{".stfolder"}, "Syncthing"},
		{[]string{"a/.dropbox.cache"}, "Dropbox"},
		{[]string{"a/b/.sync_0a1b2c3d.db"}, "Nextcloud or ownCloud"},
		{[]string{"a/.git"}, ""},
	} {
		top := t.TempDir()
		for _, m := range tc.make {
			if err := os.MkdirAll(filepath.Join(top, m), 0o700); err != nil {
				t.Fatal(err)
			}
		}
		if got := syncedBy(filepath.Join(top, "a/b/vault.db")); got != tc.want {
			t.Errorf("%v: syncedBy = %q, want %q", tc.make, got, tc.want)
		}
	}
	for path, want := range map[string]string{
		"/home/kim/Google Drive/team/vault.db":                             "Google Drive",
		"/Users/kim/Library/CloudStorage/OneDrive - Eastside/vault.db":     "OneDrive",
		"/Users/kim/Library/Mobile Documents/com~apple~CloudDocs/vault.db": "iCloud Drive",
	} {
		if got := syncedBy(path); got != want {
			t.Errorf("syncedBy(%s) = %q, want %q", path, got, want)
		}
	}
}
