package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/mutual-aid-vault/vault/vault"
)

// The agent holds the unlocked identity in a process of its own, so that a
// member types the passphrase once per session (vault/agent.go is the
// protocol). How it starts:
//
//   - On demand: a command that had to ask for the passphrase on the
//     terminal starts 'vault agent --handoff' detached (its own session,
//     stdio on /dev/null) and hands it the secret key over a socket pair
//     on fd 3: never through argv, the environment or a file. The child
//     answers "ok" once it listens, and the command goes on with its own
//     copy of the key. Scripts (VAULT_PASSPHRASE_FILE) use a running agent
//     but never start one: a cron job must not leave a process behind.
//   - Explicitly: 'vault agent' unlocks (prompt or passphrase file), then
//     starts the same detached child, or with --foreground serves itself.
//
// VAULT_NO_AGENT=1 keeps a command off the agent altogether.

// agentDir is where agent sockets live: $XDG_RUNTIME_DIR/vault, else a
// private folder in the state folder.
func (a *app) agentDir() (string, error) {
	if d := a.getenv("XDG_RUNTIME_DIR"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "vault"), nil
	}
	p, err := a.xdg("XDG_STATE_HOME", filepath.Join(".local", "state"), "agent")
	if err != nil {
		return "", err
	}
	return p, nil
}

// agentSocket is the socket of the agent for the identity file at path.
func (a *app) agentSocket(path string) (string, error) {
	dir, err := a.agentDir()
	if err != nil {
		return "", err
	}
	return vault.AgentSocket(path, dir)
}

// agentEnabled is false with VAULT_NO_AGENT=1.
func (a *app) agentEnabled() bool {
	v := a.getenv("VAULT_NO_AGENT")
	return v == "" || v == "0" || v == "false"
}

// fromAgent returns the identity held by a running agent for path, or nil.
func (a *app) fromAgent(path string) *vault.Identity {
	if !a.agentEnabled() {
		return nil
	}
	socket, err := a.agentSocket(path)
	if err != nil {
		return nil
	}
	id, err := vault.DialAgent(socket)
	if err != nil {
		if !errors.Is(err, vault.ErrNoAgent) && !errors.Is(err, vault.ErrAgentLocked) {
			a.say("warning: the agent did not answer (%v); asking instead", err)
		}
		return nil
	}
	return id
}

// fromAgentQuiet is fromAgent without a message: for the terminal UI,
// whose screen owns the terminal.
func (a *app) fromAgentQuiet(path string) *vault.Identity {
	socket, err := a.agentSocket(path)
	if err != nil {
		return nil
	}
	id, err := vault.DialAgent(socket)
	if err != nil {
		return nil
	}
	return id
}

// agentReadyTimeout bounds the wait for a starting agent to listen.
const agentReadyTimeout = 5 * time.Second

// startAgent starts a detached agent holding id (read from the identity
// file at path) and waits until it listens. It returns the agent's pid.
func (a *app) startAgent(path string, id *vault.Identity, idle time.Duration) (int, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return 0, err
	}
	socket, err := a.agentSocket(abs)
	if err != nil {
		return 0, err
	}
	exe := a.opts.exe
	if exe == "" {
		if exe, err = os.Executable(); err != nil {
			return 0, err
		}
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		return 0, err
	}
	unix.CloseOnExec(fds[0])
	unix.CloseOnExec(fds[1])
	mine, theirs := os.NewFile(uintptr(fds[0]), "agent hand-off"), os.NewFile(uintptr(fds[1]), "agent hand-off")
	defer mine.Close()
	cmd := exec.Command(exe, "agent", "--handoff", "--identity", abs, "--socket", socket, "--idle", idle.String())
	cmd.Args[0] = "vault"
	cmd.ExtraFiles = []*os.File{theirs}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	theirs.Close()
	if err != nil {
		return 0, fmt.Errorf("cannot start the agent: %w", err)
	}
	go cmd.Wait() // reaps it if it locks while this process still runs
	mine.SetDeadline(time.Now().Add(agentReadyTimeout))
	if err := vault.HandOff(mine, id); err != nil {
		cmd.Process.Kill()
		return 0, fmt.Errorf("cannot hand the identity to the agent: %w", err)
	}
	line, err := bufio.NewReader(mine).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		return 0, errors.New("the agent did not start")
	}
	line = strings.TrimSpace(line)
	if line != "ok" {
		return 0, errors.New(strings.TrimPrefix(line, "error: "))
	}
	return cmd.Process.Pid, nil
}

