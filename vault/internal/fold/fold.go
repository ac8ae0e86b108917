package fold

import (
	"cmp"
	"crypto/ed25519"
	"math/bits"
	"slices"
	"time"

	"github.com/mutual-aid-vault/vault/vault/internal/oplog"
)

// Op is one operation to fold: decoded, its signature not yet checked.
type Op struct {
	*oplog.Op
	// Payload is the decoded payload, or nil when DecodeErr says why it
	// could not be decoded.
	Payload   any
	DecodeErr error
}

// NewOp decodes an operation's payload.
func NewOp(op *oplog.Op) *Op {
	p, err := Decode(op.Body.Kind, op.Body.Payload)
	return &Op{Op: op, Payload: p, DecodeErr: err}
}

// Store gives the fold the secrets of the state it starts from.
type Store interface {
	// Secret returns the secret with id, or nil.
	Secret(id SecretID) (*Secret, error)
	// ByName returns the secret (live, in the trash, not purged) whose
	// folded name is folded.
	ByName(folded string) (SecretID, bool, error)
	// Each calls fn with every secret.
	Each(fn func(*Secret) error) error
}

// Input is a batch of operations to fold on top of a state.
type Input struct {
	// Base is the state the batch starts from: nil for a whole log.
	Base *Auth
	// Store holds Base's secrets; nil when Base is nil.
	Store Store
	// Ops are the batch, in the order oplog.Order gives: every operation
	// after its parents. Every operation the batch's operations name as
	// parents but that is not in the batch must be older than all of
	// Base's operations' descendants: that is, every operation in the
	// batch was made on top of everything Base holds.
	Ops []*Op
	// Graph is the order of Ops (positions are indexes into Ops).
	Graph *oplog.Graph
	// Verify checks a signature; nil means ed25519 directly. The vault
	// passes a cached check.
	Verify func(op *oplog.Op, key ed25519.PublicKey) bool
}

// Result is the state after a batch.
type Result struct {
	Auth *Auth
	// Secrets are the secrets the batch created or changed.
	Secrets map[SecretID]*Secret
	// Names are changes to the name index: folded name → secret, the
	// zero ID meaning the name is free again.
	Names map[string]SecretID
	// Events describe the batch's operations, one each, in order.
	Events []Event
}

// Event is one line of the change log: an operation as people read it.
// It never holds a value.
type Event struct {
	Op     OpID      `json:"op"`
	Pos    int64     `json:"pos"`
	At     time.Time `json:"at"`
	Author MemberID  `json:"author"`
	// Who is the author's name; Kind the operation's kind; Target the
	// secret or member it is about; Detail a few words more.
	Who    string `json:"who"`
	Kind   string `json:"kind"`
	Target string `json:"target,omitempty"`
	Detail string `json:"detail,omitempty"`
	// Summary is the whole change in a sentence: "alex removed kim".
	Summary string `json:"summary"`
	// Rejected says why the operation was ignored: its author had no
	// right to make it, or it was made concurrently with its author's
	// removal. Empty for a change that took effect.
	Rejected string `json:"rejected,omitempty"`
}

// Fold applies a batch of operations. It is deterministic: the same base
// and the same operations give the same result, whatever order they
// arrived in.
//
// Each operation is checked against the state it was made in (its causal
// past: the operations it was made on top of) and against the state it is
// applied to. Authority (membership, admin flags, keys, the access review)
// is resolved first, over the authority operations alone: an admin's
// change is void if it was made concurrently with (not after seeing) the
// admin's removal or demotion, and so is anything that depended on it.
// When two admins remove (or demote) each other at once, the more senior
// admin's change stands (the one who became an admin first) and the other
// is void. Then every operation is applied in order; rights over a secret
// (reader or admin) are checked against the state just before it.
func Fold(in Input) *Result {
	f := newFolder(in)
	f.resolveAuthority()
	f.apply()
	return &Result{Auth: f.auth, Secrets: f.changedSecrets(), Names: f.names, Events: f.events}
}

type revocation struct {
	pos            int
	author, target MemberID
	removal        bool // else a demotion, or a key replacement
	// rekey marks the replacement of a key reported lost or stolen: what
	// the old key signed concurrently is void, as for a removal, but the
	// member stays.
	rekey     bool
	seniority int64
}

