package vault

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/mutual-aid-vault/vault/vault/internal/oplog"
	"github.com/mutual-aid-vault/vault/vault/internal/padme"
)

// A value's age file (and a two-factor seed's) is stored sealed under the
// vault key, padded to its size class: the age file's header names one
// stanza per reader in plain text and its length gives the value's
// length, so stored bare it would tell anyone holding the file both,
// exactly. Sealed, the file shows only the class.
//
// Layout: version (1) | epoch tag (16) | nonce (24) | XChaCha20-Poly1305
// of (the age file's length (4) | the age file | zeros up to the class),
// with sealedValueAD, the epoch and the tag as additional data. The tag
// (oplog.Tag) finds the key without naming the epoch, as in operations. The signed operation names the
// SHA-256 of all of it, so a stored value is checked before it is opened,
// and the bucket key (that hash) says nothing about the age file inside.
// The age file itself is exactly what age wrote: `vault get --ciphertext`
// prints it, and the stock age tool decrypts it.
//
// Values written before the padding (shared file format 3) are bare age
// files, which openValue returns as they are; their hash is in signed
// operations, so they stay bare until re-encrypted.
const (
	sealedValueVersion = 1
	sealedValueHeader  = 1 + 16 + chacha20poly1305.NonceSizeX
	sealedValueAD      = "vault value v1\x00"
	// valueFloor is the smallest stored value: a short password for up to
	// about seven readers (X25519) fits in it, so most of a group's
	// values look alike.
	valueFloor = 1024
)

// ageMagic starts every binary age file.
var ageMagic = []byte("age-encryption.org/v1\n")

// sealValue seals an age file under the vault key of epoch, padded.
func sealValue(ageFile []byte, epoch oplog.EpochID, key, tagKey *[32]byte) ([]byte, error) {
	aead, err := chacha20poly1305.NewX(key[:])
	if err != nil {
		return nil, err
	}
	size := padme.Size(sealedValueHeader+4+len(ageFile)+aead.Overhead(), valueFloor)
	pt := make([]byte, size-sealedValueHeader-aead.Overhead())
	binary.BigEndian.PutUint32(pt, uint32(len(ageFile)))
	copy(pt[4:], ageFile)
	out := make([]byte, sealedValueHeader, size)
	out[0] = sealedValueVersion
	if _, err := rand.Read(out[17:sealedValueHeader]); err != nil {
		return nil, err
	}
	copy(out[1:17], oplog.Tag(tagKey, out[17:sealedValueHeader]))
	return aead.Seal(out, out[17:sealedValueHeader], pt, sealedValueAAD(epoch, out[1:17])), nil
}

func sealedValueAAD(epoch oplog.EpochID, tag []byte) []byte {
	ad := append([]byte(sealedValueAD), epoch[:]...)
	return append(ad, tag...)
}

// openValue returns the age file a stored value holds. The caller has
// checked the stored bytes against the hash a signed operation names, so
// a value that does not open was sealed so by a member, on purpose.
func (k *keyset) openValue(stored []byte) ([]byte, error) {
	if bytes.HasPrefix(stored, ageMagic) {
		return bytes.Clone(stored), nil
	}
	if len(stored) < sealedValueHeader+chacha20poly1305.Overhead+4 || stored[0] != sealedValueVersion {
		return nil, errorf(ErrTampered, "a stored value is neither an age file nor sealed by vault (a member wrote it with another tool)")
	}
	epoch, key := k.Tagged(stored[1:17], stored[17:sealedValueHeader])
	if key == nil {
		return nil, errorf(ErrNotMember, "this value is stored under a vault key you were not given yet; an admin's next change gives it to you")
	}
	aead, err := chacha20poly1305.NewX(key[:])
	if err != nil {
		return nil, err
	}
	pt, err := aead.Open(nil, stored[17:sealedValueHeader], stored[sealedValueHeader:], sealedValueAAD(epoch, stored[1:17]))
	if err != nil {
		return nil, errorf(ErrTampered, "a stored value does not open with the vault key it names (a member sealed it with another tool)")
	}
	n := binary.BigEndian.Uint32(pt)
	if uint64(n) > uint64(len(pt)-4) || !allZero(pt[4+n:]) {
		return nil, errorf(ErrTampered, "a stored value's padding is malformed (a member sealed it with another tool)")
	}
	return pt[4 : 4+n], nil
}

// sealValue seals an age file under the vault's current key.
func (r *reader) sealValue(ageFile []byte) ([]byte, error) {
	key := r.v.keys.epochs[r.auth.Epoch]
	if key == nil {
		return nil, errorf(ErrNotMember, "you do not hold the vault's current key yet; an admin's next change gives it to you")
	}
	return sealValue(ageFile, r.auth.Epoch, key, r.v.keys.tags[r.auth.Epoch])
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
