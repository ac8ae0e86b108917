package vault

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"maps"
	"runtime"
	"slices"
	"sync"

	bolt "go.etcd.io/bbolt"

	"github.com/mutual-aid-vault/vault/vault/internal/fold"
	"github.com/mutual-aid-vault/vault/vault/internal/oplog"
)

// incoming is raw material from a copy of the vault (or made here): sealed
// operations and blobs, not yet checked.
type incoming struct {
	ops    map[oplog.ID][]byte
	blobs  map[oplog.Hash][]byte
	grants map[oplog.Hash][]byte
}

func newIncoming() *incoming {
	return &incoming{ops: map[oplog.ID][]byte{}, blobs: map[oplog.Hash][]byte{}, grants: map[oplog.Hash][]byte{}}
}

func (in *incoming) empty() bool { return len(in.ops)+len(in.blobs)+len(in.grants) == 0 }

// ingestReport says what an ingest did.
type ingestReport struct {
	// events are the newly folded operations, in order.
	events []fold.Event
	// unreadable counts operations kept but not folded because they are
	// sealed with a key this member was not given; dangling, because they
	// were made on top of operations this copy lacks.
	unreadable, dangling int
	// bad counts envelopes thrown away: not what their key says, or of
	// another vault.
	bad int
}

// Reasons an operation waits in the pending bucket.
const (
	pendingNew byte = iota
	pendingKey
	pendingParents
)

// parallel calls fn(i) for every i below n, on as many goroutines as
// there are processors; fn must only write what belongs to i.
func parallel(n int, fn func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), (n+15)/16)
	if workers <= 1 {
		for i := range n {
			fn(i)
		}
		return
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				fn(i)
			}
		}()
	}
	wg.Wait()
}

// sortedKeys returns the keys of m in order.
func sortedKeys[K ~[32]byte, V any](m map[K]V) []K {
	return slices.SortedFunc(maps.Keys(m), func(a, b K) int { return bytes.Compare(a[:], b[:]) })
}

// ingest stores in and folds every operation that can be folded. It runs
// inside one replica transaction: all of it happens, or none.
func (v *Vault) ingest(tx *bolt.Tx, in *incoming) (*ingestReport, error) {
	rep := &ingestReport{}
	b := func(n string) *bolt.Bucket { return tx.Bucket([]byte(n)) }
	// In key order: see index.hold.
	for _, id := range sortedKeys(in.ops) {
		env := in.ops[id]
		if b(bBad).Get(id[:]) != nil || b(bOps).Get(id[:]) != nil {
			continue
		}
		if err := arrive(tx, bOps, id[:], env); err != nil {
			return nil, err
		}
		if err := b(bPending).Put(id[:], []byte{pendingNew}); err != nil {
			return nil, err
		}
	}
	for _, h := range sortedKeys(in.blobs) {
		blob := in.blobs[h]
		if oplog.HashOf(blob) != h {
			rep.bad++
			continue
		}
		if b(bDead).Get(h[:]) != nil || b(bBlobs).Get(h[:]) != nil {
			continue
		}
		if err := arrive(tx, bBlobs, h[:], blob); err != nil {
			return nil, err
		}
	}
	for _, h := range sortedKeys(in.grants) {
		g := in.grants[h]
		if oplog.HashOf(g) != h {
			rep.bad++
			continue
		}
		if b(bGrants).Get(h[:]) != nil {
			continue
		}
		if err := arrive(tx, bGrants, h[:], g); err != nil {
			return nil, err
		}
	}
	for {
		n, err := v.foldPending(tx, rep)
		if err != nil {
			return nil, err
		}
		if n == 0 {
			break
		}
	}
	rep.unreadable, rep.dangling = 0, 0
	_ = b(bPending).ForEach(func(_, why []byte) error {
		if len(why) == 1 && why[0] == pendingParents {
			rep.dangling++
		} else {
			rep.unreadable++
		}
		return nil
	})
	return rep, nil
}

