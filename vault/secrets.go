package vault

import (
	"crypto/rand"
	"errors"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mutual-aid-vault/vault/rotation"
	"github.com/mutual-aid-vault/vault/vault/internal/fold"
	"github.com/mutual-aid-vault/vault/vault/internal/naming"
	"github.com/mutual-aid-vault/vault/vault/internal/oplog"
)

// Secret is a secret's metadata as the program shows it. It never holds the
// value; see [Vault.Reveal].
type Secret struct {
	Name     string `json:"name"`
	Username string `json:"username,omitempty"`
	URL      string `json:"url,omitempty"`
	Note     string `json:"note,omitempty"`
	// SharedWith is who the secret is shared with: member names and @groups.
	SharedWith []string `json:"shared_with"`
	// Readers are the members who can decrypt the current value.
	Readers []string `json:"readers"`
	// Waiting are members it is shared with who cannot read it yet: a reader
	// must re-encrypt it first (it happens with their next change).
	Waiting []string `json:"waiting,omitempty"`
	// CanRead reports whether the member who opened the vault can read the
	// current value.
	CanRead bool `json:"can_read"`
	Version int  `json:"version"`
	Pending bool `json:"pending"`
	// PendingVersion is the number of the pending value, if any.
	PendingVersion int `json:"pending_version,omitempty"`
	// TOTP reports whether the current value has a two-factor seed.
	TOTP        bool            `json:"totp,omitempty"`
	RotateEvery rotation.Period `json:"rotate_every"`
	Rules       rotation.Rules  `json:"rules"`
	LastRotated time.Time       `json:"last_rotated"`
	// State is where the secret stands in its rotation cycle, Due when the
	// next rotation is due, and Reason why, in a few words.
	State     rotation.State `json:"state"`
	Due       time.Time      `json:"due"`
	Reason    string         `json:"reason"`
	RotateNow *Reason        `json:"rotate_now,omitempty"`
	Created   time.Time      `json:"created"`
	CreatedBy string         `json:"created_by"`
	Updated   time.Time      `json:"updated"`
	UpdatedBy string         `json:"updated_by"`
	Deleted   *time.Time     `json:"deleted,omitempty"`
	DeletedBy string         `json:"deleted_by,omitempty"`
}

// Reason says why a secret must be rotated now, and who recorded it when.
type Reason struct {
	Text string    `json:"text"`
	At   time.Time `json:"at"`
	By   string    `json:"by"`
}

// names returns members' names sorted regardless of case. The order of all
// members is worked out once per read: a list of ten thousand secrets asks
// for it ten thousand times, mostly for the same few lists, which it
// shares between them (clipped, so that an append copies): callers must
// not change the names in place.
func (r *reader) names(ids []fold.MemberID) []string {
	key := idsKey(ids)
	if got, ok := r.namesMemo[key]; ok {
		return got
	}
	out := slices.Clip(r.sortedNames(ids))
	if r.namesMemo == nil {
		r.namesMemo = map[string][]string{}
	}
	r.namesMemo[key] = out
	return out
}

// idsKey turns a list of IDs into a map key.
func idsKey(ids []fold.MemberID) string {
	b := make([]byte, 0, len(ids)*len(fold.MemberID{}))
	for _, id := range ids {
		b = append(b, id[:]...)
	}
	return string(b)
}

func (r *reader) sortedNames(ids []fold.MemberID) []string {
	if r.rank == nil {
		all := slices.Clone(r.auth.Members)
		sortByName(all, func(m *fold.Member) string { return m.Name })
		r.rank = make(map[fold.MemberID]int, len(all))
		for i, m := range all {
			r.rank[m.ID] = i
		}
	}
	sorted := slices.Clone(ids)
	slices.SortFunc(sorted, func(a, b fold.MemberID) int { return r.rank[a] - r.rank[b] })
	out := make([]string, 0, len(sorted))
	for _, id := range sorted {
		out = append(out, r.nameOf(id))
	}
	return out
}

func (r *reader) shareNames(sh fold.Share) []string {
	out := r.names(sh.Members)
	for _, g := range sh.Groups {
		out = append(out, "@"+g)
	}
	return out
}