type folder struct {
	in   Input
	base *Auth
	auth *Auth // the state as the sequential pass goes

	// Authority operations: their positions, and for every operation the
	// set of authority operations among its ancestors in the batch.
	authPos []int
	authIdx map[int]int
	authAnc []oplog.Bits

	validA    []bool
	reasonA   []string
	effective []revocation
	// overruled are revocations that lost to a more senior admin's, by
	// position, with why.
	overruled map[int]string
	fullAnc   map[int]oplog.Bits
	// rounds counts the rounds the authority took to settle (for tests).
	rounds int

	secrets map[SecretID]*Secret
	changed map[SecretID]bool
	names   map[string]SecretID
	events  []Event

	// For checking rights over a secret in an operation's causal past:
	// each secret's share list when the batch began (or when the batch
	// created it, and where), and the share changes made in the batch.
	startShare  map[SecretID]Share
	createdAt   map[SecretID]int
	shareDeltas map[SecretID][]shareDelta
}

type shareDelta struct {
	pos         int
	add, remove Share
}

func newFolder(in Input) *folder {
	base := in.Base
	if base == nil {
		base = &Auth{}
	}
	f := &folder{in: in, base: base, authIdx: map[int]int{}, fullAnc: map[int]oplog.Bits{},
		secrets: map[SecretID]*Secret{}, changed: map[SecretID]bool{}, names: map[string]SecretID{},
		startShare: map[SecretID]Share{}, createdAt: map[SecretID]int{}, shareDeltas: map[SecretID][]shareDelta{},
		events: make([]Event, 0, len(in.Ops))}
	for pos, op := range in.Ops {
		if IsAuthority(op.Body.Kind) {
			f.authIdx[pos] = len(f.authPos)
			f.authPos = append(f.authPos, pos)
		}
	}
	f.authAnc = make([]oplog.Bits, len(in.Ops))
	for pos := range in.Ops {
		b := oplog.NewBits(len(f.authPos))
		for _, p := range in.Graph.Parents(pos) {
			b.Or(f.authAnc[p])
			if j, ok := f.authIdx[p]; ok {
				b.Set(j)
			}
		}
		f.authAnc[pos] = b
	}
	return f
}

func (f *folder) verify(op *oplog.Op, key []byte) bool {
	if f.in.Verify != nil {
		return f.in.Verify(op, key)
	}
	return op.Verify(key)
}

// isAncestor reports whether the operation at a is an ancestor of the one
// at b (a < b).
func (f *folder) isAncestor(a, b int) bool {
	if j, ok := f.authIdx[a]; ok {
		return f.authAnc[b].Has(j)
	}
	if _, ok := f.authIdx[b]; ok {
		anc, ok := f.fullAnc[b]
		if !ok {
			anc = f.in.Graph.Ancestors(b)
			f.fullAnc[b] = anc
		}
		return anc.Has(a)
	}
	return f.in.Graph.IsAncestor(a, b)
}

func (f *folder) concurrent(a, b int) bool {
	switch {
	case a == b:
		return false
	case a < b:
		return !f.isAncestor(a, b)
	}
	return !f.isAncestor(b, a)
}

// seenBy reports whether the operation op was made on top of the operation
// with ID id: id is among its ancestors, or older than the batch.
func (f *folder) seenBy(id OpID, pos int) bool {
	i, ok := f.in.Graph.Index(id)
	if !ok {
		return true
	}
	return f.isAncestor(i, pos)
}

// resolveAuthority decides which authority operations stand. Validity
// depends on which revocations stand and the other way round, so it
// iterates to a fixed point (bounded: the last round is used if it does
// not settle, which keeps the result deterministic).
func (f *folder) resolveAuthority() {
	var prevValid []bool
	var prevEff []revocation
	for round := 0; round < maxRounds; round++ {
		f.rounds = round + 1
		valid, passed, reasons, pasts := f.authorityRound()
		// Weighed among the revocations: those overruled last round
		// too, or an overruled one would stand again the round after,
		// and the verdict would depend on the round the loop stops at.
		eff, overruled := f.revocations(passed, pasts)
		f.validA, f.reasonA = valid, reasons
		if slices.Equal(valid, prevValid) && slices.EqualFunc(eff, prevEff, func(a, b revocation) bool { return a == b }) {
			break
		}
		prevValid, prevEff = valid, eff
		f.effective, f.overruled = eff, overruled
	}
}

