package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/mutual-aid-vault/vault/vault"
)

func (a *app) runCommand() *cobra.Command {
	var envs, files []string
	var allowDue bool
	c := &cobra.Command{
		Use:   "run [--env VAR=NAME[:FIELD]]... [--env-file FILE]... [--allow-due] -- COMMAND [ARG...]",
		Short: "Run a program with secrets in its environment",
		Long: `Run a program with secrets in its environment, and exit with its exit code.
The values go into the program's environment only: never on a command line
(the program's or vault's), never on stdout.

--env VAR=NAME puts secret NAME's value in variable VAR; VAR=NAME:FIELD puts
another field: password (the default), username, url or note. --env-file
FILE reads such lines from a file the group can keep in its repository: it
names secrets, it holds no values.

The env file has one VAR=NAME[:FIELD] per line. Blank lines and lines that
start with # are skipped; spaces around '=' are ignored; there are no quotes.
A VAR may appear once in all the files; --env replaces a file's line.

  # deploy.env: what the backup job needs
  DB_PASSWORD=bank/db
  DB_USER=bank/db:username

A secret whose name itself ends in ':url' (or another field) is written with
its field: NAME:url:password.

The rest of vault's environment is passed on unchanged. A variable that is
already set is replaced by the secret, without a word: you named it.

vault refuses to start the program when a secret it names must be rotated
now (someone who could read it was removed or unshared): rotate it first,
or pass --allow-due. Overdue secrets are reminded of on stderr, as by every
command, and do not stop the program.

Exit codes: the program's own, or 128+N when signal N ended it. Before it
starts, vault's: 3 no such secret, 4 not a reader, 10 a secret must be
rotated now, 126 the program cannot be run, 127 it is not found. Ctrl-C,
SIGTERM and SIGHUP sent to vault are passed on to the program (once: a
Ctrl-C at the terminal reaches it directly).

Any program of your own user can read a running program's environment
(/proc/PID/environ), and the program passes it on to what it starts: give
each program only the secrets it needs.`,
		Example: `  vault run --env AIRTABLE_TOKEN=airtable -- ./sync-intake.sh
  vault run --env PGPASSWORD=bank/db --env PGUSER=bank/db:username -- pg_dump bank
  vault run --env-file deploy.env -- ./backup.sh --full`,
		Args:                  atLeast(1, "COMMAND (after --)"),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			maps, err := envMappings(files, envs)
			if err != nil {
				return err
			}
			if len(maps) == 0 {
				return usageError{errors.New("no secret to put in the environment; give --env VAR=NAME or --env-file FILE")}
			}
			path, err := exec.LookPath(args[0])
			if err != nil {
				return startError(args[0], err)
			}
			var set []string
			err = a.withVault(func(v *vault.Vault) error {
				r := newResolver(v)
				defer r.wipe()
				for _, m := range maps {
					val, err := r.lookup(m.ref)
					if err != nil {
						return err
					}
					if bytes.IndexByte(val.Bytes(), 0) >= 0 {
						return fail(vault.ErrInvalid, "%s: the %s of %s holds a NUL byte, which no environment variable can; use 'vault inject' to write it to a file", m.ref.from, m.ref.field, m.ref.name)
					}
					set = append(set, m.name+"="+string(val.Bytes()))
				}
				return r.refuseDue(allowDue)
			})
			if err != nil {
				return err
			}
			environ := os.Environ
			if a.opts.environ != nil {
				environ = a.opts.environ
			}
			return a.runProgram(path, args, childEnv(environ(), set))
		},
	}
	// Everything after COMMAND is its own: 'vault run env -i' passes -i on.
	c.Flags().SetInterspersed(false)
	c.Flags().StringArrayVarP(&envs, "env", "e", nil, "put a secret in an environment variable: `VAR=NAME[:FIELD]` (repeatable)")
	c.Flags().StringArrayVar(&files, "env-file", nil, "read VAR=NAME[:FIELD] lines from `FILE` (repeatable)")
	c.Flags().BoolVar(&allowDue, "allow-due", false, "use secrets even when they must be rotated now")
	return c
}

// startError is exit 127 for a program that is not found and 126 for one
// that cannot be run, as shells say.
func startError(name string, err error) error {
	if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
		return exitStatus{127, fmt.Errorf("cannot run %s: no such program; check its name or your PATH", name)}
	}
	cause := errors.Unwrap(err)
	if cause == nil {
		cause = err
	}
	return exitStatus{126, fmt.Errorf("cannot run %s: %v", name, cause)}
}

// childEnv is base with each VAR=VALUE of set replacing any VAR there.
func childEnv(base, set []string) []string {
	replaced := map[string]bool{}
	for _, kv := range set {
		k, _, _ := strings.Cut(kv, "=")
		replaced[k] = true
	}
	out := make([]string, 0, len(base)+len(set))
	for _, kv := range base {
		if k, _, _ := strings.Cut(kv, "="); !replaced[k] {
			out = append(out, kv)
		}
	}
	return append(out, set...)
}

