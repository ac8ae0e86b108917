package vault

import (
	"fmt"
	"slices"
	"strings"

	"github.com/mutual-aid-vault/vault/vault/internal/fold"
	"github.com/mutual-aid-vault/vault/vault/internal/oplog"
)

// Chores are done by whoever can, as part of their next change: work that
// valid operations asked for and that only some members can do.
//
//   - A secret whose readers changed while the member who changed them
//     could not read it waits for one of its readers to re-encrypt it. The
//     reader who does it is told whose access it gives or takes away. So
//     does a secret whose reader's keys were replaced: it waits for a
//     reader to re-encrypt it for the new key (the member themselves can,
//     with their old key: see ReencryptWithOldKey).
//   - An admin gives vault keys to members who lack some (added while a
//     concurrent removal issued a key they were not given), and issues a
//     new key when a removed member still holds the current one (two
//     removals made at once).

// Notes returns what this member's commands did besides what was asked:
// the chores above, one line each.
func (v *Vault) Notes() []string { return v.notes }

func (v *Vault) note(format string, args ...any) {
	v.notes = append(v.notes, fmt.Sprintf(format, args...))
}

// chores returns the operations for the chores this member can do now.
func (v *Vault) chores(r *reader) ([]change, error) {
	me := r.auth.Member(v.me)
	if me == nil || !me.Active() {
		return nil, nil
	}
	out, err := v.reencryptions(r)
	if err != nil {
		return nil, err
	}
	if !me.Admin && !(me.Recovery && len(me.Sign) > 0) {
		return out, nil
	}
	if c, err := v.rekeyIfNeeded(r); err != nil || c != nil {
		if c != nil {
			out = append(out, *c)
		}
		return out, err
	}
	c, err := v.missingGrants(r)
	if c != nil {
		out = append(out, *c)
	}
	return out, err
}

// reencryptions re-encrypts every waiting secret this member can read.
func (v *Vault) reencryptions(r *reader) ([]change, error) {
	var jobs []*reencryption
	err := r.ix.b(bFlagged).ForEach(func(k, ct []byte) error {
		var e dueEntry
		if err := r.ix.openRecord(bFlagged, k, ct, &e); err != nil || e.Flags&dueWaiting == 0 {
			return err
		}
		s, err := r.ix.Secret(e.ID)
		if err != nil || s == nil || !slices.Contains(s.Wanted, v.me) {
			return err
		}
		rs, readers, err := r.recipients(s.Wanted)
		if err != nil {
			return err
		}
		if len(rs) > r.v.readerLimit() {
			// Past age's limit (changes merged from two copies): left
			// encrypted to its last readers until an unshare brings it
			// back under.
			v.note("%q is shared with %s readers, more than age allows (%s): only its last readers can read it; unshare some members or groups from it ('vault unshare %s …')", s.Name, thousands(len(rs)), thousands(r.v.readerLimit()), s.Name)
			return nil
		}
		for _, ver := range []*fold.Version{s.CurrentVersion(), s.PendingVersion()} {
			if ver == nil || (slices.Equal(ver.Readers, readers) && len(ver.Rekeyed) == 0) {
				continue
			}
			// With the member's own old key, only what it reads for
			// them: it may be older than the key their stanza is for.
			old := false
			switch {
			case r.canRead(ver):
			case v.oldKey != nil && slices.Contains(ver.Rekeyed, v.me):
				old = true
			default:
				continue
			}
			ct, err := r.blob(ver)
			if err != nil {
				return err
			}
			jobs = append(jobs, &reencryption{secret: s, ver: ver, in: ct, old: old, hint: slices.Index(ver.Readers, v.me), rs: rs, readers: readers})
			if !ver.OTP.IsZero() {
				// The seed goes wherever its value goes.
				ct, err := r.otpBlob(ver)
				if err != nil {
					return err
				}
				jobs = append(jobs, &reencryption{secret: s, ver: ver, in: ct, old: old, hint: slices.Index(ver.Readers, v.me), rs: rs, readers: readers, seed: true})
			}
		}
		return nil
	})
	if err != nil || len(jobs) == 0 {
		return nil, err
	}
	if err := v.reencrypt(jobs, v.progress); err != nil {
		return nil, err
	}
	jobs = v.withoutUnopened(jobs)
	var out []change
	for i := 0; i < len(jobs); {
		s := jobs[i].secret
		c := change{kind: fold.KindReencrypt, blobs: map[oplog.Hash][]byte{}}
		p := fold.SecretReencrypt{Secret: s.ID}
		var before []fold.MemberID
		var seeds []fold.Hash
		hasSeed := false
		for ; i < len(jobs) && jobs[i].secret == s; i++ {
			j := jobs[i]
			stored, err := r.sealValue(j.out)
			if err != nil {
				return nil, err
			}
			h := oplog.HashOf(stored)
			c.blobs[h] = stored
			if j.seed {
				seeds[len(seeds)-1] = h
				hasSeed = true
				continue
			}
			p.Items = append(p.Items, fold.Reencrypt{Version: j.ver.Op, Value: fold.Value{Blob: h, Readers: j.readers}})
			seeds = append(seeds, fold.Hash{})
			if j.ver.Op == s.Current {
				before = j.ver.People(r.auth)
			}
		}
		if hasSeed {
			p.OTP = seeds
		}
		c.payload = p
		out = append(out, c)
		v.noteReencrypted(r, s, before)
	}
	return out, nil
}

