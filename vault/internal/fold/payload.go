package fold

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"filippo.io/age"

	"github.com/mutual-aid-vault/vault/rotation"
	"github.com/mutual-aid-vault/vault/vault/internal/naming"
)

// Operation kinds. Changing who may do what is "authority": only admins
// make those, and they are resolved first (see Fold).
const (
	KindCreate       = "vault.create"
	KindMemberAdd    = "member.add"
	KindMemberEdit   = "member.edit"
	KindMemberRemove = "member.remove"
	// KindMemberRekey replaces a member's keys (an admin's change);
	// KindRekeyRequest is a member's signed request for it. Not to be
	// confused with KindRekey, a new vault key.
	KindMemberRekey  = "member.rekey"
	KindRekeyRequest = "member.rekey.request"
	KindRekey        = "vault.rekey"
	KindGrant        = "keys.grant"
	KindReview       = "review.done"
	KindActive       = "member.active"
	KindSecretAdd    = "secret.add"
	KindSecretEdit   = "secret.edit"
	KindSecretShare  = "secret.share"
	KindSecretSet    = "secret.set"
	KindRotate       = "secret.rotate"
	KindConfirm      = "secret.rotate.confirm"
	KindAbort        = "secret.rotate.abort"
	KindTrash        = "secret.remove"
	KindRestore      = "secret.restore"
	KindPurge        = "secret.purge"
	KindReencrypt    = "secret.reencrypt"
	// KindTOTP sets or removes the two-factor seed of a secret's current
	// (and pending) value: a SecretReencrypt whose OTP list is the new
	// seeds.
	KindTOTP = "secret.totp"
)

// IsAuthority reports whether an operation of this kind changes who may
// do what.
func IsAuthority(kind string) bool {
	switch kind {
	case KindCreate, KindMemberAdd, KindMemberEdit, KindMemberRemove, KindMemberRekey, KindRekey, KindGrant, KindReview:
		return true
	}
	return false
}

// NewMember describes a member (or recovery key) being added.
type NewMember struct {
	ID       MemberID `json:"id"`
	Name     string   `json:"name"`
	Age      string   `json:"age"`
	Sign     []byte   `json:"sign,omitempty"`
	Groups   []string `json:"groups,omitempty"`
	Admin    bool     `json:"admin,omitempty"`
	Recovery bool     `json:"recovery,omitempty"`
}

// Create is the first operation: the vault, its creator and its recovery
// keys, and the first vault key granted to each.
type Create struct {
	Name     string      `json:"name"`
	Kind     string      `json:"kind"`
	Creator  NewMember   `json:"creator"`
	Recovery []NewMember `json:"recovery,omitempty"`
	Grants   []Grant     `json:"grants"`
}

// MemberAdd adds a member and grants them every vault key.
type MemberAdd struct {
	Member NewMember `json:"member"`
	Grant  Grant     `json:"grant"`
}

// MemberEdit changes a member's groups or admin flag.
type MemberEdit struct {
	Member       MemberID `json:"member"`
	AddGroups    []string `json:"add_groups,omitempty"`
	RemoveGroups []string `json:"remove_groups,omitempty"`
	Admin        *bool    `json:"admin,omitempty"`
}

// MemberRemove removes a member and starts a new epoch: a new vault key
// granted to everyone else.
type MemberRemove struct {
	Member MemberID `json:"member"`
	Epoch  EpochID  `json:"epoch"`
	Grants []Grant  `json:"grants"`
}

// MemberRekey replaces a member's keys, their age recipient and their
// signing key, keeping who they are (ID, name, groups, what is shared with
// them), and starts a new epoch: a new vault key granted to every member,
// the member at their new key, so the old key reads nothing sealed from
// then on. Values the member reads wait to be re-encrypted for the new key
// (see Version.Rekeyed). Compromised says the old key was reported lost or
// stolen: every secret the member could read is marked rotate-now, and what
// the old key signed concurrently with this change is void. Request is the
// member's own request this approves (zero when an admin replaced the key
// without one).
type MemberRekey struct {
	Member      MemberID `json:"member"`
	Age         string   `json:"age"`
	Sign        []byte   `json:"sign"`
	Compromised bool     `json:"compromised,omitempty"`
	Request     OpID     `json:"request,omitempty"`
	Epoch       EpochID  `json:"epoch"`
	Grants      []Grant  `json:"grants"`
}