// foldPending decrypts what it can of the pending operations and folds
// those whose parents are all known. It returns how many it folded.
func (v *Vault) foldPending(tx *bolt.Tx, rep *ingestReport) (int, error) {
	pb := tx.Bucket([]byte(bPending))
	ob := tx.Bucket([]byte(bOps))
	var ids []oplog.ID
	_ = pb.ForEach(func(k, _ []byte) error {
		var id oplog.ID
		copy(id[:], k)
		ids = append(ids, id)
		return nil
	})
	if len(ids) == 0 {
		return 0, nil
	}
	// Keys found and operations decrypted on every processor: a first
	// open has thousands.
	type opened struct {
		env   []byte
		epoch oplog.EpochID
		key   *[32]byte
		op    *oplog.Op
		err   error
	}
	all := make([]opened, len(ids))
	for i, id := range ids {
		all[i].env = ob.Get(id[:])
	}
	find := func(i int) { all[i].epoch, all[i].key = oplog.FindKey(all[i].env, v.keys) }
	parallel(len(ids), find)
	if slices.ContainsFunc(all, func(o opened) bool { return o.key == nil }) {
		// Sealed with a key this member was given in a grant not yet
		// opened, perhaps.
		if err := v.openGrants(tx); err != nil {
			return 0, err
		}
		for i := range all {
			if all[i].key == nil {
				find(i)
			}
		}
	}
	parallel(len(ids), func(i int) {
		if all[i].key != nil {
			all[i].op, all[i].err = oplog.Open(all[i].env, all[i].epoch, all[i].key)
		}
	})
	ops := map[oplog.ID]*oplog.Op{}
	for i, id := range ids {
		if all[i].key == nil {
			if err := pb.Put(id[:], []byte{pendingKey}); err != nil {
				return 0, err
			}
			continue
		}
		op, err := all[i].op, all[i].err
		genesis := err == nil && op.Body.Vault.IsZero() && op.ID == v.vaultID
		if err != nil || op.ID != id || (!genesis && op.Body.Vault != v.vaultID) {
			// Not what its key says, or of another vault: drop it, and
			// remember not to take it again.
			rep.bad++
			if err := tx.Bucket([]byte(bBad)).Put(id[:], []byte{1}); err != nil {
				return 0, err
			}
			if err := arrive(tx, bOps, id[:], nil); err != nil {
				return 0, err
			}
			if err := pb.Delete(id[:]); err != nil {
				return 0, err
			}
			continue
		}
		ops[id] = op
	}
	if len(ops) == 0 {
		return 0, nil
	}
	ix := &index{tx: tx, keys: v.ik, authCache: v.auths}
	parents := make(map[oplog.ID][]oplog.ID, len(ops))
	for id, op := range ops {
		parents[id] = op.Body.Parents
	}
	g := oplog.Order(parents, ix.isFolded)
	for _, id := range g.Dangling {
		if err := pb.Put(id[:], []byte{pendingParents}); err != nil {
			return 0, err
		}
	}
	if len(g.Order) == 0 {
		return 0, nil
	}
	heads := ix.heads()
	var events []fold.Event
	var err error
	if len(heads) > 0 && extendsAll(g, ops, heads) {
		events, err = v.foldOnTop(ix, g, ops)
	} else {
		events, err = v.foldAll(ix, g, ops)
	}
	if err != nil {
		return 0, err
	}
	for _, id := range g.Order {
		if err := pb.Delete(id[:]); err != nil {
			return 0, err
		}
	}
	rep.events = append(rep.events, events...)
	if err := v.noteMe(ix); err != nil {
		return 0, err
	}
	return len(g.Order), nil
}

// extendsAll reports whether every operation of the batch was made on top
// of all the heads: then the batch comes after everything folded, whatever
// the order, and can be folded on top of the index.
func extendsAll(g *oplog.Graph, ops map[oplog.ID]*oplog.Op, heads []oplog.ID) bool {
	covers := make([]oplog.Bits, len(g.Order))
	full := oplog.NewBits(len(heads))
	for i := range heads {
		full.Set(i)
	}
	for i, id := range g.Order {
		c := oplog.NewBits(len(heads))
		for _, p := range ops[id].Body.Parents {
			if j := slices.Index(heads, p); j >= 0 {
				c.Set(j)
			}
			if pi, ok := g.Index(p); ok {
				c.Or(covers[pi])
			}
		}
		if !slices.Equal(c, full) {
			return false
		}
		covers[i] = c
	}
	return true
}

