// Command populate makes the benchmark's vault: N secrets shared with M
// members, each member with a plain (unprotected) identity file, so that
// whole commands can be timed without a passphrase prompt.
//
//	go run ./bench/populate -dir DIR [-secrets 1000] [-members 20]
//
// It writes DIR/vault.db and DIR/member-NN.key (member-00 is the admin).
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/mutual-aid-vault/vault/vault"
)

func main() {
	dir := flag.String("dir", "", "folder to create the vault and identities in")
	secrets := flag.Int("secrets", 1000, "number of secrets")
	members := flag.Int("members", 20, "number of members, all readers of every secret")
	flag.Parse()
	if err := populate(*dir, *secrets, *members); err != nil {
		fmt.Fprintln(os.Stderr, "populate:", err)
		os.Exit(1)
	}
}

func populate(dir string, secrets, members int) error {
	if dir == "" {
		return fmt.Errorf("-dir is required")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	ids := make([]*vault.Identity, members)
	for i := range ids {
		id, err := vault.GenerateIdentity(vault.Classic)
		if err != nil {
			return err
		}
		ids[i] = id
		if err := vault.WriteIdentity(filepath.Join(dir, fmt.Sprintf("member-%02d.key", i)), id, vault.Value{}, vault.IdentityOptions{Force: true}); err != nil {
			return err
		}
	}
	path := filepath.Join(dir, "vault.db")
	os.Remove(path)
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
	for i := range secrets {
		ns := vault.NewSecret{Name: fmt.Sprintf("secret-%04d", i), Username: "user", Share: []string{"@everyone"}}
		// One secret in ten is overdue, so every command has a reminder to
		// print, as in a real group that is behind.
		if i%10 == 0 {
			ns.LastRotated = time.Now().AddDate(-1, 0, 0)
		}
		if _, err := v.Add(ns, vault.NewValue(fmt.Appendf(nil, "value-%04d-abcdefghijklmnop", i))); err != nil {
			return err
		}
	}
	return nil
}
