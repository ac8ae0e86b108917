package vault

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/mutual-aid-vault/vault/vault/internal/fold"
	"github.com/mutual-aid-vault/vault/vault/internal/oplog"
)

// newKeyFor makes a new identity for member name on the same machine (a
// new key, as 'vault rekey' makes) and returns the old one. From then on
// g.as(name) and g.do(name) open with the new identity.
func (g *group) newKeyFor(name string) (old *Identity) {
	g.t.Helper()
	old = g.ids[name]
	id, err := GenerateIdentity(old.Kind())
	if err != nil {
		g.t.Fatal(err)
	}
	g.ids[name] = id
	return old
}

// openWith opens the vault as name's machine with identity id.
func (g *group) openWith(name string, id *Identity) (*Vault, error) {
	o := g.opts(name)
	o.Identity = id
	return Open(g.path, o)
}

// stanzas counts the recipient stanzas of an age file.
func stanzas(ct []byte) int { return bytes.Count(ct, []byte("\n-> X25519 ")) }

// rekeyGroup is alice (admin), sam and bob with three secrets: airtable
// (alice and sam; two versions, a seed), call-log (sam and bob: alice
// cannot read it) and sams (sam alone).
func rekeyGroup(t *testing.T) *group {
	g := newGroup(t, Classic, "alice", "sam", "bob")
	g.do("alice", func(v *Vault) {
		if _, err := v.Add(NewSecret{Name: "airtable", Share: []string{"sam"}}, NewValue([]byte("air-1"))); err != nil {
			t.Fatal(err)
		}
		if _, err := v.Set("airtable", NewValue([]byte("air-2"))); err != nil {
			t.Fatal(err)
		}
		if _, err := v.SetTOTP("airtable", NewValue([]byte("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP"))); err != nil {
			t.Fatal(err)
		}
	})
	g.do("sam", func(v *Vault) {
		if _, err := v.Add(NewSecret{Name: "call-log", Share: []string{"bob"}}, NewValue([]byte("call-pw"))); err != nil {
			t.Fatal(err)
		}
		if _, err := v.Add(NewSecret{Name: "sams"}, NewValue([]byte("sams-own"))); err != nil {
			t.Fatal(err)
		}
	})
	return g
}

