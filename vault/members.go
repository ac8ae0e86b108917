package vault

import (
	"crypto/rand"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mutual-aid-vault/vault/vault/internal/fold"
	"github.com/mutual-aid-vault/vault/vault/internal/naming"
)

// Member is a member of the vault as the program shows it.
type Member struct {
	Name string `json:"name"`
	// PublicKey is the member's key line (age key and signing key);
	// Fingerprint covers both, to read aloud.
	PublicKey   string    `json:"public_key"`
	Fingerprint string    `json:"fingerprint"`
	Groups      []string  `json:"groups"`
	Admin       bool      `json:"admin"`
	Added       time.Time `json:"added"`
	AddedBy     string    `json:"added_by"`
	LastActive  time.Time `json:"last_active"`
	// You is true for the member whose key opened the vault.
	You bool `json:"you"`
	// KeyRequest is the member's pending request for a new key, if any:
	// an admin approves it with 'vault member rekey NAME'.
	KeyRequest *KeyRequest `json:"key_request,omitempty"`
	// KeyReplaced is when the member's key was last replaced (zero:
	// never).
	KeyReplaced time.Time `json:"key_replaced,omitzero"`
}

// RecoveryKey is an organisation key kept offline that every secret is
// also encrypted to.
type RecoveryKey struct {
	Name        string    `json:"name"`
	PublicKey   string    `json:"public_key"`
	Fingerprint string    `json:"fingerprint"`
	CanSign     bool      `json:"can_sign"`
	Added       time.Time `json:"added"`
	AddedBy     string    `json:"added_by"`
}

func (r *reader) nameOf(id fold.MemberID) string {
	if m := r.auth.Member(id); m != nil {
		return m.Name
	}
	return "unknown member"
}

func kindOf(age string) Kind {
	if strings.HasPrefix(age, "age1pq1") {
		return PostQuantum
	}
	return Classic
}

func (r *reader) memberView(m *fold.Member) Member {
	groups := m.Groups
	if groups == nil {
		groups = []string{}
	}
	k := MemberKey{Age: m.Age, Sign: m.Sign, Kind: kindOf(m.Age)}
	out := Member{
		Name: m.Name, PublicKey: k.String(), Fingerprint: k.Fingerprint(), Groups: groups, Admin: m.Admin,
		Added: m.Added.At, AddedBy: r.nameOf(m.Added.By), LastActive: m.LastActive, You: m.ID == r.v.me && !m.Recovery,
		KeyRequest: r.keyRequest(m),
	}
	if m.Rekeyed != nil {
		out.KeyReplaced = m.Rekeyed.At
	}
	return out
}

// me returns the acting member (or recovery key).
func (r *reader) me() *fold.Member { return r.auth.Member(r.v.me) }

// isAdmin reports whether the acting member may make admin changes.
func (r *reader) isAdmin() bool {
	m := r.me()
	return m != nil && m.Active() && (m.Admin || m.Recovery)
}

func (r *reader) requireAdmin(what string) error {
	if !r.isAdmin() {
		return errorf(ErrNotAdmin, "only an admin can %s; ask one of the vault's admins", what)
	}
	return nil
}

// memberByName returns the active member (not a recovery key) with that
// name, ignoring case.
func (r *reader) memberByName(name string) (*fold.Member, error) {
	if m := r.auth.ByName(name); m != nil {
		return m, nil
	}
	var names []string
	for _, m := range r.auth.Members {
		if m.Active() && !m.Recovery {
			names = append(names, m.Name)
		}
	}
	return nil, errorf(ErrNoMember, "no member named %q%s", name, didYouMean(naming.Similar(name, names, 3)))
}

// Me returns the member whose key opened the vault. With a recovery key it
// returns a member named after the key that acts as an admin.
func (v *Vault) Me() (Member, error) {
	var out Member
	err := v.view(func(r *reader) error {
		m := r.me()
		if m == nil {
			return errorf(ErrNotMember, "you are not a member of this vault")
		}
		out = r.memberView(m)
		if m.Recovery {
			out.Admin, out.You = true, true
		}
		return nil
	})
	return out, err
}

