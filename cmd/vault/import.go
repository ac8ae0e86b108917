package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mutual-aid-vault/vault/vault"
)

// passTool is a password store that 'vault import' reads through its own
// program: pass (gpg) or passage (age).
type passTool struct {
	name string // the program, and the format's name
	ext  string // its entries' files end so
	env  string // the variable naming the store's folder
	dir  string // the store's folder under HOME when env is unset
}

var passTools = map[string]passTool{
	"pass":    {name: "pass", ext: ".gpg", env: "PASSWORD_STORE_DIR", dir: ".password-store"},
	"passage": {name: "passage", ext: ".age", env: "PASSAGE_DIR", dir: filepath.Join(".passage", "store")},
}

// importFormats maps the names 'vault import' takes to the vault's
// formats; "bitwarden" is told apart by the file's first byte.
var importFormats = map[string]vault.ImportFormat{
	"csv":            vault.ImportCSV,
	"bitwarden-csv":  vault.ImportBitwardenCSV,
	"bitwarden-json": vault.ImportBitwardenJSON,
	"1password":      vault.Import1PasswordCSV,
	"1password-csv":  vault.Import1PasswordCSV,
	"keepassxc":      vault.ImportKeePassXCCSV,
	"keepassxc-csv":  vault.ImportKeePassXCCSV,
}

const importFormatList = "csv, bitwarden (bitwarden-csv, bitwarden-json), 1password, keepassxc, pass or passage"

// progressEvery is how often a long import says how far it is.
const progressEvery = 50

func (a *app) importCommand() *cobra.Command {
	var opts vault.ImportOptions
	var last string
	var asJSON bool
	c := &cobra.Command{
		Use:   "import FORMAT FILE",
		Short: "Bring in the passwords of another password manager's export",
		Long: `Store every login of another password manager's export as a secret, all in
one change. FORMAT is one of:

  csv          a spreadsheet saved as CSV whose first line names the columns
               name and password, and any of username, url, note and totp
               (any order and case; other columns are ignored)
  bitwarden    Bitwarden's CSV or (unencrypted) JSON export; also
               bitwarden-csv and bitwarden-json
  1password    1Password's CSV export
  keepassxc    KeePassXC's CSV export
  pass         a pass store: FILE is its folder (default $PASSWORD_STORE_DIR,
               else ~/.password-store); each entry is read with 'pass show'
  passage      a passage store, read with 'passage show' (default
               $PASSAGE_DIR, else ~/.passage/store)

FILE '-' reads the export from stdin (bw export --raw --format json | vault
import bitwarden -), so that it never lands on disk.

Folders and groups become the start of the name (Intake/Airtable). The
username, the first URL, the note, and the two-factor seed (Bitwarden's
totp, 1Password's OTPAuth, KeePassXC's TOTP, an otpauth:// line in pass)
are imported; a seed that is not valid is left out and the entry named.
Secure notes, cards and identities, entries without a password, and
custom fields are not imported, and are listed. In a pass entry the first
line is the password, 'user:', 'login:', 'username:' and 'url:' lines are
mapped, and the rest is the note.

A name that is already in the vault, or earlier in the export, is skipped
and listed: nothing is ever overwritten, so running it again is safe.

--share says who reads the imported secrets (as for 'vault add'; you always
do). --prefix puts a folder in front of every name. --last-rotated sets when
the passwords were last changed; without it, the date the export gives
(Bitwarden's password or creation date, KeePassXC's Last Modified, the pass
entry's file), else today. Notes are seen by every member, not only by a
secret's readers: --no-notes leaves them out.

--dry-run lists what would be imported (names, usernames, URLs, whether
there is a password, a seed, a note; never a value) and stores nothing.
--json prints what was (or would be) imported and skipped as JSON.

The export is only read. It holds every password in plain text: delete it
as soon as the import is done.`,
		Example: `  vault import bitwarden bitwarden_export.json --share @intake --dry-run
  vault import keepassxc passwords.csv --prefix old/ --share @cash
  vault import csv sheet.csv --last-rotated 2026-01-15
  vault import pass ~/.password-store --share bob`,
		Args: func(cmd *cobra.Command, got []string) error {
			if len(got) == 1 {
				if _, ok := passTools[strings.ToLower(got[0])]; ok {
					return nil
				}
			}
			return args("FORMAT", "FILE")(cmd, got)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if last != "" {
				t, err := parseDate("last-rotated", last)
				if err != nil {
					return err
				}
				opts.LastRotated = t
			}
			format := strings.ToLower(args[0])
			var x vault.Export
			var file string
			if tool, ok := passTools[format]; ok {
				dir := ""
				if len(args) > 1 {
					dir = args[1]
				}
				var err error
				if x, err = a.readPassStore(tool, dir); err != nil {
					return err
				}
			} else {
				file = args[1]
				var err error
				if x, err = a.readExport(format, file); err != nil {
					return err
				}
			}
			defer x.Wipe()
			entries := len(x.Entries)
			if entries >= progressEvery && !opts.DryRun {
				opts.Progress = func(done, total int) {
					if !a.quiet && (done%progressEvery == 0 || done == total) {
						a.say("importing: %d of %d", done, total)
					}
				}
			}
			return a.withVault(func(v *vault.Vault) error {
				rep, err := v.Import(x.Entries, opts)
				if err != nil {
					return err
				}
				rep.Skipped = inExportOrder(append(x.Skipped, rep.Skipped...))
				return a.reportImport(rep, file, asJSON)
			})
		},
	}
	f := c.Flags()
	f.StringArrayVarP(&opts.Share, "share", "s", nil, "who may read the imported secrets: member names and @groups (`WHO[,WHO…]`)")
	f.StringVar(&opts.Prefix, "prefix", "", "put `FOLDER/` in front of every imported name")
	f.StringVar(&last, "last-rotated", "", "when the passwords were last changed, `YYYY-MM-DD` (default: the export's dates, else today)")
	f.BoolVar(&opts.NoNotes, "no-notes", false, "leave the notes out (every member can read notes)")
	f.BoolVar(&opts.DryRun, "dry-run", false, "list what would be imported (never a value) and store nothing")
	f.BoolVar(&asJSON, "json", false, "print what was imported and skipped as JSON")
	return c
}

