package main

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/mutual-aid-vault/vault/rotation"
	"github.com/mutual-aid-vault/vault/vault"
)

// rulesFlags are a site's password rules on the command line.
type rulesFlags struct {
	cmd       *cobra.Command
	length    int
	digits    int
	symbols   string
	noSymbols bool
}

func (f *rulesFlags) register(c *cobra.Command) {
	f.cmd = c
	c.Flags().IntVar(&f.length, "length", rotation.DefaultLength, "password rules: length of generated passwords")
	c.Flags().IntVar(&f.digits, "digits", 0, "password rules: how many digits (default about one in six)")
	c.Flags().StringVar(&f.symbols, "symbols", "", "password rules: the symbols the site accepts, e.g. '!#$%' (`SET`)")
	c.Flags().BoolVar(&f.noSymbols, "no-symbols", false, "password rules: no symbols, for sites that refuse them")
}

// changed reports whether any rules flag was given.
func (f *rulesFlags) changed() bool {
	for _, n := range []string{"length", "digits", "symbols", "no-symbols"} {
		if f.cmd.Flags().Changed(n) {
			return true
		}
	}
	return false
}

// over returns base with the rules given on the command line applied.
func (f *rulesFlags) over(base rotation.Rules) (rotation.Rules, error) {
	fl := f.cmd.Flags()
	if fl.Changed("length") {
		base.Length = f.length
		if f.length == rotation.DefaultLength {
			base.Length = 0
		}
	}
	if fl.Changed("digits") {
		base.Digits = f.digits
	}
	if fl.Changed("symbols") {
		base.Symbols, base.NoSymbols = f.symbols, false
	}
	if fl.Changed("no-symbols") {
		base.NoSymbols = f.noSymbols
		if f.noSymbols {
			base.Symbols = ""
		}
	}
	if err := base.Validate(); err != nil {
		return base, usageError{err}
	}
	return base, nil
}

// valueFlags are how a command gets a new value: typed, piped or generated
// following the secret's password rules, with one-off changes.
type valueFlags struct {
	generate bool
	rules    rulesFlags
}

func (f *valueFlags) register(c *cobra.Command) {
	c.Flags().BoolVar(&f.generate, "generate", false, "generate a strong random password instead of reading one")
	f.rules.register(c)
}

// generate makes a password following rules.
func generate(rules rotation.Rules) (vault.Value, error) {
	p, err := rules.Generate(rand.Reader)
	if err != nil {
		return vault.Value{}, usageError{err}
	}
	return vault.NewValue([]byte(p)), nil
}

// value returns the new value for secret name: generated (following rules)
// with --generate; typed twice without echo when stdin is a terminal;
// otherwise read from stdin, one trailing newline stripped. Never from argv.
func (a *app) value(name string, gen bool, rules rotation.Rules) (vault.Value, bool, error) {
	if gen {
		v, err := generate(rules)
		return v, true, err
	}
	return a.typedValue(name)
}

// typedValue reads a value typed twice at the terminal, or piped on stdin.
func (a *app) typedValue(name string) (vault.Value, bool, error) {
	// Typing, or a pipe from another command (vault get a | vault set b),
	// can take a while: nobody waits for it.
	a.beforePrompt()
	if isTerminal(a.stdin) {
		var first, again []byte
		// The Value returned holds the one copy that lives on.
		defer func() { clear(first); clear(again) }()
		err := a.holdTerminal(func() (err error) {
			if first, err = a.tty.ReadSecret(fmt.Sprintf("Value for %s (not shown): ", name)); err != nil {
				return err
			}
			again, err = a.tty.ReadSecret("Same again: ")
			return err
		})
		if err != nil {
			return vault.Value{}, false, err
		}
		if subtle.ConstantTimeCompare(first, again) != 1 {
			return vault.Value{}, false, fail(vault.ErrInvalid, "the two entries differ; nothing was stored, try again")
		}
		if len(first) == 0 {
			return vault.Value{}, false, fail(vault.ErrInvalid, "the value is empty; type the password, or use --generate")
		}
		return vault.NewValue(first), false, nil
	}
	b, err := io.ReadAll(io.LimitReader(a.stdin, vault.MaxValueSize+3))
	if err != nil {
		return vault.Value{}, false, fmt.Errorf("cannot read the value from stdin: %w", err)
	}
	b = bytes.TrimSuffix(b, []byte("\n"))
	b = bytes.TrimSuffix(b, []byte("\r"))
	if len(b) > vault.MaxValueSize {
		return vault.Value{}, false, fail(vault.ErrInvalid, "the value on stdin is larger than %d KiB; vault stores passwords and short secrets, not files", vault.MaxValueSize>>10)
	}
	if len(b) == 0 {
		return vault.Value{}, false, fail(vault.ErrInvalid, "no value on stdin; pipe the password in, run at a terminal to type it, or use --generate")
	}
	return vault.NewValue(b), false, nil
}

