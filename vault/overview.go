package vault

import (
	"time"

	"github.com/mutual-aid-vault/vault/rotation"
)

// Summary is what a list of secrets shows at a glance: name and state. It
// comes from the due index, so listing ten thousand secrets costs
// milliseconds; [Vault.Get] gives the rest of one secret.
type Summary struct {
	Name  string         `json:"name"`
	State rotation.State `json:"state"`
	Due   time.Time      `json:"due"`
	// CanRead reports whether the acting member can read the value.
	CanRead bool `json:"can_read"`
	Pending bool `json:"pending"`
	// Waiting is true when its readers changed and it waits for one of them
	// to re-encrypt it.
	Waiting bool `json:"waiting"`
}

// Overview returns a summary of every live secret (not those in the
// trash), most urgent first, then by name.
func (v *Vault) Overview() ([]Summary, error) {
	var out []Summary
	err := v.view(func(t *txn) error {
		d, err := t.dueIdx()
		if err != nil {
			return err
		}
		me, err := t.actor()
		if err != nil {
			return err
		}
		pol := t.v.policy()
		all := d.entries.all()
		out = make([]Summary, 0, len(all))
		for _, e := range all {
			due := fromDayNumber(e.due)
			state, _ := pol.ByDate(due, t.now)
			switch {
			case e.flags&dueRotateNow != 0:
				state = rotation.RotateNow
			case e.flags&duePending != 0:
				state = rotation.Pending
			}
			e2, _ := t.man.get(manifestKey(codeSecrets, []byte(e.key)))
			out = append(out, Summary{
				Name: e.name, State: state, Due: due,
				CanRead: me == nil || e.reads(me.Num),
				Pending: e.flags&duePending != 0,
				Waiting: e2.flags&flagReencrypt != 0,
			})
		}
		return nil
	})
	SortByUrgency(out)
	return out, err
}

// SortByUrgency sorts summaries most urgent first (rotate now, overdue,
// pending, due soon, ok), then by due date, then by name.
func SortByUrgency(s []Summary) {
	sortByName(s, func(x Summary) string { return x.Name })
	stableSort(s, func(a, b Summary) int {
		if a.State != b.State {
			return int(b.State) - int(a.State)
		}
		return a.Due.Compare(b.Due)
	})
}

// Entry is one secret to add with [Vault.AddMany].
type Entry struct {
	Secret NewSecret
	Value  Value
}

// AddMany adds many secrets in one transaction: all of them, or none. It is
// how a group imports its existing passwords at once.
func (v *Vault) AddMany(entries []Entry) error {
	type prepared struct {
		name   string
		period rotation.Period
	}
	prep := make([]prepared, len(entries))
	for i, e := range entries {
		name, period, err := e.Secret.clean()
		if err != nil {
			return err
		}
		if err := e.Value.validate(); err != nil {
			return errorf(ErrInvalid, "%s: %v", name, err)
		}
		prep[i] = prepared{name, period}
	}
	return v.update(func(t *txn) error {
		for i, e := range entries {
			if err := t.add(prep[i].name, prep[i].period, e.Secret, e.Value); err != nil {
				return err
			}
		}
		return nil
	})
}
