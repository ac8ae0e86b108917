package vault

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"slices"

	"filippo.io/age"
)

// putJSON seals and stores a record as JSON.
func (t *txn) putJSON(bucket string, code byte, key []byte, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return t.putSealed(bucket, code, key, b)
}

// allMembers returns every member record, removed ones included, in ID
// order. The result is cached for the transaction; callers that change a
// member must store it with putMember.
func (t *txn) allMembers() ([]*memberRecord, error) {
	if t.members != nil {
		return t.members, nil
	}
	var out []*memberRecord
	err := t.forEachSealed(bucketMembers, codeMembers, func(k, pt []byte) error {
		var m memberRecord
		if err := decodeRecord(pt, &m); err != nil || !bytes.Equal(m.ID[:], k) {
			return errorf(ErrTampered, "a member record of %s is malformed", t.v.path)
		}
		out = append(out, &m)
		return nil
	})
	if err != nil {
		return nil, err
	}
	t.members = out
	return out, nil
}

// member returns the member with the given ID, removed or not.
func (t *txn) member(id ID) (*memberRecord, error) {
	if t.members != nil {
		for _, m := range t.members {
			if m.ID == id {
				return m, nil
			}
		}
		return nil, errorf(ErrNoMember, "no member with ID %s", id)
	}
	pt, err := t.getSealed(bucketMembers, codeMembers, id[:])
	if err != nil {
		return nil, err
	}
	if pt == nil {
		return nil, errorf(ErrNoMember, "no member with ID %s", id)
	}
	var m memberRecord
	if err := decodeRecord(pt, &m); err != nil || m.ID != id {
		return nil, errorf(ErrTampered, "a member record of %s is malformed", t.v.path)
	}
	return &m, nil
}

// memberByName returns the active member with that name, ignoring case.
func (t *txn) memberByName(name string) (*memberRecord, error) {
	all, err := t.allMembers()
	if err != nil {
		return nil, err
	}
	want := foldName(name)
	for _, m := range all {
		if m.Removed == nil && foldName(m.Name) == want {
			return m, nil
		}
	}
	return nil, errorf(ErrNoMember, "no member named %q", name)
}

func (t *txn) putMember(m *memberRecord) error {
	if t.members != nil {
		i := slices.IndexFunc(t.members, func(x *memberRecord) bool { return x.ID == m.ID })
		if i < 0 {
			t.members = append(t.members, m)
			slices.SortFunc(t.members, func(a, b *memberRecord) int { return bytes.Compare(a.ID[:], b.ID[:]) })
		} else {
			t.members[i] = m
		}
	}
	return t.putJSON(bucketMembers, codeMembers, m.ID[:], m)
}

// nameOf returns a member's display name for messages and the log.
func (t *txn) nameOf(id ID) string {
	if id == t.v.wrapID && t.v.recovery {
		return "recovery"
	}
	if m, err := t.member(id); err == nil {
		return m.Name
	}
	return "unknown member"
}

// actor returns the acting member, or nil when the vault was opened with a
// recovery key.
func (t *txn) actor() (*memberRecord, error) {
	if t.v.recovery {
		return nil, nil
	}
	// Reads share the record read last: the file cannot change while the
	// vault is open. Writes read it afresh, since they may change it.
	if t.rev == 0 && t.v.me != nil {
		return t.v.me, nil
	}
	m, err := t.member(t.v.wrapID)
	if err == nil && t.rev == 0 {
		t.v.me = m
	}
	return m, err
}

// requireAdmin fails unless the acting member is an admin (a recovery key
// counts as one: it exists to rebuild a vault).
func (t *txn) requireAdmin(what string) error {
	me, err := t.actor()
	if err != nil {
		return err
	}
	if me != nil && !me.Admin {
		return errorf(ErrNotAdmin, "only an admin can %s; ask one of the vault's admins", what)
	}
	return nil
}

// secret returns the secret stored under name (trashed and purged ones
// included) and its bbolt key, or ErrNotFound.
func (t *txn) secret(name string) (*secretRecord, []byte, error) {
	key := t.keys.nameKey(name)
	pt, err := t.getSealed(bucketSecrets, codeSecrets, key)
	if err != nil {
		return nil, nil, err
	}
	if pt == nil {
		return nil, key, errorf(ErrNoSecret, "no secret named %q", name)
	}
	s, err := t.decodeSecret(pt)
	if err != nil {
		return nil, nil, err
	}
	return s, key, nil
}

// secretByKey returns the secret stored under a bbolt key.
func (t *txn) secretByKey(key []byte) (*secretRecord, error) {
	pt, err := t.getSealed(bucketSecrets, codeSecrets, key)
	if err != nil {
		return nil, err
	}
	if pt == nil {
		return nil, errorf(ErrTampered, "a secret record of %s is missing", t.v.path)
	}
	return t.decodeSecret(pt)
}

func (t *txn) decodeSecret(pt []byte) (*secretRecord, error) {
	var s secretRecord
	if err := decodeRecord(pt, &s); err != nil {
		return nil, errorf(ErrTampered, "a secret record of %s is malformed", t.v.path)
	}
	if err := s.validate(); err != nil {
		return nil, errorf(ErrTampered, "a secret record of %s is malformed: %v", t.v.path, err)
	}
	return &s, nil
}

