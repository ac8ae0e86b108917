package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// hangLimit bounds a command that must not block. It is a test timeout,
// not a measure: a command that blocks on a named pipe blocks forever.
const hangLimit = 2 * time.Minute

// runBounded runs the command and fails the test if it has not ended
// within hangLimit.
func (c *cli) runBounded(stdin string, args ...string) (code int, stdout, stderr string) {
	c.t.Helper()
	type result struct {
		code        int
		out, errout string
	}
	done := make(chan result, 1)
	go func() {
		code, out, errout := c.run(stdin, args...)
		done <- result{code, out, errout}
	}()
	select {
	case r := <-done:
		return r.code, r.out, r.errout
	case <-time.After(hangLimit):
		c.t.Fatalf("vault %v did not end: blocked on a path", args)
		return 0, "", ""
	}
}

// TestNotRegularPaths: a named pipe (which blocks whoever opens it until a
// writer comes) or a device given as the vault, the identity or the
// passphrase file is refused at once, in one line that names the path and
// what it is.
func TestNotRegularPaths(t *testing.T) {
	c := newCLI(t)
	c.must("", "keygen", "--no-passphrase")
	c.must("", "init", "--me", "alice")
	c.must("hunter2\n", "add", "airtable")
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	// An identity with a passphrase, for the passphrase file to open.
	pass := filepath.Join(dir, "pass")
	if err := os.WriteFile(pass, []byte("correct horse battery staple\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	locked := filepath.Join(dir, "locked.age")
	c.env["VAULT_PASSPHRASE_FILE"] = pass
	c.must("", "keygen", "--output", locked)
	delete(c.env, "VAULT_PASSPHRASE_FILE")

	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
		code int
	}{
		{"vault is a fifo", map[string]string{"VAULT_FILE": fifo}, fifo + " is a named pipe, not a vault file; check the path given by --vault or VAULT_FILE", exitFailure},
		{"vault is a device", map[string]string{"VAULT_FILE": "/dev/null"}, "/dev/null is a character device, not a vault file", exitFailure},
		{"identity is a fifo", map[string]string{"VAULT_IDENTITY": fifo}, fifo + " is a named pipe, not an identity file; create one with 'vault keygen', or point --identity or VAULT_IDENTITY at yours", exitBadKey},
		{"identity is /dev/null", map[string]string{"VAULT_IDENTITY": "/dev/null"}, "/dev/null is a character device, not an identity file", exitBadKey},
		{"passphrase file is a fifo", map[string]string{"VAULT_IDENTITY": locked, "VAULT_PASSPHRASE_FILE": fifo}, "VAULT_PASSPHRASE_FILE " + fifo + " is a named pipe, not a passphrase file; give the path of a file (mode 600) holding the passphrase", exitBadKey},
		{"passphrase file is /dev/null", map[string]string{"VAULT_IDENTITY": locked, "VAULT_PASSPHRASE_FILE": "/dev/null"}, "VAULT_PASSPHRASE_FILE /dev/null is a character device, not a passphrase file", exitBadKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cc := &cli{t: t, env: map[string]string{}}
			for k, v := range c.env {
				cc.env[k] = v
			}
			for k, v := range tc.env {
				cc.env[k] = v
			}
			for _, args := range [][]string{{"get", "airtable"}, {"list"}} {
				code, out, errs := cc.runBounded("", args...)
				if code != tc.code || out != "" {
					t.Errorf("vault %v: exit %d, stdout %q; want exit %d and nothing", args, code, out, tc.code)
				}
				if !strings.HasPrefix(errs, "vault: ") || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, tc.want) {
					t.Errorf("vault %v: stderr %q; want one line with %q", args, errs, tc.want)
				}
				if strings.Contains(errs, "chmod") {
					t.Errorf("vault %v: %q suggests a chmod for what is not a file", args, errs)
				}
			}
		})
	}
}

