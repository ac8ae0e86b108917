package vault

import (
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
