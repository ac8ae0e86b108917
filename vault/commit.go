package vault

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mutual-aid-vault/vault/vault/internal/fold"
	"github.com/mutual-aid-vault/vault/vault/internal/oplog"
)

// change is one operation this member is about to make, with the blobs it
// brings.
type change struct {
	kind    string
	payload any
	blobs   map[oplog.Hash][]byte
	grants  map[oplog.Hash][]byte
	// issues are the vault keys the change issues: this member holds them
	// from now on, and what follows is sealed with them.
	issues map[oplog.EpochID][32]byte
}

// reader is the state as one replica transaction sees it.
type reader struct {
	v    *Vault
	ix   *index
	auth *fold.Auth
	now  time.Time
	// rank orders the members by name, and namesMemo remembers lists of
	// names already sorted: see names.
	rank      map[fold.MemberID]int
	namesMemo map[string][]string
}

// errClosed is returned by every call on a closed vault.
var errClosed = errors.New("the vault is closed")

func (v *Vault) newReader(tx *bolt.Tx) (*reader, error) {
	ix := &index{tx: tx, keys: v.ik, authCache: v.auths}
	a, err := ix.auth()
	if err != nil {
		return nil, err
	}
	if a == nil {
		return nil, errorf(ErrCorrupt, "this machine's copy of the vault is empty")
	}
	return &reader{v: v, ix: ix, auth: a, now: v.now()}, nil
}

// view runs fn on the state, reading this machine's copy only.
func (v *Vault) view(fn func(r *reader) error) (err error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := v.ready(); err != nil {
		return err
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if rec := recover(); rec != nil {
			err = errorf(ErrCorrupt, "this machine's copy of the vault is damaged (%v); delete %s and it is rebuilt", rec, filepath.Dir(v.repPath))
		}
	}()
	return v.rep.View(func(tx *bolt.Tx) error {
		r, err := v.newReader(tx)
		if err != nil {
			return err
		}
		return fn(r)
	})
}

// update makes a change. build sees the current state (with whatever the
// shared file brought since the vault was opened) and returns the
// operations to make; they are signed, sealed, folded and stored in one
// transaction of this machine's copy, followed by the chores this member
// can do (re-encryptions waiting for a reader, keys an admin must hand
// out), and then the shared file is written. If the log refuses any of
// them, nothing is stored.
func (v *Vault) update(build func(r *reader) ([]change, error)) ([]fold.Event, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := v.ready(); err != nil {
		return nil, err
	}
	if err := v.writable(); err != nil {
		return nil, err
	}
	if err := v.catchUp(); err != nil {
		return nil, err
	}
	var events []fold.Event
	err := v.update0(func(tx *bolt.Tx) error {
		r, err := v.newReader(tx)
		if err != nil {
			return err
		}
		changes, err := build(r)
		if err != nil || len(changes) == 0 {
			return err
		}
		if events, err = v.make(tx, changes); err != nil {
			return err
		}
		if r, err = v.newReader(tx); err != nil {
			return err
		}
		if me := r.me(); me != nil && !me.Recovery && !bytes.Equal(me.Sign, v.signer.SigningKey()) {
			// The change replaced this member's own keys: this identity
			// signs nothing more. The new one does the chores.
			return nil
		}
		chores, err := v.chores(r)
		if err != nil || len(chores) == 0 {
			return err
		}
		more, err := v.make(tx, chores)
		events = append(events, more...)
		return err
	})
	if err != nil || len(events) == 0 {
		return events, err
	}
	v.share()
	return events, nil
}

// catchUp takes in what the shared file gained since this process last
// read or wrote it (another process's change), so that what is written
// next goes on top of it.
func (v *Vault) catchUp() error {
	info, err := os.Stat(v.path)
	if err != nil || stampOf(info) == v.storedStamp() {
		return nil
	}
	sf, err := v.openShared(v.path)
	if err != nil {
		return err
	}
	if sf.vaultID != v.vaultID {
		sf.close()
		return errorf(ErrOtherVault, "%s was replaced by another vault while it was open", v.path)
	}
	err = v.takeIn(sf, false)
	sf.close()
	if err != nil && sf.damaged != nil {
		// What this machine has is rebuilt into the file; the change
		// goes on top.
		err = v.rebuildDamaged(sf.damaged)
	}
	return err
}

// share writes the shared file from this machine's copy. A failure is a
// warning: the change is stored here, and the next command puts it in.
func (v *Vault) share() {
	st, err := v.publish(v.path, false)
	if err == nil {
		v.published++
		err = v.update0(func(tx *bolt.Tx) error { return v.setStamp(tx, st) })
	}
	if err != nil {
		v.warn("the change is saved on this machine but could not be written to %s (%v); the next command tries again", v.path, err)
	}
}

// make signs, seals and folds changes, each on top of the one before, and
// returns their events. It fails with ErrRejected if the log refuses one.
func (v *Vault) make(tx *bolt.Tx, changes []change) ([]fold.Event, error) {
	ix := &index{tx: tx, keys: v.ik, authCache: v.auths}
	a, err := ix.auth()
	if err != nil {
		return nil, err
	}
	heads := ix.heads()
	epoch := a.Epoch
	in := newIncoming()
	var made []oplog.ID
	at := v.now()
	for _, c := range changes {
		raw, err := fold.Encode(c.kind, c.payload)
		if err != nil {
			return nil, err
		}
		op, err := oplog.Sign(oplog.Body{Vault: v.vaultID, Epoch: epoch, Parents: heads, Author: v.me, At: at, Kind: c.kind, Payload: raw}, v.signer)
		if err != nil {
			return nil, err
		}
		key := v.keys.epochs[epoch]
		if key == nil {
			return nil, errorf(ErrNotMember, "you do not hold the vault's current key yet; an admin's next change gives it to you")
		}
		env, err := oplog.Seal(op, key)
		if err != nil {
			return nil, err
		}
		in.ops[op.ID] = env
		for h, b := range c.blobs {
			in.blobs[h] = b
		}
		for h, b := range c.grants {
			in.grants[h] = b
		}
		for e, k := range c.issues {
			v.keys.add(e, k)
			v.keysChanged = true
			epoch = e
		}
		heads = []oplog.ID{op.ID}
		made = append(made, op.ID)
	}
	rep, err := v.ingest(tx, in)
	if err != nil {
		return nil, err
	}
	byOp := map[oplog.ID]fold.Event{}
	for _, e := range rep.events {
		byOp[e.Op] = e
	}
	var out []fold.Event
	for _, id := range made {
		e, ok := byOp[id]
		if !ok {
			return nil, errorf(ErrRejected, "a change could not be applied (it was not folded); nothing was stored")
		}
		if e.Rejected != "" {
			return nil, errorf(ErrRejected, "the change was refused: %s; nothing was stored", e.Rejected)
		}
		out = append(out, e)
	}
	return out, nil
}
