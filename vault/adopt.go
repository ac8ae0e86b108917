package vault

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"

	bolt "go.etcd.io/bbolt"

	"github.com/mutual-aid-vault/vault/vault/internal/boltcheck"
	"github.com/mutual-aid-vault/vault/vault/internal/oplog"
)

// adoptShared starts this machine's copy of a vault it opens for the first
// time as a byte copy of the shared file, which holds the operations,
// blobs and grants the copy needs: writing them one by one through bbolt
// cost a first open at 10,000 secrets half its time and most of its
// memory. The copy is trusted no more than the shared file: every page
// passes boltcheck.Check before bbolt opens it (the very file: see openBolt), and everything but the
// ops, blobs and grants buckets is deleted before the copy becomes this
// machine's (a crafted file could hold a keyset, verdicts or an index of
// its own); then every operation is checked and folded like any that
// arrives (adoptTx). It reports whether the copy was made; when it was
// not, the first open takes everything in the usual way.
func (v *Vault) adoptShared(sf *sharedFile) bool {
	if _, err := os.Lstat(v.repPath); err == nil || sf.file == nil {
		return false
	}
	if err := os.MkdirAll(filepath.Dir(v.repPath), 0o700); err != nil {
		return false
	}
	tmp := v.repPath + ".adopt"
	os.Remove(tmp)
	done := false
	defer func() {
		if !done {
			os.Remove(tmp)
		}
	}()
	// The file is read under its shared lock, but a sync tool may change
	// it in place all the same: the copy is what gets checked, on the
	// descriptor bbolt is then handed (see openBolt). Copied by the kernel
	// (copy_file_range), not through the mapping.
	out, err := copyOpen(sf.file, tmp)
	if err != nil {
		return false
	}
	info, err := out.Stat()
	if err != nil {
		out.Close()
		return false
	}
	// Mapped with room: growing the mapping copies what the transaction
	// holds (see fillShared).
	db, err := openBolt(out, bolt.Options{NoSync: true, InitialMmapSize: int(min(info.Size()+info.Size()/4, 1<<31))}, v.lockTimeout(), checkWhole)
	if err != nil {
		return false
	}
	err = func() (err error) {
		// As for this machine's own copy (update0): damage bbolt trips
		// on is an error, not a crash.
		defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("%w: %v", boltcheck.ErrCorrupt, r)
			}
		}()
		return db.Update(adoptTx)
	}()
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil || os.Rename(tmp, v.repPath) != nil {
		return false
	}
	done = true
	v.adopted = true
	return true
}

// copyOpen copies the whole of the open file src to a new file at dst,
// and returns the new file, open for reading and writing.
func copyOpen(src *os.File, dst string) (*os.File, error) {
	if _, err := src.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	out, err := os.OpenFile(dst, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	if _, err := out.ReadFrom(src); err != nil {
		out.Close()
		return nil, err
	}
	return out, nil
}

// adopted are the buckets a copy of the shared file keeps when it becomes
// this machine's copy.
var adopted = map[string]struct{}{bOps: {}, bBlobs: {}, bGrants: {}}

// errAdopt stops an adoption: the file holds a blob or grant that is not
// what its hash says, and the usual way reports it.
var errAdopt = errors.New("not adopted")

// adoptTx turns a copy of the shared file into the start of this
// machine's copy, in one transaction: it deletes everything but the ops,
// blobs and grants (and, in those, nested buckets and keys that are not
// hashes), checks every blob and grant against its hash, makes every
// operation pending (to be checked and folded like any arrival: see
// takeIn), and counts the data for the shared file's bloat rule. The
// arrival log stays empty: the file this copy was made from is not a
// spare of this machine's.
func adoptTx(tx *bolt.Tx) error {
	var other [][]byte
	_ = tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
		if _, keep := adopted[string(name)]; !keep {
			other = append(other, append([]byte(nil), name...))
		}
		return nil
	})
	for _, name := range other {
		if err := tx.DeleteBucket(name); err != nil {
			return err
		}
	}
	var data uint64
	for name := range adopted {
		b, err := tx.CreateBucketIfNotExists([]byte(name))
		if err != nil {
			return err
		}
		// Blobs and grants are hashed on every processor, a chunk at a
		// time.
		var chunk [][2][]byte
		bad := false
		check := func() {
			ok := make([]bool, len(chunk))
			parallel(len(chunk), func(i int) {
				h := oplog.HashOf(chunk[i][1])
				ok[i] = bytes.Equal(h[:], chunk[i][0])
			})
			for _, good := range ok {
				bad = bad || !good
			}
			chunk = chunk[:0]
		}
		var nested, odd [][]byte
		_ = b.ForEach(func(k, val []byte) error {
			switch {
			case val == nil:
				nested = append(nested, append([]byte(nil), k...))
			case len(k) != 32:
				odd = append(odd, append([]byte(nil), k...))
			default:
				data += uint64(len(k) + len(val))
				if name != bOps {
					if chunk = append(chunk, [2][]byte{k, val}); len(chunk) == 1024 {
						check()
					}
				}
			}
			return nil
		})
		check()
		if bad {
			return errAdopt
		}
		for _, k := range nested {
			if err := b.DeleteBucket(k); err != nil {
				return err
			}
		}
		for _, k := range odd {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
	}
	pending, err := tx.CreateBucket([]byte(bPending))
	if err != nil {
		return err
	}
	pending.FillPercent = 1 // keys in order
	if err := tx.Bucket([]byte(bOps)).ForEach(func(k, _ []byte) error {
		return pending.Put(k, []byte{pendingNew})
	}); err != nil {
		return err
	}
	l, err := tx.CreateBucket([]byte(bLocal))
	if err != nil {
		return err
	}
	if err := l.Put([]byte(lData), binary.BigEndian.AppendUint64(nil, data)); err != nil {
		return err
	}
	return l.Put([]byte(lFormat), []byte{replicaFormat})
}

// newPending reports whether an operation waits to be checked and folded
// for the first time.
func newPending(tx *bolt.Tx) bool {
	found := false
	_ = tx.Bucket([]byte(bPending)).ForEach(func(_, why []byte) error {
		found = len(why) == 1 && why[0] == pendingNew
		if found {
			return errStop
		}
		return nil
	})
	return found
}
