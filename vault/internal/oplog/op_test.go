package oplog

import (
	"bytes"
	"crypto/ed25519"
	crand "crypto/rand"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

type key struct{ priv ed25519.PrivateKey }

func (k key) SigningKey() ed25519.PublicKey   { return k.priv.Public().(ed25519.PublicKey) }
func (k key) SignOp(m []byte) ([]byte, error) { return ed25519.Sign(k.priv, m), nil }

func newKey(t testing.TB) key {
	_, priv, err := ed25519.GenerateKey(crand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key{priv}
}

func body(parents ...ID) Body {
	slices.SortFunc(parents, ID.Compare)
	return Body{Vault: ID{1}, Epoch: EpochID{2}, Parents: parents, Author: Member{3}, At: time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC), Kind: "secret.add", Payload: json.RawMessage(`{"x":1}`)}
}

// keyring is a Keys of a few epochs.
type keyring map[EpochID]*[32]byte

func (r keyring) Key(e EpochID) *[32]byte { return r[e] }

func (r keyring) Tagged(tag, nonce []byte) (EpochID, *[32]byte) {
	for e, k := range r {
		if bytes.Equal(Tag(TagKey(k), nonce), tag) {
			return e, k
		}
	}
	return EpochID{}, nil
}

// TestSealOpen: an operation survives sealing, and anything else does not
// open: another key, another epoch, a flipped bit, a forged signature.
func TestSealOpen(t *testing.T) {
	k := newKey(t)
	op, err := Sign(body(), k)
	if err != nil {
		t.Fatal(err)
	}
	key := [32]byte{7}
	env, err := Seal(op, &key)
	if err != nil {
		t.Fatal(err)
	}
	e2 := op.Body.Epoch
	ring := keyring{EpochID{5}: {5}, e2: &key, EpochID{6}: {6}}
	if e, found := FindKey(env, ring); e != e2 || found != &key {
		t.Fatal("the envelope's key is not found by its tag")
	}
	if _, found := FindKey(env, keyring{e2: {8}}); found != nil {
		t.Fatal("a tag matched another key")
	}
	if bytes.Contains(env, e2[:]) {
		t.Fatal("the envelope names its epoch")
	}
	got, err := Open(env, e2, &key)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != op.ID || !bytes.Equal(got.Raw, op.Raw) || !got.Verify(k.SigningKey()) {
		t.Fatal("round trip changed the operation")
	}
	if got.Verify(newKey(t).SigningKey()) {
		t.Fatal("verified with another key")
	}
	other := [32]byte{8}
	if _, err := Open(env, e2, &other); !errors.Is(err, ErrUnseal) {
		t.Fatalf("opened with another key: %v", err)
	}
	for i := range env {
		bad := bytes.Clone(env)
		bad[i] ^= 1
		if _, err := Open(bad, e2, &key); err == nil {
			t.Fatalf("byte %d flipped and it still opened", i)
		}
	}
	// Re-sealed under another epoch than its body names: refused.
	moved := *op
	moved.Body.Epoch = EpochID{9}
	env2, _ := Seal(&moved, &key)
	if _, err := Open(env2, EpochID{9}, &key); err == nil {
		t.Fatal("an envelope whose body names another epoch opened")
	}
	// IDs depend on everything signed.
	op2, _ := Sign(body(op.ID), k)
	if op2.ID == op.ID {
		t.Fatal("parents do not change the ID")
	}
}

// TestOrder: the order depends only on the set, puts parents first, and
// leaves out what hangs from a missing operation.
func TestOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var ids []ID
	parents := map[ID][]ID{}
	for i := range 200 {
		var id ID
		for j := range id {
			id[j] = byte(rng.IntN(256))
		}
		var ps []ID
		for range rng.IntN(3) {
			if len(ids) > 0 {
				p := ids[rng.IntN(len(ids))]
				if !slices.Contains(ps, p) {
					ps = append(ps, p)
				}
			}
		}
		if i == 150 {
			ps = append(ps, ID{0xff}) // missing
		}
		parents[id] = ps
		ids = append(ids, id)
	}
	g := Order(parents, nil)
	for i, id := range g.Order {
		for _, p := range parents[id] {
			j, ok := g.Index(p)
			if !ok || j >= i {
				t.Fatalf("%s comes before its parent", id.Short())
			}
		}
	}
	if len(g.Dangling) == 0 || slices.Contains(g.Order, ids[150]) {
		t.Fatal("an operation with a missing parent was placed")
	}
	// The same set in another map (another iteration order): same order.
	again := map[ID][]ID{}
	for _, i := range rng.Perm(len(ids)) {
		again[ids[i]] = parents[ids[i]]
	}
	if g2 := Order(again, nil); !slices.Equal(g.Order, g2.Order) {
		t.Fatal("the order depends on more than the set")
	}
	for a := 0; a < 30; a++ {
		for b := a + 1; b < 60; b++ {
			want := g.Ancestors(b).Has(a)
			if got := g.IsAncestor(a, b); got != want {
				t.Fatalf("IsAncestor(%d, %d) = %v, Ancestors says %v", a, b, got, want)
			}
		}
	}
}

