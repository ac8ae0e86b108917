package vault

import (
	"bytes"
	"crypto/sha256"
	"os"
	"path/filepath"
	"time"
)

// MarkReminded records on this machine that the reminders r were told
// today, and reports whether any of them had not been told today before.
// A command that does not run on a terminal (cron, CI) prints its
// reminders only when it returns true: a job run every minute prints them
// once a day, and again the same day only when something new is due (a
// secret newly overdue or to rotate now, a rotation started, the review
// turning from due to overdue). Reminders that are settled do not count:
// fewer things due is no news.
//
// Today is the calendar day of the vault's clock in the local time zone,
// the day of the person who reads the cron mail. The record is kept
// sealed in this machine's folder for the vault (per vault and identity),
// even when the vault is open read-only: it is not a change to the vault.
// When the record cannot be read or written, everything counts as new,
// since a reminder told twice is better than one never told.
func (v *Vault) MarkReminded(r Reminders) bool {
	if r.Empty() {
		return false
	}
	day := v.clock.Now().Local().Format(time.DateOnly)
	items := reminderItems(r)
	told, ok := v.readReminded(day)
	news := !ok
	for _, it := range items {
		if !told[it] {
			news = true
			told[it] = true
		}
	}
	if news {
		v.keepReminded(day, told)
	}
	return news
}

// remindedItem is a reminder as kept in the record: a hash of what is due
// and in what state, so that the record's size does not depend on names.
type remindedItem [8]byte

func reminderItems(r Reminders) []remindedItem {
	var out []remindedItem
	add := func(kind, name string) {
		h := sha256.Sum256([]byte(kind + "\x00" + name))
		out = append(out, remindedItem(h[:8]))
	}
	for _, l := range []struct {
		kind  string
		names []string
	}{{"overdue", r.Overdue}, {"rotate-now", r.RotateNow}, {"pending", r.Pending}, {"waiting", r.Waiting}, {"reencrypt", r.Reencrypt}} {
		for _, n := range l.names {
			add(l.kind, n)
		}
	}
	if r.Review != nil {
		add("review", r.Review.State.String())
	}
	return out
}

func (v *Vault) remindedPath() string { return filepath.Join(filepath.Dir(v.repPath), "reminded") }

// readReminded returns what was told on day; ok is false when there is no
// readable record at all (then everything is news).
func (v *Vault) readReminded(day string) (told map[remindedItem]bool, ok bool) {
	told = map[remindedItem]bool{}
	if v.repPath == "" || v.ik == nil {
		return told, false
	}
	ct, err := os.ReadFile(v.remindedPath())
	if err != nil || len(ct) > maxStateFile {
		return told, false
	}
	pt, err := v.ik.open("reminded", nil, ct)
	if err != nil || len(pt) < len(day) || (len(pt)-len(day))%len(remindedItem{}) != 0 {
		return told, false
	}
	if !bytes.Equal(pt[:len(day)], []byte(day)) {
		return told, true // another day: nothing told yet
	}
	for b := pt[len(day):]; len(b) > 0; b = b[len(remindedItem{}):] {
		told[remindedItem(b)] = true
	}
	return told, true
}

func (v *Vault) keepReminded(day string, told map[remindedItem]bool) {
	if v.repPath == "" || v.ik == nil || len(told)*len(remindedItem{}) > maxStateFile/2 {
		return
	}
	pt := make([]byte, 0, len(day)+len(told)*len(remindedItem{}))
	pt = append(pt, day...)
	for it := range told {
		pt = append(pt, it[:]...)
	}
	if ct, err := v.ik.seal("reminded", nil, pt); err == nil {
		_ = writeHint(v.remindedPath(), ct)
	}
}
