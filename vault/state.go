package vault

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

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

// The pins are kept one per line: the vault's ID in hex, then its name and
// the file's path, each quoted as in Go (any byte survives). Not JSON:
// the first use of encoding/json in a process costs a millisecond, and
// every command reads the pins.
const pinsHeader = "# vault: the vault this machine found at each path (ID, name, path)"

func (v *Vault) pinsPath() string { return filepath.Join(v.stateDir, "pins") }

// oldPinsPath is where pins were kept as JSON before.
func (v *Vault) oldPinsPath() string { return filepath.Join(v.stateDir, "pins.json") }

// readPins returns the pins, or none when there are none or they cannot
// be read (then the first open pins again). Pins kept as JSON by an
// earlier version are moved to the new file.
func (v *Vault) readPins() map[string]pin {
	b, err := readStateFile(v.pinsPath())
	if err == nil {
		return parsePins(b)
	}
	out := map[string]pin{}
	old, err := readStateFile(v.oldPinsPath())
	if err != nil || json.Unmarshal(old, &out) != nil {
		return map[string]pin{}
	}
	if v.writePins(out) == nil {
		os.Remove(v.oldPinsPath())
	}
	return out
}

// readStateFile reads a small file of the state folder.
func readStateFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxStateFile))
}

// parsePins reads the pins file; lines it cannot read are skipped.
func parsePins(b []byte) map[string]pin {
	out := map[string]pin{}
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		idHex, rest, _ := strings.Cut(line, " ")
		var p pin
		if p.Vault.UnmarshalText([]byte(idHex)) != nil {
			continue
		}
		qname, err := strconv.QuotedPrefix(rest)
		if err != nil {
			continue
		}
		qpath, err := strconv.QuotedPrefix(strings.TrimPrefix(rest[len(qname):], " "))
		if err != nil {
			continue
		}
		name, err1 := strconv.Unquote(qname)
		path, err2 := strconv.Unquote(qpath)
		if err1 != nil || err2 != nil {
			continue
		}
		p.Name = name
		out[path] = p
	}
	return out
}

// writePins replaces the pins file.
func (v *Vault) writePins(pins map[string]pin) error {
	if err := os.MkdirAll(v.stateDir, 0o700); err != nil {
		return err
	}
	return writeFileAtomic(v.pinsPath(), pinsText(pins), true)
}

// pinsText is the pins file's text for pins.
func pinsText(pins map[string]pin) []byte {
	var b strings.Builder
	b.WriteString(pinsHeader + "\n")
	for _, path := range slices.Sorted(maps.Keys(pins)) {
		p := pins[path]
		fmt.Fprintf(&b, "%s %s %s\n", p.Vault, strconv.Quote(p.Name), strconv.Quote(path))
	}
	return []byte(b.String())
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
	return v.writePins(pins)
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
	return v.writePins(pins)
}

// replicaPath is where this machine keeps its copy of a vault.
func (v *Vault) replicaPath(id oplog.ID) string {
	return filepath.Join(v.stateDir, "vaults", id.String()[:32]+"-"+identityTag(v.identity), "replica.db")
}
