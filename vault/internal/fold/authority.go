package fold

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/mutual-aid-vault/vault/rotation"
	"github.com/mutual-aid-vault/vault/vault/internal/naming"
)

// authorize says why an authority operation may not be applied: its author
// lacks the right in the state it was made in (past) or in the state it is
// applied to (seq), or it does not fit that state. Empty means it may.
func (f *folder) authorize(op *Op, pos int, past, seq *Auth) string {
	if op.DecodeErr != nil {
		return op.DecodeErr.Error()
	}
	if p, ok := op.Payload.(*Create); ok {
		switch {
		case !seq.Vault.IsZero() || pos != 0 || f.base.Folded != 0 || len(op.Body.Parents) != 0 || !op.Body.Vault.IsZero():
			return "a vault is created only once, by its first change"
		case op.Body.Author != p.Creator.ID:
			return "it is not signed by the vault's creator"
		case !f.verify(op.Op, p.Creator.Sign):
			return "its signature does not match its author's key"
		}
		return ""
	}
	if seq.Vault.IsZero() {
		return "it comes before the vault was created"
	}
	if op.Body.Vault != seq.Vault {
		return "it belongs to another vault"
	}
	pm := past.Member(op.Body.Author)
	if pm == nil || !pm.Active() {
		return "its author was not a member when it was made"
	}
	if len(pm.Sign) == 0 || !f.verify(op.Op, pm.Sign) {
		return "its signature does not match its author's key"
	}
	if !mayAdminister(pm) {
		return "only an admin can " + verb(op.Body.Kind) + ", and its author was not one"
	}
	// Whether the author lost their rights concurrently is not read from
	// seq (where the order of concurrent changes is arbitrary) but from
	// the revocations that stand: see voided.
	switch p := op.Payload.(type) {
	case *MemberAdd:
		if seq.Member(p.Member.ID) != nil {
			return "that member ID is already taken"
		}
		if err := checkAgeKey(p.Member.Age, seq.Kind); err != nil {
			return err.Error()
		}
		if seq.ByKey(p.Member.Age, p.Member.Sign) != nil {
			return "that key already belongs to a member"
		}
		return f.checkGrants([]Grant{p.Grant}, seq, p.Member.ID, pos)
	case *MemberEdit:
		t := seq.Member(p.Member)
		if t == nil || !t.Active() || t.Recovery {
			return "there is no such member"
		}
		if p.Admin != nil && !*p.Admin && t.Admin && past.Admins() <= 1 {
			return "it would leave the vault without an admin"
		}
	case *MemberRemove:
		t := seq.Member(p.Member)
		if t == nil || !t.Active() {
			return "there is no such member"
		}
		if pt := past.Member(p.Member); pt != nil && pt.Admin && !pt.Recovery && past.Admins() <= 1 {
			return "it would leave the vault without an admin"
		}
		return f.checkNewEpoch(op, pos, p.Epoch, p.Grants, seq, p.Member)
	case *MemberRekey:
		t := seq.Member(p.Member)
		if t == nil || !t.Active() || t.Recovery {
			return "there is no such member"
		}
		if err := checkAgeKey(p.Age, seq.Kind); err != nil {
			return err.Error()
		}
		if t.Age == p.Age || bytes.Equal(t.Sign, p.Sign) {
			return "that is the member's key already"
		}
		if seq.ByKey(p.Age, p.Sign) != nil {
			return "that key already belongs to a member"
		}
		if !slices.ContainsFunc(p.Grants, func(g Grant) bool { return g.To == p.Member }) {
			return "it gives the member's new key no vault keys"
		}
		if r := newEpochRule(op, p.Epoch, p.Grants, seq, MemberID{}); r != "" {
			return r
		}
		// A member removed concurrently may be among the grants: a new
		// key for someone must not fail for that. The chores of an admin
		// issue another vault key when a removed member holds the current
		// one.
		for _, g := range p.Grants {
			if seq.Member(g.To) == nil {
				return "it gives keys to someone who is not a member"
			}
		}
		return ""
	case *Rekey:
		return f.checkNewEpoch(op, pos, p.Epoch, p.Grants, seq, MemberID{})
	case *GrantKeys:
		return f.checkGrants(p.Grants, seq, MemberID{}, pos)
	}
	return ""
}

func (f *folder) checkNewEpoch(op *Op, pos int, e EpochID, grants []Grant, seq *Auth, removed MemberID) string {
	if r := newEpochRule(op, e, grants, seq, removed); r != "" {
		return r
	}
	return f.checkGrants(grants, seq, removed, pos)
}

