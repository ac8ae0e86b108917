package vault

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/mutual-aid-vault/vault/vault/internal/agentwire"
)

// startAgent serves id at a socket in a fresh private folder and locks it
// when the test ends. It returns the socket and what Serve returns.
func startAgent(t *testing.T, id *Identity, opts AgentOptions) (string, *Agent, <-chan string) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("the agent needs Linux")
	}
	if opts.Socket == "" {
		// Socket paths are limited to about 100 bytes: keep it short.
		dir, err := os.MkdirTemp("", "va")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		opts.Socket, err = AgentSocket("/some/identity.age", filepath.Join(dir, "run"))
		if err != nil {
			t.Fatal(err)
		}
	}
	a, err := ListenAgent(id, opts)
	if err != nil {
		t.Fatal(err)
	}
	served, stopped := make(chan string, 1), make(chan struct{})
	go func() {
		served <- a.Serve()
		close(stopped)
	}()
	t.Cleanup(func() {
		a.Lock("test over")
		select {
		case <-stopped:
		case <-time.After(5 * time.Second):
			t.Error("the agent did not stop")
		}
	})
	return opts.Socket, a, served
}

func encryptTo(t *testing.T, msg string, rs ...age.Recipient) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, rs...)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, msg)
	w.Close()
	return buf.Bytes()
}

// TestAgentSameAsIdentity: unwrapping and signing through the agent give
// what the identity itself gives, for both kinds of key; the client never
// holds the secret key.
func TestAgentSameAsIdentity(t *testing.T) {
	for _, kind := range []Kind{Classic, PostQuantum} {
		t.Run(string(kind), func(t *testing.T) {
			id, err := GenerateIdentity(kind)
			if err != nil {
				t.Fatal(err)
			}
			other, _ := GenerateIdentity(kind)
			socket, _, _ := startAgent(t, id, AgentOptions{})
			c, err := DialAgent(socket)
			if err != nil {
				t.Fatal(err)
			}
			if c.PublicKey() != id.PublicKey() || c.Kind() != id.Kind() || c.Recipient() != id.Recipient() ||
				!c.SigningKey().Equal(id.SigningKey()) || c.Fingerprint() != id.Fingerprint() {
				t.Fatal("the agent's identity has other public keys")
			}
			if !c.FromAgent() || id.FromAgent() {
				t.Fatal("FromAgent is wrong")
			}
			if c.secret != "" || c.sign != nil {
				t.Fatal("the client holds secret key material")
			}
			r, _ := recipient(id.Recipient())
			ro, _ := recipient(other.Recipient())
			// Several stanzas, this identity's in the middle.
			ct := encryptTo(t, "hello", ro, r, ro)
			for name, ident := range map[string]age.Identity{"identity": id, "agent": c} {
				rd, err := age.Decrypt(bytes.NewReader(ct), ident)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if b, _ := io.ReadAll(rd); string(b) != "hello" {
					t.Fatalf("%s decrypted %q", name, b)
				}
			}
			// Not for this identity: age's own "no identity matched".
			_, err = age.Decrypt(bytes.NewReader(encryptTo(t, "x", ro)), c)
			var noMatch *age.NoIdentityMatchError
			if !errors.As(err, &noMatch) {
				t.Fatalf("a file for someone else: %v", err)
			}
			msg := []byte("vault op signature v1\x00body")
			want, _ := id.SignOp(msg)
			got, err := c.SignOp(msg)
			if err != nil || !bytes.Equal(got, want) || !ed25519.Verify(c.SigningKey(), msg, got) {
				t.Fatalf("signature through the agent differs: %v", err)
			}
			if err := WriteIdentity(filepath.Join(t.TempDir(), "id"), c, Value{}, IdentityOptions{}); err == nil {
				t.Fatal("wrote an identity held by the agent")
			}
			if err := HandOff(io.Discard, c); err == nil {
				t.Fatal("handed off an identity held by the agent")
			}
		})
	}
}

// TestAgentVault: the store works through the agent as with the key
// itself: open, read, change.
func TestAgentVault(t *testing.T) {
	g := newGroup(t, Classic, "alice", "bob")
	g.do("alice", func(v *Vault) {
		if _, err := v.Add(NewSecret{Name: "airtable"}, NewValue([]byte("hunter2"))); err != nil {
			t.Fatal(err)
		}
	})
	socket, _, _ := startAgent(t, g.ids["alice"], AgentOptions{})
	c, err := DialAgent(socket)
	if err != nil {
		t.Fatal(err)
	}
	v, err := Open(g.path, Options{Identity: c, Clock: g.clock, StateDir: g.state["alice"]})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	val, err := v.Reveal("airtable", 0)
	if err != nil || string(val.Bytes()) != "hunter2" {
		t.Fatalf("reveal through the agent: %v", err)
	}
	if _, err := v.Add(NewSecret{Name: "inbox"}, NewValue([]byte("pw2"))); err != nil {
		t.Fatalf("a change signed through the agent: %v", err)
	}
	g.do("bob", func(v *Vault) {
		if _, err := v.Get("inbox"); err != nil {
			t.Fatalf("bob does not see alice's change made through the agent: %v", err)
		}
	})
}

