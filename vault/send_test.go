package vault

import (
	"bytes"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"filippo.io/age/armor"

	"github.com/mutual-aid-vault/vault/vault/internal/parcel"
)

// sendGroup is alice, kim and sam; alice keeps airtable (readable by her
// alone), with every field set.
func sendGroup(t *testing.T, kind Kind) *group {
	g := newGroup(t, kind, "alice", "kim", "sam")
	g.do("alice", func(v *Vault) {
		_, err := v.Add(NewSecret{Name: "airtable", Username: "intake@example.org", URL: "https://airtable.example",
			Note: "shared login\nsecond line"}, NewValue([]byte("hunter2-send")))
		if err != nil {
			t.Fatal(err)
		}
	})
	return g
}

// send has from send name's value to to, and returns the message.
func (g *group) send(from, to, name string) Sent {
	g.t.Helper()
	var out Sent
	g.do(from, func(v *Vault) {
		var err error
		if out, err = v.Send(to, name); err != nil {
			g.t.Fatalf("%s sends %s to %s: %v", from, name, to, err)
		}
	})
	return out
}

// receive has name receive msg.
func (g *group) receive(name string, msg []byte) (Received, error) {
	var out Received
	var err error
	g.do(name, func(v *Vault) { out, err = v.Receive(msg) })
	return out, err
}

// TestSendReceive: a reader sends a secret to one member, who gets the
// value, its details and who sent it; a third member cannot open it. The
// message names nothing, and the stock age code opens it with the
// recipient's key alone. For both kinds of key.
func TestSendReceive(t *testing.T) {
	for _, kind := range []Kind{Classic, PostQuantum} {
		t.Run(kind.String(), func(t *testing.T) {
			g := sendGroup(t, kind)
			sent := g.send("alice", "KIM", "Airtable")
			if sent.To != "kim" || sent.Name != "airtable" || sent.Reader {
				t.Fatalf("sent = %+v", sent)
			}
			msg := sent.Message
			if !bytes.HasPrefix(msg, []byte(armor.Header+"\n")) || !bytes.HasSuffix(msg, []byte(armor.Footer+"\n")) {
				t.Fatalf("not armored:\n%s", msg)
			}
			// Long words only: base64 of random bytes holds a given
			// three letters (any case) about once in fifty messages. The
			// field names cannot occur by chance: ':' is not base64.
			for _, word := range []string{"airtable", "hunter2", "intake", "example"} {
				if bytes.Contains(bytes.ToLower(msg), []byte(word)) {
					t.Fatalf("the message shows %q", word)
				}
			}
			for _, field := range []string{"From:", "To:", "Name:", "Vault:", "Username:"} {
				if bytes.Contains(msg, []byte(field)) {
					t.Fatalf("the message shows %q", field)
				}
			}
			got, err := g.receive("kim", msg)
			if err != nil {
				t.Fatal(err)
			}
			if got.From != "alice" || got.Name != "airtable" || got.Username != "intake@example.org" ||
				got.URL != "https://airtable.example" || got.Note != "shared login\nsecond line" ||
				string(got.Value.Bytes()) != "hunter2-send" || !got.Sent.Equal(g.clock.t) {
				t.Fatalf("received %+v (value %q)", got, got.Value.Bytes())
			}
			_, err = g.receive("sam", msg)
			mustIs(t, err, ErrNotReader)
			if !strings.Contains(err.Error(), "this message is not for your key; it was encrypted to someone else") {
				t.Fatalf("sam: %v", err)
			}
			// The sender cannot open it either: it is for kim alone.
			_, err = g.receive("alice", msg)
			mustIs(t, err, ErrNotReader)

			// What 'age -d -i kim's-identity' does.
			rd, err := age.Decrypt(armor.NewReader(bytes.NewReader(msg)), g.ids["kim"].id)
			if err != nil {
				t.Fatal(err)
			}
			pt, _ := io.ReadAll(rd)
			if !bytes.HasPrefix(pt, []byte("vault-send/v1\n")) || !bytes.Contains(pt, []byte("\nFrom: alice\nTo: kim\n")) ||
				!bytes.Contains(pt, []byte("\nName: airtable\n")) || !bytes.HasSuffix(pt, []byte("\n\nhunter2-send")) {
				t.Fatalf("age -d gives:\n%s", pt)
			}
			if len(pt)%parcel.Block != 0 {
				t.Fatalf("plaintext of %d bytes is not padded", len(pt))
			}
		})
	}
}

