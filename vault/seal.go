package vault

import (
	"bytes"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"filippo.io/age"
	"golang.org/x/crypto/chacha20poly1305"
)

// keyring holds the vault key of the current epoch and the keys derived from
// it. Every member has the vault key, age-encrypted to them separately.
type keyring struct {
	vaultID [16]byte
	epoch   uint32
	key     [32]byte
	seal    [32]byte // XChaCha20-Poly1305 key for records
	names   [32]byte // HMAC-SHA-256 key for secret names in bbolt keys
}

func newKeyring(vaultID [16]byte, epoch uint32) (*keyring, error) {
	var key [32]byte
	if _, err := rand.Read(key[:]); err != nil {
		return nil, err
	}
	return deriveKeyring(vaultID, epoch, key)
}

func deriveKeyring(vaultID [16]byte, epoch uint32, key [32]byte) (*keyring, error) {
	k := &keyring{vaultID: vaultID, epoch: epoch, key: key}
	seal, err := hkdf.Key(sha256.New, key[:], vaultID[:], "vault record seal v1", 32)
	if err != nil {
		return nil, err
	}
	names, err := hkdf.Key(sha256.New, key[:], vaultID[:], "vault name index v1", 32)
	if err != nil {
		return nil, err
	}
	copy(k.seal[:], seal)
	copy(k.names[:], names)
	return k, nil
}

// nameKey returns the bbolt key for a secret name: a keyed hash of its
// case-folded form, so the file does not reveal names and lookups ignore case.
func (k *keyring) nameKey(name string) []byte {
	m := hmac.New(sha256.New, k.names[:])
	m.Write([]byte(foldName(name)))
	return m.Sum(nil)
}

// Envelope layout: version (1) | epoch (4) | nonce (24) | ciphertext+tag.
const (
	envelopeVersion = 1
	envelopeHeader  = 1 + 4 + chacha20poly1305.NonceSizeX
)

// additionalData binds a sealed record to where it lives and to the
// revision the manifest expects, so a record cannot be moved to another key
// or bucket, or replaced by an older copy of itself.
func additionalData(bucket string, key []byte, rev uint64, epoch uint32) []byte {
	ad := make([]byte, 0, 32+len(bucket)+len(key))
	ad = append(ad, "vault record v1\x00"...)
	ad = binary.BigEndian.AppendUint16(ad, uint16(len(bucket)))
	ad = append(ad, bucket...)
	ad = binary.BigEndian.AppendUint16(ad, uint16(len(key)))
	ad = append(ad, key...)
	ad = binary.BigEndian.AppendUint64(ad, rev)
	ad = binary.BigEndian.AppendUint32(ad, epoch)
	return ad
}

// sealRecord encrypts plaintext for bucket/key at revision rev.
func (k *keyring) sealRecord(bucket string, key []byte, rev uint64, plaintext []byte) ([]byte, error) {
	aead, err := chacha20poly1305.NewX(k.seal[:])
	if err != nil {
		return nil, err
	}
	out := make([]byte, envelopeHeader, envelopeHeader+len(plaintext)+aead.Overhead())
	out[0] = envelopeVersion
	binary.BigEndian.PutUint32(out[1:5], k.epoch)
	nonce := out[5:envelopeHeader]
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return aead.Seal(out, nonce, plaintext, additionalData(bucket, key, rev, k.epoch)), nil
}

// errUnseal is what openRecord returns for any record that does not
// authenticate; callers add where it was.
var errUnseal = errors.New("record does not authenticate")

// openRecord decrypts a record sealed by sealRecord, checking that it was
// sealed for bucket/key at revision rev with this epoch's key.
func (k *keyring) openRecord(bucket string, key []byte, rev uint64, sealed []byte) ([]byte, error) {
	if len(sealed) < envelopeHeader+chacha20poly1305.Overhead || sealed[0] != envelopeVersion {
		return nil, errUnseal
	}
	epoch := binary.BigEndian.Uint32(sealed[1:5])
	if epoch != k.epoch {
		return nil, errUnseal
	}
	aead, err := chacha20poly1305.NewX(k.seal[:])
	if err != nil {
		return nil, err
	}
	pt, err := aead.Open(nil, sealed[5:envelopeHeader], sealed[envelopeHeader:], additionalData(bucket, key, rev, epoch))
	if err != nil {
		return nil, errUnseal
	}
	return pt, nil
}

