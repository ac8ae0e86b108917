package vault

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"filippo.io/age"
	bolt "go.etcd.io/bbolt"
	"golang.org/x/sys/unix"

	"github.com/mutual-aid-vault/vault/vault/internal/fold"
	"github.com/mutual-aid-vault/vault/vault/internal/oplog"
)

// Clock tells the time. Tests pass a fixed clock; nil means the system clock.
type Clock interface {
	Now() time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// DefaultLockTimeout is how long a call waits for another process that is
// changing the vault (and making progress) before returning [ErrBusy].
const DefaultLockTimeout = 30 * time.Second

// Options configures [Open]. Only Identity is required.
type Options struct {
	// Identity decrypts the member's keys and the values the member may
	// read. It is an interface so that an agent process can hold the key
	// instead of this one; if it is also a [Signer], the member can make
	// changes.
	Identity age.Identity
	// ReadOnly opens the vault for reading only; every change then fails
	// with [ErrReadOnly].
	ReadOnly bool
	// LockTimeout bounds the wait for another process that is changing
	// this machine's copy of the vault (a process that stops making
	// progress is not waited for). Zero means DefaultLockTimeout.
	LockTimeout time.Duration
	// OnWait, when set, is told (once, after a second) that the vault is
	// waiting for another process, and for which.
	OnWait func(msg string)
	// Clock stamps changes. Nil means the system clock.
	Clock Clock
	// StateDir is a private folder where this machine keeps its own copy
	// of every vault it opens (every change it has seen, so none is ever
	// lost), the identity of the vault at each path, and which files it
	// checked. Empty means a temporary folder, deleted on Close: then
	// nothing is remembered between opens.
	StateDir string
}

// Vault is an open, unlocked vault. Its methods may be called from several
// goroutines (they take turns); one process should hold one Vault per
// file.
type Vault struct {
	mu       sync.Mutex
	path     string
	identity age.Identity
	signer   Signer
	// readOnly is Options.ReadOnly: every change fails, and the shared
	// file is left as it is.
	readOnly bool
	// readOnlyWhy says why the shared file cannot be written, or "" when
	// it can; worked out when first needed (fileReadOnly).
	readOnlyWhy     string
	readOnlyChecked bool
	timeout         time.Duration
	clock           Clock
	stateDir        string
	tempState       bool

	vaultID oplog.ID
	rep     *bolt.DB
	repRW   bool
	repPath string
	// repFile is the file bbolt opened rep from (see shareReplica).
	repFile *os.File

	keys         *keyset
	ik           *indexKeys
	keysChanged  bool
	triedGrants  map[oplog.Hash]bool
	openedGrants map[oplog.Hash]bool
	me           fold.MemberID
	recovery     bool

	// shared is the shared file as this process last read or wrote it.
	shared fileStamp
	// missing and lacks are what the shared file lacked when last taken
	// in: changes, or blobs only.
	missing []oplog.ID
	lacks   bool
	// seen is set once this machine's copy holds the vault: changes that
	// come in from then on are news.
	seen bool
	// damage counts the changes the last copy read had damaged, or made
	// on top of changes it lacked.
	damage int

	warnings []string
	incoming []Event
	notes    []string
	// maxReaders, when not zero, is a smaller limit than age's on a
	// value's readers (see readerLimit; for tests).
	maxReaders int
	// progress, when set, hears how a long re-encryption goes.
	progress func(done, total int)
	// oldKey, when set, is the member's identity from before their keys
	// were replaced: it opens what waits to be re-encrypted for the new
	// one (ReencryptWithOldKey). unopened are the secrets it could not.
	oldKey   age.Identity
	unopened []string
	// published counts the writes of the shared file after a change,
	// freshWrites the shared files written anew, and remindersPatched the
	// kept reminders brought up to date (for tests).
	published   int
	freshWrites int
	// signaturesChecked counts the signatures this process checked (for
	// tests).
	signaturesChecked atomic.Int64
	remindersPatched  int
	// adopted is set when this machine's copy was started as a copy of
	// the shared file (adoptShared; for tests).
	adopted bool
	// released is set while this machine's copy is let go (Release).
	released bool
	// auths keeps the authority state decoded in read-only transactions
	// of the copy now open.
	auths *authCache
	// onWait is Options.OnWait; beat stops the heartbeat of this process's
	// writer note (see wait.go), and beatDone says it stopped.
	onWait         func(string)
	beat, beatDone chan struct{}
}

// Open opens and unlocks the vault at path with opts.Identity.
//
// When this machine has opened the file before and it has not changed
// since, Open reads only this machine's copy. Otherwise it checks the
// file's structure (so that a damaged file gives [ErrCorrupt] rather than
// a crash), refuses a different vault than the one opened at path before
// ([ErrOtherVault]), takes in every change the file has that this machine
// has not seen, and puts back every change it has seen that the file
// lacks. Copies left beside the file by sync tools (conflict copies) are
// merged and removed. [Vault.Warnings] and [Vault.Incoming] say what
// happened.
func Open(path string, opts Options) (*Vault, error) {
	if opts.Identity == nil {
		return nil, errors.New("vault.Open: no identity given")
	}
	v, err := newVault(path, opts)
	if err != nil {
		return nil, err
	}
	if err := v.open(); err != nil {
		v.Close()
		return nil, err
	}
	return v, nil
}

func newVault(path string, opts Options) (*Vault, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	v := &Vault{path: abs, identity: opts.Identity, readOnly: opts.ReadOnly, timeout: opts.LockTimeout, clock: opts.Clock, onWait: opts.OnWait,
		stateDir: opts.StateDir, keys: newKeyset(), triedGrants: map[oplog.Hash]bool{}, openedGrants: map[oplog.Hash]bool{}}
	if s, ok := opts.Identity.(Signer); ok {
		v.signer = s
	}
	if v.clock == nil {
		v.clock = systemClock{}
	}
	if v.stateDir == "" {
		dir, err := os.MkdirTemp("", "vault-state-")
		if err != nil {
			return nil, err
		}
		v.stateDir, v.tempState = dir, true
	}
	return v, nil
}

func (v *Vault) lockTimeout() time.Duration {
	if v.timeout == 0 {
		return DefaultLockTimeout
	}
	return v.timeout
}

func (v *Vault) now() time.Time { return v.clock.Now().UTC() }

// Close releases the files.
func (v *Vault) Close() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	err := v.closeReplica()
	v.released = false
	if v.tempState {
		os.RemoveAll(v.stateDir)
		v.tempState = false
	}
	return err
}

