package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"filippo.io/age"
	"filippo.io/age/armor"
)

// agentBox is a home for the agent tests: the built program, a member
// with a passphrase-protected identity (at age's full scrypt cost, as a
// person has) and a vault holding "airtable".
type agentBox struct {
	t                 *testing.T
	dir, bin          string
	env               []string
	pass, passFile    string
	identity, runtime string
}

func newAgentBox(t *testing.T) *agentBox {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("the agent needs Linux")
	}
	if testing.Short() {
		t.Skip("builds the binary and starts agents")
	}
	dir := t.TempDir()
	b := &agentBox{t: t, dir: dir, bin: buildVault(t), pass: "correct horse battery staple", passFile: filepath.Join(dir, "pass"),
		identity: filepath.Join(dir, "home", ".config", "vault", "identity.age"), runtime: filepath.Join(dir, "run")}
	os.Mkdir(b.runtime, 0o700)
	b.env = []string{"HOME=" + filepath.Join(dir, "home"), "XDG_RUNTIME_DIR=" + b.runtime,
		"VAULT_FILE=" + filepath.Join(dir, "vault.db"), "PATH=/usr/bin:/bin", "LANG=C.UTF-8"}
	if err := os.WriteFile(b.passFile, []byte(b.pass+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	b.must("", []string{"VAULT_PASSPHRASE_FILE=" + b.passFile}, "keygen")
	b.must("", []string{"VAULT_PASSPHRASE_FILE=" + b.passFile}, "init", "--me", "alice")
	b.must("hunter2\n", []string{"VAULT_PASSPHRASE_FILE=" + b.passFile}, "add", "airtable")
	t.Cleanup(func() { b.stopAgent() })
	return b
}

// command is the program with extra environment, in a session of its own:
// no terminal to ask on.
func (b *agentBox) command(stdin string, extra []string, args ...string) *exec.Cmd {
	cmd := exec.Command(b.bin, args...)
	cmd.Env = append(append([]string{}, b.env...), extra...)
	cmd.Dir = b.dir
	cmd.Stdin = strings.NewReader(stdin)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	return cmd
}

func (b *agentBox) run(stdin string, extra []string, args ...string) (int, string, string) {
	cmd := b.command(stdin, extra, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		b.t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), out.String(), errb.String()
}

func (b *agentBox) must(stdin string, extra []string, args ...string) string {
	b.t.Helper()
	code, out, errs := b.run(stdin, extra, args...)
	if code != 0 {
		b.t.Fatalf("vault %v: exit %d: %s", args, code, errs)
	}
	return out
}

// status returns the agent's status (pid 0: none runs).
func (b *agentBox) status() agentStatusJSON {
	b.t.Helper()
	code, out, errs := b.run("", nil, "agent", "--status", "--json")
	var st agentStatusJSON
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		b.t.Fatalf("agent --status --json: %v: %q %s", err, out, errs)
	}
	if (code == 0) != st.Running {
		b.t.Fatalf("agent --status: exit %d but running=%v", code, st.Running)
	}
	return st
}

// startAgent starts an agent explicitly, as a login script would.
func (b *agentBox) startAgent(args ...string) int {
	b.t.Helper()
	b.must("", []string{"VAULT_PASSPHRASE_FILE=" + b.passFile}, append([]string{"agent"}, args...)...)
	st := b.status()
	if !st.Running || st.PID == 0 || st.Identity != b.identity {
		b.t.Fatalf("no agent after 'vault agent': %+v", st)
	}
	return st.PID
}

// stopAgent kills any agent the test left.
func (b *agentBox) stopAgent() {
	if st := b.status(); st.PID != 0 {
		syscall.Kill(st.PID, syscall.SIGKILL)
	}
}