// inExportOrder sorts skipped entries by their line or item number: the
// export's own skips (a secure note) and the vault's (a name taken) come
// from two places. Entries without a number keep their order.
func inExportOrder(skips []vault.ImportSkip) []vault.ImportSkip {
	num := func(s vault.ImportSkip) int {
		_, n, _ := strings.Cut(s.From, " ")
		i, _ := strconv.Atoi(n)
		return i
	}
	slices.SortStableFunc(skips, func(a, b vault.ImportSkip) int { return num(a) - num(b) })
	return skips
}

// readExport reads and parses an export file (or stdin for "-"), capped.
func (a *app) readExport(format, file string) (vault.Export, error) {
	var data []byte
	var err error
	if file == "-" {
		data, err = io.ReadAll(io.LimitReader(a.stdin, vault.MaxExportSize+1))
		if err != nil {
			return vault.Export{}, fmt.Errorf("cannot read the export from stdin: %w", err)
		}
	} else {
		data, err = readCapped(file, vault.MaxExportSize)
		if err != nil {
			return vault.Export{}, err
		}
	}
	defer wipe(data)
	if len(data) > vault.MaxExportSize {
		return vault.Export{}, fail(vault.ErrInvalid, "the export is larger than %d MiB; split it and import each part", vault.MaxExportSize>>20)
	}
	f, ok := importFormats[format]
	if format == "bitwarden" {
		ok = true
		f = vault.ImportBitwardenCSV
		if vault.LooksLikeJSON(data) {
			f = vault.ImportBitwardenJSON
		}
	}
	if !ok {
		return vault.Export{}, usageError{fmt.Errorf("unknown export format %q; choose %s", format, importFormatList)}
	}
	x, err := vault.ParseExport(f, data)
	if err != nil {
		where := file
		if file == "-" {
			where = "stdin"
		}
		return vault.Export{}, fmt.Errorf("%s: %w", where, err)
	}
	return x, nil
}

