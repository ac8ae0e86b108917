package vault

import (
	"fmt"
	"log/slog"
)

// Value is a secret's plaintext: a password, a token, a recovery code. It
// cannot be printed or logged by accident: String, GoString, Format and slog
// all show "(redacted)". Call [Value.Bytes] to get the plaintext.
type Value struct {
	b []byte
}

// MaxValueSize is the largest value the vault stores. Vault holds passwords
// and short secrets, not files.
const MaxValueSize = 64 << 10

// NewValue returns a Value holding a copy of b.
func NewValue(b []byte) Value { return Value{b: append([]byte(nil), b...)} }

// Bytes returns the plaintext. The caller must not keep it longer than
// needed, print it, or log it.
func (v Value) Bytes() []byte { return v.b }

// Len returns the length of the plaintext in bytes.
func (v Value) Len() int { return len(v.b) }

// Wipe overwrites the plaintext with zeros. Go may have copied it elsewhere,
// so this is hygiene, not a guarantee.
func (v Value) Wipe() {
	for i := range v.b {
		v.b[i] = 0
	}
}

const redacted = "(redacted)"

// String returns "(redacted)".
func (Value) String() string { return redacted }

// GoString returns "(redacted)".
func (Value) GoString() string { return redacted }

// Format prints "(redacted)" for every verb.
func (Value) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }

// LogValue returns "(redacted)" for log/slog.
func (Value) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalText refuses, so that a Value never lands in JSON or text output by
// accident.
func (Value) MarshalText() ([]byte, error) {
	return nil, fmt.Errorf("vault.Value refuses to be marshalled")
}

func (v Value) validate() error {
	if len(v.b) == 0 {
		return errorf(ErrInvalid, "the value is empty")
	}
	if len(v.b) > MaxValueSize {
		return errorf(ErrInvalid, "the value is larger than %d KiB; vault stores passwords and short secrets, not files", MaxValueSize>>10)
	}
	return nil
}
