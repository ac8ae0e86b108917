// Command interleave times two commands run alternately, so that both see
// the same machine load, and reports each one's median wall time, the ratio
// of the medians, and the median of the ratios of each pair of runs (which
// the load of the moment affects least).
//
//	go run ./bench/interleave -n 200 -a 'vault get x' -b 'age -d -i key file'
//
// Commands are split on spaces (no shell); their output is discarded, and a
// command that fails stops the run.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"
)

func main() {
	n := flag.Int("n", 200, "runs of each command")
	warm := flag.Int("warmup", 10, "untimed runs of each command first")
	a := flag.String("a", "", "first command")
	b := flag.String("b", "", "second command (the baseline)")
	touch := flag.String("touch", "", "touch this file before every run (untimed), as if it had just changed")
	flag.Parse()
	if *a == "" || *b == "" {
		fmt.Fprintln(os.Stderr, "interleave: -a and -b are required")
		os.Exit(2)
	}
	ca, cb := strings.Fields(*a), strings.Fields(*b)
	var ta, tb []time.Duration
	for i := range *warm + *n {
		if *touch != "" {
			now := time.Now()
			if err := os.Chtimes(*touch, now, now); err != nil {
				fail("touch", err)
			}
		}
		da, err := timeOnce(ca)
		if err != nil {
			fail(*a, err)
		}
		db, err := timeOnce(cb)
		if err != nil {
			fail(*b, err)
		}
		if i >= *warm {
			ta, tb = append(ta, da), append(tb, db)
		}
	}
	ma, mb := median(ta), median(tb)
	ratios := make([]float64, len(ta))
	for i := range ta {
		ratios[i] = float64(ta[i]) / float64(tb[i])
	}
	slices.Sort(ratios)
	fmt.Printf("runs:      %d each, interleaved\n", *n)
	fmt.Printf("A median:  %v  (%s)\n", ma, *a)
	fmt.Printf("B median:  %v  (%s)\n", mb, *b)
	fmt.Printf("ratio A/B: %.2f (of the medians); %.2f (median of the %d paired ratios)\n", float64(ma)/float64(mb), ratios[len(ratios)/2], len(ratios))
}

func timeOnce(argv []string) (time.Duration, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	start := time.Now()
	err := cmd.Run()
	return time.Since(start), err
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func fail(cmd string, err error) {
	fmt.Fprintf(os.Stderr, "interleave: %s: %v\n", cmd, err)
	os.Exit(1)
}