// RekeyRequest is a member's request, signed with their current key, that
// an admin replace their keys with these (a new laptop: the new identity's
// public keys). It changes nothing until an admin approves it with a
// MemberRekey.
type RekeyRequest struct {
	Age  string `json:"age"`
	Sign []byte `json:"sign"`
}

// Rekey starts a new epoch without removing anyone (after concurrent
// removals left a removed member holding the current key).
type Rekey struct {
	Epoch  EpochID `json:"epoch"`
	Grants []Grant `json:"grants"`
}

// GrantKeys gives members keys they lack (added while a concurrent
// removal issued a key they were not given).
type GrantKeys struct {
	Grants []Grant `json:"grants"`
}

// Empty is the payload of kinds that need none.
type Empty struct{}

// Value is one version of a value: the age file's hash and its recipients
// in stanza order.
type Value struct {
	Blob    Hash       `json:"blob"`
	Readers []MemberID `json:"readers"`
}

// SecretAdd adds a secret with its first value.
type SecretAdd struct {
	Secret      SecretID        `json:"secret"`
	Name        string          `json:"name"`
	Username    string          `json:"username,omitempty"`
	URL         string          `json:"url,omitempty"`
	Note        string          `json:"note,omitempty"`
	Share       Share           `json:"share"`
	RotateEvery rotation.Period `json:"rotate_every"`
	Rules       rotation.Rules  `json:"rules"`
	LastRotated time.Time       `json:"last_rotated"`
	Value       Value           `json:"value"`
	// OTP is the age file of the value's two-factor (TOTP) seed, to the
	// same readers as the value; zero for none.
	OTP Hash `json:"otp,omitempty" wire:"tail"`
}

// SecretEdit changes metadata; nil fields stay as they are.
type SecretEdit struct {
	Secret      SecretID         `json:"secret"`
	Username    *string          `json:"username,omitempty"`
	URL         *string          `json:"url,omitempty"`
	Note        *string          `json:"note,omitempty"`
	RotateEvery *rotation.Period `json:"rotate_every,omitempty"`
	Rules       *rotation.Rules  `json:"rules,omitempty"`
	LastRotated *time.Time       `json:"last_rotated,omitempty"`
}

// SecretShare changes who a secret is shared with, and carries the
// re-encryptions its author could do at once.
type SecretShare struct {
	Secret    SecretID    `json:"secret"`
	Add       Share       `json:"add"`
	Remove    Share       `json:"remove"`
	Reencrypt []Reencrypt `json:"reencrypt,omitempty"`
}

// Reencrypt is a new age file for an existing version, for new readers.
type Reencrypt struct {
	Version OpID  `json:"version"`
	Value   Value `json:"value"`
}

// SecretValue sets a new value (KindSecretSet) or starts a rotation with
// it (KindRotate).
type SecretValue struct {
	Secret SecretID `json:"secret"`
	Value  Value    `json:"value"`
	// OTP is the age file of the two-factor seed that goes with the new
	// value, to the same readers; zero for none.
	OTP Hash `json:"otp,omitempty" wire:"tail"`
}

// Settle confirms or aborts a rotation: Version is the pending value.
type Settle struct {
	Secret  SecretID `json:"secret"`
	Version OpID     `json:"version"`
}

// SecretRef names a secret (trash, restore, purge).
type SecretRef struct {
	Secret SecretID `json:"secret"`
}

// SecretReencrypt re-encrypts versions for who should read them now
// (KindReencrypt), or sets their two-factor seeds (KindTOTP).
type SecretReencrypt struct {
	Secret SecretID    `json:"secret"`
	Items  []Reencrypt `json:"items"`
	// OTP holds, item by item, the age file of the version's two-factor
	// seed to the item's readers (zero: the version has none). Empty when
	// no item has one.
	OTP []Hash `json:"otp,omitempty" wire:"tail"`
}

// maxList bounds the lists in a payload.
const maxList = 4096

// Decode decodes (from the wire form: see Encode) and validates the
// payload of an operation of kind.
func Decode(kind string, raw []byte) (any, error) {
	t, ok := payloadType(kind)
	if !ok {
		return nil, fmt.Errorf("unknown kind of change %q (made by a newer version of vault?)", kind)
	}
	v := reflect.New(t)
	r := &wireReader{b: raw}
	if err := r.decode(v.Elem(), 0); err != nil || len(r.b) != 0 {
		return nil, fmt.Errorf("malformed %s", kind)
	}
	p := v.Interface().(interface{ validate() error })
	if err := p.validate(); err != nil {
		return nil, err
	}
	return p, nil
}

