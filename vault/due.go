package vault

import (
	"cmp"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/mutual-aid-vault/vault/rotation"
	"github.com/mutual-aid-vault/vault/vault/internal/fold"
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
	// Reencrypt are the waiting secrets this member can re-encrypt: their
	// next change (or 'vault sync') does it.
	Reencrypt []string
}

// Empty reports whether there is nothing to remind of.
func (r Reminders) Empty() bool {
	return len(r.Overdue)+len(r.RotateNow)+len(r.Pending)+len(r.Waiting)+len(r.Reencrypt) == 0 && r.Review == nil
}

// lastReview is when the access review was last held, or when the vault
// was created if never.
func lastReview(a *fold.Auth) time.Time {
	if a.Reviewed != nil {
		return a.Reviewed.At
	}
	return a.Created.At
}

// Reminders says what the acting member can act on that is due. It reads
// the secrets flagged (rotate now, pending, waiting) and the overdue end
// of the due index, never every secret, so it costs little enough to run
// before every command.
//
// The last answer is kept in the state folder, sealed, for as long as this
// machine's copy and the day stay the same: at 10,000 secrets a thousand
// may be overdue, each a record to open.
func (v *Vault) Reminders() (Reminders, error) {
	var out Reminders
	var key remindersKey
	cached := false
	err := v.view(func(r *reader) error {
		key = remindersKey{Tx: uint64(r.ix.tx.ID()), Day: r.now.Format(time.DateOnly) + " " + r.now.UTC().Format(time.DateOnly), Me: v.me}
		if c, ok := v.readReminders(key); ok {
			out, cached = c, true
			return nil
		}
		me := r.me()
		admin := r.isAdmin()
		pol := v.policy()
		if admin {
			st := pol.Review(lastReview(r.auth), r.now)
			if st.State != rotation.OK {
				out.Review = &st
			}
		}
		mine := func(e *dueEntry) bool { return me.Recovery || e.reads(me.Num) }
		err := r.ix.b(bFlagged).ForEach(func(k, ct []byte) error {
			var e dueEntry
			if err := r.ix.openRecord(bFlagged, k, ct, &e); err != nil {
				return err
			}
			switch {
			case e.Flags&dueRotateNow != 0 && mine(&e):
				out.RotateNow = append(out.RotateNow, e.Name)
			case e.Flags&duePending != 0 && mine(&e):
				out.Pending = append(out.Pending, e.Name)
			}
			if e.Flags&dueWaiting != 0 && admin {
				out.Waiting = append(out.Waiting, e.Name)
			}
			if e.Flags&dueWaiting != 0 && !e.Deleted && e.reads(me.Num) {
				out.Reencrypt = append(out.Reencrypt, e.Name)
			}
			return nil
		})
		if err != nil {
			return err
		}
		// The overdue end of the due index, opened on every processor.
		type record struct {
			k, ct []byte
			e     dueEntry
			err   error
		}
		var overdue []record
		today := dayNumber(r.now)
		c := r.ix.b(bDue).Cursor()
		for k, ct := c.First(); k != nil && int32(be32(k)) < today; k, ct = c.Next() {
			overdue = append(overdue, record{k: k, ct: ct})
		}
		parallel(len(overdue), func(i int) {
			o := &overdue[i]
			o.err = r.ix.openRecord(bDue, o.k, o.ct, &o.e)
		})
		for i := range overdue {
			e := &overdue[i].e
			if err := overdue[i].err; err != nil {
				return err
			}
			if !e.Deleted && e.Flags&(dueRotateNow|duePending) == 0 && mine(e) {
				out.Overdue = append(out.Overdue, e.Name)
			}
		}
		return nil
	})
	if err != nil || cached {
		return out, err
	}
	for _, l := range [][]string{out.Overdue, out.RotateNow, out.Pending, out.Waiting, out.Reencrypt} {
		sortNames(l)
	}
	v.keepReminders(key, out)
	return out, nil
}

// remindersKey says what a kept answer of Reminders holds for: this
// machine's copy as of one transaction, one day, one member.
type remindersKey struct {
	Tx  uint64        `json:"tx"`
	Day string        `json:"day"`
	Me  fold.MemberID `json:"me"`
}

type keptReminders struct {
	Key remindersKey `json:"key"`
	Out Reminders    `json:"out"`
}

func (v *Vault) remindersPath() string { return filepath.Join(filepath.Dir(v.repPath), "reminders") }

func (v *Vault) readReminders(key remindersKey) (Reminders, bool) {
	ct, err := os.ReadFile(v.remindersPath())
	if err != nil || len(ct) > maxStateFile*16 {
		return Reminders{}, false
	}
	pt, err := v.ik.open("reminders", nil, ct)
	if err != nil {
		return Reminders{}, false
	}
	var k keptReminders
	if json.Unmarshal(pt, &k) != nil || k.Key != key {
		return Reminders{}, false
	}
	return k.Out, true
}

