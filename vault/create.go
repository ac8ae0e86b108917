package vault

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	bolt "go.etcd.io/bbolt"

	"github.com/mutual-aid-vault/vault/vault/internal/fold"
	"github.com/mutual-aid-vault/vault/vault/internal/naming"
	"github.com/mutual-aid-vault/vault/vault/internal/oplog"
)

// CreateOptions describes a new vault. Identity (in Options) and PublicKey
// are required: they are the creator's, who becomes the first member and an
// admin. The identity must be able to sign (a [Signer]).
type CreateOptions struct {
	Options
	// Name names the vault, e.g. the group ("Eastside Mutual Aid").
	Name string
	// MemberName is the creator's display name; a nickname is enough.
	MemberName string
	// PublicKey is the creator's public key line, from
	// [Identity.PublicKey].
	PublicKey string
	// Kind is the kind of vault wanted. Empty means the kind of PublicKey;
	// otherwise PublicKey must be of this kind.
	Kind Kind
	// Recovery are public keys (a member key line, or a bare age key) that
	// every secret is also encrypted to, kept offline by the group so that
	// losing every member's key loses nothing. A recovery key given with
	// its signing key can also act as an admin; a bare age key can only
	// read.
	Recovery []string
}

type createPlan struct {
	name, member string
	key          MemberKey
	recovery     []MemberKey
}

func (c CreateOptions) plan() (*createPlan, error) {
	p := &createPlan{}
	if c.Name != "" {
		n, err := naming.Vault(c.Name)
		if err != nil {
			return nil, errorf(ErrBadName, "%v", err)
		}
		p.name = n
	}
	member := c.MemberName
	if member == "" {
		member = "me"
	}
	m, err := CleanMemberName(member)
	if err != nil {
		return nil, err
	}
	p.member = m
	key, err := ParseMemberKey(c.PublicKey)
	if err != nil {
		return nil, err
	}
	if c.Kind != "" && c.Kind != key.Kind {
		hint := "create one with 'vault keygen --pq'"
		if c.Kind == Classic {
			hint = "create one with 'vault keygen'"
		}
		return nil, errorf(ErrWrongKind, "a %s vault needs a %s identity, and yours is %s; %s", c.Kind, c.Kind, key.Kind, hint)
	}
	p.key = key
	for _, r := range c.Recovery {
		rk, err := parseKey(r, true)
		if err != nil {
			return nil, err
		}
		if rk.Kind != key.Kind {
			return nil, errorf(ErrWrongKind, "recovery key is %s but the vault is %s", rk.Kind, key.Kind)
		}
		if rk.Age == key.Age || slices.ContainsFunc(p.recovery, func(x MemberKey) bool { return x.Age == rk.Age }) {
			return nil, errorf(ErrExists, "a recovery key is listed twice or is your own key")
		}
		p.recovery = append(p.recovery, rk)
	}
	if n := 1 + len(p.recovery); n > maxReaders {
		// Every value is encrypted to its creator and every recovery key.
		return nil, errorf(ErrTooManyReaders, "%s recovery keys would give every secret %s readers; age allows %s; keep fewer recovery keys", thousands(len(p.recovery)), thousands(n), thousands(maxReaders))
	}
	return p, nil
}

func kindName(k Kind) string {
	if k == PostQuantum {
		return "pq"
	}
	return "x25519"
}