// maxFieldInput caps a username, URL or note read from stdin: more than the
// vault keeps (which says how much it keeps), less than a file.
const maxFieldInput = 16 << 10

// fieldFromStdin reads the one detail (--username, --url or --note) given
// as "-" from stdin: on the command line, every user of the machine can
// read it (ps, /proc/PID/cmdline). stdin is either piped, read whole with
// one trailing newline stripped, or the terminal, where one line is typed
// and shown. valueOnStdin says the command reads a value or seed from
// stdin as well, which leaves no room for a field.
func (a *app) fieldFromStdin(cmd *cobra.Command, name string, fields map[string]*string, valueOnStdin bool) error {
	var dash []string
	for _, f := range []string{"username", "url", "note"} {
		if cmd.Flags().Changed(f) && *fields[f] == "-" {
			dash = append(dash, f)
		}
	}
	switch {
	case len(dash) == 0:
		return nil
	case len(dash) > 1:
		return usageError{fmt.Errorf("--%s - and --%s -: only one field can be read from stdin; give the others as text, or set each with its own 'vault edit %s --FIELD -'", dash[0], dash[1], name)}
	case valueOnStdin:
		return usageError{fmt.Errorf("--%s - reads the %s from stdin, but the value comes from stdin too; type the value at a terminal, or use --generate, or set the %s afterwards with 'vault edit %s --%s -'", dash[0], dash[0], dash[0], name, dash[0])}
	}
	field := dash[0]
	if isTerminal(a.stdin) {
		b, err := a.readLine(fmt.Sprintf("%s for %s (shown): ", map[string]string{"username": "Username", "url": "URL", "note": "Note"}[field], name))
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		*fields[field] = string(b)
		return nil
	}
	b, err := io.ReadAll(io.LimitReader(a.stdin, maxFieldInput+1))
	if err != nil {
		return fmt.Errorf("cannot read the %s from stdin: %w", field, err)
	}
	if len(b) > maxFieldInput {
		return fail(vault.ErrInvalid, "the %s on stdin is longer than %d KiB; nothing was changed", field, maxFieldInput>>10)
	}
	b = bytes.TrimSuffix(b, []byte("\n"))
	b = bytes.TrimSuffix(b, []byte("\r"))
	*fields[field] = string(b)
	return nil
}

func parseDate(flag, s string) (time.Time, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, usageError{fmt.Errorf("--%s %q is not a date; write it as YYYY-MM-DD", flag, s)}
	}
	return t, nil
}

func parsePeriod(s string) (rotation.Period, error) {
	p, err := rotation.ParsePeriod(s)
	if err != nil {
		return p, usageError{fmt.Errorf("--rotate-every: %w", err)}
	}
	return p, nil
}