func (r *reader) secretView(s *fold.Secret) Secret {
	cur := s.CurrentVersion()
	out := Secret{
		Name: s.Name, Username: s.Username, URL: s.URL, Note: s.Note,
		SharedWith: r.shareNames(s.Share), Readers: r.peopleNames(cur.Readable()),
		CanRead: r.canRead(cur), Version: cur.N, Pending: !s.Pending.IsZero(), TOTP: !cur.OTP.IsZero(),
		RotateEvery: s.RotateEvery, Rules: s.Rules, LastRotated: s.LastRotated,
		Created: s.Created.At, CreatedBy: r.nameOf(s.Created.By),
		Updated: s.Updated.At, UpdatedBy: r.nameOf(s.Updated.By),
	}
	if w := minusIDs(s.Wanted, cur.Readable()); len(w) > 0 {
		out.Waiting = r.names(w)
	}
	if len(s.RotateNow) > 0 {
		var texts []string
		for _, rs := range s.RotateNow {
			texts = append(texts, rs.Text)
		}
		out.RotateNow = &Reason{Text: strings.Join(texts, "; "), At: s.RotateNow[0].At, By: r.nameOf(s.RotateNow[0].By)}
	}
	st := r.status(s)
	out.State, out.Due, out.Reason = st.State, st.Due, st.Reason
	if p := s.PendingVersion(); p != nil {
		out.PendingVersion = p.N
	}
	if s.Deleted != nil {
		at := s.Deleted.At
		out.Deleted, out.DeletedBy = &at, r.nameOf(s.Deleted.By)
	}
	return out
}

// NewSecret describes a secret to add.
type NewSecret struct {
	Name     string
	Username string
	URL      string
	Note     string
	// Share lists member names and @groups. The member adding the secret
	// always reads it too.
	Share []string
	// RotateEvery is how often the real password must change; zero means
	// [rotation.DefaultPeriod].
	RotateEvery rotation.Period
	// LastRotated is when the password was last changed at the service;
	// zero means now.
	LastRotated time.Time
	// Rules are the site's password rules, for generating new values.
	Rules rotation.Rules
}

// clean validates what can be checked without the vault.
func (ns NewSecret) clean() (string, rotation.Period, error) {
	name, err := CleanSecretName(ns.Name)
	if err != nil {
		return "", rotation.Period{}, err
	}
	if err := checkFields(ns.Username, ns.URL, ns.Note); err != nil {
		return "", rotation.Period{}, err
	}
	period := ns.RotateEvery
	if period.IsZero() {
		period = rotation.DefaultPeriod()
	}
	if err := period.Validate(); err != nil {
		return "", rotation.Period{}, errorf(ErrInvalid, "rotation period %v: %v", period, err)
	}
	if err := ns.Rules.Validate(); err != nil {
		return "", rotation.Period{}, errorf(ErrInvalid, "%v", err)
	}
	return name, period, nil
}

// byName returns the secret with that name (live or in the trash). When
// there is none, its error suggests the names it may have been meant for.
func (r *reader) byName(name string) (*fold.Secret, error) {
	s, err := r.findName(name)
	if errors.Is(err, ErrNoSecret) {
		var names []string
		if e := r.ix.eachName(func(e *dueEntry) {
			if !e.Deleted {
				names = append(names, e.Name)
			}
		}); e != nil {
			return nil, e
		}
		return nil, errorf(ErrNoSecret, "no secret named %q%s", name, didYouMean(naming.Similar(name, names, 3)))
	}
	return s, err
}

// findName is byName for callers that expect no secret by that name (a
// new one), without suggestions.
func (r *reader) findName(name string) (*fold.Secret, error) {
	id, ok, err := r.ix.ByName(foldName(name))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errorf(ErrNoSecret, "no secret named %q", name)
	}
	s, err := r.ix.Secret(id)
	if err != nil {
		return nil, err
	}
	if s == nil || s.Purged != nil {
		return nil, errorf(ErrNoSecret, "no secret named %q", name)
	}
	return s, nil
}

