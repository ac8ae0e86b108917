package tui

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/mutual-aid-vault/vault/vault"
)

// TestTwoFactorCode: a secret with a seed shows its code and countdown
// with the value (never before), and o copies the code through the
// clipboard path c uses, with its timer.
func TestTwoFactorCode(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "clip")
	script := "#!/bin/sh\nfor a; do case \"$a\" in -in) cat > " + store + "; exit 0;; -out) cat " + store + " 2>/dev/null; exit 0;; esac; done; exit 1\n"
	if err := os.WriteFile(filepath.Join(dir, "xclip"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	opts, err := BuildDemo(t.TempDir(), demoNow)
	if err != nil {
		t.Fatal(err)
	}
	opts.Getenv = func(k string) string {
		if k == "DISPLAY" {
			return ":99"
		}
		return ""
	}
	h := newHarness(t, opts)
	const seed = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
	h.v().do(func(v *vault.Vault) error {
		_, err := v.SetTOTP("airtable", vault.NewValue([]byte(seed)))
		return err
	})
	totp, err := vault.ParseTOTP(vault.NewValue([]byte(seed)))
	if err != nil {
		t.Fatal(err)
	}
	code, left := totp.Code(demoNow)
	h.secrets().detailFor = "" // reload the details, which now say it has a seed
	h.run(h.secrets().moved())
	h.key("down", "up")
	h.selectSecret("airtable")
	h.mustSee("2FA code", "o copies it")
	h.mustNotSee(code)

	h.key("enter")
	h.mustSee("correct-Horse-42-battery", code, "next in "+seconds(left))
	h.send(hideMsg{gen: h.secrets().revealGen})
	h.mustNotSee(code)
	if !h.secrets().totp.IsZero() {
		t.Fatal("the seed is still held after hiding")
	}

	h.key("o")
	h.mustSee("Copied airtable's two-factor code, valid " + seconds(left) + " more; the clipboard is cleared in 45s")
	h.mustNotSee(code)
	if b, _ := os.ReadFile(store); string(b) != code {
		t.Fatalf("clipboard holds %q, want the code", b)
	}
	h.send(clipClearMsg{gen: h.m.sh.clipGen})
	if b, _ := os.ReadFile(store); len(b) != 0 {
		t.Fatalf("not cleared: %q", b)
	}

	// No seed, or not a reader: a clear message, nothing copied.
	h.selectSecret("bank/online")
	h.key("o")
	h.mustSee("has no two-factor seed")
	h.selectSecret("bank/cash-box")
	h.key("o")
	h.mustSee("you are not a reader of bank/cash-box")
	if b, _ := os.ReadFile(store); len(b) != 0 {
		t.Fatalf("clipboard holds %q", b)
	}
}
