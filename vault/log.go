package vault

import (
	"encoding/binary"
	"time"

	"github.com/mutual-aid-vault/vault/vault/internal/fold"
)

// Event is one entry of the change log: who changed what, and when. It
// never holds a secret value. A change the log refused (its author had no
// right to make it, or made it at the same time as their removal) is
// listed with Rejected saying why; it took no effect.
type Event struct {
	// Seq is the change's place in the order every copy agrees on, from 1.
	Seq uint64 `json:"seq"`
	// ID names the change (the hash of what its author signed).
	ID     string    `json:"id"`
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	Target string    `json:"target,omitempty"`
	Detail string    `json:"detail,omitempty"`
	// Summary is the change in one sentence: "alex removed kim".
	Summary  string `json:"summary"`
	Rejected string `json:"rejected,omitempty"`
}

func publicEvent(e fold.Event) Event {
	return Event{Seq: uint64(e.Pos) + 1, ID: e.Op.String(), At: e.At, Actor: e.Who, Action: e.Kind, Target: e.Target,
		Detail: e.Detail, Summary: e.Summary, Rejected: e.Rejected}
}

// Log returns the change log, oldest first; with last > 0, only the last
// that many entries.
func (v *Vault) Log(last int) ([]Event, error) {
	var out []Event
	err := v.view(func(r *reader) error {
		c := r.ix.b(bEvents).Cursor()
		k, ct := c.Last()
		for n := 0; k != nil && (last <= 0 || n < last); n++ {
			var e fold.Event
			if err := r.ix.openRecord(bEvents, k, ct, &e); err != nil {
				return err
			}
			out = append(out, publicEvent(e))
			k, ct = c.Prev()
		}
		return nil
	})
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, err
}

// Info describes an open vault.
type Info struct {
	Path    string    `json:"path"`
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	Kind    Kind      `json:"kind"`
	Created time.Time `json:"created"`
	Format  int       `json:"format"`
	// Changes counts the changes in the log.
	Changes uint64 `json:"changes"`
	// Recovery is true when the vault was opened with a recovery key.
	Recovery bool `json:"recovery"`
}

// Info returns the vault's name, kind and size of its log.
func (v *Vault) Info() (Info, error) {
	var out Info
	err := v.view(func(r *reader) error {
		a := r.auth
		out = Info{Path: v.path, ID: v.vaultID.String(), Name: a.Name, Kind: Kind(a.Kind), Created: a.Created.At, Format: FormatVersion,
			Changes: uint64(a.Folded), Recovery: v.recovery}
		if a.Kind == "pq" {
			out.Kind = PostQuantum
		} else {
			out.Kind = Classic
		}
		return nil
	})
	return out, err
}

// Chores reports what [Vault.Maintain] did.
type Chores struct {
	// Reencrypted are the secrets re-encrypted for changed readers.
	Reencrypted []string
	// Notes say what each chore did, whose access it gave or took away.
	Notes []string
}

// Maintain does now the chores that fall to this member (see
// [Vault.Notes]): re-encrypting secrets whose readers changed while the
// member who changed them could not read them, and, for admins, handing
// out vault keys. Every change does them anyway; this is for a member who
// only reads (vault sync calls it). It writes only when there is something
// to do.
func (v *Vault) Maintain() (Chores, error) {
	var out Chores
	if v.signer == nil || v.cannotWrite() {
		return out, nil
	}
	before := len(v.notes)
	events, err := v.update(func(r *reader) ([]change, error) { return v.chores(r) })
	if err != nil {
		return out, err
	}
	for _, e := range events {
		if e.Kind == fold.KindReencrypt {
			out.Reencrypted = append(out.Reencrypted, e.Target)
		}
	}
	out.Notes = v.notes[before:]
	sortNames(out.Reencrypted)
	return out, nil
}

// posKey is the index key of an event.
func posKey(pos int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(pos)) }
