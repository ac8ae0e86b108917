package vault

import (
	"errors"
	"strings"
	"testing"
	"unicode"

	"github.com/mutual-aid-vault/vault/vault/display"
	"github.com/mutual-aid-vault/vault/vault/internal/fold"
)

// TestHostileRecord: a member who writes the shared file with other tools
// signs a secret whose note carries terminal escapes (OSC 52 writes the
// clipboard, a title change, clear-screen, a fake prompt after a carriage
// return), and an edit that puts one in a username. What is read back is
// checked with the rules typed input is checked with: both changes are
// refused and reported, never shown; the refusal, as the warning and the
// log word it, quotes none of the escapes. A record with what typed input
// does allow (C1 controls and bidi overrides in a note) is kept as it is,
// and display renders it harmless.
func TestHostileRecord(t *testing.T) {
	g := newForgeryGroup(t)
	sam := g.insider("sam")
	hostile := "line " + "\x1b]52;c;aHVudGVyMg==\x07" + "\x1b]0;x\x07" + "\x1b[2J" + "\rPassphrase: "
	fv, blobs := sam.value("pw", "sam")
	sam.forge(fold.KindSecretAdd, fold.SecretAdd{Secret: fold.SecretID{1}, Name: "evil", Note: hostile, Value: fv,
		Share: fold.Share{Members: []fold.MemberID{sam.me}}}, fold.MemberID{}, nil, nil, blobs)
	bank := g.secretID("alice", "bank")
	user := "carol\x1b[8m"
	sam.forge(fold.KindSecretEdit, fold.SecretEdit{Secret: bank, Username: &user}, fold.MemberID{}, nil, nil, nil)
	odd := "c1 \u009b2J bidi \u202egpj.exe\u202c"
	fv2, blobs2 := sam.value("pw2", "sam")
	sam.forge(fold.KindSecretAdd, fold.SecretAdd{Secret: fold.SecretID{2}, Name: "odd", Note: odd, Value: fv2,
		Share: fold.Share{Members: []fold.MemberID{sam.me}}}, fold.MemberID{}, nil, nil, blobs2)

	v := g.mustWarnRefused("alice", "control character")
	if _, err := v.Get("evil"); !errors.Is(err, ErrNoSecret) {
		t.Fatalf("the secret with escapes in its note: %v, want it refused", err)
	}
	if s, _ := v.Get("bank"); s.Username != "" {
		t.Fatalf("bank's username = %q, want the forged edit refused", s.Username)
	}
	events, err := v.Log(0)
	if err != nil {
		t.Fatal(err)
	}
	var rejected int
	texts := append([]string(nil), v.Warnings()...)
	for _, e := range events {
		if e.Rejected != "" {
			rejected++
		}
		texts = append(texts, e.Actor, e.Action, e.Target, e.Detail, e.Summary, e.Rejected)
	}
	if rejected != 2 {
		t.Fatalf("%d changes refused in the log, want 2: %+v", rejected, events)
	}
	for _, s := range texts {
		if strings.ContainsAny(s, "\x1b\x07\r") {
			t.Fatalf("a report quotes the escapes: %q", s)
		}
	}
	s, err := v.Get("odd")
	if err != nil || s.Note != odd {
		t.Fatalf("odd = %+v, %v; want it kept as it is", s, err)
	}
	for _, r := range display.Text(s.Note) {
		if r < 0x20 && r != '\n' || r >= 0x80 && r <= 0x9f || unicode.Is(unicode.Cf, r) {
			t.Fatalf("display.Text(%q) holds %U", s.Note, r)
		}
	}
}
