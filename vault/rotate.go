package vault

import (
	"github.com/mutual-aid-vault/vault/rotation"
	"github.com/mutual-aid-vault/vault/vault/internal/fold"
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
	err := v.view(func(r *reader) error {
		s, err := r.checkSet(name)
		if err != nil {
			return err
		}
		out = r.secretView(s)
		return nil
	})
	return out, err
}

// StartRotation stores val as the pending value of a secret, encrypted to
// its readers. It fails if a rotation is already pending: that value may
// already be set at the service.
func (v *Vault) StartRotation(name string, val Value) (Secret, error) {
	if err := val.validate(); err != nil {
		return Secret{}, err
	}
	return v.changeSecret(name, func(r *reader, s *fold.Secret) ([]change, error) {
		if _, err := r.checkSet(name); err != nil {
			return nil, err
		}
		c, err := r.valueChange(fold.KindRotate, s, val)
		return []change{c}, err
	})
}

// pendingSecret checks that s has a rotation pending that the acting
// member may settle.
func (r *reader) pendingSecret(s *fold.Secret) (*fold.Version, error) {
	if s.Deleted != nil {
		return nil, errorf(ErrInTrash, "%q is in the trash", s.Name)
	}
	p := s.PendingVersion()
	if p == nil {
		return nil, errorf(ErrInvalid, "no rotation of %q is pending; start one with rotate", s.Name)
	}
	if !r.canRead(p) {
		return nil, errorf(ErrNotReader, "you are not a reader of %q; only its readers can settle its rotation", s.Name)
	}
	return p, nil
}

// ConfirmRotation makes the pending value current, once it has been
// changed at the service: the old value moves into history, the secret
// counts as rotated now, and the reasons to rotate it are cleared.
func (v *Vault) ConfirmRotation(name string) (Secret, error) {
	return v.changeSecret(name, func(r *reader, s *fold.Secret) ([]change, error) {
		p, err := r.pendingSecret(s)
		if err != nil {
			return nil, err
		}
		return []change{{kind: fold.KindConfirm, payload: fold.Settle{Secret: s.ID, Version: p.Op}}}, nil
	})
}

// AbortRotation drops the pending value: the current one stays current.
// The dropped value is kept in history, marked aborted, in case it was set
// at the service after all; it returns its version number.
func (v *Vault) AbortRotation(name string) (Secret, int, error) {
	n := 0
	s, err := v.changeSecret(name, func(r *reader, s *fold.Secret) ([]change, error) {
		p, err := r.pendingSecret(s)
		if err != nil {
			return nil, err
		}
		n = p.N
		return []change{{kind: fold.KindAbort, payload: fold.Settle{Secret: s.ID, Version: p.Op}}}, nil
	})
	return s, n, err
}

// RevealPending decrypts the pending value of a secret.
func (v *Vault) RevealPending(name string) (Value, error) {
	var out Value
	err := v.view(func(r *reader) error {
		s, err := r.liveSecret(name)
		if err != nil {
			return err
		}
		p, err := r.pendingSecret(s)
		if err != nil {
			return err
		}
		out, err = r.decrypt(p)
		return err
	})
	return out, err
}

// status returns where a secret stands in its rotation cycle now.
func (r *reader) status(s *fold.Secret) rotation.Status {
	rs := rotation.Secret{LastRotated: s.LastRotated, Every: s.RotateEvery}
	if len(s.RotateNow) > 0 {
		rs.RotateNow = s.RotateNow[0].Text
	}
	if p := s.PendingVersion(); p != nil {
		rs.Pending = p.Created.At
	}
	return r.v.policy().Status(rs, r.now)
}

// policy returns the group's timing rules.
func (v *Vault) policy() rotation.Policy { return rotation.DefaultPolicy() }
