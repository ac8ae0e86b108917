package vault

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// Config is the member's own settings, kept in a small text file
// ($XDG_CONFIG_HOME/vault/config) that people may edit by hand:
//
//	# vault: your settings
//	vault = /home/sam/.local/share/vault/eastside/vault.db
//
// One "key = value" a line; spaces around the "=" and at either end of a
// line do not count; blank lines and lines starting with "#" are comments.
// There are no quotes: a value runs to the end of its line. A key appears
// once. Known keys:
//
//   - vault: the group's vault file, an absolute path or one starting with
//     "~/" (the home folder). --vault and VAULT_FILE win over it.
type Config struct {
	// Vault is the vault file, as written (it may start with "~/").
	Vault string
}

// MaxConfigSize caps what is read of a configuration file.
const MaxConfigSize = 64 << 10

// configKeys are the keys a configuration may set.
var configKeys = []string{"vault"}

// ParseConfig reads a configuration file's text. An error names the line
// and what is wrong with it, and wraps [ErrInvalid].
func ParseConfig(b []byte) (Config, error) {
	var c Config
	if len(b) > MaxConfigSize {
		return c, errorf(ErrInvalid, "it is larger than %d KiB", MaxConfigSize>>10)
	}
	if !utf8.Valid(b) {
		return c, errorf(ErrInvalid, "it is not UTF-8 text")
	}
	seen := map[string]bool{}
	for i, line := range strings.Split(string(b), "\n") {
		n := i + 1
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.ContainsFunc(line, isControl) {
			return Config{}, errorf(ErrInvalid, "line %d holds a control character", n)
		}
		k, val, ok := strings.Cut(line, "=")
		if !ok {
			return Config{}, errorf(ErrInvalid, "line %d is not 'key = value'", n)
		}
		k, val = strings.TrimSpace(k), strings.TrimSpace(val)
		switch {
		case k == "":
			return Config{}, errorf(ErrInvalid, "line %d has no key before '='", n)
		case !isConfigKey(k):
			return Config{}, errorf(ErrInvalid, "line %d sets %q, which is not a setting (known: %s)", n, k, strings.Join(configKeys, ", "))
		case seen[k]:
			return Config{}, errorf(ErrInvalid, "line %d sets %s a second time", n, k)
		case val == "":
			return Config{}, errorf(ErrInvalid, "line %d gives %s no value", n, k)
		}
		seen[k] = true
		switch k {
		case "vault":
			if !filepath.IsAbs(val) && !strings.HasPrefix(val, "~/") {
				return Config{}, errorf(ErrInvalid, "line %d: vault must be an absolute path (or start with ~/), not %q", n, val)
			}
			c.Vault = val
		}
	}
	return c, nil
}

func isConfigKey(k string) bool {
	for _, known := range configKeys {
		if k == known {
			return true
		}
	}
	return false
}

// isControl reports the characters a configuration line may not hold (a
// tab is fine).
func isControl(r rune) bool {
	return r != '\t' && (r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0))
}

// ReadConfig reads the configuration file at path. A missing file is an
// empty configuration; a file that cannot be parsed is an error naming
// the file and the line, wrapping [ErrInvalid].
func ReadConfig(path string) (Config, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Config{}, nil
	}
	if err != nil {
		return Config{}, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxConfigSize+1))
	if err != nil {
		return Config{}, err
	}
	c, err := ParseConfig(b)
	if err != nil {
		return Config{}, errorf(ErrInvalid, "cannot read the configuration %s: %v; correct it, or remove that line", path, err)
	}
	return c, nil
}

// configHeader starts a configuration file this package writes.
const configHeader = "# vault: your settings, one 'key = value' a line ('vault' is the group's vault file).\n# --vault and VAULT_FILE win over it.\n"

// SetConfig sets key to value in the configuration file at path, creating
// it (mode 600, in a 700 folder) if need be. Other lines, comments
// included, are kept as they are; the file is replaced in one rename.
func SetConfig(path, key, value string) error {
	if !isConfigKey(key) {
		return errorf(ErrInvalid, "%q is not a setting", key)
	}
	if value == "" || strings.ContainsFunc(value, isControl) || strings.TrimSpace(value) != value {
		return errorf(ErrInvalid, "%q cannot be a value of %s", value, key)
	}
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if _, err := ParseConfig(old); err != nil {
		return errorf(ErrInvalid, "cannot change the configuration %s: %v; correct it, or remove that line", path, err)
	}
	line := key + " = " + value
	var lines []string
	if len(old) == 0 {
		lines = strings.Split(strings.TrimSuffix(configHeader, "\n"), "\n")
	} else {
		lines = strings.Split(strings.TrimSuffix(string(old), "\n"), "\n")
	}
	done := false
	for i, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		if k, _, _ := strings.Cut(t, "="); strings.TrimSpace(k) == key {
			lines[i], done = line, true
		}
	}
	if !done {
		lines = append(lines, line)
	}
	out := []byte(strings.Join(lines, "\n") + "\n")
	if _, err := ParseConfig(out); err != nil {
		return fmt.Errorf("cannot write the configuration: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return writeFileAtomic(path, out, true)
}
