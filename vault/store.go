package vault

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"filippo.io/age"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/mutual-aid-vault/vault/vault/internal/boltcheck"
)

// FormatVersion is the version of the file layout this package writes. A
// file with a higher version is refused with [ErrNewerFormat].
const FormatVersion = 1

// Buckets. Only meta holds plaintext, and only what is needed to recognise
// the file and find the keys: the program name, the format version and the
// vault's random ID.
const (
	bucketMeta    = "meta"
	bucketKeys    = "keys"    // key wrap ID -> vault key age-encrypted to one member
	bucketMembers = "members" // member ID -> sealed member record
	bucketSecrets = "secrets" // keyed hash of the name -> sealed secret record
	bucketValues  = "values"  // value ID -> age file of one version of a value
	bucketLog     = "log"     // sequence number -> sealed change-log entry
)

var allBuckets = []string{bucketMeta, bucketKeys, bucketMembers, bucketSecrets, bucketValues, bucketLog}

const (
	metaApp      = "app"
	metaFormat   = "format"
	metaID       = "id"
	metaManifest = "manifest"
	metaSettings = "settings"
	appName      = "mutual-aid-vault"
)

// Clock tells the time. Tests pass a fixed clock; nil means the system clock.
type Clock interface {
	Now() time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// DefaultLockTimeout is how long Open waits for another process to release
// the file before returning [ErrBusy].
const DefaultLockTimeout = time.Second

// Options configures [Open]. Only Identity is required.
type Options struct {
	// Identity decrypts the member's copy of the vault key and the values
	// the member may read. It is an interface so that an agent process can
	// hold the key instead of this one.
	Identity age.Identity
	// ReadOnly opens the file with a shared lock; every change then fails.
	ReadOnly bool
	// LockTimeout bounds the wait for another process's lock. Zero means
	// DefaultLockTimeout.
	LockTimeout time.Duration
	// Clock stamps changes. Nil means the system clock.
	Clock Clock
	// StateDir is a private folder where this machine remembers, per vault,
	// which key wrap is the member's (so unlocking takes one decryption)
	// and the highest write counter seen (so a rolled-back file is noticed;
	// see [Vault.Warnings]). Empty means remember nothing.
	StateDir string
}

// Vault is an open, unlocked vault file. Its methods may be called from
// several goroutines (they take turns); one process should hold one Vault
// per file.
type Vault struct {
	mu       sync.Mutex
	db       *bolt.DB
	path     string
	identity age.Identity
	clock    Clock
	keys     *keyring
	vaultID  [16]byte
	// wrapID is the key of the wrap that opened the vault: the member's ID,
	// or a recovery key's ID.
	wrapID   ID
	recovery bool
	// man is the manifest as last read or committed, and me the acting
	// member's record as last read (nil after a write).
	man *manifest
	me  *memberRecord
	// stateDir holds what this member's machine remembers of the vault;
	// see state.go.
	stateDir string
	warnings []string
	// structureChecked is set when Open checked the whole file's structure
	// (for tests: otherwise this machine had checked the same file before).
	structureChecked bool
	// broken is set after a panic inside bbolt was recovered: the database's
	// locks may be held, so it must not be used, or even closed, again.
	broken bool
}

// Open opens and unlocks the vault at path with opts.Identity.
//
// Before bbolt sees the file, its structure is checked, so that a truncated
// or damaged file gives [ErrCorrupt] rather than a crash. Open waits up to
// opts.LockTimeout for another process and then returns [ErrBusy].
func Open(path string, opts Options) (*Vault, error) {
	if opts.Identity == nil {
		return nil, errors.New("vault.Open: no identity given")
	}
	timeout := opts.LockTimeout
	if timeout == 0 {
		timeout = DefaultLockTimeout
	}
	head, err := precheck(path, timeout)
	if err != nil {
		return nil, err
	}
	v := &Vault{path: path, identity: opts.Identity, clock: opts.Clock, stateDir: opts.StateDir}
	if v.clock == nil {
		v.clock = systemClock{}
	}
	if err := v.openBolt(opts); err != nil {
		return nil, err
	}
	if err := v.checkStructure(head); err != nil {
		if !v.broken {
			v.db.Close()
		}
		return nil, err
	}
	if err := v.unlock(); err != nil {
		v.Close()
		return nil, err
	}
	return v, nil
}

// Close releases the file.
func (v *Vault) Close() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.db == nil || v.broken {
		return nil
	}
	err := v.db.Close()
	v.db = nil
	return err
}

