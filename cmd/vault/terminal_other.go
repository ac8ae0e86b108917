//go:build !linux

package main

import "os"

// terminalDevice is known on Linux only: elsewhere prompts of several
// processes on one terminal are not kept apart.
func terminalDevice(*os.File) (uint32, bool) { return 0, false }

// echoOff leaves echo to term.ReadPassword, one line at a time.
func echoOff(int) error { return nil }

// dropTypedAhead keeps what was typed ahead.
func dropTypedAhead(int) error { return nil }
