package fold

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"slices"
	"time"

	"github.com/mutual-aid-vault/vault/rotation"
	"github.com/mutual-aid-vault/vault/vault/internal/naming"
	"github.com/mutual-aid-vault/vault/vault/internal/oplog"
)

// Short names for the log's identifiers.
type (
	// OpID names an operation.
	OpID = oplog.ID
	// MemberID names a member or a recovery key.
	MemberID = oplog.Member
	// EpochID names a vault key.
	EpochID = oplog.EpochID
	// Hash is the SHA-256 of a blob.
	Hash = oplog.Hash
)

// SecretID is a secret's stable random identifier, chosen when it is
// added; names may change (a clash on merge renames one), IDs never.
type SecretID [16]byte

// MarshalText encodes the ID in hex.
func (s SecretID) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText decodes a hex ID.
func (s *SecretID) UnmarshalText(b []byte) error {
	if hex.DecodedLen(len(b)) != len(s) {
		return errors.New("bad id length")
	}
	_, err := hex.Decode(s[:], b)
	return err
}

// String returns the ID in hex.
func (s SecretID) String() string { return hex.EncodeToString(s[:]) }

// Stamp records who did something, when, and in which operation.
type Stamp struct {
	At time.Time `json:"at"`
	By MemberID  `json:"by"`
	Op OpID      `json:"op"`
}

// Auth is the part of the state that says who may do what: the vault's
// settings, its members and recovery keys, and its keys. It is small, so it
// is copied freely; authority is always checked against a copy of it as it
// stood when an operation was made.
type Auth struct {
	Vault   OpID   `json:"vault"`
	Name    string `json:"name"`
	Kind    string `json:"kind"`
	Created Stamp  `json:"created"`
	// Members are every member and recovery key ever added, removed ones
	// included, sorted by ID.
	Members []*Member `json:"members"`
	// Epoch is the current vault key, which new operations are sealed
	// under; Epochs are all of them, in the order issued.
	Epoch  EpochID `json:"epoch"`
	Epochs []Epoch `json:"epochs"`
	// Grants are every key grant made to a member's current key: an age
	// file of vault keys encrypted to one member.
	Grants []Grant `json:"grants"`
	// Retired are the grants made to keys their members have since
	// replaced (MemberRekey): those made before the replacement, and those
	// made by a change that had not seen it. They open for whoever holds
	// the old key, so they say what an old key still reads; they count for
	// no member.
	Retired  []Grant `json:"retired,omitempty"`
	Reviewed *Stamp  `json:"reviewed,omitempty"`
	// Folded counts the operations folded so far, valid or not: the
	// position the next one takes.
	Folded  int64  `json:"folded"`
	NextNum uint16 `json:"next_num"`
}

// Member is a person in the group, or a recovery key.
type Member struct {
	ID MemberID `json:"id"`
	// Num is a small number, unique in the vault and never reused, that
	// stands for the member in compact indexes.
	Num  uint16 `json:"num"`
	Name string `json:"name"`
	// Age is the member's age recipient (public key).
	Age string `json:"age"`
	// Sign is the member's Ed25519 public key; empty for a recovery key
	// that was given without one (it can read, not change).
	Sign   []byte   `json:"sign,omitempty"`
	Groups []string `json:"groups,omitempty"`
	Admin  bool     `json:"admin,omitempty"`
	// AdminSince is the position of the operation that last made this
	// member an admin: the lower, the more senior. It breaks ties when
	// admins remove each other at once.
	AdminSince int64 `json:"admin_since,omitempty"`
	// Recovery marks a recovery key: every value is encrypted to it, it
	// holds every vault key, and (with a signing key) it acts as an admin.
	Recovery   bool      `json:"recovery,omitempty"`
	Added      Stamp     `json:"added"`
	Removed    *Stamp    `json:"removed,omitempty"`
	LastActive time.Time `json:"last_active"`
	// Rekeyed is the change that last replaced the member's keys; nil if
	// they still have the keys they were added with.
	Rekeyed *Stamp `json:"rekeyed,omitempty"`
	// Request is the member's pending request for new keys, if any.
	Request *KeyRequest `json:"request,omitempty"`
}