// TestIsAncestorRuns: on histories of long runs (one machine at a time)
// joined by forks and merges, IsAncestor, which jumps from run to run,
// agrees with the full ancestor sets on every pair.
func TestIsAncestorRuns(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for round := range 20 {
		parents := map[ID][]ID{}
		var ids []ID
		for i := range 300 {
			var id ID
			id[0], id[1], id[2] = byte(round), byte(i>>8), byte(i)
			var ps []ID
			switch r := rng.IntN(20); {
			case i == 0:
			case r < 17: // the usual: on top of the last one
				ps = []ID{ids[i-1]}
			case r < 19: // a fork: on top of an older one
				ps = []ID{ids[rng.IntN(i)]}
			default: // a merge
				a, b := ids[rng.IntN(i)], ids[rng.IntN(i)]
				ps = []ID{a}
				if b != a {
					ps = append(ps, b)
				}
			}
			parents[id] = ps
			ids = append(ids, id)
		}
		g := Order(parents, nil)
		for b := range g.Order {
			anc := g.Ancestors(b)
			for a := range g.Order {
				if got, want := g.IsAncestor(a, b), a != b && anc.Has(a); got != want {
					t.Fatalf("round %d: IsAncestor(%d, %d) = %v, Ancestors says %v", round, a, b, got, want)
				}
			}
		}
	}
}

func FuzzOpen(f *testing.F) {
	k := [32]byte{7}
	op, _ := Sign(body(), key{ed25519.NewKeyFromSeed(make([]byte, 32))})
	env, _ := Seal(op, &k)
	f.Add(env)
	f.Add([]byte{2})
	ring := keyring{EpochID{2}: &k, EpochID{3}: {3}}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, err := Open(b, EpochID{2}, &k); err == nil && len(got.Body.Parents) > MaxParents {
			t.Fatal("too many parents accepted")
		}
		if e, key := FindKey(b, ring); key != nil && ring[e] != key {
			t.Fatal("FindKey returned a key of another epoch")
		}
	})
}

func FuzzDecodePlaintext(f *testing.F) {
	op, _ := Sign(body(ID{4}), key{ed25519.NewKeyFromSeed(make([]byte, 32))})
	f.Add(op.Raw)
	f.Add([]byte(`{"kind":"x","at":"2026-01-01T00:00:00Z"}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		// A body wrapped as a plaintext, with one signature.
		pt := append(appendUvarint(nil, uint64(len(raw))), raw...)
		pt = append(pt, 1, AlgEd25519, 64)
		pt = append(pt, make([]byte, 64)...)
		for _, padded := range []bool{false, true} {
			got, err := decodePlaintext(pt, padded)
			if err != nil {
				continue
			}
			if got.ID != IDOf(raw) {
				t.Fatal("ID is not the hash of the body")
			}
		}
	})
}

func appendUvarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// TestEnvelopePadding: envelopes come in size classes (all small ones the
// same size), the padding is zeros and nothing else, and version 2
// envelopes, written before the padding, still open.
func TestEnvelopePadding(t *testing.T) {
	k := newKey(t)
	key := [32]byte{7}
	sizeOf := func(payload int) int {
		b := body()
		b.Payload = bytes.Repeat([]byte{'x'}, payload)
		op, err := Sign(b, k)
		if err != nil {
			t.Fatal(err)
		}
		env, err := Seal(op, &key)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := Open(env, EpochID{2}, &key); err != nil || got.ID != op.ID {
			t.Fatalf("payload of %d: %v", payload, err)
		}
		return len(env)
	}
	for _, tt := range []struct{ payload, want int }{
		{0, 512}, {1, 512}, {200, 512}, {250, 512},
		{500, 736}, {520, 736}, // 2^9..2^10: multiples of 32
		{5000, 5376}, // 2^12..2^13: multiples of 256
	} {
		if got := sizeOf(tt.payload); got != tt.want {
			t.Errorf("payload of %d bytes: envelope of %d, want %d", tt.payload, got, tt.want)
		}
	}

	op, _ := Sign(body(), k)
	old, err := seal(op, &key, false)
	if err != nil {
		t.Fatal(err)
	}
	if old[0] != envelopeUnpadded || len(old) >= envelopeFloor {
		t.Fatalf("version %d envelope of %d bytes", old[0], len(old))
	}
	if got, err := Open(old, op.Body.Epoch, &key); err != nil || got.ID != op.ID {
		t.Fatalf("a version 2 envelope does not open: %v", err)
	}
	if e, found := FindKey(old, keyring{op.Body.Epoch: &key}); e != op.Body.Epoch || found != &key {
		t.Fatal("the epoch of a version 2 envelope is not read")
	}
	if _, err := Open(old, EpochID{9}, &key); err == nil {
		t.Fatal("a version 2 envelope opened as another epoch's")
	}

	pt := append(appendUvarint(nil, uint64(len(op.Raw))), op.Raw...)
	pt = append(pt, 1, AlgEd25519, 64)
	pt = append(pt, op.Sigs[0].Bytes...)
	for _, tt := range []struct {
		name   string
		tail   []byte
		padded bool
		ok     bool
	}{
		{"none, unpadded", nil, false, true},
		{"none, padded", nil, true, true},
		{"zeros, padded", []byte{0, 0, 0}, true, true},
		{"zeros, unpadded", []byte{0, 0, 0}, false, false},
		{"not zeros", []byte{0, 1, 0}, true, false},
	} {
		_, err := decodePlaintext(append(bytes.Clone(pt), tt.tail...), tt.padded)
		if (err == nil) != tt.ok {
			t.Errorf("%s: err = %v", tt.name, err)
		}
	}
}
