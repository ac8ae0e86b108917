// Package parcel is the plaintext of a one-off send ('vault send'): what
// the age message a member pastes into chat decrypts to. Everything that
// says what the message holds (the secret's name and details, who sent it
// and to whom) is in here, so the message itself says nothing readable.
//
// # Format
//
// A parcel is text a person can read after 'age -d': a version line, a few
// "Key: value" lines, a blank line, then the value, byte for byte, with no
// newline after it:
//
//	vault-send/v1
//	Vault: 3f1c…(the vault's ID, 64 hex digits)
//	From: alex
//	To: kim
//	Sent: 2026-11-26T10:00:00Z
//	Name: airtable
//	Username: intake@example.org
//	URL: https://airtable.com
//	Note: first line of the note
//	 second line (each further line starts with one space)
//	Padding: ........
//	Signature: ed25519 BASE64
//
//	the value
//
// The keys come in this order; Name, Username, URL and Note are left out
// when empty (a send of anything read from stdin may have no name).
// Padding is a run of dots that rounds the parcel up to a multiple of
// [Block] bytes, so the length of the message hides the length of what it
// holds. Signature is the sender's Ed25519 signature of [Parcel.Signed]:
// everything above the Signature line and the value, bound to the
// recipient's age public key, so that a recipient who forwards the parcel
// to a third member cannot pass it off as the sender's message to them.
//
// [Parse] accepts exactly what [Parcel.Encode] writes: any other spelling
// of the same parcel is refused, and a parcel that parses encodes back to
// the same bytes.
package parcel

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mutual-aid-vault/vault/vault/internal/naming"
)

// Magic is the first line of a parcel of this version.
const Magic = "vault-send/v1"

// magicPrefix starts the first line of every version of the format.
const magicPrefix = "vault-send/"

// Block is the size parcels are padded to a multiple of.
const Block = 256

// MaxHead bounds the header lines: the longest name, username, URL and
// note fit with room to spare.
const MaxHead = 16 << 10

// maxPadding bounds the Padding line: less than one block is ever needed.
const maxPadding = Block

// sigAlg names the signature algorithm on the Signature line, so that a
// post-quantum signature can be added beside it in a later version.
const sigAlg = "ed25519"

// sigSize is the size of an Ed25519 signature.
const sigSize = 64

// sigDomain starts every message a parcel's signature covers; it keeps a
// send's signature from ever being taken for the signature of a change
// ("vault op signature v1"), which the same key makes.
const sigDomain = "vault send signature v1\x00"

// ErrNewer is returned by [Parse] for a parcel of a later version.
var ErrNewer = errors.New("a later version of the send format")

// Parcel is one send's plaintext.
type Parcel struct {
	// Vault is the ID of the vault the sender and recipient are members
	// of, in hex.
	Vault string
	// From and To are the sender's and recipient's member names.
	From, To string
	// Sent is when it was sent, to the second, in UTC.
	Sent time.Time
	// Name, Username, URL and Note describe the secret sent; all may be
	// empty.
	Name, Username, URL, Note string
	// Padding is the number of dots on the Padding line.
	Padding int
	// Signature is the sender's Ed25519 signature of Signed.
	Signature []byte
	// Value is the secret value.
	Value []byte
}

// line is one header line's key and value.
type line struct{ key, val string }

// fields returns the header lines above Signature, in order.
func (p *Parcel) fields() []line {
	ls := []line{{"Vault", p.Vault}, {"From", p.From}, {"To", p.To}, {"Sent", p.Sent.UTC().Format(time.RFC3339)}}
	for _, l := range []line{{"Name", p.Name}, {"Username", p.Username}, {"URL", p.URL}, {"Note", p.Note}} {
		if l.val != "" {
			ls = append(ls, l)
		}
	}
	return append(ls, line{"Padding", strings.Repeat(".", p.Padding)})
}

// head returns the encoded header: the version line and every header
// line above Signature.
func (p *Parcel) head() []byte {
	var b bytes.Buffer
	b.WriteString(Magic + "\n")
	for _, l := range p.fields() {
		b.WriteString(l.key + ": ")
		// A note's further lines start with a space: the only field that
		// may hold newlines keeps one line per header line.
		b.WriteString(strings.ReplaceAll(l.val, "\n", "\n "))
		b.WriteString("\n")
	}
	return b.Bytes()
}

// sigLineLen is the length of the Signature line, newline included.
var sigLineLen = len("Signature: "+sigAlg+" ") + base64.StdEncoding.EncodedLen(sigSize) + 1

// Pad sets Padding so that the encoded parcel is a multiple of [Block]
// bytes long. Call it before signing.
func (p *Parcel) Pad() {
	p.Padding = 0
	n := len(p.head()) + sigLineLen + 1 + len(p.Value)
	p.Padding = (Block - n%Block) % Block
}

// Signed returns the message the signature covers: the header above the
// Signature line and the value, bound to the recipient's age public key.
func (p *Parcel) Signed(recipient string) []byte {
	head := p.head()
	msg := make([]byte, 0, len(sigDomain)+len(recipient)+len(head)+len(p.Value)+2)
	msg = append(msg, sigDomain...)
	msg = append(msg, recipient...)
	msg = append(msg, 0)
	msg = append(msg, head...)
	msg = append(msg, 0)
	return append(msg, p.Value...)
}

