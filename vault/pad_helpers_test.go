package vault

import (
	"testing"

	"github.com/mutual-aid-vault/vault/vault/internal/oplog"
)

// storedValue returns what the file holds for the current value of a
// secret (its age file sealed and padded), or nil when it has none the
// acting member can see.
func storedValue(t *testing.T, v *Vault, name string) []byte {
	t.Helper()
	var out []byte
	err := v.view(func(r *reader) error {
		s, err := r.liveSecret(name)
		if err != nil {
			return err
		}
		if ver := s.CurrentVersion(); ver != nil {
			out = append([]byte(nil), r.ix.b(bBlobs).Get(ver.Blob[:])...)
		}
		return nil
	})
	if err != nil {
		return nil
	}
	return out
}

// vaultKeys returns a copy of the vault keys the acting member holds, to
// open stored values with after the vault is closed.
func vaultKeys(v *Vault) *keyset {
	k := newKeyset()
	for e, key := range v.keys.epochs {
		k.add(e, *key)
	}
	return k
}

// oplogEpoch returns a made-up epoch ID numbered i.
func oplogEpoch(i int) oplog.EpochID { return oplog.EpochID{byte(i), byte(i >> 8), 1} }