func (a *app) addCommand() *cobra.Command {
	var ns vault.NewSecret
	var vf valueFlags
	var every, last string
	var withTOTP bool
	c := &cobra.Command{
		Use:   "add NAME",
		Short: "Store a new secret, shared with the members who need it",
		Long: `Store a new secret. The value is typed at a prompt (twice, not shown), piped on
stdin (one trailing newline is stripped), or generated with --generate; it is
never taken from the command line.

--share lists who may read it: member names and @groups, comma-separated or
repeated. You always read what you add.

--last-rotated records when the password was last changed at the service
(default: today); --rotate-every how often it must change (default 6mo;
e.g. 90d, 1y). The password rules (--length, --digits, --symbols,
--no-symbols) are saved with the secret and followed by --generate now and
by every 'vault rotate'.

--totp also stores a two-factor (TOTP) seed with it: an otpauth:// URI or a
base32 seed, typed once after the value at a prompt (not shown); on stdin,
the value is the first line and the seed the second (with --generate, stdin
holds the seed alone). 'vault otp NAME' prints its codes.

Names are up to 128 characters and may use '/' to group: intake/call-log.

What is on the command line (--username, --url, --note) can be read by
every user of this machine while the command runs (ps, /proc). Give one of
them as '-' to read it from stdin instead: piped (the value is then typed
at the terminal or generated), or typed at the terminal.`,
		Example: `  vault add airtable --username intake@example.org --share @intake
  printf '%s' "$PASS" | vault add call-log --share bob,carol --last-rotated 2026-05-01
  vault add inbox --generate --length 20 --no-symbols --share @dispatch
  printf '%s\n%s\n' "$PASS" "$OTPAUTH_URI" | vault add bank --totp --share @cash
  vault add bank --generate --note - < bank-note.txt`,
		Args: args("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ns.Name = args[0]
			fields := map[string]*string{"username": &ns.Username, "url": &ns.URL, "note": &ns.Note}
			valueOnStdin := !isTerminal(a.stdin) && (!vf.generate || withTOTP)
			if err := a.fieldFromStdin(cmd, ns.Name, fields, valueOnStdin); err != nil {
				return err
			}
			if every != "" {
				p, err := parsePeriod(every)
				if err != nil {
					return err
				}
				ns.RotateEvery = p
			}
			if last != "" {
				t, err := parseDate("last-rotated", last)
				if err != nil {
					return err
				}
				ns.LastRotated = t
			}
			rules, err := vf.rules.over(rotation.Rules{})
			if err != nil {
				return err
			}
			ns.Rules = rules
			return a.withVault(func(v *vault.Vault) error {
				if err := v.CheckNew(ns); err != nil {
					return err
				}
				var val, seed vault.Value
				var generated bool
				var err error
				switch {
				case withTOTP && !vf.generate:
					val, seed, err = a.valueAndSeed(ns.Name)
				case withTOTP:
					if val, err = generate(rules); err == nil {
						generated = true
						seed, err = a.seedPrompt(ns.Name)
					}
				default:
					val, generated, err = a.value(ns.Name, vf.generate, rules)
				}
				if err != nil {
					val.Wipe()
					return err
				}
				defer val.Wipe()
				defer seed.Wipe()
				if err := v.AddMany([]vault.Entry{{Secret: ns, Value: val, TOTP: seed}}); err != nil {
					return err
				}
				s, err := v.Get(ns.Name)
				if err != nil {
					return err
				}
				a.note("stored %s, shared with %s", s.Name, strings.Join(s.SharedWith, ", "))
				if generated {
					a.note("generated %s password; see it with 'vault get %s'", sized(val.Len(), "character"), s.Name)
				}
				return nil
			})
		},
	}
	f := c.Flags()
	f.StringVarP(&ns.Username, "username", "u", "", "the login name at the service ('-' reads it from stdin)")
	f.StringVar(&ns.URL, "url", "", "where to log in ('-' reads it from stdin)")
	f.StringVar(&ns.Note, "note", "", "a note every member can see, not for secrets ('-' reads it from stdin)")
	f.StringArrayVarP(&ns.Share, "share", "s", nil, "who may read it: member names and @groups (`WHO[,WHO…]`)")
	f.StringVar(&every, "rotate-every", "", "how often the password must change (default 6mo)")
	f.StringVar(&last, "last-rotated", "", "when it was last changed at the service, `YYYY-MM-DD` (default today)")
	f.BoolVar(&withTOTP, "totp", false, "also store a two-factor seed, read like the value (never from the command line)")
	vf.register(c)
	return c
}

