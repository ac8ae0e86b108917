// Package clipboard puts a value on the clipboard and takes it off again,
// even after the program that copied it has ended.
//
// A Copier uses the system clipboard through the usual tools (wl-copy
// and wl-paste on Wayland, xclip or xsel on X11, pbcopy and pbpaste on
// macOS) when one works, and otherwise, inside tmux, a tmux paste buffer
// named "vault" (tmux load-buffer, save-buffer, delete-buffer). The value
// always reaches a tool on its stdin, never in its arguments.
//
// Each copy starts a clearing helper: the program itself, run detached
// (a session of its own, no terminal) in the hidden mode that calls
// Serve. It is given the copy's SHA-256 through a pipe, never the value,
// and when the time is up it empties the clipboard only if it still holds
// the value, so something the person copied since is left alone. Only the
// copy's tool can read the clipboard back, which that check needs.
//
// Without a tool, outside tmux, a caller may ask the terminal itself to
// copy (OSC52). Nothing confirms that the terminal did, and nothing can
// read that clipboard back or clear it: callers say so. Inside tmux that
// fallback is refused (see Copier.TerminalAllowed): with tmux's defaults
// (allow-passthrough off, set-clipboard external) the sequence goes
// nowhere, and otherwise it lands in a tmux buffer that nobody clears.
//
// Caveat: clipboard managers that keep a history of copies keep their
// own copy, which no program can clear.
package clipboard
