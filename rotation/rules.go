package rotation

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/sethvargo/go-password/password"
)

// Rules say what a generated password for one site must look like: its
// length, how many digits, whether it has symbols and which ones. The zero
// Rules mean the defaults: 24 characters, about one in six a digit and one
// in six a symbol from DefaultSymbols.
type Rules struct {
	// Length is the number of characters; zero means DefaultLength.
	Length int `json:"length,omitempty"`
	// Digits is how many digits; zero means about one character in six.
	Digits int `json:"digits,omitempty"`
	// NoSymbols leaves symbols out, for sites that refuse them.
	NoSymbols bool `json:"no_symbols,omitempty"`
	// Symbols is the set of symbols the site accepts; empty means
	// DefaultSymbols. Printable ASCII only.
	Symbols string `json:"symbols,omitempty"`
}

// Limits and defaults for generated passwords.
const (
	DefaultLength = 24
	MinLength     = 8
	MaxLength     = 128
	// DefaultSymbols are symbols that sites accept most often and that do
	// not need quoting in a shell or a URL form.
	DefaultSymbols = "!#%+-.:=?@^_~"
)

// ErrBadRules is returned when rules cannot produce a password.
var ErrBadRules = errors.New("invalid password rules")

func (r Rules) length() int {
	if r.Length == 0 {
		return DefaultLength
	}
	return r.Length
}

func (r Rules) symbolSet() string {
	if r.Symbols == "" {
		return DefaultSymbols
	}
	return r.Symbols
}

// counts returns how many digits and symbols a password under r has.
func (r Rules) counts() (digits, symbols int) {
	n := r.length()
	digits = r.Digits
	if digits == 0 {
		digits = max(1, n/6)
	}
	if !r.NoSymbols {
		symbols = max(1, n/6)
	}
	return digits, symbols
}

// Validate reports whether a password can be generated under r, and says
// which rule is wrong if not. It guards go-password's edge cases: its
// counts are exact, it can loop forever when sets overlap and repeats are
// not allowed, and it mishandles sets that are not ASCII.
func (r Rules) Validate() error {
	n := r.length()
	if n < MinLength || n > MaxLength {
		return fmt.Errorf("%w: length %d is outside %d to %d", ErrBadRules, n, MinLength, MaxLength)
	}
	if r.Digits < 0 {
		return fmt.Errorf("%w: digits cannot be negative", ErrBadRules)
	}
	if r.NoSymbols && r.Symbols != "" {
		return fmt.Errorf("%w: a symbol set and no symbols at once", ErrBadRules)
	}
	seen := map[rune]bool{}
	for _, c := range r.Symbols {
		switch {
		case c > 0x7e || c < 0x21:
			return fmt.Errorf("%w: symbols must be printable ASCII characters other than space", ErrBadRules)
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
			return fmt.Errorf("%w: the symbol set holds a letter or digit (%q)", ErrBadRules, c)
		case seen[c]:
			return fmt.Errorf("%w: the symbol set repeats %q", ErrBadRules, c)
		}
		seen[c] = true
	}
	digits, symbols := r.counts()
	// Leave room for at least one lower and one upper case letter.
	if digits+symbols > n-2 {
		return fmt.Errorf("%w: %s and %s leave no room for upper and lower case letters in %s", ErrBadRules, count(digits, "digit"), count(symbols, "symbol"), count(n, "character"))
	}
	return nil
}

// Describe says the rules in a few words, for people.
func (r Rules) Describe() string {
	digits, _ := r.counts()
	s := count(r.length(), "character") + ", " + count(digits, "digit")
	if r.NoSymbols {
		return s + ", no symbols"
	}
	return s + ", symbols from " + r.symbolSet()
}

// Generate makes a password following r, drawing randomness from rand
// (crypto/rand.Reader in real use). The result always has lower and upper
// case letters and digits, and symbols unless r forbids them, and only
// characters the rules allow.
func (r Rules) Generate(rand io.Reader) (string, error) {
	if err := r.Validate(); err != nil {
		return "", err
	}
	g, err := password.NewGenerator(&password.GeneratorInput{
		LowerLetters: password.LowerLetters,
		UpperLetters: password.UpperLetters,
		Digits:       password.Digits,
		Symbols:      r.symbolSet(),
		Reader:       rand,
	})
	if err != nil {
		return "", err
	}
	digits, symbols := r.counts()
	// go-password draws the letters from both cases at random, so a draw
	// may lack one case; retrying is cheap and, for two or more letters,
	// fails a thousand times in a row with probability below 2^-1000.
	for range 1000 {
		p, err := g.Generate(r.length(), digits, symbols, false, true)
		if err != nil {
			return "", fmt.Errorf("cannot generate a password: %w", err)
		}
		if strings.ContainsAny(p, password.UpperLetters) && strings.ContainsAny(p, password.LowerLetters) {
			return p, nil
		}
	}
	return "", errors.New("cannot generate a password with both upper and lower case letters")
}
