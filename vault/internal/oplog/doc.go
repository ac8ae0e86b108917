// Package oplog is the vault's change log at the level of bytes: how one
// operation is encoded, signed, sealed and named, and how a set of
// operations is put in one order that every copy agrees on.
//
// # Operations
//
// An operation is a [Body] (the vault it belongs to, the key epoch that
// seals it, the operations it was made on top of, its author, its time, its
// kind and its payload) and the author's signatures over it. Its [ID] is the
// SHA-256 of the body, so two copies that hold the same operation name it
// the same way however it reached them, and a parent link commits to the
// whole history before it, as a git commit does.
//
// Body and signatures travel sealed in an envelope ([Seal], [Open]):
// XChaCha20-Poly1305 under the vault key of one epoch. Someone who holds
// the file but no vault key sees opaque envelopes of some size and nothing
// else: not the author, not the parents, not the kind.
//
// # Order
//
// [Order] sorts a set of operations so that every operation comes after
// the ones it was made on top of, breaking ties by ID: a pure function of
// the set, so copies that hold the same operations replay them the same
// way. Operations whose parents are missing are returned apart.
//
// # Caveats
//
// Signatures are Ed25519 today. The envelope carries a list of (algorithm,
// signature) pairs so that a post-quantum signature can be added beside it
// without a new format.
package oplog