// newEpochRule checks that a change issues a vault key never issued before,
// is not sealed with it, and grants it with every grant, never to the
// member it removes.
func newEpochRule(op *Op, e EpochID, grants []Grant, seq *Auth, removed MemberID) string {
	if slices.ContainsFunc(seq.Epochs, func(x Epoch) bool { return x.ID == e }) {
		return "that vault key was issued before"
	}
	if op.Body.Epoch == e {
		return "it is sealed with the key it issues"
	}
	for _, g := range grants {
		if g.To == removed {
			return "it gives the new key to the member it removes"
		}
		if !slices.Contains(g.Epochs, e) {
			return "a key grant lacks the new key"
		}
	}
	return ""
}

// checkGrants checks that grants go to active members (or to one being
// added) and name only keys that exist (or the one being issued). A member
// removed concurrently (by a change the operation at pos was not made on
// top of) still counts: two admins who remove two members at once each
// give their new vault key to the member the other removes, and both
// removals must stand. The chores of an admin's next change issue another
// vault key when a removed member holds the current one (rekeyIfNeeded).
func (f *folder) checkGrants(grants []Grant, seq *Auth, except MemberID, pos int) string {
	for _, g := range grants {
		m := seq.Member(g.To)
		switch {
		case g.To == except:
		case m == nil:
			return "it gives keys to someone who is not a member"
		case !m.Active() && f.seenBy(m.Removed.Op, pos):
			return "it gives keys to someone who is not a member"
		}
	}
	return ""
}

// applyAuth changes the authority state a with the operation at pos. It
// never fails: an operation that no longer fits (in a state rebuilt for
// another operation's past) changes what it still can.
func (f *folder) applyAuth(a *Auth, pos int) {
	op := f.in.Ops[pos]
	applyAuth(a, op, f.globalPos(pos), func(id OpID) bool { return f.seenBy(id, pos) })
}

// applyAuth changes the authority state a with op, whose position is gpos;
// seen reports whether op was made on top of an operation.
func applyAuth(a *Auth, op *Op, gpos int64, seen func(OpID) bool) {
	st := Stamp{At: op.Body.At, By: op.Body.Author, Op: op.ID}
	addGrants := func(gs []Grant) {
		for _, g := range gs {
			g.Op = op.ID
			if m := a.Member(g.To); m != nil && m.Rekeyed != nil && m.Rekeyed.Op != op.ID && !seen(m.Rekeyed.Op) {
				// Made by someone who had not seen the member's new key:
				// it is encrypted to an old one.
				a.Retired = append(a.Retired, g)
				continue
			}
			a.Grants = append(a.Grants, g)
		}
	}
	addEpoch := func(e EpochID) {
		if !slices.ContainsFunc(a.Epochs, func(x Epoch) bool { return x.ID == e }) {
			a.Epochs = append(a.Epochs, Epoch{ID: e, Created: st})
		}
		a.Epoch = e
	}
	switch p := op.Payload.(type) {
	case *Create:
		a.Vault, a.Name, a.Kind, a.Created = op.ID, p.Name, p.Kind, st
		a.addMember(newMember(a, p.Creator, st, gpos))
		for _, r := range p.Recovery {
			a.addMember(newMember(a, r, st, gpos))
		}
		addEpoch(op.Body.Epoch)
		addGrants(p.Grants)
	case *MemberAdd:
		if a.Member(p.Member.ID) != nil {
			return
		}
		a.addMember(newMember(a, p.Member, st, gpos))
		addGrants([]Grant{p.Grant})
	case *MemberEdit:
		t := a.Member(p.Member)
		if t == nil {
			return
		}
		t.Groups = slices.DeleteFunc(t.Groups, func(g string) bool { return slices.Contains(p.RemoveGroups, g) })
		for _, g := range p.AddGroups {
			if !slices.Contains(t.Groups, g) {
				t.Groups = append(t.Groups, g)
			}
		}
		slices.Sort(t.Groups)
		if p.Admin != nil {
			if *p.Admin && !t.Admin {
				t.AdminSince = gpos
			}
			t.Admin = *p.Admin
		}
	case *MemberRemove:
		if t := a.Member(p.Member); t != nil && t.Active() {
			t.Removed = &st
		}
		addEpoch(p.Epoch)
		addGrants(p.Grants)
	case *MemberRekey:
		grants := p.Grants
		if t := a.Member(p.Member); t != nil && t.Active() {
			// Everything granted so far went to the old key.
			kept := a.Grants[:0]
			for _, g := range a.Grants {
				if g.To == t.ID {
					a.Retired = append(a.Retired, g)
				} else {
					kept = append(kept, g)
				}
			}
			a.Grants = kept
			t.Age, t.Sign = p.Age, slices.Clone(p.Sign)
			r := st
			t.Rekeyed, t.Request = &r, nil
		} else {
			grants = slices.DeleteFunc(slices.Clone(grants), func(g Grant) bool { return g.To == p.Member })
		}
		addEpoch(p.Epoch)
		addGrants(grants)
	case *Rekey:
		addEpoch(p.Epoch)
		addGrants(p.Grants)
	case *GrantKeys:
		addGrants(p.Grants)
	case *Empty:
		if op.Body.Kind == KindReview {
			a.Reviewed = &st
		}
	}
}

