package vault

import (
	"fmt"
	"runtime"
	"slices"
	"strings"

	"filippo.io/age"
)

// resolve turns a share spec into the active members it names, directly or
// through a group, in ID order. This is who the value should be encrypted
// to.
func (t *txn) resolve(spec shareSpec) ([]ID, error) {
	all, err := t.allMembers()
	if err != nil {
		return nil, err
	}
	var out []ID
	for _, m := range all {
		if m.Removed != nil {
			continue
		}
		if slices.Contains(spec.Members, m.ID) || hasAnyGroup(m.Groups, spec.Groups) {
			out = append(out, m.ID)
		}
	}
	return out, nil
}

func hasAnyGroup(have, want []string) bool {
	for _, g := range want {
		if slices.Contains(have, g) {
			return true
		}
	}
	return false
}

// sameIDs reports whether a and b hold the same IDs, in any order.
func sameIDs(a, b []ID) bool {
	if len(a) != len(b) {
		return false
	}
	for _, id := range a {
		if !slices.Contains(b, id) {
			return false
		}
	}
	return true
}

// minus returns the IDs of a that are not in b.
func minus(a, b []ID) []ID {
	var out []ID
	for _, id := range a {
		if !slices.Contains(b, id) {
			out = append(out, id)
		}
	}
	return out
}

// canRead reports whether the acting key can decrypt a version: it is one
// of its readers, or a recovery key (every value is encrypted to those).
func (t *txn) canRead(v *version) bool {
	return t.v.recovery || slices.Contains(v.Readers, t.v.wrapID)
}

// hint returns the index of the acting key's stanza in a version's age
// file, or -1.
func (t *txn) hint(v *version) int {
	if i := slices.Index(v.Readers, t.v.wrapID); i >= 0 {
		return i
	}
	if t.v.recovery {
		if s, err := t.settings(); err == nil {
			for i, r := range s.Recovery {
				if r.ID == t.v.wrapID {
					return len(v.Readers) + i
				}
			}
		}
	}
	return -1
}

// decrypt returns the plaintext of a version the acting key can read.
func (t *txn) decrypt(v *version) (Value, error) {
	ct, err := t.value(v)
	if err != nil {
		return Value{}, err
	}
	return decryptValue(ct, t.v.identity, t.hint(v))
}

// encrypt stores val encrypted to readers (and the recovery keys) and
// returns the version that describes it.
func (t *txn) encrypt(val Value, readers []ID, n int) (*version, error) {
	if len(readers) == 0 {
		return nil, errorf(ErrInvalid, "nobody would be able to read it")
	}
	rs, err := t.recipients(readers)
	if err != nil {
		return nil, err
	}
	ct, err := encryptValue(val, rs)
	if err != nil {
		return nil, err
	}
	id, sum, err := t.putValue(ct)
	if err != nil {
		return nil, err
	}
	return &version{N: n, Value: id, SHA256: sum, Readers: slices.Clone(readers), Created: stamp{At: t.now, By: t.v.wrapID}}, nil
}

// reencryption is one value to decrypt and encrypt again for new readers.
type reencryption struct {
	name    string // the secret's, for errors
	ver     *version
	readers []ID
	hint    int
	rs      []age.Recipient
	in, out []byte
	err     error
}

