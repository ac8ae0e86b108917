package vault

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestManifestMatchesAMap drives the sorted-slice manifest with random
// operations and checks it against a plain map, the model it must behave as.
func TestManifestMatchesAMap(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	m := &manifest{}
	model := map[string]manifestEntry{}
	codes := []byte{codeMeta, codeMembers, codeSecrets}
	for i := range 5000 {
		key := manifestKey(codes[rng.IntN(3)], fmt.Appendf(nil, "k%d", rng.IntN(200)))
		switch rng.IntN(3) {
		case 0, 1:
			e := manifestEntry{key: key, rev: uint64(i), flags: byte(rng.IntN(2))}
			m.set(e)
			model[key] = e
		case 2:
			m.remove(key)
			delete(model, key)
		}
		if got, ok := m.get(key); ok != (model[key] != manifestEntry{}) || got != model[key] {
			t.Fatalf("step %d: get(%q) = %v, %v; model has %v", i, key, got, ok, model[key])
		}
	}
	if m.entries.len() != len(model) {
		t.Fatalf("%d entries, model has %d", m.entries.len(), len(model))
	}
	for _, c := range codes {
		want := 0
		for k := range model {
			if k[0] == c {
				want++
			}
		}
		if got := m.count(c); got != want {
			t.Fatalf("count(%c) = %d, want %d", c, got, want)
		}
	}
	again, err := parseManifest(m.marshal())
	if err != nil {
		t.Fatal(err)
	}
	for k, e := range model {
		if got, ok := again.get(k); !ok || got != e {
			t.Fatalf("after a round trip, %q = %v, want %v", k, got, e)
		}
	}
}
