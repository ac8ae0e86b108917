package display

import (
	"bytes"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// Line returns s as it may be shown on one line of a terminal: every
// control, format or separator character, newlines and tabs included, is
// rendered visibly (see the package documentation).
func Line(s string) string { return render(s, false) }

// Text returns s as it may be shown on a terminal in full, over several
// lines: like [Line], except that a newline stays a newline.
func Text(s string) string { return render(s, true) }

// Safe reports whether s would be shown as it is by [Line].
func Safe(s string) bool {
	for _, r := range s {
		if unsafe(r) {
			return false
		}
	}
	return utf8.ValidString(s)
}

// unsafe reports whether a terminal could act on r, or r could hide or
// reorder what is around it.
func unsafe(r rune) bool {
	switch {
	case r < 0x20 || r == 0x7f:
		return true
	case r >= 0x80 && r <= 0x9f:
		return true
	case r == '\u2028' || r == '\u2029':
		return true
	}
	return r >= 0xa0 && unicode.Is(unicode.Cf, r)
}

func render(s string, newlines bool) string {
	if Safe(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n' && newlines:
			b.WriteByte('\n')
		case r < 0x20:
			b.WriteByte('^')
			b.WriteByte(byte(r) + '@')
		case r == 0x7f:
			b.WriteString("^?")
		case unsafe(r):
			if r > 0xffff {
				fmt.Fprintf(&b, `\U%08x`, r)
			} else {
				fmt.Fprintf(&b, `\u%04x`, r)
			}
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// JSON returns the JSON text js with every character a terminal could act
// on written as a \u escape. encoding/json already escapes the C0 controls
// (ESC comes out as \u001b) but leaves DEL, the C1 controls and the
// format characters (such as U+202E) raw. Outside strings JSON is plain
// ASCII, so each such character is inside a string, where the escape
// stands for the same character: a JSON reader gets exactly the text it
// would have got, and a terminal shows it harmlessly. Invalid UTF-8 is
// left alone (encoding/json never writes it).
func JSON(js []byte) []byte {
	i := 0
	for i < len(js) {
		r, size := utf8.DecodeRune(js[i:])
		if r != utf8.RuneError && r >= 0x20 && unsafe(r) {
			break
		}
		i += size
	}
	if i == len(js) {
		return js
	}
	out := bytes.NewBuffer(make([]byte, 0, len(js)+16))
	out.Write(js[:i])
	for i < len(js) {
		r, size := utf8.DecodeRune(js[i:])
		if r != utf8.RuneError && r >= 0x20 && unsafe(r) {
			if r > 0xffff {
				hi, lo := utf16.EncodeRune(r)
				fmt.Fprintf(out, `\u%04x\u%04x`, hi, lo)
			} else {
				fmt.Fprintf(out, `\u%04x`, r)
			}
		} else {
			out.Write(js[i : i+size])
		}
		i += size
	}
	return out.Bytes()
}