// liveSecret is byName without secrets in the trash.
func (r *reader) liveSecret(name string) (*fold.Secret, error) {
	s, err := r.byName(name)
	if err != nil {
		return nil, err
	}
	if s.Deleted != nil {
		return nil, errorf(ErrInTrash, "%q is in the trash", s.Name)
	}
	return s, nil
}

// checkNew checks that name is free, the share list names members and
// groups that exist, and a value for them and the acting member fits in
// one age file.
func (r *reader) checkNew(name string, share []string) (fold.Share, error) {
	old, err := r.findName(name)
	switch {
	case err == nil && old.Deleted != nil:
		return fold.Share{}, errorf(ErrExists, "%q is in the trash; restore it, or purge it before adding a new one", old.Name)
	case err == nil:
		return fold.Share{}, errorf(ErrExists, "there is already a secret named %q; use 'set' to change its value", old.Name)
	case !errors.Is(err, ErrNotFound):
		return fold.Share{}, err
	}
	sh, err := r.parseShare(share)
	if err != nil {
		return sh, err
	}
	people := r.auth.Resolve(sh)
	if me := r.me(); me != nil && !slices.Contains(people, me.ID) {
		people = append(people, me.ID)
	}
	return sh, r.checkReaders(readerChange{what: r.sharingWith(sh), secret: name, after: r.readerCount(people), value: true})
}

// CheckNew reports whether [Vault.Add] would accept ns, without storing
// anything: callers use it to refuse a bad name or share list before asking
// for the value.
func (v *Vault) CheckNew(ns NewSecret) error {
	name, _, err := ns.clean()
	if err != nil {
		return err
	}
	return v.view(func(r *reader) error {
		if _, err := r.checkNew(name, ns.Share); err != nil {
			return err
		}
		alike, err := r.secretLookAlikes()
		if err != nil {
			return err
		}
		return alike.check(name)
	})
}

// parseShare turns member names and @groups (comma-separated lists allowed)
// into a share.
func (r *reader) parseShare(who []string) (fold.Share, error) {
	var sh fold.Share
	groups := r.auth.Groups()
	for _, item := range who {
		for _, w := range strings.Split(item, ",") {
			w = strings.TrimSpace(w)
			if w == "" {
				continue
			}
			if strings.HasPrefix(w, "@") {
				g, err := CleanGroupName(w)
				if err != nil {
					return sh, err
				}
				if !slices.Contains(groups, g) {
					known := "there are no groups yet"
					if len(groups) > 0 {
						known = "groups: " + strings.Join(groups, ", ")
					}
					return sh, errorf(ErrNotFound, "no member is in group %q (%s)", g, known)
				}
				if !slices.Contains(sh.Groups, g) {
					sh.Groups = append(sh.Groups, g)
				}
				continue
			}
			m, err := r.memberByName(w)
			if err != nil {
				return sh, err
			}
			if !slices.Contains(sh.Members, m.ID) {
				sh.Members = append(sh.Members, m.ID)
			}
		}
	}
	slices.Sort(sh.Groups)
	return sh, nil
}

// Add stores a new secret, encrypted to the members it is shared with and
// the member adding it.
func (v *Vault) Add(ns NewSecret, val Value) (Secret, error) {
	if err := v.AddMany([]Entry{{Secret: ns, Value: val}}); err != nil {
		return Secret{}, err
	}
	return v.Get(ns.Name)
}

// Entry is one secret to add with [Vault.AddMany].
type Entry struct {
	Secret NewSecret
	Value  Value
	// TOTP is the value's two-factor seed (see [ParseTOTP]), if it has one.
	TOTP Value
}

