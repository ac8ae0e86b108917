package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// clearHelpers returns the pids of the running clipboard-clear helpers
// that a script started: those whose environment has the script's WORK.
func clearHelpers(work string) []int {
	var pids []int
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		cmdline, err := os.ReadFile(filepath.Join(d, "cmdline"))
		if err != nil || !bytes.Equal(cmdline, []byte("vault\x00clipboard-clear\x00")) {
			continue
		}
		env, err := os.ReadFile(filepath.Join(d, "environ"))
		if err != nil || !bytes.Contains(append([]byte{0}, env...), []byte("\x00WORK="+work+"\x00")) {
			continue
		}
		if stat, err := os.ReadFile(filepath.Join(d, "stat")); err == nil {
			if i := bytes.LastIndexByte(stat, ')'); i >= 0 && len(stat) > i+2 && stat[i+2] == 'Z' {
				continue // ended; its parent has not reaped it yet
			}
		}
		var pid int
		fmt.Sscanf(filepath.Base(d), "%d", &pid)
		pids = append(pids, pid)
	}
	return pids
}

// clearhelper check FILE checks that a clipboard-clear helper of this
// script runs, and that neither its arguments nor its environment hold
// the value in FILE. clearhelper wait waits until none runs any more.
func cmdClearHelper(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 {
		ts.Fatalf("usage: clearhelper check FILE | clearhelper wait")
	}
	if _, err := os.Stat("/proc/self/cmdline"); err != nil {
		ts.Fatalf("clearhelper needs /proc")
	}
	work := ts.Getenv("WORK")
	switch {
	case args[0] == "check" && len(args) == 2:
		value := strings.TrimSpace(ts.ReadFile(args[1]))
		pids := clearHelpers(work)
		if len(pids) == 0 {
			ts.Fatalf("no clipboard-clear helper runs")
		}
		for _, pid := range pids {
			for _, f := range []string{"cmdline", "environ"} {
				b, err := os.ReadFile(fmt.Sprintf("/proc/%d/%s", pid, f))
				ts.Check(err)
				if bytes.Contains(b, []byte(value)) {
					ts.Fatalf("the helper's %s holds the value", f)
				}
			}
		}
	case args[0] == "wait" && len(args) == 1:
		for deadline := time.Now().Add(30 * time.Second); len(clearHelpers(work)) > 0; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				ts.Fatalf("the clipboard-clear helper still runs")
			}
		}
	default:
		ts.Fatalf("usage: clearhelper check FILE | clearhelper wait")
	}
}

// tmuxserver starts a tmux server for the script, on a socket in WORK,
// and sets TMUX and TMUX_SOCKET as a program inside it would see them;
// the server is stopped when the script ends.
func cmdTmuxServer(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: tmuxserver")
	}
	socket := filepath.Join(ts.Getenv("WORK"), "tmux.sock")
	out, err := exec.Command("tmux", "-S", socket, "new-session", "-d", "-x", "80", "-y", "24", "sleep 600").CombinedOutput()
	if err != nil {
		ts.Fatalf("starting tmux: %v\n%s", err, out)
	}
	ts.Defer(func() { _ = exec.Command("tmux", "-S", socket, "kill-server").Run() })
	ts.Setenv("TMUX", socket+",1,0")
	ts.Setenv("TMUX_SOCKET", socket)
}