// keepReminders keeps an answer of Reminders, if it can: it only saves
// time.
func (v *Vault) keepReminders(key remindersKey, out Reminders) {
	if v.readOnly {
		return
	}
	pt, err := json.Marshal(keptReminders{key, out})
	if err != nil {
		return
	}
	if ct, err := v.ik.seal("reminders", nil, pt); err == nil {
		_ = writeHint(v.remindersPath(), ct)
	}
}

func be32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
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
	err := v.view(func(r *reader) error {
		pol := v.policy()
		if within >= 0 {
			pol.Window = within
		}
		err := r.ix.Each(func(s *fold.Secret) error {
			if !s.Live() {
				return nil
			}
			view := r.secretView(s)
			rs := rotation.Secret{LastRotated: s.LastRotated, Every: s.RotateEvery}
			if view.RotateNow != nil {
				rs.RotateNow = view.RotateNow.Text
			}
			if p := s.PendingVersion(); p != nil {
				rs.Pending = p.Created.At
			}
			st := pol.Status(rs, r.now)
			if st.State != rotation.OK {
				date := st.Due
				switch st.State {
				case rotation.RotateNow:
					date = s.RotateNow[0].At
				case rotation.Pending:
					date = s.PendingVersion().Created.At
				}
				out = append(out, DueItem{Kind: "secret", Name: s.Name, State: st.State, Date: date, Reason: st.Reason, CanAct: view.CanRead, Readers: view.Readers})
			}
			if s.NeedsReencrypt(r.auth) {
				out = append(out, DueItem{Kind: "reencrypt", Name: s.Name, State: rotation.Pending, Date: s.Updated.At,
					Reason: "waiting for one of its readers (" + strings.Join(view.Readers, ", ") + ") to re-encrypt it" + forWhom(view),
					CanAct: view.CanRead, Readers: view.Readers})
			}
			return nil
		})
		if err != nil {
			return err
		}
		if st := pol.Review(lastReview(r.auth), r.now); st.State != rotation.OK {
			out = append(out, DueItem{Kind: "review", State: st.State, Date: st.Due, Reason: st.Reason, CanAct: r.isAdmin()})
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

func forWhom(s Secret) string {
	if len(s.Waiting) > 0 {
		return " for " + strings.Join(s.Waiting, ", ")
	}
	return " without those who lost access"
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
	// Recovery are the vault's recovery keys, which can read everything.
	Recovery []RecoveryKey `json:"recovery"`
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
	Name        string    `json:"name"`
	Fingerprint string    `json:"fingerprint"`
	Groups      []string  `json:"groups"`
	Admin       bool      `json:"admin"`
	Added       time.Time `json:"added"`
	AddedBy     string    `json:"added_by"`
	LastActive  time.Time `json:"last_active"`
	Inactive    bool      `json:"inactive"`
	// Reads is how many secrets the member can read.
	Reads int `json:"reads"`
}

// Review gathers the access review.
func (v *Vault) Review() (Review, error) {
	var out Review
	err := v.view(func(r *reader) error {
		pol := v.policy()
		a := r.auth
		out = Review{Vault: a.Name, At: r.now, Next: pol.Review(lastReview(a), r.now), InactiveAfter: pol.InactiveAfter,
			Secrets: []ReviewSecret{}, Members: []ReviewMember{}, Recovery: []RecoveryKey{}}
		if a.Reviewed != nil {
			at := a.Reviewed.At
			out.LastReview, out.LastReviewBy = &at, r.nameOf(a.Reviewed.By)
		}
		reads := map[fold.MemberID]int{}
		err := r.ix.Each(func(s *fold.Secret) error {
			if !s.Live() {
				return nil
			}
			view := r.secretView(s)
			for _, id := range s.CurrentVersion().Readers {
				reads[id]++
			}
			out.Secrets = append(out.Secrets, ReviewSecret{Name: s.Name, SharedWith: view.SharedWith, Readers: view.Readers, Waiting: view.Waiting,
				LastRotated: s.LastRotated, Due: view.Due, State: view.State, Reason: view.Reason})
			return nil
		})
		if err != nil {
			return err
		}
		for _, m := range a.Members {
			if !m.Active() {
				continue
			}
			mv := r.memberView(m)
			if m.Recovery {
				out.Recovery = append(out.Recovery, RecoveryKey{Name: m.Name, PublicKey: mv.PublicKey, Fingerprint: mv.Fingerprint,
					CanSign: len(m.Sign) > 0, Added: m.Added.At, AddedBy: mv.AddedBy})
				continue
			}
			// A member who never used the vault counts from when they were
			// added: someone added today is not inactive.
			seen := m.LastActive
			if m.Added.At.After(seen) {
				seen = m.Added.At
			}
			out.Members = append(out.Members, ReviewMember{Name: m.Name, Fingerprint: mv.Fingerprint, Groups: mv.Groups, Admin: m.Admin, Added: m.Added.At, AddedBy: mv.AddedBy,
				LastActive: m.LastActive, Inactive: pol.Inactive(seen, r.now), Reads: reads[m.ID]})
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
	_, err := v.update(func(r *reader) ([]change, error) {
		if err := r.requireAdmin("mark the access review done"); err != nil {
			return nil, err
		}
		return []change{{kind: fold.KindReview, payload: fold.Empty{}}}, nil
	})
	return err
}
