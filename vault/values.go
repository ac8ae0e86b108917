package vault

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"

	"filippo.io/age"

	"github.com/mutual-aid-vault/vault/vault/internal/fold"
	"github.com/mutual-aid-vault/vault/vault/internal/oplog"
)

// recipients returns the age recipients a value for people is encrypted
// to, and the reader list in stanza order: the people, then the vault's
// recovery keys.
func (r *reader) recipients(people []fold.MemberID) ([]age.Recipient, []fold.MemberID, error) {
	var rs []age.Recipient
	var ids []fold.MemberID
	add := func(m *fold.Member) error {
		rec, err := recipient(m.Age)
		if err != nil {
			return errorf(ErrTampered, "member %q has a malformed key", m.Name)
		}
		rs = append(rs, rec)
		ids = append(ids, m.ID)
		return nil
	}
	for _, id := range people {
		m := r.auth.Member(id)
		if m == nil || !m.Active() || m.Recovery {
			continue
		}
		if err := add(m); err != nil {
			return nil, nil, err
		}
	}
	for _, m := range r.auth.Recovery() {
		if err := add(m); err != nil {
			return nil, nil, err
		}
	}
	return rs, ids, nil
}

// encrypt encrypts val, a value of the secret called name, for people
// (and the recovery keys) and returns the version's value and its blob.
// before counts the readers the secret had (0 for a new one).
func (r *reader) encrypt(name string, before int, val Value, people []fold.MemberID) (fold.Value, []byte, error) {
	rs, ids, err := r.recipients(people)
	if err != nil {
		return fold.Value{}, nil, err
	}
	if len(rs) == 0 {
		return fold.Value{}, nil, errorf(ErrInvalid, "nobody would be able to read it")
	}
	if err := r.checkReaders(readerChange{secret: name, before: before, after: len(rs), value: true}); err != nil {
		return fold.Value{}, nil, err
	}
	ct, err := encryptValue(val, rs)
	if err != nil {
		return fold.Value{}, nil, err
	}
	stored, err := r.sealValue(ct)
	if err != nil {
		return fold.Value{}, nil, err
	}
	return fold.Value{Blob: oplog.HashOf(stored), Readers: ids}, stored, nil
}

// blob returns the age file of a version: what is stored, checked against
// the hash its signed operation holds, then opened (see sealValue).
func (r *reader) blob(ver *fold.Version) ([]byte, error) {
	ct := r.ix.b(bBlobs).Get(ver.Blob[:])
	if ct == nil {
		return nil, errorf(ErrCorrupt, "the encrypted value of version %d is missing from this copy of the vault (the file was damaged, or written by another tool); merge a copy from a member who has it", ver.N)
	}
	if oplog.HashOf(ct) != ver.Blob {
		return nil, errorf(ErrTampered, "a value in this machine's copy of the vault was changed")
	}
	return r.v.keys.openValue(ct)
}

// canRead reports whether the acting key can decrypt a version: the
// member is a reader, and not through a key they have since replaced.
func (r *reader) canRead(ver *fold.Version) bool {
	return ver != nil && ver.CanRead(r.v.me)
}

// decrypt returns the plaintext of a version the acting key can read.
func (r *reader) decrypt(ver *fold.Version) (Value, error) {
	ct, err := r.blob(ver)
	if err != nil {
		return Value{}, err
	}
	return decryptValue(ct, r.v.identity, slices.Index(ver.Readers, r.v.me))
}

// encryptValue age-encrypts a secret value to the given recipients, in order.
func encryptValue(v Value, rs []age.Recipient) ([]byte, error) {
	ct, err := ageEncrypt(v.Bytes(), rs...)
	if err != nil {
		return nil, fmt.Errorf("cannot encrypt the value: %w", err)
	}
	return ct, nil
}

// decryptValue decrypts a value's age file. hint is the index of the
// identity's stanza when known (values are encrypted to readers in a known
// order), which saves trying every stanza; -1 means unknown.
func decryptValue(ct []byte, id age.Identity, hint int) (Value, error) {
	if hint >= 0 {
		id = hintedIdentity{id, hint}
	}
	rd, err := age.Decrypt(bytes.NewReader(ct), id)
	if err != nil {
		var noMatch *age.NoIdentityMatchError
		if errors.As(err, &noMatch) {
			return Value{}, errorf(ErrNotReader, "your key cannot decrypt this value")
		}
		return Value{}, err
	}
	b, err := io.ReadAll(io.LimitReader(rd, MaxValueSize+1))
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

// reencryption is one value to decrypt and encrypt again for new readers.
type reencryption struct {
	secret *fold.Secret
	ver    *fold.Version
	in     []byte
	// old says the member's old identity decrypts it (Vault.oldKey).
	old     bool
	hint    int
	rs      []age.Recipient
	readers []fold.MemberID
	// out is the new age file; nil for a job of the member's old key
	// that it could not open.
	out []byte
	err error
	// seed marks the job of a version's two-factor seed; it follows the
	// job of the version's value.
	seed bool
}

// reencrypt runs the cryptography of jobs on every core; reading and
// writing the file stay with the caller, since a bbolt transaction is not
// safe for concurrent use. progress, if not nil, is called as jobs finish.
func (v *Vault) reencrypt(jobs []*reencryption, progress func(done, total int)) error {
	work := make(chan *reencryption)
	done := make(chan *reencryption)
	workers := min(runtime.GOMAXPROCS(0), max(len(jobs), 1))
	for range workers {
		go func() {
			for j := range work {
				id := v.identity
				if j.old {
					id = v.oldKey
				}
				val, err := decryptValue(j.in, id, j.hint)
				if err == nil {
					j.out, err = encryptValue(val, j.rs)
					val.Wipe()
				}
				if errors.Is(err, ErrNotReader) && j.old {
					// Not the key that was replaced: left for a reader.
					err = nil
				}
				j.err = err
				done <- j
			}
		}()
	}
	go func() {
		for _, j := range jobs {
			work <- j
		}
		close(work)
	}()
	var firstErr error
	for n := range jobs {
		j := <-done
		if j.err != nil && firstErr == nil {
			firstErr = fmt.Errorf("cannot re-encrypt %q: %w", j.secret.Name, j.err)
		}
		if progress != nil {
			progress(n+1, len(jobs))
		}
	}
	return firstErr
}
