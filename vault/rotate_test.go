package vault

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/mutual-aid-vault/vault/rotation"
)

// TestTwoPhaseRotation: a rotation interrupted at any point loses neither
// value; confirm makes the new one current and keeps the old in history;
// abort keeps the dropped one in history too.
func TestTwoPhaseRotation(t *testing.T) {
	g := newGroup(t, Classic, "alice", "bob")
	g.do("alice", func(v *Vault) {
		if _, err := v.Add(NewSecret{Name: "airtable", Share: []string{"bob"}, LastRotated: g.clock.t.AddDate(-1, 0, 0)}, NewValue([]byte("old"))); err != nil {
			t.Fatal(err)
		}
		if _, err := v.RemoveMember("bob", false, nil); err != nil {
			t.Fatal(err)
		}
		s, err := v.StartRotation("airtable", NewValue([]byte("new")))
		if err != nil {
			t.Fatal(err)
		}
		if !s.Pending || s.State != rotation.RotateNow {
			t.Fatalf("after start: %+v", s)
		}
		_, err = v.StartRotation("airtable", NewValue([]byte("newer")))
		mustIs(t, err, ErrInvalid)
		_, err = v.Set("airtable", NewValue([]byte("by hand")))
		mustIs(t, err, ErrInvalid)
	})
	// Interrupted here (the process ends): both values are there.
	g.do("alice", func(v *Vault) {
		if got := reveal(t, v, "airtable"); got != "old" {
			t.Fatalf("current = %q", got)
		}
		p, err := v.RevealPending("airtable")
		if err != nil || string(p.Bytes()) != "new" {
			t.Fatalf("pending = %q, %v", p.Bytes(), err)
		}
		g.clock.t = g.clock.t.Add(time.Hour)
		s, err := v.ConfirmRotation("airtable")
		if err != nil {
			t.Fatal(err)
		}
		if s.Pending || s.RotateNow != nil || s.State != rotation.OK || !s.LastRotated.Equal(g.clock.t) || s.Version != 2 {
			t.Fatalf("after confirm: %+v", s)
		}
		if got := reveal(t, v, "airtable"); got != "new" {
			t.Fatalf("current = %q", got)
		}
		old, err := v.Reveal("airtable", 1)
		if err != nil || string(old.Bytes()) != "old" {
			t.Fatalf("version 1 = %q, %v", old.Bytes(), err)
		}
		_, err = v.ConfirmRotation("airtable")
		mustIs(t, err, ErrInvalid)

		if _, err := v.StartRotation("airtable", NewValue([]byte("abandoned"))); err != nil {
			t.Fatal(err)
		}
		s, n, err := v.AbortRotation("airtable")
		if err != nil || n != 3 || s.Pending || s.Version != 2 {
			t.Fatalf("abort = %+v, %d, %v", s, n, err)
		}
		kept, err := v.Reveal("airtable", 3)
		if err != nil || string(kept.Bytes()) != "abandoned" {
			t.Fatalf("aborted value = %q, %v", kept.Bytes(), err)
		}
		h, _ := v.History("airtable")
		var states []string
		for _, ver := range h {
			states = append(states, ver.State)
		}
		if !slices.Equal(states, []string{"previous", "aborted", "current"}) && !slices.Equal(states, []string{"previous", "current", "aborted"}) {
			t.Fatalf("history states %v", states)
		}
	})
}

