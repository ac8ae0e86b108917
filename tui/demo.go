package tui

import (
	"path/filepath"
	"time"

	"github.com/mutual-aid-vault/vault/vault"
)

// BuildDemo makes a sample vault in dir, for trying the UI without any
// setup: a small group (alex, the one using it, is an admin), its groups,
// and secrets in every state. It returns the options to open it as alex.
// Everything lives in dir; delete dir to get rid of it.
func BuildDemo(dir string, now time.Time) (Options, error) {
	path := filepath.Join(dir, "vault.db")
	ids := map[string]*vault.Identity{}
	for _, n := range []string{"alex", "sam", "kim", "jo", "ben"} {
		id, err := vault.GenerateIdentity(vault.Classic)
		if err != nil {
			return Options{}, err
		}
		ids[n] = id
	}
	clock := fixed(now)
	open := func(who string) (*vault.Vault, error) {
		return vault.Open(path, vault.Options{Identity: ids[who], Clock: clock})
	}
	v, err := vault.Create(path, vault.CreateOptions{Options: vault.Options{Identity: ids["alex"], Clock: clock},
		Name: "Eastside Mutual Aid (demo)", MemberName: "alex", PublicKey: ids["alex"].PublicKey()})
	if err != nil {
		return Options{}, err
	}
	defer func() { v.Close() }()
	members := []vault.NewMember{
		{Name: "sam", PublicKey: ids["sam"].PublicKey(), Groups: []string{"intake", "dispatch"}, Admin: true},
		{Name: "kim", PublicKey: ids["kim"].PublicKey(), Groups: []string{"cash"}},
		{Name: "ben", PublicKey: ids["ben"].PublicKey(), Groups: []string{"intake"}},
	}
	for _, m := range members {
		if _, err := v.AddMember(m); err != nil {
			return Options{}, err
		}
	}
	ago := func(months, days int) time.Time { return now.AddDate(0, -months, -days) }
	entries := []vault.Entry{
		{Secret: vault.NewSecret{Name: "airtable", Username: "intake@eastside.example", URL: "https://airtable.com", Note: "The intake base", Share: []string{"@intake"}, LastRotated: ago(2, 0)}, Value: vault.NewValue([]byte("correct-Horse-42-battery"))},
		{Secret: vault.NewSecret{Name: "intake/call-log", Username: "callers", URL: "https://calllog.example", Share: []string{"@intake"}, LastRotated: ago(9, 0)}, Value: vault.NewValue([]byte("Call-Log-2025!"))},
		{Secret: vault.NewSecret{Name: "shared-inbox", Username: "hello@eastside.example", URL: "https://mail.example", Share: []string{"@dispatch"}, LastRotated: ago(5, 20)}, Value: vault.NewValue([]byte("inbox-Spring-77"))},
		{Secret: vault.NewSecret{Name: "slack-admin", Username: "admin@eastside.example", URL: "https://eastside.slack.com", Share: []string{"sam"}, LastRotated: ago(1, 0)}, Value: vault.NewValue([]byte("sl4ck-Admin-#1"))},
		{Secret: vault.NewSecret{Name: "dispatch/van-lockbox", Note: "Code for the key box by the door", Share: []string{"@dispatch"}, LastRotated: ago(3, 0)}, Value: vault.NewValue([]byte("4711"))},
		{Secret: vault.NewSecret{Name: "old-wifi", LastRotated: ago(12, 0)}, Value: vault.NewValue([]byte("old-wifi-pass"))},
		{Secret: vault.NewSecret{Name: "bank/online", Username: "eastside-treasury", URL: "https://bank.example", LastRotated: ago(8, 0)}, Value: vault.NewValue([]byte("Tr3asury-Online-8"))},
		{Secret: vault.NewSecret{Name: "volunteer-portal", Username: "coordinator", URL: "https://portal.example", Share: []string{"sam"}, LastRotated: ago(5, 21)}, Value: vault.NewValue([]byte("portal-Winter-3"))},
	}
	if err := v.AddMany(entries); err != nil {
		return Options{}, err
	}
	// A rotation under way.
	if _, err := v.StartRotation("shared-inbox", vault.NewValue([]byte("inbox-Autumn-2026"))); err != nil {
		return Options{}, err
	}
	// Some history.
	if _, err := v.Set("dispatch/van-lockbox", vault.NewValue([]byte("0815"))); err != nil {
		return Options{}, err
	}
	if err := v.Remove("old-wifi"); err != nil {
		return Options{}, err
	}
	v.Close()
	// kim keeps the cash box code for @cash: alex cannot read it.
	kim, err := open("kim")
	if err != nil {
		return Options{}, err
	}
	_, err = kim.Add(vault.NewSecret{Name: "bank/cash-box", Username: "treasurer", Share: []string{"@cash"}, LastRotated: ago(4, 0)}, vault.NewValue([]byte("cash-4-2-9")))
	kim.Close()
	if err != nil {
		return Options{}, err
	}
	// ben leaves: what he could read must rotate now; jo joins @cash and
	// waits until kim next opens the vault.
	if v, err = open("alex"); err != nil {
		return Options{}, err
	}
	if _, err := v.RemoveMember("ben", false, nil); err != nil {
		return Options{}, err
	}
	if _, err := v.AddMember(vault.NewMember{Name: "jo", PublicKey: ids["jo"].PublicKey(), Groups: []string{"cash", "dispatch"}}); err != nil {
		return Options{}, err
	}
	return Options{VaultPath: path, IdentityPath: filepath.Join(dir, "alex.key"), StateDir: filepath.Join(dir, "state"), Identity: ids["alex"], Clock: clock, Title: "vault demo"}, nil
}

// fixed is a clock that always says the same time.
type fixed time.Time

func (f fixed) Now() time.Time { return time.Time(f) }