func (a *app) getCommand() *cobra.Command {
	var field string
	var ver int
	var asJSON, ciphertext, pending bool
	c := &cobra.Command{
		Use:   "get NAME",
		Short: "Print a secret's value (for scripts: only the value and a newline)",
		Long: `Print a secret's value on stdout, followed by a newline, and nothing else.

--field prints another field instead: username, url or note.
--version N prints an earlier value from its history.
--pending prints the new value of a rotation under way ('vault rotate').
--ciphertext prints the value's age file instead of decrypting it: any reader
can decrypt it with the stock age tool and their identity ('age -d -i').`,
		Args: args("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch field {
			case "password", "value", "username", "url", "note":
			default:
				return usageError{fmt.Errorf("--field %q: choose password, username, url or note", field)}
			}
			if ver < 0 {
				return usageError{fmt.Errorf("--version must be a version number from 'vault history'")}
			}
			if pending && (ver != 0 || ciphertext || (field != "password" && field != "value")) {
				return usageError{fmt.Errorf("--pending goes with neither --version, --ciphertext nor --field")}
			}
			return a.withVault(func(v *vault.Vault) error {
				name := args[0]
				if ciphertext {
					ct, err := v.Ciphertext(name, ver)
					if err != nil {
						return err
					}
					return writeArmored(a.stdout, ct)
				}
				var out []byte
				switch field {
				case "password", "value":
					reveal := func() (vault.Value, error) { return v.Reveal(name, ver) }
					if pending {
						reveal = func() (vault.Value, error) { return v.RevealPending(name) }
					}
					val, err := reveal()
					if err != nil {
						return err
					}
					defer val.Wipe()
					out = val.Bytes()
				default:
					s, err := v.Get(name)
					if err != nil {
						return err
					}
					if s.Deleted != nil {
						return fail(vault.ErrInTrash, "%q is in the trash", s.Name)
					}
					out = []byte(map[string]string{"username": s.Username, "url": s.URL, "note": s.Note}[field])
				}
				if asJSON {
					return a.printJSON(jsonValue(name, field, out))
				}
				_, err := a.stdout.Write(append(out, '\n'))
				return err
			})
		},
	}
	c.Flags().StringVarP(&field, "field", "f", "password", "which field: password, username, url or note")
	c.Flags().IntVar(&ver, "version", 0, "an earlier version `N` (see 'vault history')")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON: {\"name\", \"field\", \"value\"}")
	c.Flags().BoolVar(&ciphertext, "ciphertext", false, "print the value's age file (armored) instead of decrypting it")
	c.Flags().BoolVar(&pending, "pending", false, "print the new value of a rotation under way")
	return c
}

// jsonValue is get's JSON output. A value that is not UTF-8 text is given
// in base64 so JSON does not mangle it.
func jsonValue(name, field string, b []byte) map[string]string {
	out := map[string]string{"name": name, "field": field}
	if utf8.Valid(b) {
		out["value"] = string(b)
	} else {
		out["value_base64"] = base64.StdEncoding.EncodeToString(b)
	}
	return out
}

func (a *app) listCommand() *cobra.Command {
	var asJSON, trash bool
	c := &cobra.Command{
		Use:   "list",
		Short: "List the secrets: username, who they are shared with, last rotated",
		Long: `List every secret with its username, who it is shared with and when it was
last rotated. Secrets you cannot read are marked; so are secrets waiting to be
re-encrypted for someone, and secrets to rotate now. --trash lists the trash.`,
		Args: args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withVault(func(v *vault.Vault) error {
				ss, err := v.List(trash)
				if err != nil {
					return err
				}
				if asJSON {
					return printJSONList(a.stdout, ss)
				}
				if len(ss) == 0 {
					if trash {
						a.note("the trash is empty")
					} else {
						a.note("no secrets yet; add one with 'vault add NAME --share WHO'")
					}
					return nil
				}
				return writeList(a.stdout, ss)
			})
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	c.Flags().BoolVar(&trash, "trash", false, "list the secrets in the trash")
	return c
}

// writeList writes list's table. Every field is shown with display.Line.
func writeList(w io.Writer, ss []vault.Secret) error {
	tw := newTable(w)
	fmt.Fprintln(tw, "NAME\tUSERNAME\tSHARED WITH\tLAST ROTATED\tSTATE\tNOTES")
	for _, s := range ss {
		tw.row(s.Name, orDash(s.Username), strings.Join(s.SharedWith, ", "), day(s.LastRotated), s.State.String(), strings.Join(notes(s), "; "))
	}
	return tw.Flush()
}

// notes are the short remarks list shows beside a secret.
func notes(s vault.Secret) []string {
	var out []string
	if !s.CanRead {
		out = append(out, "you cannot read it")
	}
	if s.Pending {
		out = append(out, "new value to confirm")
	}
	if len(s.Waiting) > 0 {
		out = append(out, "waiting for a reader to re-encrypt")
	}
	if s.Deleted != nil {
		out = append(out, "in the trash since "+day(*s.Deleted))
	}
	return out
}

func (a *app) showCommand() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "show NAME",
		Short: "Show a secret's details and state (never its value)",
		Args:  args("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withVault(func(v *vault.Vault) error {
				s, err := v.Get(args[0])
				if err != nil {
					return err
				}
				if asJSON {
					return a.printJSON(s)
				}
				return writeShow(a.stdout, s)
			})
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