func gone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("agent %d still runs", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// secretKey reads the member's secret key line out of the identity file.
func (b *agentBox) secretKey() string {
	b.t.Helper()
	data, err := os.ReadFile(b.identity)
	if err != nil {
		b.t.Fatal(err)
	}
	si, err := age.NewScryptIdentity(b.pass)
	if err != nil {
		b.t.Fatal(err)
	}
	r, err := age.Decrypt(armor.NewReader(bytes.NewReader(data)), si)
	if err != nil {
		b.t.Fatal(err)
	}
	plain, _ := io.ReadAll(r)
	for _, line := range strings.Split(string(plain), "\n") {
		if strings.HasPrefix(line, "AGE-SECRET-KEY-") {
			return line
		}
	}
	b.t.Fatal("no secret key in the identity file")
	return ""
}

// memoryHolds reports whether the memory of process pid holds needle.
func memoryHolds(t *testing.T, pid int, needle []byte) bool {
	t.Helper()
	maps, err := os.ReadFile(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		t.Fatal(err)
	}
	mem, err := os.Open(fmt.Sprintf("/proc/%d/mem", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	sc := bufio.NewScanner(bytes.NewReader(maps))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || f[1][0] != 'r' {
			continue
		}
		lo, hi, _ := strings.Cut(f[0], "-")
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || end-start > 1<<30 {
			continue
		}
		buf := make([]byte, end-start)
		n, _ := mem.ReadAt(buf, int64(start))
		if bytes.Contains(buf[:n], needle) {
			return true
		}
	}
	return false
}

// TestAgentCLI: an agent started once serves the next commands, which no
// longer need the passphrase; it locks on 'vault lock', SIGTERM, SIGHUP,
// SIGQUIT and when idle; its socket is private.
func TestAgentCLI(t *testing.T) {
	b := newAgentBox(t)
	noPass := []string{}
	if code, _, errs := b.run("", noPass, "get", "airtable"); code != exitBadKey || !strings.Contains(errs, "no terminal") {
		t.Fatalf("without agent or passphrase: exit %d: %s", code, errs)
	}
	if st := b.status(); st.Running {
		t.Fatalf("a script with VAULT_PASSPHRASE_FILE started an agent: %+v", st)
	}
	pid := b.startAgent("--idle", "1m")

	t.Run("used without the passphrase", func(t *testing.T) {
		if out := b.must("", noPass, "get", "airtable"); out != "hunter2\n" {
			t.Fatalf("get through the agent: %q", out)
		}
		// Changes are signed through it too.
		b.must("pw2\n", noPass, "add", "inbox")
		if out := b.must("", noPass, "get", "inbox"); out != "pw2\n" {
			t.Fatalf("get inbox: %q", out)
		}
		if code, _, _ := b.run("", []string{"VAULT_NO_AGENT=1"}, "get", "airtable"); code != exitBadKey {
			t.Fatalf("VAULT_NO_AGENT=1 used the agent: exit %d", code)
		}
		// A second explicit start says one runs.
		if _, _, errs := b.run("", noPass, "agent"); !strings.Contains(errs, "already runs") {
			t.Fatalf("second 'vault agent': %s", errs)
		}
	})

	t.Run("socket and folder private", func(t *testing.T) {
		st := b.status()
		for path, want := range map[string]os.FileMode{filepath.Dir(st.Socket): 0o700, st.Socket: 0o600} {
			info, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if info.Mode().Perm() != want {
				t.Errorf("%s: mode %04o, want %04o", path, info.Mode().Perm(), want)
			}
		}
		if !strings.HasPrefix(st.Socket, b.runtime+"/vault/") {
			t.Errorf("socket %s not in $XDG_RUNTIME_DIR/vault", st.Socket)
		}
	})

	t.Run("no secret key in the client", func(t *testing.T) {
		key := b.secretKey()
		check := func(extra []string) (inMemory bool) {
			cmd := b.command("", extra, "run", "--env", "PW=airtable", "--", "sleep", "30")
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { cmd.Process.Kill(); cmd.Wait() }()
			// vault runs the program once it has the value: the unlock is over.
			deadline := time.Now().Add(60 * time.Second)
			for {
				// Any thread of vault's may have started it.
				tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", cmd.Process.Pid))
				started := false
				for _, f := range tasks {
					kids, _ := os.ReadFile(f)
					started = started || len(bytes.TrimSpace(kids)) > 0
				}
				if started {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("vault run never started its program")
				}
				time.Sleep(20 * time.Millisecond)
			}
			environ, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", cmd.Process.Pid))
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(environ, []byte(key)) || bytes.Contains(environ, []byte(b.pass)) {
				t.Error("the secret key or passphrase is in vault's environment")
			}
			return memoryHolds(t, cmd.Process.Pid, []byte(key))
		}
		if check(noPass) {
			t.Error("the secret key is in the memory of a client that unlocked through the agent")
		}
		// The same check finds the key in a process that unlocked itself.
		if !check([]string{"VAULT_NO_AGENT=1", "VAULT_PASSPHRASE_FILE=" + b.passFile}) {
			t.Error("the memory check does not find the key where it is: it checks nothing")
		}
		// No file the commands wrote holds the key or the passphrase.
		filepath.WalkDir(b.dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || path == b.identity || path == b.passFile || d.Type()&fs.ModeSocket != 0 {
				return nil
			}
			data, err := os.ReadFile(path)
			if err == nil && (bytes.Contains(data, []byte(key)) || bytes.Contains(data, []byte(b.pass))) {
				t.Errorf("%s holds the secret key or the passphrase", path)
			}
			return nil
		})
	})

	t.Run("vault lock", func(t *testing.T) {
		code, out, errs := b.run("", noPass, "lock", "--json")
		var st agentStatusJSON
		if code != 0 || json.Unmarshal([]byte(out), &st) != nil || !st.Locked || st.PID != pid {
			t.Fatalf("lock: exit %d %q %s", code, out, errs)
		}
		gone(t, pid)
		if b.status().Running {
			t.Fatal("an agent runs after 'vault lock'")
		}
		if _, _, errs := b.run("", noPass, "lock"); !strings.Contains(errs, "no agent was running") {
			t.Fatalf("second lock: %s", errs)
		}
		if code, _, _ := b.run("", noPass, "get", "airtable"); code != exitBadKey {
			t.Fatalf("get after lock: exit %d", code)
		}
	})

	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT} {
		t.Run(sig.String(), func(t *testing.T) {
			pid := b.startAgent()
			socket := b.status().Socket
			if err := syscall.Kill(pid, sig); err != nil {
				t.Fatal(err)
			}
			gone(t, pid)
			if _, err := os.Lstat(socket); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("socket left behind: %v", err)
			}
		})
	}

	t.Run("idle", func(t *testing.T) {
		pid := b.startAgent("--idle", "1s")
		b.must("", noPass, "get", "airtable")
		gone(t, pid)
		if code, _, _ := b.run("", noPass, "get", "airtable"); code != exitBadKey {
			t.Fatalf("get after the idle lock: exit %d", code)
		}
	})
}

