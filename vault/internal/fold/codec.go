package fold

import (
	"encoding/binary"
	"errors"
	"time"

	"github.com/mutual-aid-vault/vault/rotation"
)

// The binary form of a Secret, for the index every command reads: a few
// hundred bytes that decode in a microsecond or two, where JSON took
// kilobytes and tens of microseconds. Layout: a version byte; the member
// IDs the record names, each once (a count, then 8 bytes each), then the
// operation IDs likewise (32 bytes each); then the fields in order, with
// members and operations as their number in those lists. Integers are
// varints, strings and lists have their length first, hashes are raw
// bytes, times are Unix nanoseconds (zero for the zero time). A secret
// shared with 20 members names the same 20 in its readers and in who
// should read it, and one operation in five places: numbering them halves
// the record.

const secretCodec = 2

// maxCodecList bounds lists when decoding a hostile record.
const maxCodecList = 1 << 16

var errCodec = errors.New("malformed secret record")

type enc struct {
	b    []byte
	mems map[MemberID]uint64
	memL []MemberID
	ops  map[OpID]uint64
	opL  []OpID
}

func (e *enc) uint(v uint64)  { e.b = binary.AppendUvarint(e.b, v) }
func (e *enc) int(v int64)    { e.b = binary.AppendVarint(e.b, v) }
func (e *enc) bytes(p []byte) { e.b = append(e.b, p...) }
func (e *enc) str(s string)   { e.uint(uint64(len(s))); e.b = append(e.b, s...) }
func (e *enc) bool(v bool) {
	b := byte(0)
	if v {
		b = 1
	}
	e.b = append(e.b, b)
}
func (e *enc) time(t time.Time) { e.int(timeInt(t)) }

func (e *enc) member(id MemberID) { e.uint(number(&e.memL, &e.mems, id)) }
func (e *enc) op(id OpID)         { e.uint(number(&e.opL, &e.ops, id)) }

// number returns id's number in list, adding it if new. Lists are short
// (a secret's readers, its versions' operations): searched in order up to
// a few dozen, through a map built then on.
func number[T comparable](list *[]T, index *map[T]uint64, id T) uint64 {
	if *index == nil {
		for i, x := range *list {
			if x == id {
				return uint64(i)
			}
		}
		if len(*list) >= 32 {
			*index = make(map[T]uint64, 2*len(*list))
			for i, x := range *list {
				(*index)[x] = uint64(i)
			}
		}
	} else if n, ok := (*index)[id]; ok {
		return n
	}
	n := uint64(len(*list))
	*list = append(*list, id)
	if *index != nil {
		(*index)[id] = n
	}
	return n
}

func (e *enc) members(m []MemberID) {
	e.uint(uint64(len(m)))
	for _, id := range m {
		e.member(id)
	}
}
func (e *enc) strs(ss []string) {
	e.uint(uint64(len(ss)))
	for _, s := range ss {
		e.str(s)
	}
}
func (e *enc) stamp(s Stamp) { e.time(s.At); e.member(s.By); e.op(s.Op) }
func (e *enc) optStamp(s *Stamp) {
	e.bool(s != nil)
	if s != nil {
		e.stamp(*s)
	}
}

func timeInt(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

type dec struct {
	b    []byte
	err  error
	memL []MemberID
	opL  []OpID
}

func (d *dec) fail() { d.err = errCodec; d.b = nil }

func (d *dec) uint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *dec) int() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *dec) raw(dst []byte) {
	if len(d.b) < len(dst) {
		d.fail()
		return
	}
	copy(dst, d.b)
	d.b = d.b[len(dst):]
}

