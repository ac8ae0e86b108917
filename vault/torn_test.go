package vault

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTornCopies makes the copies a sync tool makes when it copies the
// file while it is written: the first part of the file before a change
// with the rest after it (and the other way round), at many split points
// across and inside pages, and copies cut short. Each one, opened by a
// member, is either read right (it happens to be consistent) or reported
// as damaged: never as "not a vault file", a file of another version, or
// a crash. A member whose machine knew the vault repairs it, saying it was
// damaged.
func TestTornCopies(t *testing.T) {
	g := newGroup(t, Classic, "alice", "bob")
	values := map[string]map[string]bool{} // name → values it may have
	put := func(name, val string) {
		if values[name] == nil {
			values[name] = map[string]bool{}
		}
		values[name][val] = true
	}
	g.do("alice", func(v *Vault) {
		for i := range 30 {
			name := fmt.Sprintf("secret-%02d", i)
			val := fmt.Sprintf("first %d %s", i, strings.Repeat("x", 40*i))
			if _, err := v.Add(NewSecret{Name: name, Share: []string{"bob"}}, NewValue([]byte(val))); err != nil {
				t.Fatal(err)
			}
			put(name, val)
		}
	})
	g.do("bob", func(v *Vault) {}) // bob's machine knows the vault
	before, err := os.ReadFile(g.path)
	if err != nil {
		t.Fatal(err)
	}
	g.do("alice", func(v *Vault) {
		for i := 0; i < 30; i += 3 {
			name := fmt.Sprintf("secret-%02d", i)
			val := fmt.Sprintf("second %d", i)
			if _, err := v.Set(name, NewValue([]byte(val))); err != nil {
				t.Fatal(err)
			}
			put(name, val)
		}
		if _, err := v.Add(NewSecret{Name: "late", Share: []string{"bob"}}, NewValue([]byte("late value"))); err != nil {
			t.Fatal(err)
		}
		put("late", "late value")
	})
	after, err := os.ReadFile(g.path)
	if err != nil {
		t.Fatal(err)
	}
	psz := filePageSize(t, g.path)

	// Split points: every page boundary, and a few points inside pages
	// (the meta, the page header, the element array, the data).
	var splits []int
	for p := 0; p < max(len(before), len(after)); p += psz {
		splits = append(splits, p)
		for _, off := range []int{10, 100, psz / 2} {
			splits = append(splits, p+off)
		}
	}
	type tornCase struct {
		label string
		data  []byte
	}
	var cases []tornCase
	for _, k := range splits {
		if k > 0 && k < len(after) {
			cases = append(cases, tornCase{fmt.Sprintf("before[:%d]+after", k), append(append([]byte(nil), before[:min(k, len(before))]...), after[k:]...)})
			cases = append(cases, tornCase{fmt.Sprintf("after cut at %d", k), after[:k]})
		}
		if k > 0 && k < len(before) {
			cases = append(cases, tornCase{fmt.Sprintf("after[:%d]+before", k), append(append([]byte(nil), after[:min(k, len(after))]...), before[k:]...)})
		}
	}
	// Pages written in an order the copy caught half of: every other page
	// of the change.
	mixed := append([]byte(nil), after...)
	for p := 0; p+psz <= min(len(before), len(after)); p += 2 * psz {
		copy(mixed[p:p+psz], before[p:p+psz])
	}
	cases = append(cases, tornCase{"every other page before", mixed})
	// Tools that write a copy's blocks out of order leave holes of
	// zeros, at the start as much as anywhere; some set the full length
	// first.
	for _, hole := range [][2]int{{0, psz}, {0, 2 * psz}, {psz, 2 * psz}, {0, 4 * psz}, {0, len(after) / 2}, {2 * psz, 5 * psz}, {len(after) / 2, len(after)}, {0, len(after) - psz}, {0, 100}, {psz / 2, psz + 100}} {
		data := append([]byte(nil), after...)
		clear(data[min(hole[0], len(data)):min(hole[1], len(data))])
		cases = append(cases, tornCase{fmt.Sprintf("zeros at [%d, %d)", hole[0], hole[1]), data})
	}
	for _, n := range []int{1, 16, 80, 100, 4095, 4096, psz - 1, psz, psz + 1, 2*psz - 1, 2 * psz} {
		if n < len(after) {
			cases = append(cases, tornCase{fmt.Sprintf("after cut at %d", n), after[:n]})
		}
	}
	if testing.Short() || raceEnabled {
		cases = cases[:len(cases)/3]
	}

	dir := t.TempDir()
	outcomes := map[string]int{}
	for i, tc := range cases {
		path := filepath.Join(dir, fmt.Sprintf("torn-%d.db", i))
		if err := os.WriteFile(path, tc.data, 0o600); err != nil {
			t.Fatal(err)
		}
		// A member opening the copy for the first time (a new machine),
		// and, for some, bob's machine, which knew the vault.
		opens := []Options{{Identity: g.ids["bob"], Clock: g.clock, StateDir: t.TempDir(), LockTimeout: time.Second}}
		if i%8 == 0 {
			opens = append(opens, Options{Identity: g.ids["bob"], Clock: g.clock, StateDir: g.state["bob"], LockTimeout: time.Second})
		}
		for n, opts := range opens {
			label := fmt.Sprintf("%s (open %d)", tc.label, n)
			v, err := Open(path, opts)
			if err != nil {
				outcomes[damaged(t, label, err)]++
				continue
			}
			for _, w := range v.Warnings() {
				if strings.Contains(w, "not a vault file") || strings.Contains(w, "newer version") {
					t.Errorf("%s: warning %q", label, w)
				}
			}
			for _, name := range []string{"secret-00", "secret-07", "secret-29", "late"} {
				val, err := v.Reveal(name, 0)
				switch {
				case errors.Is(err, ErrNoSecret) && name == "late":
					outcomes["consistent, before the change"]++
				case err != nil:
					outcomes[damaged(t, label+" "+name, err)]++
				case !values[name][string(val.Bytes())]:
					t.Errorf("%s: %s has a value it never had", label, name)
				default:
					outcomes["right value"]++
				}
			}
			v.Close()
		}
		os.Remove(path)
	}
	t.Logf("%d torn copies; outcomes: %v", len(cases), outcomes)
}

// damaged fails the test unless err reports a damaged file in one line,
// and returns a name for the outcome.
func damaged(t *testing.T, label string, err error) string {
	t.Helper()
	switch {
	case errors.Is(err, ErrNotVault), errors.Is(err, ErrNewerFormat), errors.Is(err, ErrOldFormat), errors.Is(err, ErrOtherVault):
		t.Errorf("%s: a torn copy reported as %v", label, err)
	case !errors.Is(err, ErrCorrupt):
		t.Errorf("%s: want a damaged-file error, got %v", label, err)
	case strings.Contains(err.Error(), "\n"):
		t.Errorf("%s: error is not one line: %q", label, err)
	}
	return "damaged"
}
