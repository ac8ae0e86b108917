// Command interleave times two commands run alternately, so that both see
// the same machine load, and reports each one's median wall time, the ratio
// of the medians, and the median of the ratios of each pair of runs (which
// the load of the moment affects least).
//
//	go run ./bench/interleave -n 200 -a 'vault get x' -b 'age -d -i key file'
//
// Commands are split on spaces (no shell, so no shell's start-up is timed);
// their output is discarded, and a command that fails stops the run. In a
// command, {n} stands for the number of the run (0, 1, …; the warm-up runs
// count too), so that each run can use a fresh name.
//
// Without -b, only -a is timed: for targets in absolute time.
//
// Each round is: -before (untimed), -touch (untimed), A, B. -before is a
// shell command (sh -c), with $RUN set to the number of the run: it sets up
// what A must find, e.g. another member's change just before a read, or an
// empty state folder before a first open.
//
// -result FILE appends one line for scripts: the label, then A's and B's
// medians in seconds, the ratio of the medians and the median of the paired
// ratios (B's fields are 0 without -b).
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"
)

func main() {
	n := flag.Int("n", 200, "runs of each command")
	warm := flag.Int("warmup", 10, "untimed runs of each command first")
	a := flag.String("a", "", "first command")
	b := flag.String("b", "", "second command (the baseline); none: time -a alone")
	aEnv := flag.String("aenv", "", "space-separated `K=V` pairs added to the first command's environment")
	bEnv := flag.String("benv", "", "space-separated `K=V` pairs added to the second command's environment")
	bShell := flag.Bool("bsh", false, "run the second command with sh -c (e.g. 'git pull && git push'); the shell's start-up is then timed too")
	stdin := flag.String("stdin", "", "give both commands this `TEXT` on standard input ({n} is replaced); default: none")
	before := flag.String("before", "", "shell `COMMAND` to run, untimed, before each round ($RUN is the run number)")
	touch := flag.String("touch", "", "touch this file before every run (untimed), as if it had just changed")
	result := flag.String("result", "", "append a line of results to this `FILE`")
	label := flag.String("label", "", "label of the -result line")
	flag.Parse()
	if *a == "" || *n < 1 || *warm < 0 {
		fmt.Fprintln(os.Stderr, "interleave: -a is required, -n at least 1")
		os.Exit(2)
	}
	ca := command{argv: strings.Fields(*a), env: strings.Fields(*aEnv), stdin: *stdin}
	var cb *command
	if *b != "" {
		cb = &command{argv: strings.Fields(*b), env: strings.Fields(*bEnv), stdin: *stdin}
		if *bShell {
			cb.argv = []string{"/bin/sh", "-c", *b}
		}
	}
	var ta, tb []time.Duration
	for i := range *warm + *n {
		if *before != "" {
			sh := exec.Command("/bin/sh", "-c", *before)
			sh.Env = append(os.Environ(), "RUN="+strconv.Itoa(i))
			if out, err := sh.CombinedOutput(); err != nil {
				fail("-before "+*before, fmt.Errorf("%v: %s", err, out))
			}
		}
		if *touch != "" {
			now := time.Now()
			if err := os.Chtimes(*touch, now, now); err != nil {
				fail("touch", err)
			}
		}
		da, err := ca.time(i)
		if err != nil {
			fail(*a, err)
		}
		var db time.Duration
		if cb != nil {
			if db, err = cb.time(i); err != nil {
				fail(*b, err)
			}
		}
		if i >= *warm {
			ta, tb = append(ta, da), append(tb, db)
		}
	}
	ma := median(ta)
	fmt.Printf("runs:      %d, interleaved\n", *n)
	fmt.Printf("A median:  %v  (p10 %v, p90 %v, max %v)  %s\n", ma, quantile(ta, 0.1), quantile(ta, 0.9), slices.Max(ta), *a)
	var mb time.Duration
	var ratioMedians, pairedRatio float64
	if cb != nil {
		mb = median(tb)
		ratios := make([]float64, len(ta))
		for i := range ta {
			ratios[i] = float64(ta[i]) / float64(tb[i])
		}
		slices.Sort(ratios)
		ratioMedians, pairedRatio = float64(ma)/float64(mb), ratios[len(ratios)/2]
		fmt.Printf("B median:  %v  (p10 %v, p90 %v, max %v)  %s\n", mb, quantile(tb, 0.1), quantile(tb, 0.9), slices.Max(tb), *b)
		fmt.Printf("ratio A/B: %.2f (of the medians); %.2f (median of the %d paired ratios)\n", ratioMedians, pairedRatio, len(ratios))
	}
	if *result != "" {
		f, err := os.OpenFile(*result, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err == nil {
			_, err = fmt.Fprintf(f, "%s\t%.6f\t%.6f\t%.4f\t%.4f\n", *label, ma.Seconds(), mb.Seconds(), ratioMedians, pairedRatio)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			fail("-result", err)
		}
	}
}

type command struct {
	argv  []string
	env   []string
	stdin string
}

// time runs the command once (run number i) and returns its wall time.
func (c *command) time(i int) (time.Duration, error) {
	n := strconv.Itoa(i)
	argv := make([]string, len(c.argv))
	for j, s := range c.argv {
		argv[j] = strings.ReplaceAll(s, "{n}", n)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	if len(c.env) > 0 {
		cmd.Env = append(os.Environ(), c.env...)
	}
	if c.stdin != "" {
		cmd.Stdin = strings.NewReader(strings.ReplaceAll(c.stdin, "{n}", n))
	}
	var stderr strings.Builder
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 2000 {
			msg = msg[len(msg)-2000:]
		}
		return d, fmt.Errorf("%v: %s", err, msg)
	}
	return d, nil
}

func median(d []time.Duration) time.Duration { return quantile(d, 0.5) }

func quantile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[int(q*float64(len(s)-1)+0.5)]
}

func fail(cmd string, err error) {
	fmt.Fprintf(os.Stderr, "interleave: %s: %v\n", cmd, err)
	os.Exit(1)
}
