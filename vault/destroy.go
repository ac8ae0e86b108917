package vault

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"filippo.io/age"
	"golang.org/x/sys/unix"

	"github.com/mutual-aid-vault/vault/vault/internal/naming"
	"github.com/mutual-aid-vault/vault/vault/internal/oplog"
)

// Destroying a vault deletes what this machine holds of it, for a group
// that shuts down: [PlanDestroy] finds every file, [DestroyPlan.Destroy]
// deletes them once the member typed the vault's name. Each file is
// overwritten with zeros and synced before it is removed. On a disk that
// writes in place that leaves nothing to read back; on an SSD (which
// writes elsewhere and erases later) or a copy-on-write file system
// (btrfs, ZFS, APFS), and in snapshots, the old blocks may survive until
// reused: the overwrite is no guarantee there, only the best a program can
// do. The encryption still protects what survives.

// DestroyOptions says what [PlanDestroy] looks for.
type DestroyOptions struct {
	// Path is the vault file.
	Path string
	// StateDir is the state folder ([Options.StateDir]): this machine's
	// copies of the vault and what it remembers of it.
	StateDir string
	// BackupDir is the folder backups are written to by default: the
	// backups of this vault found there are deleted too. Empty: none.
	BackupDir string
	// IdentityPath, when set, is the member's identity file: it is deleted
	// too, with the old ones 'vault keygen --force' kept beside it.
	IdentityPath string
	// AgentSocket, when set, is the socket of the agent for the identity:
	// a running agent is locked, so the key leaves its memory.
	AgentSocket string
	// EmptyFolders are folders of this program's own (the data, state and
	// configuration folders) to remove when nothing is left in them.
	EmptyFolders []string
	// Unlock is called only when this machine never opened the vault, so
	// has no record of its name: the vault is opened with the identity it
	// returns, which records it. Nil: such a vault is refused.
	Unlock func() (age.Identity, error)
	// LockTimeout bounds the wait for other vault processes to let go of
	// the files. Zero means DefaultLockTimeout.
	LockTimeout time.Duration
	// KeepSharedFile leaves the vault file and the copies beside it in
	// place: in a folder a sync tool shares, deleting them here deletes
	// them for the whole group, which only a group that shuts down wants.
	KeepSharedFile bool
}

// DestroyPlan is what [DestroyPlan.Destroy] deletes, for the member to
// read before confirming.
type DestroyPlan struct {
	// Path is the vault file (it may be gone already).
	Path string `json:"vault"`
	// ID is the vault's ID.
	ID string `json:"id"`
	// Name is what the member types to confirm: the vault's name, or
	// when it has none, the vault file's name.
	Name string `json:"name"`
	// Files are the files deleted, in the order they are: copies of the
	// vault file (conflict copies beside it, files at other paths where
	// this machine opened it, backups in the backup folder), the vault
	// file, this machine's own copies and notes in the state folder, and
	// the identity files.
	Files []string `json:"files"`
	// Copies, State and Identity sort Files by what they are.
	Copies   []string `json:"copies"`
	State    []string `json:"state"`
	Identity []string `json:"identity"`
	// GitRepo is the top of the git working tree holding the vault file,
	// or empty. Its history keeps every committed version of the file:
	// only deleting the repository (every clone of it) removes those.
	GitRepo string `json:"git_repository,omitempty"`
	// SyncedBy names the sync tool whose folder holds the vault file
	// (Syncthing, Dropbox, …), as far as its marks show, or is empty.
	// Deleting the file there deletes it on every machine that syncs it.
	SyncedBy string `json:"synced_by,omitempty"`
	// Kept are the files left in place because of
	// [DestroyOptions.KeepSharedFile].
	Kept []string `json:"kept,omitempty"`
	// OtherVaults are the names of the other vaults this machine opened,
	// which cannot be opened once the identity is deleted (only with
	// IdentityPath).
	OtherVaults []string `json:"other_vaults,omitempty"`

	opts    DestroyOptions
	id      oplog.ID
	dirs    []string // replica folders, removed whole
	inVault bool     // Path holds the vault (not gone already)
}

// DestroyReport says what [DestroyPlan.Destroy] did.
type DestroyReport struct {
	// Deleted are the files deleted.
	Deleted []string `json:"deleted"`
	// NotOverwritten were deleted without being overwritten first (a
	// symbolic link, or a file that could not be opened for writing).
	NotOverwritten []string `json:"not_overwritten"`
	// AgentLocked is set when a running agent for the identity was locked.
	AgentLocked bool `json:"agent_locked"`
}

