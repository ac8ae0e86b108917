package rotation

import (
	"crypto/rand"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"strings"
	"testing"
	"unicode"
)

func TestRulesValidate(t *testing.T) {
	bad := []Rules{
		{Length: 7},
		{Length: 129},
		{Length: 8, Digits: 7},
		{Length: 8, Digits: 6},          // 6 digits + 1 symbol leaves one letter
		{Digits: -1},                    // negative
		{Symbols: "!é"},                 // not ASCII
		{Symbols: "! "},                 // space
		{Symbols: "!a"},                 // a letter: overlaps the letter sets
		{Symbols: "!5"},                 // a digit
		{Symbols: "!!"},                 // repeated
		{Symbols: "\x00"},               // control
		{NoSymbols: true, Symbols: "!"}, // contradictory
	}
	for _, r := range bad {
		t.Run(fmt.Sprintf("%+v", r), func(t *testing.T) {
			if err := r.Validate(); !errors.Is(err, ErrBadRules) {
				t.Fatalf("Validate = %v, want ErrBadRules", err)
			}
			if _, err := r.Generate(rand.Reader); !errors.Is(err, ErrBadRules) {
				t.Fatalf("Generate = %v, want ErrBadRules", err)
			}
		})
	}
	good := []Rules{{}, {Length: 8}, {Length: 128}, {Length: 8, Digits: 5, NoSymbols: true}, {Symbols: "!"}, {Symbols: "$%&"}, {Length: 10, Digits: 4}}
	for _, r := range good {
		if err := r.Validate(); err != nil {
			t.Errorf("Validate(%+v) = %v", r, err)
		}
	}
}

// TestGenerateFollowsRules is a property test over random rules: every
// password has the exact length, only allowed characters, lower and upper
// case letters, the asked number of digits, and symbols unless forbidden.
func TestGenerateFollowsRules(t *testing.T) {
	seed := mrand.Uint64()
	t.Logf("seed %d", seed)
	rng := mrand.New(mrand.NewPCG(seed, 2))
	sets := []string{"", "!", "#$%", DefaultSymbols, "~`!@#$%^&*()_+-={}[]|\\:;\"'<>,.?/"}
	for range 3000 {
		r := Rules{Length: MinLength + rng.IntN(MaxLength-MinLength+1)}
		if rng.IntN(3) == 0 {
			r.Digits = 1 + rng.IntN(r.Length/3)
		}
		if rng.IntN(3) == 0 {
			r.NoSymbols = true
		} else {
			r.Symbols = sets[rng.IntN(len(sets))]
		}
		if r.Validate() != nil {
			continue
		}
		p, err := r.Generate(rand.Reader)
		if err != nil {
			t.Fatalf("%+v: %v", r, err)
		}
		if len(p) != r.Length {
			t.Fatalf("%+v: length %d", r, len(p))
		}
		var lower, upper, digits, symbols int
		for _, c := range p {
			switch {
			case unicode.IsLower(c):
				lower++
			case unicode.IsUpper(c):
				upper++
			case unicode.IsDigit(c):
				digits++
			case strings.ContainsRune(r.symbolSet(), c) && !r.NoSymbols:
				symbols++
			default:
				t.Fatalf("%+v: character %q is not allowed", r, c)
			}
		}
		wantDigits, wantSymbols := r.counts()
		if lower == 0 || upper == 0 || digits != wantDigits || symbols != wantSymbols {
			t.Fatalf("%+v: %d lower, %d upper, %d digits (want %d), %d symbols (want %d)", r, lower, upper, digits, wantDigits, symbols, wantSymbols)
		}
	}
}

// TestGenerateUsesTheReader: the randomness comes only from the reader given.
func TestGenerateUsesTheReader(t *testing.T) {
	seeded := func() *mrand.ChaCha8 { return mrand.NewChaCha8([32]byte{1}) }
	a, err := Rules{}.Generate(seeded())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Rules{}.Generate(seeded())
	if a != b {
		t.Fatal("the same reader gave different passwords")
	}
}

func FuzzRules(f *testing.F) {
	f.Add(24, 0, false, "")
	f.Add(8, 3, false, "!é")
	f.Add(12, 0, true, "")
	f.Fuzz(func(t *testing.T, length, digits int, noSymbols bool, symbols string) {
		r := Rules{Length: length, Digits: digits, NoSymbols: noSymbols, Symbols: symbols}
		if r.Validate() != nil {
			return
		}
		p, err := r.Generate(rand.Reader)
		if err != nil || len(p) != r.length() {
			t.Fatalf("%+v validated but Generate = %q, %v", r, p, err)
		}
	})
}

// TestDescribeWords: one digit is "1 digit", not "1 digits".
func TestDescribeWords(t *testing.T) {
	for _, tc := range []struct {
		r    Rules
		want string
	}{
		{Rules{Length: 16, Digits: 1, NoSymbols: true}, "16 characters, 1 digit, no symbols"},
		{Rules{Length: 16, Digits: 2, NoSymbols: true}, "16 characters, 2 digits, no symbols"},
		{Rules{Length: 8, Symbols: "!"}, "8 characters, 1 digit, symbols from !"}, // the default, one in six
	} {
		if got := tc.r.Describe(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.r, got, tc.want)
		}
	}
	err := Rules{Length: 8, Digits: 6, Symbols: "!#"}.Validate()
	if err == nil || !strings.Contains(err.Error(), "6 digits and 1 symbol leave no room") {
		t.Errorf("Validate: %v", err)
	}
}