func newMember(a *Auth, nm NewMember, st Stamp, gpos int64) *Member {
	a.NextNum++
	name := nm.Name
	if !nm.Recovery {
		name = uniqueMemberName(a, nm.Name)
	}
	m := &Member{ID: nm.ID, Num: a.NextNum, Name: name, Age: nm.Age, Sign: nm.Sign, Groups: slices.Clone(nm.Groups),
		Admin: nm.Admin, Recovery: nm.Recovery, Added: st}
	if st.By == nm.ID {
		// The creator: active now. Others are active from their own first
		// change.
		m.LastActive = st.At
	}
	slices.Sort(m.Groups)
	if nm.Admin || nm.Recovery {
		m.AdminSince = gpos
	}
	return m
}

// uniqueMemberName returns name, or name-2, name-3… when an active member
// already has it (two admins added two people of one name at once).
func uniqueMemberName(a *Auth, name string) string {
	if a.ByName(name) == nil {
		return name
	}
	for n := 2; ; n++ {
		c := fmt.Sprintf("%s-%d", name, n)
		if cc, err := naming.Member(c); err == nil && a.ByName(cc) == nil {
			return cc
		}
		if n > 1000 {
			return c
		}
	}
}

// authoritySideEffects applies what an authority operation does to secrets
// and describes it.
func (f *folder) authoritySideEffects(op *Op, pos int, ev *Event) {
	day := op.Body.At.UTC().Format("2006-01-02")
	switch p := op.Payload.(type) {
	case *Create:
		ev.Target = p.Name
		ev.Summary = fmt.Sprintf("%s created the vault", ev.Who)
		if p.Name != "" {
			ev.Summary += fmt.Sprintf(" %q", p.Name)
		}
		if n := len(p.Recovery); n > 0 {
			ev.Detail = fmt.Sprintf("%d recovery key(s)", n)
		}
	case *MemberAdd:
		m := f.auth.Member(p.Member.ID)
		ev.Target = m.Name
		ev.Detail = describeMember(m.Groups, m.Admin)
		if m.Name != p.Member.Name {
			ev.Detail = strings.TrimPrefix(ev.Detail+fmt.Sprintf("; renamed from %s: another member has that name", p.Member.Name), "; ")
		}
		ev.Summary = fmt.Sprintf("%s added %s", ev.Who, m.Name)
		if len(m.Groups) > 0 {
			f.eachSecret(func(s *Secret) {
				if s.Purged == nil && hasAnyGroup(m.Groups, s.Share.Groups) {
					f.afterChange(s, op, "")
				}
			})
		}
	case *MemberEdit:
		m := f.auth.Member(p.Member)
		ev.Target = m.Name
		var changes []string
		for _, g := range p.AddGroups {
			changes = append(changes, "+"+g)
		}
		for _, g := range p.RemoveGroups {
			changes = append(changes, "-"+g)
		}
		if p.Admin != nil {
			changes = append(changes, fmt.Sprintf("admin=%t", *p.Admin))
		}
		ev.Detail = strings.Join(changes, " ")
		ev.Summary = fmt.Sprintf("%s changed %s (%s)", ev.Who, m.Name, ev.Detail)
		touched := append(slices.Clone(p.AddGroups), p.RemoveGroups...)
		if len(touched) > 0 {
			lost := fmt.Sprintf("%s lost access on %s", m.Name, day)
			f.eachSecret(func(s *Secret) {
				if s.Purged == nil && hasAnyGroup(touched, s.Share.Groups) {
					f.afterChange(s, op, lost)
				}
			})
		}
	case *MemberRemove:
		m := f.auth.Member(p.Member)
		ev.Target = m.Name
		ev.Summary = fmt.Sprintf("%s was removed by %s", m.Name, ev.Who)
		reason := fmt.Sprintf("%s was removed on %s", m.Name, day)
		n := 0
		f.eachSecret(func(s *Secret) {
			if s.Purged != nil {
				return
			}
			named := slices.Contains(s.Share.Members, m.ID)
			could := false
			for _, v := range []*Version{s.CurrentVersion(), s.PendingVersion()} {
				could = could || (v != nil && slices.Contains(v.Readers, m.ID))
			}
			if !named && !could && !slices.Contains(s.Wanted, m.ID) {
				return
			}
			s.Share.Members = slices.DeleteFunc(s.Share.Members, func(id MemberID) bool { return id == m.ID })
			if could {
				n++
			}
			f.afterChange(s, op, reason)
		})
		ev.Detail = fmt.Sprintf("%d secret%s to rotate", n, map[bool]string{true: "", false: "s"}[n == 1])
	case *MemberRekey:
		f.rekeySideEffects(op, p, ev)
	case *Rekey:
		ev.Summary = fmt.Sprintf("%s issued a new vault key", ev.Who)
	case *GrantKeys:
		var names []string
		for _, g := range p.Grants {
			names = append(names, f.nameOf(g.To))
		}
		ev.Target = strings.Join(names, ", ")
		ev.Summary = fmt.Sprintf("%s gave %s the vault keys they lacked", ev.Who, ev.Target)
	case *Empty:
		ev.Summary = fmt.Sprintf("%s marked the access review done", ev.Who)
		ev.Detail = "next due " + rotation.DefaultPolicy().Review(op.Body.At, op.Body.At).Due.Format("2006-01-02")
	}
}

