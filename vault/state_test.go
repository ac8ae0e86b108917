package vault

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStateRemembersWrapAndWarnsOnRollback: the state dir makes the next
// unlock start at the member's own key wrap, and an older copy of the file
// than one seen before raises a warning.
func TestStateRemembersWrapAndWarnsOnRollback(t *testing.T) {
	g := newGroup(t, Classic, "alice", "bob", "carol")
	state := filepath.Join(t.TempDir(), "state")
	open := func() *Vault {
		v, err := Open(g.path, Options{Identity: g.ids["bob"], Clock: g.clock, StateDir: state})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	v := open()
	wrap := v.wrapID
	v.Close()
	files, _ := filepath.Glob(filepath.Join(state, "*.json"))
	if len(files) != 1 {
		t.Fatalf("state files: %v", files)
	}
	if info, _ := os.Stat(files[0]); info.Mode().Perm() != 0o600 {
		t.Fatalf("state file mode %v", info.Mode())
	}
	if st := open(); st.readState().Wrap != wrap || len(st.Warnings()) != 0 {
		t.Fatalf("state = %+v, warnings %v", st.readState(), st.Warnings())
	} else {
		st.Close()
	}

	old, err := os.ReadFile(g.path)
	if err != nil {
		t.Fatal(err)
	}
	g.do("alice", func(v *Vault) {
		if _, err := v.Add(NewSecret{Name: "new"}, NewValue([]byte("x"))); err != nil {
			t.Fatal(err)
		}
	})
	open().Close() // bob sees the newer file
	if err := os.WriteFile(g.path, old, 0o600); err != nil {
		t.Fatal(err)
	}
	v = open()
	defer v.Close()
	if w := v.Warnings(); len(w) != 1 || !strings.Contains(w[0], "older than one opened here before") {
		t.Fatalf("warnings = %v", w)
	}
}
