package vault

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"time"
	"unsafe"

	"github.com/mutual-aid-vault/vault/rotation"
)

// The due index lets every command warn about what is due without opening
// every secret. It is one small sealed record (meta/"due") holding, for each
// live secret, its name, the date its rotation is due, whether it must be
// rotated now or has a rotation pending, and its readers as member numbers.
// It is derived from the secret records and rewritten in the same
// transaction as they are, so it is never out of date; like every record it
// is listed in the manifest, so it cannot be changed or dropped unnoticed.
type dueIndex struct {
	entries table[dueEntry]
}

type dueEntry struct {
	key     string // the secret's bbolt key
	name    string
	due     int32  // days since 1970-01-01, UTC
	flags   byte   // dueRotateNow, duePending
	readers []byte // bit n set: the member numbered n reads the current value
}

func (e dueEntry) tableKey() string { return e.key }

const (
	dueRotateNow byte = 1 << iota
	duePending
)

const metaDue = "due"

func dayNumber(t time.Time) int32 { return int32(t.UTC().Unix() / 86400) }

func fromDayNumber(d int32) time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

func (e *dueEntry) reads(num uint16) bool {
	i := int(num / 8)
	return i < len(e.readers) && e.readers[i]&(1<<(num%8)) != 0
}

const dueVersion = 1

func (d *dueIndex) marshal() []byte {
	all := d.entries.all()
	b := []byte{dueVersion}
	b = binary.BigEndian.AppendUint32(b, uint32(len(all)))
	for _, e := range all {
		b = append(b, byte(len(e.key)))
		b = append(b, e.key...)
		b = binary.BigEndian.AppendUint16(b, uint16(len(e.name)))
		b = append(b, e.name...)
		b = binary.BigEndian.AppendUint32(b, uint32(e.due))
		b = append(b, e.flags)
		b = binary.BigEndian.AppendUint16(b, uint16(len(e.readers)))
		b = append(b, e.readers...)
	}
	return b
}

var errBadDue = errors.New("malformed due index")

func parseDueIndex(b []byte) (*dueIndex, error) {
	if len(b) < 5 || b[0] != dueVersion {
		return nil, errBadDue
	}
	count := binary.BigEndian.Uint32(b[1:5])
	// Names and keys are slices of one string over the input, which the
	// caller hands over (a fresh plaintext, never written again).
	s := unsafe.String(unsafe.SliceData(b), len(b))
	off := 5
	// Each entry takes at least 10 bytes, which bounds count by the input.
	if uint64(count)*10 > uint64(len(s)-off) {
		return nil, errBadDue
	}
	entries := make([]dueEntry, 0, count)
	need := func(n int) bool { return len(s)-off >= n }
	for range count {
		var e dueEntry
		if !need(1) {
			return nil, errBadDue
		}
		kl := int(s[off])
		off++
		if kl == 0 || !need(kl+2) {
			return nil, errBadDue
		}
		e.key = s[off : off+kl]
		off += kl
		nl := int(binary.BigEndian.Uint16(b[off:]))
		off += 2
		if !need(nl + 7) {
			return nil, errBadDue
		}
		e.name = s[off : off+nl]
		off += nl
		e.due = int32(binary.BigEndian.Uint32(b[off:]))
		e.flags = b[off+4]
		rl := int(binary.BigEndian.Uint16(b[off+5:]))
		off += 7
		if !need(rl) {
			return nil, errBadDue
		}
		e.readers = b[off : off+rl : off+rl]
		off += rl
		if n := len(entries); n > 0 && entries[n-1].key >= e.key {
			return nil, errBadDue
		}
		entries = append(entries, e)
	}
	if off != len(s) {
		return nil, errBadDue
	}
	return &dueIndex{entries: table[dueEntry]{sorted: entries}}, nil
}

// dueIdx returns the transaction's due index, loading it on first use.
func (t *txn) dueIdx() (*dueIndex, error) {
	if t.due != nil {
		return t.due, nil
	}
	pt, err := t.getSealed(bucketMeta, codeMeta, []byte(metaDue))
	if err != nil {
		return nil, err
	}
	if pt == nil {
		t.due = &dueIndex{}
		return t.due, nil
	}
	d, err := parseDueIndex(pt)
	if err != nil {
		return nil, errorf(ErrTampered, "the due index of %s is malformed", t.v.path)
	}
	t.due = d
	return d, nil
}

// noteDue brings the due index entry for the secret stored under key up to
// date: trashed and purged secrets have none.
func (t *txn) noteDue(key []byte, s *secretRecord) error {
	d, err := t.dueIdx()
	if err != nil {
		return err
	}
	t.dueDirty = true
	if s == nil || s.Purged != nil || s.Deleted != nil || s.Current == nil {
		d.entries.remove(string(key))
		return nil
	}
	e := dueEntry{key: string(key), name: s.Name, due: dayNumber(rotation.DueDate(s.LastRotated, s.RotateEvery))}
	if s.RotateNow != nil {
		e.flags |= dueRotateNow
	}
	if s.Pending != nil {
		e.flags |= duePending
	}
	all, err := t.allMembers()
	if err != nil {
		return err
	}
	for _, m := range all {
		if slices.Contains(s.Current.Readers, m.ID) {
			i := int(m.Num / 8)
			for len(e.readers) <= i {
				e.readers = append(e.readers, 0)
			}
			e.readers[i] |= 1 << (m.Num % 8)
		}
	}
	d.entries.set(e)
	return nil
}

