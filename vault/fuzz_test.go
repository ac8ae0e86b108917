package vault

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"

	"filippo.io/age"
	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// Fuzz targets for every decoder of bytes read from the vault file or from
// an identity file. Each must return an error, never panic, on any input.

func FuzzParseManifest(f *testing.F) {
	m := &manifest{counter: 3, logLen: 2}
	m.set(manifestEntry{key: manifestKey(codeSecrets, bytes.Repeat([]byte{1}, 32)), rev: 3, flags: flagReencrypt})
	m.set(manifestEntry{key: manifestKey(codeMembers, bytes.Repeat([]byte{2}, 16)), rev: 1})
	f.Add(m.marshal())
	f.Add([]byte{})
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseManifest(b)
		if err != nil {
			return
		}
		// What parses must survive a round trip unchanged.
		again, err := parseManifest(m.marshal())
		if err != nil || again.counter != m.counter || again.logLen != m.logLen || !slices.Equal(again.entries.all(), m.entries.all()) {
			t.Fatalf("round trip changed the manifest: %v", err)
		}
		if !bytes.Equal(m.marshal(), b) {
			t.Fatal("parseManifest accepted bytes it does not write back")
		}
	})
}

func FuzzParseWrap(f *testing.F) {
	ring, _ := newKeyring([16]byte{7}, 3)
	f.Add(ring.marshalWrap())
	f.Add([]byte(wrapMagic))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := parseWrap(b, [16]byte{7})
		if err == nil && !bytes.Equal(got.marshalWrap(), b) {
			t.Fatal("parseWrap accepted bytes it does not write back")
		}
	})
}

func FuzzOpenRecord(f *testing.F) {
	ring, _ := newKeyring([16]byte{7}, 1)
	sealed, _ := ring.sealRecord(bucketSecrets, []byte("k"), 1, []byte(`{"name":"x"}`))
	f.Add(sealed)
	f.Add([]byte{1, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := ring.openRecord(bucketSecrets, []byte("k"), 1, b); err == nil && !bytes.Equal(b, sealed) {
			t.Fatal("a forged record opened")
		}
	})
}

