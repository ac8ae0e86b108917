package vault

import (
	"bytes"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
	"golang.org/x/crypto/chacha20poly1305"

	"github.com/mutual-aid-vault/vault/rotation"
	"github.com/mutual-aid-vault/vault/vault/internal/fold"
	"github.com/mutual-aid-vault/vault/vault/internal/naming"
	"github.com/mutual-aid-vault/vault/vault/internal/oplog"
)

// The replica is this machine's own copy of a vault, in the state folder:
// every operation and blob it has seen (so that nothing seen is ever lost,
// whatever happens to the shared file), and the index: the state those
// operations fold into, sealed under a key only this member can unlock.
// Every command reads the index; only this machine writes the replica.
const (
	// The log, as in the shared file.
	bOps    = "ops"    // op ID → sealed envelope
	bBlobs  = "blobs"  // SHA-256 → a value's age file, sealed and padded (see sealValue)
	bGrants = "grants" // SHA-256 → age file of vault keys for one member
	// Bookkeeping.
	bFolded  = "folded"  // op ID → position in the order (8 bytes), then the fingerprint of the key its signature checked with (8), if it did
	bPending = "pending" // op ID → why it is not folded yet (one byte)
	bDead    = "dead"    // blob hash → blobs no longer used (superseded, purged)
	bBad     = "bad"     // op ID → envelopes that are not what their key says
	bArrival = "arrival" // sequence → what was added to or dropped from the log's raw material
	bChanges = "changes" // transaction ID → what it changed in the index (see changeLog)
	bLocal   = "local"   // see the keys below
	// The index, sealed with the local key.
	bSecrets = "secrets" // secret ID → fold.Secret
	bNames   = "names"   // keyed hash of the folded name → secret ID
	bDue     = "due"     // due day (4) | secret ID → dueEntry
	bFlagged = "flagged" // secret ID → dueEntry, for rotate-now, pending, waiting
	bEvents  = "events"  // position → fold.Event
)

var replicaBuckets = []string{bOps, bBlobs, bGrants, bFolded, bPending, bDead, bBad, bArrival, bChanges, bLocal, bSecrets, bNames, bDue, bFlagged, bEvents}
var indexBuckets = []string{bFolded, bSecrets, bNames, bDue, bFlagged, bEvents}

// Keys of the local bucket.
const (
	lVault  = "vault"  // the vault ID
	lKeys   = "keys"   // the keyset, age-encrypted to the member
	lMe     = "me"     // the member ID that opened it (plain: a random ID)
	lAuth   = "auth"   // sealed fold.Auth
	lHeads  = "heads"  // the heads of the folded operations
	lFile   = "file"   // fileStamp of the shared file as last read or written
	lFormat = "format" // replica layout version
	lSeq    = "seq"    // the last arrival sequence number
	lSpare  = "spare"  // spareRecord of the spare file
	lPub    = "pub"    // spareRecord of the file this machine last published
	lPruned = "pruned" // the arrivals up to this sequence are forgotten
	lData   = "data"   // bytes of keys and values in ops, blobs and grants
	lFresh  = "fresh"  // freshRecord of the last shared file written anew
	lWipe   = "wipe"   // set when something was deleted: free pages to clear (see wipeFree)
	lDrop   = "drop"   // set when something was deleted since the shared file was last written afresh
)

// replicaFormat is the layout of this machine's copy. Format 10 holds
// values sealed and padded (see sealValue) beside the bare age files of
// format 9, which it reads: a format 9 copy becomes format 10 when it is
// first opened to write, and older versions of vault then refuse it
// rather than fail on a sealed value.
const (
	replicaFormat   = 10
	replicaUnpadded = 9
)

// pageSize is the page size of this machine's copy: values of a few
// kilobytes fill 16 KiB pages far better than 4 KiB ones.
const pageSize = 16 << 10

// sharedPageSize is the page size of the shared files this program
// writes. A page holds whole values (age files of about 2 KB for 20
// readers) and leaves the rest empty: half a value per page on average,
// 7% of a 16 KiB page, 3% of a 32 KiB one. But every change writes each
// page it touches whole, to the shared file and (a machine's copy starts
// as a copy of it, see adoptShared) to every member's copy as it is taken
// in: 16 KiB pages make that about 2.5 ms cheaper at 10,000 secrets, for
// 4% more file.
const sharedPageSize = 16 << 10

