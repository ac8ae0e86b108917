package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"runtime/debug"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/mutual-aid-vault/vault/vault"
	"github.com/mutual-aid-vault/vault/vault/display"
)

// rootCommand builds the command tree. When the first argument names a
// command, only that command is built: every run would otherwise build
// all of them, which 'vault get' in a script pays for each time.
func (a *app) rootCommand(args []string) *cobra.Command {
	root := &cobra.Command{
		Use:   "vault",
		Short: "Shared passwords for a volunteer group, each readable only by who needs it",
		Long: `vault keeps a group's shared passwords (the Airtable login, the call-log
password, the shared inbox) in one encrypted file. Each password is readable
only by the members it is shared with; everything else in the file is
encrypted too. Members are added by their public key, so no password ever
travels through chat or email.

Start: 'vault keygen' makes your key; 'vault init' creates a vault for your
group. New members run 'vault join FILE_OR_GIT_URL' with the group's vault
file or git address and send the line it prints to an admin, who runs 'vault
member add'. Then 'vault add NAME --share @team' stores a password and 'vault
get NAME' prints it.

The vault is --vault, else VAULT_FILE, else the one $XDG_CONFIG_HOME/vault/config
names ('vault = PATH'; written by 'vault join' and 'vault init --vault'), else
$XDG_DATA_HOME/vault/vault.db.

Environment: VAULT_FILE (the vault), VAULT_IDENTITY (your key file),
VAULT_PASSPHRASE_FILE (a file holding your key's passphrase, for scripts),
VAULT_NO_AGENT=1 (do not use or start the agent, see 'vault agent'), NO_COLOR.

Exit codes: 0 ok, 1 failure, 2 usage, 3 no such secret or member, 4 not
allowed, 5 vault busy, 6 wrong passphrase or identity, 10 something is due
('vault run': its program's own).`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return unknownCommand(cmd, args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, _, ok := a.terminalStreams(); ok {
				opts, err := a.tuiOptions()
				if err != nil {
					return err
				}
				return a.runTUI(opts)
			}
			cmd.SetOut(a.stderr)
			_ = cmd.Help()
			return usageError{fmt.Errorf("say which command to run (on a terminal, 'vault' alone opens the terminal UI)")}
		},
	}
	root.CompletionOptions.HiddenDefaultCmd = true
	root.Version = version(debug.ReadBuildInfo())
	root.SetVersionTemplate("vault {{.Version}}\n")
	pf := root.PersistentFlags()
	pf.StringVar(&a.vaultFlag, "vault", "", "vault `FILE` (default $VAULT_FILE, else the configuration's, else $XDG_DATA_HOME/vault/vault.db)")
	pf.StringVar(&a.identityFlag, "identity", "", "identity `FILE` (default $VAULT_IDENTITY, else $XDG_CONFIG_HOME/vault/identity.age)")
	pf.BoolVarP(&a.quiet, "quiet", "q", false, "print only errors on stderr")
	pf.DurationVar(&a.wait, "wait", vault.DefaultLockTimeout, "how long to wait for another vault command on this machine that is changing the vault (`DURATION`, e.g. 2m); one that is stopped is not waited for")
	root.PersistentPreRun = func(cmd *cobra.Command, args []string) {
		if q := a.getenv("VAULT_QUIET"); q != "" && q != "0" && q != "false" {
			a.quiet = true
		}
	}
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usageError{fmt.Errorf("%v; see '%s --help'", err, cmd.CommandPath())}
	})
	root.AddGroup(&cobra.Group{ID: "secrets", Title: "Secrets:"}, &cobra.Group{ID: "people", Title: "Members and keys:"})
	commands := a.commands()
	if len(args) > 0 {
		if c, ok := commands[args[0]]; ok {
			root.AddCommand(c.build())
			return root
		}
	}
	for _, name := range slices.Sorted(maps.Keys(commands)) {
		root.AddCommand(commands[name].build())
	}
	return root
}

// version says which build this is, for --version: the main module's
// version (a release's tag when installed with 'go install …@v1.2.3'; from
// a checkout, the version Go makes of the commit, "+dirty" when it had
// uncommitted changes, or "(devel)" when Go made none), the commit and
// whether the checkout had uncommitted changes when the build recorded
// them and the version does not say, and the Go release that built it.
func version(info *debug.BuildInfo, ok bool) string {
	if !ok {
		return "(unknown: built without module information)"
	}
	out := info.Main.Version
	if out == "" {
		out = "(devel)"
	}
	var rev, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if rev != "" && !strings.Contains(out, rev[:min(len(rev), 12)]) {
		out += ", commit " + rev[:min(len(rev), 12)]
		if modified == "true" {
			out += " with uncommitted changes"
		}
	}
	if info.GoVersion != "" {
		out += ", built with " + info.GoVersion
	}
	return out
}

// command builds one top-level command, in its help group.
type command struct {
	group string
	make  func() *cobra.Command
}

func (c command) build() *cobra.Command {
	cmd := c.make()
	cmd.GroupID = c.group
	return cmd
}

