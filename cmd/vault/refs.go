package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/mutual-aid-vault/vault/vault"
)

// A reference names a secret and one of its fields, for 'vault run' and
// 'vault inject': NAME or NAME:FIELD.

// fieldList says which fields a reference may select, for messages.
const fieldList = "password (the default), username, url or note"

// isField reports whether s names a field a reference may select.
func isField(s string) bool {
	switch s {
	case "password", "value", "username", "url", "note":
		return true
	}
	return false
}

// secretRef is one secret and the field of it a program asks for.
type secretRef struct {
	name  string
	field string // password (also value), username, url or note
	// from says where it was asked for, for messages: "--env DB_PASS",
	// "deploy.env:3".
	from string
}

// parseRef reads NAME[:FIELD]. Secret names may hold ':' themselves, so
// the part after the last ':' is a field only when it names one: "a:b" is
// the secret "a:b", and "a:b:url" its URL.
func parseRef(s string) secretRef {
	if i := strings.LastIndexByte(s, ':'); i > 0 && isField(s[i+1:]) {
		return secretRef{name: s[:i], field: s[i+1:]}
	}
	return secretRef{name: s, field: "password"}
}

// dueSecret is a secret marked rotate-now and why.
type dueSecret struct{ name, why string }

func (d dueSecret) String() string { return fmt.Sprintf("%s (%s)", d.name, d.why) }

// resolver looks up what programs and templates refer to in one open
// vault, and remembers the secrets that must be rotated now.
type resolver struct {
	v *vault.Vault
	// mustRotate are the referenced secrets marked rotate-now, and why.
	mustRotate []dueSecret
	flagged    map[string]bool
	values     []vault.Value
}

func newResolver(v *vault.Vault) *resolver {
	return &resolver{v: v, flagged: map[string]bool{}}
}

// lookup returns the field ref selects. Errors are those 'vault get'
// gives for the same secret and field, with where the reference came
// from: exit 3 for no such secret (or one in the trash), 4 for a secret
// the member cannot read.
func (r *resolver) lookup(ref secretRef) (vault.Value, error) {
	val, err := r.get(ref)
	if err != nil {
		if errors.Is(err, vault.ErrNoSecret) && strings.Contains(ref.name, ":") {
			err = fmt.Errorf("%w (after the last ':' may come a field: %s)", err, fieldList)
		}
		if ref.from != "" {
			err = fmt.Errorf("%s: %w", ref.from, err)
		}
		return vault.Value{}, err
	}
	r.values = append(r.values, val)
	return val, nil
}

func (r *resolver) get(ref secretRef) (vault.Value, error) {
	s, err := r.v.Get(ref.name)
	if err != nil {
		return vault.Value{}, err
	}
	if s.Deleted != nil {
		return vault.Value{}, fail(vault.ErrInTrash, "%q is in the trash", s.Name)
	}
	var val vault.Value
	switch ref.field {
	case "password", "value":
		if val, err = r.v.Reveal(ref.name, 0); err != nil {
			return vault.Value{}, err
		}
	default:
		text := map[string]string{"username": s.Username, "url": s.URL, "note": s.Note}[ref.field]
		if text == "" {
			return vault.Value{}, fail(vault.ErrInvalid, "%s has no %s; set one with 'vault edit %s --%s …'", s.Name, ref.field, s.Name, ref.field)
		}
		val = vault.NewValue([]byte(text))
	}
	if s.RotateNow != nil && !r.flagged[s.Name] {
		r.flagged[s.Name] = true
		r.mustRotate = append(r.mustRotate, dueSecret{s.Name, s.RotateNow.Text})
	}
	return val, nil
}

// refuseDue returns an error (exit 10) when a referenced secret must be
// rotated now: someone who could read it was removed or unshared, so the
// value a program would get is known to someone who should not know it.
// Overdue secrets are not refused: a date passing should not stop a
// group's jobs, and every command reminds of them.
func (r *resolver) refuseDue(allowDue bool) error {
	switch {
	case allowDue || len(r.mustRotate) == 0:
		return nil
	case len(r.mustRotate) == 1:
		d := r.mustRotate[0]
		return fail(errDue, "%s must be rotated now: change it with 'vault rotate %s' (then --confirm), or pass --allow-due to use it anyway", d, d.name)
	}
	var all []string
	for _, d := range r.mustRotate {
		all = append(all, d.String())
	}
	return fail(errDue, "%d secrets must be rotated now: %s; rotate them first ('vault due' lists them), or pass --allow-due to use them anyway", len(all), strings.Join(all, ", "))
}

// wipe clears the values looked up.
func (r *resolver) wipe() {
	for _, v := range r.values {
		v.Wipe()
	}
	r.values = nil
}
