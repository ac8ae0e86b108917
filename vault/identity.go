package vault

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unsafe"

	"filippo.io/age"
	"filippo.io/age/armor"
)

// Kind is the kind of key pair a vault and its members use. age cannot mix
// the two kinds in one encrypted file, so a vault is one kind or the other.
type Kind string

const (
	// Classic is X25519: public keys look like age1… (62 characters).
	Classic Kind = "x25519"
	// PostQuantum is age's hybrid ML-KEM-768 + X25519: public keys look like
	// age1pq1… (about 2,000 characters).
	PostQuantum Kind = "pq"
)

// String returns a name for the kind fit for a message.
func (k Kind) String() string {
	if k == PostQuantum {
		return "post-quantum"
	}
	return "classic"
}

// Identity is a member's unlocked key pair: an age key that decrypts (it
// is an [age.Identity]) and an Ed25519 key that signs the member's changes
// (it is a [Signer]). The signing key is derived from the age secret key,
// so the identity file stays exactly what age-keygen writes and the stock
// age tool reads it. Its String method is redacted; the secret key leaves
// it only through [WriteIdentity].
type Identity struct {
	id     age.Identity
	public string
	kind   Kind
	secret string
	// sign and signPub are derived from secret when first needed
	// (signing): the first Ed25519 key of a process costs a millisecond of
	// table set-up, which a command that only reads need not pay.
	signOnce sync.Once
	sign     ed25519.PrivateKey
	signPub  ed25519.PublicKey
	// agent is set when the key is held by an agent process (DialAgent):
	// then secret and sign are empty, and unwrapping and signing are
	// requests to the agent.
	agent *agentClient
}

var (
	_ age.Identity = (*Identity)(nil)
	_ Signer       = (*Identity)(nil)
)

// Signer signs a member's changes. An [Options.Identity] that is also a
// Signer can change the vault; one that is not can only read it.
type Signer interface {
	// SigningKey returns the Ed25519 public key.
	SigningKey() ed25519.PublicKey
	// SignOp returns the Ed25519 signature of msg.
	SignOp(msg []byte) ([]byte, error)
}

// Unwrap implements [age.Identity].
func (i *Identity) Unwrap(stanzas []*age.Stanza) ([]byte, error) { return i.id.Unwrap(stanzas) }

// SigningKey implements [Signer].
func (i *Identity) SigningKey() ed25519.PublicKey {
	i.deriveSigning()
	return i.signPub
}

// deriveSigning derives the signing key pair, once; an agent's client
// has the public key from the agent and no secret.
func (i *Identity) deriveSigning() {
	i.signOnce.Do(func() {
		if i.sign == nil && i.secret != "" {
			i.sign = deriveSigningKey(i.secret)
			i.signPub = i.sign.Public().(ed25519.PublicKey)
		}
	})
}

// signingKey returns the private signing key (nil for an agent's client).
func (i *Identity) signingKey() ed25519.PrivateKey {
	i.deriveSigning()
	return i.sign
}

// SignOp implements [Signer].
func (i *Identity) SignOp(msg []byte) ([]byte, error) {
	if i.agent != nil {
		return i.agent.sign(msg)
	}
	return ed25519.Sign(i.signingKey(), msg), nil
}

// FromAgent reports whether the key is held by an agent process rather
// than by this one (see [DialAgent]).
func (i *Identity) FromAgent() bool { return i.agent != nil }

// PublicKey returns the member's public key line, both keys in one line:
// what a member sends an admin to be added. It is safe to share.
func (i *Identity) PublicKey() string {
	return MemberKey{Age: i.public, Sign: i.SigningKey(), Kind: i.kind}.String()
}

// Recipient returns the age public key alone, for use with the age tool.
func (i *Identity) Recipient() string { return i.public }

// Fingerprint returns a short code covering both public keys, to read
// aloud when checking a key by another channel.
func (i *Identity) Fingerprint() string {
	return MemberKey{Age: i.public, Sign: i.SigningKey(), Kind: i.kind}.Fingerprint()
}

// deriveSigningKey derives the Ed25519 key from the age secret key.
func deriveSigningKey(secret string) ed25519.PrivateKey {
	seed, err := hkdf.Key(sha256.New, []byte(secret), nil, "vault signing key v1", ed25519.SeedSize)
	if err != nil {
		panic(err) // only for lengths HKDF cannot give; 32 bytes it always can
	}
	return ed25519.NewKeyFromSeed(seed)
}