// verifier returns the signature check the fold uses: the results worked
// out ahead (see prepare), then this machine's record of checked
// signatures (kept with each folded operation's position, see
// index.take), then the check itself. found collects every good verdict
// the fold asked for, for take to keep.
func (v *Vault) verifier(tx *bolt.Tx, ahead map[verdictKey]bool) (verify func(op *oplog.Op, key ed25519.PublicKey) bool, found map[oplog.ID][8]byte) {
	fb := tx.Bucket([]byte(bFolded))
	found = map[oplog.ID][8]byte{}
	verify = func(op *oplog.Op, key ed25519.PublicKey) bool {
		fp := sha256.Sum256(key)
		if ok, seen := ahead[verdictKey{op.ID, fp}]; seen {
			if ok {
				found[op.ID] = [8]byte(fp[:8])
			}
			return ok
		}
		if got, ok := found[op.ID]; ok && bytes.Equal(got[:], fp[:8]) {
			return true
		}
		if got := fb.Get(op.ID[:]); len(got) == 16 && bytes.Equal(got[8:], fp[:8]) {
			found[op.ID] = [8]byte(fp[:8])
			return true
		}
		v.signaturesChecked.Add(1)
		if !op.Verify(key) {
			return false
		}
		found[op.ID] = [8]byte(fp[:8])
		return true
	}
	return verify, found
}

type verdictKey struct {
	op  oplog.ID
	key [32]byte
}

// decodeOps decodes the payloads of ops on every core, and returns the
// signing key each author has as the base state or the batch's member
// additions declare it (the fold still decides which key counts).
func decodeOps(base *fold.Auth, order []oplog.ID, ops map[oplog.ID]*oplog.Op) ([]*fold.Op, map[fold.MemberID]ed25519.PublicKey) {
	keys := map[fold.MemberID]ed25519.PublicKey{}
	if base != nil {
		for _, m := range base.Members {
			keys[m.ID] = m.Sign
		}
	}
	out := make([]*fold.Op, len(order))
	parallel(len(order), func(i int) { out[i] = fold.NewOp(ops[order[i]]) })
	for _, op := range out {
		switch p := op.Payload.(type) {
		case *fold.Create:
			keys[p.Creator.ID] = p.Creator.Sign
			for _, r := range p.Recovery {
				keys[r.ID] = r.Sign
			}
		case *fold.MemberAdd:
			if _, ok := keys[p.Member.ID]; !ok {
				keys[p.Member.ID] = p.Member.Sign
			}
		}
	}
	return out, keys
}

// foldChecked folds the operations of g (on top of base and store, when
// given) with every signature checked, and keeps the good verdicts.
//
// Checking a signature costs more than folding its operation, so the
// signatures are checked on every core while the fold runs: the fold goes
// ahead as if each signature it asks about (by the key decodeOps found) is
// good, and when all are checked, any that was not (a forged change) makes
// the fold run again with the real verdicts. The result is the fold's with
// the real verdicts either way; the fold is a function of its input.
func (v *Vault) foldChecked(tx *bolt.Tx, base *fold.Auth, store fold.Store, g *oplog.Graph, ops map[oplog.ID]*oplog.Op) (*fold.Result, map[oplog.ID][8]byte, error) {
	in, keys := decodeOps(base, g.Order, ops)
	fps := make([][32]byte, len(in))
	for i, op := range in {
		if key := keys[op.Body.Author]; len(key) == ed25519.PublicKeySize {
			fps[i] = sha256.Sum256(key)
		}
	}
	// Signatures this machine checked before (a fold from the start after
	// copies that forked are merged) are not checked again.
	verdicts := make([]bool, len(in))
	known := make([]bool, len(in))
	fb := tx.Bucket([]byte(bFolded))
	for i, op := range in {
		if got := fb.Get(op.ID[:]); len(got) == 16 && fps[i] != ([32]byte{}) && bytes.Equal(got[8:], fps[i][:8]) {
			verdicts[i], known[i] = true, true
		}
	}
	checked := make(chan struct{})
	go func() {
		defer close(checked)
		parallel(len(in), func(i int) {
			if fps[i] != ([32]byte{}) && !known[i] {
				v.signaturesChecked.Add(1)
				verdicts[i] = in[i].Verify(keys[in[i].Body.Author])
			}
		})
	}()
	ahead := map[verdictKey]bool{} // filled once every signature is checked
	verify, found := v.verifier(tx, ahead)
	type asked struct {
		i   int
		key ed25519.PublicKey
	}
	var assumed []asked
	optimistic := func(op *oplog.Op, key ed25519.PublicKey) bool {
		if i, ok := g.Index(op.ID); ok && fps[i] != ([32]byte{}) && sha256.Sum256(key) == fps[i] {
			assumed = append(assumed, asked{i, key})
			return true
		}
		return verify(op, key) // a key decodeOps did not expect: checked now
	}
	r := fold.Fold(fold.Input{Base: base, Store: store, Ops: in, Graph: g, Verify: optimistic})
	<-checked
	for i, op := range in {
		if fps[i] != ([32]byte{}) {
			ahead[verdictKey{op.ID, fps[i]}] = verdicts[i]
		}
	}
	again := false
	for _, a := range assumed {
		// Through verify, so that the good verdicts are kept.
		again = !verify(in[a.i].Op, a.key) || again
	}
	if again {
		r = fold.Fold(fold.Input{Base: base, Store: store, Ops: in, Graph: g, Verify: verify})
	}
	return r, found, nil
}