// serveHandOff is 'vault agent --handoff': take the identity from fd 3,
// listen, say "ok" on fd 3, and serve until locked.
func (a *app) serveHandOff(path, socket string, idle time.Duration) error {
	noDump()
	f := os.NewFile(3, "agent hand-off")
	if f == nil {
		return errors.New("--handoff is for the agent that a vault command starts")
	}
	defer f.Close()
	f.SetDeadline(time.Now().Add(agentReadyTimeout))
	id, err := vault.TakeHandOff(f)
	if err != nil {
		fmt.Fprintf(f, "error: %v\n", err)
		return err
	}
	ag, err := vault.ListenAgent(id, vault.AgentOptions{Socket: socket, IdentityPath: path, Idle: idle})
	if err != nil {
		fmt.Fprintf(f, "error: %v\n", err)
		return err
	}
	fmt.Fprintln(f, "ok")
	f.Close()
	a.serveAgent(ag)
	return nil
}

// serveAgent serves until the agent locks: when idle, asked, or on
// SIGTERM, SIGHUP, SIGINT or SIGQUIT. It returns why it locked.
func (a *app) serveAgent(ag *vault.Agent) string {
	defer a.quitHandledElsewhere()()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT)
	defer signal.Stop(sigs)
	go func() {
		select {
		case s := <-sigs:
			ag.Lock("locked on " + unix.SignalName(s.(syscall.Signal)))
		case <-ag.Done():
		}
	}()
	return ag.Serve()
}

// agentStatusJSON is 'vault agent --status --json' and 'vault lock --json'.
type agentStatusJSON struct {
	Running     bool   `json:"running"`
	Locked      bool   `json:"locked,omitempty"`
	Identity    string `json:"identity"`
	Socket      string `json:"socket"`
	PublicKey   string `json:"public_key,omitempty"`
	PID         int    `json:"pid,omitempty"`
	IdleSeconds int64  `json:"idle_seconds,omitempty"`
	LeftSeconds int64  `json:"left_seconds,omitempty"`
	Started     string `json:"started,omitempty"`
}

func (a *app) agentCommand() *cobra.Command {
	var idle time.Duration
	var foreground, status, asJSON, handoff bool
	var socketFlag string
	c := &cobra.Command{
		Use:   "agent",
		Short: "Unlock once: keep your identity unlocked in the background for a while",
		Long: `Unlock your identity once and keep it in a background process, the agent, so
that the next commands and the terminal UI do not ask for the passphrase. The
agent answers only processes of your own user, over a socket in
$XDG_RUNTIME_DIR/vault (else a private folder in $XDG_STATE_HOME/vault); your
secret key never leaves it. One agent runs per identity file.

The first command that asks for your passphrase on a terminal starts the agent
by itself; 'vault agent' starts it explicitly (e.g. from a login script), and
--foreground keeps it in the terminal instead. Scripts using
VAULT_PASSPHRASE_FILE use a running agent but never start one.
VAULT_NO_AGENT=1 keeps a command off the agent.

The agent locks (forgets the key and exits) after --idle without use (15
minutes by default), on 'vault lock', on SIGTERM or SIGHUP, and when the
identity file is replaced.

--status says whether an agent runs for your identity, and when it locks; it
exits 1 when none runs.`,
		Args: args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			path, err := a.identityPath()
			if err != nil {
				return err
			}
			if handoff {
				return a.serveHandOff(path, socketFlag, idle)
			}
			socket, err := a.agentSocket(path)
			if err != nil {
				return err
			}
			if status {
				return a.agentStatus(path, socket, asJSON)
			}
			if info, err := vault.AgentStatus(socket); err == nil {
				a.note("an agent already runs for %s (pid %d); it locks after %s unused, or on 'vault lock'", path, info.PID, info.Left.Round(time.Second))
				return nil
			}
			id, err := a.unlockIdentity(path, false)
			if err != nil {
				return err
			}
			if foreground {
				noDump()
				ag, err := vault.ListenAgent(id, vault.AgentOptions{Socket: socket, IdentityPath: path, Idle: idle})
				if err != nil {
					return err
				}
				a.note("agent for %s listening at %s; it locks after %s unused, on 'vault lock' or Ctrl-C", path, socket, idle)
				a.note("agent %s", a.serveAgent(ag))
				return nil
			}
			pid, err := a.startAgent(path, id, idle)
			if err != nil {
				return err
			}
			a.note("agent started for %s (pid %d); it locks after %s unused, or on 'vault lock'", path, pid, idle)
			return nil
		},
	}
	f := c.Flags()
	f.DurationVar(&idle, "idle", vault.DefaultAgentIdle, "lock after this long without use (`DURATION`, e.g. 1h)")
	f.BoolVar(&foreground, "foreground", false, "serve in this process instead of the background")
	f.BoolVar(&status, "status", false, "say whether an agent runs for your identity (exit 1 when none)")
	f.BoolVar(&asJSON, "json", false, "with --status: print JSON on stdout")
	f.BoolVar(&handoff, "handoff", false, "")
	f.StringVar(&socketFlag, "socket", "", "")
	f.MarkHidden("handoff")
	f.MarkHidden("socket")
	return c
}

