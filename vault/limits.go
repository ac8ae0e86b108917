package vault

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/mutual-aid-vault/vault/vault/internal/fold"
)

// maxReaders is how many recipients age accepts in one file's header: a
// value, an age file with one stanza per reader (members and recovery
// keys), can have at most this many readers. age writes a bigger header
// but refuses to read one, so a value past it would be lost.
const maxReaders = 1024

// readerLimit returns how many readers a value may have: age's limit,
// unless a test set a smaller one.
func (v *Vault) readerLimit() int {
	if v.maxReaders > 0 {
		return v.maxReaders
	}
	return maxReaders
}

// readerCount returns how many stanzas a value for people has: one per
// active member among them, and one per recovery key.
func (r *reader) readerCount(people []fold.MemberID) int {
	n := len(r.auth.Recovery())
	for _, id := range people {
		if m := r.auth.Member(id); m != nil && m.Active() && !m.Recovery {
			n++
		}
	}
	return n
}

// readerChange is a change to how many readers a secret's value has, as
// [reader.checkReaders] sees it.
type readerChange struct {
	// what says the change in words ("sharing with @everyone"), to start
	// the message; empty reads "that".
	what   string
	secret string
	// before and after count the readers (members and recovery keys)
	// the secret has and would have.
	before, after int
	// value is set when a value is about to be encrypted: it must fit
	// whatever the secret had before.
	value bool
	// fix says what to do instead; empty reads "share it with a smaller
	// group".
	fix string
}

// checkReaders is the one check of age's limit on a value's readers: every
// change that can give a secret readers (adding it, setting or rotating
// its value, sharing it, adding a member, putting a member in a group)
// asks it before anything is written, whether it comes from the command
// line or the terminal UI. A change that adds no reader to a secret passes
// even when the secret is already past the limit (two admins' changes
// merged can put it there), so that unsharing and removals can bring it
// back under.
func (r *reader) checkReaders(c readerChange) error {
	limit := r.v.readerLimit()
	if c.after <= limit || (!c.value && c.after <= c.before) {
		return nil
	}
	if c.after <= c.before {
		return errorf(ErrTooManyReaders, "%q has %s readers and age allows %s; unshare some members or groups from it first ('vault unshare %s …')",
			c.secret, thousands(c.after), thousands(limit), c.secret)
	}
	what, fix := c.what, c.fix
	if what == "" {
		what = "that"
	}
	if fix == "" {
		fix = "share it with a smaller group"
	}
	return errorf(ErrTooManyReaders, "%s would give %q %s readers; age allows %s; %s",
		what, c.secret, thousands(c.after), thousands(limit), fix)
}

// sharingWith says a share in words for checkReaders: "sharing with
// @everyone, kim".
func (r *reader) sharingWith(sh fold.Share) string {
	names := r.shareNames(sh)
	if len(names) == 0 {
		return ""
	}
	return "sharing with " + strings.Join(names, ", ")
}

// checkJoin checks, with checkReaders, that the member called name (id,
// or zero for a member not added yet) can join groups: every secret
// shared with one of them that they do not read yet gains a reader. The
// trash counts too, since a secret restored keeps its readers.
func (r *reader) checkJoin(id fold.MemberID, name string, groups []string) error {
	if len(groups) == 0 {
		return nil
	}
	return r.ix.Each(func(s *fold.Secret) error {
		if s.Purged != nil || !hasAny(s.Share.Groups, groups) {
			return nil
		}
		readers := r.auth.Resolve(s.Share)
		if !id.IsZero() && slices.Contains(readers, id) {
			return nil
		}
		var via []string
		for _, g := range s.Share.Groups {
			if slices.Contains(groups, g) {
				via = append(via, "@"+g)
			}
		}
		before := r.readerCount(readers)
		return r.checkReaders(readerChange{
			what:   fmt.Sprintf("adding %s to %s", name, strings.Join(via, ", ")),
			secret: s.Name, before: before, after: before + 1,
			fix: fmt.Sprintf("share it with a smaller group, or put %s in other groups", name)})
	})
}

// thousands writes n with a comma between groups of three digits, as the
// messages about age's limit of 1,024 readers do.
func thousands(n int) string {
	if n < 0 {
		return "-" + thousands(-n)
	}
	s := strconv.Itoa(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