// foldOnTop folds a batch made on top of everything the index holds.
func (v *Vault) foldOnTop(ix *index, g *oplog.Graph, ops map[oplog.ID]*oplog.Op) ([]fold.Event, error) {
	base, err := ix.auth()
	if err != nil {
		return nil, err
	}
	r, verdicts, err := v.foldChecked(ix.tx, base, ix, g, ops)
	if err != nil {
		return nil, err
	}
	if err := ix.take(r, verdicts); err != nil {
		return nil, err
	}
	heads := ix.heads()
	for _, id := range g.Order {
		heads = slices.DeleteFunc(heads, func(h oplog.ID) bool { return slices.Contains(ops[id].Body.Parents, h) })
	}
	heads = append(heads, g.Heads()...)
	slices.SortFunc(heads, oplog.ID.Compare)
	return r.Events, ix.setHeads(heads)
}

// foldAll folds every operation from the start: after copies that forked
// are merged, the new ones may belong before some already folded.
func (v *Vault) foldAll(ix *index, batch *oplog.Graph, fresh map[oplog.ID]*oplog.Op) ([]fold.Event, error) {
	all := map[oplog.ID]*oplog.Op{}
	for _, id := range batch.Order {
		all[id] = fresh[id]
	}
	ob := ix.b(bOps)
	err := ix.b(bFolded).ForEach(func(k, _ []byte) error {
		var id oplog.ID
		copy(id[:], k)
		env := ob.Get(k)
		e, key := oplog.FindKey(env, v.keys)
		if key == nil {
			return errorf(ErrCorrupt, "this machine's copy of the vault lacks a key it used before; delete the vault folder in the state folder and it is rebuilt")
		}
		op, err := oplog.Open(env, e, key)
		if err != nil {
			return errorf(ErrCorrupt, "this machine's copy of the vault is damaged; delete the vault folder in the state folder and it is rebuilt")
		}
		all[id] = op
		return nil
	})
	if err != nil {
		return nil, err
	}
	// With nothing folded before (a first open), the batch's order is
	// the whole order.
	g := batch
	if len(all) != len(batch.Order) {
		parents := make(map[oplog.ID][]oplog.ID, len(all))
		for id, op := range all {
			parents[id] = op.Body.Parents
		}
		g = oplog.Order(parents, nil)
	}
	if len(g.Order) == 0 || !all[g.Order[0]].Body.Vault.IsZero() || g.Order[0] != v.vaultID {
		return nil, errorf(ErrTampered, "the vault's first change is missing or is not the one this vault was created with")
	}
	r, verdicts, err := v.foldChecked(ix.tx, nil, nil, g, all)
	if err != nil {
		return nil, err
	}
	if err := ix.reset(); err != nil {
		return nil, err
	}
	if err := ix.take(r, verdicts); err != nil {
		return nil, err
	}
	// Blobs no secret uses any more (superseded ciphertexts, purged
	// values) are dropped; but not while some changes cannot be read: a
	// blob this member cannot account for may be one of theirs.
	if ix.b(bPending).Stats().KeyN > 0 {
		return ix.freshEvents(r, fresh), ix.setHeads(g.Heads())
	}
	live := map[oplog.Hash]bool{}
	for _, s := range r.Secrets {
		for h := range liveBlobs(s) {
			live[h] = true
		}
	}
	// A seed an earlier version dropped as unused (it did not count
	// them) comes back with the next copy that has it.
	for h := range live {
		if err := ix.b(bDead).Delete(h[:]); err != nil {
			return nil, err
		}
	}
	var dead [][]byte
	_ = ix.b(bBlobs).ForEach(func(k, _ []byte) error {
		var h oplog.Hash
		copy(h[:], k)
		if !live[h] {
			dead = append(dead, append([]byte(nil), k...))
		}
		return nil
	})
	for _, k := range dead {
		if err := arrive(ix.tx, bBlobs, k, nil); err != nil {
			return nil, err
		}
		if err := ix.b(bDead).Put(k, []byte{1}); err != nil {
			return nil, err
		}
	}
	return ix.freshEvents(r, fresh), ix.setHeads(g.Heads())
}

