package fold

import (
	"strings"
	"testing"

	"github.com/mutual-aid-vault/vault/vault/internal/naming"
)

// Records read back from the change log are checked with the rules typed
// input is checked with (naming.Secret, naming.Member, naming.Group,
// naming.Fields: the functions the vault package calls on what a member
// types). A change that breaks them is refused and reported, never
// applied; these tests pin that the two agree.

// decodedAsTyped reports whether a secret with these fields is accepted
// when read back, and whether typed input would accept it.
func decodedAsTyped(t *testing.T, name, user, url, note string) (decoded, typed bool) {
	t.Helper()
	_, errName := naming.Secret(name)
	typed = errName == nil && naming.Fields(user, url, note) == nil
	raw, err := Encode(KindSecretAdd, SecretAdd{Secret: SecretID{1}, Name: name, Username: user, URL: url, Note: note,
		Value: Value{Blob: Hash{1}, Readers: []MemberID{{1}}}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Decode(KindSecretAdd, raw)
	return err == nil, typed
}

func TestDecodedAsTyped(t *testing.T) {
	for _, tc := range []struct {
		what                  string
		name, user, url, note string
		ok                    bool
	}{
		{"plain", "airtable", "intake@example.org", "https://airtable.com", "the intake base\nsecond line", true},
		{"OSC 52 in a note", "x", "", "", "\x1b]52;c;aHVudGVyMg==\x07", false},
		{"title change in a username", "x", "\x1b]0;x\x07", "", "", false},
		{"clear screen in a URL", "x", "", "https://x/\x1b[2J", "", false},
		{"fake prompt after CR", "x", "", "", "ok\rPassphrase: ", false},
		{"newline in a username", "x", "a\nb", "", "", false},
		{"DEL", "x", "", "", "\x7f", false},
		{"escape in a name", "air\x1b[8mtable", "", "", "", false},
		{"bidi override in a name", "air\u202etable", "", "", "", false},
		{"zero-width space in a name", "air\u200btable", "", "", "", false},
		{"C1 control in a name", "air\u009btable", "", "", "", false},
		{"name too long", strings.Repeat("a", naming.MaxSecretName+1), "", "", "", false},
		{"note too long", "x", "", "", strings.Repeat("a", naming.MaxNote+1), false},
		{"invalid UTF-8", "x", "\xff", "", "", false},
		// Typed input allows these in free text (older versions stored
		// them, and right-to-left text may need them); display escapes
		// them on every screen.
		{"C1 control in a note", "x", "", "", "\u009b2J", true},
		{"bidi override in a note", "x", "", "", "\u202egpj.exe", true},
		{"tab in a note", "x", "", "", "a\tb", true},
	} {
		t.Run(tc.what, func(t *testing.T) {
			decoded, typed := decodedAsTyped(t, tc.name, tc.user, tc.url, tc.note)
			if decoded != typed || decoded != tc.ok {
				t.Fatalf("read back: %v, typed: %v; want both %v", decoded, typed, tc.ok)
			}
		})
	}
}

// FuzzDecodedAsTyped: for any name and fields, the log accepts a secret
// exactly when typed input would; and what it accepts holds no control
// character a terminal acts on (ESC, CR, BEL…), whatever display does.
func FuzzDecodedAsTyped(f *testing.F) {
	f.Add("airtable", "intake@example.org", "https://x", "note\nline")
	f.Add("x", "\x1b]52;c;eA==\x07", "", "")
	f.Add("a\u202eb", "", "", "\u009b2J")
	f.Add("x", "", "", "ok\rPassphrase: ")
	f.Fuzz(func(t *testing.T, name, user, url, note string) {
		decoded, typed := decodedAsTyped(t, name, user, url, note)
		if decoded != typed {
			t.Fatalf("name %q, username %q, URL %q, note %q: read back %v, typed %v", name, user, url, note, decoded, typed)
		}
		if !decoded {
			return
		}
		for _, s := range []string{name, user, url, note} {
			for _, r := range s {
				if r < 0x20 && r != '\n' && r != '\t' || r == 0x7f {
					t.Fatalf("accepted %q, which holds %U", s, r)
				}
			}
		}
		for _, s := range []string{name, user, url} {
			if strings.ContainsAny(s, "\n") {
				t.Fatalf("accepted a one-line field with a newline: %q", s)
			}
		}
	})
}

// FuzzMemberNameAsTyped: a member (and group) name read back is accepted
// exactly when typed input would accept it, in the form the program writes
// it (a group name in lower case).
func FuzzMemberNameAsTyped(f *testing.F) {
	f.Add("alice", "intake")
	f.Add("al\x1bice", "in\u202etake")
	f.Add("@bob", "Intake")
	f.Fuzz(func(t *testing.T, name, group string) {
		_, errName := naming.Member(name)
		c, errGroup := naming.Group(group)
		typed := errName == nil && errGroup == nil && c == group
		raw, err := Encode(KindMemberAdd, MemberAdd{Member: NewMember{ID: MemberID{1}, Name: name, Age: "age1x", Sign: make([]byte, 32), Groups: []string{group}},
			Grant: Grant{To: MemberID{1}, Blob: Hash{2}, Epochs: []EpochID{{3}}}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = Decode(KindMemberAdd, raw)
		if (err == nil) != typed {
			t.Fatalf("member %q in group %q: read back %v, typed %v", name, group, err, typed)
		}
	})
}
