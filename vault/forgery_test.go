package vault

import (
	"crypto/rand"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	bolt "go.etcd.io/bbolt"

	"github.com/mutual-aid-vault/vault/vault/internal/fold"
	"github.com/mutual-aid-vault/vault/vault/internal/oplog"
)

// The insider-forgery suite: a member who holds the vault keys and their
// own identity edits the shared file with other tools, bypassing every
// check of this program. Each scenario must end in a clear error or a loud
// warning naming what was refused, and never in the forgery taking effect.

// insider is a member working on the shared file directly.
type insider struct {
	t     *testing.T
	g     *group
	name  string
	id    *Identity
	me    fold.MemberID
	keys  *keyset
	vault oplog.ID
	epoch oplog.EpochID
	clock time.Time
	// hidden leaves the file's heads hint alone.
	hidden bool
}

// insider captures what member name holds: their identity, member ID and
// every vault key their machine has.
func (g *group) insider(name string) *insider {
	g.t.Helper()
	in := &insider{t: g.t, g: g, name: name, id: g.ids[name], clock: g.clock.t}
	g.do(name, func(v *Vault) {
		in.me, in.keys, in.vault = v.me, v.keys, v.vaultID
		a, err := v.authState()
		if err != nil {
			g.t.Fatal(err)
		}
		in.epoch = a.Epoch
	})
	return in
}

// ops decrypts every operation in the shared file the insider can read.
func (in *insider) ops() map[oplog.ID]*oplog.Op {
	in.t.Helper()
	out := map[oplog.ID]*oplog.Op{}
	in.file(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte(bOps)).ForEach(func(k, env []byte) error {
			if e, key := oplog.FindKey(env, in.keys); key != nil {
				if op, err := oplog.Open(env, e, key); err == nil {
					out[op.ID] = op
				}
			}
			return nil
		})
	})
	return out
}

// heads returns the heads of the shared file's operations.
func (in *insider) heads() []oplog.ID {
	ops := in.ops()
	parents := map[oplog.ID][]oplog.ID{}
	for id, op := range ops {
		parents[id] = op.Body.Parents
	}
	return oplog.Order(parents, nil).Heads()
}