// Release lets go of this machine's copy of the vault (and with it every
// lock this process holds on it) until the next call that needs it, which
// opens it again. Call it before anything that waits on a person (a
// prompt, a confirmation): other commands, cron jobs included, must not
// wait for someone to finish typing. What the next call reads or changes
// is checked against the vault as it is then, not as it was before.
func (v *Vault) Release() {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.rep != nil {
		v.closeReplica()
		v.released = true
	}
}

// ready opens this machine's copy again after Release (read-only: writes
// take the write lock when they write).
func (v *Vault) ready() error {
	if v.rep != nil {
		return nil
	}
	if !v.released {
		return errClosed
	}
	if err := v.openReplica(false); err != nil {
		return err
	}
	v.released = false
	return nil
}

// Path returns the file the vault was opened from.
func (v *Vault) Path() string { return v.path }

// Warnings returns what the member should be told about the vault file
// itself: a copy that lacked changes this machine had seen (and was
// repaired), changes that were refused, changes that cannot be read yet.
// They never stop the vault from working.
func (v *Vault) Warnings() []string { return v.warnings }

// Incoming returns the changes Open took in that this machine had not seen
// before, oldest first.
func (v *Vault) Incoming() []Event { return v.incoming }

func (v *Vault) warn(format string, args ...any) {
	v.warnings = append(v.warnings, fmt.Sprintf(format, args...))
}

