package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mutual-aid-vault/vault/vault"
)

// recordingTTY types a passphrase at every prompt and keeps each buffer it
// handed out, to look at after the program is done with them.
type recordingTTY struct {
	typed  string
	handed [][]byte
}

func (*recordingTTY) Available() bool { return true }

func (r *recordingTTY) ReadSecret(string) ([]byte, error) {
	b := []byte(r.typed)
	r.handed = append(r.handed, b)
	return b, nil
}

func allZero(b []byte) bool { return len(bytes.Trim(b, "\x00")) == 0 }

// TestUnlockWipesPassphrase: the passphrase typed to unlock the identity is
// wiped once the identity is unlocked, right or wrong: the buffer the
// terminal handed over, and the one copy made of it, which
// vault.ReadIdentity wipes. (Issue 10: a core dump of a waiting 'vault get'
// held the passphrase three times.)
func TestUnlockWipesPassphrase(t *testing.T) {
	const pass = "correct horse battery staple"
	dir := t.TempDir()
	path := filepath.Join(dir, "identity.age")
	id, err := vault.GenerateIdentity(vault.Classic)
	if err != nil {
		t.Fatal(err)
	}
	if err := vault.WriteIdentity(path, id, vault.NewValue([]byte(pass)), vault.IdentityOptions{ScryptWorkFactor: 10}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		typed   string
		wantErr error
	}{
		{"right", pass, nil},
		{"wrong", "not the passphrase", vault.ErrWrongPassphrase},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tty := &recordingTTY{typed: tc.typed}
			a := &app{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard,
				getenv: func(string) string { return "" }, tty: tty}
			got, err := a.unlockIdentity(path, false)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("unlock: %v, want %v", err, tc.wantErr)
			}
			if err == nil && got.PublicKey() != id.PublicKey() {
				t.Fatal("unlocked a different identity")
			}
			if len(tty.handed) == 0 {
				t.Fatal("no prompt")
			}
			for i, b := range tty.handed {
				if !allZero(b) {
					t.Errorf("the buffer of prompt %d still holds the passphrase: %q", i+1, b)
				}
			}
		})
	}
}

// TestReadIdentityWipesValue: the Value the ask function returns is wiped
// once the identity is read, whether the passphrase was right or not.
func TestReadIdentityWipesValue(t *testing.T) {
	const pass = "correct horse battery staple"
	path := filepath.Join(t.TempDir(), "identity.age")
	id, err := vault.GenerateIdentity(vault.Classic)
	if err != nil {
		t.Fatal(err)
	}
	if err := vault.WriteIdentity(path, id, vault.NewValue([]byte(pass)), vault.IdentityOptions{ScryptWorkFactor: 10}); err != nil {
		t.Fatal(err)
	}
	for _, typed := range []string{pass, "wrong one"} {
		v := vault.NewValue([]byte(typed))
		_, _ = vault.ReadIdentity(path, func() (vault.Value, error) { return v, nil })
		if !allZero(v.Bytes()) {
			t.Errorf("the passphrase Value still holds %q", v.Bytes())
		}
	}
}

// TestPassphraseFileRead: VAULT_PASSPHRASE_FILE is read whole into one
// buffer (see readPassphraseFile), trimmed of one line ending, and refused
// when empty or too large.
func TestPassphraseFileRead(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, content, want, err string
	}{
		{"plain", "a passphrase", "a passphrase", ""},
		{"newline", "a passphrase\n", "a passphrase", ""},
		{"crlf", "a passphrase\r\n", "a passphrase", ""},
		{"inner newline kept", "two\nlines\n", "two\nlines", ""},
		{"exactly the cap", strings.Repeat("p", maxPassphraseFile), strings.Repeat("p", maxPassphraseFile), ""},
		{"empty", "", "", "is empty"},
		{"newline only", "\n", "", "is empty"},
		{"too large", strings.Repeat("p", maxPassphraseFile+1), "", "larger than a passphrase can be"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-"))
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			v, err := readPassphraseFile(path)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(v.Bytes()) != tc.want {
				t.Fatalf("read %q, want %q", v.Bytes(), tc.want)
			}
		})
	}
}

// TestReadSecretLine: a hidden line is read as term.ReadPassword reads it,
// and refused past maxLine.
func TestReadSecretLine(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
		err            error
	}{
		{"line", "secret\nnext", "secret", nil},
		{"backspace", "sec\bcret\n", "secret", nil},
		{"backspace at start", "\b\bab\n", "ab", nil},
		{"carriage return dropped", "sec\rret\r\n", "secret", nil},
		{"empty line", "\n", "", nil},
		{"end of input ends a line", "secret", "secret", nil},
		{"end of input alone", "", "", io.EOF},
		{"exactly maxLine", strings.Repeat("x", maxLine) + "\n", strings.Repeat("x", maxLine), nil},
		{"longer than maxLine", strings.Repeat("x", maxLine+1) + "\n", "", errLongLine},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readSecretLine(strings.NewReader(tc.in))
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if string(got) != tc.want {
				t.Fatalf("read %q, want %q", got, tc.want)
			}
			if cap(got) != len(got) {
				t.Fatalf("the line has room for %d more bytes: the caller's wipe would not reach them", cap(got)-len(got))
			}
		})
	}
}

// FuzzReadSecretLine: any input gives a line without a newline, within
// maxLine, or an error, never a panic.
func FuzzReadSecretLine(f *testing.F) {
	for _, s := range []string{"secret\n", "\b\b\n", "a\rb", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := readSecretLine(bytes.NewReader(in))
		if err != nil {
			return
		}
		if len(got) > maxLine || bytes.ContainsAny(got, "\n\r\b") {
			t.Fatalf("read %q", got)
		}
	})
}
