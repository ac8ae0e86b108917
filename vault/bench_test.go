package vault

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// Benchmarks for the figures the README gives: a vault of N secrets, each
// shared with all 20 members, opened as a member on their own machine.
// The whole-command comparisons with the stock age tool and gopass are in
// bench/.
//
//	go test -run XXX -bench . -benchtime 20x ./vault/

const benchMembers = 20

type benchFixture struct {
	once sync.Once
	dir  string
	kept bool
	ids  []*Identity
	err  error
}

func loadBenchIDs(dir string) ([]*Identity, error) {
	if _, err := os.Stat(filepath.Join(dir, "done")); err != nil {
		return nil, err
	}
	var ids []*Identity
	for i := range benchMembers {
		id, err := ReadIdentity(filepath.Join(dir, fmt.Sprintf("m%02d.key", i)), nil)
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}

var benchFixtures = map[int]*benchFixture{1000: {}, 10000: {}}

// benchVault returns a vault of n secrets (built once per test binary) and
// the members' identities; member 0 is the admin who made it.
func benchVault(b *testing.B, n int) (string, []*Identity) {
	b.Helper()
	f := benchFixtures[n]
	f.once.Do(func() {
		// VAULT_BENCH_DIR keeps the vaults between runs: building the
		// 10,000-secret one takes a minute.
		if keep := os.Getenv("VAULT_BENCH_DIR"); keep != "" {
			f.dir = filepath.Join(keep, fmt.Sprint(n))
			f.kept = true
			if f.ids, f.err = loadBenchIDs(f.dir); f.err == nil {
				return
			}
			os.RemoveAll(f.dir)
			f.err = os.MkdirAll(f.dir, 0o700)
		} else {
			f.dir, f.err = os.MkdirTemp("", fmt.Sprintf("vault-bench-%d-", n))
		}
		if f.err != nil {
			return
		}
		f.ids = nil
		f.err = buildBenchVault(f.dir, n, &f.ids)
	})
	if f.err != nil {
		b.Fatal(f.err)
	}
	return filepath.Join(f.dir, "vault.db"), f.ids
}

func buildBenchVault(dir string, n int, ids *[]*Identity) error {
	for range benchMembers {
		id, err := GenerateIdentity(Classic)
		if err != nil {
			return err
		}
		*ids = append(*ids, id)
	}
	path := filepath.Join(dir, "vault.db")
	v, err := Create(path, CreateOptions{Options: Options{Identity: (*ids)[0], StateDir: filepath.Join(dir, "state-0")}, MemberName: "m00", PublicKey: (*ids)[0].PublicKey()})
	if err != nil {
		return err
	}
	defer v.Close()
	for i := 1; i < benchMembers; i++ {
		if _, err := v.AddMember(NewMember{Name: fmt.Sprintf("m%02d", i), PublicKey: (*ids)[i].PublicKey(), Groups: []string{"all"}}); err != nil {
			return err
		}
	}
	for i, id := range *ids {
		if err := WriteIdentity(filepath.Join(dir, fmt.Sprintf("m%02d.key", i)), id, Value{}, IdentityOptions{Force: true}); err != nil {
			return err
		}
	}
	defer os.WriteFile(filepath.Join(dir, "done"), nil, 0o600)
	const chunk = 1000
	for start := 0; start < n; start += chunk {
		var es []Entry
		for i := start; i < min(n, start+chunk); i++ {
			ns := NewSecret{Name: fmt.Sprintf("secret-%05d", i), Username: "user", Share: []string{"@all"}}
			if i%10 == 0 {
				ns.LastRotated = time.Now().AddDate(-1, 0, 0)
			}
			es = append(es, Entry{Secret: ns, Value: NewValue(fmt.Appendf(nil, "value-%05d", i))})
		}
		if err := v.AddMany(es); err != nil {
			return err
		}
	}
	return nil
}

// member opens the bench vault as member i on their own machine (state
// folder), which has seen the vault before.
func benchOpen(b *testing.B, path string, ids []*Identity, i int) *Vault {
	b.Helper()
	v, err := Open(path, Options{Identity: ids[i], StateDir: filepath.Join(filepath.Dir(path), fmt.Sprintf("state-%d", i))})
	if err != nil {
		b.Fatal(err)
	}
	return v
}

func forSizes(b *testing.B, fn func(b *testing.B, n int)) {
	for _, n := range []int{1000, 10000} {
		if testing.Short() && n > 1000 {
			continue
		}
		b.Run(fmt.Sprintf("secrets=%d", n), func(b *testing.B) { fn(b, n) })
	}
}

// BenchmarkGet is what 'vault get' does once the identity is read: open
// (the file unchanged since this machine last saw it), the reminders, the
// value.
func BenchmarkGet(b *testing.B) {
	forSizes(b, func(b *testing.B, n int) {
		path, ids := benchVault(b, n)
		benchOpen(b, path, ids, 10).Close()
		for b.Loop() {
			v := benchOpen(b, path, ids, 10)
			if _, err := v.Reminders(); err != nil {
				b.Fatal(err)
			}
			if _, err := v.Reveal("secret-00500", 0); err != nil {
				b.Fatal(err)
			}
			v.Close()
		}
	})
}

// BenchmarkGetAfterChange is 'vault get' right after another member
// changed the file: the change is checked and folded first, then the
// reminders and the value, as the command does.
func BenchmarkGetAfterChange(b *testing.B) {
	forSizes(b, func(b *testing.B, n int) {
		path, ids := benchVault(b, n)
		benchOpen(b, path, ids, 10).Close()
		i := 0
		for b.Loop() {
			b.StopTimer()
			w := benchOpen(b, path, ids, 3)
			if _, err := w.Set(fmt.Sprintf("secret-%05d", 1+i%50), NewValue(fmt.Appendf(nil, "new-%d", i))); err != nil {
				b.Fatal(err)
			}
			w.Close()
			i++
			b.StartTimer()
			v := benchOpen(b, path, ids, 10)
			if _, err := v.Reminders(); err != nil {
				b.Fatal(err)
			}
			if _, err := v.Reveal("secret-00500", 0); err != nil {
				b.Fatal(err)
			}
			v.Close()
		}
	})
}

// BenchmarkAdd is 'vault add': open, add one secret for 20 members, write
// the shared file.
func BenchmarkAdd(b *testing.B) {
	forSizes(b, func(b *testing.B, n int) {
		path, ids := benchVault(b, n)
		i := 0
		for b.Loop() {
			v := benchOpen(b, path, ids, 0)
			if _, err := v.Add(NewSecret{Name: fmt.Sprintf("added-%d-%d", time.Now().UnixNano(), i), Share: []string{"@all"}}, NewValue([]byte("v"))); err != nil {
				b.Fatal(err)
			}
			v.Close()
			i++
		}
	})
}

// BenchmarkList is 'vault list': every secret's details.
func BenchmarkList(b *testing.B) {
	forSizes(b, func(b *testing.B, n int) {
		path, ids := benchVault(b, n)
		benchOpen(b, path, ids, 10).Close()
		for b.Loop() {
			v := benchOpen(b, path, ids, 10)
			if _, err := v.List(false); err != nil {
				b.Fatal(err)
			}
			v.Close()
		}
	})
}

// BenchmarkFirstOpen opens the vault on a machine that never saw it:
// every change is checked (signatures, authority) and folded.
func BenchmarkFirstOpen(b *testing.B) {
	forSizes(b, func(b *testing.B, n int) {
		path, ids := benchVault(b, n)
		for b.Loop() {
			v, err := Open(path, Options{Identity: ids[7]})
			if err != nil {
				b.Fatal(err)
			}
			v.Close()
		}
	})
}

// BenchmarkMerge merges two copies of a 1,000-secret vault that diverged
// by 200 changes, 100 on each side.
func BenchmarkMerge(b *testing.B) {
	path, ids := benchVault(b, 1000)
	dir := b.TempDir()
	a, c := filepath.Join(dir, "a.db"), filepath.Join(dir, "c.db")
	copyPlainB(b, path, a)
	copyPlainB(b, path, c)
	stateA, stateC := filepath.Join(dir, "sa"), filepath.Join(dir, "sc")
	for k, side := range []struct{ path, state string }{{a, stateA}, {c, stateC}} {
		v, err := Open(side.path, Options{Identity: ids[1+k], StateDir: side.state})
		if err != nil {
			b.Fatal(err)
		}
		for j := range 100 {
			if _, err := v.Set(fmt.Sprintf("secret-%05d", k*100+j), NewValue([]byte("diverged"))); err != nil {
				b.Fatal(err)
			}
		}
		v.Close()
	}
	for b.Loop() {
		b.StopTimer()
		state := filepath.Join(b.TempDir(), "state")
		target := filepath.Join(b.TempDir(), "a.db")
		copyPlainB(b, a, target)
		v, err := Open(target, Options{Identity: ids[1], StateDir: state})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		r, err := v.Merge(c)
		if err != nil || len(r.Changes) != 100 {
			b.Fatalf("merge: %d changes, %v", len(r.Changes), err)
		}
		b.StopTimer()
		v.Close()
		b.StartTimer()
	}
}

func copyPlainB(b *testing.B, from, to string) {
	data, err := os.ReadFile(from)
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o600); err != nil {
		b.Fatal(err)
	}
}

// TestMain removes the benchmark vaults.
func TestMain(m *testing.M) {
	code := m.Run()
	for _, f := range benchFixtures {
		if f.dir != "" && !f.kept {
			os.RemoveAll(f.dir)
		}
	}
	os.Exit(code)
}
