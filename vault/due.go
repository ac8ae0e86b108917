package vault

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
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
// The last answer is kept in the state folder, sealed, for as long as the
// day and the member stay the same: at 10,000 secrets a thousand may be
// overdue, each a record to open. When this machine's copy changed since,
// only the secrets rewritten since are read again (see changeLog); a
// change that may touch every secret (membership, keys, the review, a
// fold from scratch) makes the answer anew.
func (v *Vault) Reminders() (Reminders, error) {
	var out Reminders
	var lists reminderLists
	var keep *keptReminders
	err := v.view(func(r *reader) error {
		me := r.me()
		if me == nil {
			return nil
		}
		admin := r.isAdmin()
		if admin {
			st := v.policy().Review(lastReview(r.auth), r.now)
			if st.State != rotation.OK {
				out.Review = &st
			}
		}
		key := remindersKey{Day: r.now.Format(time.DateOnly) + " " + r.now.UTC().Format(time.DateOnly), Me: v.me, Num: me.Num, Recovery: me.Recovery, Admin: admin}
		mark := r.ix.lastChange()
		if k, ok := v.readReminders(); ok && k.Key == key {
			ids, all, ok := r.ix.changesSince(k.Mark)
			switch {
			case ok && !all && len(ids) == 0:
				lists = k.Lists
				return nil
			case ok && !all:
				v.remindersPatched++
				if err := r.patchReminders(&k.Lists, ids); err != nil {
					return err
				}
				lists, keep = k.Lists, &keptReminders{Key: key, Mark: mark, Lists: k.Lists}
				return nil
			}
		}
		var err error
		lists, err = r.reminders()
		keep = &keptReminders{Key: key, Mark: mark, Lists: lists}
		return err
	})
	if err != nil {
		return Reminders{}, err
	}
	if keep != nil {
		v.keepReminders(keep)
	}
	out.Overdue, out.RotateNow, out.Pending, out.Waiting, out.Reencrypt =
		lists[0].names(), lists[1].names(), lists[2].names(), lists[3].names(), lists[4].names()
	return out, nil
}

// The lists of reminders, in the order of the fields of Reminders.
const (
	remindOverdue = iota
	remindRotateNow
	remindPending
	remindWaiting
	remindReencrypt
	remindLists
)

// reminderLists are the secrets of each list of Reminders, each list in
// the order of sortReminders.
type reminderLists [remindLists]reminderList

type reminderList []reminder

type reminder struct {
	ID   fold.SecretID
	Name string
}

func (l reminderList) names() []string {
	if len(l) == 0 {
		return nil
	}
	out := make([]string, len(l))
	for i, e := range l {
		out[i] = e.Name
	}
	return out
}

// compareReminders orders by name regardless of case, then exactly, then
// by ID: an order of the set alone, so that an answer patched and one made
// anew list the same secrets the same way.
func compareReminders(a, b reminder, foldA, foldB string) int {
	if c := strings.Compare(foldA, foldB); c != 0 {
		return c
	}
	if c := strings.Compare(a.Name, b.Name); c != 0 {
		return c
	}
	return bytes.Compare(a.ID[:], b.ID[:])
}

func sortReminders(l reminderList) {
	type keyed struct {
		key string
		e   reminder
	}
	ks := make([]keyed, len(l))
	for i, e := range l {
		ks[i] = keyed{foldName(e.Name), e}
	}
	slices.SortFunc(ks, func(a, b keyed) int { return compareReminders(a.e, b.e, a.key, b.key) })
	for i, k := range ks {
		l[i] = k.e
	}
}

// insertReminder puts e where sortReminders would.
func insertReminder(l reminderList, e reminder) reminderList {
	key := foldName(e.Name)
	i, _ := slices.BinarySearchFunc(l, e, func(a, b reminder) int { return compareReminders(a, b, foldName(a.Name), key) })
	return slices.Insert(l, i, e)
}

// remindsOf sorts one record of the flagged set or of the overdue end of
// the due index into the lists it belongs to.
type remindsOf struct {
	me    *fold.Member
	admin bool
}

func (m remindsOf) mine(e *dueEntry) bool { return m.me.Recovery || e.reads(m.me.Num) }

