// Package vault is the store: one encrypted file of a group's shared
// secrets, each readable only by the members it is shared with. It is the
// only package that touches the disk or keys.
//
// # Use
//
// A member makes a key pair with [GenerateIdentity] and keeps it with
// [WriteIdentity] (protected by a passphrase, or plain for scripts);
// [ReadIdentity] unlocks it. [Create] makes a vault with its creator as the
// first member and admin; [Open] opens one with any member's identity (an
// [age.Identity], so an agent could hold the key instead). Methods on
// [Vault] then add members and secrets, share and unshare, reveal, rotate
// in two phases ([Vault.StartRotation], [Vault.ConfirmRotation]), and say
// what is due ([Vault.Reminders], [Vault.Due], [Vault.Review]). Every change
// is one bbolt transaction: all of it happens, or none.
//
// # What is stored, and how
//
// A secret's value is a standard age file encrypted to exactly its readers'
// public keys (and any recovery keys): a member can always decrypt it with
// the stock age tool. Everything else (names, usernames, notes, members,
// groups, dates, the change log) is sealed with a random vault key using
// XChaCha20-Poly1305, with the bucket, the record's key, its revision and
// the key's epoch as additional data; the vault key is age-encrypted to each
// member separately. bbolt keys are random IDs or keyed hashes of names. A
// sealed manifest lists the revision of every record, so a record changed,
// moved, deleted, added or replaced by an older copy outside this package is
// reported as [ErrTampered], never used.
//
// Removing a member issues a new vault key, re-seals every record under it,
// re-encrypts what the acting member can read without the removed one (the
// rest waits for its next reader: [Vault.Maintain]) and marks each of those
// secrets rotate-now.
//
// # Damaged files
//
// bbolt trusts its file; a damaged one could crash it in ways no recover
// catches. [Open] checks what bbolt reads while opening before bbolt sees
// the file, and the whole structure on bbolt's own mapping the first time
// this machine opens the file after it changed (see Options.StateDir), so a
// truncated, bit-flipped or foreign file gives [ErrCorrupt] or
// [ErrNotVault]; panics inside bbolt and faults on its mapping are turned
// into [ErrCorrupt] too.
//
// # Caveats
//
// Every member holds the vault key and so can read all metadata (not other
// people's values). Rules such as "only admins change membership" are
// enforced here, not by cryptography. A removed member keeps whatever they
// saw or copied before; that is why removal marks secrets rotate-now. Freed
// bbolt pages may hold old ciphertext until the file is compacted.
package vault