// openReplica opens this machine's copy. throwaway (a temporary state
// folder, deleted on close) skips syncing to disk: nothing in it must
// survive a crash.
//
// It also returns the file bbolt opened, whose lock shareReplica changes.
func openReplica(path, vaultPath string, readOnly, throwaway bool, mmapHint int, timeout time.Duration) (*bolt.DB, *os.File, error) {
	var file *os.File
	openFile := func(name string, flag int, perm os.FileMode) (*os.File, error) {
		f, err := os.OpenFile(name, flag, perm)
		file = f
		return f, err
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout, ReadOnly: readOnly, PageSize: pageSize, NoSync: throwaway, NoFreelistSync: throwaway,
		InitialMmapSize: mmapHint, OpenFile: openFile})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, nil, errorf(ErrBusy, "%s is in use by another vault process on this machine, which is changing it (waited %v)", vaultPath, timeout)
		}
		return nil, nil, fmt.Errorf("cannot open this machine's copy of the vault (%s): %w; deleting it only costs time", path, err)
	}
	if readOnly {
		return db, file, nil
	}
	// Opened before: nothing to set up, and a commit costs two syncs.
	ready := false
	_ = db.View(func(tx *bolt.Tx) error {
		ready = tx.Bucket([]byte(bLocal)) != nil && bytes.Equal(tx.Bucket([]byte(bLocal)).Get([]byte(lFormat)), []byte{replicaFormat})
		for _, b := range replicaBuckets {
			ready = ready && tx.Bucket([]byte(b)) != nil
		}
		return nil
	})
	if ready {
		return db, file, nil
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range replicaBuckets {
			if _, err := tx.CreateBucketIfNotExists([]byte(b)); err != nil {
				return err
			}
		}
		l := tx.Bucket([]byte(bLocal))
		if f := l.Get([]byte(lFormat)); f == nil {
			if err := l.Put([]byte(lData), make([]byte, 8)); err != nil {
				return err
			}
			return l.Put([]byte(lFormat), []byte{replicaFormat})
		} else if bytes.Equal(f, []byte{replicaUnpadded}) {
			return l.Put([]byte(lFormat), []byte{replicaFormat})
		} else if len(f) != 1 || f[0] != replicaFormat {
			return errorf(ErrCorrupt, "this machine's copy of the vault (%s) is of another version of vault; delete %s and it is rebuilt from the vault file", path, filepath.Dir(path))
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, file, nil
}

// indexKeys are the keys derived from the local key.
type indexKeys struct {
	sealKey [32]byte
	names   [32]byte
}

func deriveIndexKeys(local [32]byte) *indexKeys {
	k := &indexKeys{}
	s, _ := hkdf.Key(sha256.New, local[:], nil, "vault index seal v1", 32)
	n, _ := hkdf.Key(sha256.New, local[:], nil, "vault index names v1", 32)
	copy(k.sealKey[:], s)
	copy(k.names[:], n)
	return k
}

func (k *indexKeys) nameKey(name string) []byte {
	m := hmac.New(sha256.New, k.names[:])
	m.Write([]byte(naming.Fold(name)))
	return m.Sum(nil)
}

func (k *indexKeys) seal(bucket string, key, pt []byte) ([]byte, error) {
	aead, err := chacha20poly1305.NewX(k.sealKey[:])
	if err != nil {
		return nil, err
	}
	out := make([]byte, aead.NonceSize(), aead.NonceSize()+len(pt)+aead.Overhead())
	if _, err := rand.Read(out); err != nil {
		return nil, err
	}
	return aead.Seal(out, out, pt, indexAD(bucket, key)), nil
}

func (k *indexKeys) open(bucket string, key, ct []byte) ([]byte, error) {
	aead, err := chacha20poly1305.NewX(k.sealKey[:])
	if err != nil {
		return nil, err
	}
	if len(ct) < aead.NonceSize()+aead.Overhead() {
		return nil, errors.New("index record too short")
	}
	return aead.Open(nil, ct[:aead.NonceSize()], ct[aead.NonceSize():], indexAD(bucket, key))
}

func indexAD(bucket string, key []byte) []byte {
	ad := append([]byte("vault index v1\x00"), bucket...)
	ad = append(ad, 0)
	return append(ad, key...)
}

// index reads and writes the sealed index inside one replica transaction.
type index struct {
	tx   *bolt.Tx
	keys *indexKeys
	// authCache, when set, keeps the decoded authority state between
	// transactions of one process (see auth).
	authCache *authCache
	// held, when set, holds puts until flush writes them in key order:
	// bbolt inserts into a page's keys in memory until it commits, and
	// thousands of keys in no order cost a copy of the array each.
	held map[string][]heldPut
	// touched are the secrets this transaction rewrote, and touchedAll
	// is set when it may have changed more (see changeLog).
	touched    map[fold.SecretID]bool
	touchedAll bool
}

// heldPut is a put held for flush: a value, or a record (rec) to be
// encoded and sealed at flush, on every processor.
type heldPut struct {
	k, v []byte
	rec  any
}

// put stores v under key in bucket, or holds it for flush.
func (ix *index) put(bucket string, key, v []byte) error {
	if ix.held != nil {
		ix.held[bucket] = append(ix.held[bucket], heldPut{k: key, v: v})
		return nil
	}
	return ix.b(bucket).Put(key, v)
}

// hold makes puts wait for flush. A key must not be put and then deleted
// while puts are held, nor a record changed after it was put.
func (ix *index) hold() { ix.held = map[string][]heldPut{} }

// flush writes the held puts, each bucket's in key order, encoding and
// sealing held records first.
func (ix *index) flush() error {
	held := ix.held
	ix.held = nil
	for bucket, puts := range held {
		errs := make([]error, len(puts))
		parallel(len(puts), func(i int) {
			if p := &puts[i]; p.rec != nil {
				p.v, errs[i] = ix.seal(bucket, p.k, p.rec)
			}
		})
		if err := errors.Join(errs...); err != nil {
			return err
		}
		slices.SortStableFunc(puts, func(a, b heldPut) int { return bytes.Compare(a.k, b.k) })
		b := ix.b(bucket)
		for _, p := range puts {
			if err := b.Put(p.k, p.v); err != nil {
				return err
			}
		}
	}
	return nil
}

func (ix *index) b(name string) *bolt.Bucket { return ix.tx.Bucket([]byte(name)) }

// getJSON reads a sealed record as JSON, or any other encoding when v
// is an encoding.BinaryUnmarshaler.
func (ix *index) getJSON(bucket string, key []byte, v any) (bool, error) {
	ct := ix.b(bucket).Get(key)
	if ct == nil {
		return false, nil
	}
	return true, ix.openRecord(bucket, key, ct, v)
}

// openRecord opens the sealed record ct stored under key in bucket into v.
func (ix *index) openRecord(bucket string, key, ct []byte, v any) error {
	pt, err := ix.keys.open(bucket, key, ct)
	if err != nil {
		return errorf(ErrCorrupt, "this machine's copy of the vault is damaged (%s); delete the vault folder in the state folder and it is rebuilt", bucket)
	}
	if u, ok := v.(encoding.BinaryUnmarshaler); ok {
		err = u.UnmarshalBinary(pt)
	} else {
		err = json.Unmarshal(pt, v)
	}
	if err != nil {
		return errorf(ErrCorrupt, "this machine's copy of the vault is damaged (%s); delete the vault folder in the state folder and it is rebuilt", bucket)
	}
	return nil
}

// putJSON seals and stores a record as JSON, or in its own encoding when
// v is an encoding.BinaryMarshaler.
func (ix *index) putJSON(bucket string, key []byte, v any) error {
	if ix.held != nil {
		ix.held[bucket] = append(ix.held[bucket], heldPut{k: key, rec: v})
		return nil
	}
	ct, err := ix.seal(bucket, key, v)
	if err != nil {
		return err
	}
	return ix.b(bucket).Put(key, ct)
}

// seal encodes and seals a record.
func (ix *index) seal(bucket string, key []byte, v any) ([]byte, error) {
	var pt []byte
	var err error
	if m, ok := v.(encoding.BinaryMarshaler); ok {
		pt, err = m.MarshalBinary()
	} else {
		pt, err = json.Marshal(v)
	}
	if err != nil {
		return nil, err
	}
	return ix.keys.seal(bucket, key, pt)
}

// auth returns the authority state. Decoding it is the dearest read of a
// command (members, keys, grants), and a command reads it several times
// across transactions; so the last one decoded is kept with its
// plaintext, and reused while the stored record opens to the same bytes.
// Callers never change it (the fold works on a clone).
func (ix *index) auth() (*fold.Auth, error) {
	ct := ix.b(bLocal).Get([]byte(lAuth))
	if ct == nil {
		return nil, nil
	}
	pt, err := ix.keys.open(bLocal, []byte(lAuth), ct)
	if err != nil {
		return nil, errorf(ErrCorrupt, "this machine's copy of the vault is damaged (%s); delete the vault folder in the state folder and it is rebuilt", bLocal)
	}
	cache := ix.authCache
	if cache != nil && cache.a != nil && bytes.Equal(cache.pt, pt) {
		return cache.a, nil
	}
	a := new(fold.Auth)
	if err := a.UnmarshalBinary(pt); err != nil {
		return nil, errorf(ErrCorrupt, "this machine's copy of the vault is damaged (%s); delete the vault folder in the state folder and it is rebuilt", bLocal)
	}
	if cache != nil {
		cache.pt, cache.a = pt, a
	}
	return a, nil
}

// putAuth stores the authority state, and keeps it as the one last
// decoded (see auth).
func (ix *index) putAuth(a *fold.Auth) error {
	pt, err := a.MarshalBinary()
	if err != nil {
		return err
	}
	ct, err := ix.keys.seal(bLocal, []byte(lAuth), pt)
	if err != nil {
		return err
	}
	if err := ix.b(bLocal).Put([]byte(lAuth), ct); err != nil {
		return err
	}
	if ix.authCache != nil {
		ix.authCache.pt, ix.authCache.a = pt, a
	}
	return nil
}

// authCache holds the authority state last decoded or stored, with its
// plaintext.
type authCache struct {
	pt []byte
	a  *fold.Auth
}

// Secret implements fold.Store.
func (ix *index) Secret(id fold.SecretID) (*fold.Secret, error) {
	ct := ix.b(bSecrets).Get(id[:])
	if ct == nil {
		return nil, nil
	}
	s := new(fold.Secret)
	return s, ix.openRecord(bSecrets, id[:], ct, s)
}

// ByName implements fold.Store.
func (ix *index) ByName(folded string) (fold.SecretID, bool, error) {
	var id fold.SecretID
	v := ix.b(bNames).Get(ix.keys.nameKey(folded))
	if len(v) != len(id) {
		return id, false, nil
	}
	copy(id[:], v)
	return id, true, nil
}

// Each implements fold.Store.
//
// Records are opened a chunk at a time, on every processor: a list of
// ten thousand secrets is mostly this.
func (ix *index) Each(fn func(*fold.Secret) error) error {
	type record struct {
		k, ct []byte
		s     *fold.Secret
		err   error
	}
	const chunk = 256
	batch := make([]record, 0, chunk)
	flush := func() error {
		parallel(len(batch), func(i int) {
			r := &batch[i]
			r.s = &fold.Secret{}
			r.err = ix.openRecord(bSecrets, r.k, r.ct, r.s)
		})
		for _, r := range batch {
			if r.err != nil {
				return r.err
			}
			if err := fn(r.s); err != nil {
				return err
			}
		}
		batch = batch[:0]
		return nil
	}
	c := ix.b(bSecrets).Cursor()
	for k, ct := c.First(); k != nil; k, ct = c.Next() {
		batch = append(batch, record{k: k, ct: ct})
		if len(batch) == chunk {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// dueEntry is what reminders and lists need of a secret without opening it.
type dueEntry struct {
	ID    fold.SecretID `json:"id"`
	Name  string        `json:"name"`
	Due   int32         `json:"due"` // days since 1970-01-01, UTC
	Flags byte          `json:"flags"`
	// Readers are the numbers of the members who can read the current
	// value.
	Readers []uint16 `json:"readers,omitempty"`
	Deleted bool     `json:"deleted,omitempty"`
	// alike holds the name's look-alike keys (naming.LookAlike), encoded
	// as written, so that checking a new name against 10,000 others reads
	// them instead of working them out again (30 ms); empty in entries
	// written before they were kept.
	alike []byte
}

// alikeMatches reports whether either of the name's look-alike keys is
// the same as keys' in its slot, comparing the kept bytes in place.
func (e *dueEntry) alikeMatches(keys [2]string) bool {
	b := e.alike
	for i := range keys {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) {
			mine := naming.LookAlike(e.Name)
			return mine[0] == keys[0] || mine[1] == keys[1]
		}
		if string(b[k:k+int(n)]) == keys[i] {
			return true
		}
		b = b[k+int(n):]
	}
	return false
}

// alikeKeys returns the name's look-alike keys: as kept, or worked out.
func (e *dueEntry) alikeKeys() [2]string {
	b := e.alike
	var out [2]string
	for i := range out {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) {
			return naming.LookAlike(e.Name)
		}
		out[i] = string(b[k : k+int(n)])
		b = b[k+int(n):]
	}
	return out
}

const (
	dueRotateNow byte = 1 << iota
	duePending
	dueWaiting // readers changed; waits for a reader to re-encrypt it
)

// MarshalBinary encodes the entry: name, due day, flags, deleted, readers.
func (e *dueEntry) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, 32+len(e.Name)+2*len(e.Readers))
	b = append(b, e.ID[:]...)
	b = binary.AppendUvarint(b, uint64(len(e.Name)))
	b = append(b, e.Name...)
	b = binary.BigEndian.AppendUint32(b, uint32(e.Due))
	// The byte after the flags: bit 0, in the trash; bit 1, the look-alike
	// keys follow (entries written before they were kept have neither).
	state := map[bool]byte{false: 0, true: 1}[e.Deleted]
	if e.alike != nil {
		state |= 2
	}
	b = append(b, e.Flags, state)
	b = append(b, e.alike...)
	for _, r := range e.Readers {
		b = binary.BigEndian.AppendUint16(b, r)
	}
	return b, nil
}