// PlanDestroy finds what this machine holds of the vault at opts.Path. It
// changes nothing, unless this machine never opened the vault: then it
// opens it (see DestroyOptions.Unlock) to learn its name.
func PlanDestroy(opts DestroyOptions) (*DestroyPlan, error) {
	abs, err := filepath.Abs(opts.Path)
	if err != nil {
		return nil, err
	}
	opts.Path = abs
	probe := &Vault{stateDir: opts.StateDir, timeout: opts.LockTimeout}
	p, pinned := probe.pinFor(abs)
	fileID, inVault, err := probe.vaultIDOf(abs)
	if err != nil {
		return nil, err
	}
	switch {
	case pinned && inVault && fileID != p.Vault:
		return nil, errorf(ErrOtherVault, "%s is not the vault this machine opened there; nothing was deleted. If your group replaced its vault, run 'vault forget %s', open the new one once, and destroy it then", abs, abs)
	case !pinned && !inVault:
		return nil, errorf(ErrNoVault, "no vault at %s, and this machine remembers none there: nothing to destroy; check the path given by --vault or VAULT_FILE", abs)
	case !pinned:
		if err := learnName(opts, abs); err != nil {
			return nil, err
		}
		if p, pinned = probe.pinFor(abs); !pinned {
			return nil, fmt.Errorf("could not record which vault %s is; nothing was deleted", abs)
		}
	}
	plan := &DestroyPlan{Path: abs, ID: p.Vault.String(), Name: p.Name, GitRepo: GitTop(abs), SyncedBy: syncedBy(abs), opts: opts, id: p.Vault, inVault: inVault}
	if plan.Name == "" {
		plan.Name = filepath.Base(abs)
	}
	if err := plan.find(probe); err != nil {
		return nil, err
	}
	return plan, nil
}

// learnName opens the vault at path once, which records its name (and
// identity) on this machine.
func learnName(opts DestroyOptions, path string) error {
	if opts.Unlock == nil {
		return errorf(ErrNoIdentity, "this machine never opened %s, so vault cannot tell its name to confirm; open it once with your identity", path)
	}
	id, err := opts.Unlock()
	if err != nil {
		return err
	}
	v, err := Open(path, Options{Identity: id, ReadOnly: true, StateDir: opts.StateDir, LockTimeout: opts.LockTimeout})
	if errors.Is(err, ErrNotMember) {
		return errorf(ErrNotMember, "your key does not open %s and this machine never opened it, so vault cannot confirm which vault it is; this machine keeps nothing of it but the file: delete that yourself if it is your group's", path)
	}
	if err != nil {
		return err
	}
	return v.Close()
}

// vaultIDOf reads the ID of the vault file at path; ok is false when there
// is no file there. A file that is not a vault is an error.
func (v *Vault) vaultIDOf(path string) (id oplog.ID, ok bool, err error) {
	if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
		return id, false, nil
	}
	sf, err := v.openShared(path)
	if err != nil {
		if errors.Is(err, ErrNotVault) || errors.Is(err, ErrCorrupt) || errors.Is(err, ErrNewerFormat) || errors.Is(err, ErrOldFormat) {
			return id, false, fmt.Errorf("%w; nothing was deleted", err)
		}
		return id, false, err
	}
	defer sf.close()
	return sf.vaultID, true, nil
}

// isCopy reports whether the file at path is a copy of the vault id.
func (v *Vault) isCopy(path string, id oplog.ID) bool {
	info, err := os.Lstat(path)
	if err != nil || !info.Mode().IsRegular() {
		return false
	}
	sf, err := v.openShared(path)
	if err != nil {
		return false
	}
	defer sf.close()
	return sf.vaultID == id
}

