package vault

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Member is a member of the vault as the program shows it.
type Member struct {
	Name       string    `json:"name"`
	PublicKey  string    `json:"public_key"`
	Groups     []string  `json:"groups"`
	Admin      bool      `json:"admin"`
	Added      time.Time `json:"added"`
	AddedBy    string    `json:"added_by"`
	LastActive time.Time `json:"last_active"`
	// You is true for the member whose key opened the vault.
	You bool `json:"you"`
}

func (t *txn) memberView(m *memberRecord) Member {
	groups := m.Groups
	if groups == nil {
		groups = []string{}
	}
	return Member{
		Name: m.Name, PublicKey: m.Key, Groups: groups, Admin: m.Admin,
		Added: m.Added.At, AddedBy: t.nameOf(m.Added.By), LastActive: m.LastActive,
		You: m.ID == t.v.wrapID && !t.v.recovery,
	}
}

// Me returns the member whose key opened the vault. With a recovery key it
// returns a member named "recovery" that acts as an admin.
func (v *Vault) Me() (Member, error) {
	var out Member
	err := v.view(func(t *txn) error {
		me, err := t.actor()
		if err != nil {
			return err
		}
		if me == nil {
			out = Member{Name: "recovery", Admin: true, You: true}
			return nil
		}
		out = t.memberView(me)
		return nil
	})
	return out, err
}

// Members returns the active members, sorted by name.
func (v *Vault) Members() ([]Member, error) {
	var out []Member
	err := v.view(func(t *txn) error {
		all, err := t.allMembers()
		if err != nil {
			return err
		}
		for _, m := range all {
			if m.Removed == nil {
				out = append(out, t.memberView(m))
			}
		}
		return nil
	})
	sortByName(out, func(m Member) string { return m.Name })
	return out, err
}

// Groups returns every group some active member is in, sorted.
func (v *Vault) Groups() ([]string, error) {
	var out []string
	err := v.view(func(t *txn) error {
		var err error
		out, err = t.groups()
		return err
	})
	return out, err
}

