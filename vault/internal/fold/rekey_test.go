package fold

import (
	"bytes"
	"encoding/hex"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mutual-aid-vault/vault/vault/internal/oplog"
)

// newKeys returns new keys for the member name, keeping their ID: what a
// new laptop's identity is.
func (w *world) newKeys(name string) *actor {
	w.t.Helper()
	n := newActor(w.t, name)
	n.id = w.a(name).id
	return n
}

// rekey makes by replace who's keys with to's, granting every member
// named in holders the new vault key (who at the new key).
func (w *world) rekey(by string, parents []OpID, who string, to *actor, compromised bool, holders ...string) (OpID, EpochID) {
	w.t.Helper()
	e, _ := oplog.NewEpochID()
	grants := []Grant{{To: to.id, Blob: blob(), Epochs: []EpochID{e}}}
	for _, h := range holders {
		grants = append(grants, Grant{To: w.a(h).id, Blob: blob(), Epochs: []EpochID{e}})
	}
	return w.sign(w.a(by), parents, KindMemberRekey, MemberRekey{Member: w.a(who).id, Age: to.age, Sign: to.SigningKey(),
		Compromised: compromised, Epoch: e, Grants: grants}), e
}

// TestRekeyRules checks who may replace a member's keys, and what it
// changes.
func TestRekeyRules(t *testing.T) {
	t.Run("an admin replaces a member's keys; the member stays who they are", func(t *testing.T) {
		w, g := newWorld(t, "alex", "sam")
		a1 := w.addMember("alex", g, "sam", false, "intake")
		before := w.fold(a1).member("sam")
		laptop := w.newKeys("sam")
		rk, e := w.rekey("alex", []OpID{a1}, "sam", laptop, false, "alex")
		s := w.fold()
		mustAccept(t, s, rk)
		m := s.member("sam")
		if m.ID != before.ID || m.Num != before.Num || !slices.Equal(m.Groups, []string{"intake"}) || !m.Active() {
			t.Fatalf("sam changed identity: %+v", m)
		}
		if m.Age != laptop.age || !bytes.Equal(m.Sign, laptop.SigningKey()) || m.Rekeyed == nil || m.Rekeyed.Op != rk {
			t.Fatalf("sam's keys were not replaced: %+v", m)
		}
		if s.Auth.Epoch != e || !s.Auth.HasEpoch(m.ID, e) || s.Auth.HasEpoch(m.ID, w.epoch) {
			t.Fatalf("epoch %x, sam holds new %v, old %v: want a new epoch held by the new key only", s.Auth.Epoch, s.Auth.HasEpoch(m.ID, e), s.Auth.HasEpoch(m.ID, w.epoch))
		}
		if got := s.Auth.RetiredHolders(w.epoch); !slices.Equal(got, []MemberID{m.ID}) {
			t.Fatalf("retired holders of the old epoch = %v", got)
		}
		if got := s.Auth.RetiredHolders(e); len(got) != 0 {
			t.Fatalf("an old key holds the new epoch: %v", got)
		}
	})
	t.Run("only admins replace keys, even their own", func(t *testing.T) {
		w, g := newWorld(t, "alex", "sam", "kim")
		a1 := w.addMember("alex", g, "sam", false)
		a2 := w.addMember("alex", a1, "kim", false)
		other, _ := w.rekey("sam", []OpID{a2}, "kim", w.newKeys("kim"), false, "alex", "sam")
		self, _ := w.rekey("sam", []OpID{other}, "sam", w.newKeys("sam"), false, "alex", "kim")
		s := w.fold()
		mustReject(t, s, other)
		mustReject(t, s, self)
		if e := s.event(other); !strings.Contains(e.Rejected, "only an admin can replace a member's key") || e.Summary != "sam tried to replace kim's key" {
			t.Fatalf("event = %+v", e)
		}
		if s.member("kim").Age != w.a("kim").age || s.member("sam").Age != w.a("sam").age || s.Auth.Epoch != w.epoch {
			t.Fatal("a non-admin's key replacement took effect")
		}
	})
	t.Run("an admin replaces their own keys", func(t *testing.T) {
		w, g := newWorld(t, "alex")
		rk, _ := w.rekey("alex", []OpID{g}, "alex", w.newKeys("alex"), false)
		s := w.fold()
		mustAccept(t, s, rk)
		if e := s.event(rk); e.Summary != "alex replaced their own key" {
			t.Fatalf("summary = %q", e.Summary)
		}
	})
	t.Run("what does not fit is refused", func(t *testing.T) {
		w, g := newWorld(t, "alex", "sam", "kim")
		a1 := w.addMember("alex", g, "sam", false)
		a2 := w.addMember("alex", a1, "kim", false)
		same, _ := w.rekey("alex", []OpID{a2}, "sam", w.a("sam"), false, "alex")
		taken, _ := w.rekey("alex", []OpID{a2}, "sam", &actor{id: w.a("sam").id, age: w.a("kim").age, priv: w.a("kim").priv}, false, "alex")
		e, _ := oplog.NewEpochID()
		laptop := w.newKeys("sam")
		noGrant := w.sign(w.a("alex"), []OpID{a2}, KindMemberRekey, MemberRekey{Member: laptop.id, Age: laptop.age, Sign: laptop.SigningKey(), Epoch: e,
			Grants: []Grant{{To: w.a("alex").id, Blob: blob(), Epochs: []EpochID{e}}}})
		oldEpoch := w.sign(w.a("alex"), []OpID{a2}, KindMemberRekey, MemberRekey{Member: laptop.id, Age: laptop.age, Sign: laptop.SigningKey(), Epoch: e,
			Grants: []Grant{{To: laptop.id, Blob: blob(), Epochs: []EpochID{w.epoch}}}})
		pq := *laptop
		pq.age = "age1pq1" + strings.Repeat("q", 40)
		badKind, _ := w.rekey("alex", []OpID{a2}, "sam", &pq, false)
		rm := w.remove("alex", []OpID{same, taken, noGrant, oldEpoch, badKind}, "kim")
		removed, _ := w.rekey("alex", []OpID{rm}, "kim", w.newKeys("kim"), false, "alex")
		s := w.fold()
		for op, want := range map[OpID]string{
			same: "that is the member's key already", taken: "that key already belongs to a member",
			noGrant: "it gives the member's new key no vault keys", oldEpoch: "a key grant lacks the new key",
			badKind: "post-quantum key in a x25519 vault", removed: "there is no such member",
		} {
			mustReject(t, s, op)
			if e := s.event(op); !strings.Contains(e.Rejected, want) {
				t.Errorf("%s: rejected %q, want %q", e.Summary, e.Rejected, want)
			}
		}
		mustAccept(t, s, rm)
	})
	t.Run("the old key signs nothing after the replacement", func(t *testing.T) {
		w, g := newWorld(t, "alex", "sam")
		a1 := w.addMember("alex", g, "sam", false)
		x := secretID(1)
		add := w.addSecret("sam", []OpID{a1}, x, "airtable", Share{Members: []MemberID{w.a("sam").id}}, "sam")
		old := w.a("sam")
		laptop := w.newKeys("sam")
		rk, _ := w.rekey("alex", []OpID{add}, "sam", laptop, false, "alex")
		byOld := w.setValue("sam", []OpID{rk}, x, "sam")
		w.actors["sam"] = laptop
		byNew := w.setValue("sam", []OpID{rk}, x, "sam")
		s := w.fold()
		mustReject(t, s, byOld)
		if e := s.event(byOld); !strings.Contains(e.Rejected, "signature does not match") {
			t.Fatalf("rejected: %q", e.Rejected)
		}
		mustAccept(t, s, byNew)
		_ = old
	})
}

