package vault

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestWritePrivateFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.conf")
	mode := func() os.FileMode {
		t.Helper()
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return info.Mode().Perm()
	}
	// A new file, and then replacing a private one.
	for _, content := range []string{"first", "second"} {
		if err := WritePrivateFile(path, []byte(content)); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(path); string(b) != content {
			t.Fatalf("content %q, want %q", b, content)
		}
		if m := mode(); m != 0o600 {
			t.Fatalf("mode %04o", m)
		}
	}
	// A file the group or others can read is left alone; one they can only
	// write (it is replaced, not written through) is not refused.
	for _, tt := range []struct {
		perm os.FileMode
		want error
	}{
		{0o644, ErrInsecureFile},
		{0o640, ErrInsecureFile},
		{0o604, ErrInsecureFile},
		{0o620, nil},
		{0o400, nil},
	} {
		if err := os.Chmod(path, tt.perm); err != nil {
			t.Fatal(err)
		}
		err := WritePrivateFile(path, []byte("third"))
		if tt.want == nil {
			if err != nil {
				t.Fatalf("mode %04o: %v", tt.perm, err)
			}
			if m := mode(); m != 0o600 {
				t.Fatalf("mode %04o after replacing a %04o file", m, tt.perm)
			}
			continue
		}
		if !errors.Is(err, tt.want) {
			t.Fatalf("mode %04o: %v, want %v", tt.perm, err, tt.want)
		}
		if b, _ := os.ReadFile(path); string(b) == "third" {
			t.Fatalf("mode %04o: the file was replaced", tt.perm)
		}
		if m := mode(); m != tt.perm {
			t.Fatalf("mode changed from %04o to %04o", tt.perm, m)
		}
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(path, link); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{link, dir, filepath.Join(dir, "missing", "app.conf")} {
		if err := WritePrivateFile(bad, []byte("x")); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", bad, err)
		}
	}
	// Nothing is left beside the file.
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Fatalf("the folder holds %d entries", len(entries))
	}
}