// freshEvents returns the events of the operations in fresh.
func (ix *index) freshEvents(r *fold.Result, fresh map[oplog.ID]*oplog.Op) []fold.Event {
	out := make([]fold.Event, 0, min(len(fresh), len(r.Events)))
	for _, e := range r.Events {
		if _, ok := fresh[e.Op]; ok {
			out = append(out, e)
		}
	}
	return out
}

// openGrants opens every key grant this identity can open and learns the
// vault keys in them.
func (v *Vault) openGrants(tx *bolt.Tx) error {
	changed := false
	err := tx.Bucket([]byte(bGrants)).ForEach(func(k, ct []byte) error {
		var h oplog.Hash
		copy(h[:], k)
		if v.triedGrants[h] {
			return nil
		}
		v.triedGrants[h] = true
		keys, err := openGrant(ct, v.identity)
		if err != nil {
			return nil // not well-formed: someone else's problem, or damage the fold reports
		}
		if keys == nil {
			return nil
		}
		v.openedGrants[h] = true
		for e, key := range keys {
			if v.keys.add(e, key) {
				changed = true
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if changed {
		v.keysChanged = true
	}
	return nil
}

// noteMe works out which member this identity is, once the state knows
// the grants, and keeps the keyset for the next unlock.
func (v *Vault) noteMe(ix *index) error {
	a, err := ix.auth()
	if err != nil || a == nil {
		return err
	}
	l := ix.b(bLocal)
	if v.me.IsZero() {
		if me := l.Get([]byte(lMe)); len(me) == len(v.me) {
			copy(v.me[:], me)
		}
	}
	if m := a.Member(v.me); m != nil && !m.Active() {
		// Removed, then added again with the same key: this identity is
		// now the new member, if a grant to them opens.
		clear(v.triedGrants)
		if err := v.openGrants(ix.tx); err != nil {
			return err
		}
		for _, g := range a.Grants {
			if nm := a.Member(g.To); v.openedGrants[g.Blob] && nm != nil && nm.Active() {
				v.me = g.To
				if err := l.Put([]byte(lMe), v.me[:]); err != nil {
					return err
				}
				v.keysChanged = true
				break
			}
		}
	}
	if v.me.IsZero() {
		// A grant to a replaced key names its member too: opening with
		// it then says the key was replaced (checkMembership).
		for _, g := range slices.Concat(a.Grants, a.Retired) {
			if v.openedGrants[g.Blob] {
				v.me = g.To
				break
			}
		}
		if v.me.IsZero() {
			return nil
		}
		if err := l.Put([]byte(lMe), v.me[:]); err != nil {
			return err
		}
		v.keysChanged = true
	}
	if err := v.learnKeys(ix, a); err != nil {
		return err
	}
	if !v.keysChanged {
		return nil
	}
	m := a.Member(v.me)
	if m == nil {
		return nil
	}
	// Sealed to this identity's own key when it says what it is: a
	// member whose key was replaced still opens this machine's copy
	// with the old one, to be told so.
	to := m.Age
	if rec, ok := recipientOf(v.identity); ok {
		to = rec
	}
	r, err := recipient(to)
	if err != nil {
		return err
	}
	blob, err := ageEncrypt(v.keys.marshalLocal(), r)
	if err != nil {
		return err
	}
	v.keysChanged = false
	return l.Put([]byte(lKeys), blob)
}

// learnKeys opens the grants made to this member of keys it does not hold
// yet: a removal is sealed with the old key, so a member learns of the new
// one from its grant before anything sealed with it arrives.
func (v *Vault) learnKeys(ix *index, a *fold.Auth) error {
	gb := ix.b(bGrants)
	for _, g := range a.Grants {
		if g.To != v.me || !slices.ContainsFunc(g.Epochs, func(e oplog.EpochID) bool { return v.keys.epochs[e] == nil }) {
			continue
		}
		ct := gb.Get(g.Blob[:])
		if ct == nil {
			continue
		}
		keys, err := openGrant(ct, v.identity)
		if err != nil || keys == nil {
			continue
		}
		v.openedGrants[g.Blob] = true
		for e, k := range keys {
			if v.keys.add(e, k) {
				v.keysChanged = true
			}
		}
	}
	return nil
}