// Encode returns the parcel's bytes. It fails when a field breaks the
// rules [Parse] checks, so that every parcel written can be read.
func (p *Parcel) Encode() ([]byte, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.Write(p.head())
	b.WriteString("Signature: " + sigAlg + " " + base64.StdEncoding.EncodeToString(p.Signature) + "\n\n")
	b.Write(p.Value)
	return b.Bytes(), nil
}

// check applies the rules every field must follow.
func (p *Parcel) check() error {
	if len(p.Vault) != 64 || strings.ToLower(p.Vault) != p.Vault {
		return errors.New("the vault ID is not 64 hex digits")
	}
	if _, err := hex.DecodeString(p.Vault); err != nil {
		return errors.New("the vault ID is not 64 hex digits")
	}
	for _, m := range []struct{ what, name string }{{"sender", p.From}, {"recipient", p.To}} {
		if n, err := naming.Member(m.name); err != nil || n != m.name {
			return fmt.Errorf("the %s's name is not a member name", m.what)
		}
	}
	if p.Sent.IsZero() || p.Sent.Nanosecond() != 0 || p.Sent.Year() < 2000 || p.Sent.Year() > 9999 {
		return errors.New("the time it was sent is missing or out of range")
	}
	if p.Name != "" {
		if n, err := naming.Secret(p.Name); err != nil || n != p.Name {
			return errors.New("the name is not a secret name")
		}
	}
	if err := naming.Fields(p.Username, p.URL, p.Note); err != nil {
		return err
	}
	if p.Padding < 0 || p.Padding > maxPadding {
		return errors.New("the padding is too long")
	}
	if len(p.Signature) != sigSize {
		return errors.New("the signature is missing")
	}
	if len(p.Value) == 0 {
		return errors.New("the value is empty")
	}
	if len(p.head())+sigLineLen > MaxHead {
		return errors.New("the header is too long")
	}
	return nil
}

// Parse reads a parcel. It accepts exactly what [Parcel.Encode] writes;
// its errors never quote the parcel, which holds a secret.
func Parse(b []byte) (Parcel, error) {
	first, rest, ok := bytes.Cut(b, []byte("\n"))
	if !ok || string(first) != Magic {
		if bytes.HasPrefix(first, []byte(magicPrefix)) {
			return Parcel{}, ErrNewer
		}
		return Parcel{}, errors.New("it does not start with " + Magic)
	}
	end := bytes.Index(rest, []byte("\n\n"))
	if end < 0 || end+1 > MaxHead {
		return Parcel{}, errors.New("its header does not end with a blank line")
	}
	lines := strings.Split(string(rest[:end+1]), "\n")
	lines = lines[:len(lines)-1] // the empty string after the last newline
	var p Parcel
	var sig string
	seen := map[string]bool{}
	order := []string{"Vault", "From", "To", "Sent", "Name", "Username", "URL", "Note", "Padding", "Signature"}
	next := 0
	for i := 0; i < len(lines); i++ {
		key, val, ok := strings.Cut(lines[i], ": ")
		if !ok {
			return Parcel{}, fmt.Errorf("header line %d is not 'Key: value'", i+2)
		}
		pos := -1
		for j := next; j < len(order); j++ {
			if order[j] == key {
				pos = j
				break
			}
		}
		if pos < 0 || seen[key] {
			return Parcel{}, fmt.Errorf("header line %d has an unknown, repeated or misplaced key", i+2)
		}
		seen[key], next = true, pos+1
		if key == "Note" {
			for i+1 < len(lines) && strings.HasPrefix(lines[i+1], " ") {
				i++
				val += "\n" + lines[i][1:]
			}
		}
		switch key {
		case "Vault":
			p.Vault = val
		case "From":
			p.From = val
		case "To":
			p.To = val
		case "Sent":
			t, err := time.Parse(time.RFC3339, val)
			if err != nil || t.UTC().Format(time.RFC3339) != val {
				return Parcel{}, errors.New("the Sent line is not a time like 2026-11-26T10:00:00Z")
			}
			p.Sent = t.UTC()
		case "Name":
			p.Name = val
		case "Username":
			p.Username = val
		case "URL":
			p.URL = val
		case "Note":
			p.Note = val
		case "Padding":
			if strings.Trim(val, ".") != "" {
				return Parcel{}, errors.New("the Padding line holds something other than dots")
			}
			p.Padding = len(val)
		case "Signature":
			if i != len(lines)-1 {
				return Parcel{}, errors.New("the Signature line is not the last header line")
			}
			sig = val
		}
	}
	for _, k := range []string{"Vault", "From", "To", "Sent", "Padding", "Signature"} {
		if !seen[k] {
			return Parcel{}, fmt.Errorf("the %s line is missing", k)
		}
	}
	alg, enc, _ := strings.Cut(sig, " ")
	if alg != sigAlg {
		return Parcel{}, errors.New("the signature is not an " + sigAlg + " signature")
	}
	s, err := base64.StdEncoding.Strict().DecodeString(enc)
	if err != nil || len(s) != sigSize {
		return Parcel{}, errors.New("the signature is damaged")
	}
	p.Signature = s
	p.Value = append([]byte(nil), rest[end+2:]...)
	if err := p.check(); err != nil {
		return Parcel{}, err
	}
	// Every rule above is about one line; this one holds them together:
	// the parcel is spelled exactly as Encode spells it.
	again, err := p.Encode()
	if err != nil || !bytes.Equal(again, b) {
		return Parcel{}, errors.New("it is not written the way vault writes parcels")
	}
	return p, nil
}