// TestRekeyConcurrentOldKey: what the old key signed concurrently with a
// routine replacement stands (the member's old laptop, not yet synced);
// with one reported lost or stolen it is void, whatever it was.
func TestRekeyConcurrentOldKey(t *testing.T) {
	for _, compromised := range []bool{false, true} {
		w, g := newWorld(t, "alex", "sam", "kim")
		a1 := w.addMember("alex", g, "sam", true)
		a2 := w.addMember("alex", a1, "kim", false)
		x := secretID(1)
		add := w.addSecret("sam", []OpID{a2}, x, "airtable", Share{Members: []MemberID{w.a("sam").id}}, "sam")
		rk, _ := w.rekey("alex", []OpID{add}, "sam", w.newKeys("sam"), compromised, "alex", "kim")
		set := w.setValue("sam", []OpID{add}, x, "sam")
		rm := w.remove("sam", []OpID{add}, "kim")
		s := w.fold()
		mustAccept(t, s, rk)
		if compromised {
			mustReject(t, s, set)
			mustReject(t, s, rm)
			if e := s.event(set); !strings.Contains(e.Rejected, "signed with its author's old key, concurrently with its replacement") {
				t.Fatalf("rejected: %q", e.Rejected)
			}
			if !s.member("kim").Active() {
				t.Fatal("a removal signed with a stolen key took effect")
			}
		} else {
			mustAccept(t, s, set)
			mustAccept(t, s, rm)
		}
	}
}