func TestRemindersAndDue(t *testing.T) {
	g := newGroup(t, Classic, "alice", "bob", "carol")
	now := g.clock.t
	g.do("alice", func(v *Vault) {
		add := func(name string, last time.Time, share ...string) {
			if _, err := v.Add(NewSecret{Name: name, Share: share, LastRotated: last}, NewValue([]byte("v"))); err != nil {
				t.Fatal(err)
			}
		}
		add("airtable", now.AddDate(0, -7, 0), "bob")
		add("call-log", now.AddDate(-1, 0, 0))
		add("inbox", now.AddDate(0, -6, 5)) // due in about 5 days
		add("fresh", now)
		add("carols", now.AddDate(-2, 0, 0), "carol")
		if _, err := v.Unshare("carols", []string{"carol"}); err != nil {
			t.Fatal(err)
		}
		if _, err := v.Share("carols", []string{"carol"}); err != nil {
			t.Fatal(err)
		}
	})
	g.do("bob", func(v *Vault) {
		r, err := v.Reminders()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(r.Overdue, []string{"airtable"}) || r.Review != nil || len(r.Waiting) != 0 {
			t.Fatalf("bob's reminders: %+v", r)
		}
	})
	g.do("alice", func(v *Vault) {
		r, err := v.Reminders()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(r.Overdue, []string{"airtable", "call-log"}) || !slices.Equal(r.RotateNow, []string{"carols"}) {
			t.Fatalf("alice's reminders: %+v", r)
		}
		items, err := v.Due(-1)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, it := range items {
			got = append(got, it.Name+":"+it.State.String())
		}
		want := []string{"carols:rotate-now", "call-log:overdue", "airtable:overdue", "inbox:due-soon"}
		if !slices.Equal(got, want) {
			t.Fatalf("due = %v, want %v", got, want)
		}
		if items, _ := v.Due(0); len(items) != 3 {
			t.Fatalf("within 0 days: %d items", len(items))
		}
	})
	// Six months on, the access review is due for admins only.
	g.clock.t = now.AddDate(0, 6, 0)
	g.do("alice", func(v *Vault) {
		r, _ := v.Reminders()
		if r.Review == nil || r.Review.State != rotation.DueSoon {
			t.Fatalf("review reminder: %+v", r.Review)
		}
		if err := v.MarkReviewed(); err != nil {
			t.Fatal(err)
		}
		if r, _ := v.Reminders(); r.Review != nil {
			t.Fatalf("review still due after done: %+v", r.Review)
		}
		rev, err := v.Review()
		if err != nil || rev.LastReview == nil || rev.LastReviewBy != "alice" || len(rev.Secrets) != 5 || len(rev.Members) != 3 {
			t.Fatalf("review = %+v, %v", rev, err)
		}
	})
	g.do("bob", func(v *Vault) {
		mustIs(t, v.MarkReviewed(), ErrNotAdmin)
	})
}

// TestRemindersKept: the answer kept in the state folder is the one
// computed, sealed (no name in the clear), and stands while the day and
// the member stay the same, brought up to date with what changes (see
// TestRemindersPatched); a damaged one is ignored.
func TestRemindersKept(t *testing.T) {
	g := newGroup(t, Classic, "alice", "bob")
	now := g.clock.t
	v := g.as("alice")
	if _, err := v.Add(NewSecret{Name: "airtable-overdue", Share: []string{"bob"}, LastRotated: now.AddDate(-1, 0, 0)}, NewValue([]byte("v"))); err != nil {
		t.Fatal(err)
	}
	first, err := v.Reminders()
	if err != nil || !slices.Equal(first.Overdue, []string{"airtable-overdue"}) {
		t.Fatalf("reminders: %+v, %v", first, err)
	}
	kept, err := os.ReadFile(v.remindersPath())
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(kept, []byte("airtable")) {
		t.Fatal("the kept reminders name a secret in the clear")
	}
	// Kept: the same answer, without the due index.
	again, err := v.Reminders()
	if err != nil || !reflect.DeepEqual(jsonOf(t, first), jsonOf(t, again)) {
		t.Fatalf("kept answer differs: %+v", again)
	}
	// A change makes a new answer.
	if _, err := v.Set("airtable-overdue", NewValue([]byte("new"))); err != nil {
		t.Fatal(err)
	}
	if r, _ := v.Reminders(); len(r.Overdue) != 0 {
		t.Fatalf("after rotating: %+v", r)
	}
	// So does a new day.
	if _, err := v.Add(NewSecret{Name: "due-tomorrow", LastRotated: now.AddDate(0, -6, 0).AddDate(0, 0, 1)}, NewValue([]byte("v"))); err != nil {
		t.Fatal(err)
	}
	if r, _ := v.Reminders(); len(r.Overdue) != 0 {
		t.Fatalf("today: %+v", r)
	}
	g.clock.t = now.AddDate(0, 0, 3)
	if r, _ := v.Reminders(); !slices.Equal(r.Overdue, []string{"due-tomorrow"}) {
		t.Fatalf("three days on: %+v", r)
	}
	// A damaged kept answer is ignored.
	if err := os.WriteFile(v.remindersPath(), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r, err := v.Reminders(); err != nil || !slices.Equal(r.Overdue, []string{"due-tomorrow"}) {
		t.Fatalf("with a damaged kept answer: %+v, %v", r, err)
	}
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
