package vault

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"

	"filippo.io/age"

	"github.com/mutual-aid-vault/vault/vault/internal/oplog"
	"github.com/mutual-aid-vault/vault/vault/internal/padme"
)

// keyset is what unlocking gives: the vault key of every epoch this member
// was granted, and (once a replica exists) the key that seals this
// machine's index.
type keyset struct {
	epochs map[oplog.EpochID]*[32]byte
	// tags holds each epoch's tag key (oplog.TagKey), which finds what
	// was sealed under it.
	tags  map[oplog.EpochID]*[32]byte
	local [32]byte
}

var _ oplog.Keys = (*keyset)(nil)

func newKeyset() *keyset {
	return &keyset{epochs: map[oplog.EpochID]*[32]byte{}, tags: map[oplog.EpochID]*[32]byte{}}
}

func (k *keyset) add(e oplog.EpochID, key [32]byte) bool {
	if _, ok := k.epochs[e]; ok {
		return false
	}
	kk := key
	k.epochs[e] = &kk
	k.tags[e] = oplog.TagKey(&kk)
	return true
}

// Key returns the vault key of epoch e, or nil.
func (k *keyset) Key(e oplog.EpochID) *[32]byte { return k.epochs[e] }

// Tagged returns the epoch and key whose tag of nonce is tag, or a nil key.
func (k *keyset) Tagged(tag, nonce []byte) (oplog.EpochID, *[32]byte) {
	for e, tk := range k.tags {
		if hmac.Equal(oplog.Tag(tk, nonce), tag) {
			return e, k.epochs[e]
		}
	}
	return oplog.EpochID{}, nil
}

// sortedEpochs returns the epochs held, in ID order.
func (k *keyset) sortedEpochs() []oplog.EpochID {
	var out []oplog.EpochID
	for e := range k.epochs {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b oplog.EpochID) int { return bytes.Compare(a[:], b[:]) })
	return out
}

// A grant's plaintext: magic | count (2) | count × (epoch (16) | key (32)),
// then zeros up to its size class (grants written before the padding have
// none), so that a grant's size does not count the keys it holds (the
// vault's removals and rekeys): up to 21 keys, all grants look alike.
const grantMagic = "vault keys v1\n"

// grantFloor is the smallest grant plaintext.
const grantFloor = 1024

// maxGrant caps what is read from a grant's plaintext: 4,096 keys and
// their padding (PADMÉ pads by less than an eighth).
const maxGrant = len(grantMagic) + 2 + 4096*48 + 4096*48/8

func (k *keyset) marshalGrant(epochs []oplog.EpochID) []byte {
	b := []byte(grantMagic)
	b = binary.BigEndian.AppendUint16(b, uint16(len(epochs)))
	for _, e := range epochs {
		b = append(b, e[:]...)
		b = append(b, k.epochs[e][:]...)
	}
	return append(b, make([]byte, padme.Size(len(b), grantFloor)-len(b))...)
}

func parseGrant(b []byte) (map[oplog.EpochID][32]byte, error) {
	if !bytes.HasPrefix(b, []byte(grantMagic)) || len(b) < len(grantMagic)+2 {
		return nil, errors.New("malformed key grant")
	}
	b = b[len(grantMagic):]
	n := int(binary.BigEndian.Uint16(b))
	b = b[2:]
	if len(b) < n*48 || !allZero(b[n*48:]) {
		return nil, errors.New("malformed key grant")
	}
	out := make(map[oplog.EpochID][32]byte, n)
	for i := range n {
		var e oplog.EpochID
		var key [32]byte
		copy(e[:], b[i*48:])
		copy(key[:], b[i*48+16:])
		out[e] = key
	}
	return out, nil
}

// grant age-encrypts the keys of epochs to one recipient.
func (k *keyset) grant(to string, epochs []oplog.EpochID) ([]byte, error) {
	r, err := recipient(to)
	if err != nil {
		return nil, err
	}
	return ageEncrypt(k.marshalGrant(epochs), r)
}

// openGrant tries to open a grant with id; it returns (nil, nil) when the
// grant is someone else's.
func openGrant(ct []byte, id age.Identity) (map[oplog.EpochID][32]byte, error) {
	pt, err := ageDecrypt(ct, id, maxGrant)
	if err != nil || pt == nil {
		return nil, err
	}
	return parseGrant(pt)
}

// The local key blob: the keyset age-encrypted to the member's own key,
// kept in the replica so that unlocking takes one decryption. Plaintext:
// magic | local key (32) | grant body.
const localMagic = "vault local keys v1\n"

func (k *keyset) marshalLocal() []byte {
	b := append([]byte(localMagic), k.local[:]...)
	return append(b, k.marshalGrant(k.sortedEpochs())...)
}

func parseLocal(b []byte) (*keyset, error) {
	if !bytes.HasPrefix(b, []byte(localMagic)) || len(b) < len(localMagic)+32 {
		return nil, errors.New("malformed local keys")
	}
	k := newKeyset()
	copy(k.local[:], b[len(localMagic):])
	epochs, err := parseGrant(b[len(localMagic)+32:])
	if err != nil {
		return nil, err
	}
	for e, key := range epochs {
		k.add(e, key)
	}
	return k, nil
}

func randomKey() ([32]byte, error) {
	var k [32]byte
	_, err := rand.Read(k[:])
	return k, err
}

func ageEncrypt(pt []byte, rs ...age.Recipient) ([]byte, error) {
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, rs...)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(pt); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ageDecrypt decrypts an age file with id, reading at most limit bytes;
// it returns (nil, nil) when the file is not for id.
func ageDecrypt(ct []byte, id age.Identity, limit int) ([]byte, error) {
	r, err := age.Decrypt(bytes.NewReader(ct), id)
	if err != nil {
		var noMatch *age.NoIdentityMatchError
		if errors.As(err, &noMatch) {
			return nil, nil
		}
		return nil, err
	}
	pt, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return nil, err
	}
	if len(pt) > limit {
		return nil, fmt.Errorf("larger than %d bytes", limit)
	}
	return pt, nil
}
