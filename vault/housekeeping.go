package vault

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// CompactReport says what [Vault.Compact] did.
type CompactReport struct {
	// Path is the shared file.
	Path string `json:"path"`
	// Before and After are its sizes in bytes.
	Before int64 `json:"before"`
	After  int64 `json:"after"`
	// GitRepo is the top of the git working tree the file is in, or
	// empty: the repository's history still holds every version of the
	// file that was committed, which no rewrite of the file reaches.
	GitRepo string `json:"git_repository,omitempty"`
}

// Compact writes the shared file afresh from this machine's copy, the way
// every change that deletes something writes it (a purge, a member's
// removal, an unshare: each replaces or drops ciphertext): with no free
// pages and no part-empty ones, so that no deleted value's ciphertext
// stays in its bytes. Like every write, the new file is made beside it
// and renamed into place, never written in place. It also clears the
// free pages of this machine's copy, which bbolt cannot shrink but whose
// freed pages would otherwise keep deleted bytes.
//
// Compact is for a file that grew by changes made in place (by this or an
// older version of the program), or before handing the file on. It is
// needed after a purge only when that write failed (the purge warned).
// What it cannot reach: copies of the file made before (other members'
// machines until they next take in the change, backups, a sync tool's
// version history, git history).
func (v *Vault) Compact() (CompactReport, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := CompactReport{Path: v.path, GitRepo: GitTop(v.path)}
	if err := v.ready(); err != nil {
		return out, err
	}
	if err := v.writable(); err != nil {
		return out, err
	}
	if err := v.catchUp(); err != nil {
		return out, err
	}
	if info, err := os.Stat(v.path); err == nil {
		out.Before = info.Size()
	}
	st, err := v.publish(v.path, true)
	if err != nil {
		return out, fmt.Errorf("cannot write %s afresh (%w); it was left as it was", v.path, err)
	}
	if err := v.update0(func(tx *bolt.Tx) error { return v.setStamp(tx, st) }); err != nil {
		return out, err
	}
	if err := v.wipeReplica(); err != nil {
		return out, fmt.Errorf("wrote %s afresh, but could not clear the freed space of this machine's copy: %w", v.path, err)
	}
	out.After = st.Size
	return out, nil
}

// Backup writes a copy of the vault into the folder dir (made, mode 700,
// if missing) and returns its path: the shared file as it would be written
// afresh now (compact, every change this machine has seen), encrypted as
// the vault is: a member opens it as the same vault, and nobody else
// learns more from it than from the vault file. It never holds a value in
// plain text.
//
// The file is named after the vault file and the day (vault-2026-11-26.db,
// then vault-2026-11-26-2.db, …), mode 600, and never replaces a file: it
// is written under a temporary name and linked to its name, which fails
// rather than overwrite.
func (v *Vault) Backup(dir string) (string, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := v.ready(); err != nil {
		return "", err
	}
	if err := v.catchUp(); err != nil {
		return "", err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	if info, err := os.Stat(abs); err == nil && !info.IsDir() {
		return "", errorf(ErrInvalid, "%s is not a folder; give the folder to write the backup into", abs)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return "", fmt.Errorf("cannot make the backup folder: %w", err)
	}
	tmp, err := os.CreateTemp(abs, ".vault-backup-*")
	if err != nil {
		return "", fmt.Errorf("cannot write a backup into %s: %w", abs, err)
	}
	tmpPath := tmp.Name()
	tmp.Close()
	defer os.Remove(tmpPath)
	if err := v.fillShared(tmpPath, true); err != nil {
		return "", fmt.Errorf("cannot write a backup into %s: %w", abs, err)
	}
	if err := os.Chmod(tmpPath, 0o600); err != nil {
		return "", err
	}
	stem := strings.TrimSuffix(filepath.Base(v.path), filepath.Ext(v.path))
	day := v.now().Format(time.DateOnly)
	for n := 1; n <= 1000; n++ {
		name := fmt.Sprintf("%s-%s.db", stem, day)
		if n > 1 {
			name = fmt.Sprintf("%s-%s-%d.db", stem, day, n)
		}
		path := filepath.Join(abs, name)
		err := placeNew(tmpPath, path)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("cannot write the backup %s: %w", path, err)
		}
		syncDir(abs)
		return path, nil
	}
	return "", errorf(ErrExists, "%s already holds 1,000 backups of %s made today", abs, stem)
}

// placeNew gives the file at tmp the name path, failing with fs.ErrExist
// rather than replace a file there: by a hard link where the file system
// has them, else by a new empty file made exclusively and renamed over.
func placeNew(tmp, path string) error {
	err := os.Link(tmp, path)
	if err == nil || errors.Is(err, fs.ErrExist) {
		return err
	}
	// No hard links (a FAT or exFAT USB stick): claim the name, then
	// replace the empty file just made.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	f.Close()
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(path)
		return err
	}
	return nil
}

// syncDir makes a folder's entries (a new or removed name) durable; errors
// are ignored: not every file system can.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// GitTop returns the top of the git working tree that holds path (the
// nearest folder above it with a .git entry), or "" when there is none. It
// runs no git command.
func GitTop(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return ""
	}
	for dir := filepath.Dir(abs); ; {
		if _, err := os.Lstat(filepath.Join(dir, ".git")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}
