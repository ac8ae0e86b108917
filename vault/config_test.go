package vault

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseConfig(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       Config
		err        string
	}{
		{"empty", "", Config{}, ""},
		{"comments and blanks", "# a comment\n\n   \n  # another\n", Config{}, ""},
		{"vault", "vault = /home/sam/v.db\n", Config{Vault: "/home/sam/v.db"}, ""},
		{"spaces do not count", "  vault=/home/sam/v.db   \n", Config{Vault: "/home/sam/v.db"}, ""},
		{"spaces inside a value do", "vault = /home/sam/My Vaults/v.db", Config{Vault: "/home/sam/My Vaults/v.db"}, ""},
		{"crlf", "# x\r\nvault = /v.db\r\n", Config{Vault: "/v.db"}, ""},
		{"tilde", "vault = ~/v.db", Config{Vault: "~/v.db"}, ""},
		{"an = in the value", "vault = /a=b.db", Config{Vault: "/a=b.db"}, ""},
		{"no equals", "# ok\nvault /v.db\n", Config{}, "line 2 is not 'key = value'"},
		{"no key", "= /v.db", Config{}, "line 1 has no key before '='"},
		{"unknown key", "vualt = /v.db", Config{}, `line 1 sets "vualt", which is not a setting (known: vault)`},
		{"twice", "vault = /a.db\nvault = /b.db", Config{}, "line 2 sets vault a second time"},
		{"no value", "vault =   ", Config{}, "line 1 gives vault no value"},
		{"relative", "vault = v.db", Config{}, `line 1: vault must be an absolute path (or start with ~/), not "v.db"`},
		{"control character", "vault = /v\x1b[2J.db", Config{}, "line 1 holds a control character"},
		{"not utf-8", "vault = /v\xff.db", Config{}, "not UTF-8"},
		{"too large", strings.Repeat("#", MaxConfigSize+1), Config{}, "larger than 64 KiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseConfig([]byte(tc.text))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				mustIs(t, err, ErrInvalid)
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestReadAndSetConfig(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "cfg", "config")
	// No file: nothing set.
	if c, err := ReadConfig(path); err != nil || c != (Config{}) {
		t.Fatalf("%+v, %v", c, err)
	}
	if err := SetConfig(path, "vault", "/a/vault.db"); err != nil {
		t.Fatal(err)
	}
	if c, err := ReadConfig(path); err != nil || c.Vault != "/a/vault.db" {
		t.Fatalf("%+v, %v", c, err)
	}
	for p, want := range map[string]os.FileMode{path: 0o600, filepath.Dir(path): 0o700} {
		if info, err := os.Stat(p); err != nil || info.Mode().Perm() != want {
			t.Fatalf("%s: %v, %v", p, info.Mode(), err)
		}
	}
	// Setting it again replaces the line and keeps the person's comments.
	os.WriteFile(path, []byte("# mine\nvault = /a/vault.db   # not a comment\n\n# end\n"), 0o600)
	if err := SetConfig(path, "vault", "/b/vault.db"); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if string(b) != "# mine\nvault = /b/vault.db\n\n# end\n" {
		t.Fatalf("got:\n%s", b)
	}
	// A broken file is named, and not overwritten.
	os.WriteFile(path, []byte("vault = /a.db\nwhat\n"), 0o600)
	_, err := ReadConfig(path)
	if err == nil || !strings.Contains(err.Error(), path+": line 2 is not 'key = value'") {
		t.Fatalf("read: %v", err)
	}
	if err := SetConfig(path, "vault", "/c.db"); err == nil {
		t.Fatal("rewrote a broken configuration")
	}
	if b, _ := os.ReadFile(path); string(b) != "vault = /a.db\nwhat\n" {
		t.Fatalf("changed:\n%s", b)
	}
	// Bad values and keys are refused.
	for _, kv := range [][2]string{{"vault", ""}, {"vault", "/a\n/b"}, {"vault", " /a"}, {"vault", "rel.db"}, {"other", "/a"}} {
		os.Remove(path)
		if err := SetConfig(path, kv[0], kv[1]); err == nil {
			t.Fatalf("set %q = %q", kv[0], kv[1])
		}
	}
}

// FuzzParseConfig: a configuration is outside input (people edit it); no
// text makes the parser panic, and what it accepts it reads back the same
// once written by SetConfig.
func FuzzParseConfig(f *testing.F) {
	for _, s := range []string{"", "vault = /a.db\n", "# c\nvault=~/x\r\n", "vault", "=", "vault = \x00", "vault = /a\nvault = /b"} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseConfig(b)
		if err != nil {
			if c != (Config{}) {
				t.Fatalf("an error with a result: %+v", c)
			}
			return
		}
		if c.Vault == "" {
			return
		}
		path := filepath.Join(dir, "config")
		os.Remove(path)
		if err := SetConfig(path, "vault", c.Vault); err != nil {
			t.Fatalf("cannot write back %q: %v", c.Vault, err)
		}
		again, err := ReadConfig(path)
		if err != nil || again != c {
			t.Fatalf("read back %+v, %v; want %+v", again, err, c)
		}
	})
}
