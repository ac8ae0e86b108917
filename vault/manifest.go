package vault

import (
	"encoding/binary"
	"errors"
	"unsafe"
)

// The manifest is the one record every transaction reads and every write
// rewrites. It holds the write counter (which grows with every committed
// change, so a client can notice a rolled-back file), the length of the
// change log, and the revision each mutable record was last sealed at.
// Records are sealed with their revision in the additional data, so an older
// copy of a record put back in place, or a record deleted or added outside
// the program, no longer matches the manifest and is reported as tampering.
//
// It is read on every command, so it parses into a sorted table whose keys
// share one string: two allocations, not one per record.
type manifest struct {
	counter uint64
	logLen  uint64
	entries table[manifestEntry]
}

type manifestEntry struct {
	key   string // bucket code + record key
	rev   uint64
	flags byte
}

func (e manifestEntry) tableKey() string { return e.key }

// Entry flags.
const (
	// flagReencrypt marks a secret whose readers changed while the acting
	// member could not read it: the next reader re-encrypts it.
	flagReencrypt byte = 1 << iota
)

// Bucket codes used in manifest entries.
const (
	codeMeta    byte = 'm'
	codeMembers byte = 'u'
	codeSecrets byte = 's'
)

func manifestKey(code byte, key []byte) string { return string(code) + string(key) }

// get returns the entry for key.
func (m *manifest) get(key string) (manifestEntry, bool) { return m.entries.get(key) }

// set adds or replaces the entry with e's key.
func (m *manifest) set(e manifestEntry) { m.entries.set(e) }

// remove deletes the entry for key, if any.
func (m *manifest) remove(key string) { m.entries.remove(key) }

// count returns how many entries belong to a bucket.
func (m *manifest) count(code byte) int {
	n := 0
	for _, e := range m.entries.all() {
		if e.key[0] == code {
			n++
		}
	}
	return n
}

const manifestVersion = 1

// maxManifestEntries bounds decoding of a hostile manifest; a real vault has
// at most tens of thousands of records.
const maxManifestEntries = 1 << 22

func (m *manifest) marshal() []byte {
	all := m.entries.all()
	n := 1 + 8 + 8 + 4
	for _, e := range all {
		n += 1 + len(e.key) + 8 + 1
	}
	b := make([]byte, 0, n)
	b = append(b, manifestVersion)
	b = binary.BigEndian.AppendUint64(b, m.counter)
	b = binary.BigEndian.AppendUint64(b, m.logLen)
	b = binary.BigEndian.AppendUint32(b, uint32(len(all)))
	for _, e := range all {
		b = append(b, byte(len(e.key)))
		b = append(b, e.key...)
		b = binary.BigEndian.AppendUint64(b, e.rev)
		b = append(b, e.flags)
	}
	return b
}

var errBadManifest = errors.New("malformed manifest")

func parseManifest(b []byte) (*manifest, error) {
	if len(b) < 21 || b[0] != manifestVersion {
		return nil, errBadManifest
	}
	m := &manifest{
		counter: binary.BigEndian.Uint64(b[1:9]),
		logLen:  binary.BigEndian.Uint64(b[9:17]),
	}
	count := binary.BigEndian.Uint32(b[17:21])
	// Keys are slices of one string over the whole input, which the caller
	// hands over (it is a fresh plaintext, never written again).
	s := unsafe.String(unsafe.SliceData(b), len(b))
	off := 21
	// Each entry takes at least 12 bytes, which bounds count by the input.
	if count > maxManifestEntries || uint64(count)*12 > uint64(len(s)-off) {
		return nil, errBadManifest
	}
	entries := make([]manifestEntry, 0, count)
	for range count {
		if off >= len(s) {
			return nil, errBadManifest
		}
		kl := int(s[off])
		if kl < 2 || len(s)-off < 1+kl+9 {
			return nil, errBadManifest
		}
		e := manifestEntry{
			key:   s[off+1 : off+1+kl],
			rev:   binary.BigEndian.Uint64(b[off+1+kl:]),
			flags: s[off+1+kl+8],
		}
		// Sorted and unique, as marshal writes them: lookups rely on it.
		if n := len(entries); n > 0 && entries[n-1].key >= e.key {
			return nil, errBadManifest
		}
		entries = append(entries, e)
		off += 1 + kl + 9
	}
	if off != len(s) {
		return nil, errBadManifest
	}
	m.entries.sorted = entries
	return m, nil
}
