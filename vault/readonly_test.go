package vault

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestReadOnlyFile: a shared file this process may not write opens for
// reading, also on a machine that never saw it; a change fails with
// ErrReadOnly saying why, and the file is left as it was.
func TestReadOnlyFile(t *testing.T) {
	g := newGroup(t, Classic, "alice", "bob")
	g.do("alice", func(v *Vault) {
		if _, err := v.Add(NewSecret{Name: "a", Share: []string{"bob"}}, NewValue([]byte("one"))); err != nil {
			t.Fatal(err)
		}
	})
	check := func(why string) {
		t.Helper()
		before, err := os.ReadFile(g.path)
		if err != nil {
			t.Fatal(err)
		}
		for _, who := range []string{"alice", "bob"} {
			g.do(who, func(v *Vault) {
				if got := reveal(t, v, "a"); got != "one" {
					t.Fatalf("%s reads %q", who, got)
				}
				_, err := v.Set("a", NewValue([]byte("two")))
				mustIs(t, err, ErrReadOnly)
				if !strings.Contains(err.Error(), why) {
					t.Fatalf("the error does not say %q: %v", why, err)
				}
			})
		}
		after, err := os.ReadFile(g.path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(before, after) {
			t.Fatal("a read-only file was changed")
		}
	}
	if err := os.Chmod(g.path, 0o444); err != nil {
		t.Fatal(err)
	}
	check("is read-only (mode 0444)")
	if err := os.Chmod(g.path, 0o600); err != nil {
		t.Fatal(err)
	}
	// chattr +i needs root and a file system with the flag.
	if os.Geteuid() == 0 {
		if _, err := exec.LookPath("chattr"); err == nil && exec.Command("chattr", "+i", g.path).Run() == nil {
			t.Cleanup(func() { exec.Command("chattr", "-i", g.path).Run() })
			check("is immutable (chattr +i)")
			if err := exec.Command("chattr", "-i", g.path).Run(); err != nil {
				t.Fatal(err)
			}
		} else {
			t.Log("chattr +i is not available here; the immutable case is not tested")
		}
	}
	g.do("alice", func(v *Vault) {
		if _, err := v.Set("a", NewValue([]byte("two"))); err != nil {
			t.Fatal(err)
		}
	})
}
