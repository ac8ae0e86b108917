package vault

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"io"
	"slices"
	"time"

	"filippo.io/age"
	"filippo.io/age/armor"

	"github.com/mutual-aid-vault/vault/vault/internal/fold"
	"github.com/mutual-aid-vault/vault/vault/internal/naming"
	"github.com/mutual-aid-vault/vault/vault/internal/parcel"
)

// One-off sends: one value handed to one member as an age message, armored
// to paste into chat. The message is encrypted to the recipient's age key
// alone (not to the vault's recovery keys: it is not part of the vault),
// and everything that says what it holds is inside it (internal/parcel),
// signed by the sender. A send is a read: it writes nothing, to the shared
// file or to the change log.

// MaxMessage bounds the text [Vault.Receive] reads: the largest message
// [Vault.Send] writes is about a third of it, and the rest leaves room for
// what a chat program adds around a pasted message.
const MaxMessage = 256 << 10

// maxParcel bounds a message's plaintext.
const maxParcel = MaxValueSize + parcel.MaxHead + parcel.Block

// Sent is a message [Vault.Send] or [Vault.SendValue] wrote.
type Sent struct {
	// Message is the age message in age's ASCII armor: it says nothing
	// readable about what it holds, and only the recipient's key opens it.
	Message []byte
	// To is the recipient's name as the vault spells it.
	To string
	// Name is the name the recipient is offered to store it under; empty
	// for a value sent without one.
	Name string
	// Reader reports whether the recipient can already read the secret in
	// the vault ('vault get' gives it to them).
	Reader bool
}

// Received is a message [Vault.Receive] opened.
type Received struct {
	// From is the sender's member name, checked against their signature.
	From string
	// Sent is when it was sent, by the sender's clock.
	Sent time.Time
	// Name, Username, URL and Note describe the secret sent, as the
	// sender's vault had them; Name is empty for a value sent without one.
	Name, Username, URL, Note string
	// Value is the value sent.
	Value Value
}

// Send writes a message holding the current value of the secret name (and
// its name, username, URL and note) for the member to alone. Only a
// reader of the secret may send it, as only a reader may get it. The
// two-factor seed, if any, is not sent.
func (v *Vault) Send(to, name string) (Sent, error) {
	var out Sent
	err := v.view(func(r *reader) error {
		from, err := r.sender()
		if err != nil {
			return err
		}
		m, err := r.sendTarget(to)
		if err != nil {
			return err
		}
		s, ver, err := r.readableVersion(name, 0)
		if err != nil {
			return err
		}
		val, err := r.decrypt(ver)
		if err != nil {
			return err
		}
		defer val.Wipe()
		p := parcel.Parcel{Name: s.Name, Username: s.Username, URL: s.URL, Note: s.Note, Value: val.Bytes()}
		if out.Message, err = v.seal(r, from, m, p); err != nil {
			return err
		}
		out.To, out.Name, out.Reader = m.Name, s.Name, slices.Contains(ver.Readers, m.ID)
		return nil
	})
	return out, err
}

// SendValue writes a message holding val for the member to alone: any
// value, not one from the vault. name, if not empty, is the name the
// recipient is offered to store it under.
func (v *Vault) SendValue(to, name string, val Value) (Sent, error) {
	if err := val.validate(); err != nil {
		return Sent{}, err
	}
	if name != "" {
		n, err := CleanSecretName(name)
		if err != nil {
			return Sent{}, err
		}
		name = n
	}
	var out Sent
	err := v.view(func(r *reader) error {
		from, err := r.sender()
		if err != nil {
			return err
		}
		m, err := r.sendTarget(to)
		if err != nil {
			return err
		}
		if out.Message, err = v.seal(r, from, m, parcel.Parcel{Name: name, Value: val.Bytes()}); err != nil {
			return err
		}
		out.To, out.Name = m.Name, name
		return nil
	})
	return out, err
}

// CheckSend reports whether a send to the member to would be accepted,
// before anything is read: callers use it to refuse a wrong recipient
// before asking for the value.
func (v *Vault) CheckSend(to string) error {
	return v.view(func(r *reader) error {
		if _, err := r.sender(); err != nil {
			return err
		}
		_, err := r.sendTarget(to)
		return err
	})
}

