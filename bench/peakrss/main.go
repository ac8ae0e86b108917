// Command peakrss runs a command and says how its peak memory splits into
// the program's own memory (anonymous: the Go heap, stacks) and pages of
// files it maps (bbolt maps its files; /usr/bin/time's "Maximum resident set
// size" counts both).
//
//	peakrss COMMAND [ARG...]
//
// It prints one line: the peak resident set size from the kernel (as
// /usr/bin/time reports it), then the highest RssAnon and RssFile seen in
// /proc/PID/status, sampled every millisecond, all in KiB. The command's
// output is discarded; it fails if the command fails.
package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: peakrss COMMAND [ARG...]")
		os.Exit(2)
	}
	cmd := exec.Command(os.Args[1], os.Args[2:]...)
	cmd.Stdin = os.Stdin
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "peakrss:", err)
		os.Exit(1)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	status := fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)
	var anon, file int64
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			if err != nil {
				fmt.Fprintln(os.Stderr, "peakrss:", err)
				os.Exit(1)
			}
			var max int64
			if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
				max = ru.Maxrss
			}
			fmt.Printf("%d\t%d\t%d\n", max, anon, file)
			return
		case <-tick.C:
			a, f := sample(status)
			anon, file = max(anon, a), max(file, f)
		}
	}
}

// sample returns RssAnon and RssFile, in KiB, from a /proc/PID/status file.
func sample(path string) (anon, file int64) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := bytes.Fields(sc.Bytes())
		if len(f) < 2 {
			continue
		}
		n, _ := strconv.ParseInt(string(f[1]), 10, 64)
		switch string(f[0]) {
		case "RssAnon:":
			anon = n
		case "RssFile:":
			file = n
		}
	}
	return anon, file
}