func (v *Vault) open() error {
	info, err := os.Stat(v.path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return errorf(ErrNoVault, "no vault at %s", v.path)
		}
		return err
	}
	if !info.Mode().IsRegular() {
		return notVault(&NotRegularError{Path: v.path, Kind: fileKind(info.Mode())})
	}
	p, pinned := v.pinFor(v.path)
	if pinned {
		v.vaultID = p.Vault
		v.repPath = v.replicaPath(p.Vault)
		if _, err := os.Stat(v.repPath); err == nil {
			// The usual case: this machine has opened the file before.
			// If it has not changed since, this machine's copy is all
			// there is to read. If it has (as far as the stamp hint
			// knows), the copy is opened for writing straight away, to
			// take in what changed.
			stamp := stampOf(info)
			rw := v.stampHint() != stamp
			if err := v.openReplica(rw); err != nil {
				// A copy that cannot be written can still be read,
				// if the file has not changed after all.
				if !rw || errors.Is(err, ErrBusy) {
					return err
				}
				if err := v.openReplica(false); err != nil {
					return err
				}
			}
			if err := v.unlock(); err != nil {
				return err
			}
			if v.storedStamp() == stamp && len(conflictCopies(v.path)) == 0 {
				if err := v.shareReplica(); err != nil {
					return err
				}
				return v.checkMembership()
			}
		}
	}
	sf, err := v.openShared(v.path)
	if err != nil {
		if pinned && v.rep != nil && (errors.Is(err, ErrCorrupt) || errors.Is(err, ErrNotVault) || errors.Is(err, ErrTampered)) {
			return v.rebuildDamaged(err)
		}
		return err
	}
	defer sf.close()
	if pinned && sf.vaultID != p.Vault {
		return errorf(ErrOtherVault, "%s is not the vault this machine opened there before (another vault was put in its place); if your group really replaced its vault, run 'vault forget %s' and open it again", v.path, v.path)
	}
	v.vaultID = sf.vaultID
	v.repPath = v.replicaPath(sf.vaultID)
	if v.rep == nil {
		v.adoptShared(sf)
		if err := v.openReplica(true); err != nil {
			return err
		}
		if err := v.unlock(); err != nil {
			return err
		}
	}
	first := v.me.IsZero()
	if err := v.takeIn(sf, false); err != nil {
		if sf.damaged != nil && pinned && !first {
			sf.close()
			return v.rebuildDamaged(sf.damaged)
		}
		return err
	}
	if first && v.damage > 0 {
		// Without a copy of its own to compare, this machine cannot tell
		// what the damage took away.
		v.closeReplica()
		os.RemoveAll(filepath.Dir(v.repPath))
		return errorf(ErrCorrupt, "%s is damaged: %s could not be read or lack what they were made on; ask another member for a sound copy", v.path, plural(v.damage, "change"))
	}
	if v.me.IsZero() {
		v.closeReplica()
		os.RemoveAll(filepath.Dir(v.repPath))
		return errorf(ErrNotAdded, "your key does not open %s: you are not a member of this vault (yet), or were removed; send 'vault pubkey' to an admin", v.path)
	}
	v.seen = true
	// Done reading the file: writing it below (a repair, merged conflict
	// copies) may update a spare that is this very file, which must not
	// wait for this process's own lock on it.
	sf.close()
	// Only a member puts back what the file lacks: a removed member's
	// machine, which cannot read what came after, writes nothing.
	if err := v.checkMembership(); err != nil {
		return err
	}
	if err := v.repair(sf); err != nil {
		return err
	}
	if err := v.mergeConflictCopies(); err != nil {
		return err
	}
	// Only writes need the exclusive lock: let other commands read.
	if err := v.shareReplica(); err != nil {
		return err
	}
	// A vault pinned when this machine joined it, before its member could
	// read it, gets its name now.
	if !pinned || p.Name == "" {
		name := ""
		if a, err := v.authState(); err == nil && a != nil {
			name = a.Name
		}
		if err := v.setPin(v.path, pin{Vault: v.vaultID, Name: name}); err != nil {
			v.warn("could not remember this vault's identity on this machine: %v", err)
		}
	}
	return v.checkMembership()
}

// fileReadOnly says why this process may not write the shared file (see
// readOnlyReason), or "" when it may. A file it may not write is still
// read; a change says why it cannot be saved (writable). Worked out once,
// when first needed: it costs several system calls that a command that
// only reads need not make.
func (v *Vault) fileReadOnly() string {
	if !v.readOnlyChecked {
		v.readOnlyWhy, v.readOnlyChecked = readOnlyReason(v.path), true
	}
	return v.readOnlyWhy
}

// cannotWrite reports whether this process must leave the shared file as
// it is.
func (v *Vault) cannotWrite() bool { return v.readOnly || v.fileReadOnly() != "" }

// closeReplica closes this machine's copy, if open.
func (v *Vault) closeReplica() error {
	v.stopWriting()
	if v.rep == nil {
		return nil
	}
	err := v.rep.Close()
	v.rep, v.repFile = nil, nil
	return err
}