// TestRekeyValues: every value the member reads waits for a re-encryption
// to the new key, values written without seeing the replacement too; a
// reader's re-encryption (or the member's own, made with the old key)
// finishes it; only a key reported lost or stolen marks rotate-now.
func TestRekeyValues(t *testing.T) {
	for _, compromised := range []bool{false, true} {
		w, g := newWorld(t, "alex", "sam")
		a1 := w.addMember("alex", g, "sam", false)
		sam := w.a("sam").id
		both := Share{Members: []MemberID{w.a("alex").id, sam}}
		x, y := secretID(1), secretID(2)
		addX := w.addSecret("alex", []OpID{a1}, x, "airtable", both, "alex", "sam")
		addY := w.addSecret("sam", []OpID{addX}, y, "sams", Share{Members: []MemberID{sam}}, "sam")
		laptop := w.newKeys("sam")
		rk, _ := w.rekey("alex", []OpID{addY}, "sam", laptop, compromised, "alex")
		// alex sets a value at the same time, to sam's old key.
		concurrent := w.setValue("alex", []OpID{addY}, x, "alex", "sam")
		s := w.fold()
		for _, id := range []SecretID{x, y} {
			sec := s.Secrets[id]
			cur := sec.CurrentVersion()
			if !slices.Equal(cur.Rekeyed, []MemberID{sam}) || cur.CanRead(sam) || !sec.NeedsReencrypt(s.Auth) {
				t.Fatalf("%s: rekeyed %v, sam reads it %v, needs re-encryption %v", sec.Name, cur.Rekeyed, cur.CanRead(sam), sec.NeedsReencrypt(s.Auth))
			}
			if slices.Contains(cur.People(s.Auth), sam) {
				t.Fatalf("%s: sam listed among who reads it", sec.Name)
			}
			for _, v := range sec.Versions {
				if slices.Contains(v.Readers, sam) && !slices.Contains(v.Rekeyed, sam) {
					t.Fatalf("%s: version %d still counts for sam's new key", sec.Name, v.N)
				}
			}
			if got := len(sec.RotateNow) > 0; got != compromised {
				t.Fatalf("%s: rotate now %v with compromised %v: %+v", sec.Name, got, compromised, sec.RotateNow)
			}
			if compromised && sec.RotateNow[0].Text != "sam's old key was reported lost or stolen on "+s.event(rk).At.Format("2006-01-02") {
				t.Fatalf("reason = %q", sec.RotateNow[0].Text)
			}
		}
		if s.Secrets[x].Current != concurrent {
			t.Fatal("the concurrent value is not current")
		}
		// alex re-encrypts airtable for sam's new key; sam herself
		// re-encrypts sams (her old key reads it).
		reX := w.sign(w.a("alex"), []OpID{rk, concurrent}, KindReencrypt, SecretReencrypt{Secret: x, Items: []Reencrypt{{Version: concurrent, Value: Value{Blob: blob(), Readers: []MemberID{w.a("alex").id, sam}}}}})
		w.actors["sam"] = laptop
		reY := w.sign(laptop, []OpID{reX}, KindReencrypt, SecretReencrypt{Secret: y, Items: []Reencrypt{{Version: addY, Value: Value{Blob: blob(), Readers: []MemberID{sam}}}}})
		s = w.fold()
		mustAccept(t, s, reX)
		mustAccept(t, s, reY)
		for _, id := range []SecretID{x, y} {
			sec := s.Secrets[id]
			if cur := sec.CurrentVersion(); len(cur.Rekeyed) != 0 || !cur.CanRead(sam) || sec.NeedsReencrypt(s.Auth) {
				t.Fatalf("%s after re-encryption: rekeyed %v, needs %v", sec.Name, cur.Rekeyed, sec.NeedsReencrypt(s.Auth))
			}
		}
		// A value set on top of the replacement is for the new key; it
		// clears the reason to rotate.
		set := w.setValue("alex", []OpID{reY}, x, "alex", "sam")
		s = w.fold()
		if cur := s.Secrets[x].CurrentVersion(); cur.Op != set || len(cur.Rekeyed) != 0 || len(s.Secrets[x].RotateNow) != 0 {
			t.Fatalf("after a new value: %+v, reasons %+v", cur, s.Secrets[x].RotateNow)
		}
	}
}

