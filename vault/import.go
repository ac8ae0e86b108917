package vault

import (
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mutual-aid-vault/vault/rotation"
	"github.com/mutual-aid-vault/vault/vault/internal/fold"
	"github.com/mutual-aid-vault/vault/vault/internal/importer"
)

// ImportFormat names an export of another password manager that
// [ParseExport] reads.
type ImportFormat string

// The exports [ParseExport] reads. A pass or passage store is read one
// decrypted entry at a time with [ParsePassEntry].
const (
	// ImportCSV is a spreadsheet saved as CSV whose first line names its
	// columns: name and password, and any of username, url, note and totp,
	// in any order and any case; other columns are ignored.
	ImportCSV ImportFormat = ImportFormat(importer.CSV)
	// ImportBitwardenCSV is Bitwarden's CSV export.
	ImportBitwardenCSV ImportFormat = ImportFormat(importer.BitwardenCSV)
	// ImportBitwardenJSON is Bitwarden's unencrypted JSON export.
	ImportBitwardenJSON ImportFormat = ImportFormat(importer.BitwardenJSON)
	// Import1PasswordCSV is 1Password's CSV export.
	Import1PasswordCSV ImportFormat = ImportFormat(importer.OnePasswordCSV)
	// ImportKeePassXCCSV is KeePassXC's CSV export.
	ImportKeePassXCCSV ImportFormat = ImportFormat(importer.KeePassXCCSV)
)

// MaxExportSize is the largest export [ParseExport] reads, and
// MaxPassEntrySize the largest decrypted pass entry [ParsePassEntry] reads:
// callers cap their reads at one byte more, to tell a larger one.
const (
	MaxExportSize    = importer.MaxSize
	MaxPassEntrySize = importer.MaxPassEntry
)

// ImportEntry is one login read from an export, for [Vault.Import].
type ImportEntry struct {
	// From says where the entry is in the export ("line 4", "item 3"), for
	// messages; empty when the name says it (a pass entry).
	From string
	// Name is the folder or group the export keeps it in, a '/', and its
	// own name.
	Name     string
	Username string
	URL      string
	Note     string
	Value    Value
	// TOTP is the two-factor seed as the export holds it, unchecked:
	// [Vault.Import] imports the entry without it when it is not valid.
	TOTP Value
	// Modified is when the password last changed according to the export;
	// zero when it does not say.
	Modified time.Time
	// Partial lists what the export held for the entry that is not
	// imported ("its custom fields"); never a value.
	Partial []string
}

// ImportSkip is an entry of an export that is not imported, and why; or,
// in [ImportReport.Partial], one imported without some of what it held.
// It never holds a value.
type ImportSkip struct {
	From   string `json:"from,omitempty"`
	Name   string `json:"name,omitempty"`
	Reason string `json:"reason"`
}

// Export is what an export holds: the entries to import and the items
// that cannot be.
type Export struct {
	Entries []ImportEntry
	Skipped []ImportSkip
}

// Wipe overwrites the entries' values and seeds.
func (x Export) Wipe() {
	for _, e := range x.Entries {
		e.Value.Wipe()
		e.TOTP.Wipe()
	}
}

// ParseExport reads the export of another password manager. It returns
// [ErrInvalid] when data is not what format says or is encrypted, with a
// message that names a line or item and never quotes the export. It reads
// nothing from disk: data is the file's content.
func ParseExport(format ImportFormat, data []byte) (Export, error) {
	res, err := importer.Parse(importer.Format(format), data)
	if err != nil {
		return Export{}, errorf(ErrInvalid, "%v", err)
	}
	return fromImporter(res), nil
}

// ParsePassEntry reads one decrypted entry of a pass or passage store (what
// 'pass show NAME' prints): the password on the first line; "user:",
// "login:", "username:" and "url:" lines; an otpauth:// line as the
// two-factor seed; the rest as the note. modified is when the entry's file
// last changed, or zero.
func ParsePassEntry(name string, text []byte, modified time.Time) Export {
	return fromImporter(importer.Pass(name, text, modified))
}

// LooksLikeJSON reports whether an export starts like a JSON object, to
// tell Bitwarden's JSON export from its CSV export.
func LooksLikeJSON(data []byte) bool { return importer.LooksLikeJSON(data) }

