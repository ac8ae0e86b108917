package vault

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"syscall"

	"github.com/mutual-aid-vault/vault/vault/internal/boltcheck"
)

// localState is what a member's machine remembers of one vault, in
// Options.StateDir. It holds nothing secret: a random wrap ID and a counter.
type localState struct {
	// Wrap is the key wrap that opened the vault last time.
	Wrap ID `json:"wrap"`
	// Counter is the highest write counter seen in this vault's file.
	Counter uint64 `json:"counter"`
}

const maxStateFile = 4096

func (v *Vault) statePath() string {
	return filepath.Join(v.stateDir, hex.EncodeToString(v.vaultID[:])+".json")
}

// readState returns the remembered state, or the zero state when there is
// none or it cannot be read: it is only a hint and a safeguard.
func (v *Vault) readState() localState {
	var st localState
	if v.stateDir == "" {
		return st
	}
	f, err := os.Open(v.statePath())
	if err != nil {
		return st
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxStateFile))
	if err != nil {
		return st
	}
	return parseState(b)
}

// parseState decodes a state file; anything malformed is the zero state.
func parseState(b []byte) localState {
	var st localState
	if json.Unmarshal(b, &st) != nil {
		return localState{}
	}
	return st
}

// noteState compares the file with what was remembered: a write counter
// lower than one seen before means this is an older copy of the vault (a
// rollback, or a backup put back), which is worth a warning. It then
// remembers the current wrap and counter.
func (v *Vault) noteState(old localState) {
	if v.stateDir == "" || v.man == nil {
		return
	}
	if v.man.counter < old.Counter {
		v.warnings = append(v.warnings, fmt.Sprintf("this copy of the vault is older than one opened here before (change %d, and change %d was seen): if nobody restored a backup on purpose, someone may have put back an old copy to undo changes (such as a member's removal); check with your admins", v.man.counter, old.Counter))
	}
	now := localState{Wrap: v.wrapID, Counter: v.man.counter}
	if now == old {
		return
	}
	b, err := json.Marshal(now)
	if err != nil {
		return
	}
	if os.MkdirAll(v.stateDir, 0o700) == nil {
		// A failure only costs the next unlock a little time.
		_ = writeHint(v.statePath(), b)
	}
}

// Warnings returns what the member should be told about the vault file
// itself, such as it being older than a copy opened before. The caller
// shows them; they never stop the vault from working.
func (v *Vault) Warnings() []string { return v.warnings }

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