// TestRekeyRequest: a member asks for new keys with a request signed by
// their current key; an admin's replacement settles it.
func TestRekeyRequest(t *testing.T) {
	t.Run("asked and approved", func(t *testing.T) {
		w, g := newWorld(t, "alex", "sam")
		a1 := w.addMember("alex", g, "sam", false)
		laptop := w.newKeys("sam")
		req := w.sign(w.a("sam"), []OpID{a1}, KindRekeyRequest, RekeyRequest{Age: laptop.age, Sign: laptop.SigningKey()})
		s := w.fold()
		mustAccept(t, s, req)
		r := s.member("sam").Request
		if r == nil || r.Age != laptop.age || !bytes.Equal(r.Sign, laptop.SigningKey()) || r.Made.Op != req {
			t.Fatalf("request = %+v", r)
		}
		if e := s.event(req); e.Summary != "sam asked for a new key" || e.Target != "sam" {
			t.Fatalf("event = %+v", e)
		}
		if s.member("sam").Age == laptop.age {
			t.Fatal("a request changed the key by itself")
		}
		e, _ := oplog.NewEpochID()
		ok := w.sign(w.a("alex"), []OpID{req}, KindMemberRekey, MemberRekey{Member: laptop.id, Age: r.Age, Sign: r.Sign, Request: req, Epoch: e,
			Grants: []Grant{{To: laptop.id, Blob: blob(), Epochs: []EpochID{e}}}})
		s = w.fold()
		mustAccept(t, s, ok)
		if m := s.member("sam"); m.Request != nil || m.Age != laptop.age {
			t.Fatalf("after approval: %+v", m)
		}
		if e := s.event(ok); e.Summary != "alex gave sam a new key" || !strings.HasPrefix(e.Detail, "as they asked; 0 secrets to re-encrypt") {
			t.Fatalf("event = %+v", e)
		}
	})
	t.Run("signed by the wrong key", func(t *testing.T) {
		w, g := newWorld(t, "alex", "sam", "kim")
		a1 := w.addMember("alex", g, "sam", false)
		a2 := w.addMember("alex", a1, "kim", false)
		// kim asks, in sam's name, for a key of her choosing.
		impostor := *w.a("kim")
		impostor.id = w.a("sam").id
		mine := newActor(t, "kim-2")
		forged := w.sign(&impostor, []OpID{a2}, KindRekeyRequest, RekeyRequest{Age: mine.age, Sign: mine.SigningKey()})
		s := w.fold()
		mustReject(t, s, forged)
		if s.member("sam").Request != nil {
			t.Fatal("a forged request is pending")
		}
	})
	t.Run("signed by a key replaced since", func(t *testing.T) {
		w, g := newWorld(t, "alex", "sam")
		a1 := w.addMember("alex", g, "sam", false)
		laptop := w.newKeys("sam")
		rk, _ := w.rekey("alex", []OpID{a1}, "sam", laptop, false, "alex")
		other := w.newKeys("sam")
		stale := w.sign(w.a("sam"), []OpID{a1}, KindRekeyRequest, RekeyRequest{Age: other.age, Sign: other.SigningKey()})
		after := w.sign(w.a("sam"), []OpID{rk}, KindRekeyRequest, RekeyRequest{Age: other.age, Sign: other.SigningKey()})
		s := w.fold()
		mustAccept(t, s, rk)
		mustReject(t, s, after)
		if s.member("sam").Request != nil {
			t.Fatalf("a request signed with the old key is pending (stale: %q)", s.event(stale).Rejected)
		}
	})
	t.Run("what does not fit is refused", func(t *testing.T) {
		w, g := newWorld(t, "alex", "sam", "kim")
		a1 := w.addMember("alex", g, "sam", false)
		a2 := w.addMember("alex", a1, "kim", false)
		kims := w.sign(w.a("sam"), []OpID{a2}, KindRekeyRequest, RekeyRequest{Age: w.a("kim").age, Sign: w.a("kim").SigningKey()})
		own := w.sign(w.a("sam"), []OpID{kims}, KindRekeyRequest, RekeyRequest{Age: w.a("sam").age, Sign: w.a("sam").SigningKey()})
		rm := w.remove("alex", []OpID{own}, "kim")
		laptop := w.newKeys("kim")
		gone := w.sign(w.a("kim"), []OpID{rm}, KindRekeyRequest, RekeyRequest{Age: laptop.age, Sign: laptop.SigningKey()})
		s := w.fold()
		for op, want := range map[OpID]string{kims: "that key already belongs to a member", own: "that is the member's key already", gone: "its author"} {
			mustReject(t, s, op)
			if e := s.event(op); !strings.Contains(e.Rejected, want) {
				t.Errorf("%s: rejected %q, want %q", e.Summary, e.Rejected, want)
			}
		}
	})
}