// TestAgentSocketPermissions: the folder is private (made so if it was
// not) and the socket is the user's alone.
func TestAgentSocketPermissions(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the agent needs Linux")
	}
	id, _ := GenerateIdentity(Classic)
	dir, err := os.MkdirTemp("", "va")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	run := filepath.Join(dir, "run")
	os.Mkdir(run, 0o755)
	socket, _, _ := startAgent(t, id, AgentOptions{Socket: filepath.Join(run, "a.sock")})
	for path, want := range map[string]os.FileMode{run: 0o700, socket: 0o600} {
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != want {
			t.Errorf("%s: mode %04o, want %04o", path, info.Mode().Perm(), want)
		}
	}
	if _, err := ListenAgent(id, AgentOptions{Socket: socket}); !errors.Is(err, ErrAgentRunning) {
		t.Fatalf("a second agent on the same socket: %v", err)
	}
}

// TestAgentLocks: the agent locks when asked, when idle, and when its
// identity file changes; then nothing answers and the socket is gone.
func TestAgentLocks(t *testing.T) {
	id, _ := GenerateIdentity(Classic)
	gone := func(t *testing.T, socket string) {
		t.Helper()
		if _, err := DialAgent(socket); !errors.Is(err, ErrNoAgent) {
			t.Fatalf("after locking: %v", err)
		}
		if _, err := os.Lstat(socket); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("the socket is still there: %v", err)
		}
	}
	t.Run("lock", func(t *testing.T) {
		socket, _, served := startAgent(t, id, AgentOptions{IdentityPath: "", Idle: time.Hour})
		info, err := LockAgent(socket)
		if err != nil || info.PublicKey != id.PublicKey() || info.PID != os.Getpid() || info.Idle != time.Hour {
			t.Fatalf("lock: %+v, %v", info, err)
		}
		if why := <-served; !strings.Contains(why, "vault lock") {
			t.Fatalf("reason %q", why)
		}
		gone(t, socket)
	})
	t.Run("idle", func(t *testing.T) {
		// An idle time long enough that a loaded machine's slow sleeps
		// between uses stay well inside it.
		const idle = time.Second
		socket, _, served := startAgent(t, id, AgentOptions{Idle: idle})
		c, err := DialAgent(socket)
		if err != nil {
			t.Fatal(err)
		}
		// Use keeps it unlocked past its idle time.
		for range 6 {
			time.Sleep(idle / 4)
			if _, err := c.SignOp([]byte("x")); err != nil {
				t.Fatalf("locked while in use: %v", err)
			}
		}
		info, err := AgentStatus(socket)
		if err != nil || info.Left <= 0 || info.Left > idle {
			t.Fatalf("status: %+v, %v", info, err)
		}
		select {
		case why := <-served:
			if !strings.Contains(why, "idle") {
				t.Fatalf("reason %q", why)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("did not lock when idle")
		}
		gone(t, socket)
		if _, err := c.SignOp([]byte("x")); !errors.Is(err, ErrNoAgent) {
			t.Fatalf("signing after the agent locked: %v", err)
		}
	})
	t.Run("identity file replaced", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "identity.age")
		if err := WriteIdentity(path, id, Value{}, IdentityOptions{}); err != nil {
			t.Fatal(err)
		}
		socket, _, served := startAgent(t, id, AgentOptions{IdentityPath: path})
		if _, err := DialAgent(socket); err != nil {
			t.Fatal(err)
		}
		other, _ := GenerateIdentity(Classic)
		if err := WriteIdentity(path, other, Value{}, IdentityOptions{Force: true}); err != nil {
			t.Fatal(err)
		}
		if _, err := DialAgent(socket); !errors.Is(err, ErrAgentLocked) && !errors.Is(err, ErrNoAgent) {
			t.Fatalf("an agent for a replaced identity file answered: %v", err)
		}
		if why := <-served; !strings.Contains(why, "identity file changed") {
			t.Fatalf("reason %q", why)
		}
	})
	t.Run("stale socket", func(t *testing.T) {
		socket, a, served := startAgent(t, id, AgentOptions{})
		// An agent killed hard leaves its socket; the next one replaces it.
		a.ln.SetUnlinkOnClose(false)
		a.Lock("killed")
		<-served
		if _, err := os.Lstat(socket); err != nil {
			t.Fatal(err)
		}
		startAgent(t, id, AgentOptions{Socket: socket})
		if _, err := DialAgent(socket); err != nil {
			t.Fatal(err)
		}
	})
}

