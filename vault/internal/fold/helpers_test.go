package fold

import (
	"crypto/ed25519"
	"crypto/rand"
	"slices"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/mutual-aid-vault/vault/vault/internal/oplog"
)

// actor signs operations as one member, with no program in between: what
// a member with other tools can do.
type actor struct {
	name string
	id   MemberID
	priv ed25519.PrivateKey
	age  string
}

func (a *actor) SigningKey() ed25519.PublicKey { return a.priv.Public().(ed25519.PublicKey) }
func (a *actor) SignOp(msg []byte) ([]byte, error) {
	return ed25519.Sign(a.priv, msg), nil
}

func newActor(t testing.TB, name string) *actor {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	a := &actor{name: name, priv: priv, age: id.Recipient().String()}
	rand.Read(a.id[:])
	return a
}

func (a *actor) newMember(admin bool, groups ...string) NewMember {
	return NewMember{ID: a.id, Name: a.name, Age: a.age, Sign: a.SigningKey(), Admin: admin, Groups: groups}
}

// world is a set of operations and the actors who make them.
type world struct {
	t      testing.TB
	vault  OpID
	epoch  EpochID
	ops    map[OpID]*oplog.Op
	clock  time.Time
	actors map[string]*actor
}

func newWorld(t testing.TB, creator string, others ...string) (*world, OpID) {
	t.Helper()
	w := &world{t: t, ops: map[OpID]*oplog.Op{}, clock: time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC), actors: map[string]*actor{}}
	for _, n := range append([]string{creator}, others...) {
		w.actors[n] = newActor(t, n)
	}
	w.epoch, _ = oplog.NewEpochID()
	c := w.actors[creator]
	genesis := w.sign(c, nil, KindCreate, Create{Name: "test", Kind: "x25519", Creator: c.newMember(true),
		Grants: []Grant{{To: c.id, Blob: blob(), Epochs: []EpochID{w.epoch}}}})
	w.vault = genesis
	return w, genesis
}

func blob() Hash {
	var h Hash
	rand.Read(h[:])
	return h
}

func (w *world) a(name string) *actor { return w.actors[name] }

// sign makes an operation by a on top of parents.
func (w *world) sign(a *actor, parents []OpID, kind string, payload any) OpID {
	w.t.Helper()
	raw, err := Encode(kind, payload)
	if err != nil {
		w.t.Fatal(err)
	}
	ps := slices.Clone(parents)
	slices.SortFunc(ps, OpID.Compare)
	ps = slices.Compact(ps)
	w.clock = w.clock.Add(time.Minute)
	vault := w.vault
	op, err := oplog.Sign(oplog.Body{Vault: vault, Epoch: w.epoch, Parents: ps, Author: a.id, At: w.clock, Kind: kind, Payload: raw}, a)
	if err != nil {
		w.t.Fatal(err)
	}
	w.ops[op.ID] = op
	return op.ID
}

func (w *world) addMember(by string, parent OpID, who string, admin bool, groups ...string) OpID {
	m := w.a(who)
	return w.sign(w.a(by), []OpID{parent}, KindMemberAdd, MemberAdd{Member: m.newMember(admin, groups...),
		Grant: Grant{To: m.id, Blob: blob(), Epochs: []EpochID{w.epoch}}})
}

func (w *world) remove(by string, parents []OpID, who string) OpID {
	e, _ := oplog.NewEpochID()
	return w.sign(w.a(by), parents, KindMemberRemove, MemberRemove{Member: w.a(who).id, Epoch: e})
}

func (w *world) addSecret(by string, parents []OpID, id SecretID, name string, share Share, readers ...string) OpID {
	var rs []MemberID
	for _, r := range readers {
		rs = append(rs, w.a(r).id)
	}
	return w.sign(w.a(by), parents, KindSecretAdd, SecretAdd{Secret: id, Name: name, Share: share, Value: Value{Blob: blob(), Readers: rs}})
}

func (w *world) setValue(by string, parents []OpID, id SecretID, readers ...string) OpID {
	var rs []MemberID
	for _, r := range readers {
		rs = append(rs, w.a(r).id)
	}
	return w.sign(w.a(by), parents, KindSecretSet, SecretValue{Secret: id, Value: Value{Blob: blob(), Readers: rs}})
}

func secretID(b byte) SecretID { return SecretID{b} }

// state is a whole folded state, for comparing copies.
type state struct {
	Auth    *Auth
	Secrets map[SecretID]*Secret
	Names   map[string]SecretID
	Events  []Event
}

// foldSet folds a set of operations from scratch.
func foldSet(t testing.TB, ops map[OpID]*oplog.Op) *state {
	t.Helper()
	parents := map[OpID][]OpID{}
	for id, op := range ops {
		parents[id] = op.Body.Parents
	}
	g := oplog.Order(parents, nil)
	in := make([]*Op, len(g.Order))
	for i, id := range g.Order {
		in[i] = NewOp(ops[id])
	}
	r := Fold(Input{Ops: in, Graph: g})
	st := &state{Auth: r.Auth, Secrets: r.Secrets, Names: map[string]SecretID{}, Events: r.Events}
	for k, v := range r.Names {
		if v != (SecretID{}) {
			st.Names[k] = v
		}
	}
	return st
}

func (w *world) fold(ids ...OpID) *state {
	w.t.Helper()
	set := w.ops
	if len(ids) > 0 {
		set = w.closure(ids...)
	}
	return foldSet(w.t, set)
}

// closure returns the given operations and all their ancestors.
func (w *world) closure(ids ...OpID) map[OpID]*oplog.Op {
	out := map[OpID]*oplog.Op{}
	var walk func(OpID)
	walk = func(id OpID) {
		if _, ok := out[id]; ok {
			return
		}
		op := w.ops[id]
		out[id] = op
		for _, p := range op.Body.Parents {
			walk(p)
		}
	}
	for _, id := range ids {
		walk(id)
	}
	return out
}

func (s *state) member(name string) *Member {
	for _, m := range s.Auth.Members {
		if m.Name == name {
			return m
		}
	}
	return nil
}

func (s *state) event(op OpID) Event {
	for _, e := range s.Events {
		if e.Op == op {
			return e
		}
	}
	return Event{}
}

func mustReject(t *testing.T, s *state, op OpID) {
	t.Helper()
	if e := s.event(op); e.Rejected == "" {
		t.Fatalf("%s (%s) was accepted; want it rejected", e.Kind, e.Summary)
	}
}

func mustAccept(t *testing.T, s *state, op OpID) {
	t.Helper()
	if e := s.event(op); e.Rejected != "" {
		t.Fatalf("%s (%s) was rejected: %s", e.Kind, e.Summary, e.Rejected)
	}
}