// TestRekeyConcurrentRemoval: a replacement of a member's keys concurrent
// with their removal leaves them removed, in either order; one concurrent
// with another member's removal leaves the removal's key with the old key
// only, for an admin's chores to fix.
func TestRekeyConcurrentRemoval(t *testing.T) {
	w, g := newWorld(t, "alex", "sam", "kim")
	a1 := w.addMember("alex", g, "sam", false)
	a2 := w.addMember("alex", a1, "kim", false)
	rk, _ := w.rekey("alex", []OpID{a2}, "sam", w.newKeys("sam"), false, "alex", "kim")
	rm := w.remove("alex", []OpID{a2}, "sam")
	s := w.fold()
	mustAccept(t, s, rm)
	if s.member("sam").Active() {
		t.Fatal("sam is a member after a removal concurrent with her new key")
	}
	if s.Auth.Epoch == epochOf(w, rk) {
		t.Fatal("the replacement's key is current after the removal")
	}

	w2, g2 := newWorld(t, "alex", "sam", "kim")
	b1 := w2.addMember("alex", g2, "sam", false)
	b2 := w2.addMember("alex", b1, "kim", false)
	sam := w2.a("sam").id
	rk2, eRk := w2.rekey("alex", []OpID{b2}, "sam", w2.newKeys("sam"), false, "alex", "kim")
	e, _ := oplog.NewEpochID()
	// The removal gives its key to sam's old key: it had not seen the new.
	rm2 := w2.sign(w2.a("alex"), []OpID{b2}, KindMemberRemove, MemberRemove{Member: w2.a("kim").id, Epoch: e,
		Grants: []Grant{{To: w2.a("alex").id, Blob: blob(), Epochs: []EpochID{e}}, {To: sam, Blob: blob(), Epochs: []EpochID{e}}}})
	s = w2.fold()
	mustAccept(t, s, rk2)
	mustAccept(t, s, rm2)
	if s.Auth.HasEpoch(sam, e) {
		t.Fatal("the removal's key counts for sam's new key")
	}
	if !slices.Contains(s.Auth.RetiredHolders(e), sam) {
		t.Fatal("the removal's grant to sam's old key is not retired")
	}
	if !s.Auth.HasEpoch(sam, eRk) {
		t.Fatal("sam's new key lacks the key issued with it")
	}
}

// epochOf returns the epoch a key replacement issues.
func epochOf(w *world, id OpID) EpochID {
	p, _ := Decode(KindMemberRekey, w.ops[id].Body.Payload)
	return p.(*MemberRekey).Epoch
}

