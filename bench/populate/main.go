// Command populate makes the benchmark's vault: N secrets shared with M
// members, each member with a plain (unprotected) identity file, so that
// whole commands can be timed without a passphrase prompt.
//
//	go run ./bench/populate -dir DIR [-keys KEYDIR] [-secrets 1000] [-members 20]
//
// It writes DIR/vault.db, and KEYDIR/member-NN.key (member-00 is the admin
// and created the vault; the others are in the group "everyone") and
// KEYDIR/recipients.txt (every member's bare age public key, one a line, for
// the gopass baseline). KEYDIR defaults to DIR; identity files already in
// KEYDIR are used again, so that stores made from the same keys (a gopass
// store, say) stay valid when the vault is made anew. Every secret is shared with @everyone, so each
// value is encrypted to all M members; one secret in ten is overdue. The
// secrets are added in one change ([vault.Vault.AddMany]): one operation
// each, one rewrite of the shared file in all.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mutual-aid-vault/vault/vault"
)

func main() {
	dir := flag.String("dir", "", "folder to create the vault in")
	keys := flag.String("keys", "", "folder of the identity files (default: -dir); existing ones are used again")
	secrets := flag.Int("secrets", 1000, "number of secrets")
	members := flag.Int("members", 20, "number of members, all readers of every secret")
	flag.Parse()
	if err := populate(*dir, *keys, *secrets, *members); err != nil {
		fmt.Fprintln(os.Stderr, "populate:", err)
		os.Exit(1)
	}
}

// Name is the name of secret i: the same in the vault and the gopass store.
func name(i int) string { return fmt.Sprintf("secret-%04d", i) }

func populate(dir, keys string, secrets, members int) error {
	if dir == "" {
		return fmt.Errorf("-dir is required")
	}
	if keys == "" {
		keys = dir
	}
	if members < 1 {
		return fmt.Errorf("-members must be at least 1")
	}
	for _, d := range []string{dir, keys} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	ids := make([]*vault.Identity, members)
	var recipients strings.Builder
	for i := range ids {
		id, err := identity(filepath.Join(keys, fmt.Sprintf("member-%02d.key", i)))
		if err != nil {
			return err
		}
		ids[i] = id
		fmt.Fprintln(&recipients, id.Recipient())
	}
	if err := os.WriteFile(filepath.Join(keys, "recipients.txt"), []byte(recipients.String()), 0o600); err != nil {
		return err
	}
	path := filepath.Join(dir, "vault.db")
	os.Remove(path)
	// No StateDir: the creator's machine state is a temporary folder, so
	// every member timed later opens the vault as a machine of its own.
	v, err := vault.Create(path, vault.CreateOptions{Options: vault.Options{Identity: ids[0]}, Name: "bench", MemberName: "member-00", PublicKey: ids[0].PublicKey()})
	if err != nil {
		return err
	}
	defer v.Close()
	for i := 1; i < members; i++ {
		if _, err := v.AddMember(vault.NewMember{Name: fmt.Sprintf("member-%02d", i), PublicKey: ids[i].PublicKey(), Groups: []string{"everyone"}}); err != nil {
			return err
		}
	}
	entries := make([]vault.Entry, secrets)
	for i := range entries {
		ns := vault.NewSecret{Name: name(i), Username: "user", Share: []string{"@everyone"}}
		// One secret in ten is overdue, so every command has a reminder to
		// print, as in a real group that is behind.
		if i%10 == 0 {
			ns.LastRotated = time.Now().AddDate(-1, 0, 0)
		}
		entries[i] = vault.Entry{Secret: ns, Value: vault.NewValue(fmt.Appendf(nil, "value-%04d-abcdefghijklmnop", i))}
	}
	if secrets > 0 {
		if err := v.AddMany(entries); err != nil {
			return err
		}
	}
	return v.Close()
}

// identity reads the plain identity file at path, or makes a new one there.
func identity(path string) (*vault.Identity, error) {
	if _, err := os.Stat(path); err == nil {
		return vault.ReadIdentity(path, func() (vault.Value, error) {
			return vault.Value{}, fmt.Errorf("%s is protected by a passphrase", path)
		})
	}
	id, err := vault.GenerateIdentity(vault.Classic)
	if err != nil {
		return nil, err
	}
	return id, vault.WriteIdentity(path, id, vault.Value{}, vault.IdentityOptions{})
}
