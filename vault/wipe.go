package vault

import (
	"bytes"
	"fmt"
	"os"

	bolt "go.etcd.io/bbolt"
)

// wipeFree overwrites with zeros every free page of the bbolt file db
// (open for writing, from path) that is not zeros already, syncs the file,
// and then runs then in the same transaction (nil: nothing). bbolt frees
// a page without clearing it, so whatever was deleted from the file (a
// purged value's ciphertext) stays in its bytes until bbolt happens to use
// the page again.
//
// The pages are found and cleared before the transaction changes
// anything: the pages it frees itself still hold the committed state.
// Pages freed by earlier transactions are no longer part of any state: the
// exclusive lock on the file keeps other processes out, and a transaction
// of this process that still read them would keep them pending, not free,
// which is why callers hold the vault's mutex (no other transaction is
// open). bbolt itself writes over these same pages as it reuses them.
func wipeFree(db *bolt.DB, path string, then func(tx *bolt.Tx) error) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	page := db.Info().PageSize
	zero := make([]byte, page)
	buf := make([]byte, page)
	return db.Update(func(tx *bolt.Tx) error {
		pages := int(tx.Size() / int64(page))
		wrote := false
		for id := 2; id < pages; id++ {
			info, err := tx.Page(id)
			if err != nil {
				return err
			}
			if info == nil || info.Type != "free" {
				continue
			}
			off := int64(id) * int64(page)
			if _, err := f.ReadAt(buf, off); err != nil {
				return fmt.Errorf("cannot read page %d: %w", id, err)
			}
			if bytes.Equal(buf, zero) {
				continue
			}
			if _, err := f.WriteAt(zero, off); err != nil {
				return fmt.Errorf("cannot clear page %d: %w", id, err)
			}
			wrote = true
		}
		if wrote {
			if err := f.Sync(); err != nil {
				return err
			}
		}
		if then == nil {
			return nil
		}
		return then(tx)
	})
}