func newIdentity(id age.Identity, public string, kind Kind, secret string) *Identity {
	return &Identity{id: id, public: public, kind: kind, secret: secret}
}

// MemberKey is what a member sends an admin: their age public key and
// their signing key. Its text form is one line, "age1…:ed25519:…".
type MemberKey struct {
	Age  string
	Sign ed25519.PublicKey
	Kind Kind
}

const signTag = ":ed25519:"

// String returns the one-line form.
func (k MemberKey) String() string {
	if len(k.Sign) == 0 {
		return k.Age
	}
	return k.Age + signTag + base64.RawURLEncoding.EncodeToString(k.Sign)
}

// Fingerprint returns 20 characters in groups of four (e.g.
// "K4TQ-8ZPA-3MXE-W7RB-N2C5") that cover both keys: what two people read to
// each other to be sure a key is the right one.
func (k MemberKey) Fingerprint() string {
	h := sha256.New()
	h.Write([]byte("vault member key v1\x00"))
	h.Write([]byte(k.Age))
	h.Write([]byte{0})
	h.Write(k.Sign)
	enc := base32.NewEncoding("0123456789ABCDEFGHJKMNPQRSTVWXYZ").WithPadding(base32.NoPadding).EncodeToString(h.Sum(nil)[:13])[:20]
	return enc[0:4] + "-" + enc[4:8] + "-" + enc[8:12] + "-" + enc[12:16] + "-" + enc[16:20]
}

// Kind reports whether the key is classic or post-quantum.
func (i *Identity) Kind() Kind { return i.kind }

// String returns "(redacted)"; use [Identity.PublicKey] for the public key.
func (i *Identity) String() string { return redacted }

// GoString returns "(redacted)".
func (i *Identity) GoString() string { return redacted }

// GenerateIdentity makes a new random key pair of the given kind.
func GenerateIdentity(kind Kind) (*Identity, error) {
	switch kind {
	case Classic:
		k, err := age.GenerateX25519Identity()
		if err != nil {
			return nil, err
		}
		return newIdentity(k, k.Recipient().String(), Classic, k.String()), nil
	case PostQuantum:
		k, err := age.GenerateHybridIdentity()
		if err != nil {
			return nil, err
		}
		return newIdentity(k, k.Recipient().String(), PostQuantum, k.String()), nil
	}
	return nil, fmt.Errorf("unknown key kind %q", kind)
}

// IdentityOptions tunes how identity files are written and read. The zero
// value is right for real use.
type IdentityOptions struct {
	// ScryptWorkFactor is the log2 scrypt cost used when writing a
	// passphrase-protected file. Zero means age's default (18, about a
	// second). Tests lower it; real use must not.
	ScryptWorkFactor int
	// Force allows WriteIdentity to replace an existing file.
	Force bool
	// Now stamps the "# created:" comment. Zero means the current time.
	Now time.Time
}

// maxIdentityFile caps what ReadIdentity reads: a post-quantum identity file
// is a few kilobytes.
const maxIdentityFile = 64 << 10

