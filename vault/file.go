package vault

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"syscall"
	"time"
	"unsafe"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/mutual-aid-vault/vault/vault/internal/boltcheck"
	"github.com/mutual-aid-vault/vault/vault/internal/fold"
	"github.com/mutual-aid-vault/vault/vault/internal/oplog"
)

// FormatVersion is the version of the file layout this package writes. A
// file with a higher version is refused with [ErrNewerFormat]; format 1
// (an unreleased test version) with [ErrOldFormat].
const FormatVersion = 2

// The shared file: what members copy between machines. It holds the log
// and nothing else: sealed operations, the age files of values, and key
// grants. Only the meta bucket is plaintext: the program's name, the
// format, the vault's ID and a hint of the heads.
const (
	bMeta    = "meta"
	metaApp  = "app"
	metaFmt  = "format"
	metaID   = "vault"
	metaHead = "heads" // a hint: the heads when it was written
	appName  = "mutual-aid-vault"
)

var fileBuckets = []string{bMeta, bOps, bBlobs, bGrants}

// sharedFile is the shared file, opened read-only.
type sharedFile struct {
	path    string
	db      *bolt.DB
	vaultID oplog.ID
	stamp   fileStamp
	broken  bool
}

// fileStamp identifies one state of a file through the file system: any
// write, truncation or replacement changes it (the change time cannot be
// set by any program).
type fileStamp struct {
	Dev   uint64 `json:"dev"`
	Ino   uint64 `json:"ino"`
	Size  int64  `json:"size"`
	Mtime int64  `json:"mtime"`
	Ctime int64  `json:"ctime"`
}

func stampOf(info os.FileInfo) fileStamp {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return fileStamp{Size: info.Size(), Mtime: info.ModTime().UnixNano()}
	}
	return fileStamp{Dev: uint64(st.Dev), Ino: st.Ino, Size: info.Size(), Mtime: st.Mtim.Nano(), Ctime: st.Ctim.Nano()}
}

// openShared opens the shared file read-only: checks what bbolt reads as
// it opens a file, opens it under a shared lock, checks the whole
// structure (unless this machine checked the very same file before), and
// reads the meta bucket.
func (v *Vault) openShared(path string) (*sharedFile, error) {
	head, err := precheck(path, v.lockTimeout())
	if err != nil {
		return nil, err
	}
	f := &sharedFile{path: path}
	if err := f.open(v.lockTimeout()); err != nil {
		return nil, err
	}
	info, err := os.Stat(path)
	if err != nil {
		f.close()
		return nil, err
	}
	f.stamp = stampOf(info)
	id, known := identify(info, head)
	if !(known && v.wasChecked(id)) {
		if err := f.checkMapped(info.Size()); err != nil {
			f.close()
			return nil, err
		}
		v.structureChecked = true
		if known {
			v.noteChecked(id)
		}
	}
	if err := f.readMeta(); err != nil {
		f.close()
		return nil, err
	}
	return f, nil
}

func (f *sharedFile) open(timeout time.Duration) (err error) {
	defer f.guard(&err)
	db, err := bolt.Open(f.path, 0o600, &bolt.Options{Timeout: timeout, ReadOnly: true})
	if err != nil {
		switch {
		case errors.Is(err, berrors.ErrTimeout):
			return errorf(ErrBusy, "%s is in use by another vault process (waited %v)", f.path, timeout)
		case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrVersionMismatch):
			return errorf(ErrNotVault, "%s is not a vault file", f.path)
		case errors.Is(err, berrors.ErrChecksum):
			return errorf(ErrCorrupt, "%s is damaged (%v)", f.path, err)
		}
		return fmt.Errorf("cannot open %s: %w", f.path, err)
	}
	f.db = db
	return nil
}

func (f *sharedFile) close() {
	if f.db != nil && !f.broken {
		f.db.Close()
	}
	f.db = nil
}

// guard turns a panic inside bbolt (which trusts its file) or a memory
// fault on its mapping into ErrCorrupt. It must be deferred directly.
func (f *sharedFile) guard(err *error) {
	if r := recover(); r != nil {
		f.broken = true
		*err = errorf(ErrCorrupt, "%s is damaged (%v)", f.path, r)
	}
}

