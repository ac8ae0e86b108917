package vault

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mutual-aid-vault/vault/vault/internal/boltcheck"
)

// bbolt trusts the file it opens: a crafted or damaged file can make it
// fault on its mapping, in goroutines of its own where no recover reaches
// (as it rebuilds a missing freelist on a read-write open). So bbolt never
// opens, for writing, a file that came from outside this machine's state
// folder unless the very file it opens passed a check: the file is opened
// here, locked, checked on its open descriptor, and that descriptor is
// what bbolt gets (through Options.OpenFile), so nothing swapped in at the
// path between the check and the open is ever read by bbolt. The lock is
// held from before the check until bbolt's Close: no cooperating process
// can write the file in between. (A program that ignores locks can still
// write it in place; the files handed to bbolt this way are private copies
// or files whose stamp proves them unchanged.)

// verifyFunc decides whether the open, locked file f may be handed to
// bbolt.
type verifyFunc func(f *os.File, info os.FileInfo) error

// openRW opens the regular file at path for reading and writing, without
// following a symbolic link in its last element and without blocking on a
// FIFO or device.
func openRW(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !info.Mode().IsRegular() {
		f.Close()
		return nil, notVault(&NotRegularError{Path: path, Kind: fileKind(info.Mode())})
	}
	return f, nil
}

// openBolt locks f exclusively, runs verify on it, and opens it with bbolt
// for writing, handing bbolt f itself. The returned database owns f; on an
// error f is closed.
func openBolt(f *os.File, o bolt.Options, timeout time.Duration, verify verifyFunc) (*bolt.DB, error) {
	handed := false
	defer func() {
		if !handed {
			f.Close()
		}
	}()
	if err := lockWaiting(f, syscall.LOCK_EX, timeout); err != nil {
		if errors.Is(err, errLockTimeout) {
			return nil, errorf(ErrBusy, "%s is in use by another vault process (waited %v)", f.Name(), timeout)
		}
		return nil, fmt.Errorf("cannot lock %s: %w", f.Name(), err)
	}
	// The file is checked as it is now that no other vault process can
	// change it.
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, notVault(&NotRegularError{Path: f.Name(), Kind: fileKind(info.Mode())})
	}
	if err := verify(f, info); err != nil {
		return nil, err
	}
	name := f.Name()
	o.ReadOnly = false
	o.Timeout = timeout
	// bbolt asks once, for the file it then locks (the lock this
	// descriptor already holds: flock on the same open file converts,
	// it does not wait) and maps.
	o.OpenFile = func(string, int, os.FileMode) (*os.File, error) {
		if handed {
			return nil, errors.New("bbolt asked twice for its file")
		}
		handed = true
		return f, nil
	}
	return bolt.Open(name, 0o600, &o)
}

// checkWhole is a verifyFunc: every page of the file passes
// boltcheck.Check, on a mapping of the open file.
func checkWhole(f *os.File, info os.FileInfo) error {
	return checkOpen(f, info.Size())
}

// checkEmpty is a verifyFunc for a file bbolt is to create: it must be
// empty, so that bbolt writes it and reads nothing it did not write.
func checkEmpty(f *os.File, info os.FileInfo) error {
	if info.Size() != 0 {
		return fmt.Errorf("%s was to be a new file but holds %d bytes", f.Name(), info.Size())
	}
	return nil
}

// checkStamp returns a verifyFunc that accepts the file only if its stamp
// is want: a file this machine wrote or checked, unchanged since.
func checkStamp(want fileStamp) verifyFunc {
	return func(f *os.File, info os.FileInfo) error {
		if want == (fileStamp{}) || stampOf(info) != want {
			return fmt.Errorf("%s changed since this machine last wrote or checked it", f.Name())
		}
		return nil
	}
}

// checkOpen checks every page of the open bbolt file f of size bytes.
// A file that shrinks under the check is reported as truncated.
func checkOpen(f *os.File, size int64) (err error) {
	if size == 0 || int64(int(size)) != size {
		return fmt.Errorf("%w: size %d", boltcheck.ErrTruncated, size)
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return err
	}
	defer syscall.Munmap(data)
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", boltcheck.ErrTruncated, r)
		}
	}()
	return boltcheck.Check(data)
}
