package rotation

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"

	"github.com/sethvargo/go-password/password"
)

// Rules say what a generated password for one site must look like. The zero
// Rules mean the defaults: 24 characters with digits and symbols.
type Rules struct {
	// Length is the number of characters; zero means DefaultLength.
	Length int `json:"length,omitempty"`
	// NoSymbols leaves out symbols, for sites that refuse them.
	NoSymbols bool `json:"no_symbols,omitempty"`
}

// Length limits for generated passwords.
const (
	DefaultLength = 24
	MinLength     = 8
	MaxLength     = 128
)

// ErrBadRules is returned when rules cannot produce a password.
var ErrBadRules = errors.New("invalid password rules")

func (r Rules) length() int {
	if r.Length == 0 {
		return DefaultLength
	}
	return r.Length
}

// Validate reports whether a password can be generated under r.
func (r Rules) Validate() error {
	if n := r.length(); n < MinLength || n > MaxLength {
		return fmt.Errorf("%w: length %d is outside %d to %d", ErrBadRules, n, MinLength, MaxLength)
	}
	return nil
}

// counts returns how many digits and symbols a password under r has: about
// one character in six of each, at least one.
func (r Rules) counts() (digits, symbols int) {
	n := r.length()
	digits = max(1, n/6)
	if !r.NoSymbols {
		symbols = max(1, n/6)
	}
	return digits, symbols
}

// Generate makes a password following r, drawing randomness from rand
// (crypto/rand.Reader in real use). The result always mixes lower and upper
// case letters and digits, and symbols unless r forbids them.
func (r Rules) Generate(rand io.Reader) (string, error) {
	if err := r.Validate(); err != nil {
		return "", err
	}
	g, err := password.NewGenerator(&password.GeneratorInput{Reader: rand})
	if err != nil {
		return "", err
	}
	digits, symbols := r.counts()
	// go-password draws letters from both cases at random; a draw without
	// one of them is vanishingly rare for real lengths, and simply retried.
	for range 1000 {
		p, err := g.Generate(r.length(), digits, symbols, false, true)
		if err != nil {
			return "", fmt.Errorf("cannot generate a password: %w", err)
		}
		if strings.IndexFunc(p, unicode.IsUpper) >= 0 && strings.IndexFunc(p, unicode.IsLower) >= 0 {
			return p, nil
		}
	}
	return "", errors.New("cannot generate a password with both upper and lower case letters")
}