// checkMapped checks the whole structure of the file on bbolt's own
// mapping, under bbolt's lock.
func (f *sharedFile) checkMapped(size int64) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer f.guard(&err)
	if size <= 0 || size > 1<<40 {
		return errorf(ErrCorrupt, "%s changed size", f.path)
	}
	raw := f.db.Info().Data
	base := *(*unsafe.Pointer)(unsafe.Pointer(&raw))
	return fileError(f.path, boltcheck.Check(unsafe.Slice((*byte)(base), size)))
}

func (f *sharedFile) view(fn func(tx *bolt.Tx) error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer f.guard(&err)
	return f.db.View(fn)
}

func (f *sharedFile) readMeta() error {
	return f.view(func(tx *bolt.Tx) error {
		meta := tx.Bucket([]byte(bMeta))
		if meta == nil || !bytes.Equal(meta.Get([]byte(metaApp)), []byte(appName)) {
			return errorf(ErrNotVault, "%s is not a vault file", f.path)
		}
		format := meta.Get([]byte(metaFmt))
		if len(format) != 4 {
			return errorf(ErrCorrupt, "%s has no format version", f.path)
		}
		switch n := binary.BigEndian.Uint32(format); {
		case n == 1:
			return errorf(ErrOldFormat, "%s was made by an unreleased test version of vault (format 1), which this version cannot read; create the group's vault again with 'vault init'", f.path)
		case n > FormatVersion:
			return errorf(ErrNewerFormat, "%s was written by a newer version of vault (format %d; this one reads up to %d)", f.path, n, FormatVersion)
		case n < FormatVersion:
			return errorf(ErrNotVault, "%s has an unknown format %d", f.path, n)
		}
		id := meta.Get([]byte(metaID))
		if len(id) != len(f.vaultID) {
			return errorf(ErrCorrupt, "%s has no vault ID", f.path)
		}
		copy(f.vaultID[:], id)
		for _, b := range fileBuckets {
			if tx.Bucket([]byte(b)) == nil {
				return errorf(ErrCorrupt, "%s lacks its %s", f.path, b)
			}
		}
		return nil
	})
}

// diff compares the shared file with the replica: what the file has that
// the replica lacks (in, read out of the file), and which of the
// replica's operations the file lacks.
func (f *sharedFile) diff(rtx *bolt.Tx) (in *incoming, missing []oplog.ID, err error) {
	in = newIncoming()
	err = f.view(func(ftx *bolt.Tx) error {
		skip := func(bucket string) func([]byte) bool {
			switch bucket {
			case bBlobs:
				dead := rtx.Bucket([]byte(bDead))
				return func(k []byte) bool { return dead.Get(k) != nil }
			case bOps:
				bad := rtx.Bucket([]byte(bBad))
				return func(k []byte) bool { return bad.Get(k) != nil }
			}
			return func([]byte) bool { return false }
		}
		for _, bucket := range []string{bOps, bBlobs, bGrants} {
			fc := ftx.Bucket([]byte(bucket)).Cursor()
			rc := rtx.Bucket([]byte(bucket)).Cursor()
			fk, fv := fc.First()
			rk, _ := rc.First()
			sk := skip(bucket)
			for fk != nil || rk != nil {
				c := 0
				switch {
				case fk == nil:
					c = 1
				case rk == nil:
					c = -1
				default:
					c = bytes.Compare(fk, rk)
				}
				switch {
				case c < 0: // only in the file
					if len(fk) == 32 && !sk(fk) {
						var h [32]byte
						copy(h[:], fk)
						val := append([]byte(nil), fv...)
						switch bucket {
						case bOps:
							in.ops[h] = val
						case bBlobs:
							in.blobs[h] = val
						case bGrants:
							in.grants[h] = val
						}
					}
					fk, fv = fc.Next()
				case c > 0: // only in the replica
					if bucket == bOps {
						var id oplog.ID
						copy(id[:], rk)
						missing = append(missing, id)
					}
					rk, _ = rc.Next()
				default:
					fk, fv = fc.Next()
					rk, _ = rc.Next()
				}
			}
		}
		return nil
	})
	return in, missing, err
}

