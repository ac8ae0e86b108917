package fold

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mutual-aid-vault/vault/rotation"
	"github.com/mutual-aid-vault/vault/vault/internal/naming"
)

// applyOther checks and applies an operation that is not about authority:
// a member's activity, or a change to a secret. It returns why the
// operation was rejected, or "".
func (f *folder) applyOther(op *Op, pos int, past *Auth, ev *Event) string {
	if r := f.checkAuthor(op, past); r != "" {
		return r
	}
	author := op.Body.Author
	if why := f.voided(pos, author, false); why != "" {
		return why
	}
	if m := f.auth.Member(author); m == nil || !m.Active() {
		return "its author had been removed"
	}
	st := Stamp{At: op.Body.At, By: author, Op: op.ID}
	if _, ok := op.Payload.(*Empty); ok {
		ev.Summary = fmt.Sprintf("%s used the vault", ev.Who)
		return ""
	}
	if p, ok := op.Payload.(*RekeyRequest); ok {
		return f.requestKey(p, past, st, ev)
	}
	if p, ok := op.Payload.(*SecretAdd); ok {
		return f.addSecret(op, pos, p, st, ev)
	}
	id := secretOf(op.Payload)
	s := f.loadSecret(id)
	if s == nil || s.Purged != nil {
		ev.Summary = fmt.Sprintf("%s changed a secret that does not exist", ev.Who)
		return "there is no such secret (it was purged, or never added)"
	}
	ev.Target = s.Name
	// Rights: readers change a secret; admins may change its metadata
	// and share list too; only readers set or rotate its value. Either
	// must hold both where the change was made (its causal past) and
	// where it is applied.
	pastWanted := f.pastWanted(s, pos, past)
	if pastWanted == nil && f.isNewerThanPast(s, pos) {
		return "the secret did not exist when the change was made"
	}
	inWanted := slices.Contains(s.Wanted, author) && slices.Contains(pastWanted, author)
	viaAdmin := false
	if !inWanted {
		switch op.Body.Kind {
		case KindSecretEdit, KindSecretShare, KindTrash, KindRestore, KindPurge:
			if !mayAdminister(f.auth.Member(author)) || !mayAdminister(past.Member(author)) {
				ev.Summary = fmt.Sprintf("%s tried to change %s", ev.Who, s.Name)
				return "its author is neither a reader of the secret nor an admin"
			}
			viaAdmin = true
		default:
			ev.Summary = fmt.Sprintf("%s tried to change the value of %s", ev.Who, s.Name)
			return "only the secret's readers can set its value, and its author is not one"
		}
	}
	// Only a demotion is left to void it: a removal or a key replacement
	// did above.
	if viaAdmin && f.voided(pos, author, true) != "" {
		return "made concurrently with its author's demotion"
	}
	var reject string
	switch p := op.Payload.(type) {
	case *SecretEdit:
		reject = f.editSecret(s, p, op, st, ev)
	case *SecretShare:
		reject = f.shareSecret(s, p, op, pos, st, ev)
	case *SecretValue:
		reject = f.newValue(s, p, op, pos, st, ev)
	case *Settle:
		if op.Body.Kind == KindConfirm {
			reject = f.confirm(s, p, op, pos, st, ev)
		} else {
			reject = f.abort(s, p, st, ev)
		}
	case *SecretRef:
		reject = f.trash(s, op.Body.Kind, st, ev)
	case *SecretReencrypt:
		reject = f.reencrypt(s, p.Items, p.OTP, op, pos, st, ev)
		if reject == "" && op.Body.Kind == KindTOTP {
			ev.Summary = fmt.Sprintf("%s changed the two-factor seed of %s", ev.Who, s.Name)
			if len(p.OTP) == 0 {
				ev.Summary = fmt.Sprintf("%s removed the two-factor seed of %s", ev.Who, s.Name)
			}
		} else if reject == "" {
			ev.Summary = fmt.Sprintf("%s re-encrypted %s", ev.Who, s.Name)
		}
	default:
		reject = "unexpected kind of change"
	}
	if reject == "" {
		f.markChanged(s)
	}
	return reject
}

func secretOf(p any) SecretID {
	switch p := p.(type) {
	case *SecretEdit:
		return p.Secret
	case *SecretShare:
		return p.Secret
	case *SecretValue:
		return p.Secret
	case *Settle:
		return p.Secret
	case *SecretRef:
		return p.Secret
	case *SecretReencrypt:
		return p.Secret
	}
	return SecretID{}
}