// Path returns the file the vault was opened from.
func (v *Vault) Path() string { return v.path }

// precheck refuses files bbolt must not be given to open: missing, empty,
// not a bbolt file, truncated, or with meta pages or a freelist (which
// bbolt reads as it opens a file) that could crash it. It reads a few
// pages under a shared lock, so that it never sees a file another vault
// process is in the middle of writing; the lock goes with the file when it
// returns, before bbolt takes its own (two locks on one file in one
// process would deadlock). The rest of the structure is checked by
// checkMapped, once bbolt holds the file.
func precheck(path string, timeout time.Duration) (boltcheck.Head, error) {
	var none boltcheck.Head
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return none, errorf(ErrNoVault, "no vault at %s", path)
		}
		return none, err
	}
	defer f.Close()
	if err := lockShared(f, timeout); err != nil {
		if errors.Is(err, errLockTimeout) {
			return none, errorf(ErrBusy, "%s is in use by another vault process (waited %v)", path, timeout)
		}
		return none, fmt.Errorf("cannot lock %s: %w", path, err)
	}
	info, err := f.Stat()
	if err != nil {
		return none, err
	}
	if !info.Mode().IsRegular() {
		return none, errorf(ErrNotVault, "%s is not a regular file", path)
	}
	if info.Size() == 0 {
		return none, errorf(ErrCorrupt, "%s is empty", path)
	}
	head, err := boltcheck.CheckHead(f, info.Size())
	return head, fileError(path, err)
}

// fileError turns a structural check's finding into the vault's error.
func fileError(path string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, boltcheck.ErrNotBolt):
		return errorf(ErrNotVault, "%s is not a vault file", path)
	case errors.Is(err, boltcheck.ErrTruncated):
		return errorf(ErrCorrupt, "%s is truncated (%v)", path, err)
	case errors.Is(err, boltcheck.ErrCorrupt):
		return errorf(ErrCorrupt, "%s is damaged (%v)", path, err)
	}
	return fmt.Errorf("cannot read %s: %w", path, err)
}

// checkStructure checks the whole structure of the file before bbolt reads
// more of it than its meta pages and freelist, unless this machine checked
// the very same file before (see checkedFile). head is what precheck read.
func (v *Vault) checkStructure(head boltcheck.Head) error {
	info, err := os.Stat(v.path)
	if err != nil {
		return err
	}
	id, known := identify(info, head)
	if known && v.wasChecked(id) {
		return nil
	}
	if err := v.checkMapped(info.Size()); err != nil {
		return err
	}
	v.structureChecked = true
	if known {
		v.noteChecked(id)
	}
	return nil
}

// checkMapped checks the whole structure of the file, of size bytes. It
// reads bbolt's own memory mapping, under bbolt's lock: no other process
// can be writing, and the pages it touches are the ones bbolt reads next
// anyway.
func (v *Vault) checkMapped(size int64) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer v.guard(&err)
	if size <= 0 || size > 1<<40 {
		return errorf(ErrCorrupt, "%s changed size", v.path)
	}
	// The mapping is not Go memory; the pointer bbolt hands out is only
	// ever read here, before any transaction can remap it.
	raw := v.db.Info().Data
	base := *(*unsafe.Pointer)(unsafe.Pointer(&raw))
	return fileError(v.path, boltcheck.Check(unsafe.Slice((*byte)(base), size)))
}

var errLockTimeout = errors.New("lock timeout")