var errDueEntry = errors.New("malformed due entry")

// UnmarshalBinary decodes an entry encoded by MarshalBinary.
func (e *dueEntry) UnmarshalBinary(b []byte) error {
	if len(b) < 16 {
		return errDueEntry
	}
	copy(e.ID[:], b)
	b = b[16:]
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return errDueEntry
	}
	e.Name = string(b[k : k+int(n)])
	b = b[k+int(n):]
	if len(b) < 6 || b[5] > 3 {
		return errDueEntry
	}
	e.Due = int32(binary.BigEndian.Uint32(b))
	e.Flags, e.Deleted = b[4], b[5]&1 == 1
	hasAlike := b[5]&2 != 0
	b = b[6:]
	e.alike = nil
	if hasAlike {
		rest := b
		for range 2 {
			n, k := binary.Uvarint(rest)
			if k <= 0 || n > uint64(len(rest)-k) {
				return errDueEntry
			}
			rest = rest[k+int(n):]
		}
		e.alike, b = b[:len(b)-len(rest)], rest
	}
	if len(b)%2 != 0 {
		return errDueEntry
	}
	e.Readers = nil
	for i := 0; i < len(b); i += 2 {
		e.Readers = append(e.Readers, binary.BigEndian.Uint16(b[i:]))
	}
	return nil
}

