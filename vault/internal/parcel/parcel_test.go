package parcel

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func sample() Parcel {
	return Parcel{
		Vault: strings.Repeat("ab", 32), From: "alex", To: "kim",
		Sent: time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC),
		Name: "intake/airtable", Username: "intake@example.org", URL: "https://airtable.com",
		Note:      "first line\n  indented\n\nafter a blank line\n",
		Signature: bytes.Repeat([]byte{7}, sigSize),
		Value:     []byte("hunter2\n\nwith: colons\x00and a NUL"),
	}
}

// TestRoundTrip: what Encode writes, Parse reads back as it was, with and
// without the optional fields.
func TestRoundTrip(t *testing.T) {
	bare := sample()
	bare.Name, bare.Username, bare.URL, bare.Note = "", "", "", ""
	unicode := sample()
	unicode.Name, unicode.From, unicode.Note = "café/ünïcødé", "Zoë", "ligne\tavec tab"
	for name, p := range map[string]Parcel{"full": sample(), "bare": bare, "unicode": unicode} {
		t.Run(name, func(t *testing.T) {
			p.Pad()
			b, err := p.Encode()
			if err != nil {
				t.Fatal(err)
			}
			if len(b)%Block != 0 {
				t.Fatalf("encoded length %d is not a multiple of %d", len(b), Block)
			}
			got, err := Parse(b)
			if err != nil {
				t.Fatalf("parse: %v\n%s", err, b)
			}
			if !reflect.DeepEqual(got, p) {
				t.Fatalf("parsed %+v, want %+v", got, p)
			}
		})
	}
}

// TestFormat pins the documented layout: a person reading 'age -d' output
// sees these lines.
func TestFormat(t *testing.T) {
	p := sample()
	p.Note = "two\nlines"
	b, err := p.Encode()
	if err != nil {
		t.Fatal(err)
	}
	want := "vault-send/v1\nVault: " + p.Vault + "\nFrom: alex\nTo: kim\nSent: 2026-11-26T10:00:00Z\nName: intake/airtable\n" +
		"Username: intake@example.org\nURL: https://airtable.com\nNote: two\n lines\nPadding: \nSignature: ed25519 " +
		strings.Repeat("BwcH", 21) + "Bw==\n\n" + string(p.Value)
	if string(b) != want {
		t.Fatalf("encoded\n%q\nwant\n%q", b, want)
	}
}

// TestSignedBindsEverything: the signed message changes with every field,
// the value and the recipient's key.
func TestSignedBindsEverything(t *testing.T) {
	base := sample()
	ref := base.Signed("age1recipient")
	changes := map[string]func(p *Parcel){
		"vault":    func(p *Parcel) { p.Vault = strings.Repeat("cd", 32) },
		"from":     func(p *Parcel) { p.From = "sam" },
		"to":       func(p *Parcel) { p.To = "sam" },
		"sent":     func(p *Parcel) { p.Sent = p.Sent.Add(time.Second) },
		"name":     func(p *Parcel) { p.Name = "other" },
		"username": func(p *Parcel) { p.Username = "" },
		"url":      func(p *Parcel) { p.URL = "https://evil.example" },
		"note":     func(p *Parcel) { p.Note = "x" },
		"padding":  func(p *Parcel) { p.Padding++ },
		"value":    func(p *Parcel) { p.Value = []byte("other") },
	}
	for name, change := range changes {
		p := sample()
		change(&p)
		if bytes.Equal(p.Signed("age1recipient"), ref) {
			t.Errorf("changing %s does not change what is signed", name)
		}
	}
	if bytes.Equal(base.Signed("age1other"), ref) {
		t.Error("the recipient's key is not part of what is signed")
	}
}

// TestParseRefuses: everything but the exact encoding is refused, and the
// errors never quote the parcel.
func TestParseRefuses(t *testing.T) {
	p := sample()
	good, err := p.Encode()
	if err != nil {
		t.Fatal(err)
	}
	s := string(good)
	tests := map[string]string{
		"empty":              "",
		"no magic":           strings.Replace(s, Magic, "vault-send", 1),
		"no blank line":      strings.Replace(s, "\n\n", "\n", 1),
		"crlf":               strings.ReplaceAll(s, "\n", "\r\n"),
		"missing vault":      strings.Replace(s, "Vault: "+p.Vault+"\n", "", 1),
		"missing signature":  strings.Replace(s, "Signature: ", "Signatur: ", 1),
		"upper-case vault":   strings.Replace(s, p.Vault, strings.ToUpper(p.Vault), 1),
		"out of order":       strings.Replace(s, "From: alex\nTo: kim\n", "To: kim\nFrom: alex\n", 1),
		"repeated key":       strings.Replace(s, "From: alex\n", "From: alex\nFrom: alex\n", 1),
		"unknown key":        strings.Replace(s, "From: alex\n", "From: alex\nX-Extra: 1\n", 1),
		"empty name":         strings.Replace(s, "Name: intake/airtable", "Name: ", 1),
		"bad name":           strings.Replace(s, "Name: intake/airtable", "Name: /airtable", 1),
		"space after colon":  strings.Replace(s, "From: alex", "From:  alex", 1),
		"local time":         strings.Replace(s, "2026-11-26T10:00:00Z", "2026-11-26T11:00:00+01:00", 1),
		"fractional seconds": strings.Replace(s, "2026-11-26T10:00:00Z", "2026-11-26T10:00:00.5Z", 1),
		"bad padding":        strings.Replace(s, "Padding: ", "Padding: xx", 1),
		"other algorithm":    strings.Replace(s, "ed25519 ", "mldsa65 ", 1),
		"short signature":    strings.Replace(s, "Bw==", "", 1),
		"signature not last": strings.Replace(s, "\n\n", "\nNote: late\n\n", 1),
		"no value":           s[:strings.Index(s, "\n\n")+2],
		"control in from":    strings.Replace(s, "From: alex", "From: al\x1bex", 1),
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := Parse([]byte(in)); err == nil {
				t.Fatal("accepted")
			} else if strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("the error quotes the value: %v", err)
			}
		})
	}
	if _, err := Parse([]byte("vault-send/v2\nanything")); !errors.Is(err, ErrNewer) {
		t.Fatalf("a later version: %v", err)
	}
}

// TestEncodeRefuses: a parcel Parse would refuse is never written.
func TestEncodeRefuses(t *testing.T) {
	tests := map[string]func(p *Parcel){
		"no signature":    func(p *Parcel) { p.Signature = nil },
		"empty value":     func(p *Parcel) { p.Value = nil },
		"bad vault":       func(p *Parcel) { p.Vault = "xyz" },
		"newline in from": func(p *Parcel) { p.From = "a\nb" },
		"newline in url":  func(p *Parcel) { p.URL = "a\nb" },
		"no time":         func(p *Parcel) { p.Sent = time.Time{} },
		"huge note":       func(p *Parcel) { p.Note = strings.Repeat("n", 5000) },
	}
	for name, change := range tests {
		p := sample()
		change(&p)
		if _, err := p.Encode(); err == nil {
			t.Errorf("%s: encoded", name)
		}
	}
}
