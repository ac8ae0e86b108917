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

	bolt "go.etcd.io/bbolt"

	"github.com/mutual-aid-vault/vault/vault/internal/boltcheck"
	"github.com/mutual-aid-vault/vault/vault/internal/fold"
	"github.com/mutual-aid-vault/vault/vault/internal/oplog"
)

// FormatVersion is the version of the file layout this package writes. A
// file with a higher version is refused with [ErrNewerFormat]; formats 1
// and 2 (unreleased test versions) with [ErrOldFormat].
//
// Format 4 pads: operations, values and key grants come in size classes,
// values are sealed (see sealValue), and the meta bucket no longer names
// the program. Format 3 files are read as they are, and written as format
// 4 from the first change on: what they hold keeps its size (the hashes
// of values and grants are signed), and what is added is padded.
const FormatVersion = 4

// formatUnpadded is the last format written before padding.
const formatUnpadded = 3

// The shared file: what members copy between machines. It holds the log
// and nothing else: sealed operations, values, and key grants. Only the
// meta bucket is plaintext: the format, the vault's ID and a hint of the
// heads.
const (
	bMeta    = "meta"
	metaFmt  = "format"
	metaID   = "vault"
	metaHead = "heads" // a hint: the heads when it was written
	// metaApp named the program in format 3 files ("mutual-aid-vault"),
	// which a file holder had no need to learn.
	metaApp = "app"
	appName = "mutual-aid-vault"
)

var fileBuckets = []string{bMeta, bOps, bBlobs, bGrants}

// sharedFile is the shared file, opened read-only: mapped into memory
// under a shared lock and read with boltcheck's Reader, which checks every
// page it visits before it trusts it. A command costs the pages it reads,
// not the size of the file; bbolt itself never opens a file this machine
// did not write without a full check first (see checkFile).
type sharedFile struct {
	path    string
	file    *os.File
	data    []byte
	r       *boltcheck.Reader
	vaultID oplog.ID
	stamp   fileStamp
	// damaged is set when a read found the file damaged.
	damaged error
	meta    *boltcheck.Bucket
	buckets map[string]*boltcheck.Bucket // ops, blobs, grants
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

// encode returns the stamp in 40 bytes: its five numbers, 8 bytes each.
func (s fileStamp) encode() []byte {
	b := make([]byte, 0, 40)
	for _, n := range [...]uint64{s.Dev, s.Ino, uint64(s.Size), uint64(s.Mtime), uint64(s.Ctime)} {
		b = binary.BigEndian.AppendUint64(b, n)
	}
	return b
}

// decodeStamp reads what encode wrote; anything else is the zero stamp,
// which no file has.
func decodeStamp(b []byte) fileStamp {
	if len(b) != 40 {
		return fileStamp{}
	}
	n := func(i int) uint64 { return binary.BigEndian.Uint64(b[8*i:]) }
	return fileStamp{Dev: n(0), Ino: n(1), Size: int64(n(2)), Mtime: int64(n(3)), Ctime: int64(n(4))}
}

func stampOf(info os.FileInfo) fileStamp {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return fileStamp{Size: info.Size(), Mtime: info.ModTime().UnixNano()}
	}
	return fileStamp{Dev: uint64(st.Dev), Ino: st.Ino, Size: info.Size(), Mtime: st.Mtim.Nano(), Ctime: st.Ctim.Nano()}
}