func (e *dueEntry) reads(num uint16) bool {
	for _, n := range e.Readers {
		if n == num {
			return true
		}
	}
	return false
}

func dayNumber(t time.Time) int32 { return int32(t.UTC().Unix() / 86400) }

func fromDayNumber(d int32) time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

// dueDay is the day a secret's entry is filed under in the due index.
func dueDay(s *fold.Secret) int32 { return dayNumber(rotation.DueDate(s.LastRotated, s.RotateEvery)) }

func dueKey(day int32, id fold.SecretID) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(day)), id[:]...)
}

func entryFor(a *fold.Auth, s *fold.Secret) *dueEntry {
	if s.Purged != nil || s.CurrentVersion() == nil {
		return nil
	}
	e := &dueEntry{ID: s.ID, Name: s.Name, Due: dueDay(s), Deleted: s.Deleted != nil}
	if len(s.RotateNow) > 0 {
		e.Flags |= dueRotateNow
	}
	if !s.Pending.IsZero() {
		e.Flags |= duePending
	}
	if s.NeedsReencrypt(a) {
		e.Flags |= dueWaiting
	}
	for _, id := range s.CurrentVersion().Readable() {
		if m := a.Member(id); m != nil {
			e.Readers = append(e.Readers, m.Num)
		}
	}
	return e
}

