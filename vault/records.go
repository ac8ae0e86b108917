package vault

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/mutual-aid-vault/vault/rotation"
)

// ID is a record's stable random identifier. It never changes, even when the
// record is renamed, re-sealed or synchronised, and it reveals nothing.
type ID [16]byte

func newID() (ID, error) {
	var id ID
	_, err := rand.Read(id[:])
	return id, err
}

// String returns the ID in hex.
func (id ID) String() string { return hex.EncodeToString(id[:]) }

// IsZero reports whether id is unset.
func (id ID) IsZero() bool { return id == ID{} }

// MarshalText encodes the ID in hex.
func (id ID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText decodes a hex ID.
func (id *ID) UnmarshalText(b []byte) error {
	if hex.DecodedLen(len(b)) != len(id) {
		return errors.New("bad id length")
	}
	_, err := hex.Decode(id[:], b)
	return err
}

// stamp records who did something and when.
type stamp struct {
	At time.Time `json:"at"`
	By ID        `json:"by"`
}

// settingsRecord is the vault's own sealed record.
type settingsRecord struct {
	ID       ID            `json:"id"`
	Name     string        `json:"name"`
	Kind     Kind          `json:"kind"`
	Created  stamp         `json:"created"`
	Recovery []recoveryKey `json:"recovery,omitempty"`
	// Reviewed is the last access review the group held, if any.
	Reviewed *stamp `json:"reviewed,omitempty"`
}

// recoveryKey is an organisation key kept offline that every secret is also
// encrypted to, so losing every member's key does not lose the data.
type recoveryKey struct {
	ID  ID     `json:"id"`
	Key string `json:"key"`
}

// memberRecord is a member as stored. Removed members stay as tombstones so
// the change log and synchronised copies can still name them.
type memberRecord struct {
	ID ID `json:"id"`
	// Num is a small number, unique in the vault and never reused, that
	// stands for the member in the due index.
	Num        uint16    `json:"num"`
	Name       string    `json:"name"`
	Key        string    `json:"key"`
	Groups     []string  `json:"groups,omitempty"`
	Admin      bool      `json:"admin,omitempty"`
	Added      stamp     `json:"added"`
	LastActive time.Time `json:"last_active"`
	Removed    *stamp    `json:"removed,omitempty"`
}

// shareSpec is who a secret is meant to be shared with; it is resolved to
// member keys whenever the value is encrypted.
type shareSpec struct {
	Members []ID     `json:"members,omitempty"`
	Groups  []string `json:"groups,omitempty"`
}

// version is one stored value of a secret.
type version struct {
	N      int    `json:"n"`
	Value  ID     `json:"value"`  // key in the values bucket
	SHA256 []byte `json:"sha256"` // of the age file, binding it to this record
	// Readers are the members the age file is encrypted to, in stanza order;
	// the vault's recovery keys follow them.
	Readers []ID  `json:"readers"`
	Created stamp `json:"created"`
	// Aborted is set on a pending value that was dropped: it is kept in
	// history in case it had already been set at the service.
	Aborted *stamp `json:"aborted,omitempty"`
}

// reason says why a secret must be rotated now.
type reason struct {
	Text string    `json:"text"`
	At   time.Time `json:"at"`
	By   ID        `json:"by"`
}

// secretRecord is a secret as stored: all its metadata and the versions of
// its value (the values themselves live in the values bucket, age-encrypted).
type secretRecord struct {
	ID          ID              `json:"id"`
	Name        string          `json:"name,omitempty"`
	Username    string          `json:"username,omitempty"`
	URL         string          `json:"url,omitempty"`
	Note        string          `json:"note,omitempty"`
	Share       shareSpec       `json:"share"`
	Current     *version        `json:"current,omitempty"`
	Pending     *version        `json:"pending,omitempty"`
	History     []version       `json:"history,omitempty"`
	RotateEvery rotation.Period `json:"rotate_every"`
	// Rules are the site's password rules, followed when a new value is
	// generated.
	Rules       rotation.Rules `json:"rules"`
	LastRotated time.Time      `json:"last_rotated"`
	RotateNow   *reason        `json:"rotate_now,omitempty"`
	Created     stamp          `json:"created"`
	Updated     stamp          `json:"updated"`
	Deleted     *stamp         `json:"deleted,omitempty"`
	Purged      *stamp         `json:"purged,omitempty"`
}

// eventRecord is one entry of the change log. It never holds a value.
type eventRecord struct {
	At        time.Time `json:"at"`
	Actor     ID        `json:"actor"`
	ActorName string    `json:"actor_name"`
	Action    string    `json:"action"`
	Target    string    `json:"target,omitempty"`
	Detail    string    `json:"detail,omitempty"`
}

// decodeRecord unmarshals a record's plaintext, refusing trailing data.
func decodeRecord(b []byte, v any) error {
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("malformed record: %w", err)
	}
	return nil
}

func (s *secretRecord) validate() error {
	if s.Purged != nil {
		return nil
	}
	if s.Current == nil {
		return errors.New("secret has no value")
	}
	if err := s.RotateEvery.Validate(); err != nil {
		return fmt.Errorf("rotation period: %w", err)
	}
	for _, v := range s.versions() {
		if len(v.SHA256) != 32 || len(v.Readers) == 0 {
			return errors.New("malformed version")
		}
	}
	return nil
}

// versions returns every stored version: history, current, then pending.
func (s *secretRecord) versions() []*version {
	out := make([]*version, 0, len(s.History)+2)
	for i := range s.History {
		out = append(out, &s.History[i])
	}
	if s.Current != nil {
		out = append(out, s.Current)
	}
	if s.Pending != nil {
		out = append(out, s.Pending)
	}
	return out
}
