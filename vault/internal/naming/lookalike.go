package naming

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"unicode"
)

// LookAlike returns the keys under which names that look alike on screen
// are equal: the Unicode skeleton (UTS #39) of the case-folded name, and
// the skeleton of the case-folded skeleton. The first makes "аirtable"
// (with a Cyrillic а) and "AIRTABLE" alike; the second catches a capital I
// for an l ("AirtabIe"), which case folding alone would turn into an i.
// Two names with different [Fold] keys and the same key in either slot
// are confusable: a member could take one for the other.
//
// The skeleton data is Unicode's confusables.txt (golang.org/x/text has
// none), in confusables_table.go. It maps, among others, "rn" to look like "m", "0" like "O"
// and "1" like "l", so "intake1" and "intakel" count as alike: a member
// reading a list could not tell them apart either.
func LookAlike(name string) [2]string {
	f := Fold(name)
	return [2]string{skeleton(f), skeleton(Fold(skeleton(name)))}
}

// Confusable reports whether a and b are different names (not the same
// regardless of case) that look alike; see [LookAlike].
func Confusable(a, b string) bool {
	if Fold(a) == Fold(b) {
		return false
	}
	ka, kb := LookAlike(a), LookAlike(b)
	return ka[0] == kb[0] || ka[1] == kb[1]
}

// Unlike says in a few words what makes name differ from other, which it
// looks like: the characters of name that other lacks, by script and code
// point ("Cyrillic U+0430"), or "" when there are none.
func Unlike(name, other string) string {
	var odd []string
	for _, r := range name {
		if strings.ContainsRune(other, r) || unicode.IsSpace(r) {
			continue
		}
		d := fmt.Sprintf("U+%04X", r)
		if s := script(r); s != "" {
			d = s + " " + d
		}
		if !slices.Contains(odd, d) {
			odd = append(odd, d)
		}
	}
	if len(odd) == 0 {
		return ""
	}
	if len(odd) > 3 {
		odd = append(odd[:3], "…")
	}
	return strings.Join(odd, ", ")
}

// script names the Unicode script of r ("Cyrillic"), or "" for Common
// and Inherited characters (digits, punctuation, combining marks).
func script(r rune) string {
	names := make([]string, 0, len(unicode.Scripts))
	for n := range unicode.Scripts {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if n != "Common" && n != "Inherited" && unicode.Is(unicode.Scripts[n], r) {
			return n
		}
	}
	return ""
}