// openShared opens the shared file read-only: refuses what is not a
// regular, non-empty file, takes a shared lock, maps it, checks its meta
// pages and reads the meta bucket.
func (v *Vault) openShared(path string) (_ *sharedFile, err error) {
	file, err := OpenRegular(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, errorf(ErrNoVault, "no vault at %s", path)
		}
		return nil, notVault(err)
	}
	f := &sharedFile{path: path, file: file}
	defer func() {
		if err != nil {
			f.close()
		}
	}()
	if err := lockShared(file, v.lockTimeout()); err != nil {
		if errors.Is(err, errLockTimeout) {
			return nil, errorf(ErrBusy, "%s is in use by another vault process (waited %v)", path, v.lockTimeout())
		}
		return nil, fmt.Errorf("cannot lock %s: %w", path, err)
	}
	// The stamp is taken under the lock: what is read is this state.
	info, err := file.Stat()
	if err != nil {
		return nil, err
	}
	f.stamp = stampOf(info)
	switch size := info.Size(); {
	case size == 0:
		return nil, errorf(ErrCorrupt, "%s is empty", path)
	case size > 1<<40 || int64(int(size)) != size:
		return nil, errorf(ErrCorrupt, "%s is far too large to be a vault file", path)
	}
	f.data, err = syscall.Mmap(int(file.Fd()), 0, int(info.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", path, err)
	}
	err = f.read(func() error {
		f.r, err = boltcheck.NewReader(f.data)
		if err != nil {
			return err
		}
		return f.readMeta()
	})
	if errors.Is(err, ErrNotVault) && mappedAllZero(f.data) {
		// A copy whose blocks were never written (some sync tools set
		// the length first), or a wiped file: not the wrong path.
		err = errorf(ErrCorrupt, "%s is damaged (it holds only zero bytes: a copy that was never finished?)", path)
	}
	return f, err
}

// mappedAllZero reports whether b, a mapped file, holds only zero bytes.
func mappedAllZero(b []byte) (zero bool) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if recover() != nil {
			zero = false // the file shrank under the mapping
		}
	}()
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func (f *sharedFile) close() {
	if f.data != nil {
		syscall.Munmap(f.data)
		f.data = nil
	}
	if f.file != nil {
		f.file.Close() // and with it the lock
		f.file = nil
	}
}

// read runs fn, which reads the file: damage found (a page that fails its
// check, or a fault on the mapping when the file shrank under it) becomes
// ErrCorrupt, and is remembered in f.damaged.
func (f *sharedFile) read(fn func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", boltcheck.ErrCorrupt, r)
		}
		if errors.Is(err, boltcheck.ErrCorrupt) || errors.Is(err, boltcheck.ErrTruncated) || errors.Is(err, boltcheck.ErrNotBolt) {
			err = fileError(f.path, err)
			if f.damaged == nil {
				f.damaged = err
			}
		}
	}()
	return fn()
}

// bucket returns one of the file's buckets; readMeta made sure they exist.
func (f *sharedFile) bucket(name string) *boltcheck.Bucket { return f.buckets[name] }

func (f *sharedFile) readMeta() error {
	meta, err := f.r.Bucket([]byte(bMeta))
	if err != nil {
		return err
	}
	get := func(key string) ([]byte, error) {
		if meta == nil {
			return nil, nil
		}
		return meta.Get([]byte(key))
	}
	app, err := get(metaApp)
	if err != nil {
		return err
	}
	named := bytes.Equal(app, []byte(appName))
	// A file that is not a vault may be a vault's torn copy (made while
	// the file was being written): that is damage, not a wrong path.
	notVault := func() error {
		if f.tornLooking() {
			return errorf(ErrCorrupt, "%s is damaged (it does not read as a whole vault file: a copy made while the file was being written?)", f.path)
		}
		return errorf(ErrNotVault, "%s is not a vault file", f.path)
	}
	format, err := get(metaFmt)
	if err != nil {
		return err
	}
	if len(format) != 4 {
		if named {
			return errorf(ErrCorrupt, "%s has no format version", f.path)
		}
		return notVault()
	}
	n := binary.BigEndian.Uint32(format)
	if n != FormatVersion && n != formatUnpadded && !f.r.Intact() {
		return errorf(ErrCorrupt, "%s is damaged (one of its meta pages is broken, and its format reads %d)", f.path, n)
	}
	// Format 3 files name the program; later ones do not.
	switch {
	case n == formatUnpadded && !named:
		return notVault()
	case n == 1 || n == 2:
		return errorf(ErrOldFormat, "%s was made by an unreleased test version of vault (format %d), which this version cannot read; create the group's vault again with 'vault init'", f.path, n)
	case n > FormatVersion:
		return errorf(ErrNewerFormat, "%s was written by a newer version of vault (format %d; this one reads up to %d)", f.path, n, FormatVersion)
	case n < formatUnpadded:
		return errorf(ErrNotVault, "%s has an unknown format %d", f.path, n)
	}
	id, err := get(metaID)
	if err != nil {
		return err
	}
	if len(id) != len(f.vaultID) {
		return errorf(ErrCorrupt, "%s has no vault ID", f.path)
	}
	copy(f.vaultID[:], id)
	f.meta = meta
	f.buckets = map[string]*boltcheck.Bucket{}
	for _, name := range []string{bOps, bBlobs, bGrants} {
		b, err := f.r.Bucket([]byte(name))
		if err != nil {
			return err
		}
		if b == nil {
			return errorf(ErrCorrupt, "%s lacks its %s", f.path, name)
		}
		f.buckets[name] = b
	}
	return nil
}

