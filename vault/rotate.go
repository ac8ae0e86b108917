package vault

import (
	"fmt"
	"slices"

	"github.com/mutual-aid-vault/vault/rotation"
)

// Rotating a password is two-phase, so that an interruption never loses
// either value: StartRotation stores the new value as pending beside the
// current one; the organizer changes the password at the service; then
// ConfirmRotation makes the pending value current (the old one goes into
// history), or AbortRotation drops it (into history too, marked aborted, in
// case it had already been set at the service). Until confirmed, Reveal
// returns the current value and RevealPending the new one.

// CheckRotate reports whether a rotation of name can start, and returns the
// secret (with its password rules), so that callers can refuse before
// generating or asking for a value.
func (v *Vault) CheckRotate(name string) (Secret, error) {
	var out Secret
	err := v.view(func(t *txn) error {
		s, _, _, err := t.checkSet(name)
		if err != nil {
			return err
		}
		out, err = t.secretView(s)
		return err
	})
	return out, err
}

// StartRotation stores val as the pending value of a secret, encrypted to
// the same readers as the current one. It fails if a rotation is already
// pending: that value may already be set at the service.
func (v *Vault) StartRotation(name string, val Value) (Secret, error) {
	if err := val.validate(); err != nil {
		return Secret{}, err
	}
	var out Secret
	err := v.update(func(t *txn) error {
		s, key, p, err := t.nextVersion(name, val)
		if err != nil {
			return err
		}
		s.Pending = p
		s.Updated = stamp{At: t.now, By: t.v.wrapID}
		if err := t.saveSecret(key, s, "secret.rotate", s.Name, fmt.Sprintf("version %d pending", p.N)); err != nil {
			return err
		}
		out, err = t.secretView(s)
		return err
	})
	return out, err
}

// pendingSecret finds a secret with a rotation pending that the acting
// member may settle.
func (t *txn) pendingSecret(name string) (*secretRecord, []byte, error) {
	s, key, err := t.liveSecret(name)
	if err != nil {
		return nil, nil, err
	}
	if s.Pending == nil {
		return nil, nil, errorf(ErrInvalid, "no rotation of %q is pending; start one with rotate", s.Name)
	}
	if !t.canRead(s.Pending) {
		return nil, nil, errorf(ErrNotReader, "you are not a reader of %q; only its readers can settle its rotation", s.Name)
	}
	return s, key, nil
}

// ConfirmRotation makes the pending value current, once it has been
// changed at the service: the old value moves into history, the secret
// counts as rotated now, and any rotate-now mark is cleared.
func (v *Vault) ConfirmRotation(name string) (Secret, error) {
	var out Secret
	err := v.update(func(t *txn) error {
		s, key, err := t.pendingSecret(name)
		if err != nil {
			return err
		}
		t.makeCurrent(s, s.Pending)
		s.Pending = nil
		if err := t.saveSecret(key, s, "secret.rotate.confirm", s.Name, fmt.Sprintf("version %d current", s.Current.N)); err != nil {
			return err
		}
		out, err = t.secretView(s)
		return err
	})
	return out, err
}

// AbortRotation drops the pending value: the current one stays current.
// The dropped value is kept in history, marked aborted, in case it was set
// at the service after all; it returns its version number.
func (v *Vault) AbortRotation(name string) (Secret, int, error) {
	var out Secret
	var n int
	err := v.update(func(t *txn) error {
		s, key, err := t.pendingSecret(name)
		if err != nil {
			return err
		}
		p := *s.Pending
		p.Aborted = &stamp{At: t.now, By: t.v.wrapID}
		n = p.N
		s.History = append(s.History, p)
		slices.SortFunc(s.History, func(a, b version) int { return a.N - b.N })
		s.Pending = nil
		s.Updated = stamp{At: t.now, By: t.v.wrapID}
		if err := t.saveSecret(key, s, "secret.rotate.abort", s.Name, fmt.Sprintf("version %d dropped", n)); err != nil {
			return err
		}
		out, err = t.secretView(s)
		return err
	})
	return out, n, err
}

// RevealPending decrypts the pending value of a secret.
func (v *Vault) RevealPending(name string) (Value, error) {
	var out Value
	err := v.view(func(t *txn) error {
		s, _, err := t.pendingSecret(name)
		if err != nil {
			return err
		}
		out, err = t.decrypt(s.Pending)
		return err
	})
	return out, err
}

// status returns where a secret stands in its rotation cycle now.
func (t *txn) status(s *secretRecord) rotation.Status {
	rs := rotation.Secret{LastRotated: s.LastRotated, Every: s.RotateEvery}
	if s.RotateNow != nil {
		rs.RotateNow = s.RotateNow.Text
	}
	if s.Pending != nil {
		rs.Pending = s.Pending.Created.At
	}
	return t.v.policy().Status(rs, t.now)
}

// policy returns the group's timing rules.
func (v *Vault) policy() rotation.Policy { return rotation.DefaultPolicy() }
