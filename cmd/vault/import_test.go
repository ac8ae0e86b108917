package main

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mutual-aid-vault/vault/vault"
)

// TestImportLarge: a thousand logins come in with one command, saying how
// far it is as it goes, and each can be read back.
func TestImportLarge(t *testing.T) {
	c := newCLI(t)
	c.must("", "keygen", "--no-passphrase")
	c.must("", "init", "--me", "alice")
	var b strings.Builder
	b.WriteString("name,username,password\n")
	for i := range 1000 {
		fmt.Fprintf(&b, "site-%04d,user%d,pw-%04d\n", i, i, i)
	}
	export := filepath.Join(t.TempDir(), "big.csv")
	if err := os.WriteFile(export, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := c.run("", "import", "csv", export)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if out != "" {
		t.Errorf("stdout: %q", out)
	}
	for _, want := range []string{"vault: importing: 50 of 1000\n", "vault: importing: 1000 of 1000\n", "vault: imported 1000 secrets, shared with alice; 0 skipped\n"} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
	if strings.Contains(errs, "pw-0") {
		t.Error("a value on stderr")
	}
	for _, i := range []int{0, 500, 999} {
		if got := c.must("", "get", fmt.Sprintf("site-%04d", i)); got != fmt.Sprintf("pw-%04d\n", i) {
			t.Errorf("site-%04d: %q", i, got)
		}
	}
}

func TestShellQuote(t *testing.T) {
	tests := []struct{ in, want string }{
		{"export.csv", "export.csv"},
		{"/home/kim/Downloads/bitwarden_export_2026.json", "/home/kim/Downloads/bitwarden_export_2026.json"},
		{"my export.csv", "'my export.csv'"},
		{"it's.csv", `'it'\''s.csv'`},
		{"$(rm -rf ~).csv", "'$(rm -rf ~).csv'"},
		{"", "''"},
	}
	for _, tt := range tests {
		if got := shellQuote(tt.in); got != tt.want {
			t.Errorf("shellQuote(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestInExportOrder(t *testing.T) {
	got := inExportOrder([]vault.ImportSkip{{From: "line 10"}, {From: "item 3"}, {From: "line 2"}, {From: "line 10", Name: "b"}})
	want := []vault.ImportSkip{{From: "line 2"}, {From: "item 3"}, {From: "line 10"}, {From: "line 10", Name: "b"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%v", got)
	}
}

func TestCappedBuffer(t *testing.T) {
	c := &cappedBuffer{max: 5}
	for _, s := range []string{"abc", "def", "ghi"} {
		if n, err := c.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatal(n, err)
		}
	}
	if c.buf.String() != "abcde" {
		t.Errorf("%q", c.buf.String())
	}
}
