package vault

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
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
		_ = writeFileAtomic(v.statePath(), b, true)
	}
}

// Warnings returns what the member should be told about the vault file
// itself, such as it being older than a copy opened before. The caller
// shows them; they never stop the vault from working.
func (v *Vault) Warnings() []string { return v.warnings }
