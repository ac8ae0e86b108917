package vault

import (
	"errors"
	"strings"
	"testing"
)

// TestKeyLineTypo: a key line with one character wrong, missing or extra
// (age's bech32 checksum catches each) gets a message that says so and
// what to do, never the line itself.
func TestKeyLineTypo(t *testing.T) {
	for _, kind := range []Kind{Classic, PostQuantum} {
		id, err := GenerateIdentity(kind)
		if err != nil {
			t.Fatal(err)
		}
		line := id.PublicKey()
		agePart, signPart, _ := strings.Cut(line, signTag)
		want := map[Kind]int{Classic: x25519KeyLen, PostQuantum: pqKeyLen}[kind]
		if len(agePart) != want {
			t.Fatalf("%s keys are %d characters long, not %d", kind, len(agePart), want)
		}
		if _, err := ParseMemberKey(line); err != nil {
			t.Fatal(err)
		}
		swap := func(s string, i int) string {
			c := byte('q')
			if s[i] == 'q' {
				c = 'p'
			}
			return s[:i] + string(c) + s[i+1:]
		}
		for _, tc := range []struct{ name, line, want string }{
			{"a wrong letter", swap(agePart, 20) + signTag + signPart, "the key line has a wrong or missing character; copy it again"},
			{"a missing letter", agePart[:20] + agePart[21:] + signTag + signPart, "the key line has a wrong or missing character; copy it again"},
			{"an extra letter", agePart[:20] + "q" + agePart[20:] + signTag + signPart, "the key line has a wrong or missing character; copy it again"},
			{"the last letter", swap(agePart, len(agePart)-1) + signTag + signPart, "the key line has a wrong or missing character; copy it again"},
			{"a missing letter in the signing key", agePart + signTag + signPart[1:], "the signing part of the key line (after \":ed25519:\") has a wrong or missing character; copy it again"},
			{"cut in half", agePart[:len(agePart)/2], "not a valid"},
		} {
			t.Run(string(kind)+"/"+tc.name, func(t *testing.T) {
				_, err := ParseMemberKey(tc.line)
				if !errors.Is(err, ErrBadKey) || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("got %v, want %q", err, tc.want)
				}
				if strings.Contains(err.Error(), agePart[4:20]) {
					t.Fatalf("the message repeats the key: %v", err)
				}
			})
		}
	}
}