// AddMany adds many secrets in one go: all of them, or none. It is how a
// group imports its existing passwords at once.
func (v *Vault) AddMany(entries []Entry) error {
	type prepared struct {
		name   string
		period rotation.Period
		id     fold.SecretID
	}
	prep := make([]prepared, len(entries))
	for i, e := range entries {
		name, period, err := e.Secret.clean()
		if err != nil {
			return err
		}
		if err := e.Value.validate(); err != nil {
			if len(entries) > 1 {
				return errorf(ErrInvalid, "%s: %v", name, err)
			}
			return err
		}
		if e.TOTP.Len() > 0 {
			if _, err := ParseTOTP(e.TOTP); err != nil {
				if len(entries) > 1 {
					return errorf(ErrInvalid, "%s: %v", name, err)
				}
				return err
			}
		}
		prep[i] = prepared{name: name, period: period}
		if _, err := rand.Read(prep[i].id[:]); err != nil {
			return err
		}
	}
	_, err := v.update(func(r *reader) ([]change, error) {
		me := r.me()
		if me == nil || me.Recovery {
			return nil, errorf(ErrReadOnly, "a recovery key cannot add secrets")
		}
		var out []change
		seen := map[string]bool{}
		alike, err := r.secretLookAlikes()
		if err != nil {
			return nil, err
		}
		for i, e := range entries {
			if seen[foldName(prep[i].name)] {
				return nil, errorf(ErrExists, "%q is listed twice", prep[i].name)
			}
			seen[foldName(prep[i].name)] = true
			sh, err := r.checkNew(prep[i].name, e.Secret.Share)
			if err != nil {
				return nil, err
			}
			if err := alike.check(prep[i].name); err != nil {
				return nil, err
			}
			alike.add(prep[i].name, "")
			c, err := r.addChange(me, prep[i].id, prep[i].name, prep[i].period, e, sh)
			if err != nil {
				return nil, err
			}
			out = append(out, c)
		}
		return out, nil
	})
	return err
}

// addChange encrypts a new secret's value (and seed) to the members of sh
// and the acting member me, and returns the change that adds it. name and
// period are e's, already checked.
func (r *reader) addChange(me *fold.Member, id fold.SecretID, name string, period rotation.Period, e Entry, sh fold.Share) (change, error) {
	if !slices.Contains(sh.Members, me.ID) {
		sh.Members = append(slices.Clip(sh.Members), me.ID)
	}
	last := e.Secret.LastRotated
	if last.IsZero() {
		last = r.now
	}
	if last.After(r.now.Add(24 * time.Hour)) {
		return change{}, errorf(ErrInvalid, "the last-rotated date %s is in the future", last.Format(time.DateOnly))
	}
	val, blob, err := r.encrypt(name, 0, e.Value, r.auth.Resolve(sh))
	if err != nil {
		return change{}, err
	}
	blobs := map[oplog.Hash][]byte{val.Blob: blob}
	var otpHash fold.Hash
	if e.TOTP.Len() > 0 {
		var ct []byte
		if otpHash, ct, err = r.encryptOTP(e.TOTP, val.Readers); err != nil {
			return change{}, err
		}
		blobs[otpHash] = ct
	}
	return change{kind: fold.KindSecretAdd, blobs: blobs, payload: fold.SecretAdd{
		Secret: id, Name: name, Username: e.Secret.Username, URL: e.Secret.URL, Note: e.Secret.Note,
		Share: sh, RotateEvery: period, Rules: e.Secret.Rules, LastRotated: last.UTC(), Value: val, OTP: otpHash}}, nil
}

// Get returns a secret's metadata, including a secret in the trash.
func (v *Vault) Get(name string) (Secret, error) {
	var out Secret
	err := v.view(func(r *reader) error {
		s, err := r.byName(name)
		if err != nil {
			return err
		}
		out = r.secretView(s)
		return nil
	})
	return out, err
}

// peopleNames returns the sorted names of the members (not recovery keys)
// among a version's readers, shared as names shares them.
func (r *reader) peopleNames(readers []fold.MemberID) []string {
	key := "p" + idsKey(readers)
	if got, ok := r.namesMemo[key]; ok {
		return got
	}
	out := r.names(fold.PeopleOf(r.auth, readers))
	r.namesMemo[key] = out
	return out
}

// List returns the secrets, sorted by name: the live ones, or with trash set
// the ones in the trash.
func (v *Vault) List(trash bool) ([]Secret, error) {
	var out []Secret
	err := v.view(func(r *reader) error {
		out = make([]Secret, 0, r.ix.b(bSecrets).Stats().KeyN)
		return r.ix.Each(func(s *fold.Secret) error {
			if s.Purged != nil || (s.Deleted != nil) != trash {
				return nil
			}
			out = append(out, r.secretView(s))
			return nil
		})
	})
	sortByName(out, func(s Secret) string { return s.Name })
	return out, err
}

