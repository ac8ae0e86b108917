package main

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"github.com/mutual-aid-vault/vault/vault"
)

// minPassphrase is the shortest passphrase keygen accepts.
const minPassphrase = 8

func (a *app) keygenCommand() *cobra.Command {
	var pq, noPassphrase, force bool
	var output string
	c := &cobra.Command{
		Use:   "keygen",
		Short: "Make your key pair (your identity) and print its public key",
		Long: `Make a new key pair and save it, protected by a passphrase you choose (asked
twice, not shown). The public key is printed on stdout: send it to an admin of
your group so they can add you. It is safe to send by chat or email.

The file goes to --output, else $VAULT_IDENTITY, else
$XDG_CONFIG_HOME/vault/identity.age, with mode 600. An existing file is never
replaced without --force, and then it is kept beside the new one.

--no-passphrase writes the key unprotected, as a standard age identity file,
for unattended scripts: anyone who can read that file can read your secrets.
--pq makes a post-quantum key (for a vault created with 'vault init --pq').`,
		Args: args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			path := output
			if path == "" {
				var err error
				if path, err = a.identityPath(); err != nil {
					return err
				}
			}
			if _, err := os.Lstat(path); err == nil && !force {
				return fail(vault.ErrExists, "%s already exists; to replace it use --force (the old key is kept beside it)", path)
			}
			var pass vault.Value
			if !noPassphrase {
				var err error
				if pass, err = a.newPassphrase(); err != nil {
					return err
				}
				defer pass.Wipe()
			}
			kind := vault.Classic
			if pq {
				kind = vault.PostQuantum
			}
			id, err := vault.GenerateIdentity(kind)
			if err != nil {
				return err
			}
			kept := ""
			if force {
				if kept, err = keepOldFile(path, a.now().UTC().Format("20060102-150405")); err != nil {
					return err
				}
			}
			opts := vault.IdentityOptions{ScryptWorkFactor: a.opts.scryptWorkFactor, Force: force, Now: a.now()}
			if err := vault.WriteIdentity(path, id, pass, opts); err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, id.PublicKey())
			a.note("your key's fingerprint: %s (read it to the admin who adds you, by phone or in person)", id.Fingerprint())
			if kept != "" {
				a.note("kept the old identity as %s", kept)
			}
			if noPassphrase {
				a.note("wrote your identity to %s WITHOUT a passphrase: anyone who can read that file can read your secrets", path)
			} else {
				a.note("wrote your identity to %s, protected by your passphrase", path)
			}
			a.note("your public key is printed above; send it to an admin of your group (it is safe to share)")
			return nil
		},
	}
	c.Flags().BoolVar(&pq, "pq", false, "make a post-quantum (ML-KEM-768 + X25519) key")
	c.Flags().BoolVar(&noPassphrase, "no-passphrase", false, "write the key without a passphrase (for unattended scripts)")
	c.Flags().StringVarP(&output, "output", "o", "", "write the identity to `FILE`")
	c.Flags().BoolVar(&force, "force", false, "replace an existing identity file (the old one is kept beside it)")
	return c
}

// keepOldFile moves an existing file at path aside, so replacing an identity
// never loses the old key. It returns the new name, or "" if there was none.
func keepOldFile(path, stamp string) (string, error) {
	if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	kept := path + ".replaced-" + stamp
	if err := os.Link(path, kept); err != nil {
		return "", fmt.Errorf("cannot keep the old identity file: %w", err)
	}
	return kept, nil
}

// newPassphrase asks for a new passphrase twice on the terminal, or takes it
// from VAULT_PASSPHRASE_FILE in scripts.
func (a *app) newPassphrase() (vault.Value, error) {
	if file := a.getenv("VAULT_PASSPHRASE_FILE"); file != "" {
		p, err := readPassphraseFile(file)
		if err != nil {
			return vault.Value{}, err
		}
		return p, checkPassphrase(p)
	}
	if !a.tty.Available() {
		return vault.Value{}, fail(vault.ErrNoPassphrase, "there is no terminal to ask for a passphrase on; run this at a terminal, set VAULT_PASSPHRASE_FILE, or use --no-passphrase for an unprotected key file")
	}
	var first, again []byte
	// The Value returned holds the one copy that lives on.
	defer func() { clear(first); clear(again) }()
	err := a.holdTerminal(func() (err error) {
		if first, err = a.tty.ReadSecret("Choose a passphrase for your key: "); err != nil {
			return err
		}
		p := vault.NewValue(first)
		defer p.Wipe()
		if err := checkPassphrase(p); err != nil {
			return err
		}
		again, err = a.tty.ReadSecret("Type it again: ")
		return err
	})
	if err != nil {
		return vault.Value{}, err
	}
	p := vault.NewValue(first)
	if subtle.ConstantTimeCompare(first, again) != 1 {
		return vault.Value{}, errors.New("the two passphrases differ; nothing was written, run keygen again")
	}
	return p, nil
}

