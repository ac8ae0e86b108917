// Package clipboard puts a value on the clipboard and takes it off again.
//
// It uses the system clipboard through the usual tools (wl-copy and
// wl-paste on Wayland, xclip or xsel on X11, pbcopy and pbpaste on macOS)
// when one is there, and otherwise the terminal's own clipboard through an
// OSC 52 escape sequence, which most terminal emulators and tmux accept.
// Only the system tools can read the clipboard back, which is what clearing
// it "only if it still holds our value" needs; after an OSC 52 copy the
// value cannot be checked, so it is not cleared.
package clipboard