// findVersion returns version n of s (0 means the current one); not the
// pending one.
func findVersion(s *fold.Secret, n int) (*fold.Version, error) {
	if n == 0 {
		return s.CurrentVersion(), nil
	}
	for _, v := range s.Versions {
		if v.N == n && v.Op != s.Pending {
			return v, nil
		}
	}
	return nil, errorf(ErrNotFound, "%q has no version %d; see its history", s.Name, n)
}

// notReader explains why the acting member cannot read a version.
func (r *reader) notReader(s *fold.Secret, ver *fold.Version) error {
	names := strings.Join(r.names(ver.People(r.auth)), ", ")
	if ver.Op == s.Current && slices.Contains(s.Wanted, r.v.me) {
		return errorf(ErrNotReader, "%q is shared with you, but none of its readers (%s) has made a change since to re-encrypt it for you", s.Name, names)
	}
	if ver.Op != s.Current {
		return errorf(ErrNotReader, "version %d of %q was encrypted before you could read it (its readers: %s)", ver.N, s.Name, names)
	}
	return errorf(ErrNotReader, "you are not a reader of %q; ask one of its readers (%s) or an admin to share it with you", s.Name, names)
}

// Reveal decrypts a secret's value: the current one when version is 0,
// otherwise that version from its history.
func (v *Vault) Reveal(name string, version int) (Value, error) {
	var out Value
	err := v.view(func(r *reader) error {
		_, ver, err := r.readableVersion(name, version)
		if err != nil {
			return err
		}
		out, err = r.decrypt(ver)
		return err
	})
	return out, err
}

// readableVersion finds a live secret's version (0: the current one) that
// this member can read, or says why not.
func (r *reader) readableVersion(name string, version int) (*fold.Secret, *fold.Version, error) {
	s, err := r.liveSecret(name)
	if err != nil {
		return nil, nil, err
	}
	ver, err := findVersion(s, version)
	if err != nil {
		return nil, nil, err
	}
	if !r.canRead(ver) {
		return nil, nil, r.notReader(s, ver)
	}
	return s, ver, nil
}

// Ciphertext returns the age file of a secret's value (version 0 is the
// current one). Any reader can decrypt it with the stock age tool and their
// identity, without this program.
func (v *Vault) Ciphertext(name string, version int) ([]byte, error) {
	var out []byte
	err := v.view(func(r *reader) error {
		s, err := r.liveSecret(name)
		if err != nil {
			return err
		}
		ver, err := findVersion(s, version)
		if err != nil {
			return err
		}
		out, err = r.blob(ver)
		return err
	})
	return out, err
}

// mayChange fails unless the acting member may change s's metadata or
// share list: one of the people it is shared with, or an admin.
func (r *reader) mayChange(s *fold.Secret) error {
	if slices.Contains(s.Wanted, r.v.me) || r.isAdmin() {
		return nil
	}
	return errorf(ErrNotReader, "you are not a reader of %q; only its readers and admins can change it", s.Name)
}

// checkSet finds a secret the acting member may set a value of.
func (r *reader) checkSet(name string) (*fold.Secret, error) {
	s, err := r.liveSecret(name)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(s.Wanted, r.v.me) {
		return nil, errorf(ErrNotReader, "you are not a reader of %q; only its readers can set its value", s.Name)
	}
	if !s.Pending.IsZero() {
		return nil, errorf(ErrInvalid, "a rotation of %q is pending; confirm or abort it first", s.Name)
	}
	n := r.readerCount(s.Wanted)
	if err := r.checkReaders(readerChange{secret: s.Name, before: n, after: n, value: true}); err != nil {
		return nil, err
	}
	return s, nil
}

// valueChange encrypts val as a new value of s, for its readers, with the
// current value's two-factor seed.
func (r *reader) valueChange(kind string, s *fold.Secret, val Value) (change, error) {
	fv, blob, err := r.encrypt(s.Name, r.readerCount(s.Wanted), val, s.Wanted)
	if err != nil {
		return change{}, err
	}
	blobs := map[oplog.Hash][]byte{fv.Blob: blob}
	otpHash, err := r.keepOTP(s, fv, blobs)
	if err != nil {
		return change{}, err
	}
	return change{kind: kind, blobs: blobs, payload: fold.SecretValue{Secret: s.ID, Value: fv, OTP: otpHash}}, nil
}

