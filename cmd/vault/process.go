package main

import (
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// quitCatcher turns SIGQUIT (Ctrl-\) into a quiet way out with the status
// a shell reports for it (131). Go answers SIGQUIT by printing the stack
// of every goroutine, and the kernel by dumping core: neither is for a
// volunteer's screen, and a core holds the passphrase and the secret key.
// Code that must put the terminal back first (a prompt with echo off, the
// terminal UI in raw mode) catches SIGQUIT itself, and says so with
// handledElsewhere while it does. A process has one, made by run.
type quitCatcher struct {
	mu        sync.Mutex
	elsewhere int
}

// catchQuit starts catching SIGQUIT for the rest of the process.
func catchQuit() *quitCatcher {
	q := &quitCatcher{}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGQUIT)
	go func() {
		for range sigs {
			q.mu.Lock()
			if q.elsewhere == 0 {
				os.Exit(signalExit(syscall.SIGQUIT))
			}
			q.mu.Unlock()
		}
	}()
	return q
}

// handledElsewhere says that the caller catches SIGQUIT itself until it
// calls done. On a nil catcher (runs under test) it does nothing.
func (q *quitCatcher) handledElsewhere() (done func()) {
	if q == nil {
		return func() {}
	}
	q.mu.Lock()
	q.elsewhere++
	q.mu.Unlock()
	return func() {
		q.mu.Lock()
		q.elsewhere--
		q.mu.Unlock()
	}
}

// quitHandledElsewhere tells the process's SIGQUIT catcher, if it has
// one, that the caller catches SIGQUIT itself until it calls done.
func (a *app) quitHandledElsewhere() (done func()) {
	if t, ok := a.tty.(*devTTY); ok {
		return t.quit.handledElsewhere()
	}
	return func() {}
}

// exitOnSignal ends the process as sig asks, once the terminal has been
// put back. SIGINT, SIGTERM and SIGHUP end it by the signal itself, so
// that the shell or script that started vault knows (a shell stops a loop
// on Ctrl-C). SIGQUIT, whose default is a goroutine dump and a core dump,
// ends it with the status a shell reports for it instead.
func exitOnSignal(sig os.Signal) {
	s, ok := sig.(syscall.Signal)
	if !ok {
		os.Exit(exitFailure)
	}
	if s == syscall.SIGQUIT {
		os.Exit(signalExit(s))
	}
	signal.Reset(s)
	_ = syscall.Kill(os.Getpid(), s)
}
