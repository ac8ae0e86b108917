// Package vault is the store: a group's shared secrets, each readable only
// by the members it is shared with, kept as a signed change log that any
// number of copies can be merged from. It is the only package that touches
// the disk or keys.
//
// # Use
//
// A member makes a key pair with [GenerateIdentity] and keeps it with
// [WriteIdentity] (protected by a passphrase, or plain for scripts);
// [ReadIdentity] unlocks it. [Create] makes a vault with its creator as the
// first member and admin; [Open] opens one with any member's identity (an
// [age.Identity]; a [Signer] too, to make changes). [ListenAgent] serves an
// unlocked identity over a Unix socket, and [DialAgent] returns an
// [Identity] that unwraps and signs through it, so that one unlock serves a
// whole session without the secret key leaving the agent. Methods on [Vault] then add members and secrets, share and
// unshare, give a member a new key ([Vault.ReplaceKey]; a member asks for
// one with [Vault.RequestKey]), reveal, rotate in two phases
// ([Vault.StartRotation], [Vault.ConfirmRotation]), say what is due
// ([Vault.Reminders], [Vault.Due], [Vault.Review]), merge another copy
// ([Vault.Merge]), sync through git ([Vault.Sync]), hand one value to one
// member as a message for chat ([Vault.Send], [Vault.Receive]), and bring
// in another password manager's export ([ParseExport], [ParsePassEntry],
// [Vault.Import]). For housekeeping, [Vault.Compact] writes the shared file
// afresh and [Vault.Backup] writes a dated copy of it; when a group shuts
// down, [PlanDestroy] lists what a machine holds of a vault and
// [DestroyPlan.Destroy] deletes it once the member typed the vault's name.
//
// # The change log
//
// The vault's truth is a set of operations (internal/oplog): each names its
// author, its time, the operations it was made on top of (by hash, as git
// commits do) and a payload, is signed with its author's Ed25519 key, and is
// sealed with the vault key of its epoch, signature inside, so only members
// learn who did what. The vault's identity is the hash of its first
// operation. The state every method shows is a deterministic function of
// the set (internal/fold): merging copies is the union of their operations,
// in any order, any number of times. Each operation is checked, against the
// state it was made in, for its author's right to make it; a removed
// member's changes made concurrently with the removal are void; whatever a
// member forges with other tools is refused and reported, never applied.
//
// # Files
//
// The shared file (the one members sync, keep in git, or copy around) is a
// bbolt file holding only the log: sealed operations, values (a standard
// age file per version, encrypted to exactly its readers and the recovery
// keys, stored sealed under the vault key, bound by hash to the operation
// that wrote it), and key grants (the vault keys age-encrypted to each
// member), all padded to size classes, so that a file holder learns
// little from their sizes (see the README's "What a file holder learns").
// It is never written in place: a change is written to a new file beside
// it and renamed over it, so a sync tool never copies a half-written file.
//
// bbolt frees pages without clearing them. So a write that deletes
// something (a purged value, a ciphertext a re-encryption replaced) writes
// the shared file afresh, with no free pages, and this machine's copy,
// which bbolt cannot shrink, overwrites its free pages with zeros after
// the transaction: deleted ciphertext stays in neither. Copies made before
// (backups, git history, other machines until they take the change in)
// keep it, and so may an SSD's or a copy-on-write file system's old
// blocks, which no program reaches.
//
// Each machine keeps its own copy in its state folder (Options.StateDir):
// every operation it has seen, and the folded state, sealed under a key
// only the member can unlock. Every command reads that copy, so reads never
// write to the shared file; when the shared file changes, what it brings is
// taken in, and what it lacks (a sync tool put back an older or forked
// copy) is put back, with a warning naming what was missing. Copies that
// sync tools leave beside the file are merged and removed. A machine
// remembers which vault it opened at each path and refuses another there
// ([ErrOtherVault]), and which reminders it told today
// ([Vault.MarkReminded]), so that cron jobs tell them once a day.
//
// # Damaged files
//
// bbolt trusts its file; a damaged one could crash it in ways no recover
// catches. [Open] checks what bbolt reads while opening before bbolt sees
// the file, and the whole structure on bbolt's own mapping the first time
// this machine reads the file after it changed, so a truncated, bit-flipped
// or foreign file gives [ErrCorrupt] or [ErrNotVault]; an operation or
// value that does not authenticate is dropped and reported. A damaged
// shared file is rebuilt from this machine's copy (the damaged one kept).
//
// # Caveats
//
// Every member holds the vault keys and so can read all metadata (not other
// people's values) and all of the log. A removed member keeps whatever they
// saw or copied before; that is why removal marks secrets rotate-now. So
// does a replaced key, whose replacement marks them only when it was
// reported lost or stolen. A
// machine that never saw a change cannot know it is missing: the change
// comes back when any machine that saw it next writes the file.
package vault
