package vault

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// TestReleaseLetsOthersWrite: a command that has the vault open holds a
// lock on this machine's copy, so another command that writes waits for
// it (and gives up as busy). A command about to wait on a person lets go
// (Release): the other writes at once, and the first, when it goes on,
// works on the vault as it is then.
func TestReleaseLetsOthersWrite(t *testing.T) {
	g := newGroup(t, Classic, "alice")
	g.do("alice", func(v *Vault) {
		if _, err := v.Add(NewSecret{Name: "a"}, NewValue([]byte("one"))); err != nil {
			t.Fatal(err)
		}
	})
	opts := g.opts("alice")
	opts.LockTimeout = 200 * time.Millisecond
	waiting, err := Open(g.path, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer waiting.Close()
	if _, err := waiting.Reminders(); err != nil {
		t.Fatal(err)
	}
	other := func(name string) error {
		v, err := Open(g.path, opts)
		if err != nil {
			return err
		}
		defer v.Close()
		_, err = v.Add(NewSecret{Name: name}, NewValue([]byte("two")))
		return err
	}
	// Without letting go, the other command is blocked.
	mustIs(t, other("blocked"), ErrBusy)
	waiting.Release()
	start := time.Now()
	if err := other("b"); err != nil {
		t.Fatalf("another command could not write while this one waited: %v", err)
	}
	if d := time.Since(start); d > opts.LockTimeout {
		t.Fatalf("another command waited %v", d)
	}
	// The waiting command goes on, with what happened meanwhile.
	if _, err := waiting.Set("a", NewValue([]byte("three"))); err != nil {
		t.Fatal(err)
	}
	if got := reveal(t, waiting, "b"); got != "two" {
		t.Fatalf("b = %q", got)
	}
	if got := reveal(t, waiting, "a"); got != "three" {
		t.Fatalf("a = %q", got)
	}
	waiting.Release()
	waiting.Release()
	if err := waiting.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := waiting.Reminders(); err == nil {
		t.Fatal("a closed vault was opened again")
	}
}

// TestWaitForWriter: a command that writes this machine's copy leaves a
// note of who it is and touches it while it works; another command waits
// for it (told after a second who it waits for) and goes on when it is
// done; a writer whose note goes untouched (a process stopped with
// ctrl-Z) is not waited for.
func TestWaitForWriter(t *testing.T) {
	g := newGroup(t, Classic, "alice")
	holder := g.as("alice")
	if _, err := holder.Add(NewSecret{Name: "a"}, NewValue([]byte("one"))); err != nil {
		t.Fatal(err)
	}
	var told []string
	opts := g.opts("alice")
	opts.LockTimeout = 20 * time.Second
	opts.OnWait = func(msg string) { told = append(told, msg) }
	go func() {
		time.Sleep(1500 * time.Millisecond)
		holder.Close()
	}()
	start := time.Now()
	v, err := Open(g.path, opts)
	if err != nil {
		t.Fatal(err)
	}
	v.Close()
	if d := time.Since(start); d < time.Second {
		t.Fatalf("did not wait for the writer (%v)", d)
	}
	if len(told) != 1 || !strings.Contains(told[0], fmt.Sprintf("(process %d)", os.Getpid())) {
		t.Fatalf("told %q", told)
	}

	// A writer that stopped: its note is old.
	holder = g.as("alice")
	if _, err := holder.Add(NewSecret{Name: "b"}, NewValue([]byte("two"))); err != nil {
		t.Fatal(err)
	}
	holder.stopWriting() // as if stopped: the lock stays, the note...
	note := holder.writerPath()
	if err := os.WriteFile(note, []byte("1 active vault member\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Minute)
	if err := os.Chtimes(note, old, old); err != nil { // ...untouched
		t.Fatal(err)
	}
	start = time.Now()
	_, err = Open(g.path, opts)
	mustIs(t, err, ErrBusy)
	if !strings.Contains(err.Error(), "vault member (process 1) holds") || !strings.Contains(err.Error(), "made no progress") {
		t.Fatalf("error: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("waited %v for a stopped writer", d)
	}
}