func fromImporter(res importer.Result) Export {
	var x Export
	for _, e := range res.Entries {
		ie := ImportEntry{From: e.From, Name: e.Name, Username: e.Username, URL: e.URL, Note: e.Note,
			Value: NewValue([]byte(e.Password)), Modified: e.Modified, Partial: e.Partial}
		if e.TOTP != "" {
			ie.TOTP = NewValue([]byte(e.TOTP))
		}
		x.Entries = append(x.Entries, ie)
	}
	for _, s := range res.Skipped {
		x.Skipped = append(x.Skipped, ImportSkip(s))
	}
	return x
}

// ImportOptions say how [Vault.Import] stores what it imports.
type ImportOptions struct {
	// Share lists who reads every imported secret, as in [NewSecret]; the
	// importing member always does.
	Share []string
	// Prefix is put in front of every name: a folder such as "old/" (the
	// '/' is added when missing).
	Prefix string
	// LastRotated is when every imported password was last changed at its
	// service. Zero means each entry's own date from the export
	// ([ImportEntry.Modified]), or now where it has none.
	LastRotated time.Time
	// NoNotes leaves the entries' notes out: notes are metadata, which
	// every member of the vault reads, not only a secret's readers.
	NoNotes bool
	// DryRun reports what would be imported, and stores nothing.
	DryRun bool
	// Progress, when set, hears how the encryption of a large import goes.
	Progress func(done, total int)
}

// ImportedSecret describes a secret [Vault.Import] stored (or, in a dry
// run, would store). It says whether there is a password, a seed and a
// note, never what they are.
type ImportedSecret struct {
	From        string    `json:"from,omitempty"`
	Name        string    `json:"name"`
	Username    string    `json:"username,omitempty"`
	URL         string    `json:"url,omitempty"`
	Password    bool      `json:"password"`
	TOTP        bool      `json:"totp"`
	Note        bool      `json:"note"`
	LastRotated time.Time `json:"last_rotated"`
}

// ImportReport is what [Vault.Import] did, or in a dry run would do.
type ImportReport struct {
	DryRun   bool             `json:"dry_run"`
	Imported []ImportedSecret `json:"imported"`
	// Skipped are the entries not imported: a name already in the vault
	// (never overwritten) or twice in the export, a name or field the
	// vault refuses.
	Skipped []ImportSkip `json:"skipped"`
	// Partial are entries imported without some of what the export held:
	// a two-factor seed that is not valid, custom fields, more URLs.
	Partial []ImportSkip `json:"partial"`
	// SharedWith is who reads the imported secrets.
	SharedWith []string `json:"shared_with"`
}