func checkPassphrase(p vault.Value) error {
	if p.Len() < minPassphrase {
		return fmt.Errorf("the passphrase is shorter than %d characters; choose a longer one (four or five random words work well)", minPassphrase)
	}
	return nil
}

func (a *app) pubkeyCommand() *cobra.Command {
	var ageOnly bool
	c := &cobra.Command{
		Use:   "pubkey",
		Short: "Print your public key line (safe to share: send it to an admin)",
		Long: `Print your public key line: your age public key and the key that signs your
changes, in one line (age1…:ed25519:…). Send it to an admin of your group, who
adds you with it; it is safe to share. The fingerprint printed on stderr
covers both keys: read it to the admin by phone or in person.

--age prints the age public key alone (age1…), for the stock age tool
('age -r').`,
		Args: args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			id, err := a.loadIdentity()
			if err != nil {
				return err
			}
			if ageOnly {
				fmt.Fprintln(a.stdout, id.Recipient())
				return nil
			}
			fmt.Fprintln(a.stdout, id.PublicKey())
			a.note("fingerprint: %s (read it to the admin who adds you, to be sure they have your key)", id.Fingerprint())
			return nil
		},
	}
	c.Flags().BoolVar(&ageOnly, "age", false, "print only the age public key, for the stock age tool")
	return c
}

func (a *app) initCommand() *cobra.Command {
	var name, me string
	var pq bool
	var recovery []string
	c := &cobra.Command{
		Use:   "init",
		Short: "Create a vault for your group; you become its first member and admin",
		Long: `Create a new vault file (at --vault, else $VAULT_FILE, else the one your
configuration names, else $XDG_DATA_HOME/vault/vault.db) for your group. You
become its first member and an admin. Your identity must exist: run 'vault
keygen' first.

A vault made elsewhere than the default place with --vault is remembered in
your configuration ($XDG_CONFIG_HOME/vault/config), unless it names another
vault already, so later commands find it without --vault.

A vault is classic (X25519 keys) or post-quantum (--pq: ML-KEM-768 + X25519
hybrid keys); every member's key must be of the same kind.

--recovery adds an organisation key, kept offline, that every secret is also
encrypted to, so losing every member's key does not lose the data.`,
		Args: args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			path, err := a.vaultPath()
			if err != nil {
				return err
			}
			if _, err := os.Lstat(path); err == nil {
				return fail(vault.ErrExists, "%s already exists; choose another file with --vault", path)
			}
			id, err := a.loadIdentity()
			if err != nil {
				return err
			}
			kind := vault.Classic
			if pq {
				kind = vault.PostQuantum
			} else if id.Kind() == vault.PostQuantum {
				return fail(vault.ErrWrongKind, "your identity is a post-quantum key; add --pq to create a post-quantum vault")
			}
			v, err := vault.Create(path, vault.CreateOptions{
				Options: a.vaultOptions(id),
				Name:    name, MemberName: me, PublicKey: id.PublicKey(), Kind: kind, Recovery: recovery,
			})
			if err != nil {
				return err
			}
			defer v.Close()
			a.note("created %s, a %s vault; you are its first member (%s) and an admin", path, kind, me)
			if a.vaultFlag != "" {
				a.rememberCreated(path)
			}
			a.note("next: keep the file where the group shares files (a git repository, then 'vault sync'; or a shared folder); members run 'vault join' with it and send you the line it prints; add them with 'vault member add NAME KEY'")
			return nil
		},
	}
	c.Flags().StringVar(&name, "name", "", "the vault's name, e.g. your group's")
	c.Flags().StringVar(&me, "me", "admin", "your name in the vault (a nickname is enough)")
	c.Flags().BoolVar(&pq, "pq", false, "create a post-quantum vault (members need 'vault keygen --pq' keys)")
	c.Flags().StringArrayVar(&recovery, "recovery", nil, "also encrypt everything to this offline recovery public `KEY` (repeatable)")
	return c
}