// shareReplica lets other commands read this machine's copy again once
// this process has written what it came to write: the exclusive lock
// becomes a shared one, and the copy stays open (and its pages mapped)
// for reading. A later write opens it again for writing.
func (v *Vault) shareReplica() error {
	if v.rep == nil || !v.repRW {
		return nil
	}
	v.stopWriting()
	last := -1
	_ = v.rep.View(func(tx *bolt.Tx) error { last = tx.ID(); return nil })
	ok := v.repFile != nil && unix.Flock(int(v.repFile.Fd()), unix.LOCK_SH|unix.LOCK_NB) == nil
	if ok {
		// A lock is changed by letting go and taking it again: a
		// process that wrote the copy in between leaves this one's
		// pages out of date.
		now := -2
		_ = v.rep.View(func(tx *bolt.Tx) error { now = tx.ID(); return nil })
		ok = now == last
	}
	if !ok {
		return v.openReplica(false)
	}
	v.repRW = false
	return nil
}

// openReplica opens this machine's copy, for writing or not.
func (v *Vault) openReplica(rw bool) error {
	if v.rep != nil {
		if v.repRW == rw {
			return nil
		}
		v.closeReplica()
	}
	if rw {
		if err := os.MkdirAll(filepath.Dir(v.repPath), 0o700); err != nil {
			return err
		}
	}
	// A replica grows to a little more than the shared file: mapping that
	// much at once saves bbolt remapping as it grows.
	hint := 0
	if info, err := os.Stat(v.path); err == nil && rw {
		hint = int(min(info.Size()*2, 1<<31))
	}
	db, file, err := v.openWaiting(rw, hint)
	if err != nil {
		return err
	}
	v.rep, v.repRW, v.repFile = db, rw, file
	if v.auths == nil {
		v.auths = &authCache{}
	}
	if rw {
		v.startWriting()
	}
	return nil
}

// writable makes sure changes can be made and stored.
func (v *Vault) writable() error {
	if v.readOnly {
		return errorf(ErrReadOnly, "the vault was opened read-only")
	}
	if why := v.fileReadOnly(); why != "" {
		return errorf(ErrReadOnly, "%s, so changes cannot be saved; make it writable (chmod 600, or ask whoever owns it), or use a writable copy", why)
	}
	if v.signer == nil {
		return errorf(ErrReadOnly, "this identity can read the vault but not sign changes")
	}
	a, err := v.authState()
	if err != nil {
		return err
	}
	if a == nil {
		return errorf(ErrCorrupt, "this machine's copy of the vault is empty; delete the vault folder in the state folder and it is rebuilt")
	}
	m := a.Member(v.me)
	if v.recovery && (m == nil || len(m.Sign) == 0) {
		return errorf(ErrReadOnly, "a recovery key can read everything but not change the vault; a member makes changes")
	}
	// Checked here, not at every open: deriving the signing key costs a
	// read-only command a millisecond.
	if m != nil && !m.Recovery && !slices.Equal(m.Sign, v.signer.SigningKey()) {
		return errorf(ErrReadOnly, "your identity's signing key is not the one the vault has for %s, so you can read but not change the vault; ask an admin to check your member key ('vault member list')", m.Name)
	}
	return v.openReplica(true)
}

// unlock reads the keyset of this machine's copy with the identity: one
// decryption. A new copy gets a new local key; its vault keys come from
// the grants as the log is taken in.
func (v *Vault) unlock() error {
	var blob, me []byte
	err := v.rep.View(func(tx *bolt.Tx) error {
		l := tx.Bucket([]byte(bLocal))
		if l == nil {
			return nil
		}
		// Opened for writing, the copy's version was checked then
		// (openReplica); read-only, here.
		if f := l.Get([]byte(lFormat)); f != nil && !bytes.Equal(f, []byte{replicaFormat}) && !bytes.Equal(f, []byte{replicaUnpadded}) {
			return errorf(ErrCorrupt, "this machine's copy of the vault (%s) is of another version of vault; delete %s and it is rebuilt from the vault file", v.repPath, filepath.Dir(v.repPath))
		}
		blob = append([]byte(nil), l.Get([]byte(lKeys))...)
		me = append([]byte(nil), l.Get([]byte(lMe))...)
		return nil
	})
	if err != nil {
		return err
	}
	if blob == nil {
		local, err := randomKey()
		if err != nil {
			return err
		}
		v.keys.local = local
		v.ik = deriveIndexKeys(local)
		return nil
	}
	pt, err := ageDecrypt(blob, v.identity, maxGrant+64)
	if errors.Is(err, ErrAgentLocked) || errors.Is(err, ErrNoAgent) {
		// The identity is an agent's, and it is gone: not damage.
		return errorf(ErrAgentLocked, "the agent holding your key has locked (idle, or 'vault lock'); unlock again")
	}
	if err != nil {
		return errorf(ErrCorrupt, "this machine's copy of the vault has damaged keys (%v); delete %s and it is rebuilt", err, filepath.Dir(v.repPath))
	}
	if pt == nil {
		return errorf(ErrNotMember, "your key does not open this machine's copy of %s: it was made with another identity", v.path)
	}
	k, err := parseLocal(pt)
	if err != nil {
		return errorf(ErrCorrupt, "this machine's copy of the vault has damaged keys; delete %s and it is rebuilt", filepath.Dir(v.repPath))
	}
	v.keys, v.ik = k, deriveIndexKeys(k.local)
	copy(v.me[:], me)
	v.seen = !v.me.IsZero()
	return nil
}