// Set stores a new value for a secret (changed by hand at the service): the
// old value moves into history, the secret counts as rotated now, and the
// reasons to rotate it are cleared.
func (v *Vault) Set(name string, val Value) (Secret, error) {
	if err := val.validate(); err != nil {
		return Secret{}, err
	}
	return v.changeSecret(name, func(r *reader, s *fold.Secret) ([]change, error) {
		if _, err := r.checkSet(name); err != nil {
			return nil, err
		}
		c, err := r.valueChange(fold.KindSecretSet, s, val)
		return []change{c}, err
	})
}

// changeSecret makes a change to the secret called name (found live or in
// the trash) and returns the secret afterwards.
func (v *Vault) changeSecret(name string, build func(r *reader, s *fold.Secret) ([]change, error)) (Secret, error) {
	var id fold.SecretID
	_, err := v.update(func(r *reader) ([]change, error) {
		s, err := r.byName(name)
		if err != nil {
			return nil, err
		}
		id = s.ID
		return build(r, s)
	})
	if err != nil {
		return Secret{}, err
	}
	var out Secret
	err = v.view(func(r *reader) error {
		s, err := r.ix.Secret(id)
		if err != nil {
			return err
		}
		if s == nil || s.Purged != nil {
			return errorf(ErrNoSecret, "no secret named %q", name)
		}
		out = r.secretView(s)
		return nil
	})
	return out, err
}

// SecretEdit is a change to a secret's metadata. Nil fields are left alone.
type SecretEdit struct {
	Username    *string
	URL         *string
	Note        *string
	RotateEvery *rotation.Period
	LastRotated *time.Time
	// Rules replaces the site's password rules.
	Rules *rotation.Rules
}

// Edit changes a secret's metadata. The change log records which fields
// changed, never their contents.
func (v *Vault) Edit(name string, e SecretEdit) (Secret, error) {
	return v.changeSecret(name, func(r *reader, s *fold.Secret) ([]change, error) {
		if s.Deleted != nil {
			return nil, errorf(ErrInTrash, "%q is in the trash", s.Name)
		}
		if err := r.mayChange(s); err != nil {
			return nil, err
		}
		p := fold.SecretEdit{Secret: s.ID}
		changed := false
		str := func(dst **string, src *string, cur string) {
			if src != nil && *src != cur {
				*dst, changed = src, true
			}
		}
		str(&p.Username, e.Username, s.Username)
		str(&p.URL, e.URL, s.URL)
		str(&p.Note, e.Note, s.Note)
		u, url, note := s.Username, s.URL, s.Note
		if p.Username != nil {
			u = *p.Username
		}
		if p.URL != nil {
			url = *p.URL
		}
		if p.Note != nil {
			note = *p.Note
		}
		if err := checkFields(u, url, note); err != nil {
			return nil, err
		}
		if e.RotateEvery != nil && *e.RotateEvery != s.RotateEvery {
			if err := e.RotateEvery.Validate(); err != nil {
				return nil, errorf(ErrInvalid, "rotation period %v: %v", *e.RotateEvery, err)
			}
			p.RotateEvery, changed = e.RotateEvery, true
		}
		if e.Rules != nil && *e.Rules != s.Rules {
			if err := e.Rules.Validate(); err != nil {
				return nil, errorf(ErrInvalid, "%v", err)
			}
			p.Rules, changed = e.Rules, true
		}
		if e.LastRotated != nil && !e.LastRotated.Equal(s.LastRotated) {
			if e.LastRotated.After(r.now.Add(24 * time.Hour)) {
				return nil, errorf(ErrInvalid, "the last-rotated date %s is in the future", e.LastRotated.Format(time.DateOnly))
			}
			t := e.LastRotated.UTC()
			p.LastRotated, changed = &t, true
		}
		if !changed {
			return nil, nil
		}
		return []change{{kind: fold.KindSecretEdit, payload: p}}, nil
	})
}

