package vault

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/mutual-aid-vault/vault/vault/internal/fold"
)

// addMembersAtOnce adds n members named prefix1…prefixN, in groups, as one
// write of the vault: adding a thousand members one at a time would write
// the file a thousand times. They get classic keys, the cheapest to make;
// their identities are not kept, since no test opens the vault as them.
func addMembersAtOnce(t *testing.T, v *Vault, prefix string, n int, groups ...string) {
	t.Helper()
	_, err := v.update(func(r *reader) ([]change, error) {
		var out []change
		for i := 1; i <= n; i++ {
			id, err := GenerateIdentity(Classic)
			if err != nil {
				return nil, err
			}
			key, err := ParseMemberKey(id.PublicKey())
			if err != nil {
				return nil, err
			}
			var mid fold.MemberID
			if _, err := rand.Read(mid[:]); err != nil {
				return nil, err
			}
			grants, blobs, err := v.grantsFor(r, []*fold.Member{{ID: mid, Age: key.Age}}, nil)
			if err != nil {
				return nil, err
			}
			out = append(out, change{kind: fold.KindMemberAdd, grants: blobs, payload: fold.MemberAdd{
				Member: fold.NewMember{ID: mid, Name: fmt.Sprintf("%s%d", prefix, i), Age: key.Age, Sign: key.Sign, Groups: groups},
				Grant:  grants[0]}})
		}
		return out, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// unchanged runs a change that must be refused for passing the reader
// limit, and checks that its message names the secret and the limit and
// that neither the shared file nor this machine's state changed.
func unchanged(t *testing.T, v *Vault, secret, limit string, change func() error) {
	t.Helper()
	file, err := os.ReadFile(v.Path())
	if err != nil {
		t.Fatal(err)
	}
	log, err := v.Log(0)
	if err != nil {
		t.Fatal(err)
	}
	members, _ := v.Members()
	err = change()
	mustIs(t, err, ErrTooManyReaders)
	mustIs(t, err, ErrInvalid)
	if msg := err.Error(); !strings.Contains(msg, fmt.Sprintf("%q", secret)) || !strings.Contains(msg, "age allows "+limit+";") || strings.Contains(msg, "\n") {
		t.Errorf("message %q does not name %q and the limit %s on one line", msg, secret, limit)
	}
	after, err := os.ReadFile(v.Path())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(file, after) {
		t.Error("the shared file changed")
	}
	if l, _ := v.Log(0); len(l) != len(log) {
		t.Errorf("the log went from %d to %d changes", len(log), len(l))
	}
	if m, _ := v.Members(); len(m) != len(members) {
		t.Errorf("the members went from %d to %d", len(members), len(m))
	}
}

// readers returns how many members read a secret's current value.
func readers(t *testing.T, v *Vault, name string) int {
	t.Helper()
	s, err := v.Get(name)
	if err != nil {
		t.Fatal(err)
	}
	return len(s.Readers)
}

// At age's real limit: a value for 1,024 readers is stored and read (by
// this program and by age itself), and each way of giving it, or a new
// secret, a 1,025th reader is refused before anything is written.
func TestReaderLimitAtAge(t *testing.T) {
	g := newGroup(t, Classic, "alice")
	v := g.as("alice")
	if _, err := v.EditMember("alice", MemberEdit{AddGroups: []string{"everyone"}}); err != nil {
		t.Fatal(err)
	}
	addMembersAtOnce(t, v, "m", 1023, "everyone")
	addMembersAtOnce(t, v, "zed", 1)
	if _, err := v.Add(NewSecret{Name: "bank", Share: []string{"@everyone"}}, NewValue([]byte("hunter2"))); err != nil {
		t.Fatalf("a value for 1,024 readers: %v", err)
	}
	if n := readers(t, v, "bank"); n != 1024 {
		t.Fatalf("bank has %d readers, want 1024", n)
	}
	ct, err := v.Ciphertext("bank", 0)
	if err != nil {
		t.Fatal(err)
	}
	r, err := age.Decrypt(bytes.NewReader(ct), g.ids["alice"].id)
	if err != nil {
		t.Fatalf("age cannot read a value for 1,024 readers: %v", err)
	}
	if b, _ := io.ReadAll(r); string(b) != "hunter2" {
		t.Fatalf("age read %q", b)
	}

	cases := []struct {
		name, secret, want string
		change             func() error
	}{
		{"add", "bank2", `sharing with zed1, @everyone would give "bank2" 1,025 readers; age allows 1,024; share it with a smaller group`, func() error {
			_, err := v.Add(NewSecret{Name: "bank2", Share: []string{"@everyone", "zed1"}}, NewValue([]byte("x")))
			return err
		}},
		{"check before asking for the value", "bank2", "", func() error {
			return v.CheckNew(NewSecret{Name: "bank2", Share: []string{"@everyone,zed1"}})
		}},
		{"share", "bank", `sharing with zed1 would give "bank" 1,025 readers; age allows 1,024; share it with a smaller group`, func() error {
			_, err := v.Share("bank", []string{"zed1"})
			return err
		}},
		{"member add", "bank", `adding kim to @everyone would give "bank" 1,025 readers; age allows 1,024; share it with a smaller group, or put kim in other groups`, func() error {
			_, err := v.AddMember(NewMember{Name: "kim", PublicKey: g.member("kim", Classic).PublicKey(), Groups: []string{"everyone"}})
			return err
		}},
		{"group change", "bank", "", func() error {
			_, err := v.EditMember("zed1", MemberEdit{AddGroups: []string{"everyone"}})
			return err
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			unchanged(t, v, c.secret, "1,024", func() error {
				err := c.change()
				if err != nil && c.want != "" && err.Error() != c.want {
					t.Errorf("message\n%s\nwant\n%s", err, c.want)
				}
				return err
			})
		})
	}
	// What adds no reader still works.
	if _, err := v.Set("bank", NewValue([]byte("hunter3"))); err != nil {
		t.Fatalf("set at 1,024 readers: %v", err)
	}
	if _, err := v.AddMember(NewMember{Name: "lee", PublicKey: g.member("lee", Classic).PublicKey(), Groups: []string{"intake"}}); err != nil {
		t.Fatalf("a member in another group: %v", err)
	}
	if got := reveal(t, v, "bank"); got != "hunter3" {
		t.Fatalf("bank = %q", got)
	}
}

// smallLimit makes a group and opens it as alice with a reader limit of
// limit, so that every path to the limit is tried with a few members.
// bob and carol are in @team; dave and erin in no group.
func smallLimit(t *testing.T, limit int) (*group, *Vault) {
	g := newGroup(t, Classic, "alice", "bob", "carol", "dave", "erin")
	v := g.as("alice")
	for _, n := range []string{"bob", "carol"} {
		if _, err := v.EditMember(n, MemberEdit{AddGroups: []string{"team"}}); err != nil {
			t.Fatal(err)
		}
	}
	v.maxReaders = limit
	return g, v
}

// Each path to a reader past the limit is refused, the message names the
// secret and the limit, and nothing is written.
func TestReaderLimit(t *testing.T) {
	g, v := smallLimit(t, 3)
	// alice, bob and carol: at the limit.
	if _, err := v.Add(NewSecret{Name: "bank", Share: []string{"@team"}}, NewValue([]byte("one"))); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, secret string
		change       func() error
	}{
		{"add", "inbox", func() error {
			_, err := v.Add(NewSecret{Name: "inbox", Share: []string{"@team", "dave"}}, NewValue([]byte("x")))
			return err
		}},
		{"add many", "inbox", func() error {
			return v.AddMany([]Entry{{Secret: NewSecret{Name: "ok"}, Value: NewValue([]byte("x"))},
				{Secret: NewSecret{Name: "inbox", Share: []string{"bob,carol,dave"}}, Value: NewValue([]byte("x"))}})
		}},
		{"import", "inbox", func() error {
			_, err := v.Import([]ImportEntry{{Name: "inbox", Value: NewValue([]byte("x"))}}, ImportOptions{Share: []string{"@team", "erin"}})
			return err
		}},
		{"share", "bank", func() error {
			_, err := v.Share("bank", []string{"dave"})
			return err
		}},
		{"share and unshare at once, adding", "bank", func() error {
			_, err := v.UpdateShare("bank", []string{"dave", "erin"}, []string{"alice"})
			return err
		}},
		{"member add", "bank", func() error {
			_, err := v.AddMember(NewMember{Name: "kim", PublicKey: g.member("kim", Classic).PublicKey(), Groups: []string{"team"}})
			return err
		}},
		{"group change", "bank", func() error {
			_, err := v.EditMember("dave", MemberEdit{AddGroups: []string{"team"}})
			return err
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			unchanged(t, v, c.secret, "3", c.change)
		})
	}
	// A secret in the trash counts: restored, it keeps its readers.
	if err := v.Remove("bank"); err != nil {
		t.Fatal(err)
	}
	unchanged(t, v, "bank", "3", func() error {
		_, err := v.EditMember("dave", MemberEdit{AddGroups: []string{"team", "other"}})
		return err
	})
	if err := v.Restore("bank"); err != nil {
		t.Fatal(err)
	}
	// Changes that give bank no reader go through.
	if _, err := v.UpdateShare("bank", []string{"dave"}, []string{"@team"}); err != nil {
		t.Fatalf("swapping readers: %v", err)
	}
	if _, err := v.EditMember("erin", MemberEdit{AddGroups: []string{"other"}}); err != nil {
		t.Fatal(err)
	}
}

// Recovery keys are readers of every value: they count.
func TestReaderLimitCountsRecoveryKeys(t *testing.T) {
	g := newGroup(t, Classic, "alice", "bob")
	rec, err := GenerateIdentity(Classic)
	if err != nil {
		t.Fatal(err)
	}
	g.member("carol", Classic)
	v, err := Create(g.path+".2", CreateOptions{Options: Options{Identity: g.ids["alice"], Clock: g.clock, StateDir: t.TempDir()},
		MemberName: "alice", PublicKey: g.ids["alice"].PublicKey(), Recovery: []string{rec.PublicKey()}})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if _, err := v.AddMember(NewMember{Name: "bob", PublicKey: g.ids["bob"].PublicKey()}); err != nil {
		t.Fatal(err)
	}
	v.maxReaders = 3
	if _, err := v.Add(NewSecret{Name: "bank", Share: []string{"bob"}}, NewValue([]byte("x"))); err != nil {
		t.Fatalf("alice, bob and the recovery key: %v", err)
	}
	if _, err := v.AddMember(NewMember{Name: "carol", PublicKey: g.ids["carol"].PublicKey()}); err != nil {
		t.Fatal(err)
	}
	unchanged(t, v, "bank", "3", func() error {
		_, err := v.Share("bank", []string{"carol"})
		return err
	})
}

// A vault already past the limit (changes from two copies merged can put
// it there; here, a limit lowered after the fact) is repaired: what adds
// no reader to the secret works, its value cannot be set until it is back
// under, and an unshare brings it back under and re-encrypts it.
func TestReaderLimitRepair(t *testing.T) {
	g, v := smallLimit(t, 0)
	if _, err := v.Add(NewSecret{Name: "bank", Share: []string{"@team", "dave", "erin"}}, NewValue([]byte("one"))); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Add(NewSecret{Name: "small", Share: []string{"bob"}}, NewValue([]byte("two"))); err != nil {
		t.Fatal(err)
	}
	if _, err := v.AddMember(NewMember{Name: "kim", PublicKey: g.member("kim", Classic).PublicKey()}); err != nil {
		t.Fatal(err)
	}
	v.maxReaders = 3 // bank has 5
	t.Run("set", func(t *testing.T) {
		unchanged(t, v, "bank", "3", func() error {
			_, err := v.Set("bank", NewValue([]byte("new")))
			if err != nil && !strings.Contains(err.Error(), `"bank" has 5 readers and age allows 3; unshare some members or groups from it first`) {
				t.Errorf("message: %v", err)
			}
			return err
		})
	})
	t.Run("rotate", func(t *testing.T) {
		unchanged(t, v, "bank", "3", func() error { _, err := v.CheckRotate("bank"); return err })
		unchanged(t, v, "bank", "3", func() error { _, err := v.StartRotation("bank", NewValue([]byte("new"))); return err })
	})
	t.Run("two-factor seed", func(t *testing.T) {
		unchanged(t, v, "bank", "3", func() error { _, err := v.SetTOTP("bank", NewValue([]byte(seedA))); return err })
	})
	t.Run("one more reader", func(t *testing.T) {
		unchanged(t, v, "bank", "3", func() error { _, err := v.Share("bank", []string{"kim"}); return err })
		unchanged(t, v, "bank", "3", func() error {
			_, err := v.EditMember("kim", MemberEdit{AddGroups: []string{"team"}})
			return err
		})
	})
	// Membership changes that give bank no reader work.
	if _, err := v.EditMember("erin", MemberEdit{AddGroups: []string{"intake"}}); err != nil {
		t.Fatalf("group change: %v", err)
	}
	if _, err := v.Set("small", NewValue([]byte("three"))); err != nil {
		t.Fatalf("another secret: %v", err)
	}
	// A share change that does not add to the count works, even when the
	// secret stays past the limit: the value stays as it was, for its
	// last readers.
	sc, err := v.UpdateShare("bank", []string{"kim"}, []string{"erin"})
	if err != nil {
		t.Fatalf("swapping readers past the limit: %v", err)
	}
	if !sc.Waiting {
		t.Fatalf("swap = %+v, want it waiting", sc)
	}
	if notes := strings.Join(v.Notes(), "\n"); !strings.Contains(notes, `"bank" is shared with 5 readers, more than age allows (3): only its last readers can read it; unshare some`) {
		t.Fatalf("no note says bank is past the limit:\n%s", notes)
	}
	if sc, err = v.Unshare("bank", []string{"kim"}); err != nil {
		t.Fatalf("unshare, still past the limit: %v", err)
	}
	// The unshare that brings it back under re-encrypts it without them,
	// and its value can be set again.
	if sc, err = v.Unshare("bank", []string{"dave"}); err != nil {
		t.Fatalf("unshare: %v", err)
	}
	if sc.Waiting || strings.Join(sc.Lost, ",") != "dave" {
		t.Fatalf("unshare = %+v", sc)
	}
	if n := readers(t, v, "bank"); n != 3 {
		t.Fatalf("bank has %d readers after the unshare, want 3", n)
	}
	if _, err := v.Set("bank", NewValue([]byte("new"))); err != nil {
		t.Fatalf("set after the repair: %v", err)
	}
	if got := reveal(t, v, "bank"); got != "new" {
		t.Fatalf("bank = %q", got)
	}
}

// A removal from a secret still past the limit goes through: the removed
// member's access waits for an unshare, and the secret is marked rotate
// now as every removal does.
func TestReaderLimitRemovalPastIt(t *testing.T) {
	_, v := smallLimit(t, 0)
	if _, err := v.Add(NewSecret{Name: "bank", Share: []string{"@team", "dave", "erin"}}, NewValue([]byte("one"))); err != nil {
		t.Fatal(err)
	}
	v.maxReaders = 3 // bank has 5; 4 after the removal
	rm, err := v.RemoveMember("erin", false, nil)
	if err != nil {
		t.Fatalf("remove: %v", err)
	}
	if strings.Join(rm.RotateNow, ",") != "bank" || strings.Join(rm.Waiting, ",") != "bank" {
		t.Fatalf("removal = %+v", rm)
	}
	if _, err := v.Unshare("bank", []string{"dave"}); err != nil {
		t.Fatal(err)
	}
	s, err := v.Get("bank")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(s.Readers, ",") != "alice,bob,carol" {
		t.Fatalf("readers = %v", s.Readers)
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int]string{0: "0", 7: "7", 999: "999", 1000: "1,000", 1024: "1,024", 1234567: "1,234,567", -1025: "-1,025"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}