// TestCodecReadsOlderRecords: records written before keys could be
// replaced (by the version before this one) read back the same, and a
// state without replacements is written exactly as then, so copies on
// machines that upgrade need no rebuild.
func TestCodecReadsOlderRecords(t *testing.T) {
	const oldAuth = "010302000000000000000300000000000000000000000000000003010000000000000000000000000000000000000000000000000000000000000004000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000a6d757475616c20616964067832353531398a80b2d0e4a4efeb31000002000104616c6578076167653178797a030909090104636173680102008a80b2d0e4a4efeb310000008a80b2d0e4a4efeb310102036b696d076167653161626300000000018a80b2d0e4a4efeb31000100000700000000000000000000000000000001070000000000000000000000000000008a80b2d0e4a4efeb31020201000800000000000000000000000000000000000000000000000000000000000000010700000000000000000000000000000000000802"
	const oldSecret = "020202000000000000000000000000000000020300000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000001000000000000000000000000000000086169727461626c65000000000001000204000000000000000000000000000000000000000000000000000000000000000100000101000205000000000000000000000000000000000000000000000000000000000000000000010100000000000000000000010100010100000100"
	at := time.Date(2026, 11, 27, 10, 0, 0, 5, time.UTC)
	a := &Auth{Vault: OpID{1}, Name: "mutual aid", Kind: "x25519", Created: Stamp{At: at, By: MemberID{2}, Op: OpID{1}},
		Members: []*Member{
			{ID: MemberID{2}, Num: 1, Name: "alex", Age: "age1xyz", Sign: []byte{9, 9, 9}, Groups: []string{"cash"}, Admin: true, AdminSince: 1,
				Added: Stamp{At: at, By: MemberID{2}, Op: OpID{1}}, LastActive: at},
			{ID: MemberID{3}, Num: 2, Name: "kim", Age: "age1abc", Recovery: true, Added: Stamp{At: at, By: MemberID{2}, Op: OpID{4}}},
		},
		Epoch: EpochID{7}, Epochs: []Epoch{{ID: EpochID{7}, Created: Stamp{At: at}}},
		Grants: []Grant{{To: MemberID{2}, Blob: Hash{8}, Epochs: []EpochID{{7}}, Op: OpID{1}}}, Folded: 4, NextNum: 2}
	s := &Secret{ID: SecretID{1}, Name: "airtable", Versions: []*Version{{Op: OpID{3}, N: 1, Blob: Hash{4}, Readers: []MemberID{{2}}, OTP: Hash{5}, OTPBy: OpID{3}}},
		Current: OpID{3}, Wanted: []MemberID{{2}}}
	for _, c := range []struct {
		old  string
		v    interface{ MarshalBinary() ([]byte, error) }
		back interface{ UnmarshalBinary([]byte) error }
	}{{oldAuth, a, &Auth{}}, {oldSecret, s, &Secret{}}} {
		b, _ := c.v.MarshalBinary()
		if hex.EncodeToString(b) != c.old {
			t.Fatalf("%T is written differently than before:\n%x\n%s", c.v, b, c.old)
		}
		raw, _ := hex.DecodeString(c.old)
		if err := c.back.UnmarshalBinary(raw); err != nil || !reflect.DeepEqual(c.back, c.v) {
			t.Fatalf("an older %T record reads back as %+v (%v)", c.v, c.back, err)
		}
	}
}

// TestRekeyDescribe: what 'vault log' says of a replacement and a request,
// done or refused.
func TestRekeyDescribe(t *testing.T) {
	w, g := newWorld(t, "alex", "sam", "kim")
	a1 := w.addMember("alex", g, "sam", false)
	a2 := w.addMember("alex", a1, "kim", false)
	x := secretID(1)
	add := w.addSecret("alex", []OpID{a2}, x, "airtable", Share{Members: []MemberID{w.a("alex").id, w.a("sam").id}}, "alex", "sam")
	laptop := w.newKeys("sam")
	req := w.sign(w.a("sam"), []OpID{add}, KindRekeyRequest, RekeyRequest{Age: laptop.age, Sign: laptop.SigningKey()})
	again := w.sign(w.a("sam"), []OpID{req}, KindRekeyRequest, RekeyRequest{Age: laptop.age, Sign: laptop.SigningKey()})
	routine, _ := w.rekey("alex", []OpID{again}, "sam", laptop, false, "alex", "kim")
	stolen, _ := w.rekey("alex", []OpID{routine}, "sam", w.newKeys("sam"), true, "alex", "kim")
	refused, _ := w.rekey("kim", []OpID{stolen}, "sam", w.newKeys("sam"), false, "alex", "kim")
	refusedReq := w.sign(w.a("kim"), []OpID{refused}, KindRekeyRequest, RekeyRequest{Age: w.a("alex").age, Sign: w.a("alex").SigningKey()})
	s := w.fold()
	for _, c := range []struct {
		op              OpID
		summary, detail string
	}{
		{req, "sam asked for a new key", ""},
		{again, "sam asked for a new key", "replaces their earlier request"},
		{routine, "alex gave sam a new key", "1 secret to re-encrypt for the new key"},
		{stolen, "alex replaced sam's key, reported lost or stolen", "1 secret to re-encrypt for the new key; 1 to rotate"},
		{refused, "kim tried to replace sam's key", ""},
		{refusedReq, "kim tried to ask for a new key", ""},
	} {
		e := s.event(c.op)
		if e.Summary != c.summary || e.Detail != c.detail {
			t.Errorf("event %q (%q), want %q (%q)", e.Summary, e.Detail, c.summary, c.detail)
		}
	}
	if e := s.event(refusedReq); e.Rejected != "that key already belongs to a member" {
		t.Errorf("refused request: %q", e.Rejected)
	}
}