// Remove moves a secret to the trash. It can be restored with
// [Vault.Restore] until it is purged.
func (v *Vault) Remove(name string) error {
	_, err := v.changeSecret(name, func(r *reader, s *fold.Secret) ([]change, error) {
		if s.Deleted != nil {
			return nil, errorf(ErrInTrash, "%q is in the trash", s.Name)
		}
		if err := r.mayChange(s); err != nil {
			return nil, err
		}
		return []change{{kind: fold.KindTrash, payload: fold.SecretRef{Secret: s.ID}}}, nil
	})
	return err
}

// trashed checks that s is in the trash and the acting member may change it.
func (r *reader) trashed(s *fold.Secret, hint string) error {
	if s.Deleted == nil {
		return errorf(ErrInvalid, "%q is not in the trash%s", s.Name, hint)
	}
	return r.mayChange(s)
}

// Restore brings a secret back from the trash.
func (v *Vault) Restore(name string) error {
	_, err := v.changeSecret(name, func(r *reader, s *fold.Secret) ([]change, error) {
		if err := r.trashed(s, ""); err != nil {
			return nil, err
		}
		return []change{{kind: fold.KindRestore, payload: fold.SecretRef{Secret: s.ID}}}, nil
	})
	return err
}

// Purge deletes a secret in the trash for good: every version of its value
// and its metadata. The shared file is written anew without them (see
// [Vault.Compact]: every write that deletes something is), and this
// machine's copy clears its freed pages, so that neither keeps the old
// ciphertext; the change log keeps that the secret existed and who purged
// it.
func (v *Vault) Purge(name string) error {
	_, err := v.changeSecret(name, func(r *reader, s *fold.Secret) ([]change, error) {
		if err := r.trashed(s, "; remove it first (purging is for secrets already in the trash)"); err != nil {
			return nil, err
		}
		return []change{{kind: fold.KindPurge, payload: fold.SecretRef{Secret: s.ID}}}, nil
	})
	if errors.Is(err, ErrNoSecret) {
		// The secret is gone, as asked: changeSecret cannot show it. It
		// may have gone without this machine writing the file since: it
		// is written afresh now.
		v.mu.Lock()
		st, perr := v.publish(v.path, true)
		if perr == nil {
			perr = v.update0(func(tx *bolt.Tx) error { return v.setStamp(tx, st) })
		}
		v.mu.Unlock()
		if perr != nil {
			v.warn("could not rewrite %s without the purged values (%v); 'vault compact' tries again", v.path, perr)
		}
		return nil
	}
	return err
}

// ShareChange reports what a share or unshare did.
type ShareChange struct {
	Secret Secret `json:"secret"`
	// Gained and Lost are the members who can now read it, or no longer.
	Gained []string `json:"gained"`
	Lost   []string `json:"lost"`
	// Waiting is true when the acting member could not re-encrypt the value
	// and the change waits for the next reader.
	Waiting bool `json:"waiting"`
}

// Share lets more members (names or @groups) read a secret, re-encrypting
// its value for them at once when the acting member can read it.
func (v *Vault) Share(name string, who []string) (ShareChange, error) {
	return v.UpdateShare(name, who, nil)
}

// Unshare stops members (names or @groups) from reading a secret. The value
// is re-encrypted without them, and since they may have seen it, the secret
// is marked rotate-now.
func (v *Vault) Unshare(name string, who []string) (ShareChange, error) {
	return v.UpdateShare(name, nil, who)
}

