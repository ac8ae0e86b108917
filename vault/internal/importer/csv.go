package importer

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
)

// csvFormat is one kind of CSV export: which header names mean which
// field, which must be there, and how a row becomes an entry.
type csvFormat struct {
	// what names the export in messages: "a Bitwarden CSV export".
	what string
	// header is the documented header line, shown when a column is missing.
	header string
	// columns maps each header name (lower case) to the field it holds.
	columns map[string]string
	// required are the fields the header must name.
	required []string
	// foreign maps header names (lower case) that only another manager's
	// export has to that manager's format: such a file is refused rather
	// than read by the columns the two happen to share.
	foreign map[string]Format
	// row makes an entry from a row's fields, or says why the row is
	// skipped.
	row func(get func(field string) string) (Entry, string)
}

var genericCSV = csvFormat{
	what:   "a CSV file with a header line",
	header: "name,username,password,url,note,totp",
	columns: map[string]string{
		"name": "name", "username": "username", "user": "username", "login": "username",
		"password": "password", "url": "url", "uri": "url", "note": "note", "notes": "note",
		"totp": "totp", "otp": "totp",
	},
	required: []string{"name", "password"},
	row: func(get func(string) string) (Entry, string) {
		return Entry{Name: strings.TrimSpace(get("name")), Username: strings.TrimSpace(get("username")),
			Password: get("password"), URL: strings.TrimSpace(get("url")), Note: note(get("note")),
			TOTP: strings.TrimSpace(get("totp"))}, ""
	},
}

var bitwardenCSV = csvFormat{
	what:   "a Bitwarden CSV export",
	header: "folder,favorite,type,name,notes,fields,reprompt,login_uri,login_username,login_password,login_totp",
	columns: map[string]string{
		"folder": "folder", "collections": "collections", "type": "type", "name": "name", "notes": "notes",
		"fields": "fields", "login_uri": "uri", "login_username": "username", "login_password": "password",
		"login_totp": "totp",
	},
	required: []string{"type", "name", "password"},
	row: func(get func(string) string) (Entry, string) {
		folder := get("folder")
		if folder == "" {
			// An organization's export has collections instead.
			folder, _, _ = strings.Cut(get("collections"), ",")
		}
		e := Entry{Name: joinName(folder, get("name")), Note: note(get("notes")),
			Username: strings.TrimSpace(get("username")), Password: get("password"), TOTP: strings.TrimSpace(get("totp"))}
		switch strings.ToLower(strings.TrimSpace(get("type"))) {
		case "login", "":
		case "note":
			return e, "a secure note, not a login; add it with 'vault add' if it must move"
		default:
			return e, "not a login (see its type column)"
		}
		var more string
		e.URL, more = firstURL(get("uri"))
		if more != "" {
			e.Partial = append(e.Partial, more)
		}
		if strings.TrimSpace(get("fields")) != "" {
			e.Partial = append(e.Partial, "its custom fields")
		}
		return e, ""
	},
}

var onePasswordCSV = csvFormat{
	what:   "a 1Password CSV export",
	header: "Title,Url,Username,Password,OTPAuth,Favorite,Archived,Tags,Notes",
	columns: map[string]string{
		"title": "title", "url": "url", "website": "url", "username": "username", "password": "password",
		"otpauth": "totp", "one-time password": "totp", "notes": "notes", "notesplain": "notes", "archived": "archived",
	},
	required: []string{"title", "password"},
	foreign:  map[string]Format{"group": KeePassXCCSV, "login_password": BitwardenCSV},
	row: func(get func(string) string) (Entry, string) {
		e := Entry{Name: strings.TrimSpace(get("title")), Username: strings.TrimSpace(get("username")),
			Password: get("password"), Note: note(get("notes")), TOTP: strings.TrimSpace(get("totp"))}
		var more string
		e.URL, more = firstURL(get("url"))
		if more != "" {
			e.Partial = append(e.Partial, more)
		}
		if strings.EqualFold(strings.TrimSpace(get("archived")), "true") {
			return e, "archived in 1Password; add it with 'vault add' if it is still in use"
		}
		return e, ""
	},
}

