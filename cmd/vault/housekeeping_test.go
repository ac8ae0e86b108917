package main

import (
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// files returns every file under root (sockets aside) with its content.
func files(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Type()&fs.ModeSocket != 0 {
			return err
		}
		b, err := os.ReadFile(path)
		out[path] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestDestroyLeavesNothing: in the default folders of a real home
// (data, state, configuration), 'vault destroy --delete-identity' leaves
// no file of the vault's and none of the identity's, and every other file
// (another vault kept under VAULT_FILE elsewhere, with its own copy in
// the same state folder, and unrelated files) byte for byte as it was. A
// wrong name first deletes nothing.
func TestDestroyLeavesNothing(t *testing.T) {
	c := newCLI(t)
	home := c.env["HOME"]
	c.must("", "keygen", "--no-passphrase")
	c.must("", "init", "--me", "alex", "--name", "Eastside")
	c.must("pw-1\n", "add", "bank")
	c.must("", "backup")
	east := c.env["VAULT_FILE"]
	west := filepath.Join(home, "west", "west.db")
	c.env["VAULT_FILE"] = west
	if err := os.MkdirAll(filepath.Dir(west), 0o700); err != nil {
		t.Fatal(err)
	}
	c.must("", "init", "--me", "alex", "--name", "Westside")
	c.must("west-1\n", "add", "wifi")
	c.env["VAULT_FILE"] = east
	unrelated := []string{".local/share/vault/notes.txt", ".local/state/vault/notes.txt", ".config/vault/notes.txt", ".local/share/vault/backups/notes.txt"}
	for _, p := range unrelated {
		if err := os.WriteFile(filepath.Join(home, p), []byte("keep"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	before := files(t, filepath.Dir(east))
	maps.Copy(before, files(t, home))
	if code, _, _ := c.run("", "destroy", "--confirm-name", "Westside", "--delete-identity"); code != exitFailure {
		t.Fatalf("a wrong name: exit %d", code)
	}
	after := files(t, filepath.Dir(east))
	maps.Copy(after, files(t, home))
	if !maps.Equal(before, after) {
		t.Fatal("a wrong name changed files")
	}

	out := c.must("", "destroy", "--confirm-name", "Eastside", "--delete-identity", "--json")
	if !strings.Contains(out, `"checklist"`) {
		t.Fatalf("--json prints %s", out)
	}
	after = files(t, filepath.Dir(east))
	maps.Copy(after, files(t, home))
	var kept []string
	for p, content := range before {
		if got, ok := after[p]; ok {
			if got != content && !strings.HasSuffix(p, "/pins") {
				t.Errorf("%s was changed", p)
			}
			kept = append(kept, p)
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok {
			t.Errorf("%s appeared", p)
		}
	}
	// What is left is Westside's and the unrelated files, nothing else.
	for _, p := range kept {
		rel, _ := filepath.Rel(home, p)
		switch {
		case slices.Contains(unrelated, rel), strings.HasPrefix(rel, "west"+string(filepath.Separator)), rel == ".local/state/vault/pins":
		case strings.HasPrefix(rel, ".local/state/vault/vaults/"):
			// Westside's own copy, and nothing of Eastside's.
			if strings.Contains(after[filepath.Join(home, ".local/state/vault/pins")], "Eastside") {
				t.Error("the pins still name Eastside")
			}
		default:
			t.Errorf("%s is left behind", rel)
		}
	}
	if _, err := os.Stat(filepath.Join(home, ".config/vault/identity.age")); err == nil {
		t.Fatal("the identity is left")
	}
	vaults, _ := os.ReadDir(filepath.Join(home, ".local/state/vault/vaults"))
	if len(vaults) != 1 {
		t.Fatalf("%d vault folders in the state folder, want Westside's", len(vaults))
	}
}