// stampHint returns the stamp setStamp last stored, kept in a small file
// beside this machine's copy: open reads it before opening the copy, to
// open it for writing straight away when the shared file has changed
// since. The copy's own stamp (storedStamp) decides what is taken in.
func (v *Vault) stampHint() fileStamp {
	b, _ := os.ReadFile(v.stampHintPath())
	return decodeStamp(b)
}

func (v *Vault) stampHintPath() string { return filepath.Join(filepath.Dir(v.repPath), "stamp") }

// storedStamp returns the shared file's stamp as this machine last read or
// wrote it.
func (v *Vault) storedStamp() fileStamp {
	var st fileStamp
	_ = v.rep.View(func(tx *bolt.Tx) error {
		st = decodeStamp(tx.Bucket([]byte(bLocal)).Get([]byte(lFile)))
		return nil
	})
	v.shared = st
	return st
}

func (v *Vault) setStamp(tx *bolt.Tx, st fileStamp) error {
	b := st.encode()
	// Only a hint (see stampHint): if this transaction fails, the next
	// open finds the copy's own stamp differs and takes the file in.
	_ = writeHint(v.stampHintPath(), b)
	v.shared = st
	return tx.Bucket([]byte(bLocal)).Put([]byte(lFile), b)
}

// takeIn brings this machine's copy and the shared file together: takes
// in what the file has, then, when repair is set, puts back what it
// lacks (see repair).
func (v *Vault) takeIn(sf *sharedFile, repair bool) error {
	if err := v.openReplica(true); err != nil {
		return err
	}
	v.missing, v.lacks = nil, false
	var missing []oplog.ID
	lacks := false
	err := v.update0(func(tx *bolt.Tx) error {
		in, quick, err := sf.quickDiff(tx, v.keys)
		if err != nil {
			return err
		}
		if !quick {
			// The file is not simply this machine's history plus news:
			// compare everything.
			var miss []oplog.ID
			if in, miss, err = sf.diff(tx); err != nil {
				return err
			}
			missing = miss
			if lacks, err = sf.lacksBlobs(tx); err != nil {
				return err
			}
		}
		// Operations may also wait from before: a copy adopted from the
		// shared file (adoptShared) whose first open did not finish.
		if !in.empty() || newPending(tx) {
			rep, err := v.ingest(tx, in)
			if err != nil {
				return err
			}
			v.report(tx, rep, "")
		}
		return v.setStamp(tx, sf.stamp)
	})
	if err != nil {
		return err
	}
	v.missing, v.lacks = missing, lacks
	if !repair {
		return nil
	}
	sf.close() // see open
	return v.repair(sf)
}

// repair puts back what the shared file lacked when it was last taken in,
// and says what.
func (v *Vault) repair(sf *sharedFile) error {
	missing, lacks := v.missing, v.lacks
	v.missing, v.lacks = nil, false
	if (len(missing) == 0 && !lacks) || v.cannotWrite() {
		return nil
	}
	if len(missing) > 0 {
		v.warn("%s", v.describeMissing(missing))
	}
	st, err := v.publish(v.path, false)
	if err != nil {
		v.warn("could not put the missing changes back into %s (%v); the next command tries again", v.path, err)
		return nil
	}
	return v.update0(func(tx *bolt.Tx) error { return v.setStamp(tx, st) })
}

