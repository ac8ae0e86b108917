// Package display makes text from a vault safe to show on a terminal.
//
// Every name, username, URL, note, member or group name and log entry a
// vault holds was written by some member, and a hostile member can write
// anything with other tools. A terminal acts on the control characters in
// what it prints: ESC starts sequences that set the clipboard (OSC 52),
// change the window title or clear the screen, and a carriage return lets
// text overwrite a line to fake a prompt. Right-to-left overrides and
// invisible characters make one name look like another. So the command
// line and the terminal UI pass every such field through this package
// before they print it.
//
// [Line] renders a one-line field (a table cell, a name in a message);
// [Text] keeps the newlines of a multi-line field shown in full (a note in
// 'vault show'); [JSON] escapes what encoding/json leaves raw. Each is
// small and has no dependencies, so that cmd/vault, tui and the vault
// package itself can all use it.
//
// # How characters are shown
//
// Like 'cat -v': the C0 controls as ^@ … ^_ (ESC is ^[, a carriage return
// ^M, a tab ^I), DEL as ^?. The C1 controls (U+0080–U+009F), format
// characters (Unicode category Cf: bidirectional overrides and isolates
// such as U+202E and U+2066–U+2069, zero-width spaces and joiners, the
// byte order mark), and the line and paragraph separators U+2028 and
// U+2029 are shown as \u202e-style escapes (\U000e0001 above U+FFFF). A
// byte that is not part of valid UTF-8 is shown as \xff. Everything else,
// letters of every script, emoji and spaces, is shown as it is.
//
// The rendering is for reading, not for parsing back: a field that holds
// the six characters \u202e looks the same as one holding U+202E. Scripts
// that need the exact text use --json or 'vault get --field'.
package display