// isNewerThanPast reports whether s was created in the batch by an
// operation the one at pos was not made on top of.
func (f *folder) isNewerThanPast(s *Secret, pos int) bool {
	at, created := f.createdAt[s.ID]
	return created && !f.isAncestor(at, pos)
}

func (f *folder) addSecret(op *Op, pos int, p *SecretAdd, st Stamp, ev *Event) string {
	ev.Summary = fmt.Sprintf("%s added %s", ev.Who, p.Name)
	ev.Target = p.Name
	if p.Secret == (SecretID{}) || f.loadSecret(p.Secret) != nil {
		return "a secret with that ID exists already"
	}
	if !slices.Contains(p.Value.Readers, op.Body.Author) {
		return "its author cannot read the value they added"
	}
	name, _ := naming.Secret(p.Name)
	if f.byName(naming.Fold(name)) != nil {
		name = f.freeName(name)
		ev.Detail = fmt.Sprintf("renamed from %s: another secret was added with that name at the same time", p.Name)
		ev.Summary = fmt.Sprintf("%s added %s (as %s)", ev.Who, p.Name, name)
	}
	ev.Target = name
	last := p.LastRotated
	if last.IsZero() || last.After(op.Body.At) {
		last = op.Body.At
	}
	every := p.RotateEvery
	if every.IsZero() {
		every = rotation.DefaultPeriod()
	}
	first := &Version{Op: op.ID, N: 1, Blob: p.Value.Blob, Readers: slices.Clone(p.Value.Readers), Rekeyed: f.staleReaders(p.Value.Readers, pos),
		Created: st, OTP: p.OTP, OTPBy: otpBy(p.OTP, op.ID)}
	s := &Secret{
		ID: p.Secret, Name: name, Username: p.Username, URL: p.URL, Note: p.Note,
		Share:    Share{Members: f.activeOnly(p.Share.Members), Groups: slices.Clone(p.Share.Groups)},
		Versions: []*Version{first},
		Current:  op.ID, CurrentSince: op.ID, RotateEvery: every, Rules: p.Rules, LastRotated: last.UTC(),
		Created: st, Updated: st,
	}
	slices.Sort(s.Share.Groups)
	s.Share.Groups = slices.Compact(s.Share.Groups)
	f.afterChange(s, op, "")
	f.names[naming.Fold(name)] = s.ID
	f.markChanged(s)
	f.startShare[s.ID] = cloneShare(s.Share)
	f.createdAt[s.ID] = pos
	if ev.Detail == "" {
		ev.Detail = "shared with " + strings.Join(f.shareNames(s.Share), ", ")
	}
	return ""
}

// freeName returns name-2, name-3… whichever is free first.
func (f *folder) freeName(name string) string {
	for n := 2; ; n++ {
		suffix := fmt.Sprintf("-%d", n)
		base := []rune(name)
		if len(base)+len(suffix) > naming.MaxSecretName {
			base = base[:naming.MaxSecretName-len(suffix)]
		}
		c := string(base) + suffix
		if f.byName(naming.Fold(c)) == nil {
			return c
		}
	}
}