// sender returns the acting member, who signs what they send.
func (r *reader) sender() (*fold.Member, error) {
	me := r.me()
	switch {
	case r.v.recovery:
		return nil, errorf(ErrReadOnly, "a recovery key cannot send: a send is signed by the member who sends it; use your own key")
	case me == nil || !me.Active():
		return nil, errorf(ErrNotMember, "you are not a member of this vault")
	case r.v.signer == nil:
		return nil, errorf(ErrReadOnly, "this identity cannot sign, and a send is signed by the member who sends it")
	}
	return me, nil
}

// sendTarget returns the member a send goes to: a current member, never a
// removed one or a recovery key.
func (r *reader) sendTarget(name string) (*fold.Member, error) {
	if m := r.auth.ByName(name); m != nil {
		return m, nil
	}
	want := naming.Fold(name)
	for _, m := range r.auth.Members {
		if naming.Fold(m.Name) != want {
			continue
		}
		if m.Recovery {
			return nil, errorf(ErrNoMember, "%q is a recovery key, not a member: a send goes to one member's own key", m.Name)
		}
		if m.Removed != nil {
			return nil, errorf(ErrNoMember, "%s was removed from the vault on %s: a send goes to current members only", m.Name, m.Removed.At.UTC().Format(time.DateOnly))
		}
	}
	return nil, errorf(ErrNoMember, "no member named %q", name)
}