// quickDiff finds what the file has that the replica lacks by walking back
// from the heads the file says it has to operations the replica knows, and
// checks that the file has the replica's heads: work proportional to what
// changed. ok is false when the file's hint does not add up (no hint, a
// head or an operation missing, a key this member lacks): then diff, which
// compares every key, must be used.
func (f *sharedFile) quickDiff(rtx *bolt.Tx, keys *keyset) (in *incoming, ok bool, err error) {
	in = newIncoming()
	err = f.view(func(ftx *bolt.Tx) error {
		hint := ftx.Bucket([]byte(bMeta)).Get([]byte(metaHead))
		if len(hint) == 0 || len(hint)%32 != 0 {
			return nil
		}
		fops, rops := ftx.Bucket([]byte(bOps)), rtx.Bucket([]byte(bOps))
		ours := rtx.Bucket([]byte(bLocal)).Get([]byte(lHeads))
		for i := 0; i+32 <= len(ours); i += 32 {
			if fops.Get(ours[i:i+32]) == nil {
				return nil // the file lacks what this machine has seen
			}
		}
		bad, dead := rtx.Bucket([]byte(bBad)), rtx.Bucket([]byte(bDead))
		var stack []oplog.ID
		for i := 0; i < len(hint); i += 32 {
			var id oplog.ID
			copy(id[:], hint[i:])
			stack = append(stack, id)
		}
		seen := map[oplog.ID]bool{}
		for len(stack) > 0 {
			id := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if seen[id] || rops.Get(id[:]) != nil || bad.Get(id[:]) != nil {
				continue
			}
			seen[id] = true
			env := fops.Get(id[:])
			if env == nil {
				return nil
			}
			e, _ := oplog.EnvelopeEpoch(env)
			key := keys.epochs[e]
			if key == nil {
				return nil
			}
			op, err := oplog.Open(env, key)
			if err != nil || op.ID != id {
				return nil
			}
			in.ops[id] = append([]byte(nil), env...)
			stack = append(stack, op.Body.Parents...)
			p, err := fold.Decode(op.Body.Kind, op.Body.Payload)
			if err != nil {
				continue
			}
			values, grants := fold.BlobsOf(p)
			for _, h := range values {
				if rtx.Bucket([]byte(bBlobs)).Get(h[:]) != nil || dead.Get(h[:]) != nil {
					continue
				}
				if b := ftx.Bucket([]byte(bBlobs)).Get(h[:]); b != nil {
					in.blobs[h] = append([]byte(nil), b...)
				}
			}
			for _, h := range grants {
				if rtx.Bucket([]byte(bGrants)).Get(h[:]) != nil {
					continue
				}
				if b := ftx.Bucket([]byte(bGrants)).Get(h[:]); b != nil {
					in.grants[h] = append([]byte(nil), b...)
				}
			}
		}
		ok = true
		return nil
	})
	return in, ok, err
}

// lacksBlobs reports whether the file lacks a blob or grant the replica
// has (a copy written before a value was added, say).
func (f *sharedFile) lacksBlobs(rtx *bolt.Tx) (bool, error) {
	lacks := false
	err := f.view(func(ftx *bolt.Tx) error {
		for _, bucket := range []string{bBlobs, bGrants} {
			fb := ftx.Bucket([]byte(bucket))
			if err := rtx.Bucket([]byte(bucket)).ForEach(func(k, _ []byte) error {
				if fb.Get(k) == nil {
					lacks = true
					return errStop
				}
				return nil
			}); err != nil && !errors.Is(err, errStop) {
				return err
			}
		}
		return nil
	})
	return lacks, err
}

var errStop = errors.New("stop")

// spareRecord says what a file in the state folder holds: its stamp, and
// (when Ours) that it holds exactly the log up to arrival Seq.
type spareRecord struct {
	Stamp fileStamp `json:"stamp"`
	Seq   uint64    `json:"seq"`
	Ours  bool      `json:"ours"`
}