// writeShow writes show's table: one field a line, a note's lines one
// under the other. Every field is shown with display.Line.
func writeShow(w io.Writer, s vault.Secret) error {
	tw := newTable(w)
	row := func(k, v string) { tw.row(k+":", v) }
	row("name", s.Name)
	row("username", orDash(s.Username))
	row("url", orDash(s.URL))
	// A note is shown in full: its lines one under the other.
	lines := strings.Split(orDash(s.Note), "\n")
	row("note", lines[0])
	for _, l := range lines[1:] {
		tw.row("", l)
	}
	row("shared with", strings.Join(s.SharedWith, ", "))
	row("readers", strings.Join(s.Readers, ", "))
	if len(s.Waiting) > 0 {
		row("waiting", strings.Join(s.Waiting, ", ")+" (a reader re-encrypts it for them with their next change)")
	}
	row("you can read", yesNo(s.CanRead))
	row("version", strconv.Itoa(s.Version))
	row("rotate every", s.RotateEvery.String())
	row("last rotated", day(s.LastRotated))
	row("state", fmt.Sprintf("%s: %s", s.State, s.Reason))
	if s.RotateNow != nil {
		row("rotate now", s.RotateNow.Text)
	}
	if s.Pending {
		row("pending", fmt.Sprintf("version %d is waiting to be confirmed ('vault rotate %s --confirm')", s.PendingVersion, s.Name))
	}
	row("password rules", s.Rules.Describe())
	row("created", day(s.Created)+" by "+s.CreatedBy)
	row("updated", day(s.Updated)+" by "+s.UpdatedBy)
	if s.Deleted != nil {
		row("in the trash", day(*s.Deleted)+" by "+s.DeletedBy+" (restore with 'vault restore "+s.Name+"')")
	}
	return tw.Flush()
}

func (a *app) setCommand() *cobra.Command {
	var vf valueFlags
	c := &cobra.Command{
		Use:   "set NAME",
		Short: "Store a new value for a secret; the old one goes into its history",
		Long: `Store a new value for a secret after changing the password at the service. The
old value stays in the secret's history ('vault history', 'vault get
--version'). The secret counts as rotated today, and a rotate-now mark is
cleared. The value is typed, piped or generated, as for 'vault add'.`,
		Args: args("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if vf.rules.changed() && !vf.generate {
				return usageError{errors.New("password rules flags need --generate (or save them with 'vault edit')")}
			}
			return a.withVault(func(v *vault.Vault) error {
				s, err := v.CheckRotate(args[0])
				if err != nil {
					return err
				}
				rules, err := vf.rules.over(s.Rules)
				if err != nil {
					return err
				}
				val, generated, err := a.value(args[0], vf.generate, rules)
				if err != nil {
					return err
				}
				defer val.Wipe()
				s, err = v.Set(args[0], val)
				if err != nil {
					return err
				}
				a.note("stored version %d of %s; the previous value is in its history", s.Version, s.Name)
				if generated {
					a.note("generated %s password; see it with 'vault get %s'", sized(val.Len(), "character"), s.Name)
				}
				return nil
			})
		},
	}
	vf.register(c)
	return c
}

