package vault

import (
	"slices"
	"strings"

	"github.com/mutual-aid-vault/vault/vault/internal/naming"
)

// CleanSecretName returns the canonical (NFC) form of a secret name, or an
// error that says which rule the name breaks. Names may use "/" to group
// related secrets ("intake/call-log") and are compared regardless of case.
func CleanSecretName(name string) (string, error) { return clean(naming.Secret(name)) }

// CleanMemberName returns the canonical (NFC) form of a member's display
// name, or an error that says which rule it breaks. A nickname is enough:
// the vault keeps as little personal data as it can.
func CleanMemberName(name string) (string, error) { return clean(naming.Member(name)) }

// CleanGroupName returns the canonical form of a group name (lower case,
// without a leading '@'), or an error that says which rule it breaks.
func CleanGroupName(name string) (string, error) { return clean(naming.Group(name)) }

func clean(n string, err error) (string, error) {
	if err != nil {
		return "", errorf(ErrBadName, "%v", err)
	}
	return n, nil
}

func checkFields(username, url, note string) error {
	if err := naming.Fields(username, url, note); err != nil {
		return errorf(ErrInvalid, "%v", err)
	}
	return nil
}

func foldName(name string) string { return naming.Fold(name) }

// sortNames sorts names regardless of case, folding each name once.
func sortNames(names []string) {
	sortByName(names, func(s string) string { return s })
}

// stableSort is slices.SortStableFunc, named for symmetry with sortByName.
func stableSort[T any](items []T, cmp func(a, b T) int) { slices.SortStableFunc(items, cmp) }

// sortByName sorts items by the folded form of their names, computing
// each folded form once.
func sortByName[T any](items []T, name func(T) string) {
	type keyed struct {
		key string
		i   int
	}
	ks := make([]keyed, len(items))
	for i, it := range items {
		ks[i] = keyed{foldName(name(it)), i}
	}
	slices.SortStableFunc(ks, func(a, b keyed) int { return strings.Compare(a.key, b.key) })
	sorted := make([]T, len(items))
	for i, k := range ks {
		sorted[i] = items[k.i]
	}
	copy(items, sorted)
}