// agentEnv is ptyVault's environment with the agent allowed.
func (p *ptyVault) agentEnv() {
	var env []string
	for _, e := range p.env {
		if e != "VAULT_NO_AGENT=1" {
			env = append(env, e)
		}
	}
	p.env = env
}

// TestAgentStartsOnDemand: the first command that asks for the passphrase
// on a terminal starts the agent; in 'vault get a | vault set b' the second
// command finds it and does not ask; later commands without a terminal go
// through it.
func TestAgentStartsOnDemand(t *testing.T) {
	p := newPtyVault(t)
	p.agentEnv()
	t.Cleanup(func() {
		cmd := exec.Command(p.bin, "lock")
		cmd.Env = p.env
		cmd.Run()
	})
	cmd, tty, _, scr := p.start(`"$VAULT" get a | "$VAULT" set b; echo "EXIT $?"`)
	p.waitFor(scr, "Passphrase for", 1)
	if _, err := tty.WriteString(p.pass + "\n"); err != nil {
		t.Fatal(err)
	}
	p.waitFor(scr, "EXIT ", 1)
	if code := p.wait(cmd, scr); code != 0 || !strings.Contains(scr.String(), "EXIT 0") {
		t.Fatalf("exit %d:\n%s", code, scr)
	}
	if n := strings.Count(scr.String(), "Passphrase for"); n != 1 {
		t.Fatalf("asked %d times:\n%s", n, scr)
	}
	get := exec.Command(p.bin, "get", "b")
	get.Env = p.env // no VAULT_PASSPHRASE_FILE, no terminal
	get.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	out, err := get.Output()
	if err != nil || string(out) != "first-value\n" {
		t.Fatalf("get through the agent started on demand: %q, %v", out, err)
	}
}