// maxRounds bounds the authority resolution. It settles in two or three
// rounds in every case tested; the bound only keeps a hostile log from
// making it loop.
const maxRounds = 64

// authorityRound checks every authority operation in order against the
// state of its causal past and the state it is applied to, given the
// revocations found to stand in the previous round. It returns each one's
// verdict, whether it passed all but the weighing of revocations (see
// revocations), and the state of its causal past.
func (f *folder) authorityRound() (valid, passed []bool, reasons []string, pasts []*Auth) {
	seq := f.base.Clone()
	valid = make([]bool, len(f.authPos))
	passed = make([]bool, len(f.authPos))
	reasons = make([]string, len(f.authPos))
	pasts = make([]*Auth, len(f.authPos))
	validBits := oplog.NewBits(len(f.authPos))
	nValid := 0
	cache := map[string]*Auth{}
	for j, pos := range f.authPos {
		op := f.in.Ops[pos]
		past := f.pastAuth(pos, validBits, nValid, seq, cache)
		if past == seq {
			past = seq.Clone()
		}
		pasts[j] = past
		reason := f.authorize(op, pos, past, seq)
		if reason == "" {
			reason = f.voided(pos, op.Body.Author, true)
		}
		passed[j] = reason == ""
		if why, ok := f.overruled[pos]; ok && reason == "" {
			reason = why
		}
		if reason != "" {
			reasons[j] = reason
			continue
		}
		f.applyAuth(seq, pos)
		valid[j] = true
		validBits.Set(j)
		nValid++
	}
	return valid, passed, reasons, pasts
}

func (f *folder) globalPos(pos int) int64 { return f.base.Folded + int64(pos) }

// pastAuth returns the authority state of the causal past of the
// operation at pos: the base and the valid authority operations among its
// ancestors. When those are all the valid ones so far (a linear history,
// the usual case) that is seq itself.
func (f *folder) pastAuth(pos int, validBits oplog.Bits, nValid int, seq *Auth, cache map[string]*Auth) *Auth {
	anc := make(oplog.Bits, len(validBits))
	n := 0
	for i := range anc {
		anc[i] = f.authAnc[pos][i] & validBits[i]
		n += bits.OnesCount64(anc[i])
	}
	if n == nValid {
		return seq
	}
	key := anc.Key()
	if a, ok := cache[key]; ok {
		return a
	}
	a := f.base.Clone()
	for j, p := range f.authPos {
		if anc.Has(j) {
			f.applyAuth(a, p)
		}
	}
	cache[key] = a
	return a
}

// voided says why an operation by author at pos is void, or "": it was
// made concurrently with a standing revocation of its author: a removal,
// the replacement of a key reported lost or stolen (then the operation
// was signed with the old key), or a demotion when the operation needed
// admin rights.
func (f *folder) voided(pos int, author MemberID, needsAdmin bool) string {
	for _, e := range f.effective {
		if e.target != author || !f.concurrent(e.pos, pos) {
			continue
		}
		switch {
		case e.rekey:
			return "signed with its author's old key, concurrently with its replacement (the key was reported lost or stolen)"
		case e.removal && !needsAdmin:
			return "made concurrently with its author's removal"
		case e.removal || needsAdmin:
			return "made concurrently with its author's removal or demotion"
		}
	}
	return ""
}

