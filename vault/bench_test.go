package vault

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// The benchmark vault: 1,000 secrets, each shared with all 20 members. It
// is built once per test binary and copied for benchmarks that change it.
const (
	benchSecrets = 1000
	benchMembers = 20
)

var benchFixture struct {
	once sync.Once
	dir  string
	ids  []*Identity
	err  error
}

func benchVault(b *testing.B) (string, []*Identity) {
	b.Helper()
	f := &benchFixture
	f.once.Do(func() {
		f.dir, f.err = os.MkdirTemp("", "vault-bench-")
		if f.err != nil {
			return
		}
		f.err = func() error {
			for range benchMembers {
				id, err := GenerateIdentity(Classic)
				if err != nil {
					return err
				}
				f.ids = append(f.ids, id)
			}
			v, err := Create(filepath.Join(f.dir, "vault.db"), CreateOptions{Options: Options{Identity: f.ids[0]}, MemberName: "m00", PublicKey: f.ids[0].PublicKey()})
			if err != nil {
				return err
			}
			defer v.Close()
			for i := 1; i < benchMembers; i++ {
				if _, err := v.AddMember(NewMember{Name: fmt.Sprintf("m%02d", i), PublicKey: f.ids[i].PublicKey(), Groups: []string{"all"}}); err != nil {
					return err
				}
			}
			for i := range benchSecrets {
				if _, err := v.Add(NewSecret{Name: fmt.Sprintf("secret-%04d", i), Share: []string{"@all"}}, NewValue([]byte("value"))); err != nil {
					return err
				}
			}
			return nil
		}()
	})
	if f.err != nil {
		b.Fatal(f.err)
	}
	return filepath.Join(f.dir, "vault.db"), f.ids
}

func copyFile(b *testing.B, from, to string) {
	b.Helper()
	src, err := os.Open(from)
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		b.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkOpenGet is what `vault get` does once the process has started:
// check and open the file, find the member's key wrap, read one value.
func BenchmarkOpenGet(b *testing.B) {
	path, ids := benchVault(b)
	id := ids[benchMembers/2]
	for b.Loop() {
		v, err := Open(path, Options{Identity: id})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := v.Reveal("secret-0500", 0); err != nil {
			b.Fatal(err)
		}
		v.Close()
	}
}

// BenchmarkAdd adds secrets shared with all 20 members to the 1,000-secret
// vault, one committed transaction each.
func BenchmarkAdd(b *testing.B) {
	path, ids := benchVault(b)
	mine := filepath.Join(b.TempDir(), "vault.db")
	copyFile(b, path, mine)
	v, err := Open(mine, Options{Identity: ids[0]})
	if err != nil {
		b.Fatal(err)
	}
	defer v.Close()
	i := 0
	for b.Loop() {
		i++
		if _, err := v.Add(NewSecret{Name: fmt.Sprintf("new-%d", i), Share: []string{"@all"}}, NewValue([]byte("value"))); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRemoveMember removes a member who can read all 1,000 secrets:
// every one is decrypted and re-encrypted to the 19 others, and the vault
// key is replaced.
func BenchmarkRemoveMember(b *testing.B) {
	path, ids := benchVault(b)
	mine := filepath.Join(b.TempDir(), "vault.db")
	for b.Loop() {
		b.StopTimer()
		copyFile(b, path, mine)
		v, err := Open(mine, Options{Identity: ids[0]})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		r, err := v.RemoveMember("m05", false, nil)
		if err != nil {
			b.Fatal(err)
		}
		if len(r.Reencrypted) != benchSecrets {
			b.Fatalf("re-encrypted %d secrets", len(r.Reencrypted))
		}
		b.StopTimer()
		v.Close()
		b.StartTimer()
	}
}

// BenchmarkReminders is the check every command makes before it runs, on
// the 1,000-secret vault: with nothing due for the member (the summary
// answers), and with 100 of their secrets overdue (the index is read for
// the names).
func BenchmarkReminders(b *testing.B) {
	path, ids := benchVault(b)
	mine := filepath.Join(b.TempDir(), "vault.db")
	copyFile(b, path, mine)
	v, err := Open(mine, Options{Identity: ids[0]})
	if err != nil {
		b.Fatal(err)
	}
	defer v.Close()
	b.Run("nothing-due", func(b *testing.B) {
		for b.Loop() {
			r, err := v.Reminders()
			if err != nil || !r.Empty() {
				b.Fatal(r, err)
			}
		}
	})
	for i := 0; i < benchSecrets; i += 10 {
		last := time.Now().AddDate(-1, 0, 0)
		if _, err := v.Edit(fmt.Sprintf("secret-%04d", i), SecretEdit{LastRotated: &last}); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("100-overdue", func(b *testing.B) {
		for b.Loop() {
			r, err := v.Reminders()
			if err != nil || len(r.Overdue) != benchSecrets/10 {
				b.Fatal(len(r.Overdue), err)
			}
		}
	})
}

// TestMain removes the benchmark vault, which outlives single benchmarks.
func TestMain(m *testing.M) {
	code := m.Run()
	if benchFixture.dir != "" {
		os.RemoveAll(benchFixture.dir)
	}
	os.Exit(code)
}