// Create makes a new vault file at path with one member, the creator, who
// is an admin. It never replaces an existing file: the vault is built in a
// temporary file and linked into place only when complete.
func Create(path string, c CreateOptions) (*Vault, error) {
	if c.Identity == nil {
		return nil, errors.New("vault.Create: no identity given")
	}
	signer, ok := c.Identity.(Signer)
	if !ok {
		return nil, errorf(ErrReadOnly, "this identity cannot sign, so it cannot create a vault")
	}
	p, err := c.plan()
	if err != nil {
		return nil, err
	}
	if !ed25519.PublicKey(p.key.Sign).Equal(signer.SigningKey()) {
		return nil, errorf(ErrBadKey, "the public key given is not this identity's")
	}
	if _, err := os.Lstat(path); err == nil {
		return nil, errorf(ErrExists, "%s already exists", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	v, err := newVault(path, c.Options)
	if err != nil {
		return nil, err
	}
	if err := v.create(p); err != nil {
		v.Close()
		return nil, err
	}
	return v, nil
}

func (v *Vault) create(p *createPlan) error {
	epoch, err := oplog.NewEpochID()
	if err != nil {
		return err
	}
	key, err := randomKey()
	if err != nil {
		return err
	}
	local, err := randomKey()
	if err != nil {
		return err
	}
	v.keys.add(epoch, key)
	v.keys.local = local
	v.ik = deriveIndexKeys(local)
	newID := func() (oplog.Member, error) {
		var id oplog.Member
		_, err := rand.Read(id[:])
		return id, err
	}
	creator, err := newID()
	if err != nil {
		return err
	}
	payload := fold.Create{Name: p.name, Kind: kindName(p.key.Kind),
		Creator: fold.NewMember{ID: creator, Name: p.member, Age: p.key.Age, Sign: p.key.Sign, Admin: true}}
	in := newIncoming()
	grant := func(to oplog.Member, age string) error {
		blob, err := v.keys.grant(age, []oplog.EpochID{epoch})
		if err != nil {
			return err
		}
		h := oplog.HashOf(blob)
		in.grants[h] = blob
		payload.Grants = append(payload.Grants, fold.Grant{To: to, Blob: h, Epochs: []oplog.EpochID{epoch}})
		return nil
	}
	if err := grant(creator, p.key.Age); err != nil {
		return err
	}
	for i, r := range p.recovery {
		id, err := newID()
		if err != nil {
			return err
		}
		name := "recovery"
		if len(p.recovery) > 1 {
			name = "recovery-" + string(rune('1'+i))
		}
		payload.Recovery = append(payload.Recovery, fold.NewMember{ID: id, Name: name, Age: r.Age, Sign: r.Sign, Recovery: true})
		if err := grant(id, r.Age); err != nil {
			return err
		}
	}
	raw, err := fold.Encode(fold.KindCreate, payload)
	if err != nil {
		return err
	}
	op, err := oplog.Sign(oplog.Body{Epoch: epoch, Author: creator, At: v.now(), Kind: fold.KindCreate, Payload: raw}, v.signer)
	if err != nil {
		return err
	}
	env, err := oplog.Seal(op, &key)
	if err != nil {
		return err
	}
	in.ops[op.ID] = env
	v.vaultID = op.ID
	v.repPath = v.replicaPath(op.ID)
	if err := v.openReplica(true); err != nil {
		return err
	}
	v.openedGrants[payload.Grants[0].Blob] = true
	v.keysChanged = true
	err = v.update0(func(tx *bolt.Tx) error {
		if err := tx.Bucket([]byte(bLocal)).Put([]byte(lVault), v.vaultID[:]); err != nil {
			return err
		}
		rep, err := v.ingest(tx, in)
		if err != nil {
			return err
		}
		if len(rep.events) != 1 || rep.events[0].Rejected != "" {
			return errorf(ErrRejected, "the new vault's first change was refused")
		}
		return nil
	})
	if err != nil {
		return err
	}
	if v.me != creator {
		return errorf(ErrRejected, "the new vault does not know its creator")
	}
	// Build the file beside its place and link it in: never replace.
	tmp, err := os.CreateTemp(filepath.Dir(v.path), "."+filepath.Base(v.path)+".new-*")
	if err != nil {
		return err
	}
	tmpPath := tmp.Name()
	tmp.Close()
	defer os.Remove(tmpPath)
	if err := os.Truncate(tmpPath, 0); err != nil {
		return err
	}
	if err := v.fillShared(tmpPath, true); err != nil {
		return err
	}
	if err := os.Link(tmpPath, v.path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return errorf(ErrExists, "%s already exists", v.path)
		}
		return err
	}
	// Unlinking the temporary name changes the file's change time: do it
	// before taking the stamp.
	os.Remove(tmpPath)
	info, err := os.Stat(v.path)
	if err != nil {
		return err
	}
	if err := v.update0(func(tx *bolt.Tx) error { return v.setStamp(tx, stampOf(info)) }); err != nil {
		return err
	}
	if err := v.setPin(v.path, pin{Vault: v.vaultID, Name: p.name}); err != nil {
		return err
	}
	return v.checkMembership()
}
