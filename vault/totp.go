package vault

import (
	"encoding/base32"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"filippo.io/age"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"

	"github.com/mutual-aid-vault/vault/vault/internal/fold"
	"github.com/mutual-aid-vault/vault/vault/internal/oplog"
)

// TOTP is a two-factor seed (RFC 6238): what an authenticator app holds to
// make a shared account's codes. It cannot be printed or logged by
// accident: String, GoString, Format and slog all show "(redacted)". Make
// one with [ParseTOTP]; get a secret's with [Vault.TOTP].
type TOTP struct {
	secret string // base32, upper case, unpadded
	alg    otp.Algorithm
	digits otp.Digits
	period uint64
}

// maxTOTPText bounds the text of a seed: an otpauth URI with a label and
// an issuer is a few hundred bytes.
const maxTOTPText = 4096

// ParseTOTP reads a two-factor seed: an otpauth://totp/… URI (what the QR
// code a service shows holds; algorithm SHA1, SHA256 or SHA512, 6 or 8
// digits, a period of 1 to 300 seconds, 30 when absent) or a bare base32
// seed (spaces allowed; SHA1, 6 digits, 30 seconds). Its errors never quote
// the input.
func ParseTOTP(v Value) (TOTP, error) {
	text := strings.TrimSpace(string(v.Bytes()))
	if text == "" {
		return TOTP{}, errorf(ErrInvalid, "the two-factor seed is empty")
	}
	if len(text) > maxTOTPText {
		return TOTP{}, errorf(ErrInvalid, "the two-factor seed is longer than %d bytes", maxTOTPText)
	}
	t := TOTP{alg: otp.AlgorithmSHA1, digits: otp.DigitsSix, period: 30}
	seed := text
	if len(text) >= 10 && strings.EqualFold(text[:10], "otpauth://") {
		u, err := url.Parse(text)
		if err != nil {
			// url's errors quote the URI, seed and all.
			return TOTP{}, errorf(ErrInvalid, "the two-factor seed is not a valid otpauth:// URI")
		}
		if !strings.EqualFold(u.Host, "totp") {
			return TOTP{}, errorf(ErrInvalid, "only time-based two-factor codes (otpauth://totp/…) are supported")
		}
		q, err := url.ParseQuery(u.RawQuery)
		if err != nil {
			return TOTP{}, errorf(ErrInvalid, "the two-factor seed's URI has a malformed query")
		}
		seed = q.Get("secret")
		if seed == "" {
			return TOTP{}, errorf(ErrInvalid, "the otpauth:// URI has no secret")
		}
		if a := q.Get("algorithm"); a != "" {
			switch strings.ToUpper(a) {
			case "SHA1":
			case "SHA256":
				t.alg = otp.AlgorithmSHA256
			case "SHA512":
				t.alg = otp.AlgorithmSHA512
			default:
				return TOTP{}, errorf(ErrInvalid, "unsupported two-factor algorithm %q: use SHA1, SHA256 or SHA512", truncate(a, 16))
			}
		}
		if d := q.Get("digits"); d != "" {
			switch d {
			case "6":
			case "8":
				t.digits = otp.DigitsEight
			default:
				return TOTP{}, errorf(ErrInvalid, "two-factor codes have 6 or 8 digits, not %q", truncate(d, 16))
			}
		}
		if p := q.Get("period"); p != "" {
			n, err := strconv.ParseUint(p, 10, 16)
			if err != nil || n < 1 || n > 300 {
				return TOTP{}, errorf(ErrInvalid, "the two-factor period must be 1 to 300 seconds")
			}
			t.period = n
		}
	}
	seed = strings.ToUpper(strings.TrimRight(strings.ReplaceAll(seed, " ", ""), "="))
	key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(seed)
	if err != nil {
		return TOTP{}, errorf(ErrInvalid, "the two-factor seed is not base32 (letters A-Z and digits 2-7)")
	}
	if len(key) < 10 {
		return TOTP{}, errorf(ErrInvalid, "the two-factor seed is too short (less than 80 bits)")
	}
	t.secret = seed
	return t, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// Code returns the code at a time, and how long it stays valid.
func (t TOTP) Code(at time.Time) (string, time.Duration) {
	unix := at.Unix()
	counter := uint64(unix) / t.period
	code, err := hotp.GenerateCodeCustom(t.secret, counter, hotp.ValidateOpts{Digits: t.digits, Algorithm: t.alg})
	if err != nil {
		// ParseTOTP checked the seed.
		return "", 0
	}
	left := time.Duration(t.period)*time.Second - at.Sub(time.Unix(int64(counter*t.period), 0))
	return code, left
}

// Period returns how long each code lasts.
func (t TOTP) Period() time.Duration { return time.Duration(t.period) * time.Second }

// Digits returns the number of digits of a code.
func (t TOTP) Digits() int { return t.digits.Length() }

// IsZero reports whether t holds no seed.
func (t TOTP) IsZero() bool { return t.secret == "" }

// String returns "(redacted)".
func (TOTP) String() string { return redacted }

// GoString returns "(redacted)".
func (TOTP) GoString() string { return redacted }

// Format prints "(redacted)" for every verb.
func (TOTP) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }

// LogValue returns "(redacted)" for log/slog.
func (TOTP) LogValue() slog.Value { return slog.StringValue(redacted) }

// otpBlob returns the age file of a version's two-factor seed: what is
// stored, checked against the hash its signed operation holds, then opened
// (see sealValue).
func (r *reader) otpBlob(ver *fold.Version) ([]byte, error) {
	ct := r.ix.b(bBlobs).Get(ver.OTP[:])
	if ct == nil {
		return nil, errorf(ErrCorrupt, "the encrypted two-factor seed of version %d is missing from this copy of the vault; merge a copy from a member who has it", ver.N)
	}
	if oplog.HashOf(ct) != ver.OTP {
		return nil, errorf(ErrTampered, "a two-factor seed in this machine's copy of the vault was changed")
	}
	return r.v.keys.openValue(ct)
}