// commands are the top-level commands by name.
func (a *app) commands() map[string]command {
	secrets := func(f func() *cobra.Command) command { return command{"secrets", f} }
	people := func(f func() *cobra.Command) command { return command{"people", f} }
	other := func(f func() *cobra.Command) command { return command{"", f} }
	return map[string]command{
		"add": secrets(a.addCommand), "get": secrets(a.getCommand), "list": secrets(a.listCommand),
		"show": secrets(a.showCommand), "set": secrets(a.setCommand), "edit": secrets(a.editCommand),
		"rotate": secrets(a.rotateCommand), "due": secrets(a.dueCommand), "review": secrets(a.reviewCommand),
		"share":   secrets(func() *cobra.Command { return a.shareCommand(true) }),
		"unshare": secrets(func() *cobra.Command { return a.shareCommand(false) }),
		"rm":      secrets(a.rmCommand), "restore": secrets(a.restoreCommand), "purge": secrets(a.purgeCommand),
		"history": secrets(a.historyCommand), "log": secrets(a.logCommand), "otp": secrets(a.otpCommand),
		"run": secrets(a.runCommand), "inject": secrets(a.injectCommand), "import": secrets(a.importCommand),
		"send": secrets(a.sendCommand), "receive": secrets(a.receiveCommand),
		"keygen": people(a.keygenCommand), "pubkey": people(a.pubkeyCommand), "init": people(a.initCommand),
		"join":   people(a.joinCommand),
		"member": people(a.memberCommand), "agent": people(a.agentCommand), "lock": people(a.lockCommand),
		"rekey": people(a.rekeyCommand),
		"merge": other(a.mergeCommand), "sync": other(a.syncCommand), "merge-driver": other(a.mergeDriverCommand),
		"forget":  other(a.forgetCommand),
		"compact": other(a.compactCommand), "backup": other(a.backupCommand), "destroy": other(a.destroyCommand),
		"clipboard-clear": other(a.clipboardClearCommand), "tui": other(a.tuiCommand), "demo": other(a.demoCommand),
	}
}

func unknownCommand(cmd *cobra.Command, name string) error {
	msg := fmt.Sprintf("unknown command %q", name)
	if s := cmd.SuggestionsFor(name); len(s) > 0 {
		msg += fmt.Sprintf(" (did you mean %s?)", strings.Join(s, ", "))
	}
	return usageError{fmt.Errorf("%s; see '%s --help'", msg, cmd.CommandPath())}
}

// args returns a validator for exactly the named positional arguments.
func args(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, got []string) error {
		if len(got) == len(names) {
			return nil
		}
		if len(got) < len(names) {
			return usageError{fmt.Errorf("missing %s; usage: %s", strings.Join(names[len(got):], " "), cmd.UseLine())}
		}
		return usageError{fmt.Errorf("too many arguments; usage: %s", cmd.UseLine())}
	}
}

// atLeast returns a validator for n or more positional arguments.
func atLeast(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, got []string) error {
		if len(got) < n {
			return usageError{fmt.Errorf("missing %s; usage: %s", what, cmd.UseLine())}
		}
		return nil
	}
}

// printJSON writes v to stdout as indented JSON, with every character a
// terminal could act on escaped (see display.JSON).
func (a *app) printJSON(v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := a.stdout.Write(display.JSON(buf.Bytes()))
	return err
}

// table is a tab-aligned table. tabwriter writes each cell on its own when
// it flushes: through a buffer, a list of ten thousand secrets is a few
// dozen writes instead of a hundred thousand.
type table struct {
	*tabwriter.Writer
	buf *bufio.Writer
}

func newTable(w io.Writer) *table {
	buf := bufio.NewWriterSize(w, 64<<10)
	return &table{tabwriter.NewWriter(buf, 0, 0, 2, ' ', 0), buf}
}

// row writes one row of cells, each shown with display.Line: a tab,
// newline or escape sequence a member put in a name or a note can neither
// break the table nor reach the terminal.
func (t *table) row(cells ...string) {
	for i, c := range cells {
		if i > 0 {
			t.Writer.Write([]byte{'\t'})
		}
		io.WriteString(t.Writer, display.Line(c))
	}
	t.Writer.Write([]byte{'\n'})
}

func (t *table) Flush() error {
	if err := t.Writer.Flush(); err != nil {
		return err
	}
	return t.buf.Flush()
}

// printJSONList writes a list as an indented JSON array one element at a
// time, so that ten thousand secrets are never all encoded in memory at
// once. The output is what printJSON writes for the same list.
func printJSONList[T any](w io.Writer, items []T) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	if len(items) == 0 {
		bw.WriteString("[]\n")
		return bw.Flush()
	}
	bw.WriteString("[\n")
	for i, it := range items {
		b, err := json.MarshalIndent(it, "  ", "  ")
		if err != nil {
			return err
		}
		bw.WriteString("  ")
		bw.Write(display.JSON(b))
		if i < len(items)-1 {
			bw.WriteString(",")
		}
		bw.WriteString("\n")
	}
	bw.WriteString("]\n")
	return bw.Flush()
}

// groupCommand is a command that only holds subcommands.
func groupCommand(use, short string, subs ...*cobra.Command) *cobra.Command {
	c := &cobra.Command{
		Use:   use,
		Short: short,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return unknownCommand(cmd, args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			cmd.SetOut(cmd.ErrOrStderr())
			_ = cmd.Help()
			return usageError{fmt.Errorf("say which %s command to run", use)}
		},
	}
	c.AddCommand(subs...)
	return c
}
