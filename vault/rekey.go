package vault

import (
	"bytes"
	"slices"
	"time"

	"filippo.io/age"

	"github.com/mutual-aid-vault/vault/vault/internal/fold"
)

// A member's new key (a new laptop, a lost or stolen one) replaces their
// old one without removing them: they keep their name, groups and what
// is shared with them. An admin replaces it ([Vault.ReplaceKey]) with the
// key line the member sends, or approves the request the member made with
// their current key ([Vault.RequestKey]). The replacement starts a new
// vault key, granted to every member (the member at the new key), so the
// old key reads nothing sealed from then on; every value the member reads
// waits to be re-encrypted for the new key, by the admin at once where
// the admin reads it, by the next of its readers otherwise, or by the
// member with their old key ([Vault.ReencryptWithOldKey]). A key reported
// lost or stolen also marks every secret the member could read
// rotate-now, and voids what the old key signed at the same time.

// NewKey is a replacement of a member's keys.
type NewKey struct {
	// PublicKey is the member's new key line ('vault pubkey' of their new
	// identity). Empty approves the key the member asked for.
	PublicKey string
	// Compromised says the old key was lost or stolen: every secret the
	// member could read is marked rotate-now (whoever has the old key may
	// read them), and what the old key signed concurrently is void.
	Compromised bool
	// Progress, if not nil, is called as secrets are re-encrypted.
	Progress func(done, total int)
}

// Rekey reports what replacing a member's keys did.
type Rekey struct {
	Member string `json:"member"`
	// PublicKey and Fingerprint are the new key's.
	PublicKey   string `json:"public_key"`
	Fingerprint string `json:"fingerprint"`
	// Requested is set when it approved the member's own request.
	Requested bool `json:"requested"`
	// Reencrypted are the secrets the acting member re-encrypted for the
	// new key.
	Reencrypted []string `json:"reencrypted"`
	// Waiting are the secrets the acting member cannot read: the next of
	// their readers who makes a change re-encrypts them.
	Waiting []string `json:"waiting"`
	// OnlyTheirs are the secrets nobody else reads: only the member can
	// re-encrypt them, with their old key (or a recovery key holder reads
	// them).
	OnlyTheirs []string `json:"only_theirs"`
	// RotateNow are the secrets the member could read, with Compromised:
	// their real passwords must change.
	RotateNow []string `json:"rotate_now"`
}

// KeyRequest is a member's pending request for a new key.
type KeyRequest struct {
	Member      string    `json:"member"`
	PublicKey   string    `json:"public_key"`
	Fingerprint string    `json:"fingerprint"`
	At          time.Time `json:"at"`
}

func (r *reader) keyRequest(m *fold.Member) *KeyRequest {
	if m.Request == nil {
		return nil
	}
	k := MemberKey{Age: m.Request.Age, Sign: m.Request.Sign, Kind: kindOf(m.Request.Age)}
	return &KeyRequest{Member: m.Name, PublicKey: k.String(), Fingerprint: k.Fingerprint(), At: m.Request.Made.At}
}

// KeyRequests returns the members' pending requests for a new key, by
// name.
func (v *Vault) KeyRequests() ([]KeyRequest, error) {
	var out []KeyRequest
	err := v.view(func(r *reader) error {
		for _, m := range r.auth.Members {
			if m.Active() && !m.Recovery && m.Request != nil {
				out = append(out, *r.keyRequest(m))
			}
		}
		return nil
	})
	sortByName(out, func(k KeyRequest) string { return k.Member })
	return out, err
}

// checkNewKey refuses a replacement key of the wrong kind, the member's
// own, or another member's.
func (r *reader) checkNewKey(m *fold.Member, key MemberKey, whose string) error {
	if vk := kindOf(r.auth.Members[0].Age); key.Kind != vk {
		return errorf(ErrWrongKind, "that is a %s key but this is a %s vault; make the new key with 'vault keygen%s'", key.Kind, vk, map[bool]string{true: " --pq", false: ""}[vk == PostQuantum])
	}
	if key.Age == m.Age || bytes.Equal(key.Sign, m.Sign) {
		return errorf(ErrExists, "that is %s key already; the new key line comes from the new identity ('vault pubkey' with it)", whose)
	}
	if o := r.auth.ByKey(key.Age, key.Sign); o != nil {
		if o.Recovery {
			return errorf(ErrExists, "that key is the vault's recovery key; a member needs their own")
		}
		return errorf(ErrExists, "that key already belongs to member %q", o.Name)
	}
	return nil
}

