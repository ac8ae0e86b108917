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
	err := v.view(func(r *reader) error {
		me := r.me()
		pol := v.policy()
		return r.ix.b(bDue).ForEach(func(k, ct []byte) error {
			var e dueEntry
			if err := r.ix.openRecord(bDue, k, ct, &e); err != nil {
				return err
			}
			if e.Deleted {
				return nil
			}
			due := fromDayNumber(e.Due)
			state, _ := pol.ByDate(due, r.now)
			switch {
			case e.Flags&dueRotateNow != 0:
				state = rotation.RotateNow
			case e.Flags&duePending != 0:
				state = rotation.Pending
			}
			out = append(out, Summary{Name: e.Name, State: state, Due: due, CanRead: me.Recovery || e.reads(me.Num),
				Pending: e.Flags&duePending != 0, Waiting: e.Flags&dueWaiting != 0})
			return nil
		})
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