// update0 runs fn in one write transaction of the replica, turning a
// panic from a damaged file into an error. It takes the exclusive lock
// first if this process holds only a shared one (shareReplica): a copy
// held so is open for writing as far as bbolt knows, and must not be
// written. When the transaction deleted something from the log (a purged
// value, a ciphertext a re-encryption replaced), the replica's free pages
// are cleared once it is committed.
func (v *Vault) update0(fn func(tx *bolt.Tx) error) (err error) {
	if !v.repRW {
		if err := v.openReplica(true); err != nil {
			return err
		}
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = errorf(ErrCorrupt, "this machine's copy of the vault is damaged (%v); delete %s and it is rebuilt", r, filepath.Dir(v.repPath))
		}
	}()
	wipe := false
	err = v.rep.Update(func(tx *bolt.Tx) error {
		// Keys are hashes, in no order, or come in order in bulk (the
		// first open, an import): pages split fuller than bbolt's half.
		for _, name := range replicaBuckets {
			if b := tx.Bucket([]byte(name)); b != nil {
				b.FillPercent = inPlaceFill
			}
		}
		if err := fn(tx); err != nil {
			return err
		}
		wipe = tx.Bucket([]byte(bLocal)).Get([]byte(lWipe)) != nil
		return nil
	})
	if err != nil || !wipe {
		return err
	}
	if err := v.wipeReplica(); err != nil {
		// The next transaction that deletes something tries again.
		v.warn("could not clear the freed space of this machine's copy of the vault (%v); deleted values may linger in it until 'vault compact'", err)
	}
	return nil
}

// wipeReplica clears the free pages of this machine's copy (opened for
// writing) and forgets that they were to be cleared.
func (v *Vault) wipeReplica() error {
	return wipeFree(v.rep, v.repPath, func(tx *bolt.Tx) error {
		return tx.Bucket([]byte(bLocal)).Delete([]byte(lWipe))
	})
}

// report turns what an ingest did into incoming events and warnings.
func (v *Vault) report(tx *bolt.Tx, rep *ingestReport, from string) {
	for _, e := range rep.events {
		if v.seen {
			// On the first open on this machine everything is new: not
			// news worth listing.
			v.incoming = append(v.incoming, publicEvent(e))
		}
		if e.Rejected != "" {
			v.warn("refused a change: %s (%s)", e.Summary, e.Rejected)
		}
	}
	if v.seen {
		v.warnLookAlikes(tx, rep.events)
	}
	v.damage = rep.bad + rep.dangling
	if rep.bad > 0 {
		if rep.bad == 1 {
			v.warn("1 change in %s is damaged or belongs to another vault; it was ignored", v.path)
		} else {
			v.warn("%d changes in %s are damaged or belong to another vault; they were ignored", rep.bad, v.path)
		}
	}
	if rep.unreadable > 0 {
		v.warn("%s cannot be read yet: sealed with a vault key you were not given; an admin's next change gives it to you", plural(rep.unreadable, "change"))
	}
	if rep.dangling > 0 {
		v.warn("%s were made on top of changes this copy lacks; they take effect once a copy that has those is merged", plural(rep.dangling, "change"))
	}
}

// warnLookAlikes warns when other members' changes added a secret or a
// member under a name that looks like another's ("аirtable" with a
// Cyrillic а beside "airtable"). The changes are kept: this program
// refuses such names when they are typed, so these were made with other
// tools or by an older version, and nothing a member did may be lost; the
// warning lets people sort it out.
func (v *Vault) warnLookAlikes(tx *bolt.Tx, events []fold.Event) {
	var secrets, members []fold.Event
	for _, e := range events {
		switch {
		case e.Rejected != "" || e.Target == "":
		case e.Kind == fold.KindSecretAdd:
			secrets = append(secrets, e)
		case e.Kind == fold.KindMemberAdd:
			members = append(members, e)
		}
	}
	if len(secrets)+len(members) == 0 {
		return
	}
	ix := &index{tx: tx, keys: v.ik, authCache: v.auths}
	say := func(l *lookAlikes, es []fold.Event, fix string) {
		for _, e := range es {
			if old, ok, _ := l.find(e.Target); ok {
				v.warn("%s added the %s %q, which looks like the %s %q%s; check with %s which is which, and %s",
					e.Who, l.what, e.Target, l.what, old.name, unlike(e.Target, old), e.Who, fix)
			}
		}
	}
	if len(secrets) > 0 {
		say(secretLookAlikes(ix), secrets, "move the wrong one to the trash ('vault rm')")
	}
	if len(members) > 0 {
		a, err := ix.auth()
		if err != nil {
			return
		}
		l := newLookAlikes("member")
		for _, m := range a.Members {
			if m.Active() {
				l.add(m.Name, "")
			}
		}
		say(l, members, "remove the wrong one ('vault member rm')")
	}
}

