//go:build !linux

package main

import (
	"os"

	"golang.org/x/term"
)

// terminalDevice is known on Linux only: elsewhere prompts of several
// processes on one terminal are not kept apart.
func terminalDevice(*os.File) (uint32, bool) { return 0, false }

// echoOff leaves echo to term.ReadPassword, one line at a time.
func echoOff(int) error { return nil }

// dropTypedAhead keeps what was typed ahead.
func dropTypedAhead(int) error { return nil }

// readHidden reads one line from the terminal f with echo off for the
// line, which term.ReadPassword turns off and on again. Its buffer grows
// as the line comes, leaving copies that are not wiped: Linux reads into
// one buffer (see readSecretLine).
func readHidden(f *os.File) ([]byte, error) {
	b, err := term.ReadPassword(int(f.Fd()))
	if err == nil && len(b) > maxLine {
		clear(b)
		return nil, errLongLine
	}
	return b, err
}