func describeMember(groups []string, admin bool) string {
	var parts []string
	if len(groups) > 0 {
		parts = append(parts, "groups "+strings.Join(groups, ", "))
	}
	if admin {
		parts = append(parts, "admin")
	}
	return strings.Join(parts, "; ")
}

// verb says what an operation kind does, for messages.
func verb(kind string) string {
	switch kind {
	case KindMemberAdd:
		return "add members"
	case KindMemberEdit:
		return "change members"
	case KindMemberRemove:
		return "remove members"
	case KindMemberRekey:
		return "replace a member's key"
	case KindRekey:
		return "issue a vault key"
	case KindGrant:
		return "give out vault keys"
	case KindReview:
		return "mark the access review done"
	}
	return "make that change"
}

// rekeySideEffects marks, in every secret, the member's stanzas as for a
// replaced key (the versions wait to be re-encrypted for the new one) and,
// when the old key was reported lost or stolen, every secret the member
// could read as to rotate now.
func (f *folder) rekeySideEffects(op *Op, p *MemberRekey, ev *Event) {
	m := f.auth.Member(p.Member)
	ev.Target = m.Name
	ev.Summary = fmt.Sprintf("%s gave %s a new key", ev.Who, m.Name)
	if op.Body.Author == m.ID {
		ev.Summary = fmt.Sprintf("%s replaced their own key", ev.Who)
	}
	reason := fmt.Sprintf("%s's old key was reported lost or stolen on %s", m.Name, op.Body.At.UTC().Format("2006-01-02"))
	if p.Compromised {
		ev.Summary = fmt.Sprintf("%s replaced %s's key, reported lost or stolen", ev.Who, m.Name)
	}
	reads, rotate := 0, 0
	f.eachSecret(func(s *Secret) {
		if s.Purged != nil {
			return
		}
		marked := false
		for _, v := range s.Versions {
			if slices.Contains(v.Readers, m.ID) && !slices.Contains(v.Rekeyed, m.ID) {
				v.Rekeyed = append(v.Rekeyed, m.ID)
				marked = true
			}
		}
		could := false
		for _, v := range []*Version{s.CurrentVersion(), s.PendingVersion()} {
			could = could || (v != nil && slices.Contains(v.Readers, m.ID))
		}
		if could && s.Live() {
			reads++
		}
		if p.Compromised && could {
			// No member named: a new value set by someone who saw this
			// clears it, though the member reads that value too.
			f.addReason(s, op, reason, nil)
			rotate++
			marked = true
		}
		if marked {
			f.afterChange(s, op, "")
		}
	})
	var parts []string
	if !p.Request.IsZero() {
		parts = append(parts, "as they asked")
	}
	parts = append(parts, fmt.Sprintf("%d secret%s to re-encrypt for the new key", reads, map[bool]string{true: "", false: "s"}[reads == 1]))
	if p.Compromised {
		parts = append(parts, fmt.Sprintf("%d to rotate", rotate))
	}
	ev.Detail = strings.Join(parts, "; ")
}
