package fold

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"
	"testing/cryptotest"

	"github.com/mutual-aid-vault/vault/vault/internal/naming"
	"github.com/mutual-aid-vault/vault/vault/internal/oplog"
)

// memStore is a Store over a map: the base of an incremental fold.
type memStore struct {
	secrets map[SecretID]*Secret
	names   map[string]SecretID
}

func (m *memStore) Secret(id SecretID) (*Secret, error) { return m.secrets[id], nil }
func (m *memStore) ByName(f string) (SecretID, bool, error) {
	id, ok := m.names[f]
	return id, ok, nil
}
func (m *memStore) Each(fn func(*Secret) error) error {
	ids := slices.SortedFunc(maps.Keys(m.secrets), func(a, b SecretID) int { return bytes.Compare(a[:], b[:]) })
	for _, id := range ids {
		if err := fn(m.secrets[id]); err != nil {
			return err
		}
	}
	return nil
}

func (m *memStore) take(r *Result) {
	for id, s := range r.Secrets {
		m.secrets[id] = s
	}
	for k, v := range r.Names {
		if v == (SecretID{}) {
			delete(m.names, k)
		} else {
			m.names[k] = v
		}
	}
}

// sim is a group of members working on several copies of a vault.
type sim struct {
	w      *world
	rng    *rand.Rand
	copies []map[OpID]*oplog.Op
	names  []string
	groups []string
	// acked are the operations each copy has seen (every one, forever).
	acked []map[OpID]bool
	// keys are the actors by signing key: a member whose keys were
	// replaced signs with the keys their copy's state has for them.
	keys map[string]*actor
}

func newSim(t testing.TB, seed uint64, nCopies int) *sim {
	names := []string{"alex", "ben", "cleo", "dee", "eli", "fay"}
	w, g := newWorld(t, names[0], names[1:]...)
	s := &sim{w: w, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), names: names, groups: []string{"intake", "cash"}, keys: map[string]*actor{}}
	for _, a := range w.actors {
		s.keys[string(a.SigningKey())] = a
	}
	for range nCopies {
		s.copies = append(s.copies, map[OpID]*oplog.Op{g: w.ops[g]})
		s.acked = append(s.acked, map[OpID]bool{g: true})
	}
	return s
}

func heads(set map[OpID]*oplog.Op) []OpID {
	isParent := map[OpID]bool{}
	for _, op := range set {
		for _, p := range op.Body.Parents {
			isParent[p] = true
		}
	}
	var out []OpID
	for id := range set {
		if !isParent[id] {
			out = append(out, id)
		}
	}
	return out
}