// FuzzDecodeRecords covers the JSON decoding of every sealed record type,
// as if a member with the vault key had written garbage.
func FuzzDecodeRecords(f *testing.F) {
	s := secretRecord{Name: "x", Current: &version{N: 1, SHA256: make([]byte, 32), Readers: []ID{{1}}}}
	b, _ := json.Marshal(s)
	f.Add(b)
	m, _ := json.Marshal(memberRecord{Name: "a", Groups: []string{"g"}})
	f.Add(m)
	f.Add([]byte(`{"rotate_every":"99999y"}`))
	f.Add([]byte(`{"current":{"value":"zz"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		tx := &txn{v: &Vault{path: "fuzz"}}
		if s, err := tx.decodeSecret(b); err == nil {
			_ = s.versions()
			_ = s.latest()
		}
		var mr memberRecord
		_ = decodeRecord(b, &mr)
		var sr settingsRecord
		_ = decodeRecord(b, &sr)
		var er eventRecord
		_ = decodeRecord(b, &er)
	})
}

func FuzzParseIdentity(f *testing.F) {
	id, _ := GenerateIdentity(Classic)
	f.Add([]byte("# comment\n" + id.secret + "\n"))
	f.Add([]byte("AGE-SECRET-KEY-PQ-1\n"))
	f.Add([]byte("AGE-PLUGIN-YUBIKEY-1XYZ\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := parseIdentity(b)
		if err != nil {
			// Errors never repeat the file's content.
			if len(b) > 16 && bytes.Contains([]byte(err.Error()), b) {
				t.Fatal("error message repeats the identity file")
			}
			return
		}
		if got.PublicKey() == "" {
			t.Fatal("identity without a public key")
		}
	})
}

func FuzzDecryptIdentityFile(f *testing.F) {
	f.Add([]byte("age-encryption.org/v1\n-> scrypt AAAA 10\nAAAA\n--- AAAA\n"))
	f.Add([]byte("-----BEGIN AGE ENCRYPTED FILE-----\nYWdl\n-----END AGE ENCRYPTED FILE-----\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = decryptWithPassphrase(b, NewValue([]byte("passphrase")))
	})
}

func FuzzParsePublicKey(f *testing.F) {
	id, _ := GenerateIdentity(Classic)
	f.Add(id.PublicKey())
	f.Add("age1pq1")
	f.Add("AGE-SECRET-KEY-1ABC")
	f.Add("age1yubikey1q")
	f.Fuzz(func(t *testing.T, s string) {
		key, _, err := ParsePublicKey(s)
		if err != nil {
			if len(s) > 12 && bytes.Contains([]byte(err.Error()), []byte(s)) {
				t.Fatal("error message repeats the input")
			}
			return
		}
		if _, err := recipient(key); err != nil {
			t.Fatalf("accepted key does not parse as a recipient: %v", err)
		}
	})
}

func FuzzNames(f *testing.F) {
	for _, s := range []string{"airtable", "intake/call-log", "café", "a//b", "\u202e", " x", "@g"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, clean := range []func(string) (string, error){CleanSecretName, CleanMemberName, CleanGroupName} {
			n, err := clean(s)
			if err != nil {
				continue
			}
			again, err := clean(n)
			if err != nil || again != n {
				t.Fatalf("clean(%q) = %q is not stable: %q, %v", s, n, again, err)
			}
			if got, want := foldName(n), cases.Fold().String(norm.NFC.String(n)); got != want {
				t.Fatalf("foldName(%q) = %q, want %q", n, got, want)
			}
		}
	})
}

// FuzzDecryptValue feeds arbitrary age files to value decryption, as stored
// values are read from the file.
func FuzzDecryptValue(f *testing.F) {
	id, _ := GenerateIdentity(Classic)
	r, _ := recipient(id.PublicKey())
	good, _ := encryptValue(NewValue([]byte("hunter2")), []age.Recipient{r})
	f.Add(good)
	f.Add([]byte("age-encryption.org/v1\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := decryptValue(b, id, 0)
		if err == nil && v.Len() > MaxValueSize {
			t.Fatal("oversized value accepted")
		}
	})
}

// FuzzParseState feeds the per-vault state file, read from the member's
// own machine, with anything.
func FuzzParseState(f *testing.F) {
	f.Add([]byte(`{"wrap":"00112233445566778899aabbccddeeff","counter":7}`))
	f.Add([]byte(`{"wrap":"zz"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = parseState(b)
	})
}

func FuzzParseDueIndex(f *testing.F) {
	d := &dueIndex{}
	d.entries.set(dueEntry{key: "k1", name: "airtable", due: 20000, flags: dueRotateNow, readers: []byte{0b110}})
	d.entries.set(dueEntry{key: "k2", name: "", due: -5})
	f.Add(d.marshal())
	f.Add([]byte{1, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := parseDueIndex(b)
		if err != nil {
			return
		}
		if !bytes.Equal(d.marshal(), b) {
			t.Fatal("parseDueIndex accepted bytes it does not write back")
		}
		for i, e := range d.entries.all() {
			_ = e.reads(uint16(i))
		}
	})
}

func FuzzParseDueSummary(f *testing.F) {
	s := &dueSummary{review: 20500, waiting: true, all: memberDue{earliest: 3, flags: 1}, members: []memberDue{{num: 1, earliest: 4}, {num: 7, earliest: -2, flags: 3}}}
	f.Add(s.marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := parseDueSummary(b)
		if err != nil {
			return
		}
		if !bytes.Equal(s.marshal(), b) {
			t.Fatal("parseDueSummary accepted bytes it does not write back")
		}
		_ = s.member(7)
	})
}