// UpdateShare adds and removes members and @groups in one change, as a
// picker does: see [Vault.Share] and [Vault.Unshare].
func (v *Vault) UpdateShare(name string, add, remove []string) (ShareChange, error) {
	var out ShareChange
	var before []fold.MemberID
	s, err := v.changeSecret(name, func(r *reader, s *fold.Secret) ([]change, error) {
		if s.Deleted != nil {
			return nil, errorf(ErrInTrash, "%q is in the trash", s.Name)
		}
		if err := r.mayChange(s); err != nil {
			return nil, err
		}
		plus, err := r.parseShare(add)
		if err != nil {
			return nil, err
		}
		less, err := r.parseShare(remove)
		if err != nil {
			return nil, err
		}
		if len(plus.Members)+len(plus.Groups)+len(less.Members)+len(less.Groups) == 0 {
			return nil, errorf(ErrInvalid, "say who: member names or @groups")
		}
		for _, id := range less.Members {
			if !slices.Contains(s.Share.Members, id) {
				return nil, errorf(ErrNotFound, "%q is not shared with %s by name", s.Name, r.nameOf(id))
			}
		}
		for _, g := range less.Groups {
			if !slices.Contains(s.Share.Groups, g) {
				return nil, errorf(ErrNotFound, "%q is not shared with @%s", s.Name, g)
			}
		}
		sh := fold.Share{Members: slices.Clone(s.Share.Members), Groups: slices.Clone(s.Share.Groups)}
		sh.Members = slices.DeleteFunc(sh.Members, func(id fold.MemberID) bool { return slices.Contains(less.Members, id) })
		sh.Groups = slices.DeleteFunc(sh.Groups, func(g string) bool { return slices.Contains(less.Groups, g) })
		sh.Members = append(sh.Members, plus.Members...)
		sh.Groups = append(sh.Groups, plus.Groups...)
		after := r.auth.Resolve(sh)
		for _, id := range less.Members {
			if slices.Contains(after, id) && !slices.Contains(plus.Members, id) {
				m := r.auth.Member(id)
				var via []string
				for _, g := range sh.Groups {
					if slices.Contains(m.Groups, g) {
						via = append(via, g)
					}
				}
				return nil, errorf(ErrInvalid, "%s still reads %q through a group (%s); unshare the group too, or take %s out of it", m.Name, s.Name, "@"+strings.Join(via, ", @"), m.Name)
			}
		}
		if len(after) == 0 {
			return nil, errorf(ErrInvalid, "that would leave nobody able to read %q; share it with someone else first, or remove it", s.Name)
		}
		if err := r.checkReaders(readerChange{what: r.sharingWith(plus), secret: s.Name,
			before: r.readerCount(s.Wanted), after: r.readerCount(after)}); err != nil {
			return nil, err
		}
		before = slices.Clone(s.Wanted)
		return []change{{kind: fold.KindSecretShare, payload: fold.SecretShare{Secret: s.ID, Add: plus, Remove: less}}}, nil
	})
	if err != nil {
		return out, err
	}
	out.Secret = s
	err = v.view(func(r *reader) error {
		cur, err := r.byName(s.Name)
		if err != nil {
			return err
		}
		out.Gained = r.names(minusIDs(cur.Wanted, before))
		out.Lost = r.names(minusIDs(before, cur.Wanted))
		out.Waiting = cur.NeedsReencrypt(r.auth)
		return nil
	})
	return out, err
}

// Version describes one stored value of a secret, never the value itself.
type Version struct {
	N       int       `json:"version"`
	Created time.Time `json:"created"`
	By      string    `json:"by"`
	// State is "current", "pending", "previous", "aborted" or
	// "superseded" (a rotation replaced by another started at the same
	// time).
	State   string   `json:"state"`
	Readers []string `json:"readers"`
	CanRead bool     `json:"can_read"`
	// TOTP reports whether the version has a two-factor seed.
	TOTP bool `json:"totp,omitempty"`
}

// History returns every stored version of a secret, oldest first.
func (v *Vault) History(name string) ([]Version, error) {
	var out []Version
	err := v.view(func(r *reader) error {
		s, err := r.byName(name)
		if err != nil {
			return err
		}
		for _, ver := range s.Versions {
			state := "previous"
			switch {
			case ver.Op == s.Current:
				state = "current"
			case ver.Op == s.Pending:
				state = "pending"
			case ver.Aborted != nil:
				state = "aborted"
			case ver.Superseded:
				state = "superseded"
			}
			out = append(out, Version{N: ver.N, Created: ver.Created.At, By: r.nameOf(ver.Created.By), State: state,
				Readers: r.names(ver.People(r.auth)), CanRead: r.canRead(ver), TOTP: !ver.OTP.IsZero()})
		}
		return nil
	})
	slices.SortFunc(out, func(a, b Version) int { return a.N - b.N })
	return out, err
}