// step makes one random operation on copy c, as a member who works on
// that copy would (and now and then one they have no right to make).
func (s *sim) step(c int) {
	st := foldSet(s.w.t, s.copies[c])
	var active []*Member
	for _, m := range st.Auth.Members {
		if m.Active() && !m.Recovery {
			active = append(active, m)
		}
	}
	me := active[s.rng.IntN(len(active))]
	a := s.actorFor(me)
	parents := heads(s.copies[c])
	var secrets []*Secret
	for _, id := range slices.SortedFunc(maps.Keys(st.Secrets), func(a, b SecretID) int { return bytes.Compare(a[:], b[:]) }) {
		if sec := st.Secrets[id]; sec.Purged == nil {
			secrets = append(secrets, sec)
		}
	}
	pickSecret := func() *Secret {
		if len(secrets) == 0 {
			return nil
		}
		return secrets[s.rng.IntN(len(secrets))]
	}
	value := func(sec *Secret) Value {
		readers := slices.Clone(sec.Wanted)
		if !slices.Contains(readers, a.id) {
			readers = append(readers, a.id)
		}
		return Value{Blob: blob(), Readers: readers}
	}
	newKeys := func(m *Member) *actor {
		n := newActor(s.w.t, m.Name)
		n.id = m.ID
		s.keys[string(n.SigningKey())] = n
		return n
	}
	var id OpID
	switch k := s.rng.IntN(16); {
	case k == 14 && (me.Admin || s.rng.IntN(4) == 0):
		// A new key for someone: the one they asked for, or one given
		// by hand, now and then reported lost or stolen.
		t := active[s.rng.IntN(len(active))]
		p := MemberRekey{Member: t.ID, Compromised: s.rng.IntN(3) == 0}
		if r := t.Request; r != nil && s.rng.IntN(2) == 0 {
			p.Age, p.Sign, p.Request = r.Age, r.Sign, r.Made.Op
		} else {
			n := newKeys(t)
			p.Age, p.Sign = n.age, n.SigningKey()
		}
		p.Epoch, _ = newEpoch()
		for _, m := range active {
			p.Grants = append(p.Grants, Grant{To: m.ID, Blob: blob(), Epochs: []EpochID{p.Epoch}})
		}
		id = s.w.sign(a, parents, KindMemberRekey, p)
	case k == 15:
		n := newKeys(me)
		id = s.w.sign(a, parents, KindRekeyRequest, RekeyRequest{Age: n.age, Sign: n.SigningKey()})
	case k == 0 && (me.Admin || s.rng.IntN(4) == 0):
		var out []string
		for _, n := range s.names {
			if st.member(n) == nil {
				out = append(out, n)
			}
		}
		if len(out) == 0 {
			return
		}
		who := s.w.a(out[s.rng.IntN(len(out))])
		groups := []string{s.groups[s.rng.IntN(2)]}
		id = s.w.sign(a, parents, KindMemberAdd, MemberAdd{Member: who.newMember(s.rng.IntN(3) == 0, groups...),
			Grant: Grant{To: who.id, Blob: blob(), Epochs: []EpochID{st.Auth.Epoch}}})
	case k == 1 && (me.Admin || s.rng.IntN(4) == 0):
		t := active[s.rng.IntN(len(active))]
		e, _ := newEpoch()
		id = s.w.sign(a, parents, KindMemberRemove, MemberRemove{Member: t.ID, Epoch: e})
	case k == 2 && (me.Admin || s.rng.IntN(4) == 0):
		t := active[s.rng.IntN(len(active))]
		e := MemberEdit{Member: t.ID}
		switch s.rng.IntN(3) {
		case 0:
			e.AddGroups = []string{s.groups[s.rng.IntN(2)]}
		case 1:
			e.RemoveGroups = []string{s.groups[s.rng.IntN(2)]}
		default:
			b := s.rng.IntN(2) == 0
			e.Admin = &b
		}
		id = s.w.sign(a, parents, KindMemberEdit, e)
	case k <= 4:
		var sid SecretID
		for i := range sid {
			sid[i] = byte(s.rng.IntN(256))
		}
		share := Share{Members: []MemberID{a.id}}
		if s.rng.IntN(2) == 0 {
			share.Groups = []string{s.groups[s.rng.IntN(2)]}
		}
		readers := st.Auth.Resolve(share)
		id = s.w.sign(a, parents, KindSecretAdd, SecretAdd{Secret: sid, Name: fmt.Sprintf("secret-%d", s.rng.IntN(6)), Share: share, Value: Value{Blob: blob(), Readers: readers}})
	default:
		sec := pickSecret()
		if sec == nil {
			return
		}
		switch s.rng.IntN(9) {
		case 0:
			u := fmt.Sprintf("user-%d", s.rng.IntN(100))
			id = s.w.sign(a, parents, KindSecretEdit, SecretEdit{Secret: sec.ID, Username: &u})
		case 1:
			t := active[s.rng.IntN(len(active))]
			sh := SecretShare{Secret: sec.ID}
			if s.rng.IntN(2) == 0 {
				sh.Add.Members = []MemberID{t.ID}
			} else {
				sh.Remove.Members = []MemberID{t.ID}
			}
			id = s.w.sign(a, parents, KindSecretShare, sh)
		case 2:
			id = s.w.sign(a, parents, KindSecretSet, SecretValue{Secret: sec.ID, Value: value(sec)})
		case 3:
			id = s.w.sign(a, parents, KindRotate, SecretValue{Secret: sec.ID, Value: value(sec)})
		case 4, 5:
			if sec.Pending.IsZero() {
				return
			}
			kind := KindConfirm
			if s.rng.IntN(3) == 0 {
				kind = KindAbort
			}
			id = s.w.sign(a, parents, kind, Settle{Secret: sec.ID, Version: sec.Pending})
		case 6:
			kind := KindTrash
			if sec.Deleted != nil {
				kind = []string{KindRestore, KindPurge}[s.rng.IntN(2)]
			}
			id = s.w.sign(a, parents, kind, SecretRef{Secret: sec.ID})
		default:
			cur := sec.CurrentVersion()
			id = s.w.sign(a, parents, KindReencrypt, SecretReencrypt{Secret: sec.ID, Items: []Reencrypt{{Version: cur.Op, Value: value(sec)}}})
		}
	}
	s.copies[c][id] = s.w.ops[id]
	s.acked[c][id] = true
}

