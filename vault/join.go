package vault

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"filippo.io/age"

	"github.com/mutual-aid-vault/vault/vault/internal/oplog"
)

// FileInfo is what anyone holding a vault file learns of it without being
// a member: which vault it is and the kind of keys it takes.
type FileInfo struct {
	// ID names the vault: the hash of its first change, in hex. Two files
	// with the same ID are copies of one vault.
	ID string
	// Kind is the kind of key its members have; a member's key must be of
	// the same kind.
	Kind Kind
}

// Inspect reads which vault the file at path is, without a key: what a
// newcomer's machine can know before its member is added. It fails with
// [ErrNoVault] when there is no file, and [ErrNotVault], [ErrCorrupt],
// [ErrNewerFormat] or [ErrOldFormat] for a file that is not a vault this
// version reads.
func Inspect(path string) (FileInfo, error) {
	info, _, err := inspect(path)
	return info, err
}

func inspect(path string) (FileInfo, oplog.ID, error) {
	v := &Vault{}
	sf, err := v.openShared(path)
	if err != nil {
		return FileInfo{}, oplog.ID{}, err
	}
	defer sf.close()
	info := FileInfo{ID: sf.vaultID.String(), Kind: Classic}
	// The kind shows in the age headers of the key grants: the stanzas
	// name the kind of recipient they are for. Every grant of a vault is
	// for one kind.
	var grant []byte
	err = sf.read(func() error {
		return sf.bucket(bGrants).ForEach(func(_, ct []byte) error {
			grant = append([]byte(nil), ct...)
			return errStop
		})
	})
	if err != nil && !errors.Is(err, errStop) {
		return FileInfo{}, oplog.ID{}, err
	}
	if grant == nil {
		return FileInfo{}, oplog.ID{}, errorf(ErrCorrupt, "%s holds no key grants", path)
	}
	if stanzaKinds(grant)["mlkem768x25519"] {
		info.Kind = PostQuantum
	}
	return info, sf.vaultID, nil
}

// stanzaKinds returns the recipient types named in an age file's header.
func stanzaKinds(ct []byte) map[string]bool {
	rec := &stanzaRecorder{types: map[string]bool{}}
	_, _ = age.Decrypt(bytes.NewReader(ct), rec)
	return rec.types
}

// stanzaRecorder is an age identity that opens nothing and notes the
// stanza types it was offered.
type stanzaRecorder struct{ types map[string]bool }

func (r *stanzaRecorder) Unwrap(stanzas []*age.Stanza) ([]byte, error) {
	for _, s := range stanzas {
		r.types[s.Type] = true
	}
	return nil, age.ErrIncorrectIdentity
}

// Join records on this machine that its member is joining the vault in the
// file at path, before their key opens it: the vault is pinned at path
// (see [Forget]), so a different vault put there later is refused even
// before the member is added, and the first time the member's key opens
// it, [Vault.Welcome] says who added them. stateDir is
// [Options.StateDir]. It fails with [ErrOtherVault] when this machine
// already opened another vault at path.
func Join(stateDir, path string) (FileInfo, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return FileInfo{}, err
	}
	info, id, err := inspect(abs)
	if err != nil {
		return FileInfo{}, err
	}
	v := &Vault{stateDir: stateDir}
	p, pinned := v.pinFor(abs)
	if pinned && p.Vault != id {
		return FileInfo{}, errorf(ErrOtherVault, "%s is not the vault this machine opened there before; if your group really replaced its vault, run 'vault forget %s' and join again", abs, abs)
	}
	if !pinned {
		if err := v.setPin(abs, pin{Vault: id}); err != nil {
			return FileInfo{}, fmt.Errorf("cannot remember the vault on this machine: %w", err)
		}
	}
	ids := v.readJoining()
	if !slices.Contains(ids, info.ID) {
		if err := v.writeJoining(append(ids, info.ID)); err != nil {
			return FileInfo{}, fmt.Errorf("cannot remember the vault on this machine: %w", err)
		}
	}
	return info, nil
}

// Pinned returns the ID of the vault this machine opened (or joined) at
// path, as [FileInfo.ID], or "" when it has none pinned there. stateDir is
// [Options.StateDir].
func Pinned(stateDir, path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return ""
	}
	p, ok := (&Vault{stateDir: stateDir}).pinFor(abs)
	if !ok {
		return ""
	}
	return p.Vault.String()
}

// The vaults this machine joined whose member has not been welcomed yet,
// one ID in hex a line.
const joiningHeader = "# vault: vaults joined here whose member has not been told they were added"

func (v *Vault) joiningPath() string { return filepath.Join(v.stateDir, "joining") }

