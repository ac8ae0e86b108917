package vault

import (
	"bytes"
	"encoding/base32"
	"errors"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	bolt "go.etcd.io/bbolt"

	"github.com/mutual-aid-vault/vault/vault/internal/fold"
)

// TestTOTPVectors: the test vectors of RFC 6238, appendix B.
func TestTOTPVectors(t *testing.T) {
	seeds := map[string]string{
		"SHA1":   "12345678901234567890",
		"SHA256": "12345678901234567890123456789012",
		"SHA512": "1234567890123456789012345678901234567890123456789012345678901234",
	}
	tests := []struct {
		unix int64
		alg  string
		want string
	}{
		{59, "SHA1", "94287082"}, {59, "SHA256", "46119246"}, {59, "SHA512", "90693936"},
		{1111111109, "SHA1", "07081804"}, {1111111109, "SHA256", "68084774"}, {1111111109, "SHA512", "25091201"},
		{1111111111, "SHA1", "14050471"}, {1111111111, "SHA256", "67062674"}, {1111111111, "SHA512", "99943326"},
		{1234567890, "SHA1", "89005924"}, {1234567890, "SHA256", "91819424"}, {1234567890, "SHA512", "93441116"},
		{2000000000, "SHA1", "69279037"}, {2000000000, "SHA256", "90698825"}, {2000000000, "SHA512", "38618901"},
		{20000000000, "SHA1", "65353130"}, {20000000000, "SHA256", "77737706"}, {20000000000, "SHA512", "47863826"},
	}
	for _, tt := range tests {
		secret := base32.StdEncoding.EncodeToString([]byte(seeds[tt.alg]))
		uri := "otpauth://totp/RFC:test?secret=" + secret + "&algorithm=" + tt.alg + "&digits=8&period=30"
		totp, err := ParseTOTP(NewValue([]byte(uri)))
		if err != nil {
			t.Fatal(err)
		}
		code, left := totp.Code(time.Unix(tt.unix, 0))
		if code != tt.want {
			t.Errorf("%s at %d: %s, want %s", tt.alg, tt.unix, code, tt.want)
		}
		if wantLeft := time.Duration(30-tt.unix%30) * time.Second; left != wantLeft {
			t.Errorf("%s at %d: %v left, want %v", tt.alg, tt.unix, left, wantLeft)
		}
	}
	// A bare seed is SHA1, 6 digits, 30 seconds: the last 6 digits.
	bare, err := ParseTOTP(NewValue([]byte(strings.ToLower(base32.StdEncoding.EncodeToString([]byte(seeds["SHA1"]))))))
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := bare.Code(time.Unix(59, 0)); code != "287082" {
		t.Fatalf("bare seed: %s", code)
	}
}