// TestSendRefuses: only a reader sends, only to a current member, and the
// errors say why.
func TestSendRefuses(t *testing.T) {
	g := sendGroup(t, Classic)
	g.do("alice", func(v *Vault) {
		if _, err := v.Add(NewSecret{Name: "old"}, NewValue([]byte("v"))); err != nil {
			t.Fatal(err)
		}
		if err := v.Remove("old"); err != nil {
			t.Fatal(err)
		}
		if _, err := v.RemoveMember("sam", false, nil); err != nil {
			t.Fatal(err)
		}
	})
	tests := []struct {
		from, to, name string
		want           error
		msg            string
	}{
		{"kim", "alice", "airtable", ErrNotReader, `you are not a reader of "airtable"`},
		{"alice", "sam", "airtable", ErrNoMember, "sam was removed from the vault on 2026-11-26: a send goes to current members only"},
		{"alice", "nobody", "airtable", ErrNoMember, `no member named "nobody"`},
		{"alice", "kim", "nothing", ErrNoSecret, `no secret named "nothing"`},
		{"alice", "kim", "old", ErrInTrash, `"old" is in the trash`},
	}
	for _, tt := range tests {
		g.do(tt.from, func(v *Vault) {
			_, err := v.Send(tt.to, tt.name)
			mustIs(t, err, tt.want)
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("%s sends %s to %s: %v, want %q", tt.from, tt.name, tt.to, err, tt.msg)
			}
		})
	}

	// A recovery key is not a member to send to, and cannot send.
	rec, _ := GenerateIdentity(Classic)
	path := g.path + ".rec"
	v, err := Create(path, CreateOptions{Options: Options{Identity: g.ids["alice"], StateDir: t.TempDir()}, MemberName: "alice",
		PublicKey: g.ids["alice"].PublicKey(), Recovery: []string{rec.PublicKey()}})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	_, err = v.SendValue("recovery", "", NewValue([]byte("v")))
	mustIs(t, err, ErrNoMember)
	if !strings.Contains(err.Error(), `"recovery" is a recovery key, not a member`) {
		t.Fatal(err)
	}
	rv, err := Open(path, Options{Identity: rec, StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer rv.Close()
	_, err = rv.SendValue("alice", "", NewValue([]byte("v")))
	mustIs(t, err, ErrReadOnly)
}

// TestSendValue: anything, with or without a name to offer.
func TestSendValue(t *testing.T) {
	g := sendGroup(t, Classic)
	g.do("sam", func(v *Vault) {
		for _, name := range []string{"", "wifi/guest"} {
			sent, err := v.SendValue("kim", name, NewValue([]byte("guest-pass")))
			if err != nil {
				t.Fatal(err)
			}
			got, err := g.receiveNow("kim", sent.Message)
			if err != nil {
				t.Fatal(err)
			}
			if got.From != "sam" || got.Name != name || got.Username != "" || string(got.Value.Bytes()) != "guest-pass" {
				t.Fatalf("received %+v", got)
			}
		}
		_, err := v.SendValue("kim", "/bad", NewValue([]byte("v")))
		mustIs(t, err, ErrBadName)
		_, err = v.SendValue("kim", "", NewValue(nil))
		mustIs(t, err, ErrInvalid)
		_, err = v.SendValue("kim", "", NewValue(make([]byte, MaxValueSize+1)))
		mustIs(t, err, ErrInvalid)
	})
}

// receiveNow is receive for a test that has the sender's vault open: the
// recipient opens their own machine's copy meanwhile, as another process
// would.
func (g *group) receiveNow(name string, msg []byte) (Received, error) {
	v, err := Open(g.path, g.opts(name))
	if err != nil {
		return Received{}, err
	}
	defer v.Close()
	return v.Receive(msg)
}

// TestSendIsARead: sending and receiving leave the shared file as it was.
func TestSendIsARead(t *testing.T) {
	g := sendGroup(t, Classic)
	g.do("kim", func(*Vault) {}) // kim's machine takes in the vault first
	before, err := os.ReadFile(g.path)
	if err != nil {
		t.Fatal(err)
	}
	info, _ := os.Stat(g.path)
	g.clock.t = g.clock.t.Add(48 * time.Hour)
	sent := g.send("alice", "kim", "airtable")
	if _, err := g.receive("kim", sent.Message); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(g.path)
	info2, _ := os.Stat(g.path)
	if !bytes.Equal(before, after) || !info.ModTime().Equal(info2.ModTime()) {
		t.Fatal("a send or a receive wrote the shared file")
	}
	g.do("alice", func(v *Vault) {
		log, err := v.Log(0)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range log {
			if strings.Contains(e.Summary, "send") || strings.Contains(e.Summary, "sent") {
				t.Fatalf("the log records the send: %+v", e)
			}
		}
	})
}

// seal is what a member could do with the stock tools and their own key:
// encrypt a parcel of their making to someone.
func seal(t *testing.T, p parcel.Parcel, signer *Identity, to *Identity) []byte {
	t.Helper()
	p.Pad()
	sig, err := signer.SignOp(p.Signed(to.Recipient()))
	if err != nil {
		t.Fatal(err)
	}
	p.Signature = sig
	pt, err := p.Encode()
	if err != nil {
		t.Fatal(err)
	}
	rec, err := recipient(to.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	ct, err := ageEncrypt(pt, rec)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	aw := armor.NewWriter(&out)
	aw.Write(ct)
	aw.Close()
	return out.Bytes()
}

// TestReceiveRefusesForgery: a member cannot pass off a message as
// another's: not by naming them as the sender, not by forwarding a message
// sent to them, not from another vault, and not from a removed member.
func TestReceiveRefusesForgery(t *testing.T) {
	g := sendGroup(t, Classic)
	var vaultID string
	g.do("alice", func(v *Vault) {
		info, _ := v.Info()
		vaultID = info.ID
	})
	p := parcel.Parcel{Vault: vaultID, From: "alice", To: "sam", Sent: g.clock.t, Name: "airtable", URL: "https://evil.example",
		Value: []byte("phished")}

	// kim signs a message that says it is from alice.
	_, err := g.receive("sam", seal(t, p, g.ids["kim"], g.ids["sam"]))
	mustIs(t, err, ErrBadMessage)
	if !strings.Contains(err.Error(), "the message says it is from alice, but alice did not sign it for you") {
		t.Fatal(err)
	}

	// kim forwards alice's message to sam: alice signed it for kim.
	sent := g.send("alice", "kim", "airtable")
	ct, err := dearmor(sent.Message)
	if err != nil {
		t.Fatal(err)
	}
	pt, err := openMessage(ct, g.ids["kim"])
	if err != nil {
		t.Fatal(err)
	}
	rec, _ := recipient(g.ids["sam"].Recipient())
	fwd, _ := ageEncrypt(pt, rec)
	_, err = g.receive("sam", fwd)
	mustIs(t, err, ErrBadMessage)

	// alice's own signature, but for another vault.
	other := p
	other.Vault = strings.Repeat("0", 64)
	_, err = g.receive("sam", seal(t, other, g.ids["alice"], g.ids["sam"]))
	mustIs(t, err, ErrOtherVault)

	// Someone who is not a member at all.
	stranger := p
	stranger.From = "mallory"
	_, err = g.receive("sam", seal(t, stranger, g.ids["kim"], g.ids["sam"]))
	mustIs(t, err, ErrBadMessage)
	if !strings.Contains(err.Error(), `"mallory", who is not a member in your copy of the vault`) {
		t.Fatal(err)
	}

	// alice's genuine message, opened after her removal.
	genuine := seal(t, p, g.ids["alice"], g.ids["sam"])
	if _, err := g.receive("sam", genuine); err != nil {
		t.Fatal(err)
	}
	g.do("alice", func(v *Vault) {
		if _, err := v.EditMember("kim", MemberEdit{Admin: new(true)}); err != nil {
			t.Fatal(err)
		}
	})
	g.do("kim", func(v *Vault) {
		if _, err := v.RemoveMember("alice", true, nil); err != nil {
			t.Fatal(err)
		}
	})
	_, err = g.receive("sam", genuine)
	mustIs(t, err, ErrBadMessage)
	if !strings.Contains(err.Error(), "who was removed from the vault on") {
		t.Fatal(err)
	}
}

// TestReceiveDamaged: a message cut short, changed, or not a message at
// all fails with a clear error, never a panic, and never opens; what chat
// programs do to a pasted block (indents, carriage returns, other line
// widths, text around it) does not stop a whole message.
func TestReceiveDamaged(t *testing.T) {
	g := sendGroup(t, Classic)
	msg := string(g.send("alice", "kim", "airtable").Message)
	lines := strings.Split(strings.TrimSuffix(msg, "\n"), "\n")
	body := strings.Join(lines[1:len(lines)-1], "")
	flip := func(s string, i int) string {
		c := byte('A')
		if s[i] == 'A' {
			c = 'B'
		}
		return s[:i] + string(c) + s[i+1:]
	}
	wrap := func(b64 string, width int, indent, eol string) string {
		var sb strings.Builder
		sb.WriteString("here you go:" + eol + indent + armor.Header + eol)
		for len(b64) > 0 {
			n := min(width, len(b64))
			sb.WriteString(indent + b64[:n] + "  " + eol)
			b64 = b64[n:]
		}
		sb.WriteString(indent + armor.Footer + eol + "see you" + eol)
		return sb.String()
	}
	ok := map[string]string{
		"as sent":           msg,
		"re-wrapped, CRLF":  wrap(body, 76, "    ", "\r\n"),
		"one long line":     wrap(body, len(body), "", "\n"),
		"binary age file":   string(mustDearmor(t, msg)),
		"without last line": strings.TrimSuffix(msg, "\n"),
	}
	for name, in := range ok {
		if got, err := g.receive("kim", []byte(in)); err != nil || string(got.Value.Bytes()) != "hunter2-send" {
			t.Errorf("%s: %v", name, err)
		}
	}
	bad := map[string]string{
		"empty":             "",
		"not a message":     "hunter2-send",
		"no footer":         strings.Join(lines[:len(lines)-1], "\n"),
		"cut in half":       wrap(body[:len(body)/2], 64, "", "\n"),
		"last chunk lost":   wrap(body[:len(body)-8], 64, "", "\n"),
		"header changed":    wrap(flip(body, 40), 64, "", "\n"),
		"payload changed":   wrap(flip(body, len(body)-20), 64, "", "\n"),
		"quoted by email":   strings.ReplaceAll(msg, "\n", "\n> "),
		"not base64 at all": armor.Header + "\n!!!!\n" + armor.Footer + "\n",
		"huge":              armor.Header + "\n" + strings.Repeat("A", MaxMessage) + "\n" + armor.Footer + "\n",
	}
	for name, in := range bad {
		_, err := g.receive("kim", []byte(in))
		if err == nil {
			t.Errorf("%s: opened", name)
			continue
		}
		mustIs(t, err, ErrBadMessage)
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: the error quotes the value: %v", name, err)
		}
	}
}

func mustDearmor(t *testing.T, msg string) []byte {
	t.Helper()
	ct, err := dearmor([]byte(msg))
	if err != nil {
		t.Fatal(err)
	}
	return ct
}

// FuzzDearmor feeds arbitrary text to what gathers a message out of a
// paste: it returns an age file or an error, never panics, and never more
// than a message can hold.
func FuzzDearmor(f *testing.F) {
	id, _ := GenerateIdentity(Classic)
	rec, _ := recipient(id.Recipient())
	ct, _ := ageEncrypt([]byte("x"), rec)
	var msg bytes.Buffer
	aw := armor.NewWriter(&msg)
	aw.Write(ct)
	aw.Close()
	f.Add(msg.Bytes())
	f.Add([]byte("text before\n  " + strings.ReplaceAll(msg.String(), "\n", "\r\n  ") + "after"))
	f.Add([]byte(armor.Header + "\n" + armor.Footer))
	f.Add(ct)
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := dearmor(in)
		if err == nil && len(out) > MaxMessage {
			t.Fatalf("gathered %d bytes", len(out))
		}
		if err == nil {
			// Whatever it gathered, opening it fails cleanly or works.
			_, _ = openMessage(out, id)
		}
	})
}