// file edits the shared file in place with bbolt, as other tools would.
func (in *insider) file(fn func(tx *bolt.Tx) error) {
	in.t.Helper()
	db, err := bolt.Open(in.g.path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		in.t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(fn); err != nil {
		in.t.Fatal(err)
	}
}

// forge signs an operation with signer (the insider's own key unless
// given), claims author as its author (the insider unless given), seals it
// with the current vault key and puts it, with blobs, into the shared file.
func (in *insider) forge(kind string, payload any, author fold.MemberID, signer Signer, parents []oplog.ID, blobs map[oplog.Hash][]byte) oplog.ID {
	in.t.Helper()
	if signer == nil {
		signer = in.id
	}
	if author.IsZero() {
		author = in.me
	}
	if parents == nil {
		parents = in.heads()
	}
	raw, err := fold.Encode(kind, payload)
	if err != nil {
		in.t.Fatal(err)
	}
	in.clock = in.clock.Add(time.Second)
	op, err := oplog.Sign(oplog.Body{Vault: in.vault, Epoch: in.epoch, Parents: parents, Author: author, At: in.clock, Kind: kind, Payload: raw}, signer)
	if err != nil {
		in.t.Fatal(err)
	}
	env, err := oplog.Seal(op, in.keys.epochs[in.epoch])
	if err != nil {
		in.t.Fatal(err)
	}
	in.file(func(tx *bolt.Tx) error {
		for h, b := range blobs {
			if err := tx.Bucket([]byte(bBlobs)).Put(h[:], b); err != nil {
				return err
			}
		}
		if in.hidden {
			return tx.Bucket([]byte(bOps)).Put(op.ID[:], env)
		}
		// A forger who wants the change seen names it among the file's
		// heads, as the program does.
		meta := tx.Bucket([]byte(bMeta))
		if err := meta.Put([]byte(metaHead), append(append([]byte(nil), meta.Get([]byte(metaHead))...), op.ID[:]...)); err != nil {
			return err
		}
		return tx.Bucket([]byte(bOps)).Put(op.ID[:], env)
	})
	return op.ID
}

// value encrypts a value to the given members' keys, as a forger would.
func (in *insider) value(val string, readers ...string) (fold.Value, map[oplog.Hash][]byte) {
	in.t.Helper()
	var fv fold.Value
	blobs := map[oplog.Hash][]byte{}
	var rs []string
	in.g.do(in.name, func(v *Vault) {
		a, _ := v.authState()
		for _, n := range readers {
			m := a.ByName(n)
			if m == nil {
				in.t.Fatalf("no member %s", n)
			}
			fv.Readers = append(fv.Readers, m.ID)
			rs = append(rs, m.Age)
		}
	})
	var recips []age.Recipient
	for _, r := range rs {
		rec, err := recipient(r)
		if err != nil {
			in.t.Fatal(err)
		}
		recips = append(recips, rec)
	}
	ct, err := encryptValue(NewValue([]byte(val)), recips)
	if err != nil {
		in.t.Fatal(err)
	}
	fv.Blob = oplog.HashOf(ct)
	blobs[fv.Blob] = ct
	return fv, blobs
}

// memberID returns the ID of member name.
func (g *group) memberID(name string) fold.MemberID {
	g.t.Helper()
	var id fold.MemberID
	g.do(name, func(v *Vault) { id = v.me })
	return id
}

// secretID returns the ID of a secret, as name reads it.
func (g *group) secretID(as, secret string) fold.SecretID {
	g.t.Helper()
	var id fold.SecretID
	g.do(as, func(v *Vault) {
		v.view(func(r *reader) error {
			s, err := r.byName(secret)
			if err != nil {
				g.t.Fatal(err)
			}
			id = s.ID
			return nil
		})
	})
	return id
}

// mustWarnRefused opens the vault as name and checks that it warns, naming
// the refused change.
func (g *group) mustWarnRefused(name string, want ...string) *Vault {
	g.t.Helper()
	v := g.as(name)
	all := strings.Join(v.Warnings(), "\n")
	if !strings.Contains(all, "refused a change") {
		g.t.Fatalf("no warning of a refused change; warnings: %q", v.Warnings())
	}
	for _, w := range want {
		if !strings.Contains(all, w) {
			g.t.Fatalf("the warning does not say %q: %q", w, all)
		}
	}
	return v
}

func newForgeryGroup(t *testing.T) *group {
	g := newGroup(t, Classic, "alice", "sam", "carol")
	g.do("alice", func(v *Vault) {
		if _, err := v.EditMember("carol", MemberEdit{AddGroups: []string{"cash"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := v.Add(NewSecret{Name: "bank", URL: "https://bank.example", Share: []string{"@cash"}}, NewValue([]byte("bank-pin"))); err != nil {
			t.Fatal(err)
		}
	})
	return g
}

func TestForgerySelfPromotion(t *testing.T) {
	g := newForgeryGroup(t)
	sam := g.insider("sam")
	yes := true
	sam.forge(fold.KindMemberEdit, fold.MemberEdit{Member: sam.me, Admin: &yes}, fold.MemberID{}, nil, nil, nil)
	v := g.mustWarnRefused("alice", "sam tried to change sam", "only an admin can change members")
	ms, _ := v.Members()
	for _, m := range ms {
		if m.Name == "sam" && m.Admin {
			t.Fatal("sam made herself an admin")
		}
	}
	// Her own machine refuses it too: she cannot act as an admin.
	g.do("sam", func(v *Vault) {
		_, err := v.AddMember(NewMember{Name: "mallory", PublicKey: g.member("mallory", Classic).PublicKey()})
		mustIs(t, err, ErrNotAdmin)
	})
}

func TestForgeryAddMember(t *testing.T) {
	g := newForgeryGroup(t)
	sam := g.insider("sam")
	mallory := g.member("mallory", Classic)
	var mid fold.MemberID
	rand.Read(mid[:])
	grant, err := sam.keys.grant(mallory.Recipient(), sam.keys.sortedEpochs())
	if err != nil {
		t.Fatal(err)
	}
	h := oplog.HashOf(grant)
	sam.file(func(tx *bolt.Tx) error { return tx.Bucket([]byte(bGrants)).Put(h[:], grant) })
	sam.forge(fold.KindMemberAdd, fold.MemberAdd{
		Member: fold.NewMember{ID: mid, Name: "mallory", Age: mallory.Recipient(), Sign: mallory.SigningKey(), Admin: true},
		Grant:  fold.Grant{To: mid, Blob: h, Epochs: sam.keys.sortedEpochs()}}, fold.MemberID{}, nil, nil, nil)
	v := g.mustWarnRefused("alice", "sam tried to add mallory", "only an admin can add members")
	if ms, _ := v.Members(); slices.ContainsFunc(ms, func(m Member) bool { return m.Name == "mallory" }) {
		t.Fatal("a non-admin added a member")
	}
	// mallory holds keys sam leaked to her (sam could leak them anyway),
	// but she is no member: the vault refuses her.
	_, err = Open(g.path, g.opts("mallory"))
	mustIs(t, err, ErrNotMember)
}

func TestForgeryRecoveryKey(t *testing.T) {
	g := newForgeryGroup(t)
	sam := g.insider("sam")
	mallory := g.member("mallory", Classic)
	var mid fold.MemberID
	rand.Read(mid[:])
	// A recovery key can only come with the vault's first change; a
	// member addition marked as one, or a second first change, is refused.
	sam.forge(fold.KindMemberAdd, fold.MemberAdd{
		Member: fold.NewMember{ID: mid, Name: "backup", Age: mallory.Recipient(), Recovery: true},
		Grant:  fold.Grant{To: mid, Blob: oplog.Hash{1}, Epochs: sam.keys.sortedEpochs()}}, fold.MemberID{}, nil, nil, nil)
	sam.forge(fold.KindCreate, fold.Create{Name: "x", Kind: "x25519",
		Creator:  fold.NewMember{ID: sam.me, Name: "sam", Age: sam.id.Recipient(), Sign: sam.id.SigningKey(), Admin: true},
		Recovery: []fold.NewMember{{ID: mid, Name: "backup", Age: mallory.Recipient(), Recovery: true}},
		Grants:   []fold.Grant{{To: sam.me, Blob: oplog.Hash{1}, Epochs: sam.keys.sortedEpochs()}}}, fold.MemberID{}, nil, nil, nil)
	v := g.mustWarnRefused("alice", "sam tried to add", "sam tried to create the vault again")
	if rks, _ := v.RecoveryKeys(); len(rks) != 0 {
		t.Fatalf("recovery keys = %+v", rks)
	}
	// What is written later is not encrypted to mallory's key.
	v.Close()
	g.do("carol", func(v *Vault) {
		if _, err := v.Set("bank", NewValue([]byte("new-pin"))); err != nil {
			t.Fatal(err)
		}
		ct, err := v.Ciphertext("bank", 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := decryptValue(ct, mallory, -1); err == nil {
			t.Fatal("the planted key reads a value written afterwards")
		}
	})
}

func TestForgeryShareWithSelf(t *testing.T) {
	g := newForgeryGroup(t)
	sam := g.insider("sam")
	bank := g.secretID("alice", "bank")
	sam.forge(fold.KindSecretShare, fold.SecretShare{Secret: bank, Add: fold.Share{Members: []fold.MemberID{sam.me}}}, fold.MemberID{}, nil, nil, nil)
	g.mustWarnRefused("alice", "sam tried to change who reads bank", "neither a reader of the secret nor an admin").Close()
	// The honest reader's next change does not re-encrypt bank for sam.
	g.do("carol", func(v *Vault) {
		if _, err := v.Add(NewSecret{Name: "other"}, NewValue([]byte("x"))); err != nil {
			t.Fatal(err)
		}
		for _, n := range v.Notes() {
			if strings.Contains(n, "bank") {
				t.Fatalf("carol re-encrypted bank: %s", n)
			}
		}
	})
	g.do("sam", func(v *Vault) {
		_, err := v.Reveal("bank", 0)
		mustIs(t, err, ErrNotReader)
	})
}

func TestForgeryReplaceValueAndURL(t *testing.T) {
	g := newForgeryGroup(t)
	sam := g.insider("sam")
	bank := g.secretID("alice", "bank")
	carol := g.memberID("carol") // carol's machine has the vault from here on
	fv, blobs := sam.value("phished", "carol", "sam")
	url := "https://bank.phish.example"
	sam.forge(fold.KindSecretSet, fold.SecretValue{Secret: bank, Value: fv}, fold.MemberID{}, nil, nil, blobs)
	sam.forge(fold.KindSecretEdit, fold.SecretEdit{Secret: bank, URL: &url}, fold.MemberID{}, nil, nil, nil)
	// Signed by sam but claiming carol (a reader) as its author.
	fv2, blobs2 := sam.value("phished-2", "carol", "sam")
	sam.forge(fold.KindSecretSet, fold.SecretValue{Secret: bank, Value: fv2}, carol, nil, nil, blobs2)
	v := g.mustWarnRefused("carol", "sam tried to set a new value for bank", "sam tried to change bank", "carol tried to set a new value for bank", "signature does not match")
	if got := reveal(t, v, "bank"); got != "bank-pin" {
		t.Fatalf("bank = %q", got)
	}
	s, _ := v.Get("bank")
	if s.URL != "https://bank.example" || s.Version != 1 {
		t.Fatalf("bank = %+v", s)
	}
	hist, _ := v.History("bank")
	if len(hist) != 1 || hist[0].By != "alice" {
		t.Fatalf("history = %+v", hist)
	}
}

func TestForgeryEraseLog(t *testing.T) {
	g := newForgeryGroup(t)
	g.do("alice", func(v *Vault) {
		if _, err := v.RemoveMember("sam", false, nil); err != nil {
			t.Fatal(err)
		}
	})
	g.do("carol", func(*Vault) {}) // carol's machine sees the removal
	// Someone with the file deletes the last changes (the removal and what
	// followed) from it.
	in := g.insider("alice")
	ops := in.ops()
	var victims []oplog.ID
	for id, op := range ops {
		if op.Body.Kind == fold.KindMemberRemove || op.Body.Kind == fold.KindReencrypt {
			victims = append(victims, id)
		}
	}
	if len(victims) == 0 {
		t.Fatal("no removal found")
	}
	in.file(func(tx *bolt.Tx) error {
		for _, id := range victims {
			if err := tx.Bucket([]byte(bOps)).Delete(id[:]); err != nil {
				return err
			}
		}
		return nil
	})
	// Every machine that saw the removal puts it back, and says so.
	v := g.as("carol")
	all := strings.Join(v.Warnings(), "\n")
	if !strings.Contains(all, "this copy of the vault lacks") || !strings.Contains(all, "sam's removal") {
		t.Fatalf("warnings = %q", v.Warnings())
	}
	v.Close()
	after := g.insider("alice").ops()
	for _, id := range victims {
		if _, ok := after[id]; !ok {
			t.Fatal("an erased change was not put back")
		}
	}
}

func TestForgeryRemovedMemberRestoresOldCopy(t *testing.T) {
	g := newForgeryGroup(t)
	old := readFile(t, g.path)
	sam := g.insider("sam")
	g.do("alice", func(v *Vault) {
		if _, err := v.RemoveMember("sam", false, nil); err != nil {
			t.Fatal(err)
		}
	})
	g.do("carol", func(*Vault) {}) // carol's machine sees the removal
	// sam puts back the copy from before her removal, with a change of her
	// own on top of it (made with her old keys).
	replaceFile(t, g.path, old)
	sam.forge(fold.KindSecretAdd, fold.SecretAdd{Secret: fold.SecretID{7}, Name: "sams", Value: fold.Value{Blob: oplog.Hash{2}, Readers: []fold.MemberID{sam.me}}}, fold.MemberID{}, nil, nil, nil)
	v := g.as("carol")
	all := strings.Join(v.Warnings(), "\n")
	if !strings.Contains(all, "sam's removal") {
		t.Fatalf("the rollback was not named: %q", v.Warnings())
	}
	if !strings.Contains(all, "made concurrently with its author's removal") {
		t.Fatalf("sam's change was not refused loudly: %q", v.Warnings())
	}
	if ms, _ := v.Members(); slices.ContainsFunc(ms, func(m Member) bool { return m.Name == "sam" }) {
		t.Fatal("the removal was undone")
	}
	if _, err := v.Get("sams"); err == nil {
		t.Fatal("the removed member's change took effect")
	}
}

func TestForgeryOutsiderSwapsTheFile(t *testing.T) {
	g := newForgeryGroup(t)
	// mallory makes a vault of her own, with alice "as a member", and puts
	// it where the group's file is.
	mallory := g.member("mallory", Classic)
	other := g.path + ".mallory"
	v, err := Create(other, CreateOptions{Options: g.opts("mallory"), MemberName: "mallory", PublicKey: mallory.PublicKey()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.AddMember(NewMember{Name: "alice", PublicKey: g.ids["alice"].PublicKey()}); err != nil {
		t.Fatal(err)
	}
	v.Close()
	replaceFile(t, g.path, readFile(t, other))
	_, err = Open(g.path, g.opts("alice"))
	mustIs(t, err, ErrOtherVault)
	if !strings.Contains(err.Error(), "is not the vault this machine opened there before") {
		t.Fatalf("error = %v", err)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// replaceFile replaces the file at path as a sync tool does: a new file
// renamed into place.
func replaceFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path+".tmp", b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
}

// TestForgeryHidden: a change put into the file without naming it among the
// file's heads is not even looked at by machines that know the vault (it
// takes no effect, and their next write leaves it out); a machine that
// never saw the vault reads the whole file and refuses it loudly.
func TestForgeryHidden(t *testing.T) {
	g := newForgeryGroup(t)
	g.do("carol", func(*Vault) {})
	sam := g.insider("sam")
	sam.hidden = true
	yes := true
	forged := sam.forge(fold.KindMemberEdit, fold.MemberEdit{Member: sam.me, Admin: &yes}, fold.MemberID{}, nil, nil, nil)
	v := g.as("carol")
	if ms, _ := v.Members(); slices.ContainsFunc(ms, func(m Member) bool { return m.Name == "sam" && m.Admin }) {
		t.Fatal("the hidden change took effect")
	}
	if _, err := v.Add(NewSecret{Name: "later"}, NewValue([]byte("x"))); err != nil {
		t.Fatal(err)
	}
	v.Close()
	if _, ok := g.insider("alice").ops()[forged]; ok {
		t.Fatal("a write kept the hidden change in the file")
	}
	// Put it back, and open on a machine that never saw the vault.
	sam.forge(fold.KindMemberEdit, fold.MemberEdit{Member: sam.me, Admin: &yes}, fold.MemberID{}, nil, nil, nil)
	fresh := g.opts("carol")
	fresh.StateDir = t.TempDir()
	w, err := Open(g.path, fresh)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if all := strings.Join(w.Warnings(), "\n"); !strings.Contains(all, "sam tried to change sam") {
		t.Fatalf("a fresh machine did not refuse it loudly: %q", all)
	}
}

// A member's keys are replaced only by an admin (member.rekey); a request
// for it (member.rekey.request) is the member's own, signed with their
// current key; a replaced key signs nothing more.

// forgeRekey has the insider forge the replacement of target's keys with
// to's, granting to every vault key the insider holds (she could leak
// them anyway).
func (in *insider) forgeRekey(target fold.MemberID, to *Identity, request oplog.ID) {
	in.t.Helper()
	grant, err := in.keys.grant(to.Recipient(), in.keys.sortedEpochs())
	if err != nil {
		in.t.Fatal(err)
	}
	h := oplog.HashOf(grant)
	in.file(func(tx *bolt.Tx) error { return tx.Bucket([]byte(bGrants)).Put(h[:], grant) })
	e, _ := oplog.NewEpochID()
	in.forge(fold.KindMemberRekey, fold.MemberRekey{Member: target, Age: to.Recipient(), Sign: to.SigningKey(), Request: request, Epoch: e,
		Grants: []fold.Grant{{To: target, Blob: h, Epochs: []oplog.EpochID{e}}}}, fold.MemberID{}, nil, nil, nil)
}

// keyOf returns member name's public key line as v's state has it.
func keyOf(t *testing.T, v *Vault, name string) string {
	t.Helper()
	ms, err := v.Members()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Name == name {
			return m.PublicKey
		}
	}
	t.Fatalf("no member %s", name)
	return ""
}

// TestForgeryRekeyOther: a member who is not an admin gives another
// member (or herself) a key of her choosing: refused; the key's holder
// is no member.
func TestForgeryRekeyOther(t *testing.T) {
	g := newForgeryGroup(t)
	sam := g.insider("sam")
	carol := g.memberID("carol")
	mallory := g.member("mallory", Classic)
	sam.forgeRekey(carol, mallory, oplog.ID{})
	sam.forgeRekey(sam.me, mallory, oplog.ID{})
	v := g.mustWarnRefused("alice", "sam tried to replace carol's key", "sam tried to replace sam's key", "only an admin can replace a member's key")
	if keyOf(t, v, "carol") != g.ids["carol"].PublicKey() || keyOf(t, v, "sam") != g.ids["sam"].PublicKey() {
		t.Fatal("a non-admin replaced a key")
	}
	v.Close()
	_, err := Open(g.path, g.opts("mallory"))
	mustIs(t, err, ErrNotMember)
	if errors.Is(err, ErrKeyReplaced) {
		t.Fatal("mallory's key counts as a member's old key")
	}
	g.do("carol", func(v *Vault) {
		if got := reveal(t, v, "bank"); got != "bank-pin" {
			t.Fatalf("bank = %q", got)
		}
	})
}

// TestForgeryRekeyRequestWrongKey: a request for a new key claiming
// another member as its author, signed with the forger's own key, is
// refused: nothing is pending for the member named.
func TestForgeryRekeyRequestWrongKey(t *testing.T) {
	g := newForgeryGroup(t)
	sam := g.insider("sam")
	carol := g.memberID("carol")
	mallory := g.member("mallory", Classic)
	sam.forge(fold.KindRekeyRequest, fold.RekeyRequest{Age: mallory.Recipient(), Sign: mallory.SigningKey()}, carol, nil, nil, nil)
	v := g.mustWarnRefused("alice", "carol tried to ask for a new key", "signature does not match")
	if krs, _ := v.KeyRequests(); len(krs) != 0 {
		t.Fatalf("pending: %+v", krs)
	}
}

// TestForgeryRekeyApprovalByNonAdmin: carol asks for a new key; sam, not
// an admin, approves it: void. The request stays for an admin.
func TestForgeryRekeyApprovalByNonAdmin(t *testing.T) {
	g := newForgeryGroup(t)
	laptop, err := GenerateIdentity(Classic)
	if err != nil {
		t.Fatal(err)
	}
	g.do("carol", func(v *Vault) {
		if _, err := v.RequestKey(laptop.PublicKey()); err != nil {
			t.Fatal(err)
		}
	})
	sam := g.insider("sam")
	var req oplog.ID
	for id, op := range sam.ops() {
		if op.Body.Kind == fold.KindRekeyRequest {
			req = id
		}
	}
	sam.forgeRekey(g.memberID("carol"), laptop, req)
	v := g.mustWarnRefused("alice", "sam tried to replace carol's key", "only an admin can replace a member's key")
	if keyOf(t, v, "carol") != g.ids["carol"].PublicKey() {
		t.Fatal("the approval of a non-admin took effect")
	}
	if krs, _ := v.KeyRequests(); len(krs) != 1 || krs[0].Member != "carol" {
		t.Fatalf("pending = %+v", krs)
	}
	v.Close()
	o := g.opts("carol")
	o.Identity, o.StateDir = laptop, t.TempDir()
	_, err = Open(g.path, o)
	mustIs(t, err, ErrNotMember)
}

// TestForgeryStolenKey: sam's laptop is stolen with her identity and the
// vault keys on it; alice replaces sam's key, reporting it stolen. Whoever
// has the old key then signs nothing that takes effect: not on top of the
// replacement (the key is not sam's any more), not backdated before it
// (concurrent with a replacement of a stolen key: void), not a request
// for a key of their own.
func TestForgeryStolenKey(t *testing.T) {
	g := newForgeryGroup(t)
	g.do("alice", func(v *Vault) {
		if _, err := v.Share("bank", []string{"sam"}); err != nil {
			t.Fatal(err)
		}
	})
	g.do("carol", func(*Vault) {}) // carol re-encrypts bank for sam
	thief := g.insider("sam")
	before := thief.heads()
	bank := g.secretID("alice", "bank")
	fv, blobs := thief.value("thief-pin", "carol", "alice")
	fv2, blobs2 := thief.value("thief-pin-2", "carol", "alice", "sam")
	g.newKeyFor("sam")
	laptop := g.ids["sam"]
	g.do("alice", func(v *Vault) {
		if _, err := v.ReplaceKey("sam", NewKey{PublicKey: laptop.PublicKey(), Compromised: true}); err != nil {
			t.Fatal(err)
		}
	})
	thief.forge(fold.KindSecretSet, fold.SecretValue{Secret: bank, Value: fv}, fold.MemberID{}, nil, nil, blobs)
	thief.forge(fold.KindSecretSet, fold.SecretValue{Secret: bank, Value: fv2}, fold.MemberID{}, nil, before, blobs2)
	mallory := g.member("mallory", Classic)
	thief.forge(fold.KindRekeyRequest, fold.RekeyRequest{Age: mallory.Recipient(), Sign: mallory.SigningKey()}, fold.MemberID{}, nil, nil, nil)
	v := g.mustWarnRefused("carol", "signature does not match its author's key", "signed with its author's old key, concurrently with its replacement")
	if got := reveal(t, v, "bank"); got != "bank-pin" {
		t.Fatalf("bank = %q", got)
	}
	if krs, _ := v.KeyRequests(); len(krs) != 0 {
		t.Fatalf("pending = %+v", krs)
	}
	s, _ := v.Get("bank")
	if s.RotateNow == nil || !strings.Contains(s.RotateNow.Text, "sam's old key was reported lost or stolen") {
		t.Fatalf("bank is not to rotate: %+v", s.RotateNow)
	}
	v.Close()
	// sam's new laptop opens it; the thief's key is told it was replaced.
	g.do("sam", func(*Vault) {})
	_, err := Open(g.path, Options{Identity: thief.id, Clock: g.clock, StateDir: t.TempDir()})
	mustIs(t, err, ErrKeyReplaced)
}