// seal fills in the parcel's envelope fields, signs it for the recipient,
// and encrypts it to the recipient's age key alone, armored.
func (v *Vault) seal(r *reader, from, to *fold.Member, p parcel.Parcel) ([]byte, error) {
	rec, err := recipient(to.Age)
	if err != nil {
		return nil, errorf(ErrTampered, "member %q has a malformed key", to.Name)
	}
	p.Vault, p.From, p.To, p.Sent = v.vaultID.String(), from.Name, to.Name, r.now.UTC().Truncate(time.Second)
	p.Pad()
	if p.Signature, err = v.signer.SignOp(p.Signed(to.Age)); err != nil {
		return nil, err
	}
	pt, err := p.Encode()
	if err != nil {
		return nil, errorf(ErrInvalid, "cannot send it: %v", err)
	}
	defer clear(pt)
	ct, err := ageEncrypt(pt, rec)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	aw := armor.NewWriter(&out)
	if _, err := aw.Write(ct); err != nil {
		return nil, err
	}
	if err := aw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// Receive opens a message [Vault.Send] wrote for the member whose key
// opened the vault, and checks that the member it names as its sender
// signed it for them. msg is the armored message, with whatever a chat
// program added around it or to its lines (indents, spaces, a changed
// line width), or the binary age file. A message for another key fails
// with [ErrNotReader]; a damaged, changed, forged or forwarded one with
// [ErrBadMessage]; one from another vault with [ErrOtherVault]. Receive
// writes nothing.
func (v *Vault) Receive(msg []byte) (Received, error) {
	ct, err := dearmor(msg)
	if err != nil {
		return Received{}, err
	}
	pt, err := openMessage(ct, v.identity)
	if err != nil {
		return Received{}, err
	}
	defer clear(pt)
	p, err := parcel.Parse(pt)
	if errors.Is(err, parcel.ErrNewer) {
		return Received{}, errorf(ErrBadMessage, "the message was written by a newer version of vault; upgrade vault to receive it")
	}
	if err != nil {
		return Received{}, errorf(ErrBadMessage, "the message opened but what it holds is not a send from vault (%v); ask the sender to send it again with 'vault send'", err)
	}
	defer clear(p.Value)
	if len(p.Value) > MaxValueSize {
		return Received{}, errorf(ErrBadMessage, "the value in the message is larger than %d KiB, which vault never sends", MaxValueSize>>10)
	}
	err = v.view(func(r *reader) error {
		me := r.me()
		if me == nil || !me.Active() {
			return errorf(ErrNotMember, "you are not a member of this vault")
		}
		if p.Vault != v.vaultID.String() {
			return errorf(ErrOtherVault, "the message was sent from another vault than %s; receive it with --vault pointing at the vault you share with %s", v.path, p.From)
		}
		from := r.auth.ByName(p.From)
		if from == nil {
			for _, m := range r.auth.Members {
				if m.Removed != nil && !m.Recovery && naming.Fold(m.Name) == naming.Fold(p.From) {
					return errorf(ErrBadMessage, "the message says it is from %s, who was removed from the vault on %s; do not use it, and ask a current member to send it again", m.Name, m.Removed.At.UTC().Format(time.DateOnly))
				}
			}
			return errorf(ErrBadMessage, "the message says it is from %q, who is not a member in your copy of the vault; if they were added recently, run 'vault sync' and try again, and otherwise do not trust it", p.From)
		}
		if len(from.Sign) != ed25519.PublicKeySize || !ed25519.Verify(from.Sign, p.Signed(me.Age), p.Signature) {
			return errorf(ErrBadMessage, "the message says it is from %s, but %s did not sign it for you: it was forged, or forwarded by someone else; do not use it, and tell your admins", from.Name, from.Name)
		}
		return nil
	})
	if err != nil {
		return Received{}, err
	}
	return Received{From: p.From, Sent: p.Sent, Name: p.Name, Username: p.Username, URL: p.URL, Note: p.Note,
		Value: NewValue(p.Value)}, nil
}

// dearmor returns the age file in msg: the first armored block in it, or
// msg itself when it is a binary age file. A chat program may indent a
// pasted block, add spaces or carriage returns to its lines, or wrap them
// at another width; the base64 inside is the same, so it is gathered and
// wrapped again as age's strict armor reader wants it.
func dearmor(msg []byte) ([]byte, error) {
	if len(msg) > MaxMessage {
		return nil, errorf(ErrBadMessage, "that is larger than any message 'vault send' writes (%d KiB at most)", MaxMessage>>10)
	}
	if bytes.HasPrefix(msg, []byte("age-encryption.org/")) {
		return msg, nil
	}
	begin := bytes.Index(msg, []byte(armor.Header))
	if begin < 0 {
		return nil, errorf(ErrBadMessage, "no message found: a message starts with the line %s; paste all of it", armor.Header)
	}
	body := msg[begin+len(armor.Header):]
	end := bytes.Index(body, []byte(armor.Footer))
	if end < 0 {
		return nil, errorf(ErrBadMessage, "the message is cut short: its last line, %s, is missing; paste all of it", armor.Footer)
	}
	b64 := make([]byte, 0, end)
	for _, c := range body[:end] {
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '+', c == '/', c == '=':
			b64 = append(b64, c)
		case c == ' ', c == '\t', c == '\r', c == '\n':
		default:
			return nil, errorf(ErrBadMessage, "the message holds characters that are not part of one; copy it again, from its first line to its last")
		}
	}
	var canon bytes.Buffer
	canon.WriteString(armor.Header + "\n")
	for len(b64) > 0 {
		n := min(len(b64), 64)
		canon.Write(b64[:n])
		canon.WriteByte('\n')
		b64 = b64[n:]
	}
	canon.WriteString(armor.Footer + "\n")
	ct, err := io.ReadAll(io.LimitReader(armor.NewReader(&canon), MaxMessage))
	if err != nil {
		return nil, errorf(ErrBadMessage, "the message is damaged (some of it is missing or was changed); ask the sender to send it again")
	}
	return ct, nil
}

// openMessage decrypts an age file with id, reading at most maxParcel
// bytes of plaintext. age authenticates every chunk and the end of the
// file, so a changed or cut message fails here.
func openMessage(ct []byte, id age.Identity) ([]byte, error) {
	rd, err := age.Decrypt(bytes.NewReader(ct), id)
	if err != nil {
		var noMatch *age.NoIdentityMatchError
		if errors.As(err, &noMatch) {
			return nil, errorf(ErrNotReader, "this message is not for your key; it was encrypted to someone else (ask the sender to send it to you with 'vault send')")
		}
		if errors.Is(err, ErrAgentLocked) || errors.Is(err, ErrNoAgent) {
			return nil, err
		}
		return nil, errorf(ErrBadMessage, "the message is damaged or was changed on the way; ask the sender to send it again")
	}
	pt, err := io.ReadAll(io.LimitReader(rd, maxParcel+1))
	if err != nil {
		clear(pt)
		return nil, errorf(ErrBadMessage, "the message is damaged, cut short or was changed on the way; ask the sender to send it again")
	}
	if len(pt) > maxParcel {
		clear(pt)
		return nil, errorf(ErrBadMessage, "the message holds more than 'vault send' ever sends")
	}
	return pt, nil
}