func (v *Vault) readJoining() []string {
	b, err := readStateFile(v.joiningPath())
	if err != nil {
		return nil
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	return out
}

func (v *Vault) writeJoining(ids []string) error {
	if len(ids) == 0 {
		err := os.Remove(v.joiningPath())
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	if err := os.MkdirAll(v.stateDir, 0o700); err != nil {
		return err
	}
	return writeFileAtomic(v.joiningPath(), []byte(joiningHeader+"\n"+strings.Join(ids, "\n")+"\n"), true)
}

// Welcome is what a member who joined on this machine is told the first
// time their key opens the vault.
type Welcome struct {
	// AddedBy is the name of the admin who added the member, and Added
	// when.
	AddedBy string
	Added   time.Time
	// Readable counts the live secrets the member can read.
	Readable int
}

// Welcome returns, once the member's key opens a vault this machine
// joined ([Join]), who added them, when, and how many secrets they can
// read; ok is false otherwise, and after [Vault.MarkWelcomed].
func (v *Vault) Welcome() (w Welcome, ok bool) {
	if !slices.Contains(v.readJoining(), v.vaultID.String()) {
		return Welcome{}, false
	}
	me, err := v.Me()
	if err != nil {
		return Welcome{}, false
	}
	all, err := v.Overview()
	if err != nil {
		return Welcome{}, false
	}
	w = Welcome{AddedBy: me.AddedBy, Added: me.Added}
	for _, s := range all {
		if s.CanRead {
			w.Readable++
		}
	}
	return w, true
}

// MarkWelcomed records that the member was told [Vault.Welcome]'s news,
// so that it is told once.
func (v *Vault) MarkWelcomed() error {
	ids := v.readJoining()
	id := v.vaultID.String()
	if !slices.Contains(ids, id) {
		return nil
	}
	return v.writeJoining(slices.DeleteFunc(ids, func(s string) bool { return s == id }))
}

// CopyFile copies the vault file src to dst, which must not exist: the
// copy is written beside dst and renamed into place, mode 600, so dst is
// never half written. src must be a vault file ([Inspect]).
func CopyFile(src, dst string) error {
	if _, err := Inspect(src); err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if err := fillSynced(tmp, in); err != nil {
		return err
	}
	// dst, if it appeared meanwhile, is never replaced.
	if err := placeNew(tmp.Name(), dst); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return errorf(ErrExists, "%s already exists", dst)
		}
		return err
	}
	return nil
}

// gitProtocols are the transports Clone lets git use: never "ext::", which
// runs a command, whatever the user's git configuration allows.
const gitProtocols = "file:git:http:https:ssh"

// Clone clones the git repository at url (an address git understands, or
// a local folder) into dir, which must not exist: it is cloned into a
// folder beside dir and renamed into place, so a failed clone leaves
// nothing. git runs without asking for a password (an address that needs
// one fails), and only over the file, git, http, https and ssh transports.
func Clone(url, dir string, opts SyncOptions) error {
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return err
	}
	if _, err := os.Lstat(dir); err == nil {
		return errorf(ErrExists, "%s already exists", dir)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".clone-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	opts.Env = append(opts.Env, "GIT_ALLOW_PROTOCOL="+gitProtocols)
	if _, err := git(opts, parent, "clone", "--quiet", "--no-recurse-submodules", "--", url, tmp); err != nil {
		return fmt.Errorf("cannot clone %s: %s", url, strings.TrimSuffix(err.Error(), "."))
	}
	return os.Rename(tmp, dir)
}

// Origin returns the address the git repository at dir was cloned from
// (its remote "origin"), or "" when it has none or dir is not a git
// repository.
func Origin(dir string, opts SyncOptions) string {
	out, err := git(opts, dir, "remote", "get-url", "origin")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(out)
}

// VaultFiles returns the names of the files at the top of dir (a git
// working tree) that may be its vault file: the *.db files, not hidden
// ones, nor copies a sync tool left beside another.
func VaultFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var dbs []string
	for _, e := range entries {
		if e.Type().IsRegular() && strings.HasSuffix(e.Name(), ".db") && !strings.HasPrefix(e.Name(), ".") {
			dbs = append(dbs, e.Name())
		}
	}
	var files []string
	for _, n := range dbs {
		conflict := false
		for _, other := range dbs {
			if other != n && slices.Contains(conflictCopies(filepath.Join(dir, other)), filepath.Join(dir, n)) {
				conflict = true
			}
		}
		if !conflict {
			files = append(files, n)
		}
	}
	return files, nil
}

// Fetch brings the git working tree holding the vault file at path up to
// date with its remote, fast-forward only, and reports whether the file
// changed. It is for a machine whose key does not open the vault yet (a
// newcomer waiting to be added), which has no change of its own to push
// and cannot [Vault.Sync]. Outside git it does nothing.
func Fetch(path string, opts SyncOptions) (bool, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return false, err
	}
	dir := filepath.Dir(abs)
	if _, err := git(opts, dir, "rev-parse", "--show-toplevel"); err != nil {
		return false, nil
	}
	stamp := func() fileStamp {
		info, err := os.Stat(abs)
		if err != nil {
			return fileStamp{}
		}
		return stampOf(info)
	}
	before := stamp()
	if _, err := git(opts, dir, "pull", "--quiet", "--ff-only"); err != nil {
		return false, fmt.Errorf("git pull failed: %v", err)
	}
	return stamp() != before, nil
}
