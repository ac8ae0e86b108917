package vault

import (
	"errors"
	"fmt"
)

// Sentinel errors, grouped by what the caller was doing. Every error the
// package returns wraps at most one of them; check with [errors.Is]. The
// command line maps each to one exit code, in one place.
var (
	// Opening and unlocking.

	// ErrNoVault is returned by [Open] when there is no file at the path.
	ErrNoVault = errors.New("no vault")
	// ErrExists is returned when creating something (a vault file, an
	// identity file, a secret, a member) whose name or key is already taken.
	ErrExists = errors.New("already exists")
	// ErrBusy is returned by [Open] when another process holds the file's
	// lock for longer than the lock timeout.
	ErrBusy = errors.New("vault is busy")
	// ErrNotMember is returned by [Open] when none of the vault's key wraps
	// opens with the given identity: it is not a member's key.
	ErrNotMember = errors.New("not a member")
	// ErrNotAdded is returned by [Open] when the identity opens none of the
	// vault's key grants and this machine never saw it as a member: it was
	// not added yet (or was removed before this machine ever opened the
	// vault). It matches ErrNotMember; the member should send their public
	// key line to an admin.
	ErrNotAdded = fmt.Errorf("not added yet: %w", ErrNotMember)
	// ErrKeyReplaced is returned by [Open] when the identity's key was a
	// member's but was replaced by another ([Vault.ReplaceKey]): the
	// member goes on with their new identity. It matches ErrNotMember.
	ErrKeyReplaced = fmt.Errorf("key replaced: %w", ErrNotMember)
	// ErrNoIdentity is returned by [ReadIdentity] when there is no identity
	// file at the path.
	ErrNoIdentity = errors.New("no identity")
	// ErrWrongPassphrase is returned by [ReadIdentity] when the passphrase
	// does not decrypt the identity file.
	ErrWrongPassphrase = errors.New("wrong passphrase")
	// ErrNoPassphrase is returned by [ReadIdentity] when the file needs a
	// passphrase and the caller has no way to ask for one.
	ErrNoPassphrase = errors.New("no passphrase")
	// ErrInsecureFile is returned when an identity or passphrase file can be
	// read or written by the group or others.
	ErrInsecureFile = errors.New("file permissions too open")

	// The file itself.

	// ErrNotVault is returned by [Open] for a file that is not a vault: not
	// a bbolt file, or a bbolt file of some other program.
	ErrNotVault = errors.New("not a vault file")
	// ErrNewerFormat is returned by [Open] for a vault written by a newer
	// version of this program.
	ErrNewerFormat = errors.New("vault from a newer version")
	// ErrCorrupt is returned when the file is truncated or its structure is
	// damaged.
	ErrCorrupt = errors.New("vault file is damaged")
	// ErrTampered is returned when a sealed record fails its integrity check:
	// it was changed, moved, replayed or deleted outside this program.
	ErrTampered = errors.New("vault record failed its integrity check")
	// ErrOtherVault is returned by [Open] when the file at the path is not
	// the vault this machine opened there before (another vault was put in
	// its place), and by [Vault.Merge] for a copy of another vault.
	ErrOtherVault = errors.New("a different vault")
	// ErrOldFormat is returned by [Open] for a file of an unreleased test
	// version of this program (format 1).
	ErrOldFormat = errors.New("vault from an unreleased test version")

	// Looking things up and access.

	// ErrNotFound is returned when no secret or member has the given name.
	// ErrNoSecret and ErrNoMember say which; both match ErrNotFound.
	ErrNotFound = errors.New("not found")
	// ErrNoSecret is returned when no secret has the given name.
	ErrNoSecret = fmt.Errorf("no such secret: %w", ErrNotFound)
	// ErrInTrash is returned when the secret asked for is in the trash.
	ErrInTrash = fmt.Errorf("in the trash: %w", ErrNotFound)
	// ErrNoMember is returned when no member has the given name.
	ErrNoMember = fmt.Errorf("no such member: %w", ErrNotFound)
	// ErrNoTOTP is returned when a secret's value has no two-factor seed.
	ErrNoTOTP = fmt.Errorf("no two-factor seed: %w", ErrNotFound)
	// ErrNotReader is returned when the acting member is not one of the
	// readers of a secret (or of the version asked for).
	ErrNotReader = errors.New("not a reader")
	// ErrNotAdmin is returned when a member who is not an admin tries to
	// change membership.
	ErrNotAdmin = errors.New("not an admin")
	// ErrLastAdmin is returned when a change would leave the vault without
	// an admin.
	ErrLastAdmin = errors.New("last admin")
	// ErrReadOnly is returned when the identity can read the vault but not
	// sign changes (a recovery key given without a signing key), or the
	// vault was opened read-only.
	ErrReadOnly = errors.New("cannot change the vault")
	// ErrNoRequest is returned by [Vault.ReplaceKey] when asked to approve
	// a member's request for a new key and they have made none.
	ErrNoRequest = errors.New("no request for a new key")
	// ErrRejected is returned when the change log refuses a change this
	// program made; nothing is stored.
	ErrRejected = errors.New("change refused")

	// Bad input.

	// ErrBadName is returned for a secret, member or group name that breaks
	// the naming rules.
	ErrBadName = errors.New("invalid name")
	// ErrLookAlike is returned when a new secret, member or group name
	// looks like an existing one on screen ("аirtable" with a Cyrillic а
	// beside "airtable"): a member could take one for the other. It
	// matches ErrBadName.
	ErrLookAlike = fmt.Errorf("looks like an existing name: %w", ErrBadName)
	// ErrBadKey is returned for text that is not a public key this program
	// accepts.
	ErrBadKey = errors.New("invalid public key")
	// ErrSecretKey is returned when a secret key is offered where a public
	// key belongs. The secret key must be considered exposed.
	ErrSecretKey = errors.New("secret key offered as a public key")
	// ErrWrongKind is returned when a classic key is offered to a
	// post-quantum vault or the other way round.
	ErrWrongKind = errors.New("wrong kind of key")
	// ErrInvalid is returned for any other input that cannot be accepted: an
	// empty or oversized value, an unknown field, a bad date.
	ErrInvalid = errors.New("invalid input")
	// ErrTooManyReaders is returned when a change would give a secret's
	// value more readers (members and recovery keys) than age allows in
	// one file (1,024); nothing is written. It matches ErrInvalid.
	ErrTooManyReaders = fmt.Errorf("too many readers: %w", ErrInvalid)
	// ErrNotConfirmed is returned by [DestroyPlan.Destroy] when what the
	// member typed to confirm is not the vault's name; nothing is deleted.
	ErrNotConfirmed = errors.New("not confirmed")

	// One-off sends.

	// ErrBadMessage is returned by [Vault.Receive] for text that is not a
	// whole, unchanged message 'vault send' wrote: cut short, changed on
	// the way, not a message at all, or not signed for you by the member
	// it names as its sender.
	ErrBadMessage = errors.New("not a message from vault send")

	// The agent.

	// ErrNoAgent is returned by [DialAgent], [AgentStatus] and [LockAgent]
	// when no agent answers at the socket.
	ErrNoAgent = errors.New("no agent")
	// ErrAgentLocked is returned by an identity from [DialAgent] once its
	// agent has locked (idle, 'vault lock', a signal): unlock again.
	ErrAgentLocked = errors.New("the agent locked")
	// ErrAgentRunning is returned by [ListenAgent] when an agent already
	// runs for the socket.
	ErrAgentRunning = errors.New("an agent already runs")
)

// kindError is an error with its own message that still matches one
// sentinel through [errors.Is], so messages read naturally ("no secret
// named "x"") instead of repeating the sentinel's text.
type kindError struct {
	kind error
	msg  string
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }

// errorf returns an error that matches kind and reads as the formatted text.
// A %w verb in format wraps a cause as well.
func errorf(kind error, format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	return &wrapped{kindError{kind: kind, msg: err.Error()}, errors.Unwrap(err)}
}

// wrapped adds an optional cause to kindError.
type wrapped struct {
	kindError
	cause error
}

func (e *wrapped) Unwrap() []error {
	if e.cause == nil {
		return []error{e.kind}
	}
	return []error{e.kind, e.cause}
}