// putSecret stores a secret and keeps the name index, the due index and
// the flagged set in step with it.
func (ix *index) putSecret(a *fold.Auth, s *fold.Secret) error {
	if ix.touched == nil {
		ix.touched = map[fold.SecretID]bool{}
	}
	ix.touched[s.ID] = true
	old, err := ix.Secret(s.ID)
	if err != nil {
		return err
	}
	if old != nil {
		if e := entryFor(a, old); e != nil {
			if err := ix.b(bDue).Delete(dueKey(e.Due, old.ID)); err != nil {
				return err
			}
		}
		if err := ix.b(bFlagged).Delete(old.ID[:]); err != nil {
			return err
		}
	}
	if err := ix.putJSON(bSecrets, s.ID[:], s); err != nil {
		return err
	}
	e := entryFor(a, s)
	if e == nil {
		return nil
	}
	for _, k := range naming.LookAlike(s.Name) {
		e.alike = binary.AppendUvarint(e.alike, uint64(len(k)))
		e.alike = append(e.alike, k...)
	}
	if err := ix.putJSON(bDue, dueKey(e.Due, s.ID), e); err != nil {
		return err
	}
	if e.Flags != 0 && !e.Deleted {
		return ix.putJSON(bFlagged, s.ID[:], e)
	}
	return nil
}