// publish writes the shared file at path with every operation and live
// blob of this machine's copy, so that a sync tool never copies a
// half-written file: the new file is made in the state folder and renamed
// into place. It costs what changed, not the size of the vault: the new
// file is the spare, the file this machine published the time before (or
// a file it read and checked), kept as a hard link in the state folder and
// brought up to date from the arrival log; the file in place becomes the
// next spare. Without a spare (the first time, or after a purge: compact),
// the file is built anew from this machine's copy.
func (v *Vault) publish(path string, compact bool) (fileStamp, error) {
	dir := filepath.Dir(v.repPath)
	spare := filepath.Join(dir, "spare.db")
	next := filepath.Join(dir, "spare-next.db")
	var rec, pub spareRecord
	var cur uint64
	if err := v.rep.View(func(tx *bolt.Tx) error {
		l := tx.Bucket([]byte(bLocal))
		_ = json.Unmarshal(l.Get([]byte(lSpare)), &rec)
		_ = json.Unmarshal(l.Get([]byte(lPub)), &pub)
		cur = lastArrival(tx)
		return nil
	}); err != nil {
		return fileStamp{}, err
	}
	usable := false
	if info, err := os.Stat(spare); err == nil && !compact && stampOf(info) == rec.Stamp && rec.Stamp != (fileStamp{}) {
		usable = true
	}
	if usable {
		if err := v.updateSpare(spare, rec); err != nil {
			usable = false
		}
	}
	if usable {
		// Changes in place leave pages half full and free pages behind:
		// past a point, a file written afresh is much smaller.
		var data uint64
		_ = v.rep.View(func(tx *bolt.Tx) error { data = dataSize(tx); return nil })
		if info, err := os.Stat(spare); err != nil || bloated(info.Size(), data) {
			usable = false
		}
	}
	if !usable {
		os.Remove(spare)
		if err := v.fillShared(spare, true); err != nil {
			return fileStamp{}, err
		}
	}
	// The file in place becomes the next spare if this machine knows what
	// it holds: it wrote it, or it read and checked it.
	os.Remove(next)
	var nextRec *spareRecord
	if info, err := os.Stat(path); err == nil && !compact {
		st := stampOf(info)
		if st == pub.Stamp || st == v.shared {
			if os.Link(path, next) == nil {
				nextRec = &spareRecord{Seq: pub.Seq, Ours: st == pub.Stamp}
			}
		}
	}
	if err := os.Rename(spare, path); err != nil {
		os.Remove(next)
		if !errors.Is(err, syscall.EXDEV) {
			return fileStamp{}, err
		}
		// The state folder is on another file system: copy in.
		if err := copyInto(spare, path); err != nil {
			return fileStamp{}, err
		}
		nextRec = &spareRecord{Seq: cur, Ours: true}
		if err := os.Rename(spare, next); err != nil {
			return fileStamp{}, err
		}
	}
	info, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, err
	}
	st := stampOf(info)
	v.noteWritten(path, info)
	if nextRec != nil {
		if err := os.Rename(next, spare); err == nil {
			if si, err := os.Stat(spare); err == nil {
				nextRec.Stamp = stampOf(si)
			}
		}
	}
	err = v.update0(func(tx *bolt.Tx) error {
		l := tx.Bucket([]byte(bLocal))
		r := spareRecord{}
		if nextRec != nil {
			r = *nextRec
		}
		b, _ := json.Marshal(r)
		if err := l.Put([]byte(lSpare), b); err != nil {
			return err
		}
		b, _ = json.Marshal(spareRecord{Stamp: st, Seq: cur, Ours: true})
		if err := l.Put([]byte(lPub), b); err != nil {
			return err
		}
		return v.pruneArrivals(tx, r)
	})
	return st, err
}

// inPlaceFill is how full bbolt fills a page it splits when a file is
// changed in place. Its default, half, suits keys that arrive in order;
// ours are hashes, in no order, and many arrive in one transaction (an
// import of 10,000 secrets, a merge), which at half left files 2.5 times
// their data.
const inPlaceFill = 0.9

// bloated reports whether a shared file of size bytes holding data bytes
// of keys and values is worth writing afresh. A fresh file takes about
// 1.1 times its data (page headers, and the space a page cannot fill);
// changes in place, with keys in random order, split pages and leave
// them half full, and free pages stay in the file. At 10,000 secrets a
// fresh file is written about once in 150 changes.
func bloated(size int64, data uint64) bool {
	return uint64(size) > data+data/5+bloatSlack
}

// bloatSlack is what a file may carry beyond the ratio: small files are
// not worth rewriting.
var bloatSlack uint64 = 1 << 20

