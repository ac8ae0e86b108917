package vault

import (
	"os"
	"testing"
	"time"
)

// TestMarkReminded: reminders count as news once a day, and again the same
// day only when something new is due; the record survives between opens,
// belongs to one machine, and a damaged record makes everything news.
func TestMarkReminded(t *testing.T) {
	g := newGroup(t, Classic, "alice", "bob")
	old := g.clock.t.AddDate(-1, 0, 0)
	mark := func(name string) bool {
		var news bool
		g.do(name, func(v *Vault) {
			r, err := v.Reminders()
			if err != nil {
				t.Fatal(err)
			}
			news = v.MarkReminded(r)
		})
		return news
	}
	steps := []struct {
		what string
		do   func(v *Vault)
		want bool
	}{
		{"nothing due", nil, false},
		{"a secret overdue", func(v *Vault) {
			if _, err := v.Add(NewSecret{Name: "airtable", LastRotated: old}, NewValue([]byte("pw"))); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"the same, later that day", nil, false},
		{"another secret overdue the same day", func(v *Vault) {
			if _, err := v.Add(NewSecret{Name: "call-log", LastRotated: old}, NewValue([]byte("pw"))); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"one of them settled", func(v *Vault) {
			if _, err := v.Set("airtable", NewValue([]byte("pw2"))); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"one overdue rotated: now pending, which is new", func(v *Vault) {
			if _, err := v.StartRotation("call-log", NewValue([]byte("pw3"))); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"the next day", func(*Vault) { g.clock.t = g.clock.t.Add(24 * time.Hour) }, true},
		{"the next day, again", nil, false},
	}
	for _, s := range steps {
		if s.do != nil {
			g.do("alice", s.do)
		}
		if got := mark("alice"); got != s.want {
			t.Fatalf("%s: news = %v, want %v", s.what, got, s.want)
		}
	}
	// bob's machine keeps its own record: the review is due for no one, and
	// bob reads none of the secrets, so he is told nothing at all.
	if mark("bob") {
		t.Fatal("bob was told something")
	}
	v := g.as("alice")
	if err := os.WriteFile(v.remindedPath(), []byte("damaged"), 0o600); err != nil {
		t.Fatal(err)
	}
	if !mark("alice") {
		t.Fatal("a damaged record did not make the reminders news")
	}
	if mark("alice") {
		t.Fatal("the record was not written anew after it was damaged")
	}
}