// find lists the files to delete, and checks that each can be.
func (p *DestroyPlan) find(probe *Vault) error {
	seen := map[string]bool{}
	add := func(list *[]string, path string) {
		if !seen[path] {
			seen[path] = true
			*list = append(*list, path)
		}
	}
	// Copies: beside the vault file and every other path where this
	// machine opened this vault, and in the backup folder.
	paths := []string{p.Path}
	for path, pn := range probe.readPins() {
		if pn.Vault == p.id && path != p.Path {
			paths = append(paths, path)
		}
	}
	slices.Sort(paths[1:])
	shared := filepath.Dir(p.Path)
	if p.opts.KeepSharedFile {
		if p.inVault {
			p.Kept = append(p.Kept, p.Path)
		}
		p.inVault = false
	}
	for i, path := range paths {
		keep := p.opts.KeepSharedFile && filepath.Dir(path) == shared
		if keep {
			if i > 0 && probe.isCopy(path, p.id) {
				p.Kept = append(p.Kept, path)
			}
			for _, c := range conflictCopies(path) {
				if probe.isCopy(c, p.id) {
					p.Kept = append(p.Kept, c)
				}
			}
			continue
		}
		if i > 0 && probe.isCopy(path, p.id) {
			add(&p.Copies, path)
		}
		for _, c := range conflictCopies(path) {
			if probe.isCopy(c, p.id) {
				add(&p.Copies, c)
			}
		}
		// Files a write left behind when it was cut short.
		dir, base := filepath.Split(path)
		if entries, err := os.ReadDir(dir); err == nil {
			for _, e := range entries {
				if e.Type().IsRegular() && strings.HasPrefix(e.Name(), "."+base+".new-") {
					add(&p.Copies, filepath.Join(dir, e.Name()))
				}
			}
		}
	}
	if p.opts.BackupDir != "" {
		if entries, err := os.ReadDir(p.opts.BackupDir); err == nil {
			for _, e := range entries {
				path := filepath.Join(p.opts.BackupDir, e.Name())
				if e.Type().IsRegular() && probe.isCopy(path, p.id) {
					add(&p.Copies, path)
				}
			}
		}
	}
	// This machine's copies of the vault, one folder per identity used
	// with it, and everything in them (the copy, the spare file, the
	// stamp, the kept reminders, the writer note, damaged files kept).
	prefix := p.id.String()[:32] + "-"
	vaults := filepath.Join(p.opts.StateDir, "vaults")
	if entries, err := os.ReadDir(vaults); err == nil {
		for _, e := range entries {
			if !e.IsDir() || !strings.HasPrefix(e.Name(), prefix) {
				continue
			}
			dir := filepath.Join(vaults, e.Name())
			p.dirs = append(p.dirs, dir)
			err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if !d.IsDir() {
					add(&p.State, path)
				}
				return nil
			})
			if err != nil {
				return fmt.Errorf("cannot list %s: %w; nothing was deleted", dir, err)
			}
		}
	}
	if _, err := os.Lstat(probe.pinsPath()); err == nil {
		others := 0
		pins := probe.readPins()
		for _, pn := range pins {
			if pn.Vault != p.id {
				others++
			}
		}
		if others == 0 {
			add(&p.State, probe.pinsPath())
		}
	}
	// The identity, and the old ones kept beside it.
	if id := p.opts.IdentityPath; id != "" {
		abs, err := filepath.Abs(id)
		if err != nil {
			return err
		}
		p.opts.IdentityPath = abs
		if _, err := os.Lstat(abs); err == nil {
			add(&p.Identity, abs)
		}
		dir, base := filepath.Split(abs)
		if entries, err := os.ReadDir(dir); err == nil {
			for _, e := range entries {
				if strings.HasPrefix(e.Name(), base+".replaced-") && !e.IsDir() {
					add(&p.Identity, filepath.Join(dir, e.Name()))
				}
			}
		}
		names := map[string]bool{}
		for _, pn := range probe.readPins() {
			if pn.Vault != p.id {
				n := pn.Name
				if n == "" {
					n = "a vault without a name (" + pn.Vault.String()[:8] + ")"
				}
				names[n] = true
			}
		}
		for n := range names {
			p.OtherVaults = append(p.OtherVaults, n)
		}
		slices.Sort(p.OtherVaults)
	}
	if p.inVault {
		p.Files = append(p.Files, p.Copies...)
		p.Files = append(p.Files, p.Path)
	} else {
		p.Files = append(p.Files, p.Copies...)
	}
	p.Files = append(p.Files, p.State...)
	p.Files = append(p.Files, p.Identity...)
	// Everything must be deletable before anything is deleted.
	for _, f := range p.Files {
		dir := filepath.Dir(f)
		if err := unix.Access(dir, unix.W_OK|unix.X_OK); err != nil {
			return fmt.Errorf("cannot delete %s: the folder %s is not writable by you (%v); nothing was deleted", f, dir, err)
		}
	}
	return nil
}

// Confirmed reports whether typed (what the member typed, spaces around it
// ignored) is the vault's name.
func (p *DestroyPlan) Confirmed(typed string) bool {
	typed = strings.TrimSpace(typed)
	if typed == p.Name {
		return true
	}
	// Names are kept in Unicode normal form C; what a keyboard sends may
	// be decomposed.
	n, err := naming.Vault(typed)
	return err == nil && n == p.Name
}