// liveSecret is secret without trashed or purged ones.
func (t *txn) liveSecret(name string) (*secretRecord, []byte, error) {
	s, key, err := t.secret(name)
	if err != nil {
		return nil, nil, err
	}
	if s.Purged != nil {
		return nil, nil, errorf(ErrNoSecret, "no secret named %q", name)
	}
	if s.Deleted != nil {
		return nil, nil, errorf(ErrInTrash, "%q is in the trash", s.Name)
	}
	return s, key, nil
}

// putSecret stores a secret record and keeps the due index in step.
func (t *txn) putSecret(key []byte, s *secretRecord) error {
	if err := t.noteDue(key, s); err != nil {
		return err
	}
	return t.putJSON(bucketSecrets, codeSecrets, key, s)
}

// saveSecret stores a secret record and logs the change, in one go.
func (t *txn) saveSecret(key []byte, s *secretRecord, action, target, detail string) error {
	if err := t.putSecret(key, s); err != nil {
		return err
	}
	return t.appendLog(action, target, detail)
}

// allSecrets returns every secret record with its key, purged ones
// included, in key order.
func (t *txn) allSecrets() ([]*secretRecord, [][]byte, error) {
	var out []*secretRecord
	var keys [][]byte
	err := t.forEachSealed(bucketSecrets, codeSecrets, func(k, pt []byte) error {
		s, err := t.decodeSecret(pt)
		if err != nil {
			return err
		}
		out = append(out, s)
		keys = append(keys, append([]byte(nil), k...))
		return nil
	})
	return out, keys, err
}

// setFlag sets or clears a flag on a record's manifest entry.
func (t *txn) setFlag(code byte, key []byte, flag byte, on bool) {
	mk := manifestKey(code, key)
	e, ok := t.man.get(mk)
	if !ok {
		return
	}
	old := e.flags
	if on {
		e.flags |= flag
	} else {
		e.flags &^= flag
	}
	if e.flags != old {
		t.man.set(e)
		t.dirty = true
	}
}

func (t *txn) hasFlag(code byte, key []byte, flag byte) bool {
	e, _ := t.man.get(manifestKey(code, key))
	return e.flags&flag != 0
}

// putValue stores an age file and returns its ID and hash.
func (t *txn) putValue(ct []byte) (ID, []byte, error) {
	id, err := newID()
	if err != nil {
		return ID{}, nil, err
	}
	if err := t.bucket(bucketValues).Put(id[:], ct); err != nil {
		return ID{}, nil, err
	}
	sum := sha256.Sum256(ct)
	t.dirty = true
	return id, sum[:], nil
}

// value returns the age file of a version, checked against the hash the
// sealed secret record holds for it.
func (t *txn) value(v *version) ([]byte, error) {
	ct := t.bucket(bucketValues).Get(v.Value[:])
	if ct == nil {
		return nil, errorf(ErrTampered, "a value of %s was deleted outside vault", t.v.path)
	}
	sum := sha256.Sum256(ct)
	if !bytes.Equal(sum[:], v.SHA256) {
		return nil, errorf(ErrTampered, "a value of %s was changed outside vault", t.v.path)
	}
	return append([]byte(nil), ct...), nil
}

func (t *txn) deleteValue(id ID) error {
	t.dirty = true
	return t.bucket(bucketValues).Delete(id[:])
}

// appendLog adds an entry to the change log.
func (t *txn) appendLog(action, target, detail string) error {
	e := eventRecord{At: t.now, Actor: t.v.wrapID, ActorName: t.nameOf(t.v.wrapID), Action: action, Target: target, Detail: detail}
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	key := logKey(t.man.logLen + 1)
	sealed, err := t.keys.sealRecord(bucketLog, key, 0, b)
	if err != nil {
		return err
	}
	if err := t.bucket(bucketLog).Put(key, sealed); err != nil {
		return err
	}
	t.man.logLen++
	t.dirty = true
	return nil
}

// recipients returns the age recipients for a list of readers: their keys in
// order, then the vault's recovery keys.
func (t *txn) recipients(readers []ID) ([]age.Recipient, error) {
	if _, err := t.allMembers(); err != nil {
		return nil, err
	}
	out := make([]age.Recipient, 0, len(readers)+1)
	for _, id := range readers {
		m, err := t.member(id)
		if err != nil {
			return nil, err
		}
		r, err := recipient(m.Key)
		if err != nil {
			return nil, errorf(ErrTampered, "member %q has a malformed key", m.Name)
		}
		out = append(out, r)
	}
	s, err := t.settings()
	if err != nil {
		return nil, err
	}
	for _, rk := range s.Recovery {
		r, err := recipient(rk.Key)
		if err != nil {
			return nil, errorf(ErrTampered, "a recovery key is malformed")
		}
		out = append(out, r)
	}
	return out, nil
}

// logKey is the bbolt key of the change-log entry with sequence number n.
func logKey(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }
