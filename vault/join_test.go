package vault

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestInspect(t *testing.T) {
	classic := newGroup(t, Classic, "alice")
	pq := newGroup(t, PostQuantum, "alice")
	text := filepath.Join(t.TempDir(), "notes.db")
	os.WriteFile(text, []byte("just some notes\n"), 0o600)
	for _, tc := range []struct {
		name string
		path string
		kind Kind
		err  error
	}{
		{"classic", classic.path, Classic, nil},
		{"post-quantum", pq.path, PostQuantum, nil},
		{"missing", filepath.Join(t.TempDir(), "none.db"), "", ErrNoVault},
		{"not a vault", text, "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			info, err := Inspect(tc.path)
			switch {
			case tc.name == "not a vault":
				if err == nil {
					t.Fatal("a text file passed as a vault")
				}
			case tc.err != nil:
				mustIs(t, err, tc.err)
			case err != nil:
				t.Fatal(err)
			case info.Kind != tc.kind || len(info.ID) != 64:
				t.Fatalf("got %+v, want kind %s", info, tc.kind)
			}
		})
	}
	a, _ := Inspect(classic.path)
	b, _ := Inspect(pq.path)
	if a.ID == b.ID {
		t.Fatal("two vaults have one ID")
	}
	// A copy is the same vault.
	cp := filepath.Join(t.TempDir(), "copy.db")
	if err := CopyFile(classic.path, cp); err != nil {
		t.Fatal(err)
	}
	if c, _ := Inspect(cp); c.ID != a.ID {
		t.Fatal("a copy is another vault")
	}
	mustIs(t, CopyFile(classic.path, cp), ErrExists)
	if err := CopyFile(text, filepath.Join(t.TempDir(), "x.db")); err == nil {
		t.Fatal("copied a file that is not a vault")
	}
}

// TestJoinPinsBeforeMembership: a newcomer's machine pins the vault when
// joining, so a vault swapped in before they are added is refused, and
// once added their first open welcomes them, once.
func TestJoinPinsBeforeMembership(t *testing.T) {
	g := newGroup(t, Classic, "alice")
	g.do("alice", func(v *Vault) {
		for _, n := range []string{"a", "b", "c"} {
			if _, err := v.Add(NewSecret{Name: n}, NewValue([]byte("x"))); err != nil {
				t.Fatal(err)
			}
		}
	})
	sam := g.member("sam", Classic)
	mine := filepath.Join(t.TempDir(), "vault.db")
	if err := CopyFile(g.path, mine); err != nil {
		t.Fatal(err)
	}
	if Pinned(g.state["sam"], mine) != "" {
		t.Fatal("pinned before joining")
	}
	info, err := Join(g.state["sam"], mine)
	if err != nil {
		t.Fatal(err)
	}
	if Pinned(g.state["sam"], mine) != info.ID {
		t.Fatal("not pinned by joining")
	}
	if want, _ := Inspect(g.path); info != want {
		t.Fatalf("Join returned %+v, want %+v", info, want)
	}
	// Not a member yet: ErrNotAdded, which is an ErrNotMember.
	_, err = Open(mine, Options{Identity: sam, StateDir: g.state["sam"]})
	mustIs(t, err, ErrNotAdded)
	mustIs(t, err, ErrNotMember)

	// Someone swaps in a vault of their own that adds sam: refused.
	m := newGroup(t, Classic, "mallory")
	m.do("mallory", func(v *Vault) {
		if _, err := v.AddMember(NewMember{Name: "sam", PublicKey: sam.PublicKey()}); err != nil {
			t.Fatal(err)
		}
	})
	good, _ := os.ReadFile(mine)
	planted, _ := os.ReadFile(m.path)
	os.WriteFile(mine, planted, 0o600)
	_, err = Open(mine, Options{Identity: sam, StateDir: g.state["sam"]})
	mustIs(t, err, ErrOtherVault)
	_, err = Join(g.state["sam"], mine)
	mustIs(t, err, ErrOtherVault)
	os.WriteFile(mine, good, 0o600)

	// alice adds sam (two of three secrets shared with him); sam's copy
	// gets the change.
	g.clock.t = g.clock.t.Add(24 * time.Hour)
	g.do("alice", func(v *Vault) {
		if _, err := v.AddMember(NewMember{Name: "sam", PublicKey: sam.PublicKey()}); err != nil {
			t.Fatal(err)
		}
		for _, n := range []string{"a", "c"} {
			if _, err := v.Share(n, []string{"sam"}); err != nil {
				t.Fatal(err)
			}
		}
	})
	if err := MergeFiles(mine, g.path); err != nil {
		t.Fatal(err)
	}
	v, err := Open(mine, Options{Identity: sam, StateDir: g.state["sam"]})
	if err != nil {
		t.Fatal(err)
	}
	w, ok := v.Welcome()
	if !ok || w.AddedBy != "alice" || !w.Added.Equal(g.clock.t) || w.Readable != 2 {
		t.Fatalf("welcome: %+v, %v", w, ok)
	}
	// Until marked, it stays; then it is told no more.
	if _, ok := v.Welcome(); !ok {
		t.Fatal("the welcome went before it was told")
	}
	if err := v.MarkWelcomed(); err != nil {
		t.Fatal(err)
	}
	if _, ok := v.Welcome(); ok {
		t.Fatal("welcomed twice")
	}
	v.Close()
	v, err = Open(mine, Options{Identity: sam, StateDir: g.state["sam"]})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if _, ok := v.Welcome(); ok {
		t.Fatal("welcomed again on the next open")
	}
	// The pin set before membership got the vault's name on first open.
	pins, _ := os.ReadFile(filepath.Join(g.state["sam"], "pins"))
	if !strings.Contains(string(pins), `"test"`) {
		t.Fatalf("the pin has no name:\n%s", pins)
	}
	// A member who never joined on this machine is not welcomed.
	g.do("alice", func(v *Vault) {
		if _, ok := v.Welcome(); ok {
			t.Fatal("alice was welcomed")
		}
	})
}