// withoutUnopened drops the secrets a job of which the member's old key
// could not open (it is not the key their stanza is for), and notes them.
func (v *Vault) withoutUnopened(jobs []*reencryption) []*reencryption {
	failed := map[*fold.Secret]bool{}
	var names []string
	for _, j := range jobs {
		if j.out == nil && !failed[j.secret] {
			failed[j.secret] = true
			if !slices.Contains(v.unopened, j.secret.Name) {
				names = append(names, j.secret.Name)
			}
		}
	}
	jobs = slices.DeleteFunc(jobs, func(j *reencryption) bool { return failed[j.secret] })
	if len(names) == 0 {
		return jobs
	}
	v.unopened = append(v.unopened, names...)
	sortNames(names)
	v.note("your old key could not open %s: it is not the key that was replaced; a reader of %s re-encrypts %s for your new key with their next change", strings.Join(names, ", "), map[bool]string{true: "it", false: "each"}[len(names) == 1], map[bool]string{true: "it", false: "them"}[len(names) == 1])
	return jobs
}

// noteReencrypted tells the member whose access their re-encryption gave
// or took away.
func (v *Vault) noteReencrypted(r *reader, s *fold.Secret, before []fold.MemberID) {
	names := func(ids []fold.MemberID) string {
		var n []string
		for _, id := range ids {
			if m := r.auth.Member(id); m != nil {
				n = append(n, m.Name)
			}
		}
		sortNames(n)
		return strings.Join(n, ", ")
	}
	gained, lost := minusIDs(s.Wanted, before), minusIDs(before, s.Wanted)
	var parts []string
	if len(gained) > 0 {
		parts = append(parts, "so that "+names(gained)+" can read it")
	}
	if len(lost) > 0 {
		parts = append(parts, "so that "+names(lost)+" no longer can")
	}
	if len(parts) == 0 {
		parts = append(parts, "for its readers")
	}
	v.note("re-encrypted %s %s", s.Name, strings.Join(parts, " and "))
}

func minusIDs(a, b []fold.MemberID) []fold.MemberID {
	var out []fold.MemberID
	for _, id := range a {
		if !slices.Contains(b, id) {
			out = append(out, id)
		}
	}
	return out
}