// saveDue stores the due index if the transaction changed it.
func (t *txn) saveDue() error {
	if !t.dueDirty {
		return nil
	}
	return t.putSealed(bucketMeta, codeMeta, []byte(metaDue), t.due.marshal())
}

// The due summary (meta/"due-summary") answers "is anything due for this
// member?" in a few hundred bytes, so that a command with nothing to remind
// of does not read the whole due index. It is recomputed from the index,
// the settings and the manifest at every commit that changes anything.
type dueSummary struct {
	review  int32 // the day the access review is due
	waiting bool  // some secret waits for a reader to re-encrypt it
	members []memberDue
	// all is the summary over every secret, for a recovery key.
	all memberDue
}

// memberDue is, for one member, the earliest due day of the secrets they
// read and whether any of them must be rotated now or has a rotation
// pending.
type memberDue struct {
	num      uint16
	earliest int32
	flags    byte
}

const metaDueSummary = "due-summary"

func (s *dueSummary) member(num uint16) memberDue {
	i, ok := slices.BinarySearchFunc(s.members, num, func(m memberDue, n uint16) int { return int(m.num) - int(n) })
	if !ok {
		return memberDue{num: num, earliest: math.MaxInt32}
	}
	return s.members[i]
}

func (s *dueSummary) marshal() []byte {
	b := []byte{dueVersion}
	b = binary.BigEndian.AppendUint32(b, uint32(s.review))
	b = append(b, map[bool]byte{true: 1, false: 0}[s.waiting])
	put := func(m memberDue) {
		b = binary.BigEndian.AppendUint16(b, m.num)
		b = binary.BigEndian.AppendUint32(b, uint32(m.earliest))
		b = append(b, m.flags)
	}
	put(s.all)
	b = binary.BigEndian.AppendUint16(b, uint16(len(s.members)))
	for _, m := range s.members {
		put(m)
	}
	return b
}

func parseDueSummary(b []byte) (*dueSummary, error) {
	const entry = 7
	if len(b) < 6+entry+2 || b[0] != dueVersion || b[5] > 1 {
		return nil, errBadDue
	}
	get := func(b []byte) memberDue {
		return memberDue{num: binary.BigEndian.Uint16(b), earliest: int32(binary.BigEndian.Uint32(b[2:])), flags: b[6]}
	}
	s := &dueSummary{review: int32(binary.BigEndian.Uint32(b[1:])), waiting: b[5] == 1, all: get(b[6:])}
	n := int(binary.BigEndian.Uint16(b[6+entry:]))
	rest := b[6+entry+2:]
	if len(rest) != n*entry {
		return nil, errBadDue
	}
	for i := range n {
		m := get(rest[i*entry:])
		if i > 0 && s.members[i-1].num >= m.num {
			return nil, errBadDue
		}
		s.members = append(s.members, m)
	}
	return s, nil
}

// summarize computes the due summary from the due index, the settings and
// the manifest.
func (t *txn) summarize() (*dueSummary, error) {
	d, err := t.dueIdx()
	if err != nil {
		return nil, err
	}
	settings, err := t.settings()
	if err != nil {
		return nil, err
	}
	s := &dueSummary{
		review:  dayNumber(t.v.policy().Review(settings.lastReview(), t.now).Due),
		waiting: len(t.flagged()) > 0,
		all:     memberDue{earliest: math.MaxInt32},
	}
	byNum := map[uint16]*memberDue{}
	note := func(m *memberDue, e *dueEntry) {
		m.earliest = min(m.earliest, e.due)
		m.flags |= e.flags
	}
	for _, e := range d.entries.all() {
		note(&s.all, &e)
		for byteIdx, bits := range e.readers {
			for bit := range 8 {
				if bits&(1<<bit) == 0 {
					continue
				}
				num := uint16(byteIdx*8 + bit)
				m := byNum[num]
				if m == nil {
					m = &memberDue{num: num, earliest: math.MaxInt32}
					byNum[num] = m
				}
				note(m, &e)
			}
		}
	}
	for _, m := range byNum {
		s.members = append(s.members, *m)
	}
	slices.SortFunc(s.members, func(a, b memberDue) int { return int(a.num) - int(b.num) })
	return s, nil
}

// saveDueSummary stores a fresh due summary if it differs from the stored
// one. update calls it before every commit that changes anything.
func (t *txn) saveDueSummary() error {
	s, err := t.summarize()
	if err != nil {
		return err
	}
	b := s.marshal()
	old, err := t.getSealed(bucketMeta, codeMeta, []byte(metaDueSummary))
	if err != nil {
		return err
	}
	if bytes.Equal(old, b) && !t.dueDirty {
		return nil
	}
	return t.putSealed(bucketMeta, codeMeta, []byte(metaDueSummary), b)
}

// dueSummary reads the stored due summary.
func (t *txn) dueSummary() (*dueSummary, error) {
	pt, err := t.getSealed(bucketMeta, codeMeta, []byte(metaDueSummary))
	if err != nil {
		return nil, err
	}
	if pt == nil {
		return nil, errorf(ErrTampered, "the due summary of %s is missing", t.v.path)
	}
	s, err := parseDueSummary(pt)
	if err != nil {
		return nil, errorf(ErrTampered, "the due summary of %s is malformed", t.v.path)
	}
	return s, nil
}
