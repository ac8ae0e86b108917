package importer

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// Sample exports, written from each manager's documented columns.
const (
	sampleCSV = "Name,Password,Username,URL,Note,TOTP,Extra\r\n" +
		"airtable,air-pw,intake@example.org,https://airtable.com,\"two\r\nlines\",,ignored\r\n" +
		"bank,\"bank,pw\"\"q\",cash,,,otpauth://totp/Bank?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ,\r\n" +
		"nopass,,someone,,,,\r\n"

	sampleBitwardenCSV = "folder,favorite,type,name,notes,fields,reprompt,login_uri,login_username,login_password,login_totp\n" +
		"Intake,1,login,Airtable,shared base,,0,\"https://airtable.com,https://airtable.com/login\",intake@example.org,air-pw,GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\n" +
		",,login,Bank,,PIN: 1234,0,https://bank.example,cash,bank-pw,\n" +
		",,note,Door code,secret note,,0,,,,\n"

	sampleOnePassword = "Title,Url,Username,Password,OTPAuth,Favorite,Archived,Tags,Notes\n" +
		"Airtable,https://airtable.com,intake@example.org,air-pw,otpauth://totp/Airtable?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ,false,false,intake,shared base\n" +
		"Old inbox,https://mail.example,old@example.org,old-pw,,false,true,,\n"

	sampleKeePassXC = `"Group","Title","Username","Password","URL","Notes","TOTP","Icon","Last Modified","Created"` + "\n" +
		`"Root","Airtable","intake@example.org","air-pw","https://airtable.com","shared base","otpauth://totp/Airtable?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&period=30&digits=6","0","2026-05-01T09:30:00Z","2025-01-01T00:00:00Z"` + "\n" +
		`"Root/Money/Bank","Online","cash","bank-pw","https://bank.example","","","0","2026-03-02T10:00:00Z","2025-01-01T00:00:00Z"` + "\n" +
		`"Root/Recycle Bin","Gone","x","gone-pw","","","","0","2026-03-02T10:00:00Z","2025-01-01T00:00:00Z"` + "\n"

	sampleBitwardenJSON = `{
  "encrypted": false,
  "folders": [{"id": "f1", "name": "Intake"}],
  "items": [
    {"id": "i1", "folderId": "f1", "type": 1, "name": "Airtable", "notes": "shared base",
     "login": {"username": "intake@example.org", "password": "air-pw", "totp": "otpauth://totp/A?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
               "uris": [{"match": null, "uri": "https://airtable.com"}]},
     "creationDate": "2025-01-01T00:00:00.000Z", "revisionDate": "2026-05-01T08:00:00.000Z", "passwordRevisionDate": null},
    {"id": "i2", "folderId": null, "type": 1, "name": "Bank", "notes": null,
     "fields": [{"name": "PIN", "value": "1234", "type": 1}],
     "login": {"username": "cash", "password": "bank-pw", "totp": null, "uris": [], "passwordRevisionDate": "2026-02-03T04:05:06.789Z"},
     "creationDate": "2024-01-01T00:00:00.000Z", "revisionDate": "2026-06-01T00:00:00.000Z"},
    {"id": "i3", "type": 2, "name": "Door code", "notes": "1234", "secureNote": {"type": 0}},
    {"id": "i4", "type": 3, "name": "Card", "card": {"number": "4111"}},
    {"id": "i5", "type": 1, "name": "Empty", "login": {"username": "u", "password": null}}
  ]
}`
)

