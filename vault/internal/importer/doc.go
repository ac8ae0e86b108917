// Package importer reads the exports of other password managers into
// entries the vault can store: a generic CSV with a header line, Bitwarden's
// CSV and unencrypted JSON exports, 1Password's CSV, KeePassXC's CSV, and
// one decrypted entry of a pass or passage store.
//
// It is pure: bytes in, entries out. It reads no file, runs no program and
// writes nothing, so that every parser can be fuzzed; the vault package
// stores what it returns and the command line finds the bytes.
//
// # What is mapped
//
// Each entry has a name (the export's folder or group, a '/', and the
// item's own name), a username, a URL, a note, the password, a two-factor
// seed where the export carries one, and the date the export says it was
// last changed. An item that cannot become a secret (a secure note, a card,
// an identity, an entry without a password) is returned as a [Skip] with
// the reason, and an item imported without some of what it held (custom
// fields, more than one URL) says so in [Entry.Partial].
//
// # Caveats
//
// Errors and reasons name a line or item and the entry's name, never a
// cell's text: a CSV file that is not what its format says may hold a
// password where a name belongs. Columns are found by the names in the
// header line, so the columns' order does not matter, and a row with more
// or fewer cells than the header is skipped rather than guessed at, since a
// shifted row would put a piece of a password into a field that every
// member can read.
package importer