// Key wrap plaintext: magic | vault ID (16) | epoch (4) | key (32).
const wrapMagic = "vault key v1\n"

func (k *keyring) marshalWrap() []byte {
	b := make([]byte, 0, len(wrapMagic)+16+4+32)
	b = append(b, wrapMagic...)
	b = append(b, k.vaultID[:]...)
	b = binary.BigEndian.AppendUint32(b, k.epoch)
	return append(b, k.key[:]...)
}

// parseWrap decodes a key wrap's plaintext and checks it belongs to vaultID.
func parseWrap(b []byte, vaultID [16]byte) (*keyring, error) {
	if len(b) != len(wrapMagic)+16+4+32 || !bytes.HasPrefix(b, []byte(wrapMagic)) {
		return nil, errors.New("malformed vault key")
	}
	b = b[len(wrapMagic):]
	if !bytes.Equal(b[:16], vaultID[:]) {
		return nil, errors.New("vault key belongs to another vault")
	}
	var key [32]byte
	copy(key[:], b[20:])
	return deriveKeyring(vaultID, binary.BigEndian.Uint32(b[16:20]), key)
}

// wrapFor age-encrypts the vault key to one public key.
func (k *keyring) wrapFor(r age.Recipient) ([]byte, error) {
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, r)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(k.marshalWrap()); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// maxWrap caps what is read from a key wrap's plaintext.
const maxWrap = 256

// unwrap tries to open one key wrap with id. It returns (nil, nil) when the
// wrap is not for this identity.
func unwrap(ct []byte, id age.Identity, vaultID [16]byte) (*keyring, error) {
	r, err := age.Decrypt(bytes.NewReader(ct), id)
	if err != nil {
		var noMatch *age.NoIdentityMatchError
		if errors.As(err, &noMatch) {
			return nil, nil
		}
		return nil, err
	}
	pt, err := io.ReadAll(io.LimitReader(r, maxWrap))
	if err != nil {
		return nil, err
	}
	return parseWrap(pt, vaultID)
}

// encryptValue age-encrypts a secret value to the given recipients, in order.
func encryptValue(v Value, rs []age.Recipient) ([]byte, error) {
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, rs...)
	if err != nil {
		return nil, fmt.Errorf("cannot encrypt the value: %w", err)
	}
	if _, err := w.Write(v.Bytes()); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// decryptValue decrypts a value's age file. hint is the index of the
// identity's stanza when known (values are encrypted to readers in a known
// order), which saves trying every stanza; -1 means unknown.
func decryptValue(ct []byte, id age.Identity, hint int) (Value, error) {
	if hint >= 0 {
		id = hintedIdentity{id, hint}
	}
	r, err := age.Decrypt(bytes.NewReader(ct), id)
	if err != nil {
		var noMatch *age.NoIdentityMatchError
		if errors.As(err, &noMatch) {
			return Value{}, errorf(ErrNotReader, "your key cannot decrypt this value")
		}
		return Value{}, err
	}
	b, err := io.ReadAll(io.LimitReader(r, MaxValueSize+1))
	if err != nil {
		return Value{}, err
	}
	if len(b) > MaxValueSize {
		return Value{}, errors.New("stored value is larger than the limit")
	}
	return Value{b: b}, nil
}

// hintedIdentity tries the stanza at index first, then all of them.
type hintedIdentity struct {
	age.Identity
	index int
}

func (h hintedIdentity) Unwrap(stanzas []*age.Stanza) ([]byte, error) {
	if h.index < len(stanzas) {
		key, err := h.Identity.Unwrap(stanzas[h.index : h.index+1])
		if err == nil || !errors.Is(err, age.ErrIncorrectIdentity) {
			return key, err
		}
	}
	return h.Identity.Unwrap(stanzas)
}
