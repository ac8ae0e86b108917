package vault

import (
	"fmt"
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

// lookAlikes finds, among the names added to it, one that a new name
// could be taken for (see naming.Confusable).
type lookAlikes struct {
	what string // "secret", "member", "group"
	// names are the names added, under each of their look-alike keys,
	// each with how a message shows it.
	names [2]map[string][]shownName
	// source, until its names are read into names, is the index whose
	// secrets' names are checked too: the first check compares each
	// entry's kept keys as it is read (no map of 20,000 keys for the one
	// name of 'vault add'); a second check reads them all in.
	source  *index
	scanned bool
}

type shownName struct{ name, note string }

func newLookAlikes(what string) *lookAlikes {
	return &lookAlikes{what: what, names: [2]map[string][]shownName{{}, {}}}
}

// add puts a name in; note says something about it in a message ("in
// the trash").
func (l *lookAlikes) add(name, note string) { l.addKeys(name, note, naming.LookAlike(name)) }

// addKeys puts a name in whose look-alike keys are known.
func (l *lookAlikes) addKeys(name, note string, keys [2]string) {
	sn := shownName{name, note}
	for i, k := range keys {
		l.names[i][k] = append(l.names[i][k], sn)
	}
}

// like returns a name added before that name looks like but is not.
func (l *lookAlikes) like(name string) (shownName, bool) {
	for i, k := range naming.LookAlike(name) {
		for _, sn := range l.names[i][k] {
			if naming.Confusable(name, sn.name) {
				return sn, true
			}
		}
	}
	return shownName{}, false
}

// check returns ErrLookAlike, naming the existing name, when name looks
// like one added before but is not the same name.
func (l *lookAlikes) check(name string) error {
	old, ok, err := l.find(name)
	if err != nil || !ok {
		return err
	}
	return errorf(ErrLookAlike, "%q looks like the existing %s %q%s; choose another name", name, l.what, old.name, unlike(name, old))
}

// find returns a name added before, or one of l.source's secrets, that
// name looks like but is not.
func (l *lookAlikes) find(name string) (shownName, bool, error) {
	if old, ok := l.like(name); ok || l.source == nil {
		return old, ok, nil
	}
	if !l.scanned {
		l.scanned = true
		return l.scan(name)
	}
	// A second name (an import): the names are read in once.
	if err := l.source.eachName(l.addEntry); err != nil {
		return shownName{}, false, err
	}
	l.source = nil
	old, ok := l.like(name)
	return old, ok, nil
}

// unlike says, in parentheses, what sets name apart from old, which it
// looks like, and old's note.
func unlike(name string, old shownName) string {
	var parts []string
	if old.note != "" {
		parts = append(parts, old.note)
	}
	if u := naming.Unlike(name, old.name); u != "" {
		parts = append(parts, "the new name has "+u)
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, "; ") + ")"
}

// secretLookAlikes checks new names against the names of every secret, in
// the trash too.
func (r *reader) secretLookAlikes() (*lookAlikes, error) { return secretLookAlikes(r.ix), nil }

func secretLookAlikes(ix *index) *lookAlikes {
	l := newLookAlikes("secret")
	l.source = ix
	return l
}

// addEntry puts a secret's name in, with its kept keys.
func (l *lookAlikes) addEntry(e *dueEntry) {
	l.addKeys(e.Name, secretNote(e), e.alikeKeys())
}

func secretNote(e *dueEntry) string {
	if e.Deleted {
		return "in the trash"
	}
	return ""
}

// scan compares name with each of l.source's secrets as it is read.
func (l *lookAlikes) scan(name string) (old shownName, found bool, err error) {
	keys := naming.LookAlike(name)
	err = l.source.eachName(func(e *dueEntry) {
		if !found && e.alikeMatches(keys) && naming.Confusable(name, e.Name) {
			old, found = shownName{e.Name, secretNote(e)}, true
		}
	})
	return old, found, err
}

// eachName calls fn with the due entry of every secret not purged: its
// name, its look-alike keys, and whether it is in the trash. The due
// index's records are a few dozen bytes: much less than whole secrets.
func (ix *index) eachName(fn func(e *dueEntry)) error {
	return ix.b(bDue).ForEach(func(k, ct []byte) error {
		var e dueEntry
		if err := ix.openRecord(bDue, k, ct, &e); err != nil {
			return err
		}
		fn(&e)
		return nil
	})
}

// memberLookAlikes indexes the names of the current members and recovery
// keys.
func (r *reader) memberLookAlikes() *lookAlikes {
	l := newLookAlikes("member")
	for _, m := range r.auth.Members {
		if m.Active() {
			l.add(m.Name, "")
		}
	}
	return l
}

// checkNewGroups returns ErrLookAlike when one of groups is new and looks
// like an existing group.
func (r *reader) checkNewGroups(groups []string) error {
	existing := r.auth.Groups()
	l := newLookAlikes("group")
	for _, g := range existing {
		l.add(g, "")
	}
	for _, g := range groups {
		if slices.Contains(existing, g) {
			continue
		}
		if err := l.check(g); err != nil {
			return err
		}
		l.add(g, "")
	}
	return nil
}

// SimilarNames returns up to three of names that name may have been meant
// for, best first: look-alikes, names a typo or two away regardless of
// case, and names whose last part after '/' is name ("call-log" for
// "intake/call-log"). The terminal UI uses it where a name typed finds
// nothing; give it only the names the member can see there.
func SimilarNames(name string, names []string) []string { return naming.Similar(name, names, 3) }

// didYouMean is "; did you mean "a" or "b"?" for a not-found message, or
// "" for no names.
func didYouMean(names []string) string {
	if len(names) == 0 {
		return ""
	}
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	last := q[len(q)-1]
	if len(q) > 1 {
		last = strings.Join(q[:len(q)-1], ", ") + " or " + last
	}
	return "; did you mean " + last + "?"
}