func TestParse(t *testing.T) {
	seed := "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
	tests := []struct {
		name    string
		format  Format
		data    string
		entries []Entry
		skipped []Skip
	}{
		{"generic", CSV, sampleCSV,
			[]Entry{
				{From: "line 2", Name: "airtable", Username: "intake@example.org", Password: "air-pw", URL: "https://airtable.com", Note: "two\nlines"},
				{From: "line 4", Name: "bank", Username: "cash", Password: "bank,pw\"q", TOTP: "otpauth://totp/Bank?secret=" + seed},
			},
			[]Skip{{From: "line 5", Name: "nopass", Reason: "it has no password"}}},
		{"bitwarden csv", BitwardenCSV, sampleBitwardenCSV,
			[]Entry{
				{From: "line 2", Name: "Intake/Airtable", Username: "intake@example.org", Password: "air-pw", URL: "https://airtable.com",
					Note: "shared base", TOTP: seed, Partial: []string{"1 more URL"}},
				{From: "line 3", Name: "Bank", Username: "cash", Password: "bank-pw", URL: "https://bank.example", Partial: []string{"its custom fields"}},
			},
			[]Skip{{From: "line 4", Name: "Door code", Reason: "a secure note, not a login; add it with 'vault add' if it must move"}}},
		{"1password", OnePasswordCSV, sampleOnePassword,
			[]Entry{{From: "line 2", Name: "Airtable", Username: "intake@example.org", Password: "air-pw", URL: "https://airtable.com",
				Note: "shared base", TOTP: "otpauth://totp/Airtable?secret=" + seed}},
			[]Skip{{From: "line 3", Name: "Old inbox", Reason: "archived in 1Password; add it with 'vault add' if it is still in use"}}},
		{"keepassxc", KeePassXCCSV, sampleKeePassXC,
			[]Entry{
				{From: "line 2", Name: "Airtable", Username: "intake@example.org", Password: "air-pw", URL: "https://airtable.com", Note: "shared base",
					TOTP: "otpauth://totp/Airtable?secret=" + seed + "&period=30&digits=6", Modified: time.Date(2026, 5, 1, 9, 30, 0, 0, time.UTC)},
				{From: "line 3", Name: "Money/Bank/Online", Username: "cash", Password: "bank-pw", URL: "https://bank.example",
					Modified: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)},
			},
			[]Skip{{From: "line 4", Name: "Recycle Bin/Gone", Reason: "in KeePassXC's recycle bin"}}},
		{"bitwarden json", BitwardenJSON, sampleBitwardenJSON,
			[]Entry{
				{From: "item 1", Name: "Intake/Airtable", Username: "intake@example.org", Password: "air-pw", URL: "https://airtable.com",
					Note: "shared base", TOTP: "otpauth://totp/A?secret=" + seed, Modified: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)},
				{From: "item 2", Name: "Bank", Username: "cash", Password: "bank-pw", Partial: []string{"its custom fields"},
					Modified: time.Date(2026, 2, 3, 4, 5, 6, 789e6, time.UTC)},
			},
			[]Skip{
				{From: "item 3", Name: "Door code", Reason: "a secure note, not a login; add it with 'vault add' if it must move"},
				{From: "item 4", Name: "Card", Reason: "a card, not a login; add it with 'vault add' if it must move"},
				{From: "item 5", Name: "Empty", Reason: "it has no password"},
			}},
		{"csv with a byte order mark", CSV, "\ufeffname,password\nx,y\n",
			[]Entry{{From: "line 2", Name: "x", Password: "y"}}, nil},
		{"a shifted row is skipped", CSV, "name,password,note\nx,pa,ss,word\ny,pw,\n",
			[]Entry{{From: "line 3", Name: "y", Password: "pw"}},
			[]Skip{{From: "line 2", Reason: "it has 4 cells where the first line names 3 columns"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Parse(tt.format, []byte(tt.data))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(res.Entries, tt.entries) {
				t.Errorf("entries:\n got %+v\nwant %+v", res.Entries, tt.entries)
			}
			if !reflect.DeepEqual(res.Skipped, tt.skipped) {
				t.Errorf("skipped:\n got %+v\nwant %+v", res.Skipped, tt.skipped)
			}
		})
	}
}