func (m remindsOf) flagged(e *dueEntry, add func(list int)) {
	switch {
	case e.Flags&dueRotateNow != 0 && m.mine(e):
		add(remindRotateNow)
	case e.Flags&duePending != 0 && m.mine(e):
		add(remindPending)
	}
	if e.Flags&dueWaiting != 0 && m.admin {
		add(remindWaiting)
	}
	if e.Flags&dueWaiting != 0 && !e.Deleted && e.reads(m.me.Num) {
		add(remindReencrypt)
	}
}

func (m remindsOf) overdue(e *dueEntry, add func(list int)) {
	if !e.Deleted && e.Flags&(dueRotateNow|duePending) == 0 && m.mine(e) {
		add(remindOverdue)
	}
}

// reminders makes the lists anew.
func (r *reader) reminders() (reminderLists, error) {
	var out reminderLists
	m := remindsOf{me: r.me(), admin: r.isAdmin()}
	err := r.ix.b(bFlagged).ForEach(func(k, ct []byte) error {
		var e dueEntry
		if err := r.ix.openRecord(bFlagged, k, ct, &e); err != nil {
			return err
		}
		m.flagged(&e, func(l int) { out[l] = append(out[l], reminder{e.ID, e.Name}) })
		return nil
	})
	if err != nil {
		return out, err
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
			return out, err
		}
		m.overdue(e, func(l int) { out[l] = append(out[l], reminder{e.ID, e.Name}) })
	}
	for _, l := range out {
		sortReminders(l)
	}
	return out, nil
}

// patchReminders brings lists made from an earlier state of the index up
// to date with the secrets in ids, the only ones rewritten since: it
// reads their entries as reminders would, and nothing else.
func (r *reader) patchReminders(lists *reminderLists, ids []fold.SecretID) error {
	gone := make(map[fold.SecretID]bool, len(ids))
	for _, id := range ids {
		gone[id] = true
	}
	for i, l := range lists {
		lists[i] = slices.DeleteFunc(l, func(e reminder) bool { return gone[e.ID] })
	}
	m := remindsOf{me: r.me(), admin: r.isAdmin()}
	today := dayNumber(r.now)
	for _, id := range ids {
		add := func(e *dueEntry) func(int) {
			return func(l int) { lists[l] = insertReminder(lists[l], reminder{e.ID, e.Name}) }
		}
		if ct := r.ix.b(bFlagged).Get(id[:]); ct != nil {
			var e dueEntry
			if err := r.ix.openRecord(bFlagged, id[:], ct, &e); err != nil {
				return err
			}
			m.flagged(&e, add(&e))
		}
		// The secret's entry in the due index is filed under its due
		// day; only an overdue one is read.
		s, err := r.ix.Secret(id)
		if err != nil {
			return err
		}
		if s == nil {
			continue
		}
		if day := dueDay(s); day < today {
			k := dueKey(day, id)
			if ct := r.ix.b(bDue).Get(k); ct != nil {
				var e dueEntry
				if err := r.ix.openRecord(bDue, k, ct, &e); err != nil {
					return err
				}
				m.overdue(&e, add(&e))
			}
		}
	}
	return nil
}

// remindersKey says what a kept answer of Reminders holds for: one day,
// one member, with the rights it had.
type remindersKey struct {
	Day      string
	Me       fold.MemberID
	Num      uint16
	Recovery bool
	Admin    bool
}

// keptReminders is an answer of Reminders kept in the state folder, as of
// the index's change log entry Mark.
type keptReminders struct {
	Key   remindersKey
	Mark  changeMark
	Lists reminderLists
}

const keptRemindersVersion = 1

// MarshalBinary encodes the kept answer: a version byte, the day, the
// member, its number and rights, the mark, then each list: its length and
// each secret's ID and name.
func (k *keptReminders) MarshalBinary() ([]byte, error) {
	b := []byte{keptRemindersVersion}
	b = binary.AppendUvarint(b, uint64(len(k.Key.Day)))
	b = append(b, k.Key.Day...)
	b = append(b, k.Key.Me[:]...)
	b = binary.BigEndian.AppendUint16(b, k.Key.Num)
	var rights byte
	if k.Key.Recovery {
		rights |= 1
	}
	if k.Key.Admin {
		rights |= 2
	}
	b = append(b, rights)
	b = binary.BigEndian.AppendUint64(b, k.Mark.Tx)
	b = append(b, k.Mark.Mark[:]...)
	for _, l := range k.Lists {
		b = binary.AppendUvarint(b, uint64(len(l)))
		for _, e := range l {
			b = append(b, e.ID[:]...)
			b = binary.AppendUvarint(b, uint64(len(e.Name)))
			b = append(b, e.Name...)
		}
	}
	return b, nil
}

