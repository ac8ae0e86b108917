package tui

import (
	"testing"

	"github.com/mutual-aid-vault/vault/vault"
)

// TestTwoFactorCode: a secret with a seed shows its code and countdown
// with the value (never before), and o copies the code through the
// clipboard path c uses, cleared by its helper.
func TestTwoFactorCode(t *testing.T) {
	fc := newFakeClip(t)
	opts := fc.options()
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
	if got := fc.holds(); got != code {
		t.Fatalf("clipboard holds %q, want the code", got)
	}
	fc.release()
	if got := fc.holds(); got != "" {
		t.Fatalf("not cleared: %q", got)
	}

	// No seed, or not a reader: a clear message, nothing copied.
	h.selectSecret("bank/online")
	h.key("o")
	h.mustSee("has no two-factor seed")
	h.selectSecret("bank/cash-box")
	h.key("o")
	h.mustSee("you are not a reader of bank/cash-box")
	if got := fc.holds(); got != "" {
		t.Fatalf("clipboard holds %q", got)
	}
}