// TestReplaceKey: an admin replaces a member's key (a new laptop). The
// member keeps their name and what is shared with them; the admin
// re-encrypts at once what they can read, the next reader the rest, the
// member with their old key what only they read; nothing is marked
// rotate-now; the old key opens nothing written afterwards, and the old
// identity is told plainly that it was replaced.
func TestReplaceKey(t *testing.T) {
	g := rekeyGroup(t)
	var oldKeys *keyset
	g.do("sam", func(v *Vault) { oldKeys = v.keys })
	var before int
	countOps(t, g.path, func(n int) { before = n })
	old := g.newKeyFor("sam")
	g.clock.t = g.clock.t.AddDate(0, 0, 1)
	g.do("alice", func(v *Vault) {
		rk, err := v.ReplaceKey("sam", NewKey{PublicKey: g.ids["sam"].PublicKey()})
		if err != nil {
			t.Fatal(err)
		}
		if rk.Member != "sam" || rk.Fingerprint != g.ids["sam"].Fingerprint() || rk.Requested ||
			!slices.Equal(rk.Reencrypted, []string{"airtable"}) || !slices.Equal(rk.Waiting, []string{"call-log"}) ||
			!slices.Equal(rk.OnlyTheirs, []string{"sams"}) || len(rk.RotateNow) != 0 {
			t.Fatalf("report = %+v", rk)
		}
		for _, n := range []string{"airtable", "call-log", "sams"} {
			if s, _ := v.Get(n); s.RotateNow != nil {
				t.Fatalf("%s is marked rotate-now after a routine new key: %+v", n, s.RotateNow)
			}
		}
		ms, _ := v.Members()
		i := slices.IndexFunc(ms, func(m Member) bool { return m.Name == "sam" })
		if ms[i].PublicKey != g.ids["sam"].PublicKey() || ms[i].KeyReplaced.IsZero() || ms[i].KeyRequest != nil {
			t.Fatalf("sam = %+v", ms[i])
		}
	})

	// The old identity, on sam's machine or any other, is told.
	_, err := g.openWith("sam", old)
	mustIs(t, err, ErrKeyReplaced)
	mustIs(t, err, ErrNotMember)
	if !strings.Contains(err.Error(), "your key was replaced by alice on 2026-11-27") || !strings.Contains(err.Error(), g.ids["sam"].Fingerprint()) {
		t.Fatalf("error = %v", err)
	}
	elsewhere := g.opts("sam")
	elsewhere.Identity, elsewhere.StateDir = old, t.TempDir()
	_, err = Open(g.path, elsewhere)
	mustIs(t, err, ErrKeyReplaced)
	_, err = Open(g.path, elsewhere) // and again: its copy opens
	mustIs(t, err, ErrKeyReplaced)

	// The new identity works on the same machine (a copy of its own).
	g.do("sam", func(v *Vault) {
		if got := reveal(t, v, "airtable"); got != "air-2" {
			t.Fatalf("airtable = %q", got)
		}
		if _, err := v.TOTP("airtable", 0); err != nil {
			t.Fatalf("the seed was not re-encrypted with its value: %v", err)
		}
		for _, n := range []string{"call-log", "sams"} {
			_, err := v.Reveal(n, 0)
			mustIs(t, err, ErrNotReader)
		}
		// History from before the new key is the old key's.
		_, err := v.Reveal("airtable", 1)
		mustIs(t, err, ErrNotReader)
	})
	// bob's next change finishes call-log; sam's old key, sams.
	g.do("bob", func(v *Vault) {
		ch, err := v.Maintain()
		if err != nil || !slices.Equal(ch.Reencrypted, []string{"call-log"}) {
			t.Fatalf("bob's chores = %+v, %v", ch, err)
		}
	})
	g.do("sam", func(v *Vault) {
		done, unopened, err := v.ReencryptWithOldKey(old)
		if err != nil || !slices.Equal(done, []string{"sams"}) || len(unopened) != 0 {
			t.Fatalf("re-encrypted with the old key: %v, %v, %v", done, unopened, err)
		}
		for n, want := range map[string]string{"airtable": "air-2", "call-log": "call-pw", "sams": "sams-own"} {
			if got := reveal(t, v, n); got != want {
				t.Fatalf("%s = %q", n, got)
			}
		}
	})

	// Written afterwards: not for the old key.
	g.do("alice", func(v *Vault) {
		if _, err := v.Set("airtable", NewValue([]byte("air-3"))); err != nil {
			t.Fatal(err)
		}
		s, _ := v.Get("airtable")
		ct, err := v.Ciphertext("airtable", 0)
		if err != nil {
			t.Fatal(err)
		}
		if n := stanzas(ct); n != len(s.Readers) {
			t.Fatalf("%d stanzas for readers %v", n, s.Readers)
		}
		if _, err := decryptValue(ct, old, -1); err == nil {
			t.Fatal("the old key reads a value written after it was replaced")
		}
		if val, err := decryptValue(ct, g.ids["sam"], -1); err != nil || string(val.Bytes()) != "air-3" {
			t.Fatalf("the new key: %v", err)
		}
	})
	// Of every value now in the file, the old key opens only history
	// from before it was replaced (airtable version 1).
	db, err := bolt.Open(g.path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var oldOpens []string
	opened, total := 0, 0
	var keys *keyset
	g.do("alice", func(v *Vault) { keys = vaultKeys(v) })
	db.View(func(tx *bolt.Tx) error {
		tx.Bucket([]byte(bBlobs)).ForEach(func(k, stored []byte) error {
			ct, err := keys.openValue(stored)
			if err != nil {
				t.Fatal(err)
			}
			if val, err := decryptValue(ct, old, -1); err == nil {
				oldOpens = append(oldOpens, string(val.Bytes()))
			}
			return nil
		})
		tx.Bucket([]byte(bOps)).ForEach(func(k, env []byte) error {
			total++
			if e, key := oplog.FindKey(env, oldKeys); key != nil {
				if _, err := oplog.Open(env, e, key); err == nil {
					opened++
				}
			}
			return nil
		})
		grants := 0
		tx.Bucket([]byte(bGrants)).ForEach(func(k, ct []byte) error {
			if keys, _ := openGrant(ct, old); keys != nil {
				grants++
			}
			return nil
		})
		if grants != 1 {
			t.Errorf("the old key opens %d key grants; want only the one sam was given when added", grants)
		}
		return nil
	})
	if !slices.Equal(oldOpens, []string{"air-1"}) {
		t.Fatalf("the old key opens these values: %q", oldOpens)
	}
	// The replacement is sealed with the old vault key (so that every
	// member of that time learns of it); nothing after.
	if opened != before+1 || total <= before+1 {
		t.Fatalf("the old vault keys open %d of %d changes; %d existed before the new key", opened, total, before)
	}
}

// TestReplaceKeyCompromised: a key reported lost or stolen marks every
// secret the member could read rotate-now, with a reason naming them;
// like a routine replacement, it starts a new vault key.
func TestReplaceKeyCompromised(t *testing.T) {
	for _, compromised := range []bool{false, true} {
		g := rekeyGroup(t)
		var epoch oplog.EpochID
		g.do("alice", func(v *Vault) { a, _ := v.authState(); epoch = a.Epoch })
		g.newKeyFor("sam")
		g.do("alice", func(v *Vault) {
			rk, err := v.ReplaceKey("sam", NewKey{PublicKey: g.ids["sam"].PublicKey(), Compromised: compromised})
			if err != nil {
				t.Fatal(err)
			}
			want := []string(nil)
			if compromised {
				want = []string{"airtable", "call-log", "sams"}
			}
			if !slices.Equal(rk.RotateNow, want) {
				t.Fatalf("rotate now = %v", rk.RotateNow)
			}
			for _, n := range []string{"airtable", "call-log", "sams"} {
				s, _ := v.Get(n)
				if (s.RotateNow != nil) != compromised {
					t.Fatalf("%s: rotate now %+v with compromised %v", n, s.RotateNow, compromised)
				}
				if compromised && s.RotateNow.Text != "sam's old key was reported lost or stolen on 2026-11-26" {
					t.Fatalf("reason = %q", s.RotateNow.Text)
				}
			}
			a, _ := v.authState()
			if a.Epoch == epoch {
				t.Fatal("no new vault key")
			}
			sam := a.ByName("sam")
			if !a.HasEpoch(sam.ID, a.Epoch) || slices.Contains(a.RetiredHolders(a.Epoch), sam.ID) {
				t.Fatal("the new vault key is not the new key's alone")
			}
			// A new value clears the reason.
			if _, err := v.Set("airtable", NewValue([]byte("changed"))); err != nil {
				t.Fatal(err)
			}
			if s, _ := v.Get("airtable"); s.RotateNow != nil {
				t.Fatalf("still rotate now: %+v", s.RotateNow)
			}
		})
	}
}

// TestRequestKey: a member asks for a new key with their current one; an
// admin sees the request and approves it; the member's new identity
// re-encrypts with the old one what nobody else could.
func TestRequestKey(t *testing.T) {
	g := rekeyGroup(t)
	newID, err := GenerateIdentity(Classic)
	if err != nil {
		t.Fatal(err)
	}
	g.do("alice", func(v *Vault) {
		_, err := v.ReplaceKey("sam", NewKey{})
		mustIs(t, err, ErrNoRequest)
		if !strings.Contains(err.Error(), "sam has not asked for a new key") {
			t.Fatalf("error = %v", err)
		}
	})
	g.do("sam", func(v *Vault) {
		kr, err := v.RequestKey(newID.PublicKey())
		if err != nil || kr.Member != "sam" || kr.Fingerprint != newID.Fingerprint() {
			t.Fatalf("request = %+v, %v", kr, err)
		}
		// Still sam's own key until approved.
		if got := reveal(t, v, "sams"); got != "sams-own" {
			t.Fatalf("sams = %q", got)
		}
	})
	g.do("alice", func(v *Vault) {
		krs, err := v.KeyRequests()
		if err != nil || len(krs) != 1 || krs[0].Member != "sam" || krs[0].PublicKey != newID.PublicKey() {
			t.Fatalf("requests = %+v, %v", krs, err)
		}
		rv, _ := v.Review()
		if len(rv.KeyRequests) != 1 || rv.KeyRequests[0].Fingerprint != newID.Fingerprint() {
			t.Fatalf("review requests = %+v", rv.KeyRequests)
		}
		rk, err := v.ReplaceKey("sam", NewKey{})
		if err != nil || !rk.Requested || rk.PublicKey != newID.PublicKey() {
			t.Fatalf("approval = %+v, %v", rk, err)
		}
		if krs, _ := v.KeyRequests(); len(krs) != 0 {
			t.Fatalf("still pending: %+v", krs)
		}
	})
	old := g.newKeyFor("sam")
	g.ids["sam"] = newID
	g.do("sam", func(v *Vault) {
		done, _, err := v.ReencryptWithOldKey(old)
		if err != nil || !slices.Equal(done, []string{"call-log", "sams"}) {
			t.Fatalf("re-encrypted with the old key: %v, %v", done, err)
		}
		for n, want := range map[string]string{"airtable": "air-2", "call-log": "call-pw", "sams": "sams-own"} {
			if got := reveal(t, v, n); got != want {
				t.Fatalf("%s = %q", n, got)
			}
		}
	})
	// A key that is not the replaced one opens nothing, and says so.
	g.do("bob", func(v *Vault) {
		if _, err := v.ReplaceKey("sam", NewKey{}); !errors.Is(err, ErrNotAdmin) {
			t.Fatalf("a non-admin approved: %v", err)
		}
	})
}

// TestReplaceOwnKey: an admin replaces their own key at once; the old
// identity signs nothing more (no chores after the replacement, which it
// could not sign), the new one re-encrypts everything with the old.
func TestReplaceOwnKey(t *testing.T) {
	g := rekeyGroup(t)
	old := g.newKeyFor("alice")
	v, err := g.openWith("alice", old)
	if err != nil {
		t.Fatal(err)
	}
	rk, err := v.ReplaceKey("alice", NewKey{PublicKey: g.ids["alice"].PublicKey()})
	v.Close()
	if err != nil || !slices.Equal(rk.Waiting, []string{"airtable"}) {
		t.Fatalf("report = %+v, %v", rk, err)
	}
	_, err = g.openWith("alice", old)
	mustIs(t, err, ErrKeyReplaced)
	if !strings.Contains(err.Error(), "your key was replaced by you on") {
		t.Fatalf("error = %v", err)
	}
	g.do("alice", func(v *Vault) {
		done, _, err := v.ReencryptWithOldKey(old)
		if err != nil || !slices.Equal(done, []string{"airtable"}) {
			t.Fatalf("re-encrypted with the old key: %v, %v", done, err)
		}
		if got := reveal(t, v, "airtable"); got != "air-2" {
			t.Fatalf("airtable = %q", got)
		}
		if _, err := v.AddMember(NewMember{Name: "kim", PublicKey: g.member("kim", Classic).PublicKey()}); err != nil {
			t.Fatalf("the new key cannot act as an admin: %v", err)
		}
	})
	g.do("sam", func(v *Vault) {
		if got := reveal(t, v, "airtable"); got != "air-2" {
			t.Fatalf("sam reads airtable as %q", got)
		}
	})
}

// TestReplaceKeyRefusals: what ReplaceKey and RequestKey refuse, with the
// vault left as it was.
func TestReplaceKeyRefusals(t *testing.T) {
	g := rekeyGroup(t)
	pq, err := GenerateIdentity(PostQuantum)
	if err != nil {
		t.Fatal(err)
	}
	fresh, _ := GenerateIdentity(Classic)
	var opsBefore int
	countOps(t, g.path, func(n int) { opsBefore = n })
	g.do("alice", func(v *Vault) {
		for _, c := range []struct {
			name, key string
			want      error
			msg       string
		}{
			{"nobody", fresh.PublicKey(), ErrNoMember, `no member named "nobody"`},
			{"sam", "age1notakey", ErrBadKey, "not a valid public key"},
			{"sam", fresh.Recipient(), ErrBadKey, "only the age part"},
			{"sam", g.ids["sam"].PublicKey(), ErrExists, "that is sam's key already"},
			{"sam", g.ids["bob"].PublicKey(), ErrExists, `that key already belongs to member "bob"`},
			{"sam", pq.PublicKey(), ErrWrongKind, "that is a post-quantum key but this is a classic vault"},
		} {
			_, err := v.ReplaceKey(c.name, NewKey{PublicKey: c.key})
			mustIs(t, err, c.want)
			if !strings.Contains(err.Error(), c.msg) {
				t.Errorf("%s %q: %v; want %q", c.name, c.key, err, c.msg)
			}
		}
	})
	g.do("sam", func(v *Vault) {
		_, err := v.ReplaceKey("bob", NewKey{PublicKey: fresh.PublicKey()})
		mustIs(t, err, ErrNotAdmin)
		_, err = v.RequestKey(g.ids["sam"].PublicKey())
		mustIs(t, err, ErrExists)
		_, err = v.RequestKey(g.ids["alice"].PublicKey())
		mustIs(t, err, ErrExists)
	})
	countOps(t, g.path, func(n int) {
		if n != opsBefore {
			t.Fatalf("%d changes after refusals, %d before", n, opsBefore)
		}
	})
}

// TestRekeyConcurrentRemoval: a new key given while another admin removes
// someone else (on another copy): the removal's vault key went to the
// member's old key. The next admin change gives the new key what it lacks
// and issues a vault key the old one does not hold.
func TestRekeyConcurrentRemoval(t *testing.T) {
	g := newGroup(t, Classic, "alice", "ben", "sam", "kim")
	var old *Identity
	removed := g.whileBenRemovesKim(func(v *Vault) {
		old = g.newKeyFor("sam")
		if _, err := v.ReplaceKey("sam", NewKey{PublicKey: g.ids["sam"].PublicKey()}); err != nil {
			t.Fatal(err)
		}
	})
	g.do("alice", func(v *Vault) {
		if _, err := v.Merge(removed); err != nil {
			t.Fatal(err)
		}
		// A merge makes no change of its own: alice's chores run with her
		// next change, or here.
		if _, err := v.Maintain(); err != nil {
			t.Fatal(err)
		}
		a, _ := v.authState()
		sam := a.ByName("sam")
		if kim := a.Member(g.memberIDOf(v, "kim")); kim != nil && kim.Active() {
			t.Fatal("kim is still a member")
		}
		if !a.HasEpoch(sam.ID, a.Epoch) || len(a.RetiredHolders(a.Epoch)) != 0 {
			t.Fatalf("after alice's chores: sam's new key holds the current vault key %v, old keys hold it: %v", a.HasEpoch(sam.ID, a.Epoch), a.RetiredHolders(a.Epoch))
		}
	})
	g.do("sam", func(v *Vault) {
		if len(v.Warnings()) != 0 {
			t.Fatalf("warnings = %q", v.Warnings())
		}
	})
	_, err := g.openWith("sam", old)
	mustIs(t, err, ErrKeyReplaced)
}

// memberIDOf returns a member's ID, removed or not, from v's state.
func (g *group) memberIDOf(v *Vault, name string) fold.MemberID {
	a, _ := v.authState()
	for _, m := range a.Members {
		if m.Name == name {
			return m.ID
		}
	}
	g.t.Fatalf("no member %s", name)
	return fold.MemberID{}
}
