package vault

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/mutual-aid-vault/vault/rotation"
)

// Reminders are what one member should be told at the start of every
// command: the things they can act on that are due. Every list is sorted by
// name.
type Reminders struct {
	// Overdue, RotateNow and Pending are secrets the member can read (and so
	// rotate) in each state.
	Overdue   []string
	RotateNow []string
	Pending   []string
	// Review is set, for admins, when the access review is due or overdue.
	Review *rotation.Status
	// Waiting are, for admins, secrets whose readers changed and that wait
	// for one of their readers to re-encrypt them.
	Waiting []string
}

// Empty reports whether there is nothing to remind of.
func (r Reminders) Empty() bool {
	return len(r.Overdue)+len(r.RotateNow)+len(r.Pending)+len(r.Waiting) == 0 && r.Review == nil
}

// Reminders says what the acting member can act on that is due. It reads
// the due summary (a few hundred bytes) and, only when something is due for
// this member, the due index for the names; never every secret. So it costs
// little enough to run before every command.
func (v *Vault) Reminders() (Reminders, error) {
	var out Reminders
	err := v.view(func(t *txn) error {
		sum, err := t.dueSummary()
		if err != nil {
			return err
		}
		me, err := t.actor()
		if err != nil {
			return err
		}
		admin := me == nil || me.Admin
		today := dayNumber(t.now)
		pol := t.v.policy()
		mine := sum.all
		if me != nil {
			mine = sum.member(me.Num)
		}
		if admin {
			if state, left := pol.ByDate(fromDayNumber(sum.review), t.now); state != rotation.OK {
				out.Review = &rotation.Status{State: state, Due: fromDayNumber(sum.review), DaysLeft: left}
			}
		}
		if mine.flags == 0 && mine.earliest >= today && !(admin && sum.waiting) {
			return nil
		}
		d, err := t.dueIdx()
		if err != nil {
			return err
		}
		for _, e := range d.entries.all() {
			if me != nil && !e.reads(me.Num) {
				continue
			}
			switch {
			case e.flags&dueRotateNow != 0:
				out.RotateNow = append(out.RotateNow, e.name)
			case e.flags&duePending != 0:
				out.Pending = append(out.Pending, e.name)
			case e.due < today:
				out.Overdue = append(out.Overdue, e.name)
			}
		}
		if !admin {
			return nil
		}
		for _, key := range t.flagged() {
			if e, ok := d.entries.get(string(key)); ok {
				out.Waiting = append(out.Waiting, e.name)
			}
		}
		return nil
	})
	for _, l := range [][]string{out.Overdue, out.RotateNow, out.Pending, out.Waiting} {
		sortNames(l)
	}
	return out, err
}

// lastReview is when the access review was last held, or when the vault was
// created if never.
func (s *settingsRecord) lastReview() time.Time {
	if s.Reviewed != nil {
		return s.Reviewed.At
	}
	return s.Created.At
}

// DueItem is one thing that is due: a secret to rotate, the access review,
// or a secret waiting to be re-encrypted.
type DueItem struct {
	// Kind is "secret", "review" or "reencrypt".
	Kind  string         `json:"kind"`
	Name  string         `json:"name,omitempty"`
	State rotation.State `json:"state"`
	// Date is when it was or is due (for rotate-now: when it was marked).
	Date   time.Time `json:"date"`
	Reason string    `json:"reason"`
	// CanAct is true when the acting member can do it: read (so rotate) the
	// secret, or, for the review and re-encryption, be an admin or reader.
	CanAct bool `json:"can_act"`
	// Readers are who can rotate a secret.
	Readers []string `json:"readers,omitempty"`
}

// Due lists everything due in the whole vault within the next `within`
// days (the warning window when negative), most urgent first: secrets to
// rotate now, overdue, pending, due soon; the access review; secrets
// waiting to be re-encrypted for new readers.
func (v *Vault) Due(within int) ([]DueItem, error) {
	var out []DueItem
	err := v.view(func(t *txn) error {
		pol := t.v.policy()
		if within >= 0 {
			pol.Window = within
		}
		me, err := t.actor()
		if err != nil {
			return err
		}
		admin := me == nil || me.Admin
		secrets, keys, err := t.allSecrets()
		if err != nil {
			return err
		}
		for i, s := range secrets {
			if s.Purged != nil || s.Deleted != nil {
				continue
			}
			view, err := t.secretView(s)
			if err != nil {
				return err
			}
			rs := rotation.Secret{LastRotated: s.LastRotated, Every: s.RotateEvery}
			if s.RotateNow != nil {
				rs.RotateNow = s.RotateNow.Text
			}
			if s.Pending != nil {
				rs.Pending = s.Pending.Created.At
			}
			st := pol.Status(rs, t.now)
			if st.State != rotation.OK {
				date := st.Due
				switch st.State {
				case rotation.RotateNow:
					date = s.RotateNow.At
				case rotation.Pending:
					date = s.Pending.Created.At
				}
				out = append(out, DueItem{Kind: "secret", Name: s.Name, State: st.State, Date: date, Reason: st.Reason, CanAct: view.CanRead, Readers: view.Readers})
			}
			if t.hasFlag(codeSecrets, keys[i], flagReencrypt) {
				out = append(out, DueItem{Kind: "reencrypt", Name: s.Name, State: rotation.Pending, Date: s.Updated.At,
					Reason: "waiting for one of its readers (" + strings.Join(view.Readers, ", ") + ") to re-encrypt it for " + strings.Join(view.Waiting, ", "),
					CanAct: view.CanRead, Readers: view.Readers})
			}
		}
		settings, err := t.settings()
		if err != nil {
			return err
		}
		if st := pol.Review(settings.lastReview(), t.now); st.State != rotation.OK {
			out = append(out, DueItem{Kind: "review", State: st.State, Date: st.Due, Reason: st.Reason, CanAct: admin})
		}
		return nil
	})
	slices.SortStableFunc(out, func(a, b DueItem) int {
		if c := cmp.Compare(b.State, a.State); c != 0 {
			return c
		}
		if c := a.Date.Compare(b.Date); c != 0 {
			return c
		}
		return strings.Compare(foldName(a.Name), foldName(b.Name))
	})
	return out, err
}

