package vault

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

func importEntry(from, name, pw string) ImportEntry {
	return ImportEntry{From: from, Name: name, Value: NewValue([]byte(pw))}
}

// TestImport: an export's entries become secrets with every field, their
// seeds and dates, shared as asked, in one write of the shared file.
func TestImport(t *testing.T) {
	g := newGroup(t, Classic, "alice", "bob", "carol")
	x, err := ParseExport(ImportBitwardenJSON, []byte(`{"encrypted": false, "folders": [{"id": "f", "name": "Intake"}], "items": [
		{"type": 1, "folderId": "f", "name": "Airtable", "notes": "the base",
		 "login": {"username": "intake@example.org", "password": "air-pw", "totp": "`+seedA+`", "uris": [{"uri": "https://airtable.com"}]},
		 "creationDate": "2026-05-01T10:00:00.000Z"},
		{"type": 1, "name": "Bank", "login": {"password": "bank-pw"}, "creationDate": "2027-01-01T00:00:00.000Z"},
		{"type": 2, "name": "Door", "notes": "1234"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(x.Skipped) != 1 || x.Skipped[0].Name != "Door" {
		t.Fatalf("skipped %+v", x.Skipped)
	}
	g.do("alice", func(v *Vault) {
		before := v.published
		rep, err := v.Import(x.Entries, ImportOptions{Share: []string{"bob"}})
		if err != nil {
			t.Fatal(err)
		}
		if n := v.published - before; n != 1 {
			t.Errorf("the import wrote the shared file %d times, want once", n)
		}
		want := []ImportedSecret{
			{From: "item 1", Name: "Intake/Airtable", Username: "intake@example.org", URL: "https://airtable.com",
				Password: true, TOTP: true, Note: true, LastRotated: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)},
			// A date after now (a clock ahead) is now.
			{From: "item 2", Name: "Bank", Password: true, LastRotated: g.clock.t},
		}
		if !reflect.DeepEqual(rep.Imported, want) {
			t.Errorf("imported\n %+v\nwant %+v", rep.Imported, want)
		}
		if !reflect.DeepEqual(rep.SharedWith, []string{"alice", "bob"}) {
			t.Errorf("shared with %v", rep.SharedWith)
		}
		s, err := v.Get("intake/airtable")
		if err != nil {
			t.Fatal(err)
		}
		if s.Username != "intake@example.org" || s.URL != "https://airtable.com" || s.Note != "the base" || !s.TOTP ||
			!s.LastRotated.Equal(want[0].LastRotated) || !reflect.DeepEqual(s.SharedWith, []string{"alice", "bob"}) {
			t.Errorf("stored %+v", s)
		}
	})
	g.do("bob", func(v *Vault) {
		if got := reveal(t, v, "Intake/Airtable"); got != "air-pw" {
			t.Errorf("value %q", got)
		}
		if got := otpCode(t, v, "Intake/Airtable", 0); got != g.codeOf(seedA) {
			t.Errorf("code %s", got)
		}
		if got := reveal(t, v, "Bank"); got != "bank-pw" {
			t.Errorf("value %q", got)
		}
	})
	g.do("carol", func(v *Vault) {
		_, err := v.Reveal("Bank", 0)
		mustIs(t, err, ErrNotReader)
	})
}

// TestImportSkips: names already in the vault (or its trash) or earlier
// in the export, and entries the vault refuses, are skipped and reported
// in the export's order; nothing is overwritten; a bad seed is left out.
func TestImportSkips(t *testing.T) {
	g := newGroup(t, Classic, "alice", "bob")
	g.do("alice", func(v *Vault) {
		if _, err := v.Add(NewSecret{Name: "old/bank"}, NewValue([]byte("kept"))); err != nil {
			t.Fatal(err)
		}
		if _, err := v.Add(NewSecret{Name: "old/gone"}, NewValue([]byte("x"))); err != nil {
			t.Fatal(err)
		}
		if err := v.Remove("old/gone"); err != nil {
			t.Fatal(err)
		}
		badSeed := importEntry("line 7", "otp", "otp-pw")
		badSeed.TOTP = NewValue([]byte("GEZDGNBVGY3TQOJ1-seed"))
		long := importEntry("line 8", "long", "pw")
		long.Note = strings.Repeat("n", 5000)
		fields := importEntry("line 9", "fields", "pw")
		fields.Partial = []string{"its custom fields"}
		entries := []ImportEntry{
			importEntry("line 2", "Bank", "new"),
			importEntry("line 3", "mail", "m1"),
			importEntry("line 4", "MAIL", "m2"),
			importEntry("line 5", "a//b", "pw"),
			importEntry("line 6", "gone", "pw"),
			badSeed, long, fields,
			importEntry("line 10", "empty", ""),
		}
		before := v.published
		rep, err := v.Import(entries, ImportOptions{Prefix: "old", DryRun: true})
		if err != nil {
			t.Fatal(err)
		}
		if v.published != before {
			t.Fatal("a dry run wrote the file")
		}
		if _, err := v.Get("old/mail"); err == nil {
			t.Fatal("a dry run stored a secret")
		}
		dry := fmt.Sprintf("%+v", rep)
		rep, err = v.Import(entries, ImportOptions{Prefix: "old"})
		if err != nil {
			t.Fatal(err)
		}
		rep.DryRun = true
		if got := fmt.Sprintf("%+v", rep); got != dry {
			t.Errorf("the dry run said\n%s\nthe import\n%s", dry, got)
		}
		var names []string
		for _, s := range rep.Imported {
			names = append(names, s.Name)
		}
		if want := []string{"old/mail", "old/otp", "old/fields"}; !reflect.DeepEqual(names, want) {
			t.Errorf("imported %v, want %v", names, want)
		}
		want := []ImportSkip{
			{"line 2", "old/Bank", `there is already a secret named "old/bank"; it was left as it is`},
			{"line 4", "old/MAIL", "the name is used earlier in the export (line 3)"},
			{"line 5", "old/a//b", `secret name "old/a//b" has an empty part around '/'; write it like intake/call-log`},
			{"line 6", "old/gone", `"old/gone" is in the trash; restore or purge it, or import under another folder`},
			{"line 8", "old/long", "the note is longer than 4096 bytes"},
			{"line 10", "old/empty", "the value is empty"},
		}
		if !reflect.DeepEqual(rep.Skipped, want) {
			t.Errorf("skipped\n %q\nwant %q", rep.Skipped, want)
		}
		wantPartial := []ImportSkip{
			{"line 7", "old/otp", "imported without its two-factor seed: the two-factor seed is not base32 (letters A-Z and digits 2-7)"},
			{"line 9", "old/fields", "not imported: its custom fields"},
		}
		if !reflect.DeepEqual(rep.Partial, wantPartial) {
			t.Errorf("partial\n %q\nwant %q", rep.Partial, wantPartial)
		}
		if got := reveal(t, v, "old/bank"); got != "kept" {
			t.Errorf("an existing secret was overwritten: %q", got)
		}
		if got := reveal(t, v, "old/mail"); got != "m1" {
			t.Errorf("the first of two entries of one name: %q", got)
		}
		if s, _ := v.Get("old/otp"); s.TOTP {
			t.Error("a bad seed was stored")
		}
		// Nothing left: a second import skips everything and writes nothing.
		before = v.published
		rep, err = v.Import(entries, ImportOptions{Prefix: "old/"})
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Imported) != 0 || v.published != before {
			t.Errorf("a second import: %+v, %d writes", rep.Imported, v.published-before)
		}
	})
}

// TestImportOptions: --last-rotated wins over the export's dates, notes can
// be left out, and a bad prefix, share list or acting key fails the whole
// import, storing nothing.
func TestImportOptions(t *testing.T) {
	g := newGroup(t, Classic, "alice", "bob")
	withNote := importEntry("line 2", "a", "pw")
	withNote.Note = "recovery codes"
	withNote.Modified = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	g.do("alice", func(v *Vault) {
		last := time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC)
		rep, err := v.Import([]ImportEntry{withNote}, ImportOptions{LastRotated: last, NoNotes: true})
		if err != nil {
			t.Fatal(err)
		}
		s, _ := v.Get("a")
		if !s.LastRotated.Equal(last) || s.Note != "" || rep.Imported[0].Note {
			t.Errorf("stored %+v, reported %+v", s, rep.Imported[0])
		}
		if want := []ImportSkip{{"line 2", "a", "not imported: its note"}}; !reflect.DeepEqual(rep.Partial, want) {
			t.Errorf("partial %q", rep.Partial)
		}
		for _, opts := range []ImportOptions{{Prefix: " x"}, {Share: []string{"nobody"}}, {Share: []string{"@nogroup"}}} {
			if _, err := v.Import([]ImportEntry{importEntry("line 2", "b", "pw")}, opts); err == nil {
				t.Errorf("%+v: no error", opts)
			}
		}
		if _, err := v.Get("b"); err == nil {
			t.Error("a failed import stored a secret")
		}
	})
}

func TestImportProgress(t *testing.T) {
	g := newGroup(t, Classic, "alice")
	var entries []ImportEntry
	for i := range 120 {
		entries = append(entries, importEntry(fmt.Sprintf("line %d", i+2), fmt.Sprintf("s%03d", i), "pw"))
	}
	g.do("alice", func(v *Vault) {
		var calls []int
		rep, err := v.Import(entries, ImportOptions{Progress: func(done, total int) {
			if total != len(entries) {
				t.Errorf("total %d", total)
			}
			calls = append(calls, done)
		}})
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Imported) != 120 || len(calls) != 120 || calls[119] != 120 {
			t.Errorf("%d imported, progress %v", len(rep.Imported), calls)
		}
	})
	g.do("alice", func(v *Vault) {
		if got := reveal(t, v, "s119"); got != "pw" {
			t.Errorf("%q", got)
		}
	})
}

func TestParsePassEntry(t *testing.T) {
	x := ParsePassEntry("web/mail", []byte("pw\nlogin: me\n"), time.Time{})
	if len(x.Entries) != 1 || string(x.Entries[0].Value.Bytes()) != "pw" || x.Entries[0].Username != "me" {
		t.Fatalf("%+v", x)
	}
	x.Wipe()
	if string(x.Entries[0].Value.Bytes()) != "\x00\x00" {
		t.Fatal("not wiped")
	}
	if _, err := ParseExport(ImportCSV, []byte("x,y\n")); err == nil {
		t.Fatal("a CSV without its header")
	} else {
		mustIs(t, err, ErrInvalid)
	}
}