func (f *folder) activeOnly(ids []MemberID) []MemberID {
	var out []MemberID
	for _, id := range ids {
		if m := f.auth.Member(id); m != nil && m.Active() && !m.Recovery && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

func (f *folder) shareNames(s Share) []string {
	var out []string
	for _, id := range s.Members {
		out = append(out, f.nameOf(id))
	}
	slices.Sort(out)
	for _, g := range s.Groups {
		out = append(out, "@"+g)
	}
	return out
}

func (f *folder) editSecret(s *Secret, p *SecretEdit, op *Op, st Stamp, ev *Event) string {
	var fields []string
	set := func(field string, dst *string, src *string) {
		if src != nil && *src != *dst {
			*dst = *src
			fields = append(fields, field)
		}
	}
	set("username", &s.Username, p.Username)
	set("url", &s.URL, p.URL)
	set("note", &s.Note, p.Note)
	if p.RotateEvery != nil && *p.RotateEvery != s.RotateEvery {
		s.RotateEvery = *p.RotateEvery
		fields = append(fields, "rotate-every "+s.RotateEvery.String())
	}
	if p.Rules != nil && *p.Rules != s.Rules {
		s.Rules = *p.Rules
		fields = append(fields, "rules ("+s.Rules.Describe()+")")
	}
	if p.LastRotated != nil {
		last := p.LastRotated.UTC()
		if last.After(op.Body.At) {
			last = op.Body.At.UTC()
		}
		if !last.Equal(s.LastRotated) {
			s.LastRotated = last
			fields = append(fields, "last-rotated "+last.Format(time.DateOnly))
		}
	}
	s.Updated = st
	ev.Detail = strings.Join(fields, ", ")
	ev.Summary = fmt.Sprintf("%s changed %s", ev.Who, s.Name)
	if ev.Detail != "" {
		ev.Summary += " (" + ev.Detail + ")"
	}
	return ""
}

func (f *folder) shareSecret(s *Secret, p *SecretShare, op *Op, pos int, st Stamp, ev *Event) string {
	before := slices.Clone(s.Wanted)
	share := Share{Members: slices.Clone(s.Share.Members), Groups: slices.Clone(s.Share.Groups)}
	share.Members = slices.DeleteFunc(share.Members, func(id MemberID) bool { return slices.Contains(p.Remove.Members, id) })
	share.Groups = slices.DeleteFunc(share.Groups, func(g string) bool { return slices.Contains(p.Remove.Groups, g) })
	for _, id := range f.activeOnly(p.Add.Members) {
		if !slices.Contains(share.Members, id) {
			share.Members = append(share.Members, id)
		}
	}
	for _, g := range p.Add.Groups {
		if !slices.Contains(share.Groups, g) {
			share.Groups = append(share.Groups, g)
		}
	}
	slices.Sort(share.Groups)
	after := f.auth.Resolve(share)
	var parts []string
	if add := f.shareNames(p.Add); len(add) > 0 {
		parts = append(parts, "shared with "+strings.Join(add, ", "))
	}
	if rm := f.shareNames(p.Remove); len(rm) > 0 {
		parts = append(parts, "unshared from "+strings.Join(rm, ", "))
	}
	ev.Detail = strings.Join(parts, "; ")
	ev.Summary = fmt.Sprintf("%s %s %s", ev.Who, strings.Join(parts, " and "), s.Name)
	if len(parts) > 0 {
		ev.Summary = fmt.Sprintf("%s changed who reads %s: %s", ev.Who, s.Name, ev.Detail)
	}
	if len(after) == 0 {
		return "it would leave nobody able to read the secret"
	}
	s.Share = share
	s.Updated = st
	f.shareDeltas[s.ID] = append(f.shareDeltas[s.ID], shareDelta{pos: pos, add: cloneShare(p.Add), remove: cloneShare(p.Remove)})
	var lostNames []string
	for _, id := range minus(before, after) {
		lostNames = append(lostNames, f.nameOf(id))
	}
	slices.Sort(lostNames)
	text := ""
	if len(lostNames) > 0 {
		text = fmt.Sprintf("%s lost access on %s", strings.Join(lostNames, ", "), op.Body.At.UTC().Format("2006-01-02"))
	}
	f.afterChange(s, op, text)
	if len(p.Reencrypt) > 0 {
		if r := f.reencrypt(s, p.Reencrypt, nil, op, pos, st, ev); r != "" {
			return r
		}
	}
	return ""
}

func (f *folder) newValue(s *Secret, p *SecretValue, op *Op, pos int, st Stamp, ev *Event) string {
	if !slices.Contains(p.Value.Readers, op.Body.Author) {
		return "its author cannot read the value they stored"
	}
	n := 0
	for _, v := range s.Versions {
		n = max(n, v.N)
	}
	v := &Version{Op: op.ID, N: n + 1, Blob: p.Value.Blob, Readers: slices.Clone(p.Value.Readers), Rekeyed: f.staleReaders(p.Value.Readers, pos),
		Created: st, OTP: p.OTP, OTPBy: otpBy(p.OTP, op.ID)}
	s.Versions = append(s.Versions, v)
	s.Updated = st
	day := op.Body.At.UTC().Format("2006-01-02")
	if op.Body.Kind == KindRotate {
		ev.Summary = fmt.Sprintf("%s started rotating %s", ev.Who, s.Name)
		ev.Detail = fmt.Sprintf("version %d pending", v.N)
		if old := s.PendingVersion(); old != nil {
			old.Superseded = true
			if !f.seenBy(old.Op, pos) {
				f.addReason(s, op, fmt.Sprintf("%s and %s started rotating it at the same time (%s); check which new password the service has, then 'vault set' it", f.nameOf(old.Created.By), ev.Who, day), nil)
			}
		}
		s.Pending = op.ID
	} else {
		ev.Summary = fmt.Sprintf("%s set a new value for %s", ev.Who, s.Name)
		ev.Detail = fmt.Sprintf("version %d", v.N)
		f.makeCurrent(s, v, op, pos, st)
	}
	f.afterChange(s, op, "")
	return ""
}

// makeCurrent makes v the current version: the secret counts as rotated
// when op was made, and the reasons to rotate that op's author had seen
// are cleared (unless the new value can still be read by someone it gave
// a reason about). A current value set concurrently by someone else is
// kept in history and flagged for a person to check.
func (f *folder) makeCurrent(s *Secret, v *Version, op *Op, pos int, st Stamp) {
	day := op.Body.At.UTC().Format("2006-01-02")
	if !s.CurrentSince.IsZero() && !f.seenBy(s.CurrentSince, pos) {
		other := f.nameOf(s.CurrentVersion().Created.By)
		f.addReason(s, op, fmt.Sprintf("%s and %s changed the password at the same time (%s); check which one the service has, then 'vault set' it", other, f.nameOf(st.By), day), nil)
	}
	kept := s.RotateNow[:0]
	for _, r := range s.RotateNow {
		stillReads := slices.ContainsFunc(r.Who, func(id MemberID) bool { return slices.Contains(v.Readers, id) })
		if r.Cause == op.ID || !f.seenBy(r.Cause, pos) || stillReads {
			kept = append(kept, r)
		}
	}
	s.RotateNow = kept
	s.Current, s.CurrentSince = v.Op, op.ID
	v.Superseded = false
	s.LastRotated = op.Body.At.UTC()
}

func (f *folder) confirm(s *Secret, p *Settle, op *Op, pos int, st Stamp, ev *Event) string {
	ev.Summary = fmt.Sprintf("%s rotated %s", ev.Who, s.Name)
	v := s.Version(p.Version)
	if v == nil || v.Aborted != nil || v.Op == s.Current {
		return "that value is not waiting to be confirmed"
	}
	if v.Op != s.Pending && !v.Superseded {
		return "that value is not waiting to be confirmed"
	}
	if pend := s.PendingVersion(); pend != nil && pend.Op != v.Op {
		if f.seenBy(pend.Op, pos) {
			pend.Superseded = true
			s.Pending = OpID{}
		} else {
			f.addReason(s, op, fmt.Sprintf("%s confirmed one new password while %s was rotating to another (%s); check which one the service has", ev.Who, f.nameOf(pend.Created.By), op.Body.At.UTC().Format("2006-01-02")), nil)
		}
	} else {
		s.Pending = OpID{}
	}
	ev.Detail = fmt.Sprintf("version %d current", v.N)
	f.makeCurrent(s, v, op, pos, st)
	s.Updated = st
	f.afterChange(s, op, "")
	return ""
}

func (f *folder) abort(s *Secret, p *Settle, st Stamp, ev *Event) string {
	ev.Summary = fmt.Sprintf("%s abandoned a rotation of %s", ev.Who, s.Name)
	v := s.Version(p.Version)
	if v == nil || v.Op == s.Current || v.Aborted != nil {
		return "that rotation is not pending"
	}
	a := st
	v.Aborted = &a
	if s.Pending == v.Op {
		s.Pending = OpID{}
	}
	ev.Detail = fmt.Sprintf("version %d dropped", v.N)
	s.Updated = st
	return ""
}

func (f *folder) trash(s *Secret, kind string, st Stamp, ev *Event) string {
	switch kind {
	case KindTrash:
		ev.Summary = fmt.Sprintf("%s moved %s to the trash", ev.Who, s.Name)
		if s.Deleted != nil {
			return "it is in the trash already"
		}
		d := st
		s.Deleted = &d
	case KindRestore:
		ev.Summary = fmt.Sprintf("%s restored %s from the trash", ev.Who, s.Name)
		if s.Deleted == nil {
			return "it is not in the trash"
		}
		s.Deleted = nil
	case KindPurge:
		ev.Summary = fmt.Sprintf("%s purged %s for good", ev.Who, s.Name)
		if s.Deleted == nil {
			return "only a secret in the trash can be purged"
		}
		p := st
		s.Purged = &p
		s.Versions, s.Username, s.URL, s.Note = nil, "", "", ""
		s.Current, s.Pending, s.CurrentSince = OpID{}, OpID{}, OpID{}
		s.RotateNow, s.Share, s.Wanted = nil, Share{}, nil
		f.names[naming.Fold(s.Name)] = SecretID{}
	}
	s.Updated = st
	return ""
}

// reencrypt applies new age files for versions; otps are their two-factor
// seeds, item by item (empty: none). A re-encryption must carry a seed
// exactly when the version has one, and must have been made on top of the
// operation that set it; a change of seed (KindTOTP) replaces it.
func (f *folder) reencrypt(s *Secret, items []Reencrypt, otps []Hash, op *Op, pos int, st Stamp, ev *Event) string {
	author := op.Body.Author
	setting := op.Body.Kind == KindTOTP
	for i, it := range items {
		v := s.Version(it.Version)
		if v == nil || (v.Op != s.Current && v.Op != s.Pending) {
			return "it re-encrypts a value that is neither current nor pending"
		}
		if !slices.Contains(v.Readers, author) {
			return "its author could not read the value they re-encrypted"
		}
		var otp Hash
		if len(otps) > 0 {
			otp = otps[i]
		}
		if !setting {
			if v.OTP.IsZero() != otp.IsZero() {
				return "it re-encrypts a value without its two-factor seed, or with one it does not have"
			}
			if !v.OTP.IsZero() && !f.seenBy(v.OTPBy, pos) {
				return "it was made without seeing the latest two-factor seed"
			}
		}
	}
	for i, it := range items {
		v := s.Version(it.Version)
		v.Blob, v.Readers = it.Value.Blob, slices.Clone(it.Value.Readers)
		v.Rekeyed = f.staleReaders(it.Value.Readers, pos)
		var otp Hash
		if len(otps) > 0 {
			otp = otps[i]
		}
		if setting {
			v.OTPBy = otpBy(otp, op.ID)
		}
		v.OTP = otp
	}
	s.Updated = st
	f.afterChange(s, op, "")
	return ""
}

// staleReaders returns the readers of a value written by the operation at
// pos whose keys were replaced by a change that operation had not seen:
// their stanzas are for their old keys.
func (f *folder) staleReaders(readers []MemberID, pos int) []MemberID {
	var out []MemberID
	for _, id := range readers {
		if m := f.auth.Member(id); m != nil && m.Rekeyed != nil && !f.seenBy(m.Rekeyed.Op, pos) {
			out = append(out, id)
		}
	}
	return out
}

// requestKey records a member's request for new keys. It must be signed
// with the key the member has now: one made with a key replaced since
// (concurrently) asks for nothing.
func (f *folder) requestKey(p *RekeyRequest, past *Auth, st Stamp, ev *Event) string {
	m := f.auth.Member(st.By)
	ev.Target = m.Name
	ev.Summary = fmt.Sprintf("%s asked for a new key", ev.Who)
	switch {
	case m.Recovery:
		return "a recovery key cannot ask for a new key"
	case !bytes.Equal(past.Member(st.By).Sign, m.Sign):
		return "it is signed with a key that was replaced since"
	case m.Age == p.Age || bytes.Equal(m.Sign, p.Sign):
		return "that is the member's key already"
	case f.auth.ByKey(p.Age, p.Sign) != nil:
		return "that key already belongs to a member"
	}
	if err := checkAgeKey(p.Age, f.auth.Kind); err != nil {
		return err.Error()
	}
	if m.Request != nil {
		ev.Detail = "replaces their earlier request"
	}
	m.Request = &KeyRequest{Age: p.Age, Sign: slices.Clone(p.Sign), Made: st}
	return ""
}

// otpBy is the operation that set a seed: op, or zero for no seed.
func otpBy(otp Hash, op OpID) OpID {
	if otp.IsZero() {
		return OpID{}
	}
	return op
}

// afterChange brings a secret's derived fields up to date after op: who
// should read it now, and a reason to rotate for every member who can
// read its current or pending value but should not (text says why; empty
// gives a generic reason).
func (f *folder) afterChange(s *Secret, op *Op, text string) {
	f.markChanged(s)
	if s.Purged != nil {
		return
	}
	s.Wanted = f.auth.Resolve(s.Share)
	var extra []MemberID
	for _, v := range []*Version{s.CurrentVersion(), s.PendingVersion()} {
		if v == nil {
			continue
		}
		for _, id := range minus(people(f.auth, v.Readers), s.Wanted) {
			covered := slices.ContainsFunc(s.RotateNow, func(r Reason) bool { return slices.Contains(r.Who, id) })
			if !covered && !slices.Contains(extra, id) {
				extra = append(extra, id)
			}
		}
	}
	if len(extra) == 0 {
		return
	}
	if text == "" {
		var names []string
		for _, id := range extra {
			names = append(names, f.nameOf(id))
		}
		slices.Sort(names)
		text = fmt.Sprintf("%s can read it but may no longer (since %s)", strings.Join(names, ", "), op.Body.At.UTC().Format("2006-01-02"))
	}
	f.addReason(s, op, text, extra)
}

func (f *folder) addReason(s *Secret, op *Op, text string, who []MemberID) {
	s.RotateNow = append(s.RotateNow, Reason{Text: text, At: op.Body.At.UTC(), By: op.Body.Author, Cause: op.ID, Who: who})
}