func (c *Create) validate() error {
	if c.Name != "" {
		if _, err := naming.Vault(c.Name); err != nil {
			return err
		}
	}
	if c.Kind != "x25519" && c.Kind != "pq" {
		return fmt.Errorf("unknown vault kind %q", c.Kind)
	}
	if err := c.Creator.validate(c.Kind); err != nil {
		return err
	}
	if c.Creator.Recovery || len(c.Creator.Sign) == 0 {
		return errors.New("the creator must be a member with a signing key")
	}
	if len(c.Recovery) > 64 || len(c.Grants) > 65 {
		return errors.New("too many recovery keys")
	}
	for _, r := range c.Recovery {
		if err := r.validate(c.Kind); err != nil {
			return err
		}
		if !r.Recovery {
			return errors.New("a recovery key is not marked as one")
		}
	}
	return validGrants(c.Grants)
}

func (m *NewMember) validate(kind string) error {
	if m.ID.IsZero() {
		return errors.New("member has no ID")
	}
	if _, err := naming.Member(m.Name); err != nil {
		return err
	}
	if err := checkAgeKey(m.Age, kind); err != nil {
		return err
	}
	if len(m.Sign) != 0 && len(m.Sign) != ed25519.PublicKeySize {
		return errors.New("malformed signing key")
	}
	return validGroups(m.Groups)
}

// checkAgeKey checks a stored age recipient of the vault's kind.
func checkAgeKey(s, kind string) error {
	var err error
	switch {
	case kind == "pq" && strings.HasPrefix(s, "age1pq1"):
		_, err = age.ParseHybridRecipient(s)
	case kind == "x25519" && !strings.HasPrefix(s, "age1pq1"):
		_, err = age.ParseX25519Recipient(s)
	default:
		return fmt.Errorf("a %s key in a %s vault", map[bool]string{true: "post-quantum", false: "classic"}[strings.HasPrefix(s, "age1pq1")], kind)
	}
	if err != nil {
		return errors.New("malformed public key")
	}
	return nil
}

func validGroups(gs []string) error {
	if len(gs) > 64 {
		return errors.New("too many groups")
	}
	for _, g := range gs {
		c, err := naming.Group(g)
		if err != nil {
			return err
		}
		if c != g {
			return fmt.Errorf("group %q is not in canonical form", g)
		}
	}
	return nil
}

func validGrants(gs []Grant) error {
	if len(gs) > maxList {
		return errors.New("too many key grants")
	}
	for _, g := range gs {
		if g.To.IsZero() || g.Blob.IsZero() || len(g.Epochs) == 0 || len(g.Epochs) > maxList {
			return errors.New("malformed key grant")
		}
		if !g.Op.IsZero() {
			return errors.New("malformed key grant")
		}
	}
	return nil
}

func (p *MemberAdd) validate() error {
	if p.Member.ID.IsZero() || p.Grant.To != p.Member.ID {
		return errors.New("malformed member addition")
	}
	if _, err := naming.Member(p.Member.Name); err != nil {
		return err
	}
	if len(p.Member.Sign) != ed25519.PublicKeySize || p.Member.Recovery {
		return errors.New("a member needs a signing key")
	}
	if err := validGroups(p.Member.Groups); err != nil {
		return err
	}
	return validGrants([]Grant{p.Grant})
}

func (p *MemberEdit) validate() error {
	if p.Member.IsZero() {
		return errors.New("malformed member change")
	}
	if err := validGroups(p.AddGroups); err != nil {
		return err
	}
	return validGroups(p.RemoveGroups)
}

func (p *MemberRemove) validate() error {
	if p.Member.IsZero() {
		return errors.New("malformed removal")
	}
	return validGrants(p.Grants)
}

func (p *MemberRekey) validate() error {
	if p.Member.IsZero() || len(p.Grants) == 0 {
		return errors.New("malformed key replacement")
	}
	if err := validNewKey(p.Age, p.Sign); err != nil {
		return err
	}
	return validGrants(p.Grants)
}

func (p *RekeyRequest) validate() error { return validNewKey(p.Age, p.Sign) }

// validNewKey checks the form of a replacement key; its kind is checked
// against the vault's when the change is applied.
func validNewKey(age string, sign []byte) error {
	if age == "" || len(age) > maxAgeKey || len(sign) != ed25519.PublicKeySize {
		return errors.New("malformed new key")
	}
	return nil
}

// maxAgeKey bounds an age recipient: a post-quantum one is about 2,000
// characters.
const maxAgeKey = 4096

