// Package tui is the terminal UI for organizers: one program that shows, at
// a glance, the secrets a member can use and what is due, and acts on them
// with a few keys.
//
// # Structure
//
// [Model] is the root: it walks through the first run (make an identity,
// create or join a vault), the unlock (a passphrase prompt that shows
// neither the passphrase nor its length) and then the screens. Each screen
// (secrets, members, review) follows one contract: Init, Update, View,
// SetSize and the help.KeyMap methods, so the help bar always matches the
// screen. All keys live in one [KeyMap] ([DefaultKeyMap]) and all styles in
// one [Styles] ([DefaultStyles]).
//
// The vault is only ever called inside tea.Cmds; results and errors come
// back as messages, and an error is shown on the status line, never a
// crash. The identity is unlocked once per session, but the vault file is
// opened for each action and closed right after (one action at a time), so
// scripts and cron jobs can use the vault while an organizer has the UI
// open.
//
// The UI stays live: it looks at the vault file on a tick (one stat; see
// Options.Watch) and, when the file changed (another terminal, a sync),
// reads it again, keeping the selection and anything being typed, and
// works out the notice again. A secret that went away while a dialog
// about it was open is named, with who moved it to the trash; an edit
// keeps what was typed.
//
// # Safety
//
// No secret value is on screen until asked for, and then only one, for 30
// seconds or until the selection moves or the screen changes; the value is
// wiped when hidden. Passwords typed into forms show as "(typing is
// hidden)", whatever their length. Copies go to the system clipboard, or
// inside tmux to its paste buffer, and are cleared after 45 seconds if the
// clipboard still holds them, by a helper that outlives the UI
// (Options.Clearer; package clipboard). Only without either, and outside
// tmux, do they go to the terminal's own clipboard (OSC 52), which the
// status line says vault can neither check nor clear. Deleting goes to a trash,
// rotation keeps both values until confirmed, and removing a member shows
// what it does first: a wrong key loses nothing.
//
// Nothing the UI runs writes to the terminal behind its back: the
// clipboard tools' output is discarded, and no identity in use needs a
// terminal prompt of its own (plugin identities such as hardware keys are
// not supported yet; when they are, their prompts must run with the
// program's terminal released).
package tui
