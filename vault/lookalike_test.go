package vault

import (
	"crypto/rand"
	"errors"
	"slices"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/mutual-aid-vault/vault/vault/internal/fold"
	"github.com/mutual-aid-vault/vault/vault/internal/oplog"
)

// TestLookAlikeNames: a new secret, member or group whose name looks like
// an existing one (a Cyrillic а for a Latin a, rn for m, a capital I for
// an l) is refused with a message naming the existing one, and nothing is
// written; the same name again (in any case) is a duplicate, as before.
func TestLookAlikeNames(t *testing.T) {
	g := newGroup(t, Classic, "alice", "bob")
	v := g.as("alice")
	if _, err := v.Add(NewSecret{Name: "airtable"}, NewValue([]byte("pw"))); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Add(NewSecret{Name: "old-modem"}, NewValue([]byte("pw"))); err != nil {
		t.Fatal(err)
	}
	if err := v.Remove("old-modem"); err != nil {
		t.Fatal(err)
	}
	if _, err := v.EditMember("bob", MemberEdit{AddGroups: []string{"intake"}}); err != nil {
		t.Fatal(err)
	}
	key := func() string {
		id, err := GenerateIdentity(Classic)
		if err != nil {
			t.Fatal(err)
		}
		return id.PublicKey()
	}
	for _, tc := range []struct {
		name string
		do   func() error
		want string
	}{
		{"Cyrillic a in a secret", func() error { _, err := v.Add(NewSecret{Name: "\u0430irtable"}, NewValue([]byte("x"))); return err },
			`"аirtable" looks like the existing secret "airtable" (the new name has Cyrillic U+0430); choose another name`},
		{"checked before the value is asked for", func() error { return v.CheckNew(NewSecret{Name: "airtabIe"}) },
			`"airtabIe" looks like the existing secret "airtable" (the new name has Latin U+0049); choose another name`},
		{"a secret in the trash", func() error { _, err := v.Add(NewSecret{Name: "old-rnodern"}, NewValue([]byte("x"))); return err },
			`"old-rnodern" looks like the existing secret "old-modem" (in the trash; the new name has Latin U+0072, Latin U+006E); choose another name`},
		{"within one batch", func() error {
			return v.AddMany([]Entry{{Secret: NewSecret{Name: "bank"}, Value: NewValue([]byte("x"))}, {Secret: NewSecret{Name: "b\u0430nk"}, Value: NewValue([]byte("x"))}})
		}, `"bаnk" looks like the existing secret "bank"`},
		{"a member", func() error { _, err := v.AddMember(NewMember{Name: "\u0430lice", PublicKey: key()}); return err },
			`"аlice" looks like the existing member "alice" (the new name has Cyrillic U+0430); choose another name`},
		{"a new member's group", func() error {
			_, err := v.AddMember(NewMember{Name: "carol", PublicKey: key(), Groups: []string{"\u0456ntake"}})
			return err
		}, `"іntake" looks like the existing group "intake" (the new name has Cyrillic U+0456); choose another name`},
		{"a group added to a member", func() error {
			_, err := v.EditMember("alice", MemberEdit{AddGroups: []string{"\u0131ntake"}})
			return err
		},
			`"ıntake" looks like the existing group "intake" (the new name has Latin U+0131)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.do()
			if !errors.Is(err, ErrLookAlike) || !errors.Is(err, ErrBadName) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want ErrLookAlike saying %s", err, tc.want)
			}
		})
	}
	ss, _ := v.List(false)
	ms, _ := v.Members()
	if len(ss) != 1 || len(ms) != 2 {
		t.Fatalf("something was added: %d secrets, %d members", len(ss), len(ms))
	}
	// The same name again is a duplicate, not a look-alike.
	if _, err := v.Add(NewSecret{Name: "AIRTABLE"}, NewValue([]byte("x"))); !errors.Is(err, ErrExists) || errors.Is(err, ErrLookAlike) {
		t.Fatalf("AIRTABLE: %v, want ErrExists", err)
	}
	// Names that merely resemble each other are fine.
	for _, n := range []string{"airtables", "airtable-2", "intake/airtable"} {
		if _, err := v.Add(NewSecret{Name: n}, NewValue([]byte("x"))); err != nil {
			t.Fatalf("%s: %v", n, err)
		}
	}
}

// TestLookAlikeImport: an imported entry whose name looks like a secret
// in the vault, or like one imported before it, is skipped with the
// reason; the rest is imported.
func TestLookAlikeImport(t *testing.T) {
	g := newGroup(t, Classic, "alice")
	v := g.as("alice")
	if _, err := v.Add(NewSecret{Name: "airtable"}, NewValue([]byte("pw"))); err != nil {
		t.Fatal(err)
	}
	rep, err := v.Import([]ImportEntry{
		{From: "line 2", Name: "\u0430irtable", Value: NewValue([]byte("a"))},
		{From: "line 3", Name: "bank", Value: NewValue([]byte("b"))},
		{From: "line 4", Name: "b\u0430nk", Value: NewValue([]byte("c"))},
		// A later entry is checked against the vault's names too.
		{From: "line 5", Name: "airt\u0430ble", Value: NewValue([]byte("d"))},
	}, ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Imported) != 1 || rep.Imported[0].Name != "bank" || len(rep.Skipped) != 3 {
		t.Fatalf("report %+v", rep)
	}
	for i, want := range []string{`looks like the existing secret "airtable"`, `looks like the existing secret "bank"`, `looks like the existing secret "airtable"`} {
		if !strings.Contains(rep.Skipped[i].Reason, want) {
			t.Errorf("skip %d: %q, want %q", i, rep.Skipped[i].Reason, want)
		}
	}
}

// TestLookAlikeFromOthers: a secret another member added with other tools
// under a look-alike name is kept (nothing a member did is lost), with a
// warning that names both.
func TestLookAlikeFromOthers(t *testing.T) {
	g := newForgeryGroup(t)
	g.as("alice").Close() // alice's machine has seen the vault
	sam := g.insider("sam")
	fv, blobs := sam.value("pw", "sam")
	sam.forge(fold.KindSecretAdd, fold.SecretAdd{Secret: fold.SecretID{7}, Name: "b\u0430nk", Value: fv,
		Share: fold.Share{Members: []fold.MemberID{sam.me}}}, fold.MemberID{}, nil, nil, blobs)
	v := g.as("alice")
	all := strings.Join(v.Warnings(), "\n")
	if !strings.Contains(all, `sam added the secret "bаnk", which looks like the secret "bank" (the new name has Cyrillic U+0430)`) {
		t.Fatalf("warnings: %q", v.Warnings())
	}
	if _, err := v.Get("b\u0430nk"); err != nil {
		t.Fatalf("the look-alike was not kept: %v", err)
	}
}

// TestDidYouMean: a name that finds no secret or member suggests the
// names it may have been meant for, among those 'vault list' and 'vault
// member list' show: never a secret in the trash or a removed member.
func TestDidYouMean(t *testing.T) {
	g := newGroup(t, Classic, "alice", "bob", "carol")
	v := g.as("alice")
	for _, n := range []string{"airtable", "intake/call-log", "airtables-old"} {
		if _, err := v.Add(NewSecret{Name: n}, NewValue([]byte("pw"))); err != nil {
			t.Fatal(err)
		}
	}
	if err := v.Remove("airtables-old"); err != nil {
		t.Fatal(err)
	}
	if _, err := v.RemoveMember("carol", false, nil); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		err  error
		kind error
		want string
	}{
		{func() error { _, err := v.Get("airtabel"); return err }(), ErrNoSecret, `no secret named "airtabel"; did you mean "airtable"?`},
		{func() error { _, err := v.Reveal("AIRTBLE", 0); return err }(), ErrNoSecret, `no secret named "AIRTBLE"; did you mean "airtable"?`},
		{func() error { _, err := v.Set("call-log", NewValue([]byte("x"))); return err }(), ErrNoSecret, `no secret named "call-log"; did you mean "intake/call-log"?`},
		{func() error { _, err := v.Get("airtables-olf"); return err }(), ErrNoSecret, `no secret named "airtables-olf"`},
		{func() error { _, err := v.Get("zoom"); return err }(), ErrNoSecret, `no secret named "zoom"`},
		{func() error { _, err := v.Share("airtable", []string{"bbo"}); return err }(), ErrNoMember, `no member named "bbo"; did you mean "bob"?`},
		{func() error { _, err := v.Share("airtable", []string{"carl"}); return err }(), ErrNoMember, `no member named "carl"`},
	} {
		if !errors.Is(tc.err, tc.kind) || !errors.Is(tc.err, ErrNotFound) {
			t.Errorf("%v: want %v", tc.err, tc.kind)
			continue
		}
		if msg := tc.err.Error(); !strings.HasPrefix(msg, tc.want) || (!strings.Contains(tc.want, "did you mean") && strings.Contains(msg, "did you mean")) {
			t.Errorf("got %q, want %q", msg, tc.want)
		}
	}
}

// TestLookAlikeMemberFromOthers: a member an admin added with other tools
// under a name that looks like a member's is kept, with a warning.
func TestLookAlikeMemberFromOthers(t *testing.T) {
	g := newForgeryGroup(t)
	g.as("carol").Close() // carol's machine has seen the vault
	alice := g.insider("alice")
	other := g.member("sam2", Classic)
	var mid fold.MemberID
	rand.Read(mid[:])
	grant, err := alice.keys.grant(other.Recipient(), alice.keys.sortedEpochs())
	if err != nil {
		t.Fatal(err)
	}
	h := oplog.HashOf(grant)
	alice.file(func(tx *bolt.Tx) error { return tx.Bucket([]byte(bGrants)).Put(h[:], grant) })
	alice.forge(fold.KindMemberAdd, fold.MemberAdd{
		Member: fold.NewMember{ID: mid, Name: "s\u0430m", Age: other.Recipient(), Sign: other.SigningKey()},
		Grant:  fold.Grant{To: mid, Blob: h, Epochs: alice.keys.sortedEpochs()}}, fold.MemberID{}, nil, nil, nil)
	v := g.as("carol")
	all := strings.Join(v.Warnings(), "\n")
	if !strings.Contains(all, `alice added the member "sаm", which looks like the member "sam" (the new name has Cyrillic U+0430); check with alice which is which, and remove the wrong one ('vault member rm')`) {
		t.Fatalf("warnings: %q", v.Warnings())
	}
	ms, _ := v.Members()
	if !slices.ContainsFunc(ms, func(m Member) bool { return m.Name == "s\u0430m" }) {
		t.Fatal("the look-alike member was not kept")
	}
}
