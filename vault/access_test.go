package vault

import (
	"fmt"
	"slices"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/mutual-aid-vault/vault/vault/internal/oplog"
)

// TestResolve checks who a share spec resolves to: named members and
// members of named groups, each once, never removed members.
func TestResolve(t *testing.T) {
	g := newGroup(t, Classic, "alice", "bob", "carol", "dan")
	g.do("alice", func(v *Vault) {
		for _, e := range []struct {
			name   string
			groups []string
		}{{"bob", []string{"intake"}}, {"carol", []string{"intake", "cash"}}, {"dan", []string{"cash"}}} {
			if _, err := v.EditMember(e.name, MemberEdit{AddGroups: e.groups}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := v.RemoveMember("dan", false, nil); err != nil {
			t.Fatal(err)
		}
	})
	tests := []struct {
		share []string
		want  []string
	}{
		{nil, []string{"alice"}},
		{[]string{"@intake"}, []string{"alice", "bob", "carol"}},
		{[]string{"@cash"}, []string{"alice", "carol"}},
		{[]string{"@cash", "carol", "@intake"}, []string{"alice", "bob", "carol"}},
		{[]string{"BOB"}, []string{"alice", "bob"}},
		{[]string{"bob,carol"}, []string{"alice", "bob", "carol"}},
	}
	for i, tt := range tests {
		g.do("alice", func(v *Vault) {
			s, err := v.Add(NewSecret{Name: fmt.Sprintf("secret-%d", i), Share: tt.share}, NewValue([]byte("v")))
			if err != nil {
				t.Fatalf("share %v: %v", tt.share, err)
			}
			if !slices.Equal(s.Readers, tt.want) {
				t.Fatalf("share %v: readers %v, want %v", tt.share, s.Readers, tt.want)
			}
		})
	}
	g.do("alice", func(v *Vault) {
		_, err := v.Add(NewSecret{Name: "x", Share: []string{"dan"}}, NewValue([]byte("v")))
		mustIs(t, err, ErrNoMember)
		_, err = v.Add(NewSecret{Name: "y", Share: []string{"@nobody"}}, NewValue([]byte("v")))
		mustIs(t, err, ErrNotFound)
	})
}

// TestReencryptionWaitsForAReader: a change made by someone who cannot read
// a secret is finished by the next reader, and only then does the new
// member read it.
func TestReencryptionWaitsForAReader(t *testing.T) {
	g := newGroup(t, Classic, "alice", "bob", "carol")
	g.do("bob", func(v *Vault) {
		if _, err := v.Add(NewSecret{Name: "bank"}, NewValue([]byte("pin"))); err != nil {
			t.Fatal(err)
		}
	})
	g.do("alice", func(v *Vault) {
		ch, err := v.Share("bank", []string{"carol"})
		if err != nil {
			t.Fatal(err)
		}
		if !ch.Waiting || !slices.Equal(ch.Secret.Waiting, []string{"carol"}) {
			t.Fatalf("share by a non-reader = %+v", ch)
		}
		// alice's own housekeeping cannot do it.
		chores, err := v.Maintain()
		if err != nil || len(chores.Reencrypted) != 0 {
			t.Fatalf("alice's chores = %+v, %v", chores, err)
		}
	})
	g.do("carol", func(v *Vault) {
		_, err := v.Reveal("bank", 0)
		mustIs(t, err, ErrNotReader)
	})
	g.do("bob", func(v *Vault) {
		chores, err := v.Maintain()
		if err != nil || !slices.Equal(chores.Reencrypted, []string{"bank"}) {
			t.Fatalf("bob's chores = %+v, %v", chores, err)
		}
	})
	g.do("carol", func(v *Vault) {
		if got := reveal(t, v, "bank"); got != "pin" {
			t.Fatalf("carol got %q", got)
		}
	})
}

// TestRemovedMemberOldKeyOpensNothingNew keeps the vault keys a member had
// before being removed and checks they open no change made after the
// removal, and that the member's identity opens no key grant made after.
func TestRemovedMemberOldKeyOpensNothingNew(t *testing.T) {
	g := newGroup(t, Classic, "alice", "bob")
	g.do("alice", func(v *Vault) {
		if _, err := v.Add(NewSecret{Name: "airtable", Share: []string{"bob"}}, NewValue([]byte("old"))); err != nil {
			t.Fatal(err)
		}
	})
	var old *keyset
	g.do("bob", func(v *Vault) { old = v.keys })
	var before int
	countOps(t, g.path, func(n int) { before = n })
	g.do("alice", func(v *Vault) {
		if _, err := v.RemoveMember("bob", false, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := v.Set("airtable", NewValue([]byte("new"))); err != nil {
			t.Fatal(err)
		}
		if _, err := v.Add(NewSecret{Name: "later"}, NewValue([]byte("later"))); err != nil {
			t.Fatal(err)
		}
	})
	db, err := bolt.Open(g.path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	opened, total := 0, 0
	db.View(func(tx *bolt.Tx) error {
		tx.Bucket([]byte(bOps)).ForEach(func(k, env []byte) error {
			total++
			if e, key := oplog.FindKey(env, old); key != nil {
				if _, err := oplog.Open(env, e, key); err == nil {
					opened++
				}
			}
			return nil
		})
		grants := 0
		tx.Bucket([]byte(bGrants)).ForEach(func(k, ct []byte) error {
			if keys, _ := openGrant(ct, g.ids["bob"]); keys != nil {
				grants++
			}
			return nil
		})
		if grants != 1 {
			t.Errorf("bob's identity opens %d key grants; want only the one he was given when added", grants)
		}
		return nil
	})
	// The removal itself is sealed with the old key, so that every member
	// of that time can read it: bob learns he was removed, nothing after.
	if opened != before+1 || total <= before+1 {
		t.Fatalf("bob's old keys open %d of %d changes; %d existed before his removal", opened, total, before)
	}
}

func countOps(t *testing.T, path string, fn func(int)) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.View(func(tx *bolt.Tx) error {
		fn(tx.Bucket([]byte(bOps)).Stats().KeyN)
		return nil
	})
}

func TestRecoveryKeyReadsEverything(t *testing.T) {
	g := newGroup(t, Classic, "alice")
	rec, _ := GenerateIdentity(Classic)
	path := g.path + ".rec"
	v, err := Create(path, CreateOptions{Options: Options{Identity: g.ids["alice"]}, MemberName: "alice", PublicKey: g.ids["alice"].PublicKey(), Recovery: []string{rec.Recipient()}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Add(NewSecret{Name: "bank"}, NewValue([]byte("pin"))); err != nil {
		t.Fatal(err)
	}
	v.Close()
	r, err := Open(path, Options{Identity: rec})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got := reveal(t, r, "bank"); got != "pin" {
		t.Fatalf("recovery got %q", got)
	}
	me, _ := r.Me()
	if me.Name != "recovery" || !me.Admin {
		t.Fatalf("recovery acts as %+v", me)
	}
	// A recovery key given without its signing key reads, never writes.
	_, err = r.Add(NewSecret{Name: "x"}, NewValue([]byte("v")))
	mustIs(t, err, ErrReadOnly)
}

func TestPostQuantumVault(t *testing.T) {
	g := newGroup(t, PostQuantum, "alice", "bob")
	g.do("alice", func(v *Vault) {
		if _, err := v.Add(NewSecret{Name: "airtable", Share: []string{"bob"}}, NewValue([]byte("pq value"))); err != nil {
			t.Fatal(err)
		}
		classic, _ := GenerateIdentity(Classic)
		_, err := v.AddMember(NewMember{Name: "carol", PublicKey: classic.PublicKey()})
		mustIs(t, err, ErrWrongKind)
	})
	g.do("bob", func(v *Vault) {
		if got := reveal(t, v, "airtable"); got != "pq value" {
			t.Fatalf("bob got %q", got)
		}
	})
}