func TestVaultFiles(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files []string
		want  []string
	}{
		{"one", []string{"vault.db", "README.md"}, []string{"vault.db"}},
		{"none", []string{"README.md"}, nil},
		{"several", []string{"b.db", "a.db"}, []string{"a.db", "b.db"}},
		{"hidden ones do not count", []string{".old.db", "group.db"}, []string{"group.db"}},
		{"conflict copies do not count", []string{"vault.db", "vault.sync-conflict-20261126-100000-ABCDEFG.db", "vault (conflicted copy 2026-11-26).db"}, []string{"vault.db"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range tc.files {
				os.WriteFile(filepath.Join(dir, f), nil, 0o600)
			}
			os.Mkdir(filepath.Join(dir, "sub.db"), 0o700)
			got, err := VaultFiles(dir)
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestClone(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("git is needed under CI")
		}
		t.Skip("git is not installed")
	}
	env := []string{"GIT_CONFIG_NOSYSTEM=1", "HOME=" + t.TempDir(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@localhost",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@localhost"}
	opts := SyncOptions{Env: env}
	g := newGroup(t, Classic, "alice")
	root := t.TempDir()
	work := filepath.Join(root, "work")
	for _, args := range [][]string{{"init", "--quiet", "--initial-branch=main", "--bare", filepath.Join(root, "remote.git")}, {"init", "--quiet", "--initial-branch=main", work}} {
		if _, err := git(opts, root, args...); err != nil {
			t.Fatal(err)
		}
	}
	if err := CopyFile(g.path, filepath.Join(work, "group.db")); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"add", "group.db"}, {"commit", "--quiet", "-m", "x"}, {"push", "--quiet", filepath.Join(root, "remote.git"), "HEAD:refs/heads/main"}} {
		if _, err := git(opts, work, args...); err != nil {
			t.Fatal(err)
		}
	}
	dest := filepath.Join(root, "data", "group")
	if err := Clone("file://"+filepath.Join(root, "remote.git"), dest, opts); err != nil {
		t.Fatal(err)
	}
	files, err := VaultFiles(dest)
	if err != nil || !slices.Equal(files, []string{"group.db"}) {
		t.Fatalf("%q, %v", files, err)
	}
	f := filepath.Join(dest, files[0])
	if got := Origin(dest, opts); got != "file://"+filepath.Join(root, "remote.git") {
		t.Fatalf("origin %q", got)
	}
	// Nothing new: Fetch changes nothing.
	if changed, err := Fetch(f, opts); err != nil || changed {
		t.Fatalf("fetch: %v, %v", changed, err)
	}
	mustIs(t, Clone(filepath.Join(root, "remote.git"), dest, opts), ErrExists)
	// A bad address leaves nothing behind; ext:: never runs a command.
	marker := filepath.Join(root, "ran")
	for _, url := range []string{filepath.Join(root, "nothing.git"), "ext::sh -c touch% " + marker} {
		bad := filepath.Join(root, "data", "bad")
		if err := Clone(url, bad, opts); err == nil || !strings.Contains(err.Error(), "cannot clone") {
			t.Fatalf("clone %s: %v", url, err)
		}
		entries, _ := os.ReadDir(filepath.Join(root, "data"))
		if len(entries) != 1 {
			t.Fatalf("a failed clone left %v", entries)
		}
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("an ext:: address ran a command")
	}
}