// KeyRequest is a member's pending request, signed with their key of the
// time, that an admin replace their keys with these.
type KeyRequest struct {
	Age  string `json:"age"`
	Sign []byte `json:"sign"`
	Made Stamp  `json:"made"`
}

// Active reports whether the member has not been removed.
func (m *Member) Active() bool { return m.Removed == nil }

// Epoch is one vault key.
type Epoch struct {
	ID      EpochID `json:"id"`
	Created Stamp   `json:"created"`
}

// Grant is an age file of vault keys encrypted to one member.
type Grant struct {
	To     MemberID  `json:"to"`
	Blob   Hash      `json:"blob"`
	Epochs []EpochID `json:"epochs"`
	Op     OpID      `json:"op,omitempty"`
}

// Clone returns a deep copy.
func (a *Auth) Clone() *Auth {
	c := *a
	c.Members = make([]*Member, len(a.Members))
	for i, m := range a.Members {
		mm := *m
		mm.Groups = slices.Clone(m.Groups)
		if m.Rekeyed != nil {
			r := *m.Rekeyed
			mm.Rekeyed = &r
		}
		if m.Request != nil {
			r := *m.Request
			r.Sign = slices.Clone(m.Request.Sign)
			mm.Request = &r
		}
		c.Members[i] = &mm
	}
	c.Epochs = slices.Clone(a.Epochs)
	c.Grants = slices.Clone(a.Grants)
	c.Retired = slices.Clone(a.Retired)
	if a.Reviewed != nil {
		r := *a.Reviewed
		c.Reviewed = &r
	}
	return &c
}

// Member returns the member (or recovery key) with id, removed or not.
func (a *Auth) Member(id MemberID) *Member {
	i, ok := slices.BinarySearchFunc(a.Members, id, func(m *Member, id MemberID) int { return bytes.Compare(m.ID[:], id[:]) })
	if !ok {
		return nil
	}
	return a.Members[i]
}

func (a *Auth) addMember(m *Member) {
	i, _ := slices.BinarySearchFunc(a.Members, m.ID, func(x *Member, id MemberID) int { return bytes.Compare(x.ID[:], id[:]) })
	a.Members = slices.Insert(a.Members, i, m)
}

// ByName returns the active member (not recovery key) with that name,
// ignoring case.
func (a *Auth) ByName(name string) *Member {
	want := naming.Fold(name)
	for _, m := range a.Members {
		if m.Active() && !m.Recovery && naming.Fold(m.Name) == want {
			return m
		}
	}
	return nil
}

// ByKey returns the active member or recovery key with that age recipient
// or signing key.
func (a *Auth) ByKey(age string, sign ed25519.PublicKey) *Member {
	for _, m := range a.Members {
		if m.Active() && (m.Age == age || (len(sign) > 0 && bytes.Equal(m.Sign, sign))) {
			return m
		}
	}
	return nil
}

// Recovery returns the active recovery keys, in ID order.
func (a *Auth) Recovery() []*Member {
	var out []*Member
	for _, m := range a.Members {
		if m.Recovery && m.Active() {
			out = append(out, m)
		}
	}
	return out
}

// Admins counts the active admins (people, not recovery keys).
func (a *Auth) Admins() int {
	n := 0
	for _, m := range a.Members {
		if m.Active() && m.Admin && !m.Recovery {
			n++
		}
	}
	return n
}