// decryptOTP returns the text of a version's seed.
func (r *reader) decryptOTP(ver *fold.Version) (Value, error) {
	ct, err := r.otpBlob(ver)
	if err != nil {
		return Value{}, err
	}
	return decryptValue(ct, r.v.identity, slices.Index(ver.Readers, r.v.me))
}

// encryptOTP encrypts a seed to exactly the readers of a value (fv.Readers,
// in stanza order), so that whoever reads the value reads its seed.
func (r *reader) encryptOTP(seed Value, readers []fold.MemberID) (fold.Hash, []byte, error) {
	rs := make([]age.Recipient, 0, len(readers))
	for _, id := range readers {
		m := r.auth.Member(id)
		if m == nil {
			return fold.Hash{}, nil, errorf(ErrTampered, "a reader of the value is not a member")
		}
		rec, err := recipient(m.Age)
		if err != nil {
			return fold.Hash{}, nil, errorf(ErrTampered, "member %q has a malformed key", m.Name)
		}
		rs = append(rs, rec)
	}
	ct, err := ageEncrypt(seed.Bytes(), rs...)
	if err != nil {
		return fold.Hash{}, nil, fmt.Errorf("cannot encrypt the two-factor seed: %w", err)
	}
	stored, err := r.sealValue(ct)
	if err != nil {
		return fold.Hash{}, nil, err
	}
	return oplog.HashOf(stored), stored, nil
}

// keepOTP carries the seed of the current version over to a new value
// encrypted to fv's readers: a new password does not change the
// two-factor seed. It adds the seed's blob to blobs.
func (r *reader) keepOTP(s *fold.Secret, fv fold.Value, blobs map[oplog.Hash][]byte) (fold.Hash, error) {
	cur := s.CurrentVersion()
	if cur == nil || cur.OTP.IsZero() || !r.canRead(cur) {
		return fold.Hash{}, nil
	}
	seed, err := r.decryptOTP(cur)
	if err != nil {
		return fold.Hash{}, err
	}
	defer seed.Wipe()
	h, ct, err := r.encryptOTP(seed, fv.Readers)
	if err != nil {
		return fold.Hash{}, err
	}
	blobs[h] = ct
	return h, nil
}

// TOTP returns the two-factor seed of a secret: of the current value when
// version is 0, otherwise of that version in its history. It fails with
// [ErrNoTOTP] when the value has none and [ErrNotReader] for a member who
// cannot read the value.
func (v *Vault) TOTP(name string, version int) (TOTP, error) {
	var out TOTP
	err := v.view(func(r *reader) error {
		s, ver, err := r.readableVersion(name, version)
		if err != nil {
			return err
		}
		if ver.OTP.IsZero() {
			return errorf(ErrNoTOTP, "%q has no two-factor seed; add one with 'vault edit %s --totp'", s.Name, s.Name)
		}
		seed, err := r.decryptOTP(ver)
		if err != nil {
			return err
		}
		defer seed.Wipe()
		out, err = ParseTOTP(seed)
		if err != nil {
			return errorf(ErrTampered, "the two-factor seed of %q is malformed", s.Name)
		}
		return nil
	})
	return out, err
}

// SetTOTP gives a secret's value a two-factor seed (see [ParseTOTP] for
// what it accepts), or replaces its seed; an empty seed removes it. The
// current value (and a pending one) is encrypted afresh with the seed, to
// the members who should read it. Only its readers can.
func (v *Vault) SetTOTP(name string, seed Value) (Secret, error) {
	if seed.Len() > 0 {
		if _, err := ParseTOTP(seed); err != nil {
			return Secret{}, err
		}
	}
	return v.changeSecret(name, func(r *reader, s *fold.Secret) ([]change, error) {
		if s.Deleted != nil {
			return nil, errorf(ErrInTrash, "%q is in the trash", s.Name)
		}
		cur := s.CurrentVersion()
		if !slices.Contains(s.Wanted, r.v.me) || !r.canRead(cur) {
			return nil, errorf(ErrNotReader, "you are not a reader of %q; only its readers can change its two-factor seed", s.Name)
		}
		if seed.Len() == 0 && cur.OTP.IsZero() && (s.PendingVersion() == nil || s.PendingVersion().OTP.IsZero()) {
			return nil, errorf(ErrNoTOTP, "%q has no two-factor seed", s.Name)
		}
		c := change{kind: fold.KindTOTP, blobs: map[oplog.Hash][]byte{}}
		p := fold.SecretReencrypt{Secret: s.ID}
		for _, ver := range []*fold.Version{cur, s.PendingVersion()} {
			if ver == nil || !r.canRead(ver) {
				continue
			}
			val, err := r.decrypt(ver)
			if err != nil {
				return nil, err
			}
			fv, blob, err := r.encrypt(s.Name, r.readerCount(s.Wanted), val, s.Wanted)
			val.Wipe()
			if err != nil {
				return nil, err
			}
			c.blobs[fv.Blob] = blob
			p.Items = append(p.Items, fold.Reencrypt{Version: ver.Op, Value: fv})
			var h fold.Hash
			if seed.Len() > 0 {
				var ct []byte
				if h, ct, err = r.encryptOTP(seed, fv.Readers); err != nil {
					return nil, err
				}
				c.blobs[h] = ct
			}
			p.OTP = append(p.OTP, h)
		}
		if seed.Len() == 0 {
			p.OTP = nil
		}
		c.payload = p
		return []change{c}, nil
	})
}
