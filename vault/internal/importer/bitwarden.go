package importer

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// bwExport is Bitwarden's JSON export: the folders (or an organization's
// collections) and the items. An encrypted export has "encrypted": true
// and either its items' fields encrypted to the account's key or, when
// protected by a password, one "data" field instead of the items.
type bwExport struct {
	Encrypted         bool             `json:"encrypted"`
	PasswordProtected bool             `json:"passwordProtected"`
	Data              *json.RawMessage `json:"data"`
	Folders           []bwNamed        `json:"folders"`
	Collections       []bwNamed        `json:"collections"`
	Items             *[]bwItem        `json:"items"`
}

type bwNamed struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type bwItem struct {
	Type                 int               `json:"type"`
	Name                 string            `json:"name"`
	Notes                string            `json:"notes"`
	FolderID             string            `json:"folderId"`
	CollectionIDs        []string          `json:"collectionIds"`
	Login                *bwLogin          `json:"login"`
	Fields               []json.RawMessage `json:"fields"`
	CreationDate         string            `json:"creationDate"`
	RevisionDate         string            `json:"revisionDate"`
	PasswordRevisionDate string            `json:"passwordRevisionDate"`
	DeletedDate          string            `json:"deletedDate"`
}

type bwLogin struct {
	Username             string            `json:"username"`
	Password             string            `json:"password"`
	TOTP                 string            `json:"totp"`
	URIs                 []bwURI           `json:"uris"`
	PasswordRevisionDate string            `json:"passwordRevisionDate"`
	FIDO2                []json.RawMessage `json:"fido2Credentials"`
}

type bwURI struct {
	URI string `json:"uri"`
}

// bwTypes names Bitwarden's item types other than logins (1).
var bwTypes = map[int]string{2: "a secure note", 3: "a card", 4: "an identity", 5: "an SSH key"}

// errEncrypted is what an encrypted Bitwarden export gets: what to do.
var errEncrypted = errors.New("an encrypted Bitwarden export, which vault cannot read; in Bitwarden, export again choosing the file format .json (not .json (Encrypted)), import that file, then delete it")

func parseBitwardenJSON(data []byte) (Result, error) {
	if !LooksLikeJSON(data) {
		return Result{}, errors.New("not a Bitwarden JSON export: it does not start with '{' (for Bitwarden's CSV export, use the format bitwarden-csv)")
	}
	var x bwExport
	if err := json.Unmarshal(data, &x); err != nil {
		return Result{}, fmt.Errorf("not a Bitwarden JSON export: %s", jsonError(err))
	}
	if x.Encrypted || x.PasswordProtected || x.Data != nil {
		return Result{}, errEncrypted
	}
	if x.Items == nil {
		return Result{}, errors.New("not a Bitwarden JSON export: it has no list of items")
	}
	folders := map[string]string{}
	for _, f := range x.Folders {
		folders[f.ID] = f.Name
	}
	for _, c := range x.Collections {
		folders[c.ID] = c.Name
	}
	var res Result
	for i, it := range *x.Items {
		from := fmt.Sprintf("item %d", i+1)
		folder := folders[it.FolderID]
		if folder == "" && len(it.CollectionIDs) > 0 {
			folder = folders[it.CollectionIDs[0]]
		}
		name := joinName(folder, it.Name)
		skip := func(reason string) { res.Skipped = append(res.Skipped, Skip{From: from, Name: name, Reason: reason}) }
		switch {
		case it.Type != 1:
			what := bwTypes[it.Type]
			if what == "" {
				what = fmt.Sprintf("an item of type %d", it.Type)
			}
			skip(what + ", not a login; add it with 'vault add' if it must move")
			continue
		case it.DeletedDate != "":
			skip("in Bitwarden's trash")
			continue
		case name == "":
			skip("it has no name")
			continue
		case it.Login == nil || it.Login.Password == "":
			skip("it has no password")
			continue
		}
		e := Entry{From: from, Name: name, Username: strings.TrimSpace(it.Login.Username), Password: it.Login.Password,
			Note: note(it.Notes), TOTP: strings.TrimSpace(it.Login.TOTP), Modified: bwModified(it)}
		var urls []string
		for _, u := range it.Login.URIs {
			if s := strings.TrimSpace(u.URI); s != "" {
				urls = append(urls, s)
			}
		}
		if len(urls) > 0 {
			e.URL = urls[0]
		}
		switch n := len(urls) - 1; {
		case n == 1:
			e.Partial = append(e.Partial, "1 more URL")
		case n > 1:
			e.Partial = append(e.Partial, fmt.Sprintf("%d more URLs", n))
		}
		if len(it.Fields) > 0 {
			e.Partial = append(e.Partial, "its custom fields")
		}
		if len(it.Login.FIDO2) > 0 {
			e.Partial = append(e.Partial, "its passkey")
		}
		res.Entries = append(res.Entries, e)
	}
	return res, nil
}

// bwModified is when an item's password last changed: the date Bitwarden
// recorded for its last change, else (never changed since) the item's
// creation, else the item's last change of any kind.
func bwModified(it bwItem) time.Time {
	for _, s := range []string{it.Login.PasswordRevisionDate, it.PasswordRevisionDate, it.CreationDate, it.RevisionDate} {
		if t := parseTime(s); !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}

// jsonError says what is wrong with a JSON file by position or field,
// never quoting it: encoding/json's syntax errors quote the character
// they stopped at, which may be a password's.
func jsonError(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("it is not valid JSON (at byte %d)", se.Offset)
	case errors.As(err, &te) && te.Field == "":
		return "it is not a JSON object"
	case errors.As(err, &te):
		// Value is the JSON kind, followed for a number that does not fit
		// by the number itself: only the kind is said.
		kind, _, _ := strings.Cut(te.Value, " ")
		return fmt.Sprintf("its field %s holds a JSON %s where Bitwarden writes %s", te.Field, kind, jsonKind(te.Type.Kind().String()))
	}
	return "it is not valid JSON"
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "text"
	case "int":
		return "a number"
	case "bool":
		return "true or false"
	case "slice":
		return "a list"
	case "struct", "ptr":
		return "an object"
	}
	return "something else"
}