// lockShared takes a shared flock on f, waiting up to timeout as bbolt
// does for its own lock.
func lockShared(f *os.File, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
		if err == nil {
			return nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			return err
		}
		if time.Now().After(deadline) {
			return errLockTimeout
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (v *Vault) openBolt(opts Options) (err error) {
	timeout := opts.LockTimeout
	if timeout == 0 {
		timeout = DefaultLockTimeout
	}
	defer v.guard(&err)
	db, err := bolt.Open(v.path, 0o600, &bolt.Options{Timeout: timeout, ReadOnly: opts.ReadOnly})
	if err != nil {
		switch {
		case errors.Is(err, berrors.ErrTimeout):
			return errorf(ErrBusy, "%s is in use by another vault process (waited %v)", v.path, timeout)
		case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrVersionMismatch):
			return errorf(ErrNotVault, "%s is not a vault file", v.path)
		case errors.Is(err, berrors.ErrChecksum):
			return errorf(ErrCorrupt, "%s is damaged (%v)", v.path, err)
		}
		return fmt.Errorf("cannot open %s: %w", v.path, err)
	}
	v.db = db
	return nil
}

// guard turns a panic inside bbolt (which trusts its file) or a memory fault
// on its mapping into ErrCorrupt. It must be deferred directly.
func (v *Vault) guard(err *error) {
	if r := recover(); r != nil {
		v.broken = true
		*err = errorf(ErrCorrupt, "%s is damaged (%v)", v.path, r)
	}
}

// unlock finds the key wrap that opens with the identity and reads the
// format version and the vault key.
func (v *Vault) unlock() error {
	return v.view(func(t *txn) error {
		meta := t.tx.Bucket([]byte(bucketMeta))
		if meta == nil || !bytes.Equal(meta.Get([]byte(metaApp)), []byte(appName)) {
			return errorf(ErrNotVault, "%s is not a vault file", v.path)
		}
		format := meta.Get([]byte(metaFormat))
		if len(format) != 4 {
			return errorf(ErrTampered, "%s has no format version", v.path)
		}
		if f := binary.BigEndian.Uint32(format); f > FormatVersion {
			return errorf(ErrNewerFormat, "%s was written by a newer version of vault (format %d; this one reads up to %d)", v.path, f, FormatVersion)
		}
		id := meta.Get([]byte(metaID))
		if len(id) != 16 {
			return errorf(ErrTampered, "%s has no vault ID", v.path)
		}
		copy(v.vaultID[:], id)
		keys := t.tx.Bucket([]byte(bucketKeys))
		if keys == nil {
			return errorf(ErrTampered, "%s has no keys", v.path)
		}
		// Try the wrap that opened this vault last time first: a member's
		// key is found with one decryption instead of one per member.
		state := v.readState()
		try := func(k, ct []byte) (bool, error) {
			ring, err := unwrap(ct, v.identity, v.vaultID)
			if err != nil {
				return false, errorf(ErrTampered, "a key wrap in %s is malformed: %w", v.path, err)
			}
			if ring == nil {
				return false, nil
			}
			if len(k) != len(v.wrapID) {
				return false, errorf(ErrTampered, "a key wrap in %s has a malformed ID", v.path)
			}
			v.keys, t.keys = ring, ring
			copy(v.wrapID[:], k)
			return true, nil
		}
		found := false
		if !state.Wrap.IsZero() {
			if ct := keys.Get(state.Wrap[:]); ct != nil {
				var err error
				if found, err = try(state.Wrap[:], ct); err != nil {
					return err
				}
			}
		}
		c := keys.Cursor()
		for k, ct := c.First(); k != nil && !found; k, ct = c.Next() {
			if bytes.Equal(k, state.Wrap[:]) {
				continue
			}
			var err error
			if found, err = try(k, ct); err != nil {
				return err
			}
		}
		if !found {
			return errorf(ErrNotMember, "your key does not open %s: you are not a member of this vault, or were removed", v.path)
		}
		if err := t.loadManifest(); err != nil {
			return err
		}
		v.man = t.man
		v.noteState(state)
		if m, err := t.member(v.wrapID); err == nil {
			v.me = m
			return nil
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		s, err := t.settings()
		if err != nil {
			return err
		}
		for _, r := range s.Recovery {
			if r.ID == v.wrapID {
				v.recovery = true
				return nil
			}
		}
		return errorf(ErrTampered, "the key that opened %s belongs to no member", v.path)
	})
}

// txn is one bbolt transaction with the vault's keys and manifest.
type txn struct {
	v   *Vault
	tx  *bolt.Tx
	man *manifest
	// keys seal and open records in this transaction. A transaction that
	// issues a new vault key switches them; the Vault takes them on commit.
	keys *keyring
	// rev is the revision records written in this transaction are sealed
	// at: the manifest's counter after this transaction commits.
	rev           uint64
	now           time.Time
	members       []*memberRecord // cache, loaded on first use
	settingsCache *settingsRecord
	due           *dueIndex // loaded on first use
	dueDirty      bool
	dirty         bool
}

// errClosed is returned by every call on a closed vault.
var errClosed = errors.New("the vault is closed")

// usable fails when the vault can take no more calls.
func (v *Vault) usable() error {
	if v.broken {
		return errorf(ErrCorrupt, "%s is damaged", v.path)
	}
	if v.db == nil {
		return errClosed
	}
	return nil
}

func (v *Vault) view(fn func(*txn) error) (err error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := v.usable(); err != nil {
		return err
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer v.guard(&err)
	return v.db.View(func(tx *bolt.Tx) error {
		// The manifest cached at unlock or at the last commit is current:
		// the file is locked while the vault is open, so no other process
		// can have written since. Readers must not change it.
		t := &txn{v: v, tx: tx, keys: v.keys, man: v.man, now: v.clock.Now().UTC()}
		return fn(t)
	})
}

// update runs fn in one write transaction: all of its changes are committed
// together with the new manifest, or none are.
func (v *Vault) update(fn func(*txn) error) (err error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := v.usable(); err != nil {
		return err
	}
	if v.db.IsReadOnly() {
		return errors.New("the vault was opened read-only")
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer v.guard(&err)
	var t *txn
	err = v.db.Update(func(tx *bolt.Tx) error {
		// Read the manifest afresh: fn changes it, and a failed transaction
		// must leave the cached one as it was.
		t = &txn{v: v, tx: tx, keys: v.keys, now: v.clock.Now().UTC()}
		if err := t.loadManifest(); err != nil {
			return err
		}
		t.rev = t.man.counter + 1
		if err := fn(t); err != nil {
			return err
		}
		if err := t.saveDue(); err != nil {
			return err
		}
		if !t.dirty {
			return nil
		}
		if err := t.saveDueSummary(); err != nil {
			return err
		}
		t.man.counter = t.rev
		return t.saveManifest()
	})
	v.me = nil // members may have changed, or the transaction failed
	if err == nil {
		t.man.entries.freeze()
		v.keys, v.man = t.keys, t.man
		v.noteState(v.readState())
	}
	return err
}

func (t *txn) bucket(name string) *bolt.Bucket { return t.tx.Bucket([]byte(name)) }

func (t *txn) loadManifest() error {
	meta := t.bucket(bucketMeta)
	sealed := meta.Get([]byte(metaManifest))
	if sealed == nil {
		return errorf(ErrTampered, "%s has no manifest", t.v.path)
	}
	pt, err := t.keys.openRecord(bucketMeta, []byte(metaManifest), 0, sealed)
	if err != nil {
		return errorf(ErrTampered, "the manifest of %s fails its integrity check", t.v.path)
	}
	m, err := parseManifest(pt)
	if err != nil {
		return errorf(ErrTampered, "the manifest of %s is malformed", t.v.path)
	}
	t.man = m
	return nil
}

func (t *txn) saveManifest() error {
	sealed, err := t.keys.sealRecord(bucketMeta, []byte(metaManifest), 0, t.man.marshal())
	if err != nil {
		return err
	}
	return t.bucket(bucketMeta).Put([]byte(metaManifest), sealed)
}

// getSealed reads and opens a mutable record, checking it against the
// manifest. It returns (nil, nil) when the record does not exist.
func (t *txn) getSealed(bucket string, code byte, key []byte) ([]byte, error) {
	sealed := t.bucket(bucket).Get(key)
	entry, listed := t.man.get(manifestKey(code, key))
	switch {
	case sealed == nil && !listed:
		return nil, nil
	case sealed == nil:
		return nil, errorf(ErrTampered, "a %s record of %s was deleted outside vault", bucket, t.v.path)
	case !listed:
		return nil, errorf(ErrTampered, "a %s record of %s was added outside vault", bucket, t.v.path)
	}
	pt, err := t.keys.openRecord(bucket, key, entry.rev, sealed)
	if err != nil {
		return nil, errorf(ErrTampered, "a %s record of %s was changed, moved or replaced by an older copy outside vault", bucket, t.v.path)
	}
	return pt, nil
}

// putSealed seals and stores a mutable record at this transaction's revision.
func (t *txn) putSealed(bucket string, code byte, key []byte, plaintext []byte) error {
	sealed, err := t.keys.sealRecord(bucket, key, t.rev, plaintext)
	if err != nil {
		return err
	}
	if err := t.bucket(bucket).Put(key, sealed); err != nil {
		return err
	}
	mk := manifestKey(code, key)
	e, _ := t.man.get(mk)
	e.key, e.rev = mk, t.rev
	t.man.set(e)
	t.dirty = true
	return nil
}

// deleteSealed removes a mutable record and its manifest entry (and, for a
// secret, its due index entry).
func (t *txn) deleteSealed(bucket string, code byte, key []byte) error {
	if code == codeSecrets {
		if err := t.noteDue(key, nil); err != nil {
			return err
		}
	}
	if err := t.bucket(bucket).Delete(key); err != nil {
		return err
	}
	t.man.remove(manifestKey(code, key))
	t.dirty = true
	return nil
}

// forEachSealed calls fn with every record of a bucket, checking that the
// bucket and the manifest list the same records.
func (t *txn) forEachSealed(bucket string, code byte, fn func(key, plaintext []byte) error) error {
	seen := 0
	c := t.bucket(bucket).Cursor()
	for k, sealed := c.First(); k != nil; k, sealed = c.Next() {
		entry, listed := t.man.get(manifestKey(code, k))
		if !listed {
			return errorf(ErrTampered, "a %s record of %s was added outside vault", bucket, t.v.path)
		}
		pt, err := t.keys.openRecord(bucket, k, entry.rev, sealed)
		if err != nil {
			return errorf(ErrTampered, "a %s record of %s was changed, moved or replaced by an older copy outside vault", bucket, t.v.path)
		}
		seen++
		if err := fn(k, pt); err != nil {
			return err
		}
	}
	if t.man.count(code) != seen {
		return errorf(ErrTampered, "a %s record of %s was deleted outside vault", bucket, t.v.path)
	}
	return nil
}

func (t *txn) settings() (*settingsRecord, error) {
	if t.settingsCache != nil {
		return t.settingsCache, nil
	}
	pt, err := t.getSealed(bucketMeta, codeMeta, []byte(metaSettings))
	if err != nil {
		return nil, err
	}
	if pt == nil {
		return nil, errorf(ErrTampered, "%s has no settings record", t.v.path)
	}
	var s settingsRecord
	if err := decodeRecord(pt, &s); err != nil {
		return nil, errorf(ErrTampered, "the settings of %s are malformed", t.v.path)
	}
	t.settingsCache = &s
	return &s, nil
}

func (t *txn) putSettings(s *settingsRecord) error {
	t.settingsCache = s
	return t.putJSON(bucketMeta, codeMeta, []byte(metaSettings), s)
}

// Create makes a new vault file at path with one member, the creator, who
// is an admin. It never replaces an existing file: the vault is built in a
// temporary file and linked into place only when complete.
func Create(path string, c CreateOptions) (*Vault, error) {
	if c.Identity == nil {
		return nil, errors.New("vault.Create: no identity given")
	}
	plan, err := c.plan()
	if err != nil {
		return nil, err
	}
	if _, err := os.Lstat(path); err == nil {
		return nil, errorf(ErrExists, "%s already exists", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".new-*")
	if err != nil {
		return nil, err
	}
	tmpPath := tmp.Name()
	tmp.Close()
	defer os.Remove(tmpPath)
	if err := os.Chmod(tmpPath, 0o600); err != nil {
		return nil, err
	}
	// bbolt initialises an empty file itself.
	if err := os.Truncate(tmpPath, 0); err != nil {
		return nil, err
	}
	clock := c.Clock
	if clock == nil {
		clock = systemClock{}
	}
	if err := plan.write(tmpPath, clock.Now().UTC()); err != nil {
		return nil, err
	}
	if err := os.Link(tmpPath, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, errorf(ErrExists, "%s already exists", path)
		}
		return nil, err
	}
	return Open(path, c.Options)
}