// actorFor returns the actor who signs as m: the one with m's keys.
func (s *sim) actorFor(m *Member) *actor {
	if a, ok := s.keys[string(m.Sign)]; ok {
		return a
	}
	panic("no actor")
}

// sync merges copy b into copy a (a one-way sync, as a shared folder
// does when it keeps one side and leaves a conflict copy).
func (s *sim) sync(a, b int) {
	for id, op := range s.copies[b] {
		s.copies[a][id] = op
		s.acked[a][id] = true
	}
}

func stateJSON(t testing.TB, st *state) []byte {
	t.Helper()
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestConvergence runs random groups working on several copies that sync
// in random pairs, then checks that copies holding the same operations
// show the same state, that folding is deterministic, and that a fold in
// two steps equals one fold.
func TestConvergence(t *testing.T) {
	runs := 40
	if n := os.Getenv("FOLD_RUNS"); n != "" {
		runs, _ = strconv.Atoi(n)
	}
	if testing.Short() {
		runs = 8
	}
	for run := range runs {
		seed := uint64(run) + 1
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			// Keys, IDs and blobs come from crypto/rand: seeding it makes
			// a failing run reproducible with -run TestConvergence/SEED.
			cryptotest.SetGlobalRandom(t, seed)
			s := newSim(t, seed, 3)
			for range 60 {
				if s.rng.IntN(4) == 0 {
					a, b := s.rng.IntN(3), s.rng.IntN(3)
					s.sync(a, b)
				} else {
					s.step(s.rng.IntN(3))
				}
			}
			// Sync everything, in a random order of pairs, until all hold
			// the union.
			for range 3 {
				for _, p := range s.rng.Perm(3) {
					s.sync(p, (p+1)%3)
				}
			}
			want := foldSet(t, s.copies[0])
			for c := 1; c < 3; c++ {
				if d := diffStates(t, foldSet(t, s.copies[c]), want); d != "" {
					t.Fatalf("seed %d: copy %d differs from copy 0 after syncing: %s", seed, c, d)
				}
			}
			// Nothing any copy saw was lost.
			for c := range 3 {
				for id := range s.acked[c] {
					if _, ok := s.copies[0][id]; !ok {
						t.Fatalf("seed %d: an operation copy %d saw is lost", seed, c)
					}
				}
			}
			checkInvariants(t, seed, foldSet(t, s.copies[0]))
			// Then new work on top of the union, concurrent among
			// itself: folding it on top of the first state must give
			// what folding everything at once gives.
			base := foldSet(t, s.copies[0])
			before := maps.Clone(s.copies[0])
			for range 20 {
				if s.rng.IntN(4) == 0 {
					s.sync(s.rng.IntN(3), s.rng.IntN(3))
				} else {
					s.step(s.rng.IntN(3))
				}
			}
			for range 2 {
				for p := range 3 {
					s.sync(p, (p+1)%3)
				}
			}
			all := foldSet(t, s.copies[0])
			inc := foldOnTop(t, base, before, s.copies[0])
			if d := diffStates(t, inc, all); d != "" {
				t.Fatalf("seed %d: folding in two steps differs from folding at once: %s", seed, d)
			}
			checkInvariants(t, seed, all)
		})
	}
}

