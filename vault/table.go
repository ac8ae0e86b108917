package vault

import (
	"maps"
	"slices"
	"strings"
)

// keyed is an entry of a table.
type keyed interface{ tableKey() string }

// table is a set of entries with unique string keys. While it is only read
// it is a sorted slice, which parses with a couple of allocations and looks
// up by binary search; on its first change it becomes a map, so that
// thousands of changes in one transaction (an import, a new vault key) cost
// linear time, and it is sorted again only when written out.
type table[E keyed] struct {
	sorted []E // sorted by key; valid while byKey is nil
	byKey  map[string]E
}

func (t *table[E]) find(key string) (int, bool) {
	return slices.BinarySearchFunc(t.sorted, key, func(e E, k string) int { return strings.Compare(e.tableKey(), k) })
}

func (t *table[E]) get(key string) (E, bool) {
	if t.byKey != nil {
		e, ok := t.byKey[key]
		return e, ok
	}
	if i, ok := t.find(key); ok {
		return t.sorted[i], true
	}
	var zero E
	return zero, false
}

// writable switches the table to its map form.
func (t *table[E]) writable() {
	if t.byKey != nil {
		return
	}
	t.byKey = make(map[string]E, len(t.sorted)+1)
	for _, e := range t.sorted {
		t.byKey[e.tableKey()] = e
	}
	t.sorted = nil
}

func (t *table[E]) set(e E) {
	t.writable()
	t.byKey[e.tableKey()] = e
}

func (t *table[E]) remove(key string) {
	t.writable()
	delete(t.byKey, key)
}

func (t *table[E]) len() int {
	if t.byKey != nil {
		return len(t.byKey)
	}
	return len(t.sorted)
}

// freeze turns the table back into its sorted, read-only form, for
// a table kept after the transaction that changed it.
func (t *table[E]) freeze() {
	if t.byKey != nil {
		t.sorted, t.byKey = t.all(), nil
	}
}

// all returns the entries sorted by key. The caller must not change the
// slice.
func (t *table[E]) all() []E {
	if t.byKey == nil {
		return t.sorted
	}
	out := slices.Collect(maps.Values(t.byKey))
	slices.SortFunc(out, func(a, b E) int { return strings.Compare(a.tableKey(), b.tableKey()) })
	return out
}
