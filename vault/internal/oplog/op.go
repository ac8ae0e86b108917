package oplog

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/mutual-aid-vault/vault/vault/internal/padme"
)

// ID names an operation: the SHA-256 of its body.
type ID [32]byte

// String returns the ID in hex.
func (id ID) String() string { return hex.EncodeToString(id[:]) }

// Short returns the first 12 hex digits, for messages.
func (id ID) Short() string { return id.String()[:12] }

// IsZero reports whether id is unset.
func (id ID) IsZero() bool { return id == ID{} }

// MarshalText encodes the ID in hex.
func (id ID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText decodes a hex ID.
func (id *ID) UnmarshalText(b []byte) error { return decodeHex(id[:], b) }

// Compare orders IDs bytewise.
func (id ID) Compare(o ID) int { return bytes.Compare(id[:], o[:]) }

// EpochID names one vault key: random, chosen by the operation that
// issued the key.
type EpochID [16]byte

// String returns the epoch ID in hex.
func (e EpochID) String() string { return hex.EncodeToString(e[:]) }

// MarshalText encodes the epoch ID in hex.
func (e EpochID) MarshalText() ([]byte, error) { return []byte(e.String()), nil }

// UnmarshalText decodes a hex epoch ID.
func (e *EpochID) UnmarshalText(b []byte) error { return decodeHex(e[:], b) }

// NewEpochID returns a random epoch ID.
func NewEpochID() (EpochID, error) {
	var e EpochID
	_, err := rand.Read(e[:])
	return e, err
}

// Member identifies a member (or a recovery key) across the whole log: a
// random ID given when they were added. Eight bytes: every value names
// its readers, so the ID's size is paid once per reader per version; an
// ID already taken is refused by the fold, and two random IDs of a group
// of thousands collide with odds of about one in 2^40.
type Member [8]byte

// String returns the member ID in hex.
func (m Member) String() string { return hex.EncodeToString(m[:]) }

// IsZero reports whether m is unset.
func (m Member) IsZero() bool { return m == Member{} }

// MarshalText encodes the member ID in hex.
func (m Member) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText decodes a hex member ID.
func (m *Member) UnmarshalText(b []byte) error { return decodeHex(m[:], b) }

func decodeHex(dst, b []byte) error {
	if hex.DecodedLen(len(b)) != len(dst) {
		return errors.New("bad id length")
	}
	_, err := hex.Decode(dst, b)
	return err
}

// Body is what an author signs: everything about an operation. Its bytes
// (see marshal) are compact binary: a version byte, the vault ID, the
// epoch, the parents (a count, then each), the author, the time (Unix
// nanoseconds, a varint), the kind and the payload (each with its length
// first).
type Body struct {
	// Vault is the vault's ID (the ID of its first operation); zero in the
	// first operation itself.
	Vault ID `json:"vault"`
	// Epoch is the key epoch the operation is sealed under; binding it
	// here stops an envelope from being re-sealed under another key.
	Epoch EpochID `json:"epoch"`
	// Parents are the heads the author had seen: the operations this one
	// was made on top of, sorted.
	Parents []ID      `json:"parents"`
	Author  Member    `json:"author"`
	At      time.Time `json:"at"`
	Kind    string    `json:"kind"`
	// Payload is the kind's own data, in its wire form.
	Payload []byte `json:"payload"`
}

const bodyVersion = 2

func (b *Body) marshal() []byte {
	out := make([]byte, 0, 128+len(b.Payload)+32*len(b.Parents))
	out = append(out, bodyVersion)
	out = append(out, b.Vault[:]...)
	out = append(out, b.Epoch[:]...)
	out = binary.AppendUvarint(out, uint64(len(b.Parents)))
	for _, p := range b.Parents {
		out = append(out, p[:]...)
	}
	out = append(out, b.Author[:]...)
	out = binary.AppendVarint(out, b.At.UnixNano())
	out = binary.AppendUvarint(out, uint64(len(b.Kind)))
	out = append(out, b.Kind...)
	out = binary.AppendUvarint(out, uint64(len(b.Payload)))
	return append(out, b.Payload...)
}

// Limits that bound what decoding a hostile envelope can cost.
const (
	MaxEnvelope = 1 << 20
	MaxParents  = 256
)

// Op is an operation read from the log: its body decoded, its signatures
// not yet checked (that needs the author's key, which only the state
// knows).
type Op struct {
	ID   ID
	Body Body
	// Raw is the body as signed.
	Raw  []byte
	Sigs []Signature
}

// Signature is one signature over the body.
type Signature struct {
	Alg   byte
	Bytes []byte
}

// Signature algorithms. Only Ed25519 exists today; a post-quantum one
// gets the next number.
const (
	AlgEd25519 byte = 1
)

// Signer signs operation bodies for their author. The private key may live
// in another process (an agent); only the signature comes back.
type Signer interface {
	// SigningKey returns the Ed25519 public key.
	SigningKey() ed25519.PublicKey
	// SignOp returns the Ed25519 signature of msg.
	SignOp(msg []byte) ([]byte, error)
}

const (
	idDomain  = "vault op id v1\x00"
	sigDomain = "vault op signature v1\x00"
)

// IDOf returns the ID of a body as signed.
func IDOf(raw []byte) ID {
	h := sha256.New()
	h.Write([]byte(idDomain))
	h.Write(raw)
	var id ID
	h.Sum(id[:0])
	return id
}

func sigMessage(raw []byte) []byte {
	return append([]byte(sigDomain), raw...)
}

// Sign encodes body, signs it with s and returns the operation.
func Sign(body Body, s Signer) (*Op, error) {
	if len(body.Parents) > MaxParents {
		return nil, fmt.Errorf("an operation can have at most %d parents", MaxParents)
	}
	if body.At.IsZero() || body.Kind == "" || len(body.Kind) > 64 {
		return nil, errors.New("an operation needs a time and a kind")
	}
	for i := 1; i < len(body.Parents); i++ {
		if body.Parents[i-1].Compare(body.Parents[i]) >= 0 {
			return nil, errors.New("an operation's parents must be sorted and unique")
		}
	}
	body.At = time.Unix(0, body.At.UnixNano()).UTC()
	raw := body.marshal()
	sig, err := s.SignOp(sigMessage(raw))
	if err != nil {
		return nil, fmt.Errorf("cannot sign: %w", err)
	}
	return &Op{ID: IDOf(raw), Body: body, Raw: raw, Sigs: []Signature{{Alg: AlgEd25519, Bytes: sig}}}, nil
}

// Verify checks the operation's Ed25519 signature with key.
func (op *Op) Verify(key ed25519.PublicKey) bool {
	if len(key) != ed25519.PublicKeySize {
		return false
	}
	for _, s := range op.Sigs {
		if s.Alg == AlgEd25519 {
			return len(s.Bytes) == ed25519.SignatureSize && ed25519.Verify(key, sigMessage(op.Raw), s.Bytes)
		}
	}
	return false
}

// Envelope layout: version (1) | epoch tag (16) | nonce (24) |
// ciphertext. The plaintext is uvarint(len body) | body | count (1) |
// count × (alg (1) | uvarint(len) | signature), then zeros up to the
// envelope's size class, so that its size says little about what it
// holds: the kind of change, the lengths of names and notes, the number
// of readers. The epoch tag (see [Tag]) lets whoever holds the key find it
// without naming the epoch to anyone else, who would otherwise count the
// vault's keys (its removals) and see which change came in which.
//
// Version 2 envelopes, written before all this, name their epoch in clear
// and are not padded; they are read too.
const (
	envelopeVersion  = 3
	envelopeUnpadded = 2
	envelopeHeader   = 1 + 16 + chacha20poly1305.NonceSizeX
	envelopeAD       = "vault op envelope v1\x00"
	envelopeFloor    = 512
	envelopeOverhead = envelopeHeader + chacha20poly1305.Overhead
)

// ErrUnseal is returned by Open for an envelope that does not authenticate
// under the key given, or that is malformed.
var ErrUnseal = errors.New("operation does not open with this key")

// Keys are the vault keys a member holds.
type Keys interface {
	// Key returns the key of epoch e, or nil.
	Key(e EpochID) *[32]byte
	// Tagged returns the epoch and key whose tag of nonce is tag, or a
	// nil key.
	Tagged(tag, nonce []byte) (EpochID, *[32]byte)
}

// TagKey derives from a vault key the key of its epoch tags.
func TagKey(key *[32]byte) *[32]byte {
	b, _ := hkdf.Key(sha256.New, key[:], nil, "vault epoch tag v1", 32)
	var k [32]byte
	copy(k[:], b)
	return &k
}

// Tag returns the epoch tag of a nonce under a tag key ([TagKey]):
// HMAC-SHA-256, cut to 16 bytes. Without the key, tags look random: two
// envelopes of one epoch cannot be told from two of different epochs.
func Tag(tagKey *[32]byte, nonce []byte) []byte {
	m := hmac.New(sha256.New, tagKey[:])
	m.Write(nonce)
	return m.Sum(nil)[:16]
}

// FindKey returns the epoch and key of keys that an envelope was sealed
// under, or a nil key when keys lack it (or the envelope is malformed).
func FindKey(env []byte, keys Keys) (EpochID, *[32]byte) {
	var e EpochID
	if len(env) < envelopeHeader {
		return e, nil
	}
	switch env[0] {
	case envelopeUnpadded:
		copy(e[:], env[1:17])
		return e, keys.Key(e)
	case envelopeVersion:
		return keys.Tagged(env[1:17], env[17:envelopeHeader])
	}
	return e, nil
}

// Seal encrypts op under key, the vault key of op.Body.Epoch, tagged and
// padded to its size class.
func Seal(op *Op, key *[32]byte) ([]byte, error) { return seal(op, key, true) }

// seal encrypts op under key; with padded false, in the version 2 envelope
// written before padding (which tests need, to check that it is still
// read).
func seal(op *Op, key *[32]byte, padded bool) ([]byte, error) {
	aead, err := chacha20poly1305.NewX(key[:])
	if err != nil {
		return nil, err
	}
	pt := binary.AppendUvarint(nil, uint64(len(op.Raw)))
	pt = append(pt, op.Raw...)
	pt = append(pt, byte(len(op.Sigs)))
	for _, s := range op.Sigs {
		pt = append(pt, s.Alg)
		pt = binary.AppendUvarint(pt, uint64(len(s.Bytes)))
		pt = append(pt, s.Bytes...)
	}
	out := make([]byte, envelopeHeader, envelopeOverhead+len(pt))
	if _, err := rand.Read(out[17:envelopeHeader]); err != nil {
		return nil, err
	}
	if padded {
		// Padded to the size class of the whole envelope, but never
		// past the largest envelope a reader accepts.
		size := padme.Size(envelopeOverhead+len(pt), envelopeFloor)
		if size > MaxEnvelope {
			size = max(MaxEnvelope, envelopeOverhead+len(pt))
		}
		pt = append(pt, make([]byte, size-envelopeOverhead-len(pt))...)
		out[0] = envelopeVersion
		copy(out[1:17], Tag(TagKey(key), out[17:envelopeHeader]))
	} else {
		out[0] = envelopeUnpadded
		copy(out[1:17], op.Body.Epoch[:])
	}
	out = aead.Seal(out, out[17:envelopeHeader], pt, additional(out[0], op.Body.Epoch, out[1:17]))
	if len(out) > MaxEnvelope {
		return nil, fmt.Errorf("operation is larger than %d bytes", MaxEnvelope)
	}
	return out, nil
}

// additional is the associated data of an envelope: the epoch, and in a
// version 3 envelope the version and tag too, so that neither can be
// changed without the envelope failing to open.
func additional(version byte, e EpochID, tag []byte) []byte {
	ad := append([]byte(envelopeAD), e[:]...)
	if version == envelopeUnpadded {
		return ad
	}
	ad = append(ad, version)
	return append(ad, tag...)
}

// Open decrypts an envelope with key, the key of epoch ([FindKey]), and
// decodes the operation. It checks that the body names that epoch; the
// caller checks that the ID it was stored under is the returned op's ID.
func Open(env []byte, epoch EpochID, key *[32]byte) (*Op, error) {
	if len(env) > MaxEnvelope || len(env) < envelopeOverhead || (env[0] != envelopeVersion && env[0] != envelopeUnpadded) {
		return nil, ErrUnseal
	}
	if env[0] == envelopeUnpadded && !bytes.Equal(env[1:17], epoch[:]) {
		return nil, ErrUnseal
	}
	aead, err := chacha20poly1305.NewX(key[:])
	if err != nil {
		return nil, err
	}
	pt, err := aead.Open(nil, env[17:envelopeHeader], env[envelopeHeader:], additional(env[0], epoch, env[1:17]))
	if err != nil {
		return nil, ErrUnseal
	}
	op, err := decodePlaintext(pt, env[0] == envelopeVersion)
	if err != nil {
		return nil, err
	}
	if op.Body.Epoch != epoch {
		return nil, fmt.Errorf("%w: sealed under another epoch than it names", ErrMalformed)
	}
	return op, nil
}

// ErrMalformed is returned for an envelope that opens but whose content is
// not a well-formed operation.
var ErrMalformed = errors.New("malformed operation")

// decodePlaintext decodes an envelope's plaintext; padded says that zeros
// may follow the signatures (and nothing else may).
func decodePlaintext(pt []byte, padded bool) (*Op, error) {
	n, k := binary.Uvarint(pt)
	if k <= 0 || n > uint64(len(pt)-k) {
		return nil, fmt.Errorf("%w: bad body length", ErrMalformed)
	}
	raw := pt[k : k+int(n)]
	rest := pt[k+int(n):]
	op := &Op{Raw: raw, ID: IDOf(raw)}
	if err := decodeBody(raw, &op.Body); err != nil {
		return nil, err
	}
	if len(rest) < 1 {
		return nil, fmt.Errorf("%w: no signatures", ErrMalformed)
	}
	count := int(rest[0])
	rest = rest[1:]
	for range count {
		if len(rest) < 2 {
			return nil, fmt.Errorf("%w: truncated signature", ErrMalformed)
		}
		alg := rest[0]
		l, k := binary.Uvarint(rest[1:])
		if k <= 0 || l > uint64(len(rest)-1-k) {
			return nil, fmt.Errorf("%w: bad signature length", ErrMalformed)
		}
		start := 1 + k
		op.Sigs = append(op.Sigs, Signature{Alg: alg, Bytes: rest[start : start+int(l)]})
		rest = rest[start+int(l):]
	}
	if len(rest) != 0 && (!padded || slices.ContainsFunc(rest, func(b byte) bool { return b != 0 })) {
		return nil, fmt.Errorf("%w: trailing data", ErrMalformed)
	}
	return op, nil
}

func decodeBody(raw []byte, b *Body) error {
	bad := func(what string) error { return fmt.Errorf("%w: %s", ErrMalformed, what) }
	if len(raw) < 1+32+16 || raw[0] != bodyVersion {
		return bad("unknown body version")
	}
	p := raw[1:]
	copy(b.Vault[:], p)
	copy(b.Epoch[:], p[32:])
	p = p[48:]
	n, k := binary.Uvarint(p)
	if k <= 0 || n > MaxParents || n*32 > uint64(len(p)-k) {
		return bad("bad parents")
	}
	p = p[k:]
	b.Parents = make([]ID, n)
	for i := range b.Parents {
		copy(b.Parents[i][:], p)
		p = p[32:]
	}
	if len(p) < len(b.Author) {
		return bad("no author")
	}
	copy(b.Author[:], p)
	p = p[len(b.Author):]
	at, k := binary.Varint(p)
	if k <= 0 || at == 0 {
		return bad("no time")
	}
	b.At = time.Unix(0, at).UTC()
	p = p[k:]
	n, k = binary.Uvarint(p)
	if k <= 0 || n == 0 || n > 64 || n > uint64(len(p)-k) {
		return bad("bad kind")
	}
	b.Kind = string(p[k : k+int(n)])
	p = p[k+int(n):]
	n, k = binary.Uvarint(p)
	if k <= 0 || n != uint64(len(p)-k) {
		return bad("bad payload length")
	}
	b.Payload = p[k:]
	for i := 1; i < len(b.Parents); i++ {
		if b.Parents[i-1].Compare(b.Parents[i]) >= 0 {
			return bad("parents not sorted and unique")
		}
	}
	return nil
}

// Hash is the SHA-256 of a blob: an age file of a value, or of a key grant.
type Hash [32]byte

// HashOf returns the SHA-256 of b.
func HashOf(b []byte) Hash { return sha256.Sum256(b) }

// String returns the hash in hex.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// IsZero reports whether h is unset.
func (h Hash) IsZero() bool { return h == Hash{} }

// MarshalText encodes the hash in hex.
func (h Hash) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText decodes a hex hash.
func (h *Hash) UnmarshalText(b []byte) error { return decodeHex(h[:], b) }