// describeMissing says what a copy lacked: "this copy lacks 2 changes you
// have seen, including kim's removal on 2026-11-26".
func (v *Vault) describeMissing(missing []oplog.ID) string {
	var events []fold.Event
	_ = v.rep.View(func(tx *bolt.Tx) error {
		ix := &index{tx: tx, keys: v.ik, authCache: v.auths}
		for _, id := range missing {
			pos := tx.Bucket([]byte(bFolded)).Get(id[:])
			if len(pos) < 8 {
				continue
			}
			pos = pos[:8]
			var e fold.Event
			if ok, _ := ix.getJSON(bEvents, pos, &e); ok {
				events = append(events, e)
			}
		}
		return nil
	})
	// The change that matters most: a removal, then any other change
	// about membership, then the newest.
	slices.SortStableFunc(events, func(a, b fold.Event) int {
		rank := func(e fold.Event) int {
			switch {
			case e.Rejected != "":
				return 3
			case e.Kind == fold.KindMemberRemove:
				return 0
			case fold.IsAuthority(e.Kind):
				return 1
			}
			return 2
		}
		if d := rank(a) - rank(b); d != 0 {
			return d
		}
		return b.At.Compare(a.At)
	})
	msg := fmt.Sprintf("this copy of the vault lacks %s you have seen", plural(len(missing), "change"))
	if len(events) > 0 {
		e := events[0]
		what := e.Summary
		if e.Kind == fold.KindMemberRemove {
			what = e.Target + "'s removal"
		}
		msg += fmt.Sprintf(", including %s on %s", what, e.At.UTC().Format(time.DateOnly))
	}
	return msg + "; they were put back (a sync tool or a backup replaced the file with an older or forked copy)"
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// rebuildDamaged writes the shared file anew from this machine's copy,
// keeping the damaged file in the state folder.
func (v *Vault) rebuildDamaged(cause error) error {
	if v.cannotWrite() {
		return cause
	}
	if err := v.checkMembership(); err != nil {
		// A removed member's machine does not write the file.
		return cause
	}
	kept := filepath.Join(filepath.Dir(v.repPath), "damaged-"+v.now().Format("20060102-150405")+".db")
	if err := copyFile(v.path, kept); err != nil {
		return fmt.Errorf("%w; could not keep a copy of it to rebuild it: %v", cause, err)
	}
	if err := v.openReplica(true); err != nil {
		return err
	}
	st, err := v.publish(v.path, true)
	if err != nil {
		return fmt.Errorf("%w; could not rebuild it from this machine's copy: %v", cause, err)
	}
	if err := v.update0(func(tx *bolt.Tx) error { return v.setStamp(tx, st) }); err != nil {
		return err
	}
	v.warn("%v; it was rebuilt from the changes this machine has seen (the damaged file is kept at %s)", cause, kept)
	return v.checkMembership()
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o600)
}

// checkMembership fails when the identity is no longer a member.
func (v *Vault) checkMembership() error {
	a, err := v.authState()
	if err != nil {
		return err
	}
	if a == nil || v.me.IsZero() {
		return errorf(ErrNotAdded, "your key does not open %s: you are not a member of this vault (yet); send 'vault pubkey' to an admin", v.path)
	}
	m := a.Member(v.me)
	if m == nil {
		return errorf(ErrNotMember, "your key does not open %s", v.path)
	}
	if !v.keyIsMine(m) && m.Active() {
		return v.keyReplaced(a, m)
	}
	if !m.Active() {
		by := "an admin"
		if r := a.Member(m.Removed.By); r != nil {
			by = r.Name
		}
		return errorf(ErrNotMember, "you were removed from this vault by %s on %s", by, m.Removed.At.Format(time.DateOnly))
	}
	v.recovery = m.Recovery
	return nil
}

// keyIsMine reports whether m's age key is this identity's (when the
// identity says what its key is).
func (v *Vault) keyIsMine(m *fold.Member) bool {
	rec, ok := recipientOf(v.identity)
	return !ok || m.Age == rec
}

