package naming

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestConfusable(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"airtable", "\u0430irtable", true},      // Cyrillic а
		{"airtable", "AIRTABLE", false},          // the same name, by case: a duplicate, not a look-alike
		{"airtable", "airtabIe", true},           // capital I for l
		{"paypal", "\U0001d52dayp\u0430l", true}, // fraktur p, Cyrillic а
		{"modem", "rnodern", true},               // rn for m
		{"wifi-0", "wifi-O", true},               // zero for O
		{"call-log", "call\u2010log", true},      // hyphen U+2010
		{"café", "cafe\u0301", false},            // the same once normalised
		{"airtable", "airtables", false},         // different names
		{"intake/call-log", "intake-call-log", false},
		{"alex", "alexa", false},
		{"kim", "kirn", true},
		{"bank", "bаnk", true},
	} {
		if got := Confusable(tc.a, tc.b); got != tc.want {
			t.Errorf("Confusable(%q, %q) = %v, want %v (keys %q, %q)", tc.a, tc.b, got, tc.want, LookAlike(tc.a), LookAlike(tc.b))
		}
		if got := Confusable(tc.b, tc.a); got != tc.want {
			t.Errorf("Confusable(%q, %q) = %v, want %v", tc.b, tc.a, got, tc.want)
		}
	}
}

func TestUnlike(t *testing.T) {
	for _, tc := range []struct{ a, b, want string }{
		{"\u0430irtable", "airtable", "Cyrillic U+0430"},
		{"airtabIe", "airtable", "Latin U+0049"},
		{"wifi-0", "wifi-O", "U+0030"},
		{"AIRTABLE", "airtable", "Latin U+0041, Latin U+0049, Latin U+0052, …"},
		{"airtable", "airtable", ""},
	} {
		if got := Unlike(tc.a, tc.b); got != tc.want {
			t.Errorf("Unlike(%q, %q) = %q, want %q", tc.a, tc.b, got, tc.want)
		}
	}
}

// FuzzLookAlike: the keys are stable, names that are the same regardless
// of case have the same first key, and Confusable is symmetric.
func FuzzLookAlike(f *testing.F) {
	for _, s := range []string{"airtable", "\u0430irtable", "rn", "ǅ", "\u0130", "ß", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k := LookAlike(s)
		if k != LookAlike(s) {
			t.Fatalf("LookAlike(%q) is not stable", s)
		}
		if !utf8.ValidString(s) {
			return
		}
		if u := strings.ToUpper(s); Fold(u) == Fold(s) && LookAlike(u)[0] != k[0] {
			t.Fatalf("%q and %q are the same name but have keys %q and %q", s, u, k, LookAlike(u))
		}
		if b := "x" + s; Confusable(s, b) != Confusable(b, s) {
			t.Fatalf("Confusable(%q, %q) is not symmetric", s, b)
		}
	})
}

func TestSimilar(t *testing.T) {
	names := []string{"airtable", "Airtable-Old", "intake/call-log", "bank", "bank/online", "shared-inbox", "slack-admin", "\u0430irtable2"}
	for _, tc := range []struct {
		name string
		want []string
	}{
		{"airtabel", []string{"airtable"}},               // two letters swapped
		{"AIRTABEL", []string{"airtable"}},               // and the case
		{"airtble", []string{"airtable"}},                // one missing
		{"airtable2", []string{"аirtable2", "airtable"}}, // a look-alike first
		{"call-log", []string{"intake/call-log"}},        // the last part
		{"bnak", []string{"bank"}},
		{"shared-inbx", []string{"shared-inbox"}},
		{"zoom", nil},
		{"BANK", nil}, // itself is not a suggestion
		{"a", nil},
	} {
		got := Similar(tc.name, names, 3)
		if len(got) == 0 && len(tc.want) == 0 {
			continue
		}
		if strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("Similar(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"abc", "abc", 0}, {"abc", "acb", 1}, {"abc", "ab", 1}, {"abc", "abd", 1},
		{"kitten", "sitting", 3}, {"ca", "abc", 3}, {"airtabel", "airtable", 1},
	} {
		if got := distance([]rune(tc.a), []rune(tc.b), 5); got != tc.want {
			t.Errorf("distance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
		if got := distance([]rune(tc.a), []rune(tc.b), 0); tc.want > 0 && got != 1 {
			t.Errorf("distance(%q, %q) with limit 0 = %d, want 1", tc.a, tc.b, got)
		}
	}
}