// Destroy deletes the plan's files, once typed is the vault's name (else
// it fails with [ErrNotConfirmed] and deletes nothing). It first takes
// every file's lock, so that it fails with [ErrBusy], deleting nothing,
// while another vault process (a command, the terminal UI) has the vault
// open. Each file is overwritten with zeros, synced and removed; then
// this machine forgets the vault's paths, and the identity goes last.
// Cut short, it can be run again: what is left is found again.
func (p *DestroyPlan) Destroy(typed string) (DestroyReport, error) {
	out := DestroyReport{Deleted: []string{}, NotOverwritten: []string{}}
	if !p.Confirmed(typed) {
		return out, errorf(ErrNotConfirmed, "what you typed is not the vault's name; nothing was deleted (type %q exactly to confirm)", p.Name)
	}
	timeout := p.opts.LockTimeout
	if timeout == 0 {
		timeout = DefaultLockTimeout
	}
	var locks []*os.File
	defer func() {
		for _, f := range locks {
			f.Close()
		}
	}()
	lockTargets := append([]string(nil), p.Copies...)
	if p.inVault {
		lockTargets = append(lockTargets, p.Path)
	}
	for _, d := range p.dirs {
		lockTargets = append(lockTargets, filepath.Join(d, "replica.db"))
	}
	for _, path := range lockTargets {
		f, err := OpenRegular(path) // a named pipe would block here
		if err != nil {
			continue
		}
		locks = append(locks, f)
		if err := lockExclusive(f, timeout); err != nil {
			if errors.Is(err, errLockTimeout) {
				return out, errorf(ErrBusy, "%s is open in another vault process on this machine (a command, or the terminal UI); close it and try again; nothing was deleted", path)
			}
			return out, fmt.Errorf("cannot lock %s: %w; nothing was deleted", path, err)
		}
	}
	shredAll := func(files []string) error {
		for _, f := range files {
			overwritten, err := shred(f)
			if err != nil {
				return fmt.Errorf("cannot delete %s: %w; %d of %d files were deleted, run 'vault destroy' again to finish", f, err, len(out.Deleted), len(p.Files))
			}
			out.Deleted = append(out.Deleted, f)
			if !overwritten {
				out.NotOverwritten = append(out.NotOverwritten, f)
			}
			syncDir(filepath.Dir(f))
		}
		return nil
	}
	data := append([]string(nil), p.Copies...)
	if p.inVault {
		data = append(data, p.Path)
	}
	if err := shredAll(data); err != nil {
		return out, err
	}
	var pinsFile []string
	var state []string
	probe := &Vault{stateDir: p.opts.StateDir}
	for _, f := range p.State {
		if f == probe.pinsPath() {
			pinsFile = append(pinsFile, f)
		} else {
			state = append(state, f)
		}
	}
	if err := shredAll(state); err != nil {
		return out, err
	}
	for _, d := range p.dirs {
		if err := os.RemoveAll(d); err != nil {
			return out, fmt.Errorf("cannot remove %s: %w; run 'vault destroy' again to finish", d, err)
		}
	}
	// Forgotten last: until then a second run finds the vault again.
	if len(pinsFile) > 0 {
		if err := shredAll(pinsFile); err != nil {
			return out, err
		}
	} else if err := probe.dropPins(p.id); err != nil {
		return out, fmt.Errorf("cannot make this machine forget the vault's paths (%s): %w", probe.pinsPath(), err)
	}
	if p.opts.AgentSocket != "" {
		if _, err := LockAgent(p.opts.AgentSocket); err == nil {
			out.AgentLocked = true
			waitGoneFile(p.opts.AgentSocket, 2*time.Second)
		}
	}
	if err := shredAll(p.Identity); err != nil {
		return out, err
	}
	if len(p.Identity) > 0 && p.opts.AgentSocket != "" {
		// The lock file of the identity's agent names no one, but is the
		// identity's: it goes with it.
		if os.Remove(p.opts.AgentSocket+".lock") == nil {
			out.Deleted = append(out.Deleted, p.opts.AgentSocket+".lock")
		}
	}
	// Inner folders first: the state folder holds the vaults folder and
	// perhaps the agent's.
	folders := []string{filepath.Join(p.opts.StateDir, "vaults"), p.opts.BackupDir}
	if p.opts.IdentityPath != "" {
		folders = append(folders, filepath.Dir(p.opts.IdentityPath))
	}
	if p.opts.AgentSocket != "" {
		folders = append(folders, filepath.Dir(p.opts.AgentSocket))
	}
	folders = append(folders, p.opts.EmptyFolders...)
	for _, d := range folders {
		if d != "" {
			os.Remove(d) // only when empty
		}
	}
	return out, nil
}