// WriteIdentity writes id to path: encrypted to passphrase with age's scrypt
// recipient (ASCII-armored), or, when passphrase is empty, as a plain age
// identity file of the kind age-keygen writes, which `age -d -i` reads.
// The file is created with mode 0600 and missing folders with 0700. An
// existing file is replaced only with opts.Force, and then atomically.
func WriteIdentity(path string, id *Identity, passphrase Value, opts IdentityOptions) error {
	if id.secret == "" {
		return errors.New("an identity held by the agent cannot be written: its secret key is not in this process")
	}
	if !opts.Force {
		if _, err := os.Lstat(path); err == nil {
			return errorf(ErrExists, "%s already exists", path)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	var plain bytes.Buffer
	fmt.Fprintf(&plain, "# created: %s\n", now.UTC().Format(time.RFC3339))
	fmt.Fprintf(&plain, "# public key: %s\n", id.public)
	fmt.Fprintf(&plain, "# vault member key: %s\n", id.PublicKey())
	fmt.Fprintf(&plain, "%s\n", id.secret)

	content := plain.Bytes()
	if passphrase.Len() > 0 {
		r, err := age.NewScryptRecipient(borrowedString(passphrase))
		if err != nil {
			return err
		}
		if opts.ScryptWorkFactor != 0 {
			r.SetWorkFactor(opts.ScryptWorkFactor)
		}
		var enc bytes.Buffer
		aw := armor.NewWriter(&enc)
		w, err := age.Encrypt(aw, r)
		if err != nil {
			return err
		}
		if _, err := w.Write(content); err != nil {
			return err
		}
		if err := w.Close(); err != nil {
			return err
		}
		if err := aw.Close(); err != nil {
			return err
		}
		content = enc.Bytes()
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return writeFileAtomic(path, content, opts.Force)
}

// writeFileAtomic writes data to a new 0600 file beside path and moves it
// into place, so a crash leaves either the old file or the new one. Without
// replace, an existing file at path is never touched.
// MoveFile renames src to dst, replacing dst; across file systems it
// writes a copy beside dst (0600, synced, renamed into place) and then
// removes src.
func MoveFile(src, dst string) error {
	if err := os.Rename(src, dst); err == nil {
		return nil
	}
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(dst, b, true); err != nil {
		return err
	}
	return os.Remove(src)
}

func writeFileAtomic(path string, data []byte, replace bool) error {
	return writeFile(path, data, replace)
}

// writeHint replaces a file that only saves time (a cache, a hint),
// in place and not synced to disk: a crash may lose it, and a reader may
// see it half written, so it must be sealed (a torn copy does not open)
// and then the next run just does the slower thing. In place, because the
// temporary file and rename of writeFile cost a millisecond of directory
// work, on every command that takes in another member's change.
//
// Not truncated first either: freeing a file's blocks and allocating them
// again costs the file system more than the write. Only a longer old
// content is cut to the new length.
func writeHint(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.WriteAt(data, 0); err != nil {
		f.Close()
		return err
	}
	if info, err := f.Stat(); err != nil || info.Size() > int64(len(data)) {
		if err := f.Truncate(int64(len(data))); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

func writeFile(path string, data []byte, replace bool) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if replace {
		return os.Rename(tmp, path)
	}
	// A hard link fails if path exists, which makes "create, never replace"
	// atomic even against another process racing us.
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return errorf(ErrExists, "%s already exists", path)
		}
		return err
	}
	return nil
}

// CheckPrivateFile returns an error wrapping [ErrInsecureFile] when the
// group or others have any access to path, as ssh does for its keys.
//
// A path that names something other than a regular file (a named pipe, a
// device) is refused with a [*NotRegularError]: a device's mode says
// nothing about a secret in it.
func CheckPrivateFile(path string) error {
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return &NotRegularError{Path: path, Kind: fileKind(info.Mode())}
	}
	if info.Mode().Perm()&0o077 != 0 {
		return errorf(ErrInsecureFile, "%s is accessible by other users (mode %04o); run: chmod 600 %s", path, info.Mode().Perm(), path)
	}
	return nil
}

// CheckPrivateFolder returns an error wrapping [ErrInsecureFile] when the
// group or others have any access to dir, a folder that holds identity
// files only (such as the default one, which [WriteIdentity] makes with
// mode 0700): whoever can write it can replace or delete the key, and
// whoever can list it learns what is kept there.
func CheckPrivateFolder(dir string) error {
	return checkFolder(dir, 0o077)
}

// checkFolder returns an error wrapping [ErrInsecureFile] when dir's mode
// has any of the bits in mask.
func checkFolder(dir string, mask fs.FileMode) error {
	info, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if info.Mode().Perm()&mask != 0 {
		return errorf(ErrInsecureFile, "the folder %s holding your identity is accessible by other users (mode %04o); run: chmod 700 %s", dir, info.Mode().Perm(), dir)
	}
	return nil
}

// ReadIdentity reads the identity file at path. A passphrase-protected file
// is decrypted with the passphrase that ask returns (ask may be nil when no
// prompt is possible, and then such a file is refused with
// [ErrNoPassphrase]). A file that the group or others can access, or in a
// folder they can write, is refused with [ErrInsecureFile]; a path that is not
// a regular file (a named pipe, a device) with [ErrNoIdentity], at once.
func ReadIdentity(path string, ask func() (Value, error)) (*Identity, error) {
	f, err := OpenRegular(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, errorf(ErrNoIdentity, "no identity at %s", path)
		}
		return nil, notIdentity(err)
	}
	defer f.Close()
	if err := CheckPrivateFile(path); err != nil {
		return nil, notIdentity(err)
	}
	// Wherever it is kept, no one else may be able to replace it. (An
	// identity may live in a folder others can list, such as a home
	// folder; its own mode keeps it from being read.)
	if err := checkFolder(filepath.Dir(path), 0o022); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(f, maxIdentityFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxIdentityFile {
		return nil, fmt.Errorf("%s is larger than an identity file can be", path)
	}
	// What the file holds, decrypted or plain, is the secret key's text:
	// wiped once parsed (the Identity keeps what it needs).
	defer func() { clear(data) }()
	if isAgeFile(data) {
		if ask == nil {
			return nil, errorf(ErrNoPassphrase, "%s is protected by a passphrase and there is no way to ask for it", path)
		}
		pass, err := ask()
		if err != nil {
			return nil, err
		}
		defer pass.Wipe()
		data, err = decryptWithPassphrase(data, pass)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	id, err := parseIdentity(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return id, nil
}

func isAgeFile(data []byte) bool {
	return bytes.HasPrefix(data, []byte("age-encryption.org/")) ||
		bytes.HasPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte("-----BEGIN AGE ENCRYPTED FILE-----"))
}

// borrowedString returns a non-empty passphrase as a string that shares
// its bytes, for age, which takes a passphrase as a string and at once
// copies it into a []byte of its own, keeping no reference to the string.
// A string conversion would leave one more copy of the passphrase,
// immutable and never wiped; this string is dead before the caller wipes
// the bytes. (age's own copy is not ours to wipe.)
func borrowedString(pass Value) string {
	b := pass.Bytes()
	return unsafe.String(&b[0], len(b))
}

func decryptWithPassphrase(data []byte, pass Value) ([]byte, error) {
	if pass.Len() == 0 {
		return nil, errorf(ErrWrongPassphrase, "the passphrase is empty")
	}
	si, err := age.NewScryptIdentity(borrowedString(pass))
	if err != nil {
		return nil, err
	}
	var src io.Reader = bytes.NewReader(data)
	if !bytes.HasPrefix(data, []byte("age-encryption.org/")) {
		src = armor.NewReader(bytes.NewReader(bytes.TrimLeft(data, " \t\r\n")))
	}
	r, err := age.Decrypt(src, si)
	if err != nil {
		var noMatch *age.NoIdentityMatchError
		if errors.As(err, &noMatch) {
			return nil, errorf(ErrWrongPassphrase, "wrong passphrase")
		}
		return nil, fmt.Errorf("cannot decrypt the identity file: %w", err)
	}
	out, err := io.ReadAll(io.LimitReader(r, maxIdentityFile+1))
	if err != nil {
		return nil, fmt.Errorf("cannot decrypt the identity file: %w", err)
	}
	return out, nil
}

// parseIdentity reads one X25519 or hybrid identity from identity-file text.
// Error messages never quote the file's lines: they hold the secret key.
func parseIdentity(data []byte) (*Identity, error) {
	var found *Identity
	n := 0
	// Lines are cut from data itself, which the caller wipes; only the
	// key line is copied, into the string age parses and the Identity
	// keeps.
	for raw := range bytes.Lines(data) {
		n++
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 || raw[0] == '#' {
			continue
		}
		line := string(raw)
		var id *Identity
		switch {
		case strings.HasPrefix(line, "AGE-SECRET-KEY-PQ-1"):
			k, err := age.ParseHybridIdentity(line)
			if err != nil {
				return nil, fmt.Errorf("line %d is not a valid post-quantum secret key", n)
			}
			id = newIdentity(k, k.Recipient().String(), PostQuantum, line)
		case strings.HasPrefix(line, "AGE-SECRET-KEY-1"):
			k, err := age.ParseX25519Identity(line)
			if err != nil {
				return nil, fmt.Errorf("line %d is not a valid secret key", n)
			}
			id = newIdentity(k, k.Recipient().String(), Classic, line)
		case strings.HasPrefix(line, "AGE-PLUGIN-"):
			return nil, fmt.Errorf("line %d is a plugin identity (a hardware key); vault does not support those yet", n)
		default:
			return nil, fmt.Errorf("line %d is not an age secret key", n)
		}
		if found != nil {
			return nil, fmt.Errorf("holds more than one key; vault needs a file with exactly one")
		}
		found = id
	}
	if found == nil {
		return nil, fmt.Errorf("holds no secret key")
	}
	return found, nil
}

// ParsePublicKey checks that s is a public key a member can be added with
// (a member key line, or for a recovery key also a bare age public key) and
// returns it trimmed, with its kind. A pasted secret key is recognised and
// refused with [ErrSecretKey]; the error never repeats it.
func ParsePublicKey(s string) (string, Kind, error) {
	k, err := parseKey(s, true)
	if err != nil {
		return "", "", err
	}
	return k.String(), k.Kind, nil
}

// ParseMemberKey parses the line a member sends an admin ('vault pubkey'
// prints it): their age public key and signing key.
func ParseMemberKey(s string) (MemberKey, error) { return parseKey(s, false) }

func parseKey(s string, ageOnlyOK bool) (MemberKey, error) {
	s = strings.TrimSpace(s)
	upper := strings.ToUpper(s)
	if strings.HasPrefix(upper, "AGE-SECRET-KEY-") || strings.HasPrefix(upper, "AGE-PLUGIN-") {
		return MemberKey{}, errorf(ErrSecretKey, "that is a SECRET key, not a public key: it is now exposed and must be replaced; its owner runs 'vault keygen --force' and sends the output of 'vault pubkey' instead")
	}
	var k MemberKey
	agePart, signPart, hasSign := strings.Cut(s, signTag)
	if hasSign {
		b, err := base64.RawURLEncoding.DecodeString(signPart)
		if err != nil || len(b) != ed25519.PublicKeySize {
			return MemberKey{}, errorf(ErrBadKey, "the signing part of the key line (after %q) has a wrong or missing character; %s", signTag, copyKeyAgain)
		}
		k.Sign = b
	}
	switch {
	case strings.HasPrefix(agePart, "age1pq1"):
		if _, err := age.ParseHybridRecipient(agePart); err != nil {
			if nearly(agePart, pqKeyLen) {
				return MemberKey{}, errorf(ErrBadKey, "the key line has a wrong or missing character; %s", copyKeyAgain)
			}
			return MemberKey{}, errorf(ErrBadKey, "not a valid post-quantum public key (%s); it looks like age1pq1…:ed25519:… and is printed by 'vault pubkey'", plural(len(s), "character"))
		}
		k.Kind = PostQuantum
	case strings.HasPrefix(agePart, "age1") && strings.Count(agePart, "1") > 1:
		return MemberKey{}, errorf(ErrBadKey, "plugin public keys (hardware keys) are not supported yet; use a key from 'vault keygen'")
	case strings.HasPrefix(agePart, "age1"):
		if _, err := age.ParseX25519Recipient(agePart); err != nil {
			if nearly(agePart, x25519KeyLen) {
				return MemberKey{}, errorf(ErrBadKey, "the key line has a wrong or missing character; %s", copyKeyAgain)
			}
			return MemberKey{}, errorf(ErrBadKey, "not a valid public key (%s); a member's key looks like age1…:ed25519:… and is printed by 'vault pubkey'", plural(len(s), "character"))
		}
		k.Kind = Classic
	case strings.HasPrefix(agePart, "ssh-"):
		return MemberKey{}, errorf(ErrBadKey, "SSH keys are not supported; use a key from 'vault keygen', printed by 'vault pubkey'")
	default:
		return MemberKey{}, errorf(ErrBadKey, "not a public key (%s); a member's key looks like age1…:ed25519:… and is printed by 'vault pubkey'", plural(len(s), "character"))
	}
	k.Age = agePart
	if !hasSign && !ageOnlyOK {
		return MemberKey{}, errorf(ErrBadKey, "that is only the age part of a member's key; ask them for the whole line 'vault pubkey' prints (it goes on with %s…)", signTag)
	}
	return k, nil
}

// The lengths of an age public key: X25519 ("age1" and 58 characters) and
// the ML-KEM-768 + X25519 hybrid ("age1pq1" and 1,952).
const (
	x25519KeyLen = 62
	pqKeyLen     = 1959
)

// copyKeyAgain is what to do about a key line with a typo.
const copyKeyAgain = "copy it again from the line 'vault pubkey' printed (all of it, age1…:ed25519:…), or ask its owner to send it again"

// nearly reports whether key is within two characters of the length of a
// key: a pasted key with a character wrong, missing or extra, which the
// key's checksum (bech32) caught, rather than something else.
func nearly(key string, want int) bool {
	d := len(key) - want
	return d >= -2 && d <= 2
}

// recipient parses a public key already accepted by ParsePublicKey.
func recipient(public string) (age.Recipient, error) {
	if strings.HasPrefix(public, "age1pq1") {
		return age.ParseHybridRecipient(public)
	}
	return age.ParseX25519Recipient(public)
}