// setName points a folded name at a secret, or frees it.
func (ix *index) setName(k []byte, id fold.SecretID) error {
	if id == (fold.SecretID{}) {
		return ix.b(bNames).Delete(k)
	}
	return ix.put(bNames, k, id[:])
}

// take writes a fold's result into the index, with the good verdicts on
// its operations' signatures (keyed by the key's fingerprint): a fold from
// the start (a merge of copies that forked) need not check them again.
func (ix *index) take(r *fold.Result, verdicts map[oplog.ID][8]byte) error {
	if err := ix.putAuth(r.Auth); err != nil {
		return err
	}
	// A change of membership, keys or the review may change what any
	// secret's entry says for whom.
	for _, e := range r.Events {
		if fold.IsAuthority(e.Kind) {
			ix.touchedAll = true
		}
	}
	// Every key below is put or deleted once: puts are held and written
	// in order.
	ix.hold()
	defer func() { ix.held = nil }()
	// Name keys (an HMAC each) on every processor: a first open has
	// thousands.
	type named struct {
		key []byte
		id  fold.SecretID
	}
	names := make([]named, 0, len(r.Names))
	folded := make([]string, 0, len(r.Names))
	for k, id := range r.Names {
		folded = append(folded, k)
		names = append(names, named{id: id})
	}
	parallel(len(names), func(i int) { names[i].key = ix.keys.nameKey(folded[i]) })
	for _, n := range names {
		if err := ix.setName(n.key, n.id); err != nil {
			return err
		}
	}
	ids := slices.SortedFunc(maps.Keys(r.Secrets), func(a, b fold.SecretID) int { return bytes.Compare(a[:], b[:]) })
	for _, id := range ids {
		s := r.Secrets[id]
		old, err := ix.Secret(s.ID)
		if err != nil {
			return err
		}
		if err := ix.markDead(old, s); err != nil {
			return err
		}
		if err := ix.putSecret(r.Auth, s); err != nil {
			return err
		}
	}
	for _, e := range r.Events {
		if err := ix.putJSON(bEvents, binary.BigEndian.AppendUint64(nil, uint64(e.Pos)), e); err != nil {
			return err
		}
		folded := binary.BigEndian.AppendUint64(make([]byte, 0, 16), uint64(e.Pos))
		if fp, ok := verdicts[e.Op]; ok {
			folded = append(folded, fp[:]...)
		}
		if err := ix.put(bFolded, e.Op[:], folded); err != nil {
			return err
		}
	}
	// Secrets whose readers depend on members changed by this batch were
	// brought up to date by the fold and are among r.Secrets; member
	// numbers never change, so other due entries stay right.
	if err := ix.flush(); err != nil {
		return err
	}
	return ix.logChanges()
}

