package tui

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/mutual-aid-vault/vault/vault"
)

// TestAgentSkipsUnlock: with an agent holding the identity, the UI opens
// without the unlock screen and works through it; without one, a
// passphrase typed here is handed on (to start one).
func TestAgentSkipsUnlock(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the agent needs Linux")
	}
	opts := passphraseVault(t)
	id, err := vault.ReadIdentity(opts.IdentityPath, func() (vault.Value, error) { return vault.NewValue([]byte("correct horse battery")), nil })
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "vt")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	socket := filepath.Join(dir, "a.sock")

	t.Run("no agent: asks, and hands the identity on", func(t *testing.T) {
		var handed *vault.Identity
		o := opts
		o.FromAgent = func() *vault.Identity { return nil }
		o.Unlocked = func(id *vault.Identity) { handed = id }
		h := newHarness(t, o)
		h.mustSee("Passphrase: (typing is hidden)")
		h.typeText("correct horse battery")
		h.key("enter")
		h.mustSee("airtable")
		if handed == nil || handed.PublicKey() != id.PublicKey() {
			t.Fatal("the unlocked identity was not handed on")
		}
	})

	t.Run("agent: no unlock screen", func(t *testing.T) {
		ag, err := vault.ListenAgent(id, vault.AgentOptions{Socket: socket})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan string)
		go func() { done <- ag.Serve() }()
		t.Cleanup(func() { ag.Lock("test over"); <-done })
		o := opts
		o.FromAgent = func() *vault.Identity {
			c, err := vault.DialAgent(socket)
			if err != nil {
				return nil
			}
			return c
		}
		o.Unlocked = func(*vault.Identity) { t.Error("unlocked with a passphrase while an agent runs") }
		h := newHarness(t, o)
		h.mustSee("airtable")
		h.mustNotSee("Passphrase:")
		if h.m.state != stateReady || !h.m.sh.id.FromAgent() {
			t.Fatalf("not opened through the agent:\n%s", h.view())
		}
	})

	t.Run("the agent locks mid-session: back to the unlock screen", func(t *testing.T) {
		ag, err := vault.ListenAgent(id, vault.AgentOptions{Socket: socket})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan string)
		go func() { done <- ag.Serve() }()
		locked := false
		t.Cleanup(func() {
			if !locked {
				ag.Lock("test over")
				<-done
			}
		})
		var handed *vault.Identity
		o := opts
		o.FromAgent = func() *vault.Identity {
			c, err := vault.DialAgent(socket)
			if err != nil {
				return nil
			}
			return c
		}
		o.Unlocked = func(id *vault.Identity) { handed = id }
		h := newHarness(t, o)
		h.mustSee("airtable")
		ag.Lock("vault lock")
		<-done
		locked = true
		h.key("enter") // show the selected value: an action that needs the key
		h.mustSee("The agent locked")
		h.mustSee("Passphrase: (typing is hidden)")
		h.typeText("correct horse battery")
		h.key("enter")
		h.mustSee("airtable")
		if handed == nil || h.m.state != stateReady {
			t.Fatalf("not unlocked again:\n%s", h.view())
		}
	})
}