var errKeptReminders = errors.New("malformed kept reminders")

// UnmarshalBinary decodes what MarshalBinary encoded, every byte.
func (k *keptReminders) UnmarshalBinary(b []byte) error {
	*k = keptReminders{}
	// uvarint reads a length written the one way MarshalBinary writes it.
	uvarint := func() (uint64, int) {
		n, w := binary.Uvarint(b)
		if w > 0 && w != len(binary.AppendUvarint(nil, n)) {
			return 0, -1
		}
		return n, w
	}
	str := func() (string, bool) {
		n, w := uvarint()
		if w <= 0 || n > uint64(len(b)-w) {
			return "", false
		}
		s := string(b[w : w+int(n)])
		b = b[w+int(n):]
		return s, true
	}
	if len(b) < 1 || b[0] != keptRemindersVersion {
		return errKeptReminders
	}
	b = b[1:]
	day, ok := str()
	const m = len(fold.MemberID{})
	if !ok || len(b) < m+2+1+8+8 || b[m+2] > 3 {
		return errKeptReminders
	}
	k.Key.Day = day
	copy(k.Key.Me[:], b)
	k.Key.Num = binary.BigEndian.Uint16(b[m:])
	k.Key.Recovery, k.Key.Admin = b[m+2]&1 != 0, b[m+2]&2 != 0
	k.Mark.Tx = binary.BigEndian.Uint64(b[m+3:])
	copy(k.Mark.Mark[:], b[m+11:])
	b = b[m+19:]
	for i := range k.Lists {
		n, w := uvarint()
		// Each entry takes at least 17 bytes.
		if w <= 0 || n > uint64(len(b)-w)/17 {
			return errKeptReminders
		}
		b = b[w:]
		var l reminderList
		if n > 0 {
			l = make(reminderList, 0, n)
		}
		for range n {
			if len(b) < 16 {
				return errKeptReminders
			}
			var e reminder
			copy(e.ID[:], b)
			b = b[16:]
			if e.Name, ok = str(); !ok {
				return errKeptReminders
			}
			l = append(l, e)
		}
		k.Lists[i] = l
	}
	if len(b) != 0 {
		return errKeptReminders
	}
	return nil
}

func (v *Vault) remindersPath() string { return filepath.Join(filepath.Dir(v.repPath), "reminders") }

func (v *Vault) readReminders() (keptReminders, bool) {
	var k keptReminders
	ct, err := os.ReadFile(v.remindersPath())
	if err != nil || len(ct) > maxStateFile*16 {
		return k, false
	}
	pt, err := v.ik.open("reminders", nil, ct)
	if err != nil || k.UnmarshalBinary(pt) != nil {
		return keptReminders{}, false
	}
	return k, true
}

// keepReminders keeps an answer of Reminders, if it can: it only saves
// time.
func (v *Vault) keepReminders(k *keptReminders) {
	if v.readOnly {
		return
	}
	pt, _ := k.MarshalBinary()
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
	// KeyRequests are the members' pending requests for a new key.
	KeyRequests []KeyRequest `json:"key_requests"`
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
			Secrets: []ReviewSecret{}, Members: []ReviewMember{}, Recovery: []RecoveryKey{}, KeyRequests: []KeyRequest{}}
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
			for _, id := range s.CurrentVersion().Readable() {
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
			if kr := r.keyRequest(m); kr != nil {
				out.KeyRequests = append(out.KeyRequests, *kr)
			}
			out.Members = append(out.Members, ReviewMember{Name: m.Name, Fingerprint: mv.Fingerprint, Groups: mv.Groups, Admin: m.Admin, Added: m.Added.At, AddedBy: mv.AddedBy,
				LastActive: m.LastActive, Inactive: pol.Inactive(seen, r.now), Reads: reads[m.ID]})
		}
		return nil
	})
	sortByName(out.Secrets, func(s ReviewSecret) string { return s.Name })
	sortByName(out.Members, func(m ReviewMember) string { return m.Name })
	sortByName(out.KeyRequests, func(k KeyRequest) string { return k.Member })
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