// reencrypt gives each version in jobs a new age file for its new readers,
// keeping the version's number and creation stamp, and deletes the old
// files. The cryptography runs on every core; reading and writing the file
// stay in this goroutine, since a bbolt transaction is not safe for
// concurrent use. progress, if not nil, is called from this goroutine as
// jobs finish.
func (t *txn) reencrypt(jobs []*reencryption, progress func(done, total int)) error {
	recipients := map[string][]age.Recipient{}
	for _, j := range jobs {
		ct, err := t.value(j.ver)
		if err != nil {
			return err
		}
		j.in, j.hint = ct, t.hint(j.ver)
		k := idsKey(j.readers)
		if recipients[k] == nil {
			if recipients[k], err = t.recipients(j.readers); err != nil {
				return err
			}
		}
		j.rs = recipients[k]
	}
	work := make(chan *reencryption)
	done := make(chan *reencryption)
	workers := min(runtime.GOMAXPROCS(0), max(len(jobs), 1))
	for range workers {
		go func() {
			for j := range work {
				val, err := decryptValue(j.in, t.v.identity, j.hint)
				if err == nil {
					j.out, err = encryptValue(val, j.rs)
					val.Wipe()
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
			firstErr = fmt.Errorf("cannot re-encrypt %q: %w", j.name, j.err)
		}
		if progress != nil {
			progress(n+1, len(jobs))
		}
	}
	if firstErr != nil {
		return firstErr
	}
	for _, j := range jobs {
		id, sum, err := t.putValue(j.out)
		if err != nil {
			return err
		}
		if err := t.deleteValue(j.ver.Value); err != nil {
			return err
		}
		j.ver.Value, j.ver.SHA256, j.ver.Readers = id, sum, slices.Clone(j.readers)
	}
	return nil
}

// idsKey turns a list of IDs into a map key.
func idsKey(ids []ID) string {
	b := make([]byte, 0, len(ids)*len(ID{}))
	for _, id := range ids {
		b = append(b, id[:]...)
	}
	return string(b)
}

// reconcileAll makes secrets' current and pending values readable by
// exactly the members their share specs resolve to. Where the acting key
// can read them it re-encrypts them now, in parallel; otherwise it flags
// them so that the next reader who opens the vault does it. It returns the
// members each one's readers lose; the caller marks those secrets
// rotate-now and stores them.
func (t *txn) reconcileAll(keys [][]byte, secrets []*secretRecord, progress func(done, total int)) ([][]ID, error) {
	lost := make([][]ID, len(secrets))
	var jobs []*reencryption
	for i, s := range secrets {
		if s.Purged != nil || s.Current == nil {
			continue
		}
		wanted, err := t.resolve(s.Share)
		if err != nil {
			return nil, err
		}
		if len(wanted) == 0 {
			// Nobody left to encrypt to: keep the value as it is, for its
			// last readers and the recovery keys. Callers refuse to get here
			// unless forced.
			continue
		}
		lost[i] = minus(s.Current.Readers, wanted)
		var stale []*version
		for _, v := range []*version{s.Current, s.Pending} {
			if v != nil && !sameIDs(v.Readers, wanted) {
				stale = append(stale, v)
			}
		}
		switch {
		case len(stale) == 0:
			t.setFlag(codeSecrets, keys[i], flagReencrypt, false)
		case !t.canReencrypt(s):
			t.setFlag(codeSecrets, keys[i], flagReencrypt, true)
		default:
			for _, v := range stale {
				jobs = append(jobs, &reencryption{name: s.Name, ver: v, readers: wanted})
			}
			t.setFlag(codeSecrets, keys[i], flagReencrypt, false)
		}
	}
	if err := t.reencrypt(jobs, progress); err != nil {
		return nil, err
	}
	return lost, nil
}

// markRotateNow records why a secret's real password must change, keeping
// an earlier reason if there is one (the first reason is the oldest risk).
func (t *txn) markRotateNow(s *secretRecord, text string) {
	if s.RotateNow != nil {
		if !strings.Contains(s.RotateNow.Text, text) {
			s.RotateNow.Text += "; " + text
		}
		return
	}
	s.RotateNow = &reason{Text: text, At: t.now, By: t.v.wrapID}
}

// lostReason says who lost access to a secret and when, for rotate-now.
func (t *txn) lostReason(lost []ID, how string) string {
	names := make([]string, len(lost))
	for i, id := range lost {
		names[i] = t.nameOf(id)
	}
	slices.Sort(names)
	return fmt.Sprintf("%s %s on %s", strings.Join(names, ", "), how, t.now.Format("2006-01-02"))
}