// revocations returns the removals, demotions and replacements of keys
// reported lost or stolen that stand, among those that passed, most
// senior author first (seniority as it was when each was made): one is
// void if
// its author was revoked by a standing revocation made concurrently with
// it, if its target was concurrently making revocations that stand, or if
// together with the standing revocations made concurrently with it, it
// would leave no admin. Only concurrent revocations are weighed against
// each other, so operations made later never change the verdict on
// earlier ones.
func (f *folder) revocations(passed []bool, pasts []*Auth) ([]revocation, map[int]string) {
	var revs []revocation
	pastOf := map[int]*Auth{}
	for j, pos := range f.authPos {
		if !passed[j] {
			continue
		}
		op := f.in.Ops[pos]
		r := revocation{pos: pos, author: op.Body.Author}
		switch p := op.Payload.(type) {
		case *MemberRemove:
			r.target, r.removal = p.Member, true
		case *MemberEdit:
			if p.Admin == nil || *p.Admin {
				continue
			}
			r.target = p.Member
		case *MemberRekey:
			if !p.Compromised {
				continue
			}
			r.target, r.rekey = p.Member, true
		default:
			continue
		}
		if m := pasts[j].Member(r.author); m != nil {
			r.seniority = m.AdminSince
		}
		pastOf[pos] = pasts[j]
		revs = append(revs, r)
	}
	slices.SortStableFunc(revs, func(a, b revocation) int {
		if c := cmp.Compare(a.seniority, b.seniority); c != 0 {
			return c
		}
		return cmp.Compare(a.pos, b.pos)
	})
	var out []revocation
	overruled := map[int]string{}
	for _, r := range revs {
		why := ""
		for _, e := range out {
			if !f.concurrent(e.pos, r.pos) {
				continue
			}
			if e.target == r.author {
				why = "made concurrently with its author's removal or demotion"
				break
			}
			if e.author == r.target {
				why = "its target, a more senior admin, was changing membership at the same time"
				break
			}
		}
		if why == "" && f.leavesNoAdmin(r, out, pastOf[r.pos]) {
			why = "together with a change made at the same time, it would leave the vault without an admin"
		}
		if why == "" {
			out = append(out, r)
		} else {
			overruled[r.pos] = why
		}
	}
	slices.SortFunc(out, func(a, b revocation) int { return cmp.Compare(a.pos, b.pos) })
	return out, overruled
}

// leavesNoAdmin reports whether revocation r, with the standing ones made
// concurrently with it, would leave none of the admins of r's past.
func (f *folder) leavesNoAdmin(r revocation, standing []revocation, past *Auth) bool {
	t := past.Member(r.target)
	if r.rekey || t == nil || !t.Admin || t.Recovery {
		return false
	}
	gone := map[MemberID]bool{r.target: true}
	for _, e := range standing {
		if m := past.Member(e.target); !e.rekey && m != nil && m.Admin && f.concurrent(e.pos, r.pos) {
			gone[e.target] = true
		}
	}
	left := 0
	for _, m := range past.Members {
		if m.Active() && m.Admin && !m.Recovery && !gone[m.ID] {
			left++
		}
	}
	return left == 0
}

// apply is the sequential pass: every operation in order, authority ones
// as resolved, the others checked against the state just before them.
func (f *folder) apply() {
	f.auth = f.base.Clone()
	validBits := oplog.NewBits(len(f.authPos))
	nValid := 0
	cache := map[string]*Auth{}
	for pos, op := range f.in.Ops {
		ev := f.newEvent(op, pos)
		if j, ok := f.authIdx[pos]; ok {
			if f.validA[j] {
				f.applyAuth(f.auth, pos)
				f.authoritySideEffects(op, pos, &ev)
				validBits.Set(j)
				nValid++
			} else {
				ev.Rejected = f.reasonA[j]
			}
		} else {
			past := f.pastAuth(pos, validBits, nValid, f.auth, cache)
			ev.Rejected = f.applyOther(op, pos, past, &ev)
		}
		if ev.Rejected != "" {
			ev.Summary = intent(op.Body.Kind, ev.Who, f.targetOf(op))
			if ev.Target == "" {
				ev.Target = f.targetOf(op)
			}
		}
		if ev.Rejected == "" {
			if m := f.auth.Member(op.Body.Author); m != nil && op.Body.At.After(m.LastActive) {
				m.LastActive = op.Body.At
			}
		}
		f.events = append(f.events, ev)
	}
	f.auth.Folded = f.base.Folded + int64(len(f.in.Ops))
}

func (f *folder) newEvent(op *Op, pos int) Event {
	ev := Event{Op: op.ID, Pos: f.globalPos(pos), At: op.Body.At, Author: op.Body.Author, Kind: op.Body.Kind}
	ev.Who = f.nameOf(op.Body.Author)
	if p, ok := op.Payload.(*Create); ok && ev.Who == "" {
		ev.Who = p.Creator.Name
	}
	if ev.Who == "" {
		ev.Who = "someone who is not a member"
	}
	return ev
}

