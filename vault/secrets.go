package vault

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mutual-aid-vault/vault/rotation"
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
	// must re-encrypt it first (it happens when one next uses vault).
	Waiting []string `json:"waiting,omitempty"`
	// CanRead reports whether the member who opened the vault can read the
	// current value.
	CanRead bool `json:"can_read"`
	Version int  `json:"version"`
	Pending bool `json:"pending"`
	// PendingVersion is the number of the pending value, if any.
	PendingVersion int             `json:"pending_version,omitempty"`
	RotateEvery    rotation.Period `json:"rotate_every"`
	Rules          rotation.Rules  `json:"rules"`
	LastRotated    time.Time       `json:"last_rotated"`
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

func (t *txn) secretView(s *secretRecord) (Secret, error) {
	out := Secret{
		Name: s.Name, Username: s.Username, URL: s.URL, Note: s.Note,
		SharedWith: []string{}, Readers: []string{},
		CanRead: t.canRead(s.Current), Version: s.Current.N, Pending: s.Pending != nil,
		RotateEvery: s.RotateEvery, Rules: s.Rules, LastRotated: s.LastRotated,
		Created: s.Created.At, CreatedBy: t.nameOf(s.Created.By),
		Updated: s.Updated.At, UpdatedBy: t.nameOf(s.Updated.By),
	}
	for _, id := range s.Share.Members {
		out.SharedWith = append(out.SharedWith, t.nameOf(id))
	}
	sortNames(out.SharedWith)
	for _, g := range s.Share.Groups {
		out.SharedWith = append(out.SharedWith, "@"+g)
	}
	for _, id := range s.Current.Readers {
		out.Readers = append(out.Readers, t.nameOf(id))
	}
	sortNames(out.Readers)
	wanted, err := t.resolve(s.Share)
	if err != nil {
		return Secret{}, err
	}
	for _, id := range minus(wanted, s.Current.Readers) {
		out.Waiting = append(out.Waiting, t.nameOf(id))
	}
	if s.RotateNow != nil {
		out.RotateNow = &Reason{Text: s.RotateNow.Text, At: s.RotateNow.At, By: t.nameOf(s.RotateNow.By)}
	}
	st := t.status(s)
	out.State, out.Due, out.Reason = st.State, st.Due, st.Reason
	if s.Pending != nil {
		out.PendingVersion = s.Pending.N
	}
	if s.Deleted != nil {
		at := s.Deleted.At
		out.Deleted, out.DeletedBy = &at, t.nameOf(s.Deleted.By)
	}
	return out, nil
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

// Field limits keep records small and stop pasted files.
const (
	maxUsername = 256
	maxURL      = 2048
	maxNote     = 4096
)

func checkField(what, s string, max int) error {
	if len(s) > max {
		return errorf(ErrInvalid, "the %s is longer than %d bytes", what, max)
	}
	for _, r := range s {
		if r < 0x20 && r != '\n' && r != '\t' || r == 0x7f {
			return errorf(ErrInvalid, "the %s contains a control character", what)
		}
	}
	return nil
}

func checkFields(username, url, note string) error {
	if err := checkField("username", username, maxUsername); err != nil {
		return err
	}
	if strings.ContainsAny(username, "\n") || strings.ContainsAny(url, "\n") {
		return errorf(ErrInvalid, "usernames and URLs are one line")
	}
	if err := checkField("URL", url, maxURL); err != nil {
		return err
	}
	return checkField("note", note, maxNote)
}

// CheckNew reports whether [Vault.Add] would accept ns, without storing
// anything: callers use it to refuse a bad name or share list before asking
// for the value.
func (v *Vault) CheckNew(ns NewSecret) error {
	name, _, err := ns.clean()
	if err != nil {
		return err
	}
	return v.view(func(t *txn) error {
		_, _, err := t.checkNew(name, ns.Share)
		return err
	})
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

// checkNew checks that name is free and the share list names members and
// groups that exist; it returns the bbolt key for the name and the spec.
func (t *txn) checkNew(name string, share []string) ([]byte, shareSpec, error) {
	old, key, err := t.secret(name)
	switch {
	case err == nil && old.Purged == nil && old.Deleted != nil:
		return nil, shareSpec{}, errorf(ErrExists, "%q is in the trash; restore it, or purge it before adding a new one", old.Name)
	case err == nil && old.Purged == nil:
		return nil, shareSpec{}, errorf(ErrExists, "there is already a secret named %q; use 'set' to change its value", old.Name)
	case err != nil && !errors.Is(err, ErrNotFound):
		return nil, shareSpec{}, err
	}
	spec, err := t.parseShare(share)
	return key, spec, err
}

// Add stores a new secret, encrypted to the members it is shared with and
// the member adding it.
func (v *Vault) Add(ns NewSecret, val Value) (Secret, error) {
	name, period, err := ns.clean()
	if err != nil {
		return Secret{}, err
	}
	if err := val.validate(); err != nil {
		return Secret{}, err
	}
	var out Secret
	err = v.update(func(t *txn) error {
		if err := t.add(name, period, ns, val); err != nil {
			return err
		}
		s, _, err := t.secret(name)
		if err != nil {
			return err
		}
		out, err = t.secretView(s)
		return err
	})
	return out, err
}

// add stores one new secret; name and period are ns's, already cleaned.
func (t *txn) add(name string, period rotation.Period, ns NewSecret, val Value) error {
	key, spec, err := t.checkNew(name, ns.Share)
	if err != nil {
		return err
	}
	if !t.v.recovery && !slices.Contains(spec.Members, t.v.wrapID) {
		spec.Members = append(spec.Members, t.v.wrapID)
	}
	readers, err := t.resolve(spec)
	if err != nil {
		return err
	}
	last := ns.LastRotated
	if last.IsZero() {
		last = t.now
	}
	if last.After(t.now.Add(24 * time.Hour)) {
		return errorf(ErrInvalid, "the last-rotated date %s is in the future", last.Format(time.DateOnly))
	}
	cur, err := t.encrypt(val, readers, 1)
	if err != nil {
		return err
	}
	id, err := newID()
	if err != nil {
		return err
	}
	s := &secretRecord{
		ID: id, Name: name, Username: ns.Username, URL: ns.URL, Note: ns.Note,
		Share: spec, Current: cur, RotateEvery: period, Rules: ns.Rules, LastRotated: last.UTC(),
		Created: stamp{At: t.now, By: t.v.wrapID}, Updated: stamp{At: t.now, By: t.v.wrapID},
	}
	if err := t.putSecret(key, s); err != nil {
		return err
	}
	view, err := t.secretView(s)
	if err != nil {
		return err
	}
	return t.appendLog("secret.add", name, "shared with "+strings.Join(view.SharedWith, ", "))
}

// parseShare turns member names and @groups (comma-separated lists allowed)
// into a share spec.
func (t *txn) parseShare(who []string) (shareSpec, error) {
	var spec shareSpec
	groups, err := t.groups()
	if err != nil {
		return spec, err
	}
	for _, item := range who {
		for _, w := range strings.Split(item, ",") {
			w = strings.TrimSpace(w)
			if w == "" {
				continue
			}
			if strings.HasPrefix(w, "@") {
				g, err := CleanGroupName(w)
				if err != nil {
					return spec, err
				}
				if !slices.Contains(groups, g) {
					known := "there are no groups yet"
					if len(groups) > 0 {
						known = "groups: " + strings.Join(groups, ", ")
					}
					return spec, errorf(ErrNotFound, "no member is in group %q (%s)", g, known)
				}
				if !slices.Contains(spec.Groups, g) {
					spec.Groups = append(spec.Groups, g)
				}
				continue
			}
			m, err := t.memberByName(w)
			if err != nil {
				return spec, err
			}
			if !slices.Contains(spec.Members, m.ID) {
				spec.Members = append(spec.Members, m.ID)
			}
		}
	}
	slices.Sort(spec.Groups)
	return spec, nil
}

// Get returns a secret's metadata, including a secret in the trash.
func (v *Vault) Get(name string) (Secret, error) {
	var out Secret
	err := v.view(func(t *txn) error {
		s, _, err := t.secret(name)
		if err != nil {
			return err
		}
		if s.Purged != nil {
			return errorf(ErrNoSecret, "no secret named %q", name)
		}
		out, err = t.secretView(s)
		return err
	})
	return out, err
}

// List returns the secrets, sorted by name: the live ones, or with trash set
// the ones in the trash.
func (v *Vault) List(trash bool) ([]Secret, error) {
	var out []Secret
	err := v.view(func(t *txn) error {
		all, _, err := t.allSecrets()
		if err != nil {
			return err
		}
		for _, s := range all {
			if s.Purged != nil || (s.Deleted != nil) != trash {
				continue
			}
			view, err := t.secretView(s)
			if err != nil {
				return err
			}
			out = append(out, view)
		}
		return nil
	})
	sortByName(out, func(s Secret) string { return s.Name })
	return out, err
}

// findVersion returns version n of s (0 means the current one).
func findVersion(s *secretRecord, n int) (*version, error) {
	if n == 0 {
		return s.Current, nil
	}
	for _, v := range s.versions() {
		if v.N == n && v != s.Pending {
			return v, nil
		}
	}
	return nil, errorf(ErrNotFound, "%q has no version %d; see its history", s.Name, n)
}

// liveVersion finds version n (0: the current one) of a live secret.
func (t *txn) liveVersion(name string, n int) (*secretRecord, *version, error) {
	s, _, err := t.liveSecret(name)
	if err != nil {
		return nil, nil, err
	}
	ver, err := findVersion(s, n)
	return s, ver, err
}

// notReader explains why the acting member cannot read a version.
func (t *txn) notReader(s *secretRecord, v *version) error {
	wanted, err := t.resolve(s.Share)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(v.Readers))
	for _, id := range v.Readers {
		names = append(names, t.nameOf(id))
	}
	slices.Sort(names)
	if v == s.Current && slices.Contains(wanted, t.v.wrapID) {
		return errorf(ErrNotReader, "%q is shared with you, but none of its readers (%s) has used vault since to re-encrypt it for you", s.Name, strings.Join(names, ", "))
	}
	if v != s.Current {
		return errorf(ErrNotReader, "version %d of %q was encrypted before you could read it (its readers: %s)", v.N, s.Name, strings.Join(names, ", "))
	}
	return errorf(ErrNotReader, "you are not a reader of %q; ask one of its readers (%s) or an admin to share it with you", s.Name, strings.Join(names, ", "))
}

// Reveal decrypts a secret's value: the current one when version is 0,
// otherwise that version from its history.
func (v *Vault) Reveal(name string, version int) (Value, error) {
	var out Value
	err := v.view(func(t *txn) error {
		s, ver, err := t.liveVersion(name, version)
		if err != nil {
			return err
		}
		if !t.canRead(ver) {
			return t.notReader(s, ver)
		}
		out, err = t.decrypt(ver)
		return err
	})
	return out, err
}

// Ciphertext returns the age file of a secret's value (version 0 is the
// current one). Any reader can decrypt it with the stock age tool and their
// identity, without this program.
func (v *Vault) Ciphertext(name string, version int) ([]byte, error) {
	var out []byte
	err := v.view(func(t *txn) error {
		_, ver, err := t.liveVersion(name, version)
		if err != nil {
			return err
		}
		out, err = t.value(ver)
		return err
	})
	return out, err
}

// mayChange fails unless the acting member may change s: one of the people
// it is shared with, a current reader, or an admin.
func (t *txn) mayChange(s *secretRecord) error {
	if t.canRead(s.Current) {
		return nil
	}
	wanted, err := t.resolve(s.Share)
	if err != nil {
		return err
	}
	if slices.Contains(wanted, t.v.wrapID) {
		return nil
	}
	me, err := t.actor()
	if err != nil {
		return err
	}
	if me == nil || me.Admin {
		return nil
	}
	return errorf(ErrNotReader, "you are not a reader of %q; only its readers and admins can change it", s.Name)
}

// Set stores a new value for a secret (changed by hand at the service): the
// old value moves into history, the secret counts as rotated now, and any
// rotate-now mark is cleared.
func (v *Vault) Set(name string, val Value) (Secret, error) {
	if err := val.validate(); err != nil {
		return Secret{}, err
	}
	var out Secret
	err := v.update(func(t *txn) error {
		s, key, next, err := t.nextVersion(name, val)
		if err != nil {
			return err
		}
		t.makeCurrent(s, next)
		t.setFlag(codeSecrets, key, flagReencrypt, false)
		if err := t.saveSecret(key, s, "secret.set", s.Name, fmt.Sprintf("version %d", next.N)); err != nil {
			return err
		}
		out, err = t.secretView(s)
		return err
	})
	return out, err
}

// checkSet finds a secret the acting member may set, and who its new value
// is encrypted to.
func (t *txn) checkSet(name string) (*secretRecord, []byte, []ID, error) {
	s, key, err := t.liveSecret(name)
	if err != nil {
		return nil, nil, nil, err
	}
	wanted, err := t.resolve(s.Share)
	if err != nil {
		return nil, nil, nil, err
	}
	if !t.v.recovery && !slices.Contains(wanted, t.v.wrapID) {
		return nil, nil, nil, errorf(ErrNotReader, "you are not a reader of %q; only its readers can set its value", s.Name)
	}
	if s.Pending != nil {
		return nil, nil, nil, errorf(ErrInvalid, "a rotation of %q is pending; confirm or abort it first", s.Name)
	}
	return s, key, wanted, nil
}

// nextVersion encrypts val as the next version of a secret the acting
// member may set, to the readers it is shared with.
func (t *txn) nextVersion(name string, val Value) (*secretRecord, []byte, *version, error) {
	s, key, wanted, err := t.checkSet(name)
	if err != nil {
		return nil, nil, nil, err
	}
	next, err := t.encrypt(val, wanted, s.latest()+1)
	if err != nil {
		return nil, nil, nil, err
	}
	return s, key, next, nil
}

// makeCurrent makes v the current value of s: the old one goes into
// history, and the secret counts as rotated now, with no rotate-now mark.
func (t *txn) makeCurrent(s *secretRecord, v *version) {
	s.History = append(s.History, *s.Current)
	s.Current = v
	s.LastRotated = t.now
	s.RotateNow = nil
	s.Updated = stamp{At: t.now, By: t.v.wrapID}
}

// latest returns the highest version number used so far.
func (s *secretRecord) latest() int {
	n := 0
	for _, v := range s.versions() {
		n = max(n, v.N)
	}
	return n
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
	var out Secret
	err := v.update(func(t *txn) error {
		s, key, err := t.liveSecret(name)
		if err != nil {
			return err
		}
		if err := t.mayChange(s); err != nil {
			return err
		}
		var fields []string
		set := func(field string, dst *string, src *string) {
			if src != nil && *src != *dst {
				*dst = *src
				fields = append(fields, field)
			}
		}
		set("username", &s.Username, e.Username)
		set("url", &s.URL, e.URL)
		set("note", &s.Note, e.Note)
		if err := checkFields(s.Username, s.URL, s.Note); err != nil {
			return err
		}
		if e.RotateEvery != nil && *e.RotateEvery != s.RotateEvery {
			if err := e.RotateEvery.Validate(); err != nil {
				return errorf(ErrInvalid, "rotation period %v: %v", *e.RotateEvery, err)
			}
			s.RotateEvery = *e.RotateEvery
			fields = append(fields, "rotate-every "+s.RotateEvery.String())
		}
		if e.Rules != nil && *e.Rules != s.Rules {
			if err := e.Rules.Validate(); err != nil {
				return errorf(ErrInvalid, "%v", err)
			}
			s.Rules = *e.Rules
			fields = append(fields, "rules ("+s.Rules.Describe()+")")
		}
		if e.LastRotated != nil && !e.LastRotated.Equal(s.LastRotated) {
			if e.LastRotated.After(t.now.Add(24 * time.Hour)) {
				return errorf(ErrInvalid, "the last-rotated date %s is in the future", e.LastRotated.Format(time.DateOnly))
			}
			s.LastRotated = e.LastRotated.UTC()
			fields = append(fields, "last-rotated "+s.LastRotated.Format(time.DateOnly))
		}
		if len(fields) > 0 {
			s.Updated = stamp{At: t.now, By: t.v.wrapID}
			if err := t.saveSecret(key, s, "secret.edit", s.Name, strings.Join(fields, ", ")); err != nil {
				return err
			}
		}
		out, err = t.secretView(s)
		return err
	})
	return out, err
}

// Remove moves a secret to the trash. It can be restored with
// [Vault.Restore] until it is purged.
func (v *Vault) Remove(name string) error {
	return v.update(func(t *txn) error {
		s, key, err := t.liveSecret(name)
		if err != nil {
			return err
		}
		if err := t.mayChange(s); err != nil {
			return err
		}
		s.Deleted = &stamp{At: t.now, By: t.v.wrapID}
		return t.saveSecret(key, s, "secret.remove", s.Name, "moved to the trash")
	})
}

// trashedSecret finds a secret in the trash that the acting member may
// change; hint ends the error when it is not in the trash.
func (t *txn) trashedSecret(name, hint string) (*secretRecord, []byte, error) {
	s, key, err := t.secret(name)
	if err != nil {
		return nil, nil, err
	}
	if s.Purged != nil {
		return nil, nil, errorf(ErrNoSecret, "no secret named %q", name)
	}
	if s.Deleted == nil {
		return nil, nil, errorf(ErrInvalid, "%q is not in the trash%s", s.Name, hint)
	}
	if err := t.mayChange(s); err != nil {
		return nil, nil, err
	}
	return s, key, nil
}

// Restore brings a secret back from the trash.
func (v *Vault) Restore(name string) error {
	return v.update(func(t *txn) error {
		s, key, err := t.trashedSecret(name, "")
		if err != nil {
			return err
		}
		s.Deleted = nil
		s.Updated = stamp{At: t.now, By: t.v.wrapID}
		return t.saveSecret(key, s, "secret.restore", s.Name, "restored from the trash")
	})
}

// Purge deletes a secret in the trash for good: every version of its value
// and its metadata. Only a tombstone with its name and ID stays, so copies
// of the vault can agree it is gone. The freed pages of the file may still
// hold old ciphertext until the file is compacted.
func (v *Vault) Purge(name string) error {
	return v.update(func(t *txn) error {
		s, key, err := t.trashedSecret(name, "; remove it first (purging is for secrets already in the trash)")
		if err != nil {
			return err
		}
		for _, ver := range s.versions() {
			if err := t.deleteValue(ver.Value); err != nil {
				return err
			}
		}
		tomb := &secretRecord{ID: s.ID, Name: s.Name, Created: s.Created, Purged: &stamp{At: t.now, By: t.v.wrapID}}
		t.setFlag(codeSecrets, key, flagReencrypt, false)
		return t.saveSecret(key, tomb, "secret.purge", s.Name, "deleted for good")
	})
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
	err := v.update(func(t *txn) error {
		s, key, err := t.liveSecret(name)
		if err != nil {
			return err
		}
		if err := t.mayChange(s); err != nil {
			return err
		}
		plus, err := t.parseShare(add)
		if err != nil {
			return err
		}
		less, err := t.parseShare(remove)
		if err != nil {
			return err
		}
		if len(plus.Members)+len(plus.Groups)+len(less.Members)+len(less.Groups) == 0 {
			return errorf(ErrInvalid, "say who: member names or @groups")
		}
		before, err := t.resolve(s.Share)
		if err != nil {
			return err
		}
		for _, id := range less.Members {
			if !slices.Contains(s.Share.Members, id) {
				return errorf(ErrNotFound, "%q is not shared with %s by name", s.Name, t.nameOf(id))
			}
		}
		for _, g := range less.Groups {
			if !slices.Contains(s.Share.Groups, g) {
				return errorf(ErrNotFound, "%q is not shared with @%s", s.Name, g)
			}
		}
		s.Share.Members = slices.DeleteFunc(s.Share.Members, func(id ID) bool { return slices.Contains(less.Members, id) })
		s.Share.Groups = slices.DeleteFunc(s.Share.Groups, func(g string) bool { return slices.Contains(less.Groups, g) })
		for _, id := range plus.Members {
			if !slices.Contains(s.Share.Members, id) {
				s.Share.Members = append(s.Share.Members, id)
			}
		}
		for _, g := range plus.Groups {
			if !slices.Contains(s.Share.Groups, g) {
				s.Share.Groups = append(s.Share.Groups, g)
			}
		}
		slices.Sort(s.Share.Groups)
		after, err := t.resolve(s.Share)
		if err != nil {
			return err
		}
		for _, id := range less.Members {
			if slices.Contains(after, id) && !slices.Contains(plus.Members, id) {
				m, _ := t.member(id)
				return errorf(ErrInvalid, "%s still reads %q through a group (%s); unshare the group too, or take %s out of it", m.Name, s.Name, "@"+strings.Join(sharedGroups(m, s), ", @"), m.Name)
			}
		}
		if len(after) == 0 {
			return errorf(ErrInvalid, "that would leave nobody able to read %q; share it with someone else first, or remove it", s.Name)
		}
		if _, err := t.reconcileAndStore([][]byte{key}, []*secretRecord{s}, "lost access"); err != nil {
			return err
		}
		s.Updated = stamp{At: t.now, By: t.v.wrapID}
		if err := t.putSecret(key, s); err != nil {
			return err
		}
		for _, id := range minus(after, before) {
			out.Gained = append(out.Gained, t.nameOf(id))
		}
		for _, id := range minus(before, after) {
			out.Lost = append(out.Lost, t.nameOf(id))
		}
		out.Waiting = t.hasFlag(codeSecrets, key, flagReencrypt)
		if len(add) > 0 {
			if err := t.appendLog("secret.share", s.Name, strings.Join(add, ", ")); err != nil {
				return err
			}
		}
		if len(remove) > 0 {
			if err := t.appendLog("secret.unshare", s.Name, strings.Join(remove, ", ")); err != nil {
				return err
			}
		}
		out.Secret, err = t.secretView(s)
		return err
	})
	return out, err
}

func sharedGroups(m *memberRecord, s *secretRecord) []string {
	var out []string
	for _, g := range s.Share.Groups {
		if slices.Contains(m.Groups, g) {
			out = append(out, g)
		}
	}
	return out
}

// Version describes one stored value of a secret, never the value itself.
type Version struct {
	N       int       `json:"version"`
	Created time.Time `json:"created"`
	By      string    `json:"by"`
	State   string    `json:"state"` // "current", "pending" or "previous"
	Readers []string  `json:"readers"`
	CanRead bool      `json:"can_read"`
}

// History returns every stored version of a secret, oldest first.
func (v *Vault) History(name string) ([]Version, error) {
	var out []Version
	err := v.view(func(t *txn) error {
		s, _, err := t.secret(name)
		if err != nil {
			return err
		}
		if s.Purged != nil {
			return errorf(ErrNoSecret, "no secret named %q", name)
		}
		for _, ver := range s.versions() {
			state := "previous"
			switch {
			case ver == s.Current:
				state = "current"
			case ver == s.Pending:
				state = "pending"
			case ver.Aborted != nil:
				state = "aborted"
			}
			readers := make([]string, 0, len(ver.Readers))
			for _, id := range ver.Readers {
				readers = append(readers, t.nameOf(id))
			}
			slices.Sort(readers)
			out = append(out, Version{N: ver.N, Created: ver.Created.At, By: t.nameOf(ver.Created.By), State: state, Readers: readers, CanRead: t.canRead(ver)})
		}
		return nil
	})
	return out, err
}
