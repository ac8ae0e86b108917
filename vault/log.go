package vault

import (
	"time"
)

// Event is one entry of the change log: who changed what, and when. It never
// holds a secret value.
type Event struct {
	Seq    uint64    `json:"seq"`
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	Target string    `json:"target,omitempty"`
	Detail string    `json:"detail,omitempty"`
}

// Log returns the change log, oldest first.
func (v *Vault) Log() ([]Event, error) {
	var out []Event
	err := v.view(func(t *txn) error {
		logs, err := t.logPlaintexts()
		if err != nil {
			return err
		}
		out = make([]Event, 0, len(logs))
		for i, pt := range logs {
			var e eventRecord
			if err := decodeRecord(pt, &e); err != nil {
				return errorf(ErrTampered, "a change-log entry of %s is malformed", t.v.path)
			}
			out = append(out, Event{Seq: uint64(i + 1), At: e.At, Actor: e.ActorName, Action: e.Action, Target: e.Target, Detail: e.Detail})
		}
		return nil
	})
	return out, err
}

// Info describes an open vault.
type Info struct {
	Path    string    `json:"path"`
	Name    string    `json:"name"`
	Kind    Kind      `json:"kind"`
	Created time.Time `json:"created"`
	Format  int       `json:"format"`
	// Counter grows with every committed change.
	Counter uint64 `json:"counter"`
	// Recovery is true when the vault was opened with a recovery key.
	Recovery bool `json:"recovery"`
}

// Info returns the vault's name, kind and write counter.
func (v *Vault) Info() (Info, error) {
	var out Info
	err := v.view(func(t *txn) error {
		s, err := t.settings()
		if err != nil {
			return err
		}
		out = Info{Path: v.path, Name: s.Name, Kind: s.Kind, Created: s.Created.At, Format: FormatVersion, Counter: t.man.counter, Recovery: v.recovery}
		return nil
	})
	return out, err
}

// Chores reports what [Vault.Maintain] did.
type Chores struct {
	// Reencrypted are the secrets re-encrypted for changed readers.
	Reencrypted []string
}

// activeEvery is how often a member's last-active date is refreshed; it is
// a date for access reviews, not a tracker.
const activeEvery = 20 * time.Hour

// Maintain does the small chores that fall to whoever uses the vault: it
// refreshes the member's last-active date (at most about once a day), and
// re-encrypts the secrets whose readers changed while the member who
// changed them could not read them, where this member can. It writes only
// when there is something to do.
func (v *Vault) Maintain() (Chores, error) {
	var out Chores
	if v.db == nil || v.db.IsReadOnly() {
		return out, nil
	}
	work := false
	err := v.view(func(t *txn) error {
		me, err := t.actor()
		if err != nil {
			return err
		}
		if me != nil && me.Removed != nil {
			return nil // removed in this very process: nothing more to do
		}
		if me != nil && t.now.Sub(me.LastActive) > activeEvery {
			work = true
			return nil
		}
		for _, key := range t.flagged() {
			s, err := t.secretByKey(key)
			if err != nil {
				return err
			}
			if t.canReencrypt(s) {
				work = true
				return nil
			}
		}
		return nil
	})
	if err != nil || !work {
		return out, err
	}
	err = v.update(func(t *txn) error {
		out = Chores{}
		if me, err := t.actor(); err != nil {
			return err
		} else if me != nil && t.now.Sub(me.LastActive) > activeEvery {
			me.LastActive = t.now
			if err := t.putMember(me); err != nil {
				return err
			}
		}
		var keys [][]byte
		var secrets []*secretRecord
		for _, key := range t.flagged() {
			s, err := t.secretByKey(key)
			if err != nil {
				return err
			}
			if t.canReencrypt(s) {
				keys, secrets = append(keys, key), append(secrets, s)
			}
		}
		if _, err := t.reconcileAndStore(keys, secrets, ""); err != nil {
			return err
		}
		for i, s := range secrets {
			if !t.hasFlag(codeSecrets, keys[i], flagReencrypt) {
				out.Reencrypted = append(out.Reencrypted, s.Name)
				if err := t.appendLog("secret.reencrypt", s.Name, "readers updated"); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return out, err
}

// flagged returns the keys of the secrets waiting to be re-encrypted, in key
// order.
func (t *txn) flagged() [][]byte {
	var out [][]byte
	for _, e := range t.man.entries.all() {
		if e.key[0] == codeSecrets && e.flags&flagReencrypt != 0 {
			out = append(out, []byte(e.key[1:]))
		}
	}
	return out
}

// canReencrypt reports whether the acting key can read every value of s
// that would be re-encrypted.
func (t *txn) canReencrypt(s *secretRecord) bool {
	return s.Purged == nil && s.Current != nil && t.canRead(s.Current) && (s.Pending == nil || t.canRead(s.Pending))
}