// syncedBy names the sync tool whose folder holds path, found by the marks
// it leaves at the top of its folder, or by the folder names of tools that
// leave none (Google Drive, OneDrive, iCloud); empty when there is no sign
// of one.
func syncedBy(path string) string {
	// The files or folders by which a sync tool marks the top of a
	// folder it syncs.
	marks := []struct{ mark, tool string }{
		{".stfolder", "Syncthing"},
		{".dropbox", "Dropbox"},
		{".dropbox.cache", "Dropbox"},
		{".nextcloudsync.log", "Nextcloud"},
		{".owncloudsync.log", "ownCloud"},
		{".tresorit", "Tresorit"},
		{".sync", "Resilio Sync"},
	}
	for dir := filepath.Dir(path); ; {
		for _, m := range marks {
			if _, err := os.Lstat(filepath.Join(dir, m.mark)); err == nil {
				return m.tool
			}
		}
		if entries, err := os.ReadDir(dir); err == nil {
			for _, e := range entries {
				// Nextcloud's journal carries a suffix: .sync_1a2b3c.db.
				if n := e.Name(); strings.HasPrefix(n, "._sync_") || (strings.HasPrefix(n, ".sync_") && strings.HasSuffix(n, ".db")) {
					return "Nextcloud or ownCloud"
				}
			}
		}
		base := filepath.Base(dir)
		switch {
		case base == "Google Drive" || base == "My Drive" || strings.HasPrefix(base, "GoogleDrive-"):
			return "Google Drive"
		case base == "OneDrive" || strings.HasPrefix(base, "OneDrive - ") || strings.HasPrefix(base, "OneDrive-"):
			return "OneDrive"
		case base == "Mobile Documents" || base == "iCloud Drive":
			return "iCloud Drive"
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// dropPins makes this machine forget every path where it opened the vault
// id. The pins file is rewritten in place, the new text over the old and
// then cut to its length, so that the forgotten lines (the vault's name,
// its paths) do not stay behind in a file that was replaced.
func (v *Vault) dropPins(id oplog.ID) error {
	pins := v.readPins()
	changed := false
	for path, p := range pins {
		if p.Vault == id {
			delete(pins, path)
			changed = true
		}
	}
	if !changed {
		return nil
	}
	newText := pinsText(pins)
	f, err := os.OpenFile(v.pinsPath(), os.O_RDWR|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	text := append([]byte(nil), newText...)
	// Blank lines, which the pins reader skips, cover the rest of the old
	// text until the file is cut.
	for int64(len(text)) < info.Size() {
		text = append(text, '\n')
	}
	if _, err := f.WriteAt(text, 0); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Truncate(int64(len(newText))); err != nil {
		return err
	}
	return f.Sync()
}

// shred overwrites the file at path with zeros, syncs it and removes it.
// overwritten is false when it could not be overwritten (a symbolic link,
// which is removed and its target left alone; a file that cannot be
// opened for writing) and was only removed. A file gone already is no
// error.
func shred(path string) (overwritten bool, err error) {
	info, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	if info.Mode().IsRegular() {
		overwritten = overwrite(path, info) == nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return overwritten, err
	}
	return overwritten, nil
}

// overwrite writes zeros over the whole file at path and syncs it.
func overwrite(path string, info fs.FileInfo) error {
	f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NOFOLLOW, 0)
	if errors.Is(err, fs.ErrPermission) && info.Mode().Perm()&0o200 == 0 {
		// A file made read-only (a group's way to say "do not change"):
		// it is being deleted anyway.
		if os.Chmod(path, info.Mode().Perm()|0o200) == nil {
			f, err = os.OpenFile(path, os.O_WRONLY|syscall.O_NOFOLLOW, 0)
		}
	}
	if err != nil {
		return err
	}
	defer f.Close()
	zero := make([]byte, 1<<20)
	for off := int64(0); off < info.Size(); off += int64(len(zero)) {
		n := min(int64(len(zero)), info.Size()-off)
		if _, err := f.WriteAt(zero[:n], off); err != nil {
			return err
		}
	}
	return f.Sync()
}

// lockExclusive takes an exclusive flock on f, waiting up to timeout for
// the processes that hold it.
func lockExclusive(f *os.File, timeout time.Duration) error {
	return lockWaiting(f, syscall.LOCK_EX, timeout)
}

// waitGoneFile waits a little for the file at path to go (an agent's
// socket, which it removes as it locks).
func waitGoneFile(path string, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}
