package display

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestLineAndText(t *testing.T) {
	for _, tc := range []struct {
		name, in, line, text string
	}{
		{"plain", "airtable", "airtable", "airtable"},
		{"other scripts and emoji stay", "café Ωmega 東京 🔑", "café Ωmega 東京 🔑", "café Ωmega 東京 🔑"},
		{"OSC 52 clipboard write", "\x1b]52;c;aHVudGVyMg==\x07", "^[]52;c;aHVudGVyMg==^G", "^[]52;c;aHVudGVyMg==^G"},
		{"title change", "\x1b]0;x\x07", "^[]0;x^G", "^[]0;x^G"},
		{"clear screen", "\x1b[2J", "^[[2J", "^[[2J"},
		{"fake prompt after CR", "ok\rPassphrase: ", "ok^MPassphrase: ", "ok^MPassphrase: "},
		{"newline", "a\nb", "a^Jb", "a\nb"},
		{"tab", "a\tb", "a^Ib", "a^Ib"},
		{"NUL and DEL", "\x00\x7f", "^@^?", "^@^?"},
		{"C1 CSI", "\u009b2J", `\u009b2J`, `\u009b2J`},
		{"C1 NEL", "a\u0085b", `a\u0085b`, `a\u0085b`},
		{"right-to-left override", "abc\u202etxt.exe", `abc\u202etxt.exe`, `abc\u202etxt.exe`},
		{"isolates", "\u2066\u2067\u2068\u2069", `\u2066\u2067\u2068\u2069`, `\u2066\u2067\u2068\u2069`},
		{"zero-width space", "air\u200btable", `air\u200btable`, `air\u200btable`},
		{"byte order mark", "\ufeffx", `\ufeffx`, `\ufeffx`},
		{"line separator", "a\u2028b", `a\u2028b`, `a\u2028b`},
		{"tag character", "a\U000e0041", `a\U000e0041`, `a\U000e0041`},
		{"invalid UTF-8", "a\xffb\xc3", `a\xffb\xc3`, `a\xffb\xc3`},
		{"replacement character stays", "a\ufffdb", "a\ufffdb", "a\ufffdb"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Line(tc.in); got != tc.line {
				t.Errorf("Line(%q) = %q, want %q", tc.in, got, tc.line)
			}
			if got := Text(tc.in); got != tc.text {
				t.Errorf("Text(%q) = %q, want %q", tc.in, got, tc.text)
			}
			if Safe(tc.in) != (tc.in == tc.line) {
				t.Errorf("Safe(%q) = %v", tc.in, Safe(tc.in))
			}
		})
	}
}

func TestJSON(t *testing.T) {
	in := map[string]string{"note": "\x1b]52;c;eA==\x07 \x7f \u009b \u202e \u2066 \u200b \ufeff \U000e0041 ok é"}
	raw, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	got := JSON(raw)
	want := `{"note":"\u001b]52;c;eA==\u0007 \u007f \u009b \u202e \u2066 \u200b \ufeff \udb40\udc41 ok é"}`
	if string(got) != want {
		t.Fatalf("JSON:\n got %s\nwant %s", got, want)
	}
	var back map[string]string
	if err := json.Unmarshal(got, &back); err != nil || back["note"] != in["note"] {
		t.Fatalf("the escaped JSON reads back as %q (%v), want %q", back["note"], err, in["note"])
	}
	plain := []byte(`{"a":"b"}`)
	if got := JSON(plain); &got[0] != &plain[0] {
		t.Error("JSON copied text that needed no escape")
	}
}

// checkShown fails unless out is safe for a terminal: no byte below 0x20
// but an allowed newline, no DEL, no C1 control, no format (bidi,
// invisible) character, and valid UTF-8.
func checkShown(t *testing.T, in, out string, newline bool) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Fatalf("%q rendered as invalid UTF-8 %q", in, out)
	}
	for _, r := range out {
		bad := r < 0x20 && !(newline && r == '\n') || r == 0x7f || r >= 0x80 && r <= 0x9f ||
			unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029'
		if bad {
			t.Fatalf("%q rendered as %q, which holds %U", in, out, r)
		}
	}
}

func FuzzDisplay(f *testing.F) {
	for _, s := range []string{"", "airtable", "\x1b]52;c;x\x07", "a\r\nb", "\u202e\u2066", "\xff\xfe", "\u009b", "\U000e0001", "a\\u202e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		line, text := Line(s), Text(s)
		checkShown(t, s, line, false)
		checkShown(t, s, text, true)
		if strings.Count(text, "\n") != strings.Count(s, "\n") {
			t.Fatalf("Text(%q) = %q changed the number of lines", s, text)
		}
		if Safe(s) != (line == s) {
			t.Fatalf("Safe(%q) = %v but Line gives %q", s, Safe(s), line)
		}
		if !utf8.ValidString(s) {
			return
		}
		raw, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		js := JSON(raw)
		checkShown(t, s, string(js), false)
		var back string
		if err := json.Unmarshal(js, &back); err != nil || back != s {
			t.Fatalf("JSON(%s) = %s reads back as %q (%v)", raw, js, back, err)
		}
	})
}
