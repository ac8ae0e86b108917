package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// procChildArg makes the test binary the program of TestRunValuesOffCommandLines.
const procChildArg = "vaulttest-proc-child"

// procReport is what that program saw of itself and of its parent.
type procReport struct {
	Self, Parent, ParentEnv, SelfEnv []byte
	Value                            string
}

// procChild reads its own command line and environment and its parent's
// (vault) from /proc, and prints them as JSON.
func procChild() int {
	ppid := os.Getppid()
	var r procReport
	var err error
	read := func(path string) []byte {
		b, e := os.ReadFile(path)
		if e != nil && err == nil {
			err = e
		}
		return b
	}
	r.Self = read("/proc/self/cmdline")
	r.SelfEnv = read("/proc/self/environ")
	r.Parent = read(fmt.Sprintf("/proc/%d/cmdline", ppid))
	r.ParentEnv = read(fmt.Sprintf("/proc/%d/environ", ppid))
	r.Value = os.Getenv("VAULT_RUN_SECRET")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := json.NewEncoder(os.Stdout).Encode(r); err != nil {
		return 1
	}
	return 0
}

// vaultProcess returns a command that runs vault (this test binary, as
// TestMain arranges) in a process of its own, with c's vault.
func vaultProcess(t *testing.T, c *cli, args ...string) *exec.Cmd {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, args...)
	cmd.Env = []string{"VAULTTEST_AS_VAULT=1", "PATH=" + os.Getenv("PATH"), "HOME=" + c.env["HOME"], "VAULT_FILE=" + c.env["VAULT_FILE"]}
	return cmd
}

// TestRunValuesOffCommandLines: 'vault run' puts the value in the
// program's environment only: not in its command line, nor in vault's
// command line or environment, as any process may read them in /proc.
func TestRunValuesOffCommandLines(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc, which only Linux has")
	}
	const value = "v4lue-in-env-only"
	c := newCLI(t)
	c.must("", "keygen", "--no-passphrase")
	c.must("", "init", "--me", "alice")
	c.must(value+"\n", "add", "airtable")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := vaultProcess(t, c, "run", "--env", "VAULT_RUN_SECRET=airtable", "--", self, procChildArg)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("vault run: %v: %s", err, stderr.Bytes())
	}
	var r procReport
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("%v: %q", err, out)
	}
	// The reads worked: the program has the value, and its parent is vault.
	if r.Value != value || !bytes.Contains(r.SelfEnv, []byte(value)) {
		t.Fatalf("the program did not get the value in its environment")
	}
	if !bytes.Contains(r.Parent, []byte("VAULT_RUN_SECRET=airtable")) || !bytes.Contains(r.Self, []byte(procChildArg)) {
		t.Fatalf("unexpected command lines: program %q, parent %q", r.Self, r.Parent)
	}
	for what, b := range map[string][]byte{"the program's command line": r.Self, "vault's command line": r.Parent, "vault's environment": r.ParentEnv, "vault's stderr": stderr.Bytes()} {
		if bytes.Contains(b, []byte(value)) {
			t.Errorf("the value is in %s", what)
		}
	}
}

// TestRunForwardsSignals: SIGINT, SIGTERM, SIGHUP and SIGQUIT sent to vault reach
// the program, whose exit code vault then passes back. vault runs in a
// session of its own, without a terminal, as under a service manager.
func TestRunForwardsSignals(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes and waits for them")
	}
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("needs sh")
	}
	c := newCLI(t)
	c.must("", "keygen", "--no-passphrase")
	c.must("", "init", "--me", "alice")
	c.must("hunter2\n", "add", "airtable")
	for _, tt := range []struct {
		sig  syscall.Signal
		name string
		code int
	}{
		{syscall.SIGINT, "INT", 41},
		{syscall.SIGTERM, "TERM", 42},
		{syscall.SIGHUP, "HUP", 43},
		{syscall.SIGQUIT, "QUIT", 44},
	} {
		t.Run(tt.name, func(t *testing.T) {
			script := fmt.Sprintf(`trap 'echo got %s; exit %d' %s; echo ready; while :; do sleep 0.05; done`, tt.name, tt.code, tt.name)
			cmd := vaultProcess(t, c, "run", "--env", "P=airtable", "--", "sh", "-c", script)
			cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// vault leads a process group of its own (Setsid), which its
			// program joins: a failed test kills both, leaving nothing
			// behind.
			killAll := func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
			t.Cleanup(func() {
				if t.Failed() {
					killAll()
				}
			})
			timer := time.AfterFunc(30*time.Second, killAll)
			defer timer.Stop()
			lines := bufio.NewScanner(stdout)
			if !lines.Scan() || lines.Text() != "ready" {
				t.Fatalf("the program did not start: %q, %s", lines.Text(), stderr.Bytes())
			}
			if err := cmd.Process.Signal(tt.sig); err != nil {
				t.Fatal(err)
			}
			var rest []string
			for lines.Scan() {
				rest = append(rest, lines.Text())
			}
			err = cmd.Wait()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != tt.code {
				t.Fatalf("vault exited with %v, want %d (stderr %q)", err, tt.code, stderr.Bytes())
			}
			if !slices.Equal(rest, []string{"got " + tt.name}) {
				t.Fatalf("the program printed %q", rest)
			}
		})
	}
}

