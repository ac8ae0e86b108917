package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mutual-aid-vault/vault/tui"
	"github.com/mutual-aid-vault/vault/vault"
)

// terminalStreams returns stdin and stdout as files when both are
// terminals: what the UI needs.
func (a *app) terminalStreams() (*os.File, *os.File, bool) {
	in, ok1 := a.stdin.(*os.File)
	out, ok2 := a.stdout.(*os.File)
	if !ok1 || !ok2 || !isTerminal(in) || !isTerminal(out) {
		return nil, nil, false
	}
	return in, out, true
}

func (a *app) tuiOptions() (tui.Options, error) {
	vp, err := a.vaultPath()
	if err != nil {
		return tui.Options{}, err
	}
	ip, err := a.identityPath()
	if err != nil {
		return tui.Options{}, err
	}
	opts := tui.Options{VaultPath: vp, IdentityPath: ip, StateDir: a.stateDir(), Clock: a.opts.clock,
		ScryptWorkFactor: a.opts.scryptWorkFactor, Getenv: a.getenv, Clearer: a.clearer, ClipboardFor: a.clipClear()}
	opts.Join = func(src string, id *vault.Identity) (tui.JoinResult, error) {
		// The UI has the member's identity already (it makes one on its
		// first screen): it is used if it is of the vault's kind.
		j, err := a.joinVault(a.typedPath(src), joinOptions{}, func(kind vault.Kind) (*vault.Identity, error) {
			if id.Kind() != kind {
				return nil, wrongKindError(kind, ip, id.Kind())
			}
			return id, nil
		})
		if err != nil {
			return tui.JoinResult{}, err
		}
		res := tui.JoinResult{VaultPath: j.dest, Done: j.done, Next: j.next, Welcome: j.welcome}
		for _, w := range j.warnings {
			res.Done = append(res.Done, "Warning: "+w)
		}
		return res, nil
	}
	if a.agentEnabled() {
		// The UI unlocks once per session; through the agent, not even once.
		opts.FromAgent = func() *vault.Identity { return a.fromAgentQuiet(ip) }
		opts.Unlocked = func(id *vault.Identity) { _, _ = a.startAgent(ip, id, vault.DefaultAgentIdle) }
	}
	return opts, nil
}

// typedPath is a path as typed or pasted in the UI, where no shell
// expands it: spaces around it and the quotes a terminal puts around a
// dropped file go, and a leading ~/ is the home folder.
func (a *app) typedPath(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && (s[0] == '\'' || s[0] == '"') && s[len(s)-1] == s[0] {
		s = s[1 : len(s)-1]
	}
	if rest, ok := strings.CutPrefix(s, "~/"); ok {
		if home := a.getenv("HOME"); home != "" {
			s = filepath.Join(home, rest)
		}
	}
	return s
}

// runTUI opens the terminal UI, or says why it cannot.
func (a *app) runTUI(opts tui.Options) error {
	in, out, ok := a.terminalStreams()
	if !ok {
		return usageError{errors.New("the terminal UI needs a terminal; for scripts use the commands ('vault --help')")}
	}
	// The UI catches SIGQUIT itself, to leave raw mode first.
	defer a.quitHandledElsewhere()()
	return tui.Run(opts, in, out)
}

func (a *app) tuiCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "tui",
		Short: "Open the terminal UI (also what 'vault' alone does on a terminal)",
		Args:  args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts, err := a.tuiOptions()
			if err != nil {
				return err
			}
			return a.runTUI(opts)
		},
	}
}

func (a *app) demoCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "demo",
		Short: "Try the terminal UI on a throw-away sample vault (deleted on exit)",
		Long: `Open the terminal UI on a sample vault made for the occasion in a temporary
folder: a small group with members, groups and secrets in every state (to
rotate now, overdue, due soon, pending, waiting for re-encryption). Nothing
you have is touched, and the folder is deleted when you quit.`,
		Args: args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, _, ok := a.terminalStreams(); !ok {
				return usageError{errors.New("the demo needs a terminal")}
			}
			dir, err := os.MkdirTemp("", "vault-demo-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			a.note("making a sample vault in %s (deleted when you quit)…", dir)
			opts, err := tui.BuildDemo(dir, time.Now())
			if err != nil {
				return err
			}
			opts.Getenv, opts.Clearer, opts.ClipboardFor = a.getenv, a.clearer, a.clipClear()
			return a.runTUI(opts)
		},
	}
}
