package vault

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// Naming rules. Secret names may use "/" to group related secrets
// ("intake/call-log"); member names are nicknames; group names are single
// words. All are compared regardless of case.
const (
	maxSecretName = 128
	maxMemberName = 64
	maxGroupName  = 32
)

// CleanSecretName returns the canonical (NFC) form of a secret name, or an
// error that says which rule the name breaks.
func CleanSecretName(name string) (string, error) {
	n, err := cleanName("secret", name, maxSecretName)
	if err != nil {
		return "", err
	}
	if strings.HasPrefix(n, "/") || strings.HasSuffix(n, "/") || strings.Contains(n, "//") {
		return "", errorf(ErrBadName, "secret name %q has an empty part around '/'; write it like intake/call-log", n)
	}
	return n, nil
}

// CleanMemberName returns the canonical (NFC) form of a member's display
// name, or an error that says which rule it breaks. A nickname is enough:
// the vault keeps as little personal data as it can.
func CleanMemberName(name string) (string, error) {
	n, err := cleanName("member", name, maxMemberName)
	if err != nil {
		return "", err
	}
	if strings.HasPrefix(n, "@") || strings.ContainsAny(n, ",") {
		return "", errorf(ErrBadName, "member name %q may not start with '@' or contain ','; those mark groups and lists", n)
	}
	return n, nil
}

// CleanGroupName returns the canonical form of a group name (lower case,
// without a leading '@'), or an error that says which rule it breaks.
func CleanGroupName(name string) (string, error) {
	n, err := cleanName("group", strings.TrimPrefix(name, "@"), maxGroupName)
	if err != nil {
		return "", err
	}
	n = strings.ToLower(n)
	for _, r := range n {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '-' && r != '_' && r != '.' {
			return "", errorf(ErrBadName, "group name %q may only use letters, digits, '-', '_' and '.'", n)
		}
	}
	return n, nil
}

func cleanName(what, name string, max int) (string, error) {
	if !utf8.ValidString(name) {
		return "", errorf(ErrBadName, "%s name is not valid UTF-8 text", what)
	}
	n := norm.NFC.String(name)
	count := utf8.RuneCountInString(n)
	if count == 0 {
		return "", errorf(ErrBadName, "%s name is empty", what)
	}
	if count > max {
		return "", errorf(ErrBadName, "%s name is %d characters long; the limit is %d", what, count, max)
	}
	for _, r := range n {
		// Control and invisible format characters (such as right-to-left
		// overrides) would let two names look alike on screen.
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError {
			return "", errorf(ErrBadName, "%s name contains a control or invisible character (%U); use visible characters only", what, r)
		}
	}
	if strings.TrimSpace(n) != n {
		return "", errorf(ErrBadName, "%s name %q starts or ends with a space", what, n)
	}
	return n, nil
}

// foldName returns the key used to compare names regardless of case: the
// case-folded NFC form. ASCII names, the common case, take a fast path
// that gives the same result.
func foldName(name string) string {
	for i := 0; i < len(name); i++ {
		if name[i] >= utf8.RuneSelf {
			return cases.Fold().String(norm.NFC.String(name))
		}
	}
	return strings.ToLower(name)
}

// sortNames sorts names regardless of case, folding each name once.
func sortNames(names []string) {
	sortByName(names, func(s string) string { return s })
}

// stableSort is slices.SortStableFunc, named for symmetry with sortByName.
func stableSort[T any](items []T, cmp func(a, b T) int) { slices.SortStableFunc(items, cmp) }

// sortByName sorts items by the folded form of their names, computing
// each folded form once.
func sortByName[T any](items []T, name func(T) string) {
	keys := make(map[string]string, len(items))
	key := func(t T) string {
		n := name(t)
		k, ok := keys[n]
		if !ok {
			k = foldName(n)
			keys[n] = k
		}
		return k
	}
	slices.SortStableFunc(items, func(a, b T) int { return strings.Compare(key(a), key(b)) })
}
