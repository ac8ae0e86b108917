package vault

import "bytes"

// rekey issues a new vault key inside the transaction: every sealed record
// is sealed again with it, secret names are indexed under it, and it is
// wrapped to every active member and recovery key, and to nobody else.
// secrets and keys are all the secret records (with the caller's changes)
// and the keys they are stored under now.
func (t *txn) rekey(secrets []*secretRecord, keys [][]byte) error {
	old := t.keys
	ring, err := newKeyring(old.vaultID, old.epoch+1)
	if err != nil {
		return err
	}
	members, err := t.allMembers()
	if err != nil {
		return err
	}
	settings, err := t.settings()
	if err != nil {
		return err
	}
	logs, err := t.logPlaintexts()
	if err != nil {
		return err
	}
	if _, err := t.dueIdx(); err != nil {
		return err
	}
	// The due summary is written afresh at commit, under the new key.
	if err := t.deleteSealed(bucketMeta, codeMeta, []byte(metaDueSummary)); err != nil {
		return err
	}
	flags := make([]byte, len(keys))
	for i, k := range keys {
		e, _ := t.man.get(manifestKey(codeSecrets, k))
		flags[i] = e.flags
		if err := t.deleteSealed(bucketSecrets, codeSecrets, k); err != nil {
			return err
		}
	}

	t.keys = ring
	t.dueDirty = true // sealed again at commit, with the new key
	for _, m := range members {
		if err := t.putMember(m); err != nil {
			return err
		}
	}
	if err := t.putSettings(settings); err != nil {
		return err
	}
	for i, s := range secrets {
		k := ring.nameKey(s.Name)
		if err := t.putSecret(k, s); err != nil {
			return err
		}
		t.setFlag(codeSecrets, k, flags[i], true)
	}
	lb := t.bucket(bucketLog)
	for i, pt := range logs {
		k := logKey(uint64(i + 1))
		sealed, err := ring.sealRecord(bucketLog, k, 0, pt)
		if err != nil {
			return err
		}
		if err := lb.Put(k, sealed); err != nil {
			return err
		}
	}
	return t.rewrap(members, settings)
}

// rewrap replaces every key wrap with one of the current vault key for each
// active member and recovery key.
func (t *txn) rewrap(members []*memberRecord, settings *settingsRecord) error {
	kb := t.bucket(bucketKeys)
	var stale [][]byte
	if err := kb.ForEach(func(k, _ []byte) error {
		stale = append(stale, append([]byte(nil), k...))
		return nil
	}); err != nil {
		return err
	}
	for _, k := range stale {
		if err := kb.Delete(k); err != nil {
			return err
		}
	}
	put := func(id ID, key string) error {
		r, err := recipient(key)
		if err != nil {
			return errorf(ErrTampered, "a stored key is malformed")
		}
		wrap, err := t.keys.wrapFor(r)
		if err != nil {
			return err
		}
		return kb.Put(id[:], wrap)
	}
	for _, m := range members {
		if m.Removed == nil {
			if err := put(m.ID, m.Key); err != nil {
				return err
			}
		}
	}
	for _, r := range settings.Recovery {
		if err := put(r.ID, r.Key); err != nil {
			return err
		}
	}
	t.dirty = true
	return nil
}

// logPlaintexts opens every change-log entry, in order, checking that none
// is missing, extra, moved or changed.
func (t *txn) logPlaintexts() ([][]byte, error) {
	var out [][]byte
	c := t.bucket(bucketLog).Cursor()
	for k, sealed := c.First(); k != nil; k, sealed = c.Next() {
		if !bytes.Equal(k, logKey(uint64(len(out)+1))) {
			return nil, errorf(ErrTampered, "the change log of %s has a gap or an extra entry", t.v.path)
		}
		pt, err := t.keys.openRecord(bucketLog, k, 0, sealed)
		if err != nil {
			return nil, errorf(ErrTampered, "a change-log entry of %s was changed outside vault", t.v.path)
		}
		out = append(out, pt)
	}
	if uint64(len(out)) != t.man.logLen {
		return nil, errorf(ErrTampered, "the change log of %s was cut short outside vault", t.v.path)
	}
	return out, nil
}
