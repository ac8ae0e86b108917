package vault

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"syscall"

	"github.com/mutual-aid-vault/vault/vault/internal/boltcheck"
	"github.com/mutual-aid-vault/vault/vault/internal/oplog"
)

// maxStateFile caps what is read of a file in the state folder.
const maxStateFile = 1 << 20

// pin is what this machine remembers of the vault at one path: its
// identity, so that a different vault put in its place is refused.
type pin struct {
	Vault oplog.ID `json:"vault"`
	Name  string   `json:"name,omitempty"`
}

func (v *Vault) pinsPath() string { return filepath.Join(v.stateDir, "pins.json") }

// readPins returns the pins, or none when there are none or they cannot
// be read (then the first open pins again).
func (v *Vault) readPins() map[string]pin {
	out := map[string]pin{}
	f, err := os.Open(v.pinsPath())
	if err != nil {
		return out
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxStateFile))
	if err != nil {
		return out
	}
	_ = json.Unmarshal(b, &out)
	return out
}

// pinFor returns the pin of the vault at path, if any.
func (v *Vault) pinFor(path string) (pin, bool) {
	p, ok := v.readPins()[path]
	return p, ok
}

// setPin remembers that the vault at path is vaultID.
func (v *Vault) setPin(path string, p pin) error {
	pins := v.readPins()
	if old, ok := pins[path]; ok && old == p {
		return nil
	}
	pins[path] = p
	b, err := json.MarshalIndent(pins, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(v.stateDir, 0o700); err != nil {
		return err
	}
	return writeFileAtomic(v.pinsPath(), b, true)
}

// Forget drops what this machine remembers of the vault at path (its pin),
// so that another vault can be opened there. The replicas of vaults stay.
func Forget(stateDir, path string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	v := &Vault{stateDir: stateDir}
	pins := v.readPins()
	if _, ok := pins[abs]; !ok {
		return fmt.Errorf("this machine has not seen a vault at %s; there is nothing to forget", abs)
	}
	delete(pins, abs)
	b, err := json.MarshalIndent(pins, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(v.pinsPath(), b, true)
}

// replicaPath is where this machine keeps its copy of a vault.
func (v *Vault) replicaPath(id oplog.ID) string {
	return filepath.Join(v.stateDir, "vaults", id.String()[:32]+"-"+identityTag(v.identity), "replica.db")
}

// checkedFile identifies a vault file whose whole structure passed the
// check on this machine: the kernel's identity of the file (device, inode),
// its size, its modification and change times, and the transaction and
// checksum of its meta page. Any write, truncation or replacement through
// the file system changes the change time (which no program can set), so an
// entry that still matches means the file is byte for byte the one checked,
// and the full check (a read of every page) can be skipped. Damage that
// bypasses the file system, such as a failing disk, is not seen this way;
// the authentication of every record still catches any change to what is
// read, so such damage gives an error, or at worst a crash, never a wrong
// value.
type checkedFile struct {
	Dev   uint64 `json:"dev"`
	Ino   uint64 `json:"ino"`
	Size  int64  `json:"size"`
	Mtime int64  `json:"mtime"`
	Ctime int64  `json:"ctime"`
	TxID  uint64 `json:"txid"`
	Sum   uint64 `json:"sum"`
}

// maxChecked is how many files the check cache remembers.
const maxChecked = 16

func identify(info os.FileInfo, head boltcheck.Head) (checkedFile, bool) {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return checkedFile{}, false
	}
	return checkedFile{
		Dev: uint64(st.Dev), Ino: st.Ino, Size: info.Size(),
		Mtime: st.Mtim.Nano(), Ctime: st.Ctim.Nano(),
		TxID: head.TxID, Sum: head.Checksum,
	}, true
}

func (v *Vault) checkedPath() string { return filepath.Join(v.stateDir, "checked-files") }

func (v *Vault) readChecked() []checkedFile {
	if v.stateDir == "" {
		return nil
	}
	b, err := os.ReadFile(v.checkedPath())
	if err != nil || len(b) > maxStateFile*4 {
		return nil
	}
	var out []checkedFile
	if json.Unmarshal(b, &out) != nil {
		return nil
	}
	return out
}

func (v *Vault) wasChecked(id checkedFile) bool {
	return slices.Contains(v.readChecked(), id)
}

// noteChecked remembers a file that passed the check, newest first.
func (v *Vault) noteChecked(id checkedFile) {
	if v.stateDir == "" {
		return
	}
	list := append([]checkedFile{id}, slices.DeleteFunc(v.readChecked(), func(c checkedFile) bool {
		return c.Dev == id.Dev && c.Ino == id.Ino
	})...)
	if len(list) > maxChecked {
		list = list[:maxChecked]
	}
	b, err := json.Marshal(list)
	if err != nil {
		return
	}
	if os.MkdirAll(v.stateDir, 0o700) == nil {
		_ = writeHint(v.checkedPath(), b)
	}
}