// Import stores the entries of an export as new secrets, all in one
// change to the file, shared as opts say. An entry whose name is already
// taken in the vault (even in the trash) or earlier in the entries, or
// whose name or fields break the vault's rules, is skipped and reported;
// nothing is ever overwritten. A two-factor seed that is not valid is left
// out and reported. An unknown member or group in opts.Share fails the
// whole import, as does a vault this member cannot change.
func (v *Vault) Import(entries []ImportEntry, opts ImportOptions) (ImportReport, error) {
	rep := ImportReport{DryRun: opts.DryRun, Imported: []ImportedSecret{}, Skipped: []ImportSkip{}, Partial: []ImportSkip{}}
	prefix := opts.Prefix
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	if prefix != "" {
		if _, err := CleanSecretName(strings.TrimSuffix(prefix, "/")); err != nil {
			return rep, errorf(ErrBadName, "the prefix cannot start a secret name: %v", err)
		}
	}
	type prepared struct {
		at     int
		e      ImportEntry
		name   string
		from   string
		seed   Value
		note   string
		period rotation.Period
		id     fold.SecretID
		// partial says what of the entry is left out.
		partial []string
	}
	var todo []prepared
	// skipped are kept with their place in the export, so that the
	// report lists them in its order whichever check refused them.
	type placed struct {
		at int
		s  ImportSkip
	}
	var skipped []placed
	first := map[string]string{}
	for at, e := range entries {
		skip := func(reason string) {
			skipped = append(skipped, placed{at, ImportSkip{From: e.From, Name: prefix + e.Name, Reason: reason}})
		}
		name, err := CleanSecretName(prefix + e.Name)
		if err != nil {
			skip(err.Error())
			continue
		}
		p := prepared{at: at, e: e, name: name, from: e.From, note: e.Note, period: rotation.DefaultPeriod()}
		if opts.NoNotes {
			p.note = ""
		}
		if err := checkFields(e.Username, e.URL, p.note); err != nil {
			skip(err.Error())
			continue
		}
		if err := e.Value.validate(); err != nil {
			skip(err.Error())
			continue
		}
		key := foldName(name)
		if prev, dup := first[key]; dup {
			if prev != "" {
				prev = " (" + prev + ")"
			}
			skip(fmt.Sprintf("the name is used earlier in the export%s", prev))
			continue
		}
		first[key] = e.From
		if e.TOTP.Len() > 0 {
			if _, err := ParseTOTP(e.TOTP); err != nil {
				p.partial = append(p.partial, fmt.Sprintf("imported without its two-factor seed: %v", err))
			} else {
				p.seed = e.TOTP
			}
		}
		left := slices.Clone(e.Partial)
		if opts.NoNotes && e.Note != "" {
			left = append(left, "its note")
		}
		if len(left) > 0 {
			p.partial = append(p.partial, "not imported: "+strings.Join(left, ", "))
		}
		if _, err := rand.Read(p.id[:]); err != nil {
			return rep, err
		}
		todo = append(todo, p)
	}
	// alike holds the names in the vault and those imported so far, to
	// refuse look-alikes.
	var alike *lookAlikes
	// one checks that an entry's name is free in the vault and, unless
	// in a dry run, returns the change that adds it.
	one := func(r *reader, me *fold.Member, sh fold.Share, p prepared) (*change, error) {
		old, err := r.findName(p.name)
		switch {
		case err == nil && old.Deleted != nil:
			skipped = append(skipped, placed{p.at, ImportSkip{From: p.from, Name: p.name,
				Reason: fmt.Sprintf("%q is in the trash; restore or purge it, or import under another folder", old.Name)}})
			return nil, nil
		case err == nil:
			skipped = append(skipped, placed{p.at, ImportSkip{From: p.from, Name: p.name,
				Reason: fmt.Sprintf("there is already a secret named %q; it was left as it is", old.Name)}})
			return nil, nil
		case !errors.Is(err, ErrNotFound):
			return nil, err
		}
		if err := alike.check(p.name); err != nil {
			skipped = append(skipped, placed{p.at, ImportSkip{From: p.from, Name: p.name, Reason: err.Error() + " (rename it in the export, or import under another folder)"}})
			return nil, nil
		}
		alike.add(p.name, "")
		last := opts.LastRotated
		if last.IsZero() {
			last = p.e.Modified
		}
		if last.IsZero() || last.After(r.now) {
			last = r.now
		}
		rep.Imported = append(rep.Imported, ImportedSecret{From: p.from, Name: p.name, Username: p.e.Username, URL: p.e.URL,
			Password: true, TOTP: p.seed.Len() > 0, Note: p.note != "", LastRotated: last.UTC()})
		for _, why := range p.partial {
			rep.Partial = append(rep.Partial, ImportSkip{From: p.from, Name: p.name, Reason: why})
		}
		if opts.DryRun {
			return nil, nil
		}
		e := Entry{Secret: NewSecret{Name: p.name, Username: p.e.Username, URL: p.e.URL, Note: p.note, LastRotated: last},
			Value: p.e.Value, TOTP: p.seed}
		c, err := r.addChange(me, p.id, p.name, p.period, e, sh)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.name, err)
		}
		return &c, nil
	}
	build := func(r *reader) ([]change, error) {
		me := r.me()
		if me == nil || me.Recovery {
			return nil, errorf(ErrReadOnly, "a recovery key cannot add secrets")
		}
		sh, err := r.parseShare(opts.Share)
		if err != nil {
			return nil, err
		}
		if alike, err = r.secretLookAlikes(); err != nil {
			return nil, err
		}
		all := sh
		if !slices.Contains(all.Members, me.ID) {
			all.Members = append(slices.Clip(all.Members), me.ID)
		}
		rep.SharedWith = r.shareNames(all)
		var out []change
		for i, p := range todo {
			c, err := one(r, me, sh, p)
			if err != nil {
				return nil, err
			}
			if c != nil {
				out = append(out, *c)
			}
			if opts.Progress != nil && !opts.DryRun {
				opts.Progress(i+1, len(todo))
			}
		}
		slices.SortStableFunc(skipped, func(a, b placed) int { return a.at - b.at })
		for _, s := range skipped {
			rep.Skipped = append(rep.Skipped, s.s)
		}
		return out, nil
	}
	if opts.DryRun {
		err := v.view(func(r *reader) error {
			_, err := build(r)
			return err
		})
		return rep, err
	}
	_, err := v.update(build)
	if err != nil {
		return ImportReport{DryRun: opts.DryRun, Imported: []ImportedSecret{}, Skipped: rep.Skipped, Partial: rep.Partial}, err
	}
	return rep, nil
}