// grantsFor gives every vault key this member holds to each member in to.
func (v *Vault) grantsFor(r *reader, to []*fold.Member, extra map[oplog.EpochID][32]byte) ([]fold.Grant, map[oplog.Hash][]byte, error) {
	ks := newKeyset()
	for e, k := range v.keys.epochs {
		ks.add(e, *k)
	}
	for e, k := range extra {
		ks.add(e, k)
	}
	epochs := ks.sortedEpochs()
	blobs := map[oplog.Hash][]byte{}
	var grants []fold.Grant
	for _, m := range to {
		blob, err := ks.grant(m.Age, epochs)
		if err != nil {
			return nil, nil, err
		}
		h := oplog.HashOf(blob)
		blobs[h] = blob
		grants = append(grants, fold.Grant{To: m.ID, Blob: h, Epochs: epochs})
	}
	return grants, blobs, nil
}

// holders returns the active members and recovery keys, but except.
func holders(a *fold.Auth, except fold.MemberID) []*fold.Member {
	var out []*fold.Member
	for _, m := range a.Members {
		if m.Active() && m.ID != except {
			out = append(out, m)
		}
	}
	return out
}

// newEpoch returns a new vault key and grants of every key to everyone but
// except.
func (v *Vault) newEpoch(r *reader, except fold.MemberID) (oplog.EpochID, map[oplog.EpochID][32]byte, []fold.Grant, map[oplog.Hash][]byte, error) {
	return v.newEpochFor(r, holders(r.auth, except))
}

// newEpochFor returns a new vault key and grants of every key to each
// member in to, at the key to names.
func (v *Vault) newEpochFor(r *reader, to []*fold.Member) (oplog.EpochID, map[oplog.EpochID][32]byte, []fold.Grant, map[oplog.Hash][]byte, error) {
	e, err := oplog.NewEpochID()
	if err != nil {
		return e, nil, nil, nil, err
	}
	key, err := randomKey()
	if err != nil {
		return e, nil, nil, nil, err
	}
	issues := map[oplog.EpochID][32]byte{e: key}
	grants, blobs, err := v.grantsFor(r, to, issues)
	return e, issues, grants, blobs, err
}

// rekeyIfNeeded issues a new vault key when a removed member holds the
// current one, or a key a member has replaced does.
func (v *Vault) rekeyIfNeeded(r *reader) (*change, error) {
	why := ""
	for _, m := range r.auth.Members {
		if !m.Active() && r.auth.HasEpoch(m.ID, r.auth.Epoch) {
			why = fmt.Sprintf("%s, who was removed, held the current one (two removals were made at once)", m.Name)
			break
		}
	}
	if old := r.auth.RetiredHolders(r.auth.Epoch); why == "" && len(old) > 0 {
		why = fmt.Sprintf("%s's old key held the current one (it was given out at the same time as the new key)", r.nameOf(old[0]))
	}
	if why == "" {
		return nil, nil
	}
	e, issues, grants, blobs, err := v.newEpoch(r, fold.MemberID{})
	if err != nil {
		return nil, err
	}
	v.note("issued a new vault key: %s", why)
	return &change{kind: fold.KindRekey, payload: fold.Rekey{Epoch: e, Grants: grants}, grants: blobs, issues: issues}, nil
}

// missingGrants gives keys to members who lack some this member holds:
// every key, not only those the state issued, since a key issued by a
// change that lost to a concurrent one may still seal changes its issuer
// made before learning it lost.
func (v *Vault) missingGrants(r *reader) (*change, error) {
	var to []*fold.Member
	var names []string
	for _, m := range holders(r.auth, fold.MemberID{}) {
		for e := range v.keys.epochs {
			if !r.auth.HasEpoch(m.ID, e) {
				to = append(to, m)
				names = append(names, m.Name)
				break
			}
		}
	}
	if len(to) == 0 {
		return nil, nil
	}
	grants, blobs, err := v.grantsFor(r, to, nil)
	if err != nil {
		return nil, err
	}
	v.note("gave %s the vault keys they lacked (changes made at the same time issued keys they were not given)", strings.Join(names, ", "))
	return &change{kind: fold.KindGrant, payload: fold.GrantKeys{Grants: grants}, grants: blobs}, nil
}