func (a *app) editCommand() *cobra.Command {
	var username, url, note, every, last string
	var rf rulesFlags
	var setTOTP, noTOTP bool
	c := &cobra.Command{
		Use:   "edit NAME",
		Short: "Change a secret's username, URL, note, rotation period, password rules or two-factor seed",
		Long: `Change a secret's details. The password rules (--length, --digits,
--symbols SET, --no-symbols) are saved so that the next 'vault rotate'
generates a password the site accepts.

--totp sets or replaces the two-factor (TOTP) seed: an otpauth:// URI or a
base32 seed, typed once at a prompt (not shown) or piped on stdin, never on
the command line. --no-totp removes it. Only the secret's readers can; the
seed stays with the value through 'vault set' and 'vault rotate'.

What is on the command line can be read by every user of this machine while
the command runs (ps, /proc): give one of --username, --url or --note as '-'
to read it from stdin instead, piped or typed at the terminal.`,
		Args: args("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var e vault.SecretEdit
			fl := cmd.Flags()
			fields := map[string]*string{"username": &username, "url": &url, "note": &note}
			if err := a.fieldFromStdin(cmd, args[0], fields, setTOTP && !isTerminal(a.stdin)); err != nil {
				return err
			}
			if fl.Changed("username") {
				e.Username = &username
			}
			if fl.Changed("url") {
				e.URL = &url
			}
			if fl.Changed("note") {
				e.Note = &note
			}
			if fl.Changed("rotate-every") {
				p, err := parsePeriod(every)
				if err != nil {
					return err
				}
				e.RotateEvery = &p
			}
			if fl.Changed("last-rotated") {
				t, err := parseDate("last-rotated", last)
				if err != nil {
					return err
				}
				e.LastRotated = &t
			}
			if setTOTP && noTOTP {
				return usageError{errors.New("--totp and --no-totp go separately")}
			}
			if e == (vault.SecretEdit{}) && !rf.changed() && !setTOTP && !noTOTP {
				return usageError{errors.New("nothing to change; use --username, --url, --note, --rotate-every, --last-rotated, the password rules flags, --totp or --no-totp")}
			}
			return a.withVault(func(v *vault.Vault) error {
				if setTOTP || noTOTP {
					var seed vault.Value
					if setTOTP {
						if _, err := v.Get(args[0]); err != nil {
							return err
						}
						var err error
						if seed, err = a.seedPrompt(args[0]); err != nil {
							return err
						}
						defer seed.Wipe()
					}
					s, err := v.SetTOTP(args[0], seed)
					if err != nil {
						return err
					}
					if setTOTP {
						a.note("stored a two-factor seed for %s; 'vault otp %s' prints its code", s.Name, s.Name)
					} else {
						a.note("removed the two-factor seed of %s", s.Name)
					}
					if e == (vault.SecretEdit{}) && !rf.changed() {
						return nil
					}
				}
				if rf.changed() {
					s, err := v.Get(args[0])
					if err != nil {
						return err
					}
					rules, err := rf.over(s.Rules)
					if err != nil {
						return err
					}
					e.Rules = &rules
				}
				s, err := v.Edit(args[0], e)
				if err != nil {
					return err
				}
				a.note("updated %s", s.Name)
				return nil
			})
		},
	}
	f := c.Flags()
	f.StringVarP(&username, "username", "u", "", "the login name at the service ('-' reads it from stdin)")
	f.StringVar(&url, "url", "", "where to log in ('-' reads it from stdin)")
	f.StringVar(&note, "note", "", "a note every member can see, not for secrets ('-' reads it from stdin)")
	f.StringVar(&every, "rotate-every", "", "how often the password must change (e.g. 6mo, 90d, 1y)")
	f.StringVar(&last, "last-rotated", "", "when it was last changed at the service, `YYYY-MM-DD`")
	f.BoolVar(&setTOTP, "totp", false, "set the two-factor seed, read from a prompt or stdin (never the command line)")
	f.BoolVar(&noTOTP, "no-totp", false, "remove the two-factor seed")
	rf.register(c)
	return c
}

func (a *app) shareCommand(add bool) *cobra.Command {
	use, short := "share NAME WHO...", "Let more members or @groups read a secret"
	long := `Let more members (by name) or @groups read a secret. Its value is re-encrypted
for them now if you can read it; otherwise when one of its readers next uses
vault.`
	if !add {
		use, short = "unshare NAME WHO...", "Stop members or @groups reading a secret (marks it rotate-now)"
		long = `Stop members (by name) or @groups reading a secret. Its value is re-encrypted
without them, and since they may have seen it, the secret is marked
rotate-now: change the password at the service, then 'vault set' it.`
	}
	return &cobra.Command{
		Use:   use,
		Short: short,
		Long:  long,
		Args:  atLeast(2, "NAME and WHO (member names or @groups)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withVault(func(v *vault.Vault) error {
				var ch vault.ShareChange
				var err error
				if add {
					ch, err = v.Share(args[0], args[1:])
				} else {
					ch, err = v.Unshare(args[0], args[1:])
				}
				if err != nil {
					return err
				}
				s := ch.Secret
				a.note("%s is shared with %s", s.Name, strings.Join(s.SharedWith, ", "))
				if len(ch.Gained) > 0 {
					a.note("can now read it: %s", strings.Join(ch.Gained, ", "))
				}
				if len(ch.Lost) > 0 {
					a.note("can no longer read it: %s; change the password at the service, then 'vault set %s'", strings.Join(ch.Lost, ", "), s.Name)
				}
				if ch.Waiting {
					a.note("you cannot read %s, so it is re-encrypted with the next change of one of its readers (%s)", s.Name, strings.Join(s.Readers, ", "))
				}
				return nil
			})
		},
	}
}

