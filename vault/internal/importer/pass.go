package importer

import (
	"strings"
	"time"
)

// MaxPassEntry is the largest decrypted pass entry [Pass] reads.
const MaxPassEntry = 128 << 10

// Pass reads one decrypted entry of a pass or passage store (what 'pass
// show NAME' prints): the first line is the password; a line
// "user: …", "login: …", "username: …" or "url: …" (the first of each,
// any case) gives the username or URL; a line starting with otpauth:// is
// the two-factor seed (pass-otp's convention); every other line is the
// note. modified is when the entry's file last changed (zero if unknown).
func Pass(name string, text []byte, modified time.Time) Result {
	name = strings.TrimSpace(name)
	if len(text) > MaxPassEntry {
		return Result{Skipped: []Skip{{Name: name, Reason: "the entry is larger than 128 KiB"}}}
	}
	s := string(text)
	first, rest, _ := strings.Cut(s, "\n")
	first = strings.TrimSuffix(first, "\r")
	if first == "" {
		return Result{Skipped: []Skip{{Name: name, Reason: "its first line (the password) is empty"}}}
	}
	e := Entry{Name: name, Password: first, Modified: modified}
	var notes []string
	for _, line := range strings.Split(strings.ReplaceAll(rest, "\r\n", "\n"), "\n") {
		trimmed := strings.TrimSpace(line)
		if len(trimmed) >= 10 && strings.EqualFold(trimmed[:10], "otpauth://") && e.TOTP == "" {
			e.TOTP = trimmed
			continue
		}
		key, val, ok := strings.Cut(trimmed, ":")
		val = strings.TrimSpace(val)
		if ok && val != "" {
			switch strings.ToLower(strings.TrimSpace(key)) {
			case "user", "login", "username":
				if e.Username == "" {
					e.Username = val
					continue
				}
			case "url":
				if e.URL == "" {
					e.URL = val
					continue
				}
			}
		}
		notes = append(notes, line)
	}
	e.Note = note(strings.Join(notes, "\n"))
	return Result{Entries: []Entry{e}}
}