// TestParseRefuses checks that an export that is not what its format says
// is refused with an error that says so, and never quotes the file.
func TestParseRefuses(t *testing.T) {
	tests := []struct {
		name   string
		format Format
		data   string
		want   string
	}{
		{"bitwarden csv as generic", CSV, sampleBitwardenCSV, "names no password column"},
		{"generic as bitwarden csv", BitwardenCSV, sampleCSV, "not a Bitwarden CSV export"},
		{"keepassxc as 1password", OnePasswordCSV, sampleKeePassXC, "try the format keepassxc-csv"},
		{"1password as keepassxc", KeePassXCCSV, sampleOnePassword, "try the format 1password-csv"},
		{"1password without otpauth as keepassxc", KeePassXCCSV, "Title,Url,Username,Password,Notes\n", "names no group column"},
		{"json as csv", BitwardenCSV, sampleBitwardenJSON, "it holds JSON"},
		{"csv as json", BitwardenJSON, sampleBitwardenCSV, "does not start with '{'"},
		{"headerless csv", CSV, "gmail,hunter2-secret\n", "names no name column"},
		{"bad quotes", CSV, "name,password\nx,\"hunter2-secret\n", "line 2"},
		{"bare quote", CSV, "name,password\nx,hun\"ter2-secret\n", "bare \""},
		{"twice the same column", CSV, "name,password,notes,note\n", "names the note column twice"},
		{"empty", CSV, " \n", "empty"},
		{"broken json", BitwardenJSON, `{"items": [hunter2-secret]}`, "not valid JSON (at byte"},
		{"json array", BitwardenJSON, `{"items": {"x": "hunter2-secret"}}`, "its field items holds a JSON object where Bitwarden writes a list"},
		{"json without items", BitwardenJSON, `{"folders": []}`, "no list of items"},
		{"wrong type", BitwardenJSON, `{"items": [{"type": 1, "name": "x", "login": {"password": 12345}}]}`, "items.login.password holds a JSON number where Bitwarden writes text"},
		{"encrypted, account key", BitwardenJSON, `{"encrypted": true, "encKeyValidation_DO_NOT_EDIT": "2.x", "folders": [], "items": [{"type": 1, "name": "2.abc|def"}]}`, "an encrypted Bitwarden export"},
		{"encrypted, password", BitwardenJSON, `{"encrypted": true, "passwordProtected": true, "salt": "x", "kdfType": 0, "kdfIterations": 600000, "encKeyValidation_DO_NOT_EDIT": "2.x", "data": "2.hunter2-secret"}`, ".json (not .json (Encrypted))"},
		{"unknown format", "lastpass", "x", "unknown export format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.format, []byte(tt.data))
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error %q quotes the export", err)
			}
		})
	}
	big := make([]byte, MaxSize+1)
	if _, err := Parse(CSV, big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("an export over the limit: %v", err)
	}
}

func TestPass(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name string
		text string
		want Result
	}{
		{"password only", "pw\n", Result{Entries: []Entry{{Name: "x", Password: "pw", Modified: at}}}},
		{"no newline", "pw", Result{Entries: []Entry{{Name: "x", Password: "pw", Modified: at}}}},
		{"fields", "pw \nUser: alice\nurl: https://x.example\notpauth://totp/x?secret=GEZDGNBVGY3TQOJQ\nlogin: second\nmore: text\n\nlast\n",
			Result{Entries: []Entry{{Name: "x", Password: "pw ", Username: "alice", URL: "https://x.example",
				TOTP: "otpauth://totp/x?secret=GEZDGNBVGY3TQOJQ", Note: "login: second\nmore: text\n\nlast", Modified: at}}}},
		{"username and crlf", "pw\r\nusername: bob\r\nnote\r\n",
			Result{Entries: []Entry{{Name: "x", Password: "pw", Username: "bob", Note: "note", Modified: at}}}},
		{"empty first line", "\nuser: x\n", Result{Skipped: []Skip{{Name: "x", Reason: "its first line (the password) is empty"}}}},
		{"empty", "", Result{Skipped: []Skip{{Name: "x", Reason: "its first line (the password) is empty"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Pass("x", []byte(tt.text), at)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
	if got := Pass("x", make([]byte, MaxPassEntry+1), at); len(got.Entries) != 0 || len(got.Skipped) != 1 {
		t.Errorf("an entry over the limit: %+v", got)
	}
}

func TestJoinName(t *testing.T) {
	tests := []struct{ folder, name, want string }{
		{"", "x", "x"},
		{"a", " x ", "a/x"},
		{" a / b /", "x", "a/b/x"},
		{"a", "", ""},
		{"//", "x", "x"},
	}
	for _, tt := range tests {
		if got := joinName(tt.folder, tt.name); got != tt.want {
			t.Errorf("joinName(%q, %q) = %q, want %q", tt.folder, tt.name, got, tt.want)
		}
	}
}