func (d *dec) str() string {
	n := d.uint()
	if n > uint64(len(d.b)) {
		d.fail()
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *dec) bool() bool {
	if len(d.b) < 1 || d.b[0] > 1 {
		d.fail()
		return false
	}
	v := d.b[0] == 1
	d.b = d.b[1:]
	return v
}

func (d *dec) count(min int) int {
	n := d.uint()
	if n > maxCodecList || n*uint64(min) > uint64(len(d.b)) {
		d.fail()
		return 0
	}
	return int(n)
}

func (d *dec) time() time.Time {
	v := d.int()
	if v == 0 {
		return time.Time{}
	}
	return time.Unix(0, v).UTC()
}

func (d *dec) member() MemberID {
	n := d.uint()
	if n >= uint64(len(d.memL)) {
		d.fail()
		return MemberID{}
	}
	return d.memL[n]
}

func (d *dec) op() OpID {
	n := d.uint()
	if n >= uint64(len(d.opL)) {
		d.fail()
		return OpID{}
	}
	return d.opL[n]
}

func (d *dec) members() []MemberID {
	n := d.count(1)
	if n == 0 {
		return nil
	}
	out := make([]MemberID, n)
	for i := range out {
		out[i] = d.member()
	}
	return out
}

func (d *dec) strs() []string {
	n := d.count(1)
	if n == 0 {
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = d.str()
	}
	return out
}

func (d *dec) stamp() Stamp {
	var s Stamp
	s.At = d.time()
	s.By = d.member()
	s.Op = d.op()
	return s
}

func (d *dec) optStamp() *Stamp {
	if !d.bool() {
		return nil
	}
	s := d.stamp()
	return &s
}

// MarshalBinary encodes the secret.
func (s *Secret) MarshalBinary() ([]byte, error) {
	e := &enc{b: make([]byte, 0, 512), memL: make([]MemberID, 0, 24), opL: make([]OpID, 0, 8)}
	e.bytes(s.ID[:])
	e.str(s.Name)
	e.str(s.Username)
	e.str(s.URL)
	e.str(s.Note)
	e.members(s.Share.Members)
	e.strs(s.Share.Groups)
	e.uint(uint64(len(s.Versions)))
	for _, v := range s.Versions {
		e.op(v.Op)
		e.int(int64(v.N))
		e.bytes(v.Blob[:])
		e.members(v.Readers)
		e.stamp(v.Created)
		e.optStamp(v.Aborted)
		// One byte: bit 0 superseded, bit 1 a two-factor seed follows,
		// bit 2 the readers of replaced keys follow.
		flags := byte(0)
		if v.Superseded {
			flags |= 1
		}
		if !v.OTP.IsZero() {
			flags |= 2
		}
		if len(v.Rekeyed) > 0 {
			flags |= 4
		}
		e.b = append(e.b, flags)
		if !v.OTP.IsZero() {
			e.bytes(v.OTP[:])
			e.op(v.OTPBy)
		}
		if len(v.Rekeyed) > 0 {
			e.members(v.Rekeyed)
		}
	}
	e.op(s.Current)
	e.op(s.Pending)
	e.op(s.CurrentSince)
	e.int(int64(s.RotateEvery.Years))
	e.int(int64(s.RotateEvery.Months))
	e.int(int64(s.RotateEvery.Days))
	e.int(int64(s.Rules.Length))
	e.int(int64(s.Rules.Digits))
	e.bool(s.Rules.NoSymbols)
	e.str(s.Rules.Symbols)
	e.time(s.LastRotated)
	e.uint(uint64(len(s.RotateNow)))
	for _, r := range s.RotateNow {
		e.str(r.Text)
		e.time(r.At)
		e.member(r.By)
		e.op(r.Cause)
		e.members(r.Who)
	}
	e.stamp(s.Created)
	e.stamp(s.Updated)
	e.optStamp(s.Deleted)
	e.optStamp(s.Purged)
	e.members(s.Wanted)
	return e.finish(secretCodec), nil
}

// UnmarshalBinary decodes a secret encoded by MarshalBinary.
func (s *Secret) UnmarshalBinary(b []byte) error {
	if len(b) < 1 || b[0] != secretCodec {
		return errCodec
	}
	d := &dec{b: b}
	*s = Secret{}
	d.start(secretCodec)
	d.raw(s.ID[:])
	s.Name = d.str()
	s.Username = d.str()
	s.URL = d.str()
	s.Note = d.str()
	s.Share.Members = d.members()
	s.Share.Groups = d.strs()
	n := d.count(1 + 1 + 32)
	for range n {
		v := &Version{}
		v.Op = d.op()
		v.N = int(d.int())
		d.raw(v.Blob[:])
		v.Readers = d.members()
		v.Created = d.stamp()
		v.Aborted = d.optStamp()
		var fb [1]byte
		d.raw(fb[:])
		flags := fb[0]
		if flags > 7 {
			d.fail()
		}
		v.Superseded = flags&1 != 0
		if flags&2 != 0 {
			d.raw(v.OTP[:])
			v.OTPBy = d.op()
		}
		if flags&4 != 0 {
			if v.Rekeyed = d.members(); len(v.Rekeyed) == 0 {
				d.fail()
			}
		}
		s.Versions = append(s.Versions, v)
	}
	s.Current = d.op()
	s.Pending = d.op()
	s.CurrentSince = d.op()
	s.RotateEvery = rotation.Period{Years: int(d.int()), Months: int(d.int()), Days: int(d.int())}
	s.Rules.Length = int(d.int())
	s.Rules.Digits = int(d.int())
	s.Rules.NoSymbols = d.bool()
	s.Rules.Symbols = d.str()
	s.LastRotated = d.time()
	n = d.count(1 + 1 + 1 + 1 + 1)
	for range n {
		var r Reason
		r.Text = d.str()
		r.At = d.time()
		r.By = d.member()
		r.Cause = d.op()
		r.Who = d.members()
		s.RotateNow = append(s.RotateNow, r)
	}
	s.Created = d.stamp()
	s.Updated = d.stamp()
	s.Deleted = d.optStamp()
	s.Purged = d.optStamp()
	s.Wanted = d.members()
	if d.err != nil || len(d.b) != 0 {
		return errCodec
	}
	return nil
}

// The binary form of an Event, for the index's log: a version byte, the
// operation (32 bytes), its position and time (varints), the author (8
// bytes), then the strings (length first): who, kind, target, detail,
// summary, rejected. A first open writes one per operation; JSON took a
// quarter of its index-writing time.
const eventCodec = 1

// MarshalBinary encodes the event.
func (ev Event) MarshalBinary() ([]byte, error) {
	strs := [...]string{ev.Who, ev.Kind, ev.Target, ev.Detail, ev.Summary, ev.Rejected}
	n := 1 + len(ev.Op) + 2*binary.MaxVarintLen64 + len(ev.Author)
	for _, s := range strs {
		n += binary.MaxVarintLen64 + len(s)
	}
	out := make([]byte, 0, n)
	out = append(out, eventCodec)
	out = append(out, ev.Op[:]...)
	out = binary.AppendVarint(out, ev.Pos)
	out = binary.AppendVarint(out, timeInt(ev.At))
	out = append(out, ev.Author[:]...)
	for _, s := range strs {
		out = binary.AppendUvarint(out, uint64(len(s)))
		out = append(out, s...)
	}
	return out, nil
}

// UnmarshalBinary decodes an event encoded by MarshalBinary.
func (ev *Event) UnmarshalBinary(b []byte) error {
	if len(b) < 1 || b[0] != eventCodec {
		return errCodec
	}
	d := &dec{b: b[1:]}
	*ev = Event{}
	d.raw(ev.Op[:])
	ev.Pos = d.int()
	ev.At = d.time()
	d.raw(ev.Author[:])
	for _, s := range [...]*string{&ev.Who, &ev.Kind, &ev.Target, &ev.Detail, &ev.Summary, &ev.Rejected} {
		*s = d.str()
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail()
	}
	return d.err
}

// The binary form of Auth, the authority state every command reads (and
// every change that comes in writes): laid out like a Secret's, members
// and operations numbered. JSON cost a command about a millisecond, half
// of it setting up reflection for the types on first use.
const authCodec = 1

// MarshalBinary encodes the authority state.
func (a *Auth) MarshalBinary() ([]byte, error) {
	e := &enc{b: make([]byte, 0, 256+160*len(a.Members)+96*len(a.Grants)), memL: make([]MemberID, 0, len(a.Members)+1), opL: make([]OpID, 0, 16)}
	e.op(a.Vault)
	e.str(a.Name)
	e.str(a.Kind)
	e.stamp(a.Created)
	e.uint(uint64(len(a.Members)))
	for _, m := range a.Members {
		e.member(m.ID)
		e.uint(uint64(m.Num))
		e.str(m.Name)
		e.str(m.Age)
		e.uint(uint64(len(m.Sign)))
		e.bytes(m.Sign)
		e.strs(m.Groups)
		e.bool(m.Admin)
		e.int(m.AdminSince)
		// One byte: bit 0 recovery key, bit 1 a key replacement follows
		// (after the fields below), bit 2 a key request follows.
		flags := byte(0)
		if m.Recovery {
			flags |= 1
		}
		if m.Rekeyed != nil {
			flags |= 2
		}
		if m.Request != nil {
			flags |= 4
		}
		e.b = append(e.b, flags)
		e.stamp(m.Added)
		e.optStamp(m.Removed)
		e.time(m.LastActive)
		if m.Rekeyed != nil {
			e.stamp(*m.Rekeyed)
		}
		if r := m.Request; r != nil {
			e.str(r.Age)
			e.uint(uint64(len(r.Sign)))
			e.bytes(r.Sign)
			e.stamp(r.Made)
		}
	}
	e.bytes(a.Epoch[:])
	e.uint(uint64(len(a.Epochs)))
	for _, ep := range a.Epochs {
		e.bytes(ep.ID[:])
		e.stamp(ep.Created)
	}
	e.grants(a.Grants)
	e.optStamp(a.Reviewed)
	e.int(a.Folded)
	e.uint(uint64(a.NextNum))
	// Last, and only when there are some: records written before keys
	// could be replaced end above.
	if len(a.Retired) > 0 {
		e.grants(a.Retired)
	}
	return e.finish(authCodec), nil
}

func (e *enc) grants(gs []Grant) {
	e.uint(uint64(len(gs)))
	for _, g := range gs {
		e.member(g.To)
		e.bytes(g.Blob[:])
		e.uint(uint64(len(g.Epochs)))
		for _, ep := range g.Epochs {
			e.bytes(ep[:])
		}
		e.op(g.Op)
	}
}

func (d *dec) grants() []Grant {
	n := d.count(1 + 32 + 1 + 1)
	if n == 0 {
		return nil
	}
	out := make([]Grant, n)
	for i := range out {
		g := &out[i]
		g.To = d.member()
		d.raw(g.Blob[:])
		if k := d.count(len(EpochID{})); k > 0 {
			g.Epochs = make([]EpochID, k)
			for j := range g.Epochs {
				d.raw(g.Epochs[j][:])
			}
		}
		g.Op = d.op()
	}
	return out
}

// finish returns the record: the version byte, the numbered members and
// operations, then the fields.
func (e *enc) finish(version byte) []byte {
	out := make([]byte, 0, 1+2+len(MemberID{})*len(e.memL)+2+32*len(e.opL)+len(e.b))
	out = append(out, version)
	out = binary.AppendUvarint(out, uint64(len(e.memL)))
	for _, id := range e.memL {
		out = append(out, id[:]...)
	}
	out = binary.AppendUvarint(out, uint64(len(e.opL)))
	for _, id := range e.opL {
		out = append(out, id[:]...)
	}
	return append(out, e.b...)
}

// start reads what finish wrote before the fields.
func (d *dec) start(version byte) {
	if len(d.b) < 1 || d.b[0] != version {
		d.fail()
		return
	}
	d.b = d.b[1:]
	d.memL = make([]MemberID, d.count(len(MemberID{})))
	for i := range d.memL {
		d.raw(d.memL[i][:])
	}
	d.opL = make([]OpID, d.count(32))
	for i := range d.opL {
		d.raw(d.opL[i][:])
	}
}

func (d *dec) uint16() uint16 {
	v := d.uint()
	if v > 1<<16-1 {
		d.fail()
	}
	return uint16(v)
}

// UnmarshalBinary decodes an authority state encoded by MarshalBinary.
func (a *Auth) UnmarshalBinary(b []byte) error {
	d := &dec{b: b}
	d.start(authCodec)
	*a = Auth{}
	a.Vault = d.op()
	a.Name = d.str()
	a.Kind = d.str()
	a.Created = d.stamp()
	n := d.count(1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 3 + 1 + 1)
	if n > 0 {
		a.Members = make([]*Member, n)
	}
	for i := range n {
		m := &Member{}
		m.ID = d.member()
		m.Num = d.uint16()
		m.Name = d.str()
		m.Age = d.str()
		if k := d.count(1); k > 0 {
			m.Sign = make([]byte, k)
			d.raw(m.Sign)
		}
		m.Groups = d.strs()
		m.Admin = d.bool()
		m.AdminSince = d.int()
		var fb [1]byte
		d.raw(fb[:])
		flags := fb[0]
		if flags > 7 {
			d.fail()
		}
		m.Recovery = flags&1 != 0
		m.Added = d.stamp()
		m.Removed = d.optStamp()
		m.LastActive = d.time()
		if flags&2 != 0 {
			st := d.stamp()
			m.Rekeyed = &st
		}
		if flags&4 != 0 {
			r := &KeyRequest{Age: d.str()}
			if k := d.count(1); k > 0 {
				r.Sign = make([]byte, k)
				d.raw(r.Sign)
			}
			r.Made = d.stamp()
			m.Request = r
		}
		a.Members[i] = m
	}
	d.raw(a.Epoch[:])
	n = d.count(len(EpochID{}) + 3)
	if n > 0 {
		a.Epochs = make([]Epoch, n)
	}
	for i := range n {
		d.raw(a.Epochs[i].ID[:])
		a.Epochs[i].Created = d.stamp()
	}
	a.Grants = d.grants()
	a.Reviewed = d.optStamp()
	a.Folded = d.int()
	a.NextNum = d.uint16()
	if d.err == nil && len(d.b) > 0 {
		if a.Retired = d.grants(); len(a.Retired) == 0 {
			d.fail()
		}
	}
	if d.err != nil || len(d.b) != 0 {
		return errCodec
	}
	return nil
}