// foldOnTop folds the operations of all that are not in before on top of
// base, the fold of before.
func foldOnTop(t testing.TB, base *state, before, all map[OpID]*oplog.Op) *state {
	parents := map[OpID][]OpID{}
	for id, op := range all {
		if _, ok := before[id]; !ok {
			parents[id] = op.Body.Parents
		}
	}
	g := oplog.Order(parents, func(id OpID) bool { _, ok := before[id]; return ok })
	in := make([]*Op, len(g.Order))
	for i, id := range g.Order {
		in[i] = NewOp(all[id])
	}
	store := &memStore{secrets: maps.Clone(base.Secrets), names: maps.Clone(base.Names)}
	r := Fold(Input{Base: base.Auth.Clone(), Store: store, Ops: in, Graph: g})
	store.take(r)
	return &state{Auth: r.Auth, Secrets: store.secrets, Names: store.names, Events: append(slices.Clone(base.Events), r.Events...)}
}

// checkInvariants checks what must hold of any folded state.
func checkInvariants(t *testing.T, seed uint64, st *state) {
	t.Helper()
	if st.Auth.Admins() == 0 {
		t.Fatalf("seed %d: no admin left", seed)
	}
	seen := map[string]bool{}
	for _, s := range st.Secrets {
		if s.Purged != nil {
			continue
		}
		f := naming.Fold(s.Name)
		if seen[f] {
			t.Fatalf("seed %d: two secrets named %q", seed, s.Name)
		}
		seen[f] = true
		if st.Names[f] != s.ID {
			t.Fatalf("seed %d: the name index does not find %q", seed, s.Name)
		}
		if s.CurrentVersion() == nil {
			t.Fatalf("seed %d: %q has no current version", seed, s.Name)
		}
		// Every removed member who can read the current value is named
		// in a reason to rotate.
		for _, id := range s.CurrentVersion().Readers {
			m := st.Auth.Member(id)
			if m != nil && !m.Active() && !slices.ContainsFunc(s.RotateNow, func(r Reason) bool { return slices.Contains(r.Who, id) }) {
				t.Fatalf("seed %d: removed member %s still reads %q with no reason to rotate", seed, m.Name, s.Name)
			}
		}
		for i, v := range s.Versions {
			if v.N != i+1 && i > 0 && v.N <= s.Versions[i-1].N {
				t.Fatalf("seed %d: version numbers out of order in %q", seed, s.Name)
			}
		}
	}
}

// diffStates returns where two states first differ, or "".
func diffStates(t testing.TB, a, b *state) string {
	if x, y := stateJSON(t, &state{Auth: a.Auth}), stateJSON(t, &state{Auth: b.Auth}); !bytes.Equal(x, y) {
		return fmt.Sprintf("auth:\n%s\n%s", x, y)
	}
	for id, sa := range a.Secrets {
		x, _ := json.Marshal(sa)
		y, _ := json.Marshal(b.Secrets[id])
		if !bytes.Equal(x, y) {
			return fmt.Sprintf("secret %s:\n%s\n%s", sa.Name, x, y)
		}
	}
	if len(a.Secrets) != len(b.Secrets) {
		return "secret count"
	}
	if x, y := stateJSON(t, &state{Names: a.Names}), stateJSON(t, &state{Names: b.Names}); !bytes.Equal(x, y) {
		return fmt.Sprintf("names:\n%s\n%s", x, y)
	}
	for i := range a.Events {
		if i >= len(b.Events) {
			return "event count"
		}
		x, _ := json.Marshal(a.Events[i])
		y, _ := json.Marshal(b.Events[i])
		if !bytes.Equal(x, y) {
			return fmt.Sprintf("event %d:\n%s\n%s", i, x, y)
		}
	}
	return ""
}