// readCapped reads a regular file of at most max bytes (one more tells a
// larger one). The file is opened for reading only: an import never
// changes its export.
func readCapped(path string, max int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read the export: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("cannot read the export: %w", err)
	}
	if info.IsDir() {
		return nil, fail(vault.ErrInvalid, "%s is a folder; give the export file (a folder is read only as a pass or passage store)", path)
	}
	b, err := io.ReadAll(io.LimitReader(f, int64(max)+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read the export: %w", err)
	}
	return b, nil
}

func wipe(b []byte) {
	for i := range b {
		b[i] = 0
	}
}

// readPassStore reads every entry of a pass or passage store through the
// tool's own 'show', so that its keys, agent and prompts do the
// decrypting: the files of the store are only listed.
func (a *app) readPassStore(tool passTool, dir string) (vault.Export, error) {
	if dir == "" {
		dir = a.getenv(tool.env)
	}
	if dir == "" {
		home := a.getenv("HOME")
		if home == "" {
			return vault.Export{}, usageError{fmt.Errorf("neither %s nor HOME is set; give the store's folder: vault import %s DIR", tool.env, tool.name)}
		}
		dir = filepath.Join(home, tool.dir)
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return vault.Export{}, err
	}
	if info, err := os.Stat(dir); err != nil || !info.IsDir() {
		return vault.Export{}, fail(vault.ErrInvalid, "no %s store at %s; give the store's folder: vault import %s DIR", tool.name, dir, tool.name)
	}
	prog, err := exec.LookPath(tool.name)
	if err != nil {
		return vault.Export{}, fail(vault.ErrInvalid, "cannot run %s: it is not installed or not on PATH; the store is read with '%s show'", tool.name, tool.name)
	}
	type found struct {
		name string
		mod  time.Time
	}
	var names []found
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		// Hidden folders (.git, .extensions) and files (.gpg-id) are the
		// store's own, as 'pass ls' shows.
		if path != dir && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() || !strings.HasSuffix(d.Name(), tool.ext) {
			return nil
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		var mod time.Time
		if info, err := d.Info(); err == nil {
			mod = info.ModTime()
		}
		names = append(names, found{filepath.ToSlash(strings.TrimSuffix(rel, tool.ext)), mod})
		return nil
	})
	if err != nil {
		return vault.Export{}, fmt.Errorf("cannot list the %s store at %s: %w", tool.name, dir, err)
	}
	if len(names) == 0 {
		return vault.Export{}, fail(vault.ErrInvalid, "no entries (*%s files) in %s; is it your %s store?", tool.ext, dir, tool.name)
	}
	environ := os.Environ
	if a.opts.environ != nil {
		environ = a.opts.environ
	}
	env := childEnv(environ(), []string{tool.env + "=" + dir})
	// gpg asks for a key's passphrase on the terminal pass finds on its
	// stdin; without a terminal there is nothing to ask on.
	var stdin io.Reader
	if isTerminal(a.stdin) {
		stdin = a.stdin
	}
	var x vault.Export
	failed := 0
	for i, n := range names {
		out, reason := showPassEntry(prog, tool.name, n.name, env, stdin)
		if reason != "" {
			failed++
			x.Skipped = append(x.Skipped, vault.ImportSkip{Name: n.name, Reason: reason})
		} else {
			one := vault.ParsePassEntry(n.name, out, n.mod)
			wipe(out)
			x.Entries = append(x.Entries, one.Entries...)
			x.Skipped = append(x.Skipped, one.Skipped...)
		}
		if len(names) >= progressEvery && !a.quiet && ((i+1)%progressEvery == 0 || i+1 == len(names)) {
			a.say("reading the %s store: %d of %d", tool.name, i+1, len(names))
		}
	}
	if failed == len(names) {
		return vault.Export{}, fail(vault.ErrInvalid, "could read no entry of the %s store at %s: %s: %s; check that '%s show %s' works", tool.name, dir, x.Skipped[0].Name, x.Skipped[0].Reason, tool.name, names[0].name)
	}
	return x, nil
}