// tornLooking reports whether a bbolt file that does not name this
// program is more likely a damaged vault file than another program's
// file: one of its meta pages is broken (bbolt always leaves both valid;
// a copy torn while the file was written may not, and the other one
// points at an older state whose pages were since reused), or it has a
// bucket only a vault file has.
func (f *sharedFile) tornLooking() bool {
	if !f.r.Intact() {
		return true
	}
	for _, name := range fileBuckets {
		b, err := f.r.Bucket([]byte(name))
		if err != nil || b == nil {
			continue
		}
		if name != bMeta {
			return true
		}
		// A bucket called meta is common; one holding a vault ID is ours.
		if id, err := b.Get([]byte(metaID)); err == nil && len(id) == len(f.vaultID) {
			return true
		}
	}
	return false
}

// diff compares the shared file with the replica: what the file has that
// the replica lacks (in, read out of the file), and which of the
// replica's operations the file lacks.
func (f *sharedFile) diff(rtx *bolt.Tx) (in *incoming, missing []oplog.ID, err error) {
	in = newIncoming()
	err = f.read(func() error {
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
			fc := f.bucket(bucket).Cursor()
			rc := rtx.Bucket([]byte(bucket)).Cursor()
			fk, fv, err := fc.First()
			if err != nil {
				return err
			}
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
				if c > 0 { // only in the replica
					if bucket == bOps {
						var id oplog.ID
						copy(id[:], rk)
						missing = append(missing, id)
					}
					rk, _ = rc.Next()
					continue
				}
				if c < 0 && len(fk) == 32 && !sk(fk) { // only in the file
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
				if c == 0 {
					rk, _ = rc.Next()
				}
				if fk, fv, err = fc.Next(); err != nil {
					return err
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
	err = f.read(func() error {
		hint, err := f.meta.Get([]byte(metaHead))
		if err != nil || len(hint) == 0 || len(hint)%32 != 0 {
			return err
		}
		fops, rops := f.bucket(bOps), rtx.Bucket([]byte(bOps))
		ours := rtx.Bucket([]byte(bLocal)).Get([]byte(lHeads))
		for i := 0; i+32 <= len(ours); i += 32 {
			if env, err := fops.Get(ours[i : i+32]); env == nil || err != nil {
				return err // the file lacks what this machine has seen
			}
		}
		bad, dead := rtx.Bucket([]byte(bBad)), rtx.Bucket([]byte(bDead))
		var stack []oplog.ID
		for i := 0; i < len(hint); i += 32 {
			var id oplog.ID
			copy(id[:], hint[i:])
			stack = append(stack, id)
		}
		// take copies what the file holds under h in bucket, if the
		// replica lacks it.
		take := func(bucket string, h oplog.Hash, into map[oplog.Hash][]byte) error {
			if rtx.Bucket([]byte(bucket)).Get(h[:]) != nil || (bucket == bBlobs && dead.Get(h[:]) != nil) {
				return nil
			}
			b, err := f.bucket(bucket).Get(h[:])
			if b != nil {
				into[h] = append([]byte(nil), b...)
			}
			return err
		}
		seen := map[oplog.ID]bool{}
		for len(stack) > 0 {
			id := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if seen[id] || rops.Get(id[:]) != nil || bad.Get(id[:]) != nil {
				continue
			}
			seen[id] = true
			env, err := fops.Get(id[:])
			if env == nil || err != nil {
				return err
			}
			e, key := oplog.FindKey(env, keys)
			if key == nil {
				return nil
			}
			op, err := oplog.Open(env, e, key)
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
				if err := take(bBlobs, h, in.blobs); err != nil {
					return err
				}
			}
			for _, h := range grants {
				if err := take(bGrants, h, in.grants); err != nil {
					return err
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
	err := f.read(func() error {
		for _, bucket := range []string{bBlobs, bGrants} {
			fb := f.bucket(bucket)
			if err := rtx.Bucket([]byte(bucket)).ForEach(func(k, _ []byte) error {
				v, err := fb.Get(k)
				if err != nil {
					return err
				}
				if v == nil {
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
// next spare. Without a spare (the first time, or with compact: see
// [Vault.Compact]), or when bringing the spare up to date would delete
// anything from it (a purge, a re-encryption), the file is built anew from
// this machine's copy: a published file never holds a deleted value in its
// free pages.
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
		// Something was deleted since the last fresh file (a purged
		// value, a ciphertext a re-encryption replaced): the spare, or
		// the file in place that becomes the next spare, may hold it.
		compact = compact || l.Get([]byte(lDrop)) != nil
		return nil
	}); err != nil {
		return fileStamp{}, err
	}
	usable := false
	if info, err := os.Stat(spare); err == nil && !compact && stampOf(info) == rec.Stamp && rec.Stamp != (fileStamp{}) {
		usable = true
	}
	if usable {
		// A spare something was deleted from (a purged value, a
		// ciphertext a re-encryption replaced) keeps the deleted bytes
		// in its freed pages: bbolt does not clear them. Such a file is
		// never published; one is written afresh instead.
		if dropped, err := v.updateSpare(spare, rec); err != nil || dropped {
			usable = false
		}
	}
	var data uint64
	var last freshRecord
	_ = v.rep.View(func(tx *bolt.Tx) error {
		data = dataSize(tx)
		_ = json.Unmarshal(tx.Bucket([]byte(bLocal)).Get([]byte(lFresh)), &last)
		return nil
	})
	if usable {
		// Changes in place leave pages part full and free pages behind:
		// past a point, a file written afresh is much smaller.
		if info, err := os.Stat(spare); err != nil || bloated(info.Size(), data, last) {
			usable = false
		}
	}
	fresh := !usable
	if fresh {
		v.freshWrites++
		os.Remove(spare)
		if err := v.fillShared(spare, true); err != nil {
			return fileStamp{}, err
		}
		if info, err := os.Stat(spare); err == nil {
			last = freshRecord{Size: info.Size(), Data: data}
		}
	}
	// The file in place becomes the next spare if this machine knows what
	// it holds: it wrote it, or it read it. bbolt will open it to write,
	// and trusts what it opens: a file another machine wrote has every
	// page checked first.
	os.Remove(next)
	var nextRec *spareRecord
	if info, err := os.Stat(path); err == nil && !compact {
		st := stampOf(info)
		if st == pub.Stamp || st == v.shared {
			if os.Link(path, next) == nil {
				nextRec = &spareRecord{Seq: pub.Seq, Ours: st == pub.Stamp}
			}
		}
		if nextRec != nil && !nextRec.Ours {
			if err := checkFile(next); err != nil {
				nextRec = nil
				kept := filepath.Join(dir, "damaged-"+v.now().Format("20060102-150405")+".db")
				if os.Rename(next, kept) != nil {
					kept = "nowhere"
				}
				v.warn("%v; it was written afresh from the changes this machine has seen (the damaged file is kept at %s)", fileError(path, err), kept)
			}
		}
	}
	if fresh {
		// The file in place is what made a fresh one worth writing (it
		// grew too large, or keeps purged values): a copy of the fresh
		// one is the next spare instead.
		os.Remove(next)
		nextRec = nil
		if copyFresh(spare, next) == nil {
			nextRec = &spareRecord{Seq: cur, Ours: true}
		} else {
			os.Remove(next)
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
		if fresh {
			b, _ = json.Marshal(last)
			if err := l.Put([]byte(lFresh), b); err != nil {
				return err
			}
		}
		if compact {
			if err := l.Delete([]byte(lDrop)); err != nil {
				return err
			}
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

// freshRecord is the size of the last shared file this machine wrote
// anew, and the data it held.
type freshRecord struct {
	Size int64  `json:"size"`
	Data uint64 `json:"data"`
}

// bloated reports whether a shared file of size bytes holding data bytes
// of keys and values is worth writing afresh: whether it is over 1.025
// times what a fresh file of that data takes (and at least a few pages
// more: the first change to a fresh file, which has no free pages, adds
// one for every page it touches). Changes in place, with keys in random
// order, split pages and leave them part full, and free pages stay in the
// file. The file is the group's to store and sync, and a fresh one is
// already about 1.44 times a gopass store of the same values: 2.5% keeps
// it under 1.5 times. At 10,000 secrets it is written afresh about once
// in 18 changes (0.4 s), at 1,000 nearly every change (see bloatSlack).
func bloated(size int64, data uint64, last freshRecord) bool {
	fresh := freshSize(data, last)
	slack := max(fresh/40, bloatSlack*sharedPageSize)
	return uint64(size) > fresh+slack
}

// freshSize estimates what a fresh shared file of data bytes takes: the
// last fresh file this machine wrote, with what changed since at its
// overhead per byte; without one, the data, 2% for the ends of pages (a
// page holds whole values) and the pages every file has. The overhead of
// the last fresh file counts for what changed only where it is more than
// pages' ends (values larger than a page: a post-quantum vault's, shared
// with many), so that a tiny vault's last fresh file, mostly fixed pages,
// does not excuse a large bloated one.
func freshSize(data uint64, last freshRecord) uint64 {
	fixed := uint64(12 * sharedPageSize)
	if last.Data == 0 || last.Size <= 0 {
		return data + data/50 + fixed
	}
	per := 1.02
	if uint64(last.Size) > fixed {
		per = max(per, float64(uint64(last.Size)-fixed)/float64(last.Data))
	}
	if data >= last.Data {
		return uint64(last.Size) + uint64(float64(data-last.Data)*per)
	}
	return uint64(last.Size) - min(uint64(last.Size), uint64(float64(last.Data-data)*per))
}

// bloatSlack is the growth, in pages, a file may have beyond the ratio.
// None: the first change to a fresh file adds a page for every page it
// touches (the root, the freelist, a leaf and a branch in two buckets:
// six), which below about 4 MB is more than 2.5%, so a small file is
// written afresh at nearly every change, which costs little at its size
// (30 ms at 1,000 secrets), and stays as small as it can be.
var bloatSlack uint64 = 0

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

// copyFresh copies the file src to a new file dst, synced.
func copyFresh(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	return fillSynced(out, in)
}

// fillSynced copies in to f, syncs f and closes it, whatever happens.
func fillSynced(f *os.File, in io.Reader) error {
	_, err := io.Copy(f, in)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
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
	if err := fillSynced(tmp, in); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}

// updateSpare brings the spare up to this machine's copy: from the arrival
// log when it is a file this machine wrote, by comparing every key when it
// is one it read. dropped reports whether anything was deleted from it.
func (v *Vault) updateSpare(path string, rec spareRecord) (dropped bool, err error) {
	// bbolt gets the spare only as the file recorded: unchanged since
	// this machine wrote it, or, one it read, checked again whole.
	verify := checkStamp(rec.Stamp)
	if !rec.Ours {
		stamp := verify
		verify = func(f *os.File, info os.FileInfo) error {
			if err := stamp(f, info); err != nil {
				return err
			}
			return checkWhole(f, info)
		}
	}
	f, err := openRW(path)
	if err != nil {
		return false, err
	}
	db, err := openBolt(f, bolt.Options{NoSync: true}, v.lockTimeout(), verify)
	if err != nil {
		return false, err
	}
	db.AllocSize = 0 // grow the file to what it holds, no more
	err = db.Update(func(ftx *bolt.Tx) error {
		for _, b := range fileBuckets {
			if ftx.Bucket([]byte(b)) == nil {
				return errors.New("not a vault file")
			}
		}
		if ftx.Bucket([]byte(bMeta)).Get([]byte(metaApp)) != nil {
			// A format 3 file: written afresh, so that the program's
			// name does not stay in a free page.
			dropped = true
			return errStop
		}
		return v.rep.View(func(rtx *bolt.Tx) error {
			var err error
			if rec.Ours {
				dropped, err = applyArrivals(ftx, rtx, rec.Seq)
			} else {
				dropped, err = mergeInto(ftx, rtx)
			}
			if err == nil && dropped {
				// Written afresh instead (see publish): roll back.
				err = errStop
			}
			if err != nil {
				return err
			}
			if err := writeFormat(ftx.Bucket([]byte(bMeta))); err != nil {
				return err
			}
			return ftx.Bucket([]byte(bMeta)).Put([]byte(metaHead), headsHint(rtx))
		})
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if dropped {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	return false, syncFile(path)
}

// applyArrivals applies to a file the arrivals after seq, and reports
// whether any of them deleted something.
func applyArrivals(ftx, rtx *bolt.Tx, seq uint64) (dropped bool, err error) {
	if b := rtx.Bucket([]byte(bLocal)).Get([]byte(lPruned)); len(b) == 8 && binary.BigEndian.Uint64(b) > seq {
		return false, errors.New("the arrival log no longer reaches back to the spare")
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
			return false, errors.New("malformed arrival log")
		}
		fb.FillPercent = inPlaceFill
		if a[0] == arriveDrop {
			if fb.Get(key) == nil {
				continue
			}
			return true, nil
		}
		val := rtx.Bucket([]byte(bucket)).Get(key)
		if val == nil || fb.Get(key) != nil {
			continue
		}
		if err := fb.Put(key, val); err != nil {
			return false, err
		}
	}
	return false, nil
}

// mergeInto brings a file that this machine read up to its copy: what the
// copy has and the file lacks, in. It stops, reporting dropped, at the
// first thing the file holds that the copy threw away (a dead blob, a bad
// operation): deleting it would leave its bytes in the file's free pages.
func mergeInto(ftx, rtx *bolt.Tx) (dropped bool, err error) {
	dead := rtx.Bucket([]byte(bDead))
	bad := rtx.Bucket([]byte(bBad))
	for _, bucket := range []string{bOps, bBlobs, bGrants} {
		fb := ftx.Bucket([]byte(bucket))
		fb.FillPercent = inPlaceFill
		_ = fb.ForEach(func(k, _ []byte) error {
			if (bucket == bBlobs && dead.Get(k) != nil) || (bucket == bOps && bad.Get(k) != nil) {
				dropped = true
				return errStop
			}
			return nil
		})
		if dropped {
			return true, nil
		}
		if err := rtx.Bucket([]byte(bucket)).ForEach(func(k, val []byte) error {
			if fb.Get(k) != nil {
				return nil
			}
			return fb.Put(k, val)
		}); err != nil {
			return false, err
		}
	}
	return false, nil
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
	page := sharedPageSize
	var data uint64
	_ = v.rep.View(func(tx *bolt.Tx) error {
		data = dataSize(tx)
		return nil
	})
	// Mapped at the size it will reach, with room: growing the mapping
	// makes bbolt copy every key and value it holds out of the old one,
	// a dozen times over while a file is built.
	mmap := data + data/4 + 64*uint64(page)
	if info, err := os.Stat(path); err == nil {
		mmap = max(mmap, uint64(info.Size())+uint64(info.Size())/4)
	}
	// The file is new (or emptied by its maker): bbolt writes it from
	// scratch and reads nothing it did not write.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0o600)
	if err != nil {
		return fmt.Errorf("cannot write the new vault file: %w", err)
	}
	db, err := openBolt(f, bolt.Options{NoSync: true, PageSize: page, InitialMmapSize: int(min(mmap, 1<<31))}, v.lockTimeout(), checkEmpty)
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
		if err := writeFormat(meta); err != nil {
			return err
		}
		if fresh {
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

// writeFormat marks a file as this format: a format 3 file (which named the
// program) becomes format 4 with its first change.
func writeFormat(meta *bolt.Bucket) error {
	if err := meta.Delete([]byte(metaApp)); err != nil {
		return err
	}
	return meta.Put([]byte(metaFmt), binary.BigEndian.AppendUint32(nil, FormatVersion))
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

// checkFile checks every page of the bbolt file at path.
func checkFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	return checkOpen(f, info.Size())
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
	return lockWaiting(f, syscall.LOCK_SH, timeout)
}

// lockWaiting takes a flock of kind how (LOCK_SH, LOCK_EX) on f, trying
// every 50 ms for up to timeout.
func lockWaiting(f *os.File, how int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
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