// Members returns the active members (not recovery keys), sorted by name.
func (v *Vault) Members() ([]Member, error) {
	var out []Member
	err := v.view(func(r *reader) error {
		for _, m := range r.auth.Members {
			if m.Active() && !m.Recovery {
				out = append(out, r.memberView(m))
			}
		}
		return nil
	})
	sortByName(out, func(m Member) string { return m.Name })
	return out, err
}

// RecoveryKeys returns the vault's recovery keys.
func (v *Vault) RecoveryKeys() ([]RecoveryKey, error) {
	var out []RecoveryKey
	err := v.view(func(r *reader) error {
		for _, m := range r.auth.Recovery() {
			k := MemberKey{Age: m.Age, Sign: m.Sign, Kind: kindOf(m.Age)}
			out = append(out, RecoveryKey{Name: m.Name, PublicKey: k.String(), Fingerprint: k.Fingerprint(), CanSign: len(m.Sign) > 0,
				Added: m.Added.At, AddedBy: r.nameOf(m.Added.By)})
		}
		return nil
	})
	return out, err
}

// Groups returns every group some active member is in, sorted.
func (v *Vault) Groups() ([]string, error) {
	var out []string
	err := v.view(func(r *reader) error {
		out = r.auth.Groups()
		return nil
	})
	return out, err
}

// NewMember describes a member to add.
type NewMember struct {
	Name string
	// PublicKey is the line the member's 'vault pubkey' printed.
	PublicKey string
	Groups    []string
	Admin     bool
}

// AddMember adds a member and gives them every vault key. Secrets already
// shared with their groups are re-encrypted to include them where the
// acting member can read them, and otherwise left for the next reader.
// Only admins may add members.
func (v *Vault) AddMember(nm NewMember) (Member, error) {
	name, err := CleanMemberName(nm.Name)
	if err != nil {
		return Member{}, err
	}
	key, err := ParseMemberKey(nm.PublicKey)
	if err != nil {
		return Member{}, err
	}
	groups, err := cleanGroups(nm.Groups)
	if err != nil {
		return Member{}, err
	}
	var id fold.MemberID
	if _, err := rand.Read(id[:]); err != nil {
		return Member{}, err
	}
	admin := nm.Admin
	_, err = v.update(func(r *reader) ([]change, error) {
		if err := r.requireAdmin("add members"); err != nil {
			return nil, err
		}
		if vk := kindOf(r.auth.Members[0].Age); key.Kind != vk {
			return nil, errorf(ErrWrongKind, "that is a %s key but this is a %s vault; ask %s to run 'vault keygen%s' and send the new public key", key.Kind, vk, name, map[bool]string{true: " --pq", false: ""}[vk == PostQuantum])
		}
		if m := r.auth.ByName(name); m != nil {
			return nil, errorf(ErrExists, "there is already a member named %q; choose another name", m.Name)
		}
		if err := r.memberLookAlikes().check(name); err != nil {
			return nil, err
		}
		if err := r.checkNewGroups(groups); err != nil {
			return nil, err
		}
		if m := r.auth.ByKey(key.Age, key.Sign); m != nil {
			if m.Recovery {
				return nil, errorf(ErrExists, "that key is the vault's recovery key; members need their own")
			}
			return nil, errorf(ErrExists, "that key already belongs to member %q", m.Name)
		}
		if err := r.checkJoin(fold.MemberID{}, name, groups); err != nil {
			return nil, err
		}
		grants, blobs, err := v.grantsFor(r, []*fold.Member{{ID: id, Age: key.Age}}, nil)
		if err != nil {
			return nil, err
		}
		return []change{{kind: fold.KindMemberAdd, grants: blobs, payload: fold.MemberAdd{
			Member: fold.NewMember{ID: id, Name: name, Age: key.Age, Sign: key.Sign, Groups: groups, Admin: admin},
			Grant:  grants[0]}}}, nil
	})
	if err != nil {
		return Member{}, err
	}
	var out Member
	err = v.view(func(r *reader) error {
		m := r.auth.Member(id)
		if m == nil {
			return errorf(ErrRejected, "the member was not added")
		}
		out = r.memberView(m)
		return nil
	})
	return out, err
}

