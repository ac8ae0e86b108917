package vault

import (
	"fmt"
	"slices"
	"testing"

	"github.com/mutual-aid-vault/vault/rotation"
)

func TestAddManyAndOverview(t *testing.T) {
	g := newGroup(t, Classic, "alice", "bob")
	now := g.clock.t
	g.do("alice", func(v *Vault) {
		var entries []Entry
		for i := range 50 {
			ns := NewSecret{Name: fmt.Sprintf("s%02d", i)}
			if i%10 == 0 {
				ns.LastRotated = now.AddDate(-1, 0, 0)
			}
			if i == 7 {
				ns.Share = []string{"bob"}
			}
			entries = append(entries, Entry{Secret: ns, Value: NewValue([]byte("v"))})
		}
		if err := v.AddMany(entries); err != nil {
			t.Fatal(err)
		}
		// All or nothing: a duplicate name fails the whole batch.
		err := v.AddMany([]Entry{{Secret: NewSecret{Name: "new"}, Value: NewValue([]byte("v"))}, {Secret: NewSecret{Name: "S01"}, Value: NewValue([]byte("v"))}})
		mustIs(t, err, ErrExists)
		if _, err := v.Get("new"); err == nil {
			t.Fatal("half a batch was stored")
		}
		if _, err := v.RemoveMember("bob", false, nil); err != nil {
			t.Fatal(err)
		}
		sum, err := v.Overview()
		if err != nil {
			t.Fatal(err)
		}
		if len(sum) != 50 {
			t.Fatalf("%d summaries", len(sum))
		}
		var first []string
		for _, s := range sum[:6] {
			first = append(first, s.Name+":"+s.State.String())
		}
		want := []string{"s07:rotate-now", "s00:overdue", "s10:overdue", "s20:overdue", "s30:overdue", "s40:overdue"}
		if !slices.Equal(first, want) {
			t.Fatalf("most urgent first: %v, want %v", first, want)
		}
		if sum[6].State != rotation.OK || !sum[6].CanRead {
			t.Fatalf("then the rest: %+v", sum[6])
		}
	})
}