// Groups returns every group some active member is in, sorted.
func (a *Auth) Groups() []string {
	var out []string
	for _, m := range a.Members {
		if m.Active() {
			out = append(out, m.Groups...)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// mayAdminister reports whether m can make admin changes: an active admin,
// or a recovery key that can sign.
func mayAdminister(m *Member) bool {
	return m != nil && m.Active() && (m.Admin || (m.Recovery && len(m.Sign) > 0))
}

// HasEpoch reports whether member id was granted the key of epoch e.
func (a *Auth) HasEpoch(id MemberID, e EpochID) bool {
	for _, g := range a.Grants {
		if g.To == id && slices.Contains(g.Epochs, e) {
			return true
		}
	}
	return false
}

// RetiredHolders returns the members whose replaced keys were granted the
// key of epoch e.
func (a *Auth) RetiredHolders(e EpochID) []MemberID {
	var out []MemberID
	for _, g := range a.Retired {
		if slices.Contains(g.Epochs, e) && !slices.Contains(out, g.To) {
			out = append(out, g.To)
		}
	}
	return out
}

// Share is who a secret is meant to be shared with: members by ID and
// groups by name. It is resolved to members whenever it is read.
type Share struct {
	Members []MemberID `json:"members,omitempty"`
	Groups  []string   `json:"groups,omitempty"`
}

// Resolve returns the active members (not recovery keys) a share names,
// directly or through a group, in ID order.
func (a *Auth) Resolve(s Share) []MemberID {
	out := make([]MemberID, 0, len(a.Members))
	for _, m := range a.Members {
		if !m.Active() || m.Recovery {
			continue
		}
		if slices.Contains(s.Members, m.ID) || hasAnyGroup(m.Groups, s.Groups) {
			out = append(out, m.ID)
		}
	}
	return out
}

func hasAnyGroup(have, want []string) bool {
	for _, g := range want {
		if slices.Contains(have, g) {
			return true
		}
	}
	return false
}

// Secret is a secret as the log made it: its metadata and every version of
// its value (the values are age files stored apart, by hash).
type Secret struct {
	ID       SecretID `json:"id"`
	Name     string   `json:"name"`
	Username string   `json:"username,omitempty"`
	URL      string   `json:"url,omitempty"`
	Note     string   `json:"note,omitempty"`
	Share    Share    `json:"share"`
	// Versions lists every value ever stored, oldest first.
	Versions []*Version `json:"versions"`
	// Current and Pending are the op IDs of the current and pending
	// versions; Pending is zero when no rotation is under way.
	Current OpID `json:"current"`
	Pending OpID `json:"pending,omitempty"`
	// CurrentSince is the operation that made the current version
	// current: a set, an add or a confirmed rotation.
	CurrentSince OpID            `json:"current_since"`
	RotateEvery  rotation.Period `json:"rotate_every"`
	Rules        rotation.Rules  `json:"rules"`
	LastRotated  time.Time       `json:"last_rotated"`
	RotateNow    []Reason        `json:"rotate_now,omitempty"`
	Created      Stamp           `json:"created"`
	Updated      Stamp           `json:"updated"`
	Deleted      *Stamp          `json:"deleted,omitempty"`
	Purged       *Stamp          `json:"purged,omitempty"`
	// Wanted are the members the share resolves to now: who should be
	// able to read the current value. Derived; kept so that readers know
	// without the whole member list.
	Wanted []MemberID `json:"wanted"`
}

// Version is one stored value.
type Version struct {
	// Op is the operation that wrote the value: its identity.
	Op OpID `json:"op"`
	// N numbers the versions of a secret 1, 2, 3… in log order.
	N    int  `json:"n"`
	Blob Hash `json:"blob"`
	// Readers are the age file's recipients in stanza order: members,
	// then recovery keys.
	Readers []MemberID `json:"readers"`
	// Rekeyed are the readers whose stanza is for a key they have since
	// replaced (MemberRekey): they read the version only with that old
	// key, until it is re-encrypted.
	Rekeyed []MemberID `json:"rekeyed,omitempty"`
	Created Stamp      `json:"created"`
	// Aborted is set on a pending value that was dropped; Superseded on
	// one that a concurrent rotation replaced. Both stay in history in
	// case the service has them after all.
	Aborted    *Stamp `json:"aborted,omitempty"`
	Superseded bool   `json:"superseded,omitempty"`
	// OTP is the age file of the two-factor (TOTP) seed that goes with
	// the value, to the same readers; zero for none. OTPBy is the
	// operation that set it: a re-encryption made without seeing that
	// operation is refused, so it cannot bring back an older seed.
	OTP   Hash `json:"otp,omitempty"`
	OTPBy OpID `json:"otp_by,omitempty"`
}

// Reason says why a secret must be rotated now.
type Reason struct {
	Text string    `json:"text"`
	At   time.Time `json:"at"`
	By   MemberID  `json:"by"`
	// Cause is the operation that gave the reason; a new value clears it
	// only if its author had seen that operation.
	Cause OpID `json:"cause"`
	// Who are the members who could read a value they may no longer read.
	Who []MemberID `json:"who,omitempty"`
}

// Version returns the version written by op, or nil.
func (s *Secret) Version(op OpID) *Version {
	for _, v := range s.Versions {
		if v.Op == op {
			return v
		}
	}
	return nil
}

// CurrentVersion returns the current version (nil only for a purged
// secret).
func (s *Secret) CurrentVersion() *Version { return s.Version(s.Current) }

// PendingVersion returns the pending version, or nil.
func (s *Secret) PendingVersion() *Version {
	if s.Pending.IsZero() {
		return nil
	}
	return s.Version(s.Pending)
}

// Live reports whether the secret is neither in the trash nor purged.
func (s *Secret) Live() bool { return s.Deleted == nil && s.Purged == nil }

// Clone returns a deep copy.
func (s *Secret) Clone() *Secret {
	c := *s
	c.Share = Share{Members: slices.Clone(s.Share.Members), Groups: slices.Clone(s.Share.Groups)}
	c.Versions = make([]*Version, len(s.Versions))
	for i, v := range s.Versions {
		vv := *v
		vv.Readers = slices.Clone(v.Readers)
		vv.Rekeyed = slices.Clone(v.Rekeyed)
		c.Versions[i] = &vv
	}
	c.RotateNow = slices.Clone(s.RotateNow)
	c.Wanted = slices.Clone(s.Wanted)
	return &c
}

// NeedsReencrypt reports whether the current or pending value is not
// encrypted to exactly the members who should read it.
func (s *Secret) NeedsReencrypt(a *Auth) bool {
	if !s.Live() || len(s.Wanted) == 0 {
		// Nobody left to encrypt to: the value stays readable by its last
		// readers and the recovery keys (a removal forced past its only
		// reader).
		return false
	}
	for _, v := range []*Version{s.CurrentVersion(), s.PendingVersion()} {
		// A stanza for a replaced key is one too many, even when its
		// member should still read: their new key should.
		if v != nil && (len(v.Rekeyed) > 0 || !sameMembers(v.People(a), s.Wanted)) {
			return true
		}
	}
	return false
}

// people filters recovery keys out of a reader list.
func people(a *Auth, ids []MemberID) []MemberID {
	out := make([]MemberID, 0, len(ids))
	for _, id := range ids {
		if m := a.Member(id); m == nil || !m.Recovery {
			out = append(out, id)
		}
	}
	return out
}

// People returns the members (not recovery keys) whose current key reads
// the version: its readers but those whose stanza is for a key they have
// since replaced.
func (v *Version) People(a *Auth) []MemberID { return people(a, v.Readable()) }

// Readable returns the readers (members and recovery keys) whose current
// key reads the version, in stanza order.
func (v *Version) Readable() []MemberID {
	if len(v.Rekeyed) == 0 {
		return v.Readers
	}
	return minus(v.Readers, v.Rekeyed)
}

// CanRead reports whether member id's current key reads the version.
func (v *Version) CanRead(id MemberID) bool {
	return slices.Contains(v.Readers, id) && !slices.Contains(v.Rekeyed, id)
}

// PeopleOf returns the members (not recovery keys) among ids.
func PeopleOf(a *Auth, ids []MemberID) []MemberID { return people(a, ids) }

func sameMembers(a, b []MemberID) bool {
	if len(a) != len(b) {
		return false
	}
	for _, id := range a {
		if !slices.Contains(b, id) {
			return false
		}
	}
	return true
}

func minus(a, b []MemberID) []MemberID {
	var out []MemberID
	for _, id := range a {
		if !slices.Contains(b, id) {
			out = append(out, id)
		}
	}
	return out
}
