package importer

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Format is an export format [Parse] reads.
type Format string

// The formats [Parse] reads. A pass or passage store is read one decrypted
// entry at a time, with [Pass].
const (
	// CSV is a spreadsheet saved as CSV whose first line names the
	// columns: name and password, and any of username, url, note and totp.
	CSV Format = "csv"
	// BitwardenCSV is Bitwarden's CSV export.
	BitwardenCSV Format = "bitwarden-csv"
	// BitwardenJSON is Bitwarden's unencrypted JSON export.
	BitwardenJSON Format = "bitwarden-json"
	// OnePasswordCSV is 1Password's CSV export.
	OnePasswordCSV Format = "1password-csv"
	// KeePassXCCSV is KeePassXC's CSV export.
	KeePassXCCSV Format = "keepassxc-csv"
)

// Formats lists the formats [Parse] reads.
func Formats() []Format {
	return []Format{CSV, BitwardenCSV, BitwardenJSON, OnePasswordCSV, KeePassXCCSV}
}

// MaxSize is the largest export Parse reads: the export of a few thousand
// logins is a few megabytes.
const MaxSize = 32 << 20

// Entry is one login read from an export.
type Entry struct {
	// From says where the entry is in the export: "line 4", "item 3", or
	// empty for a pass entry (its name says where).
	From string
	// Name is the folder or group, a '/', and the item's name. It is not
	// checked against the vault's naming rules: the vault does that.
	Name     string
	Username string
	URL      string
	Note     string
	Password string
	// TOTP is the two-factor seed as the export holds it (an otpauth://
	// URI or a base32 seed), unchecked.
	TOTP string
	// Modified is when the password last changed according to the export;
	// zero when it does not say.
	Modified time.Time
	// Partial lists what the item held that is not imported, such as
	// "its custom fields"; never a value.
	Partial []string
}

// Skip is an item of the export that is not imported, and why.
type Skip struct {
	From   string
	Name   string
	Reason string
}

// Result is what an export holds.
type Result struct {
	Entries []Entry
	Skipped []Skip
}

// Parse reads an export. It fails when data is not what format says, and
// its errors never quote the export's text.
func Parse(format Format, data []byte) (Result, error) {
	if len(data) > MaxSize {
		return Result{}, fmt.Errorf("the export is larger than %d MiB", MaxSize>>20)
	}
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	if len(bytes.TrimSpace(data)) == 0 {
		return Result{}, errors.New("the export is empty")
	}
	switch format {
	case CSV:
		return parseCSV(data, genericCSV)
	case BitwardenCSV:
		return parseCSV(data, bitwardenCSV)
	case OnePasswordCSV:
		return parseCSV(data, onePasswordCSV)
	case KeePassXCCSV:
		return parseCSV(data, keepassxcCSV)
	case BitwardenJSON:
		return parseBitwardenJSON(data)
	}
	return Result{}, fmt.Errorf("unknown export format %q", format)
}

// LooksLikeJSON reports whether data starts like a JSON object: how the
// command line tells Bitwarden's two exports apart.
func LooksLikeJSON(data []byte) bool {
	data = bytes.TrimLeft(bytes.TrimPrefix(data, []byte("\ufeff")), " \t\r\n")
	return len(data) > 0 && data[0] == '{'
}

// joinName puts an item's folder (a path of '/'-separated parts) in front
// of its name. Spaces around each part are dropped: exports keep what was
// typed, and the vault refuses names that start or end with a space.
func joinName(folder, name string) string {
	name = strings.TrimSpace(name)
	var parts []string
	for _, p := range strings.Split(folder, "/") {
		if p = strings.TrimSpace(p); p != "" {
			parts = append(parts, p)
		}
	}
	if len(parts) == 0 {
		return name
	}
	if name == "" {
		// Without a name there is nothing to put after the folder; the
		// caller skips it.
		return ""
	}
	return strings.Join(parts, "/") + "/" + name
}

// note returns a note with Windows and old Mac line ends made newlines:
// the vault refuses other control characters in notes.
func note(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	return strings.TrimSpace(s)
}

// parseTime reads the dates exports write: RFC 3339 (Bitwarden, with
// milliseconds) or Qt's ISO date (KeePassXC, with or without a zone; UTC
// when without). It returns zero for anything else.
func parseTime(s string) time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC()
	}
	if t, err := time.Parse("2006-01-02T15:04:05", s); err == nil {
		return t
	}
	return time.Time{}
}

// firstURL returns the first of several URLs an export joins with commas,
// and a note of how many more there were.
func firstURL(s string) (string, string) {
	var urls []string
	for _, u := range strings.Split(s, ",") {
		if u = strings.TrimSpace(u); u != "" {
			urls = append(urls, u)
		}
	}
	switch len(urls) {
	case 0:
		return "", ""
	case 1:
		return urls[0], ""
	case 2:
		return urls[0], "1 more URL"
	}
	return urls[0], fmt.Sprintf("%d more URLs", len(urls)-1)
}