var keepassxcCSV = csvFormat{
	what:   "a KeePassXC CSV export",
	header: `"Group","Title","Username","Password","URL","Notes","TOTP","Icon","Last Modified","Created"`,
	columns: map[string]string{
		"group": "group", "title": "title", "username": "username", "password": "password", "url": "url",
		"notes": "notes", "totp": "totp", "last modified": "modified",
	},
	required: []string{"group", "title", "password"},
	foreign:  map[string]Format{"otpauth": OnePasswordCSV, "login_password": BitwardenCSV},
	row: func(get func(string) string) (Entry, string) {
		// Every group path starts with the database's root group, whose
		// name is the database's: it is no folder of the group's.
		parts := strings.Split(get("group"), "/")
		folder := strings.Join(parts[1:], "/")
		e := Entry{Name: joinName(folder, get("title")), Username: strings.TrimSpace(get("username")),
			Password: get("password"), URL: strings.TrimSpace(get("url")), Note: note(get("notes")),
			TOTP: strings.TrimSpace(get("totp")), Modified: parseTime(get("modified"))}
		if len(parts) > 1 && strings.TrimSpace(parts[1]) == "Recycle Bin" {
			return e, "in KeePassXC's recycle bin"
		}
		return e, ""
	},
}

// parseCSV reads a CSV export of format f.
func parseCSV(data []byte, f csvFormat) (Result, error) {
	if LooksLikeJSON(data) {
		return Result{}, fmt.Errorf("not %s: it holds JSON (for Bitwarden's JSON export, use the format bitwarden-json)", f.what)
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.ReuseRecord = false
	header, err := r.Read()
	if err != nil {
		return Result{}, fmt.Errorf("not %s: %s", f.what, csvError(err))
	}
	index := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		if other, ok := f.foreign[h]; ok {
			return Result{}, fmt.Errorf("not %s: its columns are those of another manager's export (try the format %s)", f.what, other)
		}
		field, ok := f.columns[h]
		if !ok {
			continue
		}
		if _, dup := index[field]; dup {
			return Result{}, fmt.Errorf("not %s: its first line names the %s column twice", f.what, field)
		}
		index[field] = i
	}
	for _, req := range f.required {
		if _, ok := index[req]; !ok {
			return Result{}, fmt.Errorf("not %s: its first line names no %s column (the export's first line is %s)", f.what, req, f.header)
		}
	}
	var res Result
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return res, nil
		}
		if err != nil && !errors.Is(err, csv.ErrFieldCount) {
			return Result{}, fmt.Errorf("not %s: %s", f.what, csvError(err))
		}
		line, _ := r.FieldPos(0)
		from := fmt.Sprintf("line %d", line)
		if err != nil {
			res.Skipped = append(res.Skipped, Skip{From: from, Reason: fmt.Sprintf("it has %d cells where the first line names %d columns", len(rec), len(header))})
			continue
		}
		get := func(field string) string {
			if i, ok := index[field]; ok && i < len(rec) {
				return rec[i]
			}
			return ""
		}
		e, skip := f.row(get)
		e.From = from
		switch {
		case skip != "":
		case e.Name == "":
			skip = "it has no name"
		case e.Password == "":
			skip = "it has no password"
		}
		if skip != "" {
			res.Skipped = append(res.Skipped, Skip{From: from, Name: e.Name, Reason: skip})
			continue
		}
		res.Entries = append(res.Entries, e)
	}
}

// csvError says what is wrong with a CSV file by its line and column,
// never quoting it.
func csvError(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Sprintf("line %d, column %d: %v", pe.Line, pe.Column, pe.Err)
	}
	if err == io.EOF {
		return "it is empty"
	}
	return err.Error()
}