func TestParseEnvFile(t *testing.T) {
	type m struct{ v, name, field, from string }
	tests := []struct {
		name, in string
		want     []m
		err      string
	}{
		{"empty", "", nil, ""},
		{"comments and blank lines", "# a comment\n\n   \n\t# indented\n", nil, ""},
		{"fields", "A=airtable\nB=airtable:username\nC = intake/call-log : url\nD=x:note\nE=x:password\nF=x:value\n", []m{
			{"A", "airtable", "password", "f:1"}, {"B", "airtable", "username", "f:2"}, {"C", "intake/call-log : url", "password", "f:3"},
			{"D", "x", "note", "f:4"}, {"E", "x", "password", "f:5"}, {"F", "x", "value", "f:6"},
		}, ""},
		{"names with ':' and '='", "A=a:b\nB=a:b:url\nC=x=y\n", []m{{"A", "a:b", "password", "f:1"}, {"B", "a:b", "url", "f:2"}, {"C", "x=y", "password", "f:3"}}, ""},
		{"CRLF", "A=airtable\r\nB=x:url\r\n", []m{{"A", "airtable", "password", "f:1"}, {"B", "x", "url", "f:2"}}, ""},
		{"no '='", "# c\nA airtable\n", nil, "f:2: expected VAR=NAME[:FIELD], naming a secret (never its value)"},
		{"no name", "A=\n", nil, "f:1: expected VAR=NAME[:FIELD]"},
		{"no variable", "=airtable\n", nil, "f:1: expected VAR=NAME[:FIELD]"},
		{"bad variable", "A=x\nMY-VAR=x\n", nil, "f:2: a variable name is letters, digits and '_', and does not start with a digit"},
		{"digit first", "9A=x\n", nil, "f:1: a variable name is"},
		{"export", "export A=x\n", nil, "f:1: a variable name is"},
		{"twice", "A=x\nB=y\nA=z\n", nil, "f:3: A is already set on line 1; name each variable once"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseEnvFile("f", []byte(tt.in))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var flat []m
			for _, g := range got {
				flat = append(flat, m{g.name, g.ref.name, g.ref.field, g.ref.from})
			}
			if !slices.Equal(flat, tt.want) {
				t.Fatalf("got %+v\nwant %+v", flat, tt.want)
			}
		})
	}
}

// FuzzParseEnvFile: no input panics; what parses is well formed and
// parses again the same when written back; an error never quotes the
// text after '=' (it may be a pasted value).
func FuzzParseEnvFile(f *testing.F) {
	f.Add([]byte("# c\nA=airtable\nB = x:username\n"))
	f.Add([]byte("A=a:b:url\r\nB=x=y"))
	f.Add([]byte("A hunter2\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := parseEnvFile("f", b)
		if err != nil {
			for _, line := range strings.Split(string(b), "\n") {
				if _, rhs, ok := strings.Cut(line, "="); ok && len(strings.TrimSpace(rhs)) >= 8 && strings.Contains(err.Error(), strings.TrimSpace(rhs)) {
					t.Fatalf("the error %q quotes the input", err)
				}
			}
			return
		}
		var again strings.Builder
		for _, m := range got {
			if !validVar(m.name) || m.ref.name == "" || !isField(m.ref.field) {
				t.Fatalf("parsed %+v", m)
			}
			fmt.Fprintf(&again, "%s=%s:%s\n", m.name, m.ref.name, m.ref.field)
		}
		back, err := parseEnvFile("f", []byte(again.String()))
		if err != nil || len(back) != len(got) {
			t.Fatalf("written back: %v, %d mappings, want %d", err, len(back), len(got))
		}
		for i := range back {
			if back[i].name != got[i].name || back[i].ref.name != got[i].ref.name || back[i].ref.field != got[i].ref.field {
				t.Fatalf("written back: %+v, want %+v", back[i], got[i])
			}
		}
	})
}

func TestChildEnv(t *testing.T) {
	base := []string{"PATH=/bin", "DB_PASS=old", "HOME=/h", "EMPTY=", "DB_PASS=dup"}
	got := childEnv(base, []string{"DB_PASS=new", "NEW=x=y"})
	want := []string{"PATH=/bin", "HOME=/h", "EMPTY=", "DB_PASS=new", "NEW=x=y"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// TestRunInProcess: the environment 'vault run' gives its program comes
// from the options, and the secret replaces a variable already set.
func TestRunInProcess(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("needs sh")
	}
	c := newCLI(t)
	c.must("", "keygen", "--no-passphrase")
	c.must("", "init", "--me", "alice")
	c.must("hunter2\n", "add", "airtable")
	var out, errb bytes.Buffer
	environ := func() []string { return []string{"PATH=" + os.Getenv("PATH"), "P=placeholder", "KEEP=kept"} }
	code := runWith([]string{"vault", "run", "--env", "P=airtable", "--", "sh", "-c", `echo "$P $KEEP"; exit 3`}, strings.NewReader(""), &out, &errb,
		func(k string) string { return c.env[k] }, noTTY{}, options{environ: environ})
	if code != 3 || out.String() != "hunter2 kept\n" || errb.Len() != 0 {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
	}
}