// simpleCommand is a command that runs one vault call on a secret name and
// reports it.
func (a *app) simpleCommand(use, short, long string, do func(v *vault.Vault, name string) error, done string) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		Long:  long,
		Args:  args("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withVault(func(v *vault.Vault) error {
				if err := do(v, args[0]); err != nil {
					return err
				}
				a.note(done, args[0])
				return nil
			})
		},
	}
}

func (a *app) rmCommand() *cobra.Command {
	return a.simpleCommand("rm NAME", "Move a secret to the trash (undo with 'vault restore')",
		"Move a secret to the trash. It can be brought back with 'vault restore NAME'\nuntil it is purged with 'vault purge NAME'.",
		(*vault.Vault).Remove, "moved %s to the trash; 'vault restore' brings it back")
}

func (a *app) restoreCommand() *cobra.Command {
	return a.simpleCommand("restore NAME", "Bring a secret back from the trash", "",
		(*vault.Vault).Restore, "restored %s")
}

func (a *app) purgeCommand() *cobra.Command {
	return a.simpleCommand("purge NAME", "Delete a secret in the trash for good, with its history",
		`Delete a secret that is in the trash for good: every version of its value and
its details. This cannot be undone. The vault file is written afresh without
them, and this machine's copy of the vault clears its freed space, so neither
keeps the old encrypted values. Copies made before (other members' machines
until they next open the vault, backups, git history) still hold them.`,
		(*vault.Vault).Purge, "purged %s for good; the vault file and this machine's copy no longer hold its values")
}

func (a *app) historyCommand() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "history NAME",
		Short: "List a secret's versions: when, by whom, who can read each",
		Args:  args("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withVault(func(v *vault.Vault) error {
				vs, err := v.History(args[0])
				if err != nil {
					return err
				}
				if asJSON {
					return a.printJSON(vs)
				}
				tw := newTable(a.stdout)
				fmt.Fprintln(tw, "VERSION\tSTATE\tCREATED\tBY\tREADERS")
				for _, ver := range vs {
					tw.row(strconv.Itoa(ver.N), ver.State, ver.Created.UTC().Format("2006-01-02 15:04"), ver.By, strings.Join(ver.Readers, ", "))
				}
				return tw.Flush()
			})
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

func (a *app) logCommand() *cobra.Command {
	var asJSON bool
	var limit int
	c := &cobra.Command{
		Use:   "log",
		Short: "Show who changed what and when (never a value)",
		Long: `Show the vault's change log, oldest first: every change any member made, who
made it and when, in the order every copy of the vault agrees on. It never
shows a value.

Changes the log refused are listed too, marked REJECTED with the reason:
a change its author had no right to make (made with other tools), or one
made at the same time as its author's removal. They took no effect.`,
		Args: args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if limit < 0 {
				return usageError{fmt.Errorf("-n must be a positive number of entries")}
			}
			return a.withVault(func(v *vault.Vault) error {
				events, err := v.Log(limit)
				if err != nil {
					return err
				}
				if asJSON {
					if events == nil {
						events = []vault.Event{}
					}
					return a.printJSON(events)
				}
				return writeLog(a.stdout, events)
			})
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	c.Flags().IntVarP(&limit, "limit", "n", 0, "show only the last `N` entries")
	return c
}

// writeLog writes log's table. Every field is shown with display.Line.
func writeLog(w io.Writer, events []vault.Event) error {
	tw := newTable(w)
	fmt.Fprintln(tw, "WHEN\tWHO\tWHAT\tON\tDETAIL")
	for _, e := range events {
		what, detail := e.Action, e.Detail
		if e.Rejected != "" {
			what, detail = "REJECTED "+e.Action, e.Rejected
		}
		tw.row(e.At.UTC().Format("2006-01-02 15:04"), e.Actor, what, orDash(e.Target), detail)
	}
	return tw.Flush()
}