// TestIdentityFolderModes: an identity in a folder others can reach is
// refused like an identity file they can read, with the command that
// fixes it. The default folder (which vault makes 0700 and which holds
// nothing else) must be private; a folder named with VAULT_IDENTITY (a
// home folder, say) must not be writable by others, who could replace the
// key.
func TestIdentityFolderModes(t *testing.T) {
	c := newCLI(t)
	c.must("", "keygen", "--no-passphrase")
	c.must("", "init", "--me", "alice")
	c.must("hunter2\n", "add", "airtable")
	idPath := filepath.Join(c.env["HOME"], ".config", "vault", "identity.age")
	refused := func(dir string, mode os.FileMode) {
		t.Helper()
		if err := os.Chmod(dir, mode); err != nil {
			t.Fatal(err)
		}
		code, out, errs := c.runBounded("", "get", "airtable")
		want := "vault: the folder " + dir + " holding your identity is accessible by other users"
		if code == 0 || out != "" || !strings.HasPrefix(errs, want) || !strings.Contains(errs, "run: chmod 700 "+dir+"\n") || strings.Count(errs, "\n") != 1 {
			t.Errorf("folder mode %04o: exit %d, stdout %q, stderr %q; want a refusal saying chmod 700", mode, code, out, errs)
		}
	}
	accepted := func(dir string, mode os.FileMode) {
		t.Helper()
		if err := os.Chmod(dir, mode); err != nil {
			t.Fatal(err)
		}
		if code, out, errs := c.runBounded("", "get", "airtable"); code != 0 || strings.TrimSpace(out) != "hunter2" {
			t.Errorf("folder mode %04o: exit %d, stdout %q, stderr %q; want the value", mode, code, out, errs)
		}
	}
	dir := filepath.Dir(idPath)
	for _, mode := range []os.FileMode{0o777, 0o755, 0o750, 0o710, 0o701, 0o770} {
		refused(dir, mode)
	}
	accepted(dir, 0o700)

	// The same key, named by VAULT_IDENTITY, in a folder of its own.
	other := filepath.Join(t.TempDir(), "keys")
	if err := os.Mkdir(other, 0o700); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(idPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(other, "me.age"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	c.env["VAULT_IDENTITY"] = filepath.Join(other, "me.age")
	for _, mode := range []os.FileMode{0o777, 0o775, 0o757, 0o722} {
		refused(other, mode)
	}
	for _, mode := range []os.FileMode{0o700, 0o750, 0o755} {
		accepted(other, mode)
	}
}

// TestTornCopyMessage: a copy of the vault file whose first blocks a sync
// tool had not written yet is reported as damaged, with the hint that
// says what to do, not as "not a vault file; check the path".
func TestTornCopyMessage(t *testing.T) {
	c := newCLI(t)
	c.must("", "keygen", "--no-passphrase")
	c.must("", "init", "--me", "alice")
	c.must("hunter2\n", "add", "airtable")
	data, err := os.ReadFile(c.env["VAULT_FILE"])
	if err != nil {
		t.Fatal(err)
	}
	clear(data[:len(data)/2])
	torn := filepath.Join(t.TempDir(), "torn.db")
	if err := os.WriteFile(torn, data, 0o600); err != nil {
		t.Fatal(err)
	}
	// A machine that never opened the vault: nothing to rebuild it from.
	fresh := &cli{t: t, env: map[string]string{
		"HOME":           filepath.Join(t.TempDir(), "home"),
		"VAULT_FILE":     torn,
		"VAULT_IDENTITY": filepath.Join(c.env["HOME"], ".config", "vault", "identity.age"),
	}}
	code, out, errs := fresh.runBounded("", "list")
	if code != exitFailure || out != "" || !strings.Contains(errs, "is damaged") || !strings.Contains(errs, "restore the file from a backup copy") || strings.Contains(errs, "not a vault file") {
		t.Fatalf("exit %d, stdout %q, stderr %q; want a damaged-file error with its hint", code, out, errs)
	}
}
