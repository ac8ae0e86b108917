package clipboard

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"
)

// DefaultAfter is how long a copy stays on the clipboard.
const DefaultAfter = 45 * time.Second

// ErrNotCopied is returned by Copier.Copy when no clipboard took the
// value. Its message says why and what to install.
var ErrNotCopied = errors.New("could not copy")

// Copier puts values on the clipboard and has them cleared later by a
// helper process of their own, which outlives the program: quitting
// right after a copy does not leave the value on the clipboard.
type Copier struct {
	// Getenv reads the environment, to choose a tool; nil means os.Getenv.
	Getenv func(string) string
	// LookPath finds commands; nil means exec.LookPath.
	LookPath func(string) (string, error)
	// Clearer returns the command that runs the clearing helper: this
	// program, in the hidden mode that calls Serve. Nil, or a nil
	// command, means copies are not cleared, which Copied says.
	Clearer func() *exec.Cmd
	// After is how long a copy stays on the clipboard; zero means
	// DefaultAfter.
	After time.Duration
}

// Copied says where a copy went and whether it will be cleared.
type Copied struct {
	// Tool is the tool that took the copy ("xclip", "tmux", …).
	Tool string
	// ClearIn is how long until the helper clears the copy, if the
	// clipboard still holds it then; zero when it will not: see ClearErr.
	ClearIn time.Duration
	// ClearErr says why the copy will not be cleared.
	ClearErr error
}

// Where names where the copy went, for messages: "the clipboard", or
// tmux's paste buffer with how to paste it.
func (c Copied) Where() string {
	if c.Tool == "tmux" {
		return fmt.Sprintf("tmux's paste buffer %q (your tmux prefix key, then ], pastes it)", TmuxBuffer)
	}
	return "the clipboard"
}

func (c Copier) getenv(k string) string {
	if c.Getenv != nil {
		return c.Getenv(k)
	}
	return os.Getenv(k)
}

func (c Copier) after() time.Duration {
	if c.After > 0 {
		return c.After
	}
	return DefaultAfter
}

// TerminalAllowed reports whether the caller may fall back to the
// terminal's own clipboard (OSC 52) when Copy finds no tool. Not inside
// tmux: there the sequence either goes nowhere (tmux's defaults,
// allow-passthrough off and set-clipboard external) or lands in a tmux
// buffer nobody clears, and in neither case can vault tell which.
func (c Copier) TerminalAllowed() bool { return c.getenv("TMUX") == "" }

// Copy puts b on the first clipboard that takes it (see Find for the
// order) and starts the helper that clears it after c.After if it still
// holds b. The helper gets only b's hash, through a pipe. When no tool
// takes b, the error matches ErrNotCopied and says why.
func (c Copier) Copy(b []byte) (Copied, error) {
	lookPath := c.LookPath
	if lookPath == nil {
		lookPath = exec.LookPath
	}
	tools := available(c.getenv, lookPath)
	var failed []string
	for _, t := range tools {
		if err := t.Copy(b); err != nil {
			failed = append(failed, err.Error())
			continue
		}
		out := Copied{Tool: t.Name}
		if err := c.clearLater(t, sha256.Sum256(b)); err != nil {
			out.ClearErr = err
		} else {
			out.ClearIn = c.after()
		}
		return out, nil
	}
	why := "no clipboard tool found (install wl-clipboard or xclip)"
	if c.getenv("TMUX") != "" && !slicesContain(tools, "tmux") {
		why += ", and no tmux command to reach the tmux this runs in"
	}
	if len(failed) > 0 {
		why = strings.Join(failed, "; ")
	}
	return Copied{}, fmt.Errorf("%w: %s", ErrNotCopied, why)
}

func slicesContain(tools []Tool, name string) bool {
	for _, t := range tools {
		if t.Name == name {
			return true
		}
	}
	return false
}

// readyTimeout bounds the wait for the helper to say it has its orders.
const readyTimeout = 10 * time.Second