func (t *txn) groups() ([]string, error) {
	all, err := t.allMembers()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range all {
		if m.Removed == nil {
			out = append(out, m.Groups...)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// NewMember describes a member to add.
type NewMember struct {
	Name      string
	PublicKey string
	Groups    []string
	Admin     bool
}

// AddMember adds a member and gives them the vault key. Secrets already
// shared with their groups are re-encrypted to include them where the acting
// member can read them, and otherwise left for the next reader. Only admins
// may add members.
func (v *Vault) AddMember(nm NewMember) (Member, error) {
	name, err := CleanMemberName(nm.Name)
	if err != nil {
		return Member{}, err
	}
	key, kind, err := ParsePublicKey(nm.PublicKey)
	if err != nil {
		return Member{}, err
	}
	groups, err := cleanGroups(nm.Groups)
	if err != nil {
		return Member{}, err
	}
	var out Member
	err = v.update(func(t *txn) error {
		if err := t.requireAdmin("add members"); err != nil {
			return err
		}
		s, err := t.settings()
		if err != nil {
			return err
		}
		if kind != s.Kind {
			return errorf(ErrWrongKind, "that is a %s key but this is a %s vault; ask %s to run 'vault keygen%s' and send the new public key", kind, s.Kind, name, map[bool]string{true: " --pq", false: ""}[s.Kind == PostQuantum])
		}
		all, err := t.allMembers()
		if err != nil {
			return err
		}
		for _, m := range all {
			if m.Removed == nil && foldName(m.Name) == foldName(name) {
				return errorf(ErrExists, "there is already a member named %q; choose another name", m.Name)
			}
		}
		for _, m := range all {
			if m.Removed == nil && m.Key == key {
				return errorf(ErrExists, "that key already belongs to member %q", m.Name)
			}
		}
		for _, r := range s.Recovery {
			if r.Key == key {
				return errorf(ErrExists, "that key is the vault's recovery key; members need their own")
			}
		}
		id, err := newID()
		if err != nil {
			return err
		}
		var num uint16
		for _, m := range all {
			num = max(num, m.Num)
		}
		if num == math.MaxUint16 {
			return errorf(ErrInvalid, "this vault has had too many members; start a new one")
		}
		m := &memberRecord{ID: id, Num: num + 1, Name: name, Key: key, Groups: groups, Admin: nm.Admin,
			Added: stamp{At: t.now, By: t.v.wrapID}}
		if err := t.putMember(m); err != nil {
			return err
		}
		r, err := recipient(key)
		if err != nil {
			return err
		}
		wrap, err := t.keys.wrapFor(r)
		if err != nil {
			return err
		}
		if err := t.bucket(bucketKeys).Put(id[:], wrap); err != nil {
			return err
		}
		if _, err := t.reconcileGroups(groups, ""); err != nil {
			return err
		}
		detail := describeMember(groups, nm.Admin)
		if err := t.appendLog("member.add", name, detail); err != nil {
			return err
		}
		out = t.memberView(m)
		return nil
	})
	return out, err
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

// reconcileGroups re-encrypts (or flags) every live secret shared with any
// of the groups and marks those where someone lost access rotate-now with
// the given wording. It returns how many secrets changed readers.
func (t *txn) reconcileGroups(groups []string, lostHow string) (int, error) {
	if len(groups) == 0 {
		return 0, nil
	}
	secrets, keys, err := t.allSecrets()
	if err != nil {
		return 0, err
	}
	var ks [][]byte
	var ss []*secretRecord
	for i, s := range secrets {
		if s.Purged == nil && hasAnyGroup(s.Share.Groups, groups) {
			ks, ss = append(ks, keys[i]), append(ss, s)
		}
	}
	return t.reconcileAndStore(ks, ss, lostHow)
}

// reconcileAndStore reconciles secrets, marks those where someone lost
// access rotate-now (when lostHow says how, e.g. "lost access"), and stores
// the ones that changed. It returns how many did.
func (t *txn) reconcileAndStore(keys [][]byte, secrets []*secretRecord, lostHow string) (int, error) {
	before := make([]ID, len(secrets))
	flagged := make([]bool, len(secrets))
	for i, s := range secrets {
		if s.Current != nil {
			before[i] = s.Current.Value
		}
		flagged[i] = t.hasFlag(codeSecrets, keys[i], flagReencrypt)
	}
	lost, err := t.reconcileAll(keys, secrets, nil)
	if err != nil {
		return 0, err
	}
	changed := 0
	for i, s := range secrets {
		if len(lost[i]) > 0 && lostHow != "" {
			t.markRotateNow(s, t.lostReason(lost[i], lostHow))
		}
		if len(lost[i]) == 0 && s.Current != nil && before[i] == s.Current.Value && flagged[i] == t.hasFlag(codeSecrets, keys[i], flagReencrypt) {
			continue
		}
		changed++
		s.Updated = stamp{At: t.now, By: t.v.wrapID}
		if err := t.putSecret(keys[i], s); err != nil {
			return 0, err
		}
	}
	return changed, nil
}

// MemberEdit is a change to a member. Nil fields are left alone.
type MemberEdit struct {
	AddGroups    []string
	RemoveGroups []string
	Admin        *bool
}

// EditMember changes a member's groups or admin flag. Secrets shared with the
// groups involved are re-encrypted for the new readers; where the member
// loses access, the secret is marked rotate-now. Only admins may edit
// members, and the last admin cannot stop being one.
func (v *Vault) EditMember(name string, e MemberEdit) (Member, error) {
	add, err := cleanGroups(e.AddGroups)
	if err != nil {
		return Member{}, err
	}
	rm, err := cleanGroups(e.RemoveGroups)
	if err != nil {
		return Member{}, err
	}
	var out Member
	err = v.update(func(t *txn) error {
		if err := t.requireAdmin("change members"); err != nil {
			return err
		}
		m, err := t.memberByName(name)
		if err != nil {
			return err
		}
		var changes []string
		for _, g := range rm {
			if !slices.Contains(m.Groups, g) {
				return errorf(ErrNotFound, "%s is not in group %s", m.Name, g)
			}
		}
		m.Groups = slices.DeleteFunc(m.Groups, func(g string) bool { return slices.Contains(rm, g) })
		for _, g := range add {
			if !slices.Contains(m.Groups, g) {
				m.Groups = append(m.Groups, g)
				changes = append(changes, "+"+g)
			}
		}
		for _, g := range rm {
			changes = append(changes, "-"+g)
		}
		slices.Sort(m.Groups)
		if e.Admin != nil && *e.Admin != m.Admin {
			if !*e.Admin {
				if err := t.keepAnAdmin(m.ID); err != nil {
					return err
				}
			}
			m.Admin = *e.Admin
			changes = append(changes, fmt.Sprintf("admin=%t", m.Admin))
		}
		if len(changes) == 0 {
			out = t.memberView(m)
			return nil
		}
		if err := t.putMember(m); err != nil {
			return err
		}
		if err := t.keepReaders(rm); err != nil {
			return err
		}
		if _, err := t.reconcileGroups(append(slices.Clone(add), rm...), "lost access"); err != nil {
			return err
		}
		if err := t.appendLog("member.edit", m.Name, strings.Join(changes, " ")); err != nil {
			return err
		}
		out = t.memberView(m)
		return nil
	})
	return out, err
}

// keepReaders fails if a live secret shared with any of the groups would
// be left with nobody to read it.
func (t *txn) keepReaders(groups []string) error {
	if len(groups) == 0 {
		return nil
	}
	secrets, _, err := t.allSecrets()
	if err != nil {
		return err
	}
	for _, s := range secrets {
		if s.Purged != nil || !hasAnyGroup(s.Share.Groups, groups) {
			continue
		}
		wanted, err := t.resolve(s.Share)
		if err != nil {
			return err
		}
		if len(wanted) == 0 {
			return errorf(ErrInvalid, "that would leave nobody able to read %q; share it with someone else first", s.Name)
		}
	}
	return nil
}

// keepAnAdmin fails if the member with id is the only active admin.
func (t *txn) keepAnAdmin(id ID) error {
	all, err := t.allMembers()
	if err != nil {
		return err
	}
	for _, m := range all {
		if m.Removed == nil && m.Admin && m.ID != id {
			return nil
		}
	}
	return errorf(ErrLastAdmin, "%s is the last admin; make another member an admin first", t.nameOf(id))
}

// Removal reports what removing a member did.
type Removal struct {
	// Reencrypted are the secrets re-encrypted without the member.
	Reencrypted []string `json:"reencrypted"`
	// Waiting are the secrets the acting member cannot read: they are
	// re-encrypted by the next of their readers who opens the vault.
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
// member can read (the others are flagged for their next reader); and marks
// every secret they could read rotate-now with the reason. It refuses to
// remove the last admin, or a member who is the only reader of a secret
// unless force is set (the secret would then be readable by nobody but a
// recovery key). progress, if not nil, is called as secrets are done.
func (v *Vault) RemoveMember(name string, force bool, progress func(done, total int)) (Removal, error) {
	var out Removal
	err := v.update(func(t *txn) error {
		out = Removal{}
		if err := t.requireAdmin("remove members"); err != nil {
			return err
		}
		m, err := t.memberByName(name)
		if err != nil {
			return err
		}
		if m.Admin {
			if err := t.keepAnAdmin(m.ID); err != nil {
				return err
			}
		}
		secrets, keys, err := t.allSecrets()
		if err != nil {
			return err
		}
		m.Removed = &stamp{At: t.now, By: t.v.wrapID}
		if err := t.putMember(m); err != nil {
			return err
		}
		reason := fmt.Sprintf("%s was removed on %s", m.Name, t.now.Format("2006-01-02"))
		var affected []int
		for i, s := range secrets {
			if s.Purged != nil {
				continue
			}
			couldRead := slices.Contains(s.Current.Readers, m.ID) || (s.Pending != nil && slices.Contains(s.Pending.Readers, m.ID))
			named := slices.Contains(s.Share.Members, m.ID)
			if !couldRead && !named {
				continue
			}
			s.Share.Members = slices.DeleteFunc(s.Share.Members, func(id ID) bool { return id == m.ID })
			s.Updated = stamp{At: t.now, By: t.v.wrapID}
			if couldRead {
				t.markRotateNow(s, reason)
				out.RotateNow = append(out.RotateNow, s.Name)
			}
			wanted, err := t.resolve(s.Share)
			if err != nil {
				return err
			}
			if len(wanted) == 0 {
				out.Orphaned = append(out.Orphaned, s.Name)
				continue
			}
			affected = append(affected, i)
		}
		if len(out.Orphaned) > 0 && !force {
			return errorf(ErrInvalid, "%s is the only reader of %s; share %s with someone else first, or remove with --force and keep them readable only by a recovery key", m.Name, quoteList(out.Orphaned), map[bool]string{true: "it", false: "them"}[len(out.Orphaned) == 1])
		}
		affKeys, affSecrets := make([][]byte, len(affected)), make([]*secretRecord, len(affected))
		for n, i := range affected {
			affKeys[n], affSecrets[n] = keys[i], secrets[i]
		}
		if _, err := t.reconcileAll(affKeys, affSecrets, progress); err != nil {
			return err
		}
		for n, s := range affSecrets {
			if t.hasFlag(codeSecrets, affKeys[n], flagReencrypt) {
				out.Waiting = append(out.Waiting, s.Name)
			} else {
				out.Reencrypted = append(out.Reencrypted, s.Name)
			}
		}
		if err := t.rekey(secrets, keys); err != nil {
			return err
		}
		return t.appendLog("member.remove", m.Name, fmt.Sprintf("%d secrets to rotate", len(out.RotateNow)))
	})
	if err != nil {
		return Removal{}, err
	}
	for _, l := range [][]string{out.Reencrypted, out.Waiting, out.RotateNow, out.Orphaned} {
		sortNames(l)
	}
	return out, nil
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}