// cappedBuffer keeps the first max bytes written to it and drops the
// rest, so that a program's output is read whole (it never blocks on a
// full pipe) but held only up to a limit. A caller that gives one byte
// more than it accepts tells a larger output by its length.
type cappedBuffer struct {
	buf bytes.Buffer
	max int
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	if room := c.max - c.buf.Len(); room < len(p) {
		c.buf.Write(p[:max(room, 0)])
		return len(p), nil
	}
	return c.buf.Write(p)
}

// showPassEntry runs 'TOOL show -- NAME' and returns what it printed, or
// why it could not: the tool's own first line of complaint (gpg's and
// age's errors name keys and files, never a value).
func showPassEntry(prog, tool, name string, env []string, stdin io.Reader) ([]byte, string) {
	stdout := &cappedBuffer{max: vault.MaxPassEntrySize + 1}
	stderr := &cappedBuffer{max: 4 << 10}
	cmd := exec.Command(prog, "show", "--", name)
	cmd.Env, cmd.Stdin = env, stdin
	cmd.Stdout, cmd.Stderr = stdout, stderr
	err := cmd.Run()
	if err != nil {
		wipe(stdout.buf.Bytes())
		why := err.Error()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			why = fmt.Sprintf("exit status %d", ee.ExitCode())
		}
		if line, _, _ := strings.Cut(strings.TrimSpace(stderr.buf.String()), "\n"); line != "" {
			why += ": " + truncate(strings.Map(printable, line), 160)
		}
		return nil, fmt.Sprintf("'%s show' failed (%s)", tool, why)
	}
	return stdout.buf.Bytes(), ""
}

// printable drops control characters from a tool's message.
func printable(r rune) rune {
	if r < 0x20 || r == 0x7f {
		return -1
	}
	return r
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// reportImport says what an import did (or would do): on stdout the list
// for --dry-run or --json, on stderr what was skipped and what to do next.
func (a *app) reportImport(rep vault.ImportReport, file string, asJSON bool) error {
	switch {
	case asJSON:
		if err := a.printJSON(rep); err != nil {
			return err
		}
	case rep.DryRun:
		t := newTable(a.stdout)
		fmt.Fprintln(t, "NAME\tUSERNAME\tURL\tPASSWORD\tTOTP\tNOTE\tFROM")
		for _, s := range rep.Imported {
			t.row(s.Name, orDash(s.Username), orDash(s.URL), yesNo(s.Password), yesNo(s.TOTP), yesNo(s.Note), orDash(s.From))
		}
		if err := t.Flush(); err != nil {
			return err
		}
	}
	where := func(s vault.ImportSkip) string {
		if s.From == "" {
			return fmt.Sprintf("%q", s.Name)
		}
		if s.Name == "" {
			return s.From
		}
		return fmt.Sprintf("%q (%s)", s.Name, s.From)
	}
	for _, s := range rep.Skipped {
		a.note("skipped %s: %s", where(s), s.Reason)
	}
	for _, s := range rep.Partial {
		a.note("%s: %s", where(s), s.Reason)
	}
	notes := 0
	for _, s := range rep.Imported {
		if s.Note {
			notes++
		}
	}
	shared := strings.Join(rep.SharedWith, ", ")
	if rep.DryRun {
		a.note("dry run: %s would be imported, shared with %s; %d skipped; nothing was stored", plural(len(rep.Imported), "secret"), shared, len(rep.Skipped))
	} else {
		a.note("imported %s, shared with %s; %d skipped", plural(len(rep.Imported), "secret"), shared, len(rep.Skipped))
	}
	if notes > 0 {
		a.note("%s with a note: every member of the vault can read notes, not only a secret's readers; check them with 'vault show NAME' (or import with --no-notes)", plural(notes, "secret"))
	}
	if !rep.DryRun && file != "" && file != "-" {
		a.note("the export holds every password in plain text: delete it now with 'shred -u %s'; on an SSD or a copy-on-write file system (btrfs, ZFS, APFS) shred cannot reach every copy, so also empty the trash and remember backups and synced folders that hold it", shellQuote(file))
	}
	return nil
}

// shellQuote quotes a path for a command line the user may paste.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./+@:,=") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