// ReplaceKey replaces a member's keys: with nk.PublicKey, or (when it is
// empty) with the key the member asked for. It issues a new vault key to
// every member (the member at the new key), re-encrypts for the new key
// every secret the member reads that the acting member can read (the
// others wait for their next reader, or the member's old key), and with
// nk.Compromised marks every secret the member could read rotate-now.
// Only admins may. An admin replacing their own keys goes on with the new
// identity: this one signs nothing more.
func (v *Vault) ReplaceKey(name string, nk NewKey) (Rekey, error) {
	var key MemberKey
	if nk.PublicKey != "" {
		var err error
		if key, err = ParseMemberKey(nk.PublicKey); err != nil {
			return Rekey{}, err
		}
	}
	var out Rekey
	var id fold.MemberID
	v.progress = nk.Progress
	defer func() { v.progress = nil }()
	_, err := v.update(func(r *reader) ([]change, error) {
		out = Rekey{}
		if err := r.requireAdmin("replace members' keys"); err != nil {
			return nil, err
		}
		m, err := r.memberByName(name)
		if err != nil {
			return nil, err
		}
		id, out.Member = m.ID, m.Name
		p := fold.MemberRekey{Member: m.ID, Compromised: nk.Compromised}
		if nk.PublicKey == "" {
			if m.Request == nil {
				return nil, errorf(ErrNoRequest, "%s has not asked for a new key; they run 'vault rekey', or you give the key line they send you: 'vault member rekey %s KEY'", m.Name, m.Name)
			}
			key = MemberKey{Age: m.Request.Age, Sign: m.Request.Sign, Kind: kindOf(m.Request.Age)}
			p.Request, out.Requested = m.Request.Made.Op, true
		}
		whose := m.Name + "'s"
		if m.ID == v.me {
			whose = "your"
		}
		if err := r.checkNewKey(m, key, whose); err != nil {
			return nil, err
		}
		p.Age, p.Sign = key.Age, key.Sign
		out.PublicKey, out.Fingerprint = key.String(), key.Fingerprint()
		err = r.ix.Each(func(s *fold.Secret) error {
			if !s.Live() {
				return nil
			}
			could := false
			for _, ver := range []*fold.Version{s.CurrentVersion(), s.PendingVersion()} {
				could = could || (ver != nil && slices.Contains(ver.Readers, m.ID))
			}
			if could && nk.Compromised {
				out.RotateNow = append(out.RotateNow, s.Name)
			}
			if slices.Contains(s.Wanted, m.ID) && len(s.Wanted) == 1 {
				out.OnlyTheirs = append(out.OnlyTheirs, s.Name)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		// Every member gets the new vault key; the member at the new key.
		var to []*fold.Member
		for _, h := range holders(r.auth, fold.MemberID{}) {
			if h.ID == m.ID {
				c := *h
				c.Age = key.Age
				h = &c
			}
			to = append(to, h)
		}
		e, issues, grants, blobs, err := v.newEpochFor(r, to)
		if err != nil {
			return nil, err
		}
		p.Epoch, p.Grants = e, grants
		return []change{{kind: fold.KindMemberRekey, payload: p, grants: blobs, issues: issues}}, nil
	})
	if err != nil {
		return Rekey{}, err
	}
	err = v.view(func(r *reader) error {
		return r.ix.Each(func(s *fold.Secret) error {
			if !s.Live() || !slices.Contains(s.Wanted, id) || slices.Contains(out.OnlyTheirs, s.Name) {
				return nil
			}
			if s.NeedsReencrypt(r.auth) {
				out.Waiting = append(out.Waiting, s.Name)
			} else {
				out.Reencrypted = append(out.Reencrypted, s.Name)
			}
			return nil
		})
	})
	for _, l := range []*[]string{&out.Reencrypted, &out.Waiting, &out.OnlyTheirs, &out.RotateNow} {
		if *l == nil {
			*l = []string{} // for JSON: a list, never null
		}
		sortNames(*l)
	}
	return out, err
}

// RequestKey asks the admins to replace this member's keys with the key
// line publicKey (the public key of the member's new identity). The
// request is signed with the member's current key, which is what makes it
// theirs; an admin approves it with [Vault.ReplaceKey]. Until then
// nothing changes. A new request replaces an earlier one.
func (v *Vault) RequestKey(publicKey string) (KeyRequest, error) {
	key, err := ParseMemberKey(publicKey)
	if err != nil {
		return KeyRequest{}, err
	}
	var out KeyRequest
	_, err = v.update(func(r *reader) ([]change, error) {
		m := r.me()
		if m == nil || !m.Active() {
			return nil, errorf(ErrNotMember, "you are not a member of this vault")
		}
		if m.Recovery {
			return nil, errorf(ErrInvalid, "a recovery key cannot ask for a new key; an admin adds a new recovery key")
		}
		if err := r.checkNewKey(m, key, "your"); err != nil {
			return nil, err
		}
		out = KeyRequest{Member: m.Name, PublicKey: key.String(), Fingerprint: key.Fingerprint(), At: r.now}
		return []change{{kind: fold.KindRekeyRequest, payload: fold.RekeyRequest{Age: key.Age, Sign: key.Sign}}}, nil
	})
	if err != nil {
		return KeyRequest{}, err
	}
	return out, nil
}

// ReencryptWithOldKey re-encrypts, for this member's new key, every value
// waiting for it that old (the member's identity from before their keys
// were replaced) opens: most of all the secrets nobody else reads, which
// nobody else could. It returns their names, and the names of those old
// could not open (it is not the key that was replaced); those wait for
// another reader.
func (v *Vault) ReencryptWithOldKey(old age.Identity) (done, unopened []string, err error) {
	v.oldKey, v.unopened = old, nil
	defer func() { v.oldKey, v.unopened = nil, nil }()
	events, err := v.update(func(r *reader) ([]change, error) {
		if m := r.me(); m == nil || m.Rekeyed == nil {
			return nil, errorf(ErrInvalid, "your key was never replaced; there is nothing to re-encrypt for a new one")
		}
		return v.reencryptions(r)
	})
	if err != nil {
		return nil, nil, err
	}
	for _, e := range events {
		if e.Kind == fold.KindReencrypt && !slices.Contains(done, e.Target) {
			done = append(done, e.Target)
		}
	}
	unopened = slices.Clone(v.unopened)
	sortNames(done)
	sortNames(unopened)
	return done, unopened, nil
}