// TestAgentBadRequests: what does not decode gets an error, and the agent
// goes on answering.
func TestAgentBadRequests(t *testing.T) {
	id, _ := GenerateIdentity(Classic)
	socket, _, _ := startAgent(t, id, AgentOptions{})
	for _, raw := range [][]byte{
		{0, 0, 0, 2, '{', '}'},
		append([]byte{0, 0, 0, 22}, `{"op":"export-secret"}`...),
		{0xff, 0xff, 0xff, 0xff},
	} {
		conn, err := net.Dial("unix", socket)
		if err != nil {
			t.Fatal(err)
		}
		conn.Write(raw)
		b, err := agentwire.ReadFrame(conn, agentwire.MaxResponse)
		conn.Close()
		if err != nil {
			t.Fatal(err)
		}
		resp, _ := agentwire.DecodeResponse(b)
		if resp.Code != agentwire.CodeBadRequest || resp.PublicKey != "" {
			t.Fatalf("%q: %+v", raw, resp)
		}
	}
	if _, err := DialAgent(socket); err != nil {
		t.Fatal(err)
	}
}

// TestAgentHandOff: an identity goes through a pipe whole.
func TestAgentHandOff(t *testing.T) {
	id, _ := GenerateIdentity(PostQuantum)
	var buf bytes.Buffer
	if err := HandOff(&buf, id); err != nil {
		t.Fatal(err)
	}
	got, err := TakeHandOff(&buf)
	if err != nil || got.PublicKey() != id.PublicKey() {
		t.Fatalf("%v", err)
	}
	if _, err := TakeHandOff(bytes.NewReader([]byte{0, 0, 0, 5, 'x'})); err == nil {
		t.Fatal("took a truncated hand-off")
	}
}

// agentPeerEnv makes the test binary a client of another user (see
// TestAgentRefusesOtherUsers).
const agentPeerEnv = "VAULT_TEST_AGENT_PEER"

// TestAgentPeerChild is the other user's client: not a test of its own.
func TestAgentPeerChild(t *testing.T) {
	socket := os.Getenv(agentPeerEnv)
	if socket == "" {
		t.Skip("only run as the child of TestAgentRefusesOtherUsers")
	}
	_, err := DialAgent(socket)
	fmt.Printf("uid %d: %v\n", os.Getuid(), err)
}

// TestAgentRefusesOtherUsers: a process of another user that reaches the
// socket (its folder and mode opened up on purpose here) is refused by its
// credentials. Changing uid needs root.
func TestAgentRefusesOtherUsers(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the agent needs Linux")
	}
	if os.Geteuid() != 0 {
		t.Skip("skipped: running a client as another user needs root, and this test runs as uid " + fmt.Sprint(os.Geteuid()))
	}
	id, _ := GenerateIdentity(Classic)
	dir, err := os.MkdirTemp("", "va")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	socket, _, _ := startAgent(t, id, AgentOptions{Socket: filepath.Join(dir, "run", "a.sock")})
	// Open everything so that only the credential check stands in the way.
	os.Chmod(filepath.Dir(socket), 0o755)
	os.Chmod(socket, 0o777)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, "vault.test")
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exe, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^TestAgentPeerChild$", "-test.v")
	cmd.Env = []string{agentPeerEnv + "=" + socket}
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "uid 65534: the agent refused this process") {
		t.Fatalf("another user was not refused:\n%s", out)
	}
	// The same client as this user is answered.
	if _, err := DialAgent(socket); err != nil {
		t.Fatal(err)
	}
}

// A client keeps one connection for all its requests; when the agent has
// closed it (idle), the next request goes through on a new one.
func TestAgentKeepsOneConnection(t *testing.T) {
	id, err := GenerateIdentity(Classic)
	if err != nil {
		t.Fatal(err)
	}
	socket, a, _ := startAgent(t, id, AgentOptions{connIdle: 300 * time.Millisecond})
	c, err := DialAgent(socket)
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		sig, err := c.SignOp([]byte("x"))
		if err != nil || !ed25519.Verify(c.SigningKey(), []byte("x"), sig) {
			t.Fatalf("sign: %v", err)
		}
	}
	if n := a.accepted.Load(); n != 1 {
		t.Fatalf("%d connections for 6 requests, want 1", n)
	}
	time.Sleep(600 * time.Millisecond) // the agent closes the idle connection
	if _, err := c.SignOp([]byte("x")); err != nil {
		t.Fatalf("sign after the connection was closed: %v", err)
	}
	if n := a.accepted.Load(); n != 2 {
		t.Fatalf("%d connections, want 2", n)
	}
}