// clearLater starts the clearing helper, detached (its own session, no
// terminal, stdin and stdout pipes closed once it has its orders, stderr
// discarded), and hands it the tool's name, the delay and sum over stdin.
// It returns once the helper has said it is ready, so a copy is never
// said to be cleared by a helper that did not start.
func (c Copier) clearLater(t Tool, sum [32]byte) error {
	var cmd *exec.Cmd
	if c.Clearer != nil {
		cmd = c.Clearer()
	}
	if cmd == nil {
		return errors.New("no program to clear it later")
	}
	in, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = nil
	cmd.Dir = "/" // keeps no folder busy
	detach(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("cannot start the program that clears it: %w", err)
	}
	_, werr := fmt.Fprintf(in, "%s %s %s\n", t.Name, c.after(), hex.EncodeToString(sum[:]))
	in.Close()
	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(io.LimitReader(out, 64)).ReadString('\n')
		ready <- line
	}()
	var line string
	select {
	case line = <-ready:
	case <-time.After(readyTimeout):
	}
	if werr != nil || line != "ready\n" {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return errors.New("the program that clears it did not start")
	}
	// Reaps it, should it finish while this program still runs (the UI).
	go func() { _ = cmd.Wait() }()
	return nil
}

// GateEnv names a file that, for tests only, lets the clearing helper go
// ahead as soon as it exists instead of waiting out its delay. It can
// only make a copy go sooner, never keep it longer.
const GateEnv = "VAULTTEST_CLIPBOARD_GATE"

// maxAfter bounds the delay a helper accepts.
const maxAfter = time.Hour

// Serve is the clearing helper: the hidden mode of the program that a
// Copier's Clearer runs. It reads its orders from in (which tool, how
// long, and the copied value's SHA-256: never the value), says "ready" on
// ready and closes it, waits, and then clears the clipboard if it still
// holds the value. Errors after "ready" have no one to go to: they are
// returned for the record, and the caller exits.
func Serve(in io.Reader, ready io.WriteCloser, getenv func(string) string) error {
	b, err := io.ReadAll(io.LimitReader(in, 256))
	if err != nil {
		return err
	}
	o, err := parseOrders(b)
	if err != nil {
		return err
	}
	if _, err := io.WriteString(ready, "ready\n"); err != nil {
		return err
	}
	ready.Close()
	wait(o.after, getenv(GateEnv))
	_, err = o.tool.ClearIfSum(o.sum)
	return err
}

// orders are what a clearing helper is told: which tool the copy went
// through, how long to wait, and the copied value's SHA-256.
type orders struct {
	tool  Tool
	after time.Duration
	sum   [32]byte
}

// errNotOurs is what the clearing helper says to anything but a Copier.
var errNotOurs = errors.New("this command is for vault's own use")

// parseOrders reads "TOOL DELAY HEXSUM", as clearLater writes them. The
// tool is one of the known ones, run with its own fixed arguments: the
// orders cannot name a program to run.
func parseOrders(b []byte) (orders, error) {
	f := strings.Fields(string(b))
	if len(f) != 3 {
		return orders{}, errNotOurs
	}
	tool, ok := byName(f[0])
	after, err := time.ParseDuration(f[1])
	raw, herr := hex.DecodeString(f[2])
	if !ok || err != nil || after <= 0 || after > maxAfter || herr != nil || len(raw) != sha256.Size {
		return orders{}, errNotOurs
	}
	return orders{tool, after, [32]byte(raw)}, nil
}

// wait sleeps for d, or until the file gate (tests only) exists. It
// wakes each second to look at the wall clock too: the monotonic clock
// that sleeps go by stops while the machine is suspended, and a copy
// must not outlast its time by the length of a suspend.
func wait(d time.Duration, gate string) {
	start := time.Now()
	wallEnd := start.Round(0).Add(d) // Round(0): compared by the wall clock
	step := time.Second
	if gate != "" {
		step = 20 * time.Millisecond
	}
	for {
		left := min(d-time.Since(start), time.Until(wallEnd))
		if left <= 0 {
			return
		}
		if gate != "" {
			if _, err := os.Stat(gate); err == nil {
				return
			}
		}
		time.Sleep(min(step, left))
	}
}
