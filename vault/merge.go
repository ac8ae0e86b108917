package vault

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"

	"github.com/mutual-aid-vault/vault/vault/internal/boltcheck"
)

// MergeReport says what a merge brought in.
type MergeReport struct {
	// Changes are the changes the other copy had and this one did not,
	// in log order; refused ones say why.
	Changes []Event `json:"changes"`
	// Lacked counts the changes this copy had that the other lacked.
	Lacked int `json:"lacked"`
}

// Merge folds another copy of the same vault (the file at path) into this
// one: the union of their changes, checked like any other. The other file
// is only read. Merging is commutative, associative and idempotent: any
// copies merged in any order, any number of times, give the same vault. A
// copy of another vault is refused with [ErrOtherVault].
func (v *Vault) Merge(path string) (MergeReport, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out MergeReport
	if err := v.ready(); err != nil {
		return out, err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return out, err
	}
	if abs == v.path {
		return out, errorf(ErrInvalid, "%s is the vault itself; merge another copy of it", path)
	}
	sf, err := v.openShared(abs)
	if err != nil {
		return out, err
	}
	defer sf.close()
	if sf.vaultID != v.vaultID {
		return out, errorf(ErrOtherVault, "%s is a copy of another vault, not of %s; nothing was merged", path, v.path)
	}
	if err := v.openReplica(true); err != nil {
		return out, err
	}
	err = v.update0(func(tx *bolt.Tx) error {
		in, missing, err := sf.diff(tx)
		if err != nil {
			return err
		}
		out.Lacked = len(missing)
		if in.empty() {
			return nil
		}
		rep, err := v.ingest(tx, in)
		if err != nil {
			return err
		}
		for _, e := range rep.events {
			out.Changes = append(out.Changes, publicEvent(e))
		}
		v.report(tx, rep, path)
		return nil
	})
	if err != nil || len(out.Changes) == 0 || v.cannotWrite() {
		return out, err
	}
	v.share()
	return out, nil
}

// MergeFiles merges the copy of a vault at theirs into the one at ours,
// without any key: the union of their sealed changes, values and key
// grants, written to a new file renamed over ours. It is what git's merge
// driver runs ('vault merge-driver'); nothing is decrypted or checked
// beyond the files' structure, and the next command that opens the vault
// checks every change that came in. Two copies of different vaults are
// refused with [ErrOtherVault].
func MergeFiles(ours, theirs string) error {
	v := &Vault{}
	a, err := v.openShared(ours)
	if err != nil {
		return err
	}
	defer a.close()
	b, err := v.openShared(theirs)
	if err != nil {
		return err
	}
	defer b.close()
	if a.vaultID != b.vaultID {
		return errorf(ErrOtherVault, "%s and %s are copies of two different vaults", ours, theirs)
	}
	tmp, err := os.CreateTemp(filepath.Dir(ours), "."+filepath.Base(ours)+".merge-*")
	if err != nil {
		return err
	}
	tmpPath := tmp.Name()
	defer os.Remove(tmpPath)
	src, err := os.ReadFile(ours)
	if err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(src); err != nil {
		tmp.Close()
		return err
	}
	// bbolt is about to open the copy for writing, and trusts what it
	// opens: every page of the very file it gets is checked first.
	db, err := openBolt(tmp, bolt.Options{NoSync: true}, DefaultLockTimeout, checkWhole)
	if err != nil {
		if errors.Is(err, boltcheck.ErrCorrupt) || errors.Is(err, boltcheck.ErrTruncated) || errors.Is(err, boltcheck.ErrNotBolt) {
			return fileError(ours, err)
		}
		return fmt.Errorf("cannot write the merged file: %w", err)
	}
	err = db.Update(func(otx *bolt.Tx) error {
		return b.read(func() error {
			// The heads hint of the merge is both sides': a reader walks
			// back from it to what it knows (some may be ancestors of
			// others; that costs nothing).
			meta := otx.Bucket([]byte(bMeta))
			theirs, err := b.meta.Get([]byte(metaHead))
			if err != nil {
				return err
			}
			hint := append(append([]byte(nil), meta.Get([]byte(metaHead))...), theirs...)
			if err := meta.Put([]byte(metaHead), hint); err != nil {
				return err
			}
			// Either side may hold padded values (format 4), which a
			// version reading only format 3 would fail on.
			if err := writeFormat(meta); err != nil {
				return err
			}
			for _, bucket := range []string{bOps, bBlobs, bGrants} {
				ob := otx.Bucket([]byte(bucket))
				if err := b.bucket(bucket).ForEach(func(k, val []byte) error {
					if len(k) != 32 || ob.Get(k) != nil {
						return nil
					}
					// Copies: bbolt keeps what it is given until it
					// commits, after the mapping is read.
					return ob.Put(bytes.Clone(k), bytes.Clone(val))
				}); err != nil {
					return err
				}
			}
			return nil
		})
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if f, err := os.OpenFile(tmpPath, os.O_RDWR, 0); err == nil {
		f.Sync()
		f.Close()
	}
	return os.Rename(tmpPath, ours)
}