// errNoAgentRunning makes --status exit 1 without a message of its own.
var errNoAgentRunning = exitStatus{code: exitFailure}

func (a *app) agentStatus(path, socket string, asJSON bool) error {
	info, err := vault.AgentStatus(socket)
	if err != nil && !errors.Is(err, vault.ErrNoAgent) && !errors.Is(err, vault.ErrAgentLocked) {
		return err
	}
	running := err == nil
	if asJSON {
		out := agentStatusJSON{Running: running, Identity: path, Socket: socket}
		if running {
			out.PublicKey, out.PID = info.PublicKey, info.PID
			out.IdleSeconds, out.LeftSeconds = int64(info.Idle.Seconds()), int64(info.Left.Seconds())
			out.Started = info.Started.Format(time.RFC3339)
		}
		if err := a.printJSON(out); err != nil {
			return err
		}
	} else if running {
		a.say("an agent runs for %s (pid %d, since %s); it locks in %s unless used (idle time %s)",
			path, info.PID, info.Started.Local().Format("15:04"), info.Left.Round(time.Second), info.Idle)
	} else {
		a.say("no agent runs for %s", path)
	}
	if !running {
		return errNoAgentRunning
	}
	return nil
}

func (a *app) lockCommand() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "lock",
		Short: "Lock the agent now: the next command asks for the passphrase again",
		Long: `Lock the agent that holds your identity (see 'vault agent'): it forgets the
key and exits. Says whether one was running; exits 0 either way.`,
		Args: args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			path, err := a.identityPath()
			if err != nil {
				return err
			}
			socket, err := a.agentSocket(path)
			if err != nil {
				return err
			}
			info, err := vault.LockAgent(socket)
			if err != nil && !errors.Is(err, vault.ErrNoAgent) && !errors.Is(err, vault.ErrAgentLocked) {
				return err
			}
			locked := err == nil
			if locked {
				waitGone(info.PID, 2*time.Second)
			}
			if asJSON {
				return a.printJSON(agentStatusJSON{Locked: locked, Identity: path, Socket: socket, PID: info.PID, PublicKey: info.PublicKey})
			}
			if locked {
				a.say("locked the agent for %s (pid %d)", path, info.PID)
			} else {
				a.say("no agent was running for %s", path)
			}
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON on stdout")
	return c
}

// waitGone waits a little for process pid to exit.
func waitGone(pid int, limit time.Duration) {
	if pid <= 0 || pid == os.Getpid() {
		return
	}
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if err := unix.Kill(pid, 0); errors.Is(err, unix.ESRCH) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}