// recipientOf returns an identity's age public key, if it says.
func recipientOf(id age.Identity) (string, bool) {
	if r, ok := id.(interface{ Recipient() string }); ok {
		return r.Recipient(), true
	}
	return "", false
}

// keyReplaced says that this identity's key is no longer m's.
func (v *Vault) keyReplaced(a *fold.Auth, m *fold.Member) error {
	if m.Rekeyed == nil {
		return errorf(ErrKeyReplaced, "your key does not open %s: %s has another key in this vault; ask an admin to check your member key ('vault member list')", v.path, m.Name)
	}
	by := "an admin"
	if b := a.Member(m.Rekeyed.By); b != nil {
		by = b.Name
		if b.ID == m.ID {
			by = "you"
		}
	}
	k := MemberKey{Age: m.Age, Sign: m.Sign, Kind: kindOf(m.Age)}
	return errorf(ErrKeyReplaced, "your key was replaced by %s on %s (the new one has fingerprint %s); use your new identity: 'vault rekey --finish' if this machine made it with 'vault rekey', else point --identity or VAULT_IDENTITY at it",
		by, m.Rekeyed.At.UTC().Format(time.DateOnly), k.Fingerprint())
}

// authState reads the folded authority state.
func (v *Vault) authState() (*fold.Auth, error) {
	var a *fold.Auth
	err := v.rep.View(func(tx *bolt.Tx) error {
		var err error
		a, err = (&index{tx: tx, keys: v.ik, authCache: v.auths}).auth()
		return err
	})
	return a, err
}

// conflictCopies returns the copies sync tools leave beside path when two
// machines changed it at once: Syncthing's "vault.sync-conflict-….db",
// Nextcloud's "vault (conflicted copy ….db", Dropbox's "vault (sam's
// conflicted copy ….db".
func conflictCopies(path string) []string {
	dir, base := filepath.Split(path)
	ext := filepath.Ext(base)
	stem := strings.TrimSuffix(base, ext)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		n := e.Name()
		if !e.Type().IsRegular() || n == base || !strings.HasPrefix(n, stem) || !strings.HasSuffix(n, ext) {
			continue
		}
		mid := strings.TrimSuffix(strings.TrimPrefix(n, stem), ext)
		if strings.HasPrefix(mid, ".sync-conflict-") ||
			(strings.HasPrefix(mid, " (") && strings.HasSuffix(mid, ")") && strings.Contains(mid, "conflicted copy")) {
			out = append(out, filepath.Join(dir, n))
		}
	}
	slices.Sort(out)
	return out
}

// mergeConflictCopies takes in every conflict copy of the same vault
// beside the file, writes the file with all of it, and removes the copies.
func (v *Vault) mergeConflictCopies() error {
	copies := conflictCopies(v.path)
	if len(copies) == 0 {
		return nil
	}
	var merged []string
	for _, c := range copies {
		sf, err := v.openShared(c)
		if err != nil {
			v.warn("left %s beside the vault: it could not be read (%v)", filepath.Base(c), err)
			continue
		}
		if sf.vaultID != v.vaultID {
			sf.close()
			v.warn("left %s beside the vault: it is a copy of another vault", filepath.Base(c))
			continue
		}
		before := len(v.incoming)
		err = v.update0(func(tx *bolt.Tx) error {
			in, _, err := sf.diff(tx)
			if err != nil || in.empty() {
				return err
			}
			rep, err := v.ingest(tx, in)
			if err != nil {
				return err
			}
			v.report(tx, rep, c)
			return nil
		})
		sf.close()
		if err != nil {
			return err
		}
		merged = append(merged, c)
		v.warn("merged %s from %s, a copy a sync tool left beside the vault, and removed it", plural(len(v.incoming)-before, "change"), filepath.Base(c))
	}
	if len(merged) == 0 || v.cannotWrite() {
		return nil
	}
	st, err := v.publish(v.path, false)
	if err != nil {
		return err
	}
	if err := v.update0(func(tx *bolt.Tx) error { return v.setStamp(tx, st) }); err != nil {
		return err
	}
	for _, c := range merged {
		os.Remove(c)
	}
	return nil
}

// identityTag names this identity's replica, so that two identities used
// on one machine keep apart.
func identityTag(id age.Identity) string {
	if r, ok := id.(interface{ Recipient() string }); ok {
		h := sha256.Sum256([]byte(r.Recipient()))
		return hex.EncodeToString(h[:6])
	}
	return "agent"
}