// TestParseTOTP: what a seed may be, and errors that never quote it.
func TestParseTOTP(t *testing.T) {
	const seed = "JBSWY3DPEHPK3PXPJBSWY3DP"
	tests := []struct {
		in   string
		want string // "" for no error
	}{
		{seed, ""},
		{"jbsw y3dp ehpk 3pxp jbsw y3dp\n", ""},
		{"otpauth://totp/Inbox:team@example.org?secret=" + seed + "&issuer=Inbox", ""},
		{"otpauth://totp/x?secret=" + seed + "&algorithm=sha512&digits=8&period=60", ""},
		{"", "empty"},
		{"otpauth://hotp/x?secret=" + seed + "&counter=1", "time-based"},
		{"otpauth://totp/x?issuer=y", "no secret"},
		{"otpauth://totp/x?secret=" + seed + "&algorithm=MD5", "SHA1, SHA256 or SHA512"},
		{"otpauth://totp/x?secret=" + seed + "&digits=7", "6 or 8 digits"},
		{"otpauth://totp/x?secret=" + seed + "&period=0", "period"},
		{"otpauth://totp/x?secret=" + seed + "&period=x", "period"},
		{"otpauth://totp/x%zz?secret=" + seed, "not a valid otpauth"},
		{seed + "1", "not base32"},
		{"JBSWY3DP", "too short"},
		{strings.Repeat("A", 5000), "longer than"},
	}
	for _, tt := range tests {
		totp, err := ParseTOTP(NewValue([]byte(tt.in)))
		if tt.want == "" {
			if err != nil || totp.IsZero() {
				t.Errorf("%q: %v", tt.in, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %v, want one saying %q", tt.in, err, tt.want)
			continue
		}
		mustIs(t, err, ErrInvalid)
		if strings.Contains(strings.ToUpper(err.Error()), seed[:8]) {
			t.Errorf("%q: the error quotes the seed: %v", tt.in, err)
		}
	}
	totp, _ := ParseTOTP(NewValue([]byte(seed)))
	for _, s := range []string{totp.String(), totp.GoString(), strings.TrimSpace(strings.Join([]string{"%v", "%+v", "%#v", "%s"}, " "))} {
		if strings.Contains(s, seed) {
			t.Fatalf("a TOTP prints its seed: %s", s)
		}
	}
}

const (
	seedA = "JBSWY3DPEHPK3PXPJBSWY3DP"
	seedB = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
)

// codeOf is the code of seed at the group's clock.
func (g *group) codeOf(seed string) string {
	g.t.Helper()
	totp, err := ParseTOTP(NewValue([]byte(seed)))
	if err != nil {
		g.t.Fatal(err)
	}
	code, _ := totp.Code(g.clock.t)
	return code
}

// otpCode returns the code v reads for a secret.
func otpCode(t *testing.T, v *Vault, name string, version int) string {
	t.Helper()
	totp, err := v.TOTP(name, version)
	if err != nil {
		t.Fatalf("TOTP %s: %v", name, err)
	}
	code, _ := totp.Code(v.clock.Now())
	return code
}

// seedFile checks the age file of a secret's current seed: readable with
// the stock age library by exactly the value's readers (members and
// recovery keys), and not by anyone else.
func (g *group) seedFile(as, secret string, readers, others []string) {
	g.t.Helper()
	var ct []byte
	var n int
	g.do(as, func(v *Vault) {
		v.view(func(r *reader) error {
			s, err := r.byName(secret)
			if err != nil {
				g.t.Fatal(err)
			}
			cur := s.CurrentVersion()
			if cur.OTP.IsZero() {
				g.t.Fatalf("%s has no seed", secret)
			}
			ct, err = r.otpBlob(cur)
			if err != nil {
				g.t.Fatal(err)
			}
			n = len(cur.Readers)
			return nil
		})
	})
	if got := bytes.Count(ct, []byte("\n-> X25519 ")); got != n {
		g.t.Fatalf("the seed of %s has %d stanzas for %d readers", secret, got, n)
	}
	for _, name := range readers {
		rd, err := age.Decrypt(bytes.NewReader(ct), g.ids[name].id)
		if err != nil {
			g.t.Fatalf("%s cannot decrypt the seed of %s: %v", name, secret, err)
		}
		var b bytes.Buffer
		b.ReadFrom(rd)
		if _, err := ParseTOTP(NewValue(b.Bytes())); err != nil {
			g.t.Fatalf("the seed of %s: %v", secret, err)
		}
	}
	for _, name := range others {
		if _, err := age.Decrypt(bytes.NewReader(ct), g.ids[name].id); err == nil {
			g.t.Fatalf("%s can decrypt the seed of %s", name, secret)
		}
	}
}

// TestTOTPStore: a seed is read by the value's readers only, goes with
// the value when it is shared, re-encrypted after a removal, set anew or
// rotated, and stays in history with its version.
func TestTOTPStore(t *testing.T) {
	g := newGroup(t, Classic, "alice", "bob", "carol", "dan")
	g.do("alice", func(v *Vault) {
		err := v.AddMany([]Entry{{Secret: NewSecret{Name: "inbox", Share: []string{"bob", "dan"}}, Value: NewValue([]byte("pw1")), TOTP: NewValue([]byte(seedA))}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.Add(NewSecret{Name: "plain"}, NewValue([]byte("x"))); err != nil {
			t.Fatal(err)
		}
		_, err = v.TOTP("plain", 0)
		mustIs(t, err, ErrNoTOTP)
		mustIs(t, err, ErrNotFound)
		_, err = v.TOTP("nothing", 0)
		mustIs(t, err, ErrNoSecret)
		err = v.AddMany([]Entry{{Secret: NewSecret{Name: "bad"}, Value: NewValue([]byte("x")), TOTP: NewValue([]byte("not a seed"))}})
		mustIs(t, err, ErrInvalid)
	})
	want := g.codeOf(seedA)
	g.do("bob", func(v *Vault) {
		if got := otpCode(t, v, "inbox", 0); got != want {
			t.Fatalf("bob reads %s, want %s", got, want)
		}
		if s, _ := v.Get("inbox"); !s.TOTP {
			t.Fatalf("inbox = %+v", s)
		}
	})
	g.do("carol", func(v *Vault) {
		_, err := v.TOTP("inbox", 0)
		mustIs(t, err, ErrNotReader)
		_, err = v.SetTOTP("inbox", NewValue([]byte(seedB)))
		mustIs(t, err, ErrNotReader)
	})
	g.seedFile("alice", "inbox", []string{"alice", "bob", "dan"}, []string{"carol"})

	// Shared with carol by a reader: re-encrypted at once, seed included.
	g.do("bob", func(v *Vault) {
		if _, err := v.Share("inbox", []string{"carol"}); err != nil {
			t.Fatal(err)
		}
	})
	g.do("carol", func(v *Vault) {
		if got := otpCode(t, v, "inbox", 0); got != want {
			t.Fatalf("carol reads %s, want %s", got, want)
		}
	})
	g.seedFile("carol", "inbox", []string{"alice", "bob", "carol", "dan"}, nil)

	// A new password keeps the seed; the old version keeps its own.
	g.do("carol", func(v *Vault) {
		if _, err := v.Set("inbox", NewValue([]byte("pw2"))); err != nil {
			t.Fatal(err)
		}
		if got := otpCode(t, v, "inbox", 0); got != want {
			t.Fatalf("after set: %s, want %s", got, want)
		}
	})
	// Removing dan re-encrypts the value and its seed without dan.
	g.do("alice", func(v *Vault) {
		if _, err := v.RemoveMember("dan", false, nil); err != nil {
			t.Fatal(err)
		}
	})
	g.seedFile("bob", "inbox", []string{"alice", "bob", "carol"}, []string{"dan"})

	// A new seed, then a rotation that keeps it.
	g.do("bob", func(v *Vault) {
		if _, err := v.SetTOTP("inbox", NewValue([]byte("otpauth://totp/Inbox?secret="+seedB))); err != nil {
			t.Fatal(err)
		}
		if got := otpCode(t, v, "inbox", 0); got != g.codeOf(seedB) {
			t.Fatalf("after a new seed: %s", got)
		}
		if got := reveal(t, v, "inbox"); got != "pw2" {
			t.Fatalf("the value changed with the seed: %q", got)
		}
		if _, err := v.StartRotation("inbox", NewValue([]byte("pw3"))); err != nil {
			t.Fatal(err)
		}
		if _, err := v.ConfirmRotation("inbox"); err != nil {
			t.Fatal(err)
		}
		if got := otpCode(t, v, "inbox", 0); got != g.codeOf(seedB) {
			t.Fatalf("after a rotation: %s", got)
		}
	})
	g.seedFile("carol", "inbox", []string{"alice", "bob", "carol"}, []string{"dan"})
	g.do("carol", func(v *Vault) {
		hist, err := v.History("inbox")
		if err != nil || len(hist) != 3 {
			t.Fatalf("history = %+v, %v", hist, err)
		}
		for _, h := range hist {
			if !h.TOTP {
				t.Fatalf("version %d lost its seed: %+v", h.N, hist)
			}
		}
		if got := otpCode(t, v, "inbox", 1); got != want {
			t.Fatalf("version 1 reads %s, want the first seed's %s", got, want)
		}
		// Removing the seed.
		if _, err := v.SetTOTP("inbox", Value{}); err != nil {
			t.Fatal(err)
		}
		_, err = v.TOTP("inbox", 0)
		mustIs(t, err, ErrNoTOTP)
		_, err = v.SetTOTP("inbox", Value{})
		mustIs(t, err, ErrNoTOTP)
		if got := reveal(t, v, "inbox"); got != "pw3" {
			t.Fatalf("the value changed with the seed: %q", got)
		}
	})
}

// TestTOTPPendingRotation: a seed set while a rotation is pending goes
// with the pending value too.
func TestTOTPPendingRotation(t *testing.T) {
	g := newGroup(t, Classic, "alice", "bob")
	g.do("alice", func(v *Vault) {
		if _, err := v.Add(NewSecret{Name: "inbox", Share: []string{"bob"}}, NewValue([]byte("pw1"))); err != nil {
			t.Fatal(err)
		}
		if _, err := v.StartRotation("inbox", NewValue([]byte("pw2"))); err != nil {
			t.Fatal(err)
		}
		if _, err := v.SetTOTP("inbox", NewValue([]byte(seedA))); err != nil {
			t.Fatal(err)
		}
	})
	g.do("bob", func(v *Vault) {
		if _, err := v.ConfirmRotation("inbox"); err != nil {
			t.Fatal(err)
		}
		if got := otpCode(t, v, "inbox", 0); got != g.codeOf(seedA) {
			t.Fatalf("after confirming: %s", got)
		}
	})
}

// TestForgerySwapSeed: the seed's age file is bound by hash to the signed
// operation. A member who swaps in an age file of their own seed, under
// the same name in the shared file, is caught; and one who is not a
// reader cannot set a seed with an operation of their own.
func TestForgerySwapSeed(t *testing.T) {
	g := newForgeryGroup(t)
	g.do("alice", func(v *Vault) {
		if _, err := v.SetTOTP("bank", NewValue([]byte(seedA))); err != nil {
			t.Fatal(err)
		}
	})
	var h fold.Hash
	g.do("carol", func(v *Vault) {
		v.view(func(r *reader) error {
			s, _ := r.byName("bank")
			h = s.CurrentVersion().OTP
			return nil
		})
	})
	sam := g.insider("sam")
	forged, blobs := sam.value(seedB, "alice", "carol", "sam")
	sam.file(func(tx *bolt.Tx) error { return tx.Bucket([]byte(bBlobs)).Put(h[:], blobs[forged.Blob]) })
	// A machine that saw the true seed keeps it; one that never saw it
	// refuses the file rather than take the swapped one.
	g.do("alice", func(v *Vault) {
		if got := otpCode(t, v, "bank", 0); got != g.codeOf(seedA) {
			t.Fatal("the swapped seed was taken")
		}
	})
	g.state["carol"] = t.TempDir()
	if v, err := Open(g.path, g.opts("carol")); err == nil {
		totp, err := v.TOTP("bank", 0)
		if err == nil {
			if code, _ := totp.Code(g.clock.t); code != g.codeOf(seedA) {
				t.Fatal("the swapped seed was taken")
			}
		} else if !errors.Is(err, ErrTampered) && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("swapped seed: %v", err)
		}
		v.Close()
	} else if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrTampered) {
		t.Fatalf("open with a swapped seed: %v", err)
	}
	// alice's next change puts the true seed back in the shared file.
	g.do("alice", func(v *Vault) {
		if _, err := v.Edit("bank", SecretEdit{Note: ptr("seed check")}); err != nil {
			t.Fatal(err)
		}
	})
	g.state["carol"] = t.TempDir()
	g.do("carol", func(v *Vault) {
		if got := otpCode(t, v, "bank", 0); got != g.codeOf(seedA) {
			t.Fatal("the swapped seed was taken")
		}
	})
	// sam, not a reader, sets a seed of his own.
	bank := g.secretID("alice", "bank")
	fv, vb := sam.value("bank-pin", "alice", "carol", "sam")
	var cur fold.OpID
	g.do("alice", func(v *Vault) {
		v.view(func(r *reader) error {
			s, _ := r.byName("bank")
			cur = s.Current
			return nil
		})
	})
	sv, sb := sam.value(seedB, "alice", "carol", "sam")
	for k, b := range sb {
		vb[k] = b
	}
	sam.forge(fold.KindTOTP, fold.SecretReencrypt{Secret: bank, Items: []fold.Reencrypt{{Version: cur, Value: fv}}, OTP: []fold.Hash{sv.Blob}}, fold.MemberID{}, nil, nil, vb)
	v := g.mustWarnRefused("alice", "sam tried to change the two-factor seed of bank")
	if got := otpCode(t, v, "bank", 0); got != g.codeOf(seedA) {
		t.Fatal("sam's seed was taken")
	}
}

// TestSeedBlobsLiveAndDead: a seed's age file is kept while its version
// uses it and dropped once superseded, as a value's is. Before, a fold
// from scratch (a merge of copies that forked) dropped every seed as
// unused, and a re-encryption left the superseded seed, readable by whom
// it no longer was for, in the file.
func TestSeedBlobsLiveAndDead(t *testing.T) {
	g := newGroup(t, Classic, "alice", "bob")
	g.do("alice", func(v *Vault) {
		if _, err := v.Add(NewSecret{Name: "inbox", Share: []string{"bob"}}, NewValue([]byte("pw"))); err != nil {
			t.Fatal(err)
		}
		if _, err := v.SetTOTP("inbox", NewValue([]byte("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP"))); err != nil {
			t.Fatal(err)
		}
	})
	g.do("bob", func(*Vault) {})
	// Copies that forked: alice adds on one, bob on the other.
	fork := readFile(t, g.path)
	g.do("alice", func(v *Vault) {
		if _, err := v.Add(NewSecret{Name: "a"}, NewValue([]byte("x"))); err != nil {
			t.Fatal(err)
		}
	})
	mine := readFile(t, g.path)
	replaceFile(t, g.path, fork)
	o := g.opts("bob")
	o.StateDir = t.TempDir()
	v, err := Open(g.path, o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Add(NewSecret{Name: "b", Share: []string{"alice"}}, NewValue([]byte("y"))); err != nil {
		t.Fatal(err)
	}
	v.Close()
	other := g.path + ".other"
	replaceFile(t, other, readFile(t, g.path))
	replaceFile(t, g.path, mine)
	g.do("alice", func(v *Vault) {
		if _, err := v.Merge(other); err != nil {
			t.Fatal(err)
		}
		if _, err := v.TOTP("inbox", 0); err != nil {
			t.Fatalf("after a merge of forked copies: %v", err)
		}
	})
	g.do("bob", func(v *Vault) {
		if _, err := v.TOTP("inbox", 0); err != nil {
			t.Fatalf("bob, after a merge of forked copies: %v", err)
		}
	})
	// bob's removal re-encrypts the value and its seed without him: the
	// seed he could read leaves the file.
	g.do("alice", func(v *Vault) {
		if _, err := v.RemoveMember("bob", false, nil); err != nil {
			t.Fatal(err)
		}
	})
	db, err := bolt.Open(g.path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.View(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte(bBlobs)).ForEach(func(k, ct []byte) error {
			if val, err := decryptValue(ct, g.ids["bob"], -1); err == nil && strings.HasPrefix(string(val.Bytes()), "otpauth") {
				t.Error("the seed bob could read is still in the file after his removal")
			}
			return nil
		})
	})
}
