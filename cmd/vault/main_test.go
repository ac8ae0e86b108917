package main

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"filippo.io/age/armor"
	"github.com/rogpeppe/go-internal/testscript"
	bolt "go.etcd.io/bbolt"
)

func TestMain(m *testing.M) {
	// The test binary is also the program that Go tests of 'vault run'
	// start, and vault itself for them (see run_test.go).
	switch {
	case len(os.Args) > 1 && os.Args[1] == procChildArg:
		os.Exit(procChild())
	case os.Getenv("VAULTTEST_AS_VAULT") == "1":
		os.Exit(run(os.Args, os.Stdin, os.Stdout, os.Stderr))
	}
	testscript.Main(m, map[string]func(){"vault": testVaultMain})
}

// fixedClock is the clock VAULTTEST_NOW sets.
type fixedClock time.Time

func (c fixedClock) Now() time.Time { return time.Time(c) }

// leakMarker is the file testVaultMain writes when a run broke a rule that
// must hold for every command; the script fails at its end.
const leakMarker = ".vaulttest-violation"

// exitFile holds the exit code of the last vault run, for the exitcode
// command.
const exitFile = ".vaulttest-exit"

// testVaultMain is the vault command inside scripts. It lowers the scrypt
// cost (an option of the run, not a global), can fix the clock through
// VAULTTEST_NOW, behaves as on a terminal (for reminders and notes) with
// VAULTTEST_TERMINAL=1, and checks two rules on every run: no value listed in
// VAULTTEST_SECRETS appears on stderr, and nothing panics.
func testVaultMain() {
	opts := options{scryptWorkFactor: 10, clipClear: time.Second}
	if s := os.Getenv("VAULTTEST_NOW"); s != "" {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bad VAULTTEST_NOW:", err)
			os.Exit(100)
		}
		opts.clock = fixedClock(t)
	}
	// VAULTTEST_TERMINAL=1: behave as when stderr is a terminal.
	opts.stderrTerminal = os.Getenv("VAULTTEST_TERMINAL") == "1"
	var stderr bytes.Buffer
	code := func() (code int) {
		defer func() {
			if r := recover(); r != nil {
				violation(fmt.Sprintf("vault %v panicked: %v", os.Args[1:], r))
				code = 101
			}
		}()
		return runWith(os.Args, os.Stdin, os.Stdout, io.MultiWriter(os.Stderr, &stderr), os.Getenv, newDevTTY(os.Getenv), opts)
	}()
	// The clipboard helper runs detached, after the command that started it;
	// its exit code is not the one scripts check.
	if len(os.Args) < 2 || os.Args[1] != "clipboard-clear" {
		_ = os.WriteFile(filepath.Join(os.Getenv("WORK"), exitFile), []byte(strconv.Itoa(code)), 0o600)
	}
	for _, s := range strings.Split(os.Getenv("VAULTTEST_SECRETS"), ",") {
		if s != "" && bytes.Contains(stderr.Bytes(), []byte(s)) {
			violation(fmt.Sprintf("vault %v printed the secret value %q on stderr", os.Args[1:], s))
		}
	}
	os.Exit(code)
}

func violation(msg string) {
	f, err := os.OpenFile(filepath.Join(os.Getenv("WORK"), leakMarker), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err == nil {
		fmt.Fprintln(f, msg)
		f.Close()
	}
}

func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata",
		RequireExplicitExec: true,
		Condition:           condition,
		Setup: func(env *testscript.Env) error {
			if _, err := exec.LookPath("age"); err != nil && os.Getenv("CI") == "true" {
				return fmt.Errorf("the age CLI is needed for the interoperability tests under CI: %v", err)
			}
			env.Setenv("VAULT_FILE", filepath.Join(env.WorkDir, "shared", "vault.db"))
			// Scripts that type a passphrase would start an agent, which
			// outlives them; agent_test.go tests it.
			env.Setenv("VAULT_NO_AGENT", "1")
			// Under the race detector every process sleeps a second at exit
			// by default; scripts start hundreds of them.
			if os.Getenv("GORACE") == "" {
				env.Setenv("GORACE", "atexit_sleep_ms=10")
			}
			env.Defer(func() {
				if b, err := os.ReadFile(filepath.Join(env.WorkDir, leakMarker)); err == nil {
					env.T().Fatal(string(b))
				}
			})
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"envfile":   cmdEnvfile,
			"mode":      cmdMode,
			"exitcode":  cmdExitcode,
			"filestamp": cmdFilestamp,
			"gnupghome": cmdGnupghome,
			"holds":     cmdHolds,
			// clip_test.go
			"clearhelper": cmdClearHelper,
			"tmuxserver":  cmdTmuxServer,
			// padding
			"blobs":   cmdBlobs,
			"dropped": cmdDropped,
		},
	})
}

// envfile VAR FILE sets VAR to FILE's content without surrounding space:
// how a script passes a printed public key on to the next command.
func cmdEnvfile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: envfile VAR FILE")
	}
	ts.Setenv(args[0], strings.TrimSpace(ts.ReadFile(args[1])))
}

// mode FILE PERM checks a file's permission bits, e.g. mode key.age 0600.
func cmdMode(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: mode FILE PERM")
	}
	info, err := os.Stat(ts.MkAbs(args[0]))
	ts.Check(err)
	want, err := strconv.ParseUint(args[1], 8, 32)
	ts.Check(err)
	if got := uint64(info.Mode().Perm()); (got == want) == neg {
		ts.Fatalf("%s has mode %04o; want %s%04o", args[0], got, map[bool]string{true: "not ", false: ""}[neg], want)
	}
}

