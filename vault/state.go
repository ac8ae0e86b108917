package vault

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

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
