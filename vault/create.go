package vault

import (
	"encoding/binary"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// CreateOptions describes a new vault. Identity (in Options) and PublicKey
// are required: they are the creator's, who becomes the first member and an
// admin.
type CreateOptions struct {
	Options
	// Name names the vault, e.g. the group ("Eastside Mutual Aid").
	Name string
	// MemberName is the creator's display name; a nickname is enough.
	MemberName string
	// PublicKey is the creator's public key, from [Identity.PublicKey].
	PublicKey string
	// Kind is the kind of vault wanted. Empty means the kind of PublicKey;
	// otherwise PublicKey must be of this kind.
	Kind Kind
	// Recovery are public keys that every secret is also encrypted to, kept
	// offline by the group so that losing every member's key loses nothing.
	Recovery []string
}

type createPlan struct {
	name, member, key string
	kind              Kind
	recovery          []string
}

func (c CreateOptions) plan() (*createPlan, error) {
	p := &createPlan{name: c.Name}
	if p.name != "" {
		n, err := cleanName("vault", p.name, maxMemberName)
		if err != nil {
			return nil, err
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
	key, kind, err := ParsePublicKey(c.PublicKey)
	if err != nil {
		return nil, err
	}
	if c.Kind != "" && c.Kind != kind {
		hint := "create one with 'vault keygen --pq'"
		if c.Kind == Classic {
			hint = "create one with 'vault keygen'"
		}
		return nil, errorf(ErrWrongKind, "a %s vault needs a %s identity, and yours is %s; %s", c.Kind, c.Kind, kind, hint)
	}
	p.key, p.kind = key, kind
	for _, r := range c.Recovery {
		rk, rkind, err := ParsePublicKey(r)
		if err != nil {
			return nil, err
		}
		if rkind != kind {
			return nil, errorf(ErrWrongKind, "recovery key is %s but the vault is %s", rkind, kind)
		}
		if rk == key || slices.Contains(p.recovery, rk) {
			return nil, errorf(ErrExists, "a recovery key is listed twice or is your own key")
		}
		p.recovery = append(p.recovery, rk)
	}
	return p, nil
}

// write builds the whole vault in the (empty) file at path in one
// transaction.
func (p *createPlan) write(path string, now time.Time) (err error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: DefaultLockTimeout})
	if err != nil {
		return err
	}
	defer func() {
		if cerr := db.Close(); err == nil {
			err = cerr
		}
	}()
	var vaultID [16]byte
	id, err := newID()
	if err != nil {
		return err
	}
	copy(vaultID[:], id[:])
	ring, err := newKeyring(vaultID, 1)
	if err != nil {
		return err
	}
	me, err := newID()
	if err != nil {
		return err
	}
	v := &Vault{path: path, keys: ring, vaultID: vaultID, wrapID: me, clock: systemClock{}}
	return db.Update(func(tx *bolt.Tx) error {
		for _, b := range allBuckets {
			if _, err := tx.CreateBucket([]byte(b)); err != nil {
				return err
			}
		}
		meta := tx.Bucket([]byte(bucketMeta))
		if err := meta.Put([]byte(metaApp), []byte(appName)); err != nil {
			return err
		}
		if err := meta.Put([]byte(metaFormat), binary.BigEndian.AppendUint32(nil, FormatVersion)); err != nil {
			return err
		}
		if err := meta.Put([]byte(metaID), vaultID[:]); err != nil {
			return err
		}
		t := &txn{v: v, tx: tx, keys: ring, man: &manifest{}, rev: 1, now: now}
		settings := &settingsRecord{ID: id, Name: p.name, Kind: p.kind, Created: stamp{At: now, By: me}}
		for _, r := range p.recovery {
			rid, err := newID()
			if err != nil {
				return err
			}
			settings.Recovery = append(settings.Recovery, recoveryKey{ID: rid, Key: r})
		}
		if err := t.putSettings(settings); err != nil {
			return err
		}
		m := &memberRecord{ID: me, Num: 1, Name: p.member, Key: p.key, Admin: true, Added: stamp{At: now, By: me}, LastActive: now}
		if err := t.putMember(m); err != nil {
			return err
		}
		if err := t.rewrap([]*memberRecord{m}, settings); err != nil {
			return err
		}
		t.due, t.dueDirty = &dueIndex{}, true
		if err := t.saveDue(); err != nil {
			return err
		}
		if err := t.saveDueSummary(); err != nil {
			return err
		}
		if err := t.appendLog("vault.create", p.name, p.kind.String()+" vault"); err != nil {
			return err
		}
		if err := t.appendLog("member.add", p.member, "admin"); err != nil {
			return err
		}
		t.man.counter = t.rev
		return t.saveManifest()
	})
}