// markDead records the blobs old used that s no longer does: superseded
// ciphertexts and purged values. They are deleted from the replica and
// left out of the shared file; a copy that still has them does not bring
// them back.
func (ix *index) markDead(old, s *fold.Secret) error {
	if old == nil {
		return nil
	}
	live := liveBlobs(s)
	for h := range liveBlobs(old) {
		if !live[h] {
			if err := ix.b(bDead).Put(h[:], []byte{1}); err != nil {
				return err
			}
			if ix.b(bBlobs).Get(h[:]) != nil {
				if err := arrive(ix.tx, bBlobs, h[:], nil); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// liveBlobs returns the blobs a secret uses: the age files of its
// versions' values and of their two-factor seeds.
func liveBlobs(s *fold.Secret) map[oplog.Hash]bool {
	out := make(map[oplog.Hash]bool, 2*len(s.Versions))
	for _, v := range s.Versions {
		out[v.Blob] = true
		if !v.OTP.IsZero() {
			out[v.OTP] = true
		}
	}
	return out
}

// reset empties the index, before a fold from scratch.
func (ix *index) reset() error {
	ix.touchedAll = true
	for _, b := range indexBuckets {
		if err := ix.tx.DeleteBucket([]byte(b)); err != nil && !errors.Is(err, berrors.ErrBucketNotFound) {
			return err
		}
		nb, err := ix.tx.CreateBucket([]byte(b))
		if err != nil {
			return err
		}
		nb.FillPercent = inPlaceFill
	}
	return nil
}

// heads returns the heads of the folded operations.
func (ix *index) heads() []oplog.ID {
	b := ix.b(bLocal).Get([]byte(lHeads))
	out := make([]oplog.ID, len(b)/32)
	for i := range out {
		copy(out[i][:], b[i*32:])
	}
	return out
}

func (ix *index) setHeads(hs []oplog.ID) error {
	b := make([]byte, 0, 32*len(hs))
	for _, h := range hs {
		b = append(b, h[:]...)
	}
	return ix.b(bLocal).Put([]byte(lHeads), b)
}

// isFolded reports whether an operation is part of the folded state.
func (ix *index) isFolded(id oplog.ID) bool { return ix.b(bFolded).Get(id[:]) != nil }

// The arrival log lists, in order, every operation, blob and grant added to
// this machine's copy and every blob dropped from it, so that the spare
// file (see publish) can be brought up to date with only what changed.
const (
	arrivePut  byte = '+'
	arriveDrop byte = '-'
)

var arrivalBuckets = map[string]byte{bOps: 'o', bBlobs: 'b', bGrants: 'g'}
var arrivalNames = map[byte]string{'o': bOps, 'b': bBlobs, 'g': bGrants}

// arrive puts (or, with val nil, drops) key in bucket and logs it.
func arrive(tx *bolt.Tx, bucket string, key, val []byte) error {
	b := tx.Bucket([]byte(bucket))
	what := arrivePut
	var delta int64
	if old := b.Get(key); old != nil {
		delta = -int64(len(key) + len(old))
	}
	if val == nil {
		what = arriveDrop
		if err := b.Delete(key); err != nil {
			return err
		}
		// The deleted bytes stay in the page bbolt frees: update0 clears
		// free pages once this transaction is committed, and the next
		// shared file is written afresh (see publish).
		for _, k := range []string{lWipe, lDrop} {
			if err := tx.Bucket([]byte(bLocal)).Put([]byte(k), []byte{1}); err != nil {
				return err
			}
		}
	} else {
		delta += int64(len(key) + len(val))
		if err := b.Put(key, val); err != nil {
			return err
		}
	}
	l := tx.Bucket([]byte(bLocal))
	if err := l.Put([]byte(lData), binary.BigEndian.AppendUint64(nil, uint64(int64(dataSize(tx))+delta))); err != nil {
		return err
	}
	var seq uint64
	if b := l.Get([]byte(lSeq)); len(b) == 8 {
		seq = binary.BigEndian.Uint64(b)
	}
	seq++
	if err := l.Put([]byte(lSeq), binary.BigEndian.AppendUint64(nil, seq)); err != nil {
		return err
	}
	return tx.Bucket([]byte(bArrival)).Put(binary.BigEndian.AppendUint64(nil, seq), append([]byte{what, arrivalBuckets[bucket]}, key...))
}

// dataSize returns the bytes of keys and values this machine holds in
// ops, blobs and grants: what a freshly written shared file holds.
func dataSize(tx *bolt.Tx) uint64 {
	if b := tx.Bucket([]byte(bLocal)).Get([]byte(lData)); len(b) == 8 {
		return binary.BigEndian.Uint64(b)
	}
	return 0
}

// lastArrival returns the last arrival sequence number.
func lastArrival(tx *bolt.Tx) uint64 {
	if b := tx.Bucket([]byte(bLocal)).Get([]byte(lSeq)); len(b) == 8 {
		return binary.BigEndian.Uint64(b)
	}
	return 0
}

// The change log of the index says, for each of the last transactions
// that changed the index, which secrets it rewrote, or that it may have
// changed anything (a fold from scratch, a change of membership, keys or
// the review). An answer kept from the index as of one of them (the
// reminders) is brought up to date by reading again only the records of
// the secrets rewritten since, instead of all of them.
//
// An entry is a random mark (8 bytes), a byte (1: anything changed) and
// the IDs of the secrets rewritten, in order. A kept answer names the
// newest entry it saw, mark included, so that a copy of the replica rolled
// back and changed again is not mistaken for the one it saw.
const (
	changeAll = 1
	// changeWindow is how many transactions back the log reaches.
	changeWindow = 64
)

// changeMark names an entry of the change log.
type changeMark struct {
	Tx   uint64
	Mark [8]byte
}

// logChanges adds what this transaction rewrote to the change log, and
// forgets entries older than the window.
func (ix *index) logChanges() error {
	if len(ix.touched) == 0 && !ix.touchedAll {
		return nil
	}
	b := ix.b(bChanges)
	tx := uint64(ix.tx.ID())
	key := binary.BigEndian.AppendUint64(nil, tx)
	ids := map[fold.SecretID]bool{}
	var mark [8]byte
	all := ix.touchedAll
	if old := b.Get(key); len(old) >= 9 {
		// An earlier fold in this transaction.
		copy(mark[:], old)
		all = all || old[8]&changeAll != 0
		for i := 9; i+16 <= len(old); i += 16 {
			ids[fold.SecretID(old[i:i+16])] = true
		}
	} else if _, err := rand.Read(mark[:]); err != nil {
		return err
	}
	v := append(mark[:], 0)
	if all {
		v[8] = changeAll
	} else {
		for id := range ix.touched {
			ids[id] = true
		}
		for _, id := range slices.SortedFunc(maps.Keys(ids), func(a, b fold.SecretID) int { return bytes.Compare(a[:], b[:]) }) {
			v = append(v, id[:]...)
		}
	}
	ix.touched, ix.touchedAll = nil, false
	if err := b.Put(key, v); err != nil {
		return err
	}
	var old [][]byte
	c := b.Cursor()
	for k, _ := c.First(); k != nil && binary.BigEndian.Uint64(k)+changeWindow < tx; k, _ = c.Next() {
		old = append(old, k)
	}
	for _, k := range old {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// lastChange returns the newest entry of the change log (zero if none).
func (ix *index) lastChange() changeMark {
	var m changeMark
	if k, v := ix.b(bChanges).Cursor().Last(); len(k) == 8 && len(v) >= 9 {
		m.Tx = binary.BigEndian.Uint64(k)
		copy(m.Mark[:], v)
	}
	return m
}

// changesSince returns the secrets rewritten since the entry m, and
// whether anything else may have changed. ok is false when the log does
// not reach back to m (or m is not what it was).
func (ix *index) changesSince(m changeMark) (ids []fold.SecretID, all, ok bool) {
	c := ix.b(bChanges).Cursor()
	k, v := c.Seek(binary.BigEndian.AppendUint64(nil, m.Tx))
	if k == nil || binary.BigEndian.Uint64(k) != m.Tx || len(v) < 9 || !bytes.Equal(v[:8], m.Mark[:]) {
		return nil, false, false
	}
	seen := map[fold.SecretID]bool{}
	for k, v = c.Next(); k != nil; k, v = c.Next() {
		if len(v) < 9 || (len(v)-9)%16 != 0 || v[8]&changeAll != 0 {
			return nil, true, true
		}
		for i := 9; i < len(v); i += 16 {
			id := fold.SecretID(v[i : i+16])
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	return ids, false, true
}