// nameOf returns a member's name from the current state, or "".
func (f *folder) nameOf(id MemberID) string {
	if f.auth != nil {
		if m := f.auth.Member(id); m != nil {
			return m.Name
		}
	}
	if m := f.base.Member(id); m != nil {
		return m.Name
	}
	return ""
}

// checkAuthor checks that the author of a non-authority operation was a
// member when they made it and still is, and that the signature is theirs.
func (f *folder) checkAuthor(op *Op, past *Auth) string {
	if op.DecodeErr != nil {
		return op.DecodeErr.Error()
	}
	if op.Body.Vault != f.auth.Vault {
		return "it belongs to another vault"
	}
	pm := past.Member(op.Body.Author)
	if pm == nil || !pm.Active() {
		return "its author was not a member when it was made"
	}
	if len(pm.Sign) == 0 || !f.verify(op.Op, pm.Sign) {
		return "its signature does not match its author's key"
	}
	return ""
}

// loadSecret returns the secret with id as the batch has left it.
func (f *folder) loadSecret(id SecretID) *Secret {
	if s, ok := f.secrets[id]; ok {
		return s
	}
	if f.in.Store == nil {
		return nil
	}
	s, err := f.in.Store.Secret(id)
	if err != nil || s == nil {
		return nil
	}
	s = s.Clone()
	f.secrets[id] = s
	f.startShare[id] = cloneShare(s.Share)
	return s
}

func cloneShare(s Share) Share {
	return Share{Members: slices.Clone(s.Members), Groups: slices.Clone(s.Groups)}
}

// pastWanted returns who should read s in the causal past of the operation
// at pos (past is the authority state there): the share list as the batch
// began, with the batch's share changes that pos was made on top of. It
// returns nil if s did not exist there.
func (f *folder) pastWanted(s *Secret, pos int, past *Auth) []MemberID {
	sh, ok := f.startShare[s.ID]
	if !ok {
		return nil
	}
	if at, created := f.createdAt[s.ID]; created && !f.isAncestor(at, pos) {
		return nil
	}
	sh = cloneShare(sh)
	for _, d := range f.shareDeltas[s.ID] {
		if !f.isAncestor(d.pos, pos) {
			continue
		}
		sh.Members = slices.DeleteFunc(sh.Members, func(id MemberID) bool { return slices.Contains(d.remove.Members, id) })
		sh.Groups = slices.DeleteFunc(sh.Groups, func(g string) bool { return slices.Contains(d.remove.Groups, g) })
		sh.Members = append(sh.Members, d.add.Members...)
		sh.Groups = append(sh.Groups, d.add.Groups...)
	}
	return past.Resolve(sh)
}

func (f *folder) markChanged(s *Secret) {
	f.secrets[s.ID] = s
	f.changed[s.ID] = true
}

// byName returns the secret whose folded name is folded, if not purged.
func (f *folder) byName(folded string) *Secret {
	if id, ok := f.names[folded]; ok {
		if id == (SecretID{}) {
			return nil
		}
		return f.loadSecret(id)
	}
	if f.in.Store == nil {
		return nil
	}
	id, ok, err := f.in.Store.ByName(folded)
	if err != nil || !ok {
		return nil
	}
	return f.loadSecret(id)
}

// eachSecret calls fn with every secret (the batch's own included).
func (f *folder) eachSecret(fn func(*Secret)) {
	seen := map[SecretID]bool{}
	if f.in.Store != nil {
		_ = f.in.Store.Each(func(s *Secret) error {
			seen[s.ID] = true
			if c, ok := f.secrets[s.ID]; ok {
				fn(c)
				return nil
			}
			c := s.Clone()
			f.secrets[s.ID] = c
			f.startShare[s.ID] = cloneShare(c.Share)
			fn(c)
			return nil
		})
	}
	var ids []SecretID
	for id := range f.secrets {
		if !seen[id] {
			ids = append(ids, id)
		}
	}
	slices.SortFunc(ids, func(a, b SecretID) int { return slices.Compare(a[:], b[:]) })
	for _, id := range ids {
		fn(f.secrets[id])
	}
}

func (f *folder) changedSecrets() map[SecretID]*Secret {
	out := make(map[SecretID]*Secret, len(f.changed))
	for id := range f.changed {
		out[id] = f.secrets[id]
	}
	return out
}
