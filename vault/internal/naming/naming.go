// Package naming holds the rules for the names and free-text fields a vault
// stores: secret, member and group names, usernames, URLs and notes. The
// store applies them to what a member types and, again, to everything it
// reads back from the change log, so a record written with other tools
// cannot smuggle in control characters or look-alike names.
package naming

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// Naming rules. Secret names may use "/" to group related secrets
// ("intake/call-log"); member names are nicknames; group names are single
// words. All are compared regardless of case.
const (
	MaxSecretName = 128
	MaxMemberName = 64
	MaxGroupName  = 32
	MaxVaultName  = 64
)

// Field limits keep records small and stop pasted files.
const (
	MaxUsername = 256
	MaxURL      = 2048
	MaxNote     = 4096
)

// Secret returns the canonical (NFC) form of a secret name, or an error
// that says which rule the name breaks.
func Secret(name string) (string, error) {
	n, err := clean("secret", name, MaxSecretName)
	if err != nil {
		return "", err
	}
	if strings.HasPrefix(n, "/") || strings.HasSuffix(n, "/") || strings.Contains(n, "//") {
		return "", fmt.Errorf("secret name %q has an empty part around '/'; write it like intake/call-log", n)
	}
	return n, nil
}

// Member returns the canonical (NFC) form of a member's display name.
func Member(name string) (string, error) {
	n, err := clean("member", name, MaxMemberName)
	if err != nil {
		return "", err
	}
	if strings.HasPrefix(n, "@") || strings.ContainsAny(n, ",") {
		return "", fmt.Errorf("member name %q may not start with '@' or contain ','; those mark groups and lists", n)
	}
	return n, nil
}

// Group returns the canonical form of a group name (lower case, without a
// leading '@').
func Group(name string) (string, error) {
	n, err := clean("group", strings.TrimPrefix(name, "@"), MaxGroupName)
	if err != nil {
		return "", err
	}
	n = strings.ToLower(n)
	for _, r := range n {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '-' && r != '_' && r != '.' {
			return "", fmt.Errorf("group name %q may only use letters, digits, '-', '_' and '.'", n)
		}
	}
	return n, nil
}

// Vault returns the canonical form of a vault's name.
func Vault(name string) (string, error) { return clean("vault", name, MaxVaultName) }

func clean(what, name string, max int) (string, error) {
	if !utf8.ValidString(name) {
		return "", fmt.Errorf("%s name is not valid UTF-8 text", what)
	}
	n := norm.NFC.String(name)
	count := utf8.RuneCountInString(n)
	if count == 0 {
		return "", fmt.Errorf("%s name is empty", what)
	}
	if count > max {
		return "", fmt.Errorf("%s name is %d characters long; the limit is %d", what, count, max)
	}
	for _, r := range n {
		// Control and invisible format characters (such as right-to-left
		// overrides) would let two names look alike on screen.
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError {
			return "", fmt.Errorf("%s name contains a control or invisible character (%U); use visible characters only", what, r)
		}
	}
	if strings.TrimSpace(n) != n {
		return "", fmt.Errorf("%s name %q starts or ends with a space", what, n)
	}
	return n, nil
}

// Fold returns the key used to compare names regardless of case: the
// case-folded NFC form. ASCII names, the common case, take a fast path
// that gives the same result.
func Fold(name string) string {
	for i := 0; i < len(name); i++ {
		if name[i] >= utf8.RuneSelf {
			return cases.Fold().String(norm.NFC.String(name))
		}
	}
	return strings.ToLower(name)
}

// Field checks one free-text field: its length, and no control characters
// but newlines and tabs (and those only in notes).
func Field(what, s string, max int) error {
	if len(s) > max {
		return fmt.Errorf("the %s is longer than %d bytes", what, max)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("the %s is not valid UTF-8 text", what)
	}
	for _, r := range s {
		if r < 0x20 && r != '\n' && r != '\t' || r == 0x7f {
			return fmt.Errorf("the %s contains a control character", what)
		}
	}
	if what != "note" && strings.ContainsAny(s, "\n") {
		return fmt.Errorf("the %s is one line", what)
	}
	return nil
}

// Fields checks a secret's username, URL and note.
func Fields(username, url, note string) error {
	if err := Field("username", username, MaxUsername); err != nil {
		return err
	}
	if err := Field("URL", url, MaxURL); err != nil {
		return err
	}
	return Field("note", note, MaxNote)
}
