package fold

import "testing"

// TestSeedRules: a re-encryption carries a seed exactly when the version
// has one; one made without seeing the latest seed is refused, so it
// cannot bring an old seed back; a non-reader cannot set a seed; a new
// value keeps the seed its payload names.
func TestSeedRules(t *testing.T) {
	w, g := newWorld(t, "alice", "bob", "carol")
	b := w.addMember("alice", g, "bob", false)
	c := w.addMember("alice", b, "carol", false)
	id := secretID(1)
	valueOf := func(readers ...string) Value {
		v := Value{Blob: blob()}
		for _, r := range readers {
			v.Readers = append(v.Readers, w.a(r).id)
		}
		return v
	}
	seed1 := blob()
	add := w.sign(w.a("alice"), []OpID{c}, KindSecretAdd, SecretAdd{Secret: id, Name: "inbox", Share: Share{Members: []MemberID{w.a("alice").id, w.a("bob").id}}, Value: valueOf("alice", "bob"), OTP: seed1})
	s := w.fold(add)
	if got := s.Secrets[id].CurrentVersion().OTP; got != seed1 {
		t.Fatalf("seed after add = %x", got)
	}
	re := func(by string, parents []OpID, kind string, seeds []Hash, readers ...string) OpID {
		return w.sign(w.a(by), parents, kind, SecretReencrypt{Secret: id, Items: []Reencrypt{{Version: add, Value: valueOf(readers...)}}, OTP: seeds})
	}
	// Without the seed: refused.
	noSeed := re("bob", []OpID{add}, KindReencrypt, nil, "alice", "bob")
	mustReject(t, w.fold(noSeed), noSeed)
	// With it: accepted.
	seed1b := blob()
	withSeed := re("bob", []OpID{add}, KindReencrypt, []Hash{seed1b}, "alice", "bob")
	s = w.fold(withSeed)
	mustAccept(t, s, withSeed)
	if got := s.Secrets[id].CurrentVersion().OTP; got != seed1b {
		t.Fatal("the re-encrypted seed was not taken")
	}
	// carol, not a reader, cannot set one.
	forged := re("carol", []OpID{add}, KindTOTP, []Hash{blob()}, "alice", "bob", "carol")
	mustReject(t, w.fold(forged), forged)
	// alice sets a new seed while bob re-encrypts without seeing it: bob's
	// re-encryption comes after in the order or not, the new seed stays.
	seed2 := blob()
	set := re("alice", []OpID{add}, KindTOTP, []Hash{seed2}, "alice", "bob")
	stale := re("bob", []OpID{add}, KindReencrypt, []Hash{blob()}, "alice", "bob")
	s = w.fold(set, stale)
	mustAccept(t, s, set)
	if got := s.Secrets[id].CurrentVersion().OTP; got != seed2 {
		t.Fatalf("a stale re-encryption brought back an old seed")
	}
	// Removing it: a KindTOTP without seeds.
	rm := re("alice", []OpID{set}, KindTOTP, nil, "alice", "bob")
	s = w.fold(rm)
	mustAccept(t, s, rm)
	if !s.Secrets[id].CurrentVersion().OTP.IsZero() {
		t.Fatal("the seed was not removed")
	}
	// A new value with a seed.
	seed3 := blob()
	nv := w.sign(w.a("bob"), []OpID{rm}, KindSecretSet, SecretValue{Secret: id, Value: valueOf("alice", "bob"), OTP: seed3})
	s = w.fold(nv)
	if got := s.Secrets[id].CurrentVersion().OTP; got != seed3 || len(s.Secrets[id].Versions) != 2 || !s.Secrets[id].Versions[0].OTP.IsZero() {
		t.Fatalf("versions after a new value: %+v", s.Secrets[id].Versions)
	}
}