func (p *Rekey) validate() error     { return validGrants(p.Grants) }
func (p *GrantKeys) validate() error { return validGrants(p.Grants) }
func (p *Empty) validate() error     { return nil }

func (v *Value) validate() error {
	if v.Blob.IsZero() || len(v.Readers) == 0 || len(v.Readers) > maxList {
		return errors.New("malformed value")
	}
	for i, r := range v.Readers {
		if r.IsZero() || slices.Contains(v.Readers[:i], r) {
			return errors.New("malformed value readers")
		}
	}
	return nil
}

func (s *Share) validate() error {
	if len(s.Members) > maxList {
		return errors.New("share list too long")
	}
	return validGroups(s.Groups)
}

func (p *SecretAdd) validate() error {
	if _, err := naming.Secret(p.Name); err != nil {
		return err
	}
	if err := naming.Fields(p.Username, p.URL, p.Note); err != nil {
		return err
	}
	if !p.RotateEvery.IsZero() {
		if err := p.RotateEvery.Validate(); err != nil {
			return err
		}
	}
	if err := p.Rules.Validate(); err != nil {
		return err
	}
	if err := p.Share.validate(); err != nil {
		return err
	}
	return p.Value.validate()
}

func (p *SecretEdit) validate() error {
	if p.Username != nil {
		if err := naming.Field("username", *p.Username, naming.MaxUsername); err != nil {
			return err
		}
	}
	if p.URL != nil {
		if err := naming.Field("URL", *p.URL, naming.MaxURL); err != nil {
			return err
		}
	}
	if p.Note != nil {
		if err := naming.Field("note", *p.Note, naming.MaxNote); err != nil {
			return err
		}
	}
	if p.RotateEvery != nil {
		if err := p.RotateEvery.Validate(); err != nil {
			return err
		}
	}
	if p.Rules != nil {
		if err := p.Rules.Validate(); err != nil {
			return err
		}
	}
	return nil
}

func (p *SecretShare) validate() error {
	if err := p.Add.validate(); err != nil {
		return err
	}
	if err := p.Remove.validate(); err != nil {
		return err
	}
	return validReencrypts(p.Reencrypt)
}

func validReencrypts(items []Reencrypt) error {
	if len(items) > 2 {
		return errors.New("too many re-encryptions")
	}
	for _, r := range items {
		if r.Version.IsZero() {
			return errors.New("malformed re-encryption")
		}
		if err := r.Value.validate(); err != nil {
			return err
		}
	}
	return nil
}

func (p *SecretValue) validate() error { return p.Value.validate() }
func (p *Settle) validate() error {
	if p.Version.IsZero() {
		return errors.New("malformed rotation")
	}
	return nil
}
func (p *SecretRef) validate() error { return nil }
func (p *SecretReencrypt) validate() error {
	if len(p.Items) == 0 {
		return errors.New("malformed re-encryption")
	}
	if len(p.OTP) != 0 && (len(p.OTP) != len(p.Items) || !slices.ContainsFunc(p.OTP, func(h Hash) bool { return !h.IsZero() })) {
		return errors.New("malformed two-factor seeds")
	}
	return validReencrypts(p.Items)
}

// BlobsOf returns the blobs an operation's payload brings: the age files
// of values, and key grants.
func BlobsOf(p any) (values, grants []Hash) {
	addGrants := func(gs []Grant) {
		for _, g := range gs {
			grants = append(grants, g.Blob)
		}
	}
	addRe := func(rs []Reencrypt) {
		for _, r := range rs {
			values = append(values, r.Value.Blob)
		}
	}
	addOTP := func(h Hash) {
		if !h.IsZero() {
			values = append(values, h)
		}
	}
	switch p := p.(type) {
	case *Create:
		addGrants(p.Grants)
	case *MemberAdd:
		addGrants([]Grant{p.Grant})
	case *MemberRemove:
		addGrants(p.Grants)
	case *MemberRekey:
		addGrants(p.Grants)
	case *Rekey:
		addGrants(p.Grants)
	case *GrantKeys:
		addGrants(p.Grants)
	case *SecretAdd:
		values = append(values, p.Value.Blob)
		addOTP(p.OTP)
	case *SecretValue:
		values = append(values, p.Value.Blob)
		addOTP(p.OTP)
	case *SecretShare:
		addRe(p.Reencrypt)
	case *SecretReencrypt:
		addRe(p.Items)
		for _, h := range p.OTP {
			addOTP(h)
		}
	}
	return values, grants
}