// Review is the group's periodic data and access audit: what is stored,
// who can read it, who the members are and whether they are still active.
// It never holds a secret value.
type Review struct {
	Vault string    `json:"vault"`
	At    time.Time `json:"at"`
	// LastReview is when the group last held one (nil: never), by whom.
	LastReview   *time.Time      `json:"last_review,omitempty"`
	LastReviewBy string          `json:"last_review_by,omitempty"`
	Next         rotation.Status `json:"next"`
	Secrets      []ReviewSecret  `json:"secrets"`
	Members      []ReviewMember  `json:"members"`
	// InactiveAfter is the number of days that make a member inactive.
	InactiveAfter int `json:"inactive_after_days"`
}

// ReviewSecret is one secret in the review.
type ReviewSecret struct {
	Name        string         `json:"name"`
	SharedWith  []string       `json:"shared_with"`
	Readers     []string       `json:"readers"`
	Waiting     []string       `json:"waiting,omitempty"`
	LastRotated time.Time      `json:"last_rotated"`
	Due         time.Time      `json:"due"`
	State       rotation.State `json:"state"`
	Reason      string         `json:"reason"`
}

// ReviewMember is one member in the review.
type ReviewMember struct {
	Name       string    `json:"name"`
	Groups     []string  `json:"groups"`
	Admin      bool      `json:"admin"`
	Added      time.Time `json:"added"`
	AddedBy    string    `json:"added_by"`
	LastActive time.Time `json:"last_active"`
	Inactive   bool      `json:"inactive"`
	// Reads is how many secrets the member can read.
	Reads int `json:"reads"`
}

// Review gathers the access review.
func (v *Vault) Review() (Review, error) {
	var out Review
	err := v.view(func(t *txn) error {
		pol := t.v.policy()
		settings, err := t.settings()
		if err != nil {
			return err
		}
		out = Review{Vault: settings.Name, At: t.now, Next: pol.Review(settings.lastReview(), t.now), InactiveAfter: pol.InactiveAfter,
			Secrets: []ReviewSecret{}, Members: []ReviewMember{}}
		if settings.Reviewed != nil {
			at := settings.Reviewed.At
			out.LastReview, out.LastReviewBy = &at, t.nameOf(settings.Reviewed.By)
		}
		secrets, _, err := t.allSecrets()
		if err != nil {
			return err
		}
		reads := map[ID]int{}
		for _, s := range secrets {
			if s.Purged != nil || s.Deleted != nil {
				continue
			}
			view, err := t.secretView(s)
			if err != nil {
				return err
			}
			for _, id := range s.Current.Readers {
				reads[id]++
			}
			out.Secrets = append(out.Secrets, ReviewSecret{Name: s.Name, SharedWith: view.SharedWith, Readers: view.Readers, Waiting: view.Waiting,
				LastRotated: s.LastRotated, Due: view.Due, State: view.State, Reason: view.Reason})
		}
		all, err := t.allMembers()
		if err != nil {
			return err
		}
		for _, m := range all {
			if m.Removed != nil {
				continue
			}
			mv := t.memberView(m)
			// A member who never used the vault counts from when they were
			// added: someone added today is not inactive.
			seen := m.LastActive
			if m.Added.At.After(seen) {
				seen = m.Added.At
			}
			out.Members = append(out.Members, ReviewMember{Name: m.Name, Groups: mv.Groups, Admin: m.Admin, Added: m.Added.At, AddedBy: mv.AddedBy,
				LastActive: m.LastActive, Inactive: pol.Inactive(seen, t.now), Reads: reads[m.ID]})
		}
		return nil
	})
	sortByName(out.Secrets, func(s ReviewSecret) string { return s.Name })
	sortByName(out.Members, func(m ReviewMember) string { return m.Name })
	return out, err
}

// MarkReviewed records that the group held its access review now, which
// starts the next period. Only admins may.
func (v *Vault) MarkReviewed() error {
	return v.update(func(t *txn) error {
		if err := t.requireAdmin("mark the access review done"); err != nil {
			return err
		}
		s, err := t.settings()
		if err != nil {
			return err
		}
		s.Reviewed = &stamp{At: t.now, By: t.v.wrapID}
		if err := t.putSettings(s); err != nil {
			return err
		}
		return t.appendLog("review.done", "", "next due "+t.v.policy().Review(t.now, t.now).Due.Format(time.DateOnly))
	})
}