// pruneArrivals forgets the arrivals the spare already holds (all of them
// when there is no spare of ours: the next one is built anew or compared
// key by key).
func (v *Vault) pruneArrivals(tx *bolt.Tx, spare spareRecord) error {
	upTo := lastArrival(tx)
	if spare.Ours {
		upTo = spare.Seq
	}
	c := tx.Bucket([]byte(bArrival)).Cursor()
	for k, _ := c.First(); k != nil && binary.BigEndian.Uint64(k) <= upTo; k, _ = c.First() {
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return tx.Bucket([]byte(bLocal)).Put([]byte(lPruned), binary.BigEndian.AppendUint64(nil, upTo))
}

// copyInto writes a copy of src at dst, through a new file renamed into
// place.
func copyInto(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".new-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, in); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}

// updateSpare brings the spare up to this machine's copy: from the arrival
// log when it is a file this machine wrote, by comparing every key when it
// is one it read.
func (v *Vault) updateSpare(path string, rec spareRecord) error {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: v.lockTimeout(), NoSync: true})
	if err != nil {
		return err
	}
	db.AllocSize = 0 // grow the file to what it holds, no more
	err = db.Update(func(ftx *bolt.Tx) error {
		for _, b := range fileBuckets {
			if ftx.Bucket([]byte(b)) == nil {
				return errors.New("not a vault file")
			}
		}
		return v.rep.View(func(rtx *bolt.Tx) error {
			if rec.Ours {
				if err := applyArrivals(ftx, rtx, rec.Seq); err != nil {
					return err
				}
			} else if err := mergeInto(ftx, rtx); err != nil {
				return err
			}
			return ftx.Bucket([]byte(bMeta)).Put([]byte(metaHead), headsHint(rtx))
		})
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return syncFile(path)
}

// applyArrivals applies to a file the arrivals after seq.
func applyArrivals(ftx, rtx *bolt.Tx, seq uint64) error {
	if b := rtx.Bucket([]byte(bLocal)).Get([]byte(lPruned)); len(b) == 8 && binary.BigEndian.Uint64(b) > seq {
		return errors.New("the arrival log no longer reaches back to the spare")
	}
	c := rtx.Bucket([]byte(bArrival)).Cursor()
	for k, a := c.Seek(binary.BigEndian.AppendUint64(nil, seq+1)); k != nil; k, a = c.Next() {
		if len(a) < 2 {
			continue
		}
		bucket := arrivalNames[a[1]]
		key := a[2:]
		fb := ftx.Bucket([]byte(bucket))
		if fb == nil {
			return errors.New("malformed arrival log")
		}
		fb.FillPercent = inPlaceFill
		if a[0] == arriveDrop {
			if err := fb.Delete(key); err != nil {
				return err
			}
			continue
		}
		val := rtx.Bucket([]byte(bucket)).Get(key)
		if val == nil || fb.Get(key) != nil {
			continue
		}
		if err := fb.Put(key, val); err != nil {
			return err
		}
	}
	return nil
}

// mergeInto brings a file that this machine read up to its copy: what the
// copy has and the file lacks, in; dead blobs and bad operations, out.
func mergeInto(ftx, rtx *bolt.Tx) error {
	dead := rtx.Bucket([]byte(bDead))
	bad := rtx.Bucket([]byte(bBad))
	for _, bucket := range []string{bOps, bBlobs, bGrants} {
		fb := ftx.Bucket([]byte(bucket))
		fb.FillPercent = inPlaceFill
		var drop [][]byte
		_ = fb.ForEach(func(k, _ []byte) error {
			if (bucket == bBlobs && dead.Get(k) != nil) || (bucket == bOps && bad.Get(k) != nil) {
				drop = append(drop, append([]byte(nil), k...))
			}
			return nil
		})
		for _, k := range drop {
			if err := fb.Delete(k); err != nil {
				return err
			}
		}
		if err := rtx.Bucket([]byte(bucket)).ForEach(func(k, val []byte) error {
			if fb.Get(k) != nil {
				return nil
			}
			return fb.Put(k, val)
		}); err != nil {
			return err
		}
	}
	return nil
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// fillShared brings the file at path (a copy of the shared file, or empty
// when fresh) up to the replica: every operation, every live blob and
// grant, no dead blob.
func (v *Vault) fillShared(path string, fresh bool) error {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: v.lockTimeout(), NoSync: true, PageSize: pageSize})
	if err != nil {
		return fmt.Errorf("cannot write the new vault file: %w", err)
	}
	// Grow the file to what it holds: bbolt's default adds up to 16 MB
	// to a large file, for a sync tool to copy.
	db.AllocSize = 0
	err = db.Update(func(ftx *bolt.Tx) error {
		for _, b := range fileBuckets {
			if _, err := ftx.CreateBucketIfNotExists([]byte(b)); err != nil {
				return err
			}
		}
		meta := ftx.Bucket([]byte(bMeta))
		if fresh {
			if err := meta.Put([]byte(metaApp), []byte(appName)); err != nil {
				return err
			}
			if err := meta.Put([]byte(metaFmt), binary.BigEndian.AppendUint32(nil, FormatVersion)); err != nil {
				return err
			}
			if err := meta.Put([]byte(metaID), v.vaultID[:]); err != nil {
				return err
			}
		}
		return v.rep.View(func(rtx *bolt.Tx) error {
			for _, bucket := range []string{bOps, bBlobs, bGrants} {
				fb := ftx.Bucket([]byte(bucket))
				fb.FillPercent = inPlaceFill
				if fresh {
					// Keys in order: every page can be filled.
					fb.FillPercent = 1
				}
				if err := rtx.Bucket([]byte(bucket)).ForEach(func(k, val []byte) error {
					if fb.Get(k) != nil {
						return nil
					}
					return fb.Put(k, val)
				}); err != nil {
					return err
				}
			}
			dead := rtx.Bucket([]byte(bDead))
			fb := ftx.Bucket([]byte(bBlobs))
			var drop [][]byte
			_ = fb.ForEach(func(k, _ []byte) error {
				if dead.Get(k) != nil {
					drop = append(drop, append([]byte(nil), k...))
				}
				return nil
			})
			for _, k := range drop {
				if err := fb.Delete(k); err != nil {
					return err
				}
			}
			// Operations the replica threw away (damaged, or of another
			// vault) are not passed on.
			bad := rtx.Bucket([]byte(bBad))
			ob := ftx.Bucket([]byte(bOps))
			drop = drop[:0]
			_ = ob.ForEach(func(k, _ []byte) error {
				if bad.Get(k) != nil {
					drop = append(drop, append([]byte(nil), k...))
				}
				return nil
			})
			for _, k := range drop {
				if err := ob.Delete(k); err != nil {
					return err
				}
			}
			return meta.Put([]byte(metaHead), headsHint(rtx))
		})
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	// One sync for the whole file, rather than bbolt's two per commit:
	// the file is not in place yet, so a crash before this leaves the old
	// one, and this machine's replica is the durable copy anyway.
	return syncFile(path)
}

// headsHint is what a written file names as its heads: the heads of the
// folded operations, and the operations this machine holds but could not
// fold (sealed with a key it lacks), so that a reader walking back from
// the hint reaches those too.
func headsHint(rtx *bolt.Tx) []byte {
	hint := append([]byte(nil), rtx.Bucket([]byte(bLocal)).Get([]byte(lHeads))...)
	_ = rtx.Bucket([]byte(bPending)).ForEach(func(k, _ []byte) error {
		hint = append(hint, k...)
		return nil
	})
	return hint
}

// noteWritten remembers a file this program wrote as checked: its
// structure is bbolt's own.
func (v *Vault) noteWritten(path string, info os.FileInfo) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	head, err := boltcheck.CheckHead(f, info.Size())
	if err != nil {
		return
	}
	if id, ok := identify(info, head); ok {
		v.noteChecked(id)
	}
}

// precheck refuses files bbolt must not be given to open: missing, empty,
// not a regular file, not a bbolt file, truncated, or with meta pages or a
// freelist (which bbolt reads as it opens a file) that could crash it. It
// reads a few pages under a shared lock; the lock goes with the file when
// it returns, before bbolt takes its own.
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
	info, err := f.Stat()
	if err != nil {
		return none, err
	}
	if !info.Mode().IsRegular() {
		return none, errorf(ErrNotVault, "%s is not a regular file", path)
	}
	if err := lockShared(f, timeout); err != nil {
		if errors.Is(err, errLockTimeout) {
			return none, errorf(ErrBusy, "%s is in use by another vault process (waited %v)", path, timeout)
		}
		return none, fmt.Errorf("cannot lock %s: %w", path, err)
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
