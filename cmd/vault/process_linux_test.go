package main

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestHardenProcess: hardenProcess leaves the process not dumpable (no
// core dump; no ptrace or /proc/PID/mem for other processes of the user)
// with a zero core limit. It runs in a child process, as it changes the
// process for good.
func TestHardenProcess(t *testing.T) {
	if os.Getenv("VAULTTEST_HARDEN_CHILD") == "1" {
		hardenProcess()
		dumpable, err := unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		var lim unix.Rlimit
		if err := unix.Getrlimit(unix.RLIMIT_CORE, &lim); err != nil {
			t.Fatal(err)
		}
		fmt.Printf("dumpable=%d core=%d\n", dumpable, lim.Cur)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHardenProcess$", "-test.v")
	cmd.Env = append(os.Environ(), "VAULTTEST_HARDEN_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(string(out), "dumpable=0 core=0\n") {
		t.Fatalf("after hardenProcess:\n%s", out)
	}
}

// TestNoCoreDumps: the program, waiting for a value on stdin (the moment a
// core dump of a waiting command once held the passphrase and the secret
// key), has a core limit of zero, and is not dumpable: the kernel then
// gives its /proc files to root, which another user sees. (Issue 10.)
func TestNoCoreDumps(t *testing.T) {
	c := newCLI(t)
	c.must("", "keygen", "--no-passphrase")
	c.must("", "init", "--me", "alice")
	// Start it allowed to dump core, which it must undo.
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_CORE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Max == 0 {
		t.Skip("core dumps are off for this test already (hard limit 0)")
	}
	raised := lim
	raised.Cur = min(lim.Max, 1<<30)
	if err := unix.Setrlimit(unix.RLIMIT_CORE, &raised); err != nil {
		t.Fatal(err)
	}
	defer unix.Setrlimit(unix.RLIMIT_CORE, &lim)
	cmd := vaultProcess(t, c, "add", "waiting")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		_ = cmd.Wait()
	}()
	pid := cmd.Process.Pid
	// The program hardens itself first thing; wait for that, however slow
	// the machine, then check the rest while it waits on stdin.
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(string(readProc(t, pid, "limits")), "Max core file size        0 ") {
		if time.Now().After(deadline) {
			t.Fatalf("the core limit is not zero:\n%s", readProc(t, pid, "limits"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if os.Getuid() == 0 {
		t.Log("running as root, which owns every /proc file: dumpable is checked by TestHardenProcess only")
		return
	}
	fi, err := os.Stat(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	if uid := fi.Sys().(*syscall.Stat_t).Uid; uid != 0 {
		t.Fatalf("/proc/%d/status belongs to uid %d, not root: the process is dumpable", pid, uid)
	}
}

func readProc(t *testing.T, pid int, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