// runProgram runs the program at path with argv and env, passing on the
// signals meant for it, and returns its result as an exitStatus.
func (a *app) runProgram(path string, argv, env []string) error {
	cmd := &exec.Cmd{Path: path, Args: argv, Env: env, Stdin: a.stdin, Stdout: a.stdout, Stderr: a.stderr}
	// Listen before starting, so a signal that comes in between is not
	// lost: it waits in the channel and is passed on.
	// SIGQUIT too: passed on like SIGINT, and vault waits for the program
	// instead of leaving it behind.
	defer a.quitHandledElsewhere()()
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		return startError(argv[0], err)
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case sig := <-sigs:
				if sig == syscall.SIGTERM || !terminalSignalled() {
					_ = cmd.Process.Signal(sig)
				}
			case <-done:
				return
			}
		}
	}()
	err := cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return exitStatus{code: 128 + int(ws.Signal())}
		}
		return exitStatus{code: ee.ExitCode()}
	}
	if err != nil {
		return fmt.Errorf("running %s: %w", argv[0], err)
	}
	return nil
}

// terminalSignalled reports whether a SIGINT or SIGHUP vault received is
// likely to have come from its terminal, which sends them to every process
// in its foreground process group: the program, in vault's group, had it
// too, and a second one would make a program like terraform give up its
// graceful stop. It is so when vault is in the terminal's foreground.
func terminalSignalled() bool {
	f, err := os.Open("/dev/tty")
	if err != nil {
		return false
	}
	defer f.Close()
	fg, err := unix.IoctlGetInt(int(f.Fd()), unix.TIOCGPGRP)
	return err == nil && fg == unix.Getpgrp()
}

// envMapping puts one secret's field in one environment variable.
type envMapping struct {
	name string
	ref  secretRef
}

// envMappings reads the --env-file files, then the --env flags, which
// replace a file's line for the same variable.
func envMappings(files, flags []string) ([]envMapping, error) {
	var out []envMapping
	at := map[string]int{}
	for _, file := range files {
		ms, err := readEnvFile(file)
		if err != nil {
			return nil, err
		}
		for _, m := range ms {
			if i, ok := at[m.name]; ok {
				return nil, fail(vault.ErrInvalid, "%s: %s is already set at %s; name each variable once", m.ref.from, m.name, out[i].ref.from)
			}
			at[m.name] = len(out)
			out = append(out, m)
		}
	}
	fromFlags := map[string]bool{}
	for _, s := range flags {
		m, err := parseMapping(s)
		if err != nil {
			return nil, usageError{fmt.Errorf("--env: %v", err)}
		}
		if fromFlags[m.name] {
			return nil, usageError{fmt.Errorf("--env %s is given twice", m.name)}
		}
		fromFlags[m.name] = true
		m.ref.from = "--env " + m.name
		if i, ok := at[m.name]; ok {
			out[i] = m
			continue
		}
		at[m.name] = len(out)
		out = append(out, m)
	}
	return out, nil
}

// parseMapping reads VAR=NAME[:FIELD]. Its errors never quote the text:
// a value pasted where a name belongs must not end up on a screen.
func parseMapping(s string) (envMapping, error) {
	name, ref, ok := strings.Cut(s, "=")
	name, ref = strings.TrimSpace(name), strings.TrimSpace(ref)
	if !ok || name == "" || ref == "" {
		return envMapping{}, errors.New("expected VAR=NAME[:FIELD], naming a secret (never its value)")
	}
	if !validVar(name) {
		return envMapping{}, errors.New("a variable name is letters, digits and '_', and does not start with a digit")
	}
	return envMapping{name: name, ref: parseRef(ref)}, nil
}

// validVar reports whether s is a portable environment variable name.
func validVar(s string) bool {
	if s == "" || len(s) > 256 || (s[0] >= '0' && s[0] <= '9') {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '_' && (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// maxEnvFile caps what is read of an env file: a list of names.
const maxEnvFile = 256 << 10

func readEnvFile(path string) ([]envMapping, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read the env file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxEnvFile+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read the env file: %w", err)
	}
	if len(b) > maxEnvFile {
		return nil, fail(vault.ErrInvalid, "%s is larger than %d KiB; an env file lists VAR=NAME lines", path, maxEnvFile>>10)
	}
	return parseEnvFile(path, b)
}

// parseEnvFile reads an env file: one VAR=NAME[:FIELD] per line; blank
// lines and lines starting with '#' skipped; spaces around the line and
// around '=' ignored. A variable may appear once.
func parseEnvFile(path string, b []byte) ([]envMapping, error) {
	var out []envMapping
	seen := map[string]int{}
	for i, line := range strings.Split(string(b), "\n") {
		n := i + 1
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		m, err := parseMapping(line)
		if err != nil {
			return nil, fail(vault.ErrInvalid, "%s:%d: %v", path, n, err)
		}
		if prev, ok := seen[m.name]; ok {
			return nil, fail(vault.ErrInvalid, "%s:%d: %s is already set on line %d; name each variable once", path, n, m.name, prev)
		}
		seen[m.name] = n
		m.ref.from = fmt.Sprintf("%s:%d", path, n)
		out = append(out, m)
	}
	return out, nil
}
