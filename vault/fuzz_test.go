package vault

import (
	"bytes"
	"encoding/binary"
	"testing"

	"filippo.io/age"
	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"

	"github.com/mutual-aid-vault/vault/vault/internal/naming"
	"github.com/mutual-aid-vault/vault/vault/internal/oplog"
)

// Fuzz targets for every decoder of bytes read from a vault file, this
// machine's copy, or an identity file. Each must return an error, never
// panic, on any input. The operations' own decoders are fuzzed in
// internal/oplog and internal/fold.

func FuzzParseGrant(f *testing.F) {
	k := newKeyset()
	k.add(oplog.EpochID{1}, [32]byte{2})
	k.add(oplog.EpochID{3}, [32]byte{4})
	good := k.marshalGrant(k.sortedEpochs())
	f.Add(good)
	f.Add([]byte(grantMagic))
	f.Add([]byte(grantMagic + "\xff\xff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		keys, err := parseGrant(b)
		if err != nil {
			return
		}
		again := newKeyset()
		for e, key := range keys {
			again.add(e, key)
		}
		if len(keys) > 0 && !bytes.Equal(again.marshalGrant(again.sortedEpochs()), b) && len(b) == len(good) && bytes.Equal(b, good) {
			t.Fatal("parseGrant does not round-trip")
		}
	})
}

func FuzzParseLocal(f *testing.F) {
	k := newKeyset()
	k.local = [32]byte{9}
	k.add(oplog.EpochID{1}, [32]byte{2})
	f.Add(k.marshalLocal())
	f.Add([]byte(localMagic))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := parseLocal(b)
		if err == nil && len(got.epochs) > 4096 {
			t.Fatal("more epochs than a grant can hold")
		}
	})
}

func FuzzIndexOpen(f *testing.F) {
	ik := deriveIndexKeys([32]byte{5})
	sealed, _ := ik.seal(bSecrets, []byte("k"), []byte(`{"name":"x"}`))
	f.Add(sealed)
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := ik.open(bSecrets, []byte("k"), b); err == nil && !bytes.Equal(b, sealed) {
			t.Fatal("a forged index record opened")
		}
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
		k, err := ParseMemberKey(key)
		if err != nil && len(key) > 0 && bytes.Contains([]byte(key), []byte(signTag)) {
			t.Fatalf("an accepted key line does not parse again: %v", err)
		}
		age, _, _ := bytes.Cut([]byte(key), []byte(signTag))
		if _, err := recipient(string(age)); err != nil {
			t.Fatalf("accepted key does not parse as a recipient: %v", err)
		}
		if err == nil && k.String() != key {
			t.Fatalf("key line %q does not round-trip: %q", key, k.String())
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
	r, _ := recipient(id.Recipient())
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

func FuzzDueEntry(f *testing.F) {
	e := &dueEntry{Name: "airtable", Due: 20000, Flags: dueRotateNow, Readers: []uint16{1, 7}}
	good, _ := e.MarshalBinary()
	f.Add(good)
	e.Deleted = true
	for _, k := range naming.LookAlike(e.Name) {
		e.alike = binary.AppendUvarint(e.alike, uint64(len(k)))
		e.alike = append(e.alike, k...)
	}
	withKeys, _ := e.MarshalBinary()
	f.Add(withKeys)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		var e dueEntry
		if err := e.UnmarshalBinary(b); err != nil {
			return
		}
		again, _ := e.MarshalBinary()
		if !bytes.Equal(again, b) {
			t.Fatal("due entry does not round-trip")
		}
	})
}

func FuzzKeptReminders(f *testing.F) {
	k := &keptReminders{Key: remindersKey{Day: "2026-11-26 2026-11-26", Num: 3, Admin: true}, Mark: changeMark{Tx: 9, Mark: [8]byte{1}}}
	k.Lists[remindOverdue] = reminderList{{Name: "airtable"}, {ID: [16]byte{2}, Name: "bank"}}
	good, _ := k.MarshalBinary()
	f.Add(good)
	f.Add([]byte{})
	f.Add([]byte{keptRemindersVersion, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Add(append([]byte{keptRemindersVersion, 0x80, 0x00}, good[len(k.Key.Day)+2:]...)) // a length not written the shortest way
	f.Fuzz(func(t *testing.T, b []byte) {
		var k keptReminders
		if err := k.UnmarshalBinary(b); err != nil {
			return
		}
		again, _ := k.MarshalBinary()
		if !bytes.Equal(again, b) {
			t.Fatal("kept reminders do not round-trip")
		}
	})
}

// FuzzOpenValue: a stored value (bytes from the file, checked only
// against a hash a member signed) opens to an age file or fails; what
// sealValue writes opens to what it sealed.
func FuzzOpenValue(f *testing.F) {
	k := newKeyset()
	k.add(oplog.EpochID{1}, [32]byte{2})
	sealed, err := sealValue([]byte("age-encryption.org/v1\n-> X25519 x\n"), oplog.EpochID{1}, k.epochs[oplog.EpochID{1}], k.tags[oplog.EpochID{1}])
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sealed)
	f.Add([]byte("age-encryption.org/v1\n"))
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		ageFile, err := k.openValue(b)
		if err != nil {
			return
		}
		if len(ageFile) > len(b) {
			t.Fatal("opened to more than was stored")
		}
		again, err := sealValue(ageFile, oplog.EpochID{1}, k.epochs[oplog.EpochID{1}], k.tags[oplog.EpochID{1}])
		if err != nil {
			t.Fatal(err)
		}
		if back, err := k.openValue(again); err != nil || !bytes.Equal(back, ageFile) {
			t.Fatalf("a sealed value does not open to itself: %v", err)
		}
	})
}

// A due entry keeps its name's look-alike keys; one written before they
// were kept works them out.
func TestDueEntryLookAlikeKeys(t *testing.T) {
	name := "Bank/Online1"
	old := &dueEntry{Name: name, Due: 20000, Readers: []uint16{3}}
	b, _ := old.MarshalBinary()
	var e dueEntry
	if err := e.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if e.alike != nil || e.alikeKeys() != naming.LookAlike(name) {
		t.Fatalf("old entry: alike %q, keys %q", e.alike, e.alikeKeys())
	}
	kept := *old
	kept.Deleted = true
	for _, k := range [2]string{"kept-0", "kept-1"} {
		kept.alike = binary.AppendUvarint(kept.alike, uint64(len(k)))
		kept.alike = append(kept.alike, k...)
	}
	b, _ = kept.MarshalBinary()
	e = dueEntry{}
	if err := e.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if e.alikeKeys() != [2]string{"kept-0", "kept-1"} || !e.Deleted || len(e.Readers) != 1 || e.Readers[0] != 3 {
		t.Fatalf("kept: %+v, keys %q", e, e.alikeKeys())
	}
}