func cleanGroups(in []string) ([]string, error) {
	var out []string
	for _, g := range in {
		for _, part := range strings.Split(g, ",") {
			if strings.TrimSpace(part) == "" {
				continue
			}
			c, err := CleanGroupName(strings.TrimSpace(part))
			if err != nil {
				return nil, err
			}
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// MemberEdit is a change to a member. Nil fields are left alone.
type MemberEdit struct {
	AddGroups    []string
	RemoveGroups []string
	Admin        *bool
}

// EditMember changes a member's groups or admin flag. Secrets shared with
// the groups involved are re-encrypted for the new readers; where the
// member loses access, the secret is marked rotate-now. Only admins may
// edit members, and the last admin cannot stop being one.
func (v *Vault) EditMember(name string, e MemberEdit) (Member, error) {
	add, err := cleanGroups(e.AddGroups)
	if err != nil {
		return Member{}, err
	}
	rm, err := cleanGroups(e.RemoveGroups)
	if err != nil {
		return Member{}, err
	}
	var id fold.MemberID
	_, err = v.update(func(r *reader) ([]change, error) {
		if err := r.requireAdmin("change members"); err != nil {
			return nil, err
		}
		m, err := r.memberByName(name)
		if err != nil {
			return nil, err
		}
		id = m.ID
		for _, g := range rm {
			if !slices.Contains(m.Groups, g) {
				return nil, errorf(ErrNotFound, "%s is not in group %s", m.Name, g)
			}
		}
		p := fold.MemberEdit{Member: m.ID, RemoveGroups: rm}
		for _, g := range add {
			if !slices.Contains(m.Groups, g) {
				p.AddGroups = append(p.AddGroups, g)
			}
		}
		if err := r.checkNewGroups(p.AddGroups); err != nil {
			return nil, err
		}
		if e.Admin != nil && *e.Admin != m.Admin {
			if !*e.Admin && r.auth.Admins() <= 1 {
				return nil, errorf(ErrLastAdmin, "%s is the last admin; make another member an admin first", m.Name)
			}
			p.Admin = e.Admin
		}
		if len(p.AddGroups)+len(p.RemoveGroups) == 0 && p.Admin == nil {
			return nil, nil
		}
		if err := r.keepReaders(m, rm); err != nil {
			return nil, err
		}
		if err := r.checkJoin(m.ID, m.Name, p.AddGroups); err != nil {
			return nil, err
		}
		return []change{{kind: fold.KindMemberEdit, payload: p}}, nil
	})
	if err != nil {
		return Member{}, err
	}
	var out Member
	err = v.view(func(r *reader) error {
		out = r.memberView(r.auth.Member(id))
		return nil
	})
	return out, err
}

// keepReaders fails if taking m out of groups would leave a live secret
// with nobody to read it.
func (r *reader) keepReaders(m *fold.Member, groups []string) error {
	if len(groups) == 0 {
		return nil
	}
	a := r.auth.Clone()
	mm := a.Member(m.ID)
	mm.Groups = slices.DeleteFunc(mm.Groups, func(g string) bool { return slices.Contains(groups, g) })
	return r.ix.Each(func(s *fold.Secret) error {
		if !s.Live() || !hasAny(s.Share.Groups, groups) {
			return nil
		}
		if len(a.Resolve(s.Share)) == 0 {
			return errorf(ErrInvalid, "that would leave nobody able to read %q; share it with someone else first", s.Name)
		}
		return nil
	})
}

func hasAny(have, want []string) bool {
	for _, g := range want {
		if slices.Contains(have, g) {
			return true
		}
	}
	return false
}

// Removal reports what removing a member did.
type Removal struct {
	// Reencrypted are the secrets re-encrypted without the member.
	Reencrypted []string `json:"reencrypted"`
	// Waiting are the secrets the acting member cannot read: they are
	// re-encrypted by the next of their readers who makes a change.
	Waiting []string `json:"waiting"`
	// RotateNow are all the secrets the member could read: their real
	// passwords must change, since the member may have seen them.
	RotateNow []string `json:"rotate_now"`
	// Orphaned are secrets nobody but the member (and a recovery key) could
	// read; they stay as they are. Only with force.
	Orphaned []string `json:"orphaned"`
}

// RemoveMember removes a member. It issues a new vault key (to every other
// member), so nothing written from now on is readable with the old one;
// re-encrypts without them every secret they could read and the acting
// member can read (the others wait for their next reader); and marks
// every secret they could read rotate-now with the reason. It refuses to
// remove the last admin, or a member who is the only reader of a secret
// unless force is set (the secret would then be readable by nobody but a
// recovery key). progress, if not nil, is called as secrets are done.
func (v *Vault) RemoveMember(name string, force bool, progress func(done, total int)) (Removal, error) {
	var out Removal
	v.progress = progress
	defer func() { v.progress = nil }()
	_, err := v.update(func(r *reader) ([]change, error) {
		out = Removal{}
		if err := r.requireAdmin("remove members"); err != nil {
			return nil, err
		}
		m, err := r.memberByName(name)
		if err != nil {
			return nil, err
		}
		if m.Admin && r.auth.Admins() <= 1 {
			return nil, errorf(ErrLastAdmin, "%s is the last admin; make another member an admin first", m.Name)
		}
		err = r.ix.Each(func(s *fold.Secret) error {
			if s.Purged != nil {
				return nil
			}
			could := false
			for _, ver := range []*fold.Version{s.CurrentVersion(), s.PendingVersion()} {
				could = could || (ver != nil && slices.Contains(ver.Readers, m.ID))
			}
			if could {
				out.RotateNow = append(out.RotateNow, s.Name)
			}
			if slices.Contains(s.Wanted, m.ID) && len(s.Wanted) == 1 {
				out.Orphaned = append(out.Orphaned, s.Name)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if len(out.Orphaned) > 0 && !force {
			return nil, errorf(ErrInvalid, "%s is the only reader of %s; share %s with someone else first, or remove with --force and keep them readable only by a recovery key", m.Name, quoteList(out.Orphaned), map[bool]string{true: "it", false: "them"}[len(out.Orphaned) == 1])
		}
		e, issues, grants, blobs, err := v.newEpoch(r, m.ID)
		if err != nil {
			return nil, err
		}
		return []change{{kind: fold.KindMemberRemove, payload: fold.MemberRemove{Member: m.ID, Epoch: e, Grants: grants}, grants: blobs, issues: issues}}, nil
	})
	if err != nil {
		return Removal{}, err
	}
	err = v.view(func(r *reader) error {
		for _, n := range out.RotateNow {
			id, ok, err := r.ix.ByName(foldName(n))
			if err != nil || !ok {
				continue
			}
			s, err := r.ix.Secret(id)
			if err != nil || s == nil {
				continue
			}
			switch {
			case slices.Contains(out.Orphaned, s.Name):
			case s.NeedsReencrypt(r.auth):
				out.Waiting = append(out.Waiting, s.Name)
			default:
				out.Reencrypted = append(out.Reencrypted, s.Name)
			}
		}
		return nil
	})
	for _, l := range [][]string{out.Reencrypted, out.Waiting, out.RotateNow, out.Orphaned} {
		sortNames(l)
	}
	return out, err
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}