// exitcode N checks the exit code of the last vault run: scripts check the
// documented codes, not just failure.
func cmdExitcode(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: exitcode N")
	}
	if got := strings.TrimSpace(ts.ReadFile(filepath.Join(ts.Getenv("WORK"), exitFile))); got != args[0] {
		ts.Fatalf("vault exited with %s, want %s", got, args[0])
	}
}

// condition answers [need:TOOL]: whether a tool a script needs is
// installed. A script skips when it is not ([!need:pass] skip), except
// under CI (CI=true), where every tool must be installed and the script
// fails instead.
func condition(cond string) (bool, error) {
	tool, ok := strings.CutPrefix(cond, "need:")
	if !ok {
		return false, fmt.Errorf("unknown condition %q", cond)
	}
	if _, err := exec.LookPath(tool); err != nil {
		if os.Getenv("CI") == "true" {
			return false, fmt.Errorf("%s is needed under CI (.ci/run installs it): %v", tool, err)
		}
		return false, nil
	}
	return true, nil
}

// filestamp FILE OUT writes FILE's size and modification time (to the
// nanosecond) to OUT, so that a script can check with cmp that a command
// left a file alone.
func cmdFilestamp(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: filestamp FILE OUT")
	}
	info, err := os.Stat(ts.MkAbs(args[0]))
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), []byte(fmt.Sprintf("%d %d\n", info.Size(), info.ModTime().UnixNano())), 0o600))
}

// gnupghome DIR makes DIR a private GnuPG home, points GNUPGHOME at it, and
// stops the gpg-agent that gpg starts there when the script ends, so that
// no process outlives the test.
func cmdGnupghome(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: gnupghome DIR")
	}
	dir := ts.MkAbs(args[0])
	ts.Check(os.MkdirAll(dir, 0o700))
	ts.Setenv("GNUPGHOME", dir)
	ts.Defer(func() {
		cmd := exec.Command("gpgconf", "--kill", "all")
		cmd.Env = append(os.Environ(), "GNUPGHOME="+dir)
		_ = cmd.Run()
	})
}

// holds PATH CHUNKFILE checks that the raw bytes of PATH (a file, or every
// file under a folder) contain the last 48 bytes of CHUNKFILE: a
// distinctive piece of a value's age file, which 'vault get --ciphertext'
// printed (armored). '! holds' checks that no file does.
//
// CHUNKFILE is an age file (armored or not), whose last 48 bytes are
// looked for, or what blobs and dropped write: chunks in hex, one a line,
// each looked for (holds: every one is found; ! holds: none is).
func cmdHolds(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: holds PATH CHUNKFILE")
	}
	var chunks [][]byte
	ct := []byte(ts.ReadFile(args[1]))
	switch {
	case bytes.HasPrefix(ct, []byte(armor.Header)):
		raw, err := io.ReadAll(armor.NewReader(bytes.NewReader(ct)))
		ts.Check(err)
		ct = raw
		fallthrough
	case bytes.HasPrefix(ct, []byte("age-encryption.org/")):
		if len(ct) < 48 {
			ts.Fatalf("%s is too short to take a piece of", args[1])
		}
		chunks = append(chunks, ct[len(ct)-48:])
	default:
		for _, line := range strings.Fields(string(ct)) {
			c, err := hex.DecodeString(line)
			ts.Check(err)
			chunks = append(chunks, c)
		}
		if len(chunks) == 0 {
			ts.Fatalf("%s names no chunk", args[1])
		}
	}
	found := map[int][]string{}
	err := filepath.WalkDir(ts.MkAbs(args[0]), func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, c := range chunks {
			if bytes.Contains(b, c) {
				found[i] = append(found[i], path)
			}
		}
		return nil
	})
	ts.Check(err)
	for i := range chunks {
		switch {
		case neg && len(found[i]) > 0:
			ts.Fatalf("the bytes of %s (chunk %d) are still in %s", args[1], i+1, strings.Join(found[i], ", "))
		case !neg && len(found[i]) == 0:
			ts.Fatalf("the bytes of %s (chunk %d) are not in %s", args[1], i+1, args[0])
		}
	}
}

// blobs VAULTFILE OUT writes a chunk (the last 48 bytes, in hex) of every
// value the vault file stores, one a line: values are stored sealed, so
// the age file that --ciphertext prints is not in the file as such.
func cmdBlobs(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: blobs VAULTFILE OUT")
	}
	db, err := bolt.Open(ts.MkAbs(args[0]), 0o600, &bolt.Options{ReadOnly: true, Timeout: 5 * time.Second})
	ts.Check(err)
	defer db.Close()
	var out strings.Builder
	ts.Check(db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("blobs"))
		if b == nil {
			return fmt.Errorf("%s has no blobs", args[0])
		}
		return b.ForEach(func(_, v []byte) error {
			if len(v) >= 48 {
				fmt.Fprintln(&out, hex.EncodeToString(v[len(v)-48:]))
			}
			return nil
		})
	}))
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), []byte(out.String()), 0o600))
}

// dropped BEFORE AFTER OUT writes the chunks of BEFORE that AFTER lacks
// (what blobs wrote before and after a change): the values the change
// dropped. It fails when there are none.
func cmdDropped(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: dropped BEFORE AFTER OUT")
	}
	after := map[string]bool{}
	for _, l := range strings.Fields(ts.ReadFile(args[1])) {
		after[l] = true
	}
	var out []string
	for _, l := range strings.Fields(ts.ReadFile(args[0])) {
		if !after[l] {
			out = append(out, l)
		}
	}
	if len(out) == 0 {
		ts.Fatalf("no value of %s is missing from %s", args[0], args[1])
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[2]), []byte(strings.Join(out, "\n")+"\n"), 0o600))
}
