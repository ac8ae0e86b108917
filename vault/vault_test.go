package vault

import (
	"testing"
)

func TestEndToEnd(t *testing.T) {
	g := newGroup(t, Classic, "alice", "bob", "carol")
	g.do("alice", func(v *Vault) {
		if _, err := v.EditMember("bob", MemberEdit{AddGroups: []string{"intake"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := v.Add(NewSecret{Name: "airtable", Username: "intake@example.org", Share: []string{"@intake"}}, NewValue([]byte("hunter2"))); err != nil {
			t.Fatal(err)
		}
		if got := reveal(t, v, "AIRTABLE"); got != "hunter2" {
			t.Fatalf("got %q", got)
		}
	})
	g.do("bob", func(v *Vault) {
		if got := reveal(t, v, "airtable"); got != "hunter2" {
			t.Fatalf("bob got %q", got)
		}
	})
	g.do("carol", func(v *Vault) {
		_, err := v.Reveal("airtable", 0)
		mustIs(t, err, ErrNotReader)
	})
	g.do("alice", func(v *Vault) {
		r, err := v.RemoveMember("bob", false, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.RotateNow) != 1 || len(r.Reencrypted) != 1 {
			t.Fatalf("removal = %+v", r)
		}
		s, err := v.Get("airtable")
		if err != nil {
			t.Fatal(err)
		}
		if s.RotateNow == nil || s.RotateNow.Text != "bob was removed on 2026-11-26" {
			t.Fatalf("rotate now = %+v", s.RotateNow)
		}
		if got := reveal(t, v, "airtable"); got != "hunter2" {
			t.Fatalf("after removal got %q", got)
		}
	})
	_, err := Open(g.path, g.opts("bob"))
	mustIs(t, err, ErrNotMember)
}
