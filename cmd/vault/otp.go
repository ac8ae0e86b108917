package main

import (
	"bytes"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/mutual-aid-vault/vault/vault"
)

// maxSeedInput caps what is read for a two-factor seed.
const maxSeedInput = 8 << 10

// seedPrompt reads a two-factor seed (an otpauth:// URI or a base32 seed)
// once without echo at the terminal, or from stdin; never from argv. It is
// typed once: it is pasted from the service's setup page, and a wrong one
// shows as a code the service refuses when it asks for one to finish.
func (a *app) seedPrompt(name string) (vault.Value, error) {
	a.beforePrompt()
	if isTerminal(a.stdin) {
		var b []byte
		// checkSeed's Value holds the one copy that lives on.
		defer func() { clear(b) }()
		err := a.holdTerminal(func() (err error) {
			b, err = a.tty.ReadSecret(fmt.Sprintf("Two-factor seed for %s (otpauth:// URI or base32, not shown): ", name))
			return err
		})
		if err != nil {
			return vault.Value{}, err
		}
		return checkSeed(b)
	}
	b, err := io.ReadAll(io.LimitReader(a.stdin, maxSeedInput+1))
	if err != nil {
		return vault.Value{}, fmt.Errorf("cannot read the two-factor seed from stdin: %w", err)
	}
	return checkSeed(b)
}

// checkSeed validates a seed read from the user; errors never quote it.
func checkSeed(b []byte) (vault.Value, error) {
	if len(b) > maxSeedInput {
		return vault.Value{}, fail(vault.ErrInvalid, "the two-factor seed is larger than %d KiB", maxSeedInput>>10)
	}
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return vault.Value{}, fail(vault.ErrInvalid, "no two-factor seed; paste the otpauth:// URI or the base32 seed the service shows")
	}
	val := vault.NewValue(b)
	if _, err := vault.ParseTOTP(val); err != nil {
		val.Wipe()
		return vault.Value{}, err
	}
	return val, nil
}

// valueAndSeed reads a new secret's value and its two-factor seed: at the
// terminal, the value typed twice, then the seed once; from stdin, the value
// on the first line and the seed on the second.
func (a *app) valueAndSeed(name string) (vault.Value, vault.Value, error) {
	if isTerminal(a.stdin) {
		val, _, err := a.typedValue(name)
		if err != nil {
			return vault.Value{}, vault.Value{}, err
		}
		seed, err := a.seedPrompt(name)
		if err != nil {
			val.Wipe()
			return vault.Value{}, vault.Value{}, err
		}
		return val, seed, nil
	}
	a.beforePrompt()
	b, err := io.ReadAll(io.LimitReader(a.stdin, vault.MaxValueSize+maxSeedInput+2))
	if err != nil {
		return vault.Value{}, vault.Value{}, fmt.Errorf("cannot read the value from stdin: %w", err)
	}
	first, rest, ok := bytes.Cut(b, []byte("\n"))
	first = bytes.TrimSuffix(first, []byte("\r"))
	if !ok || len(bytes.TrimSpace(rest)) == 0 {
		return vault.Value{}, vault.Value{}, fail(vault.ErrInvalid, "with --totp, stdin holds the value on its first line and the two-factor seed on the second")
	}
	if len(first) == 0 {
		return vault.Value{}, vault.Value{}, fail(vault.ErrInvalid, "the value (the first line on stdin) is empty")
	}
	if len(first) > vault.MaxValueSize {
		return vault.Value{}, vault.Value{}, fail(vault.ErrInvalid, "the value on stdin is larger than %d KiB; vault stores passwords and short secrets, not files", vault.MaxValueSize>>10)
	}
	seed, err := checkSeed(rest)
	if err != nil {
		return vault.Value{}, vault.Value{}, err
	}
	return vault.NewValue(first), seed, nil
}

// otpJSON is what 'vault otp --json' prints.
type otpJSON struct {
	Name        string `json:"name"`
	Code        string `json:"code"`
	SecondsLeft int    `json:"seconds_left"`
	Period      int    `json:"period"`
}

func (a *app) otpCommand() *cobra.Command {
	var asJSON bool
	var ver int
	c := &cobra.Command{
		Use:   "otp NAME",
		Short: "Print a secret's current two-factor code",
		Long: `Print the current two-factor (TOTP) code of a secret that has a seed, and a
newline, on stdout. --json adds how many seconds it stays valid.

Give a secret a seed with 'vault add NAME --totp' or 'vault edit NAME --totp';
only its readers can see its codes. Exit codes: 3 when there is no such
secret or it has no seed, 4 when you are not one of its readers.`,
		Example: `  vault otp inbox
  vault otp inbox --json`,
		Args: args("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if ver < 0 {
				return usageError{fmt.Errorf("--version must be a version number from 'vault history'")}
			}
			return a.withVault(func(v *vault.Vault) error {
				s, err := v.Get(args[0])
				if err != nil {
					return err
				}
				totp, err := v.TOTP(args[0], ver)
				if err != nil {
					return err
				}
				code, left := totp.Code(a.now())
				if asJSON {
					return a.printJSON(otpJSON{Name: s.Name, Code: code, SecondsLeft: int((left + 999_999_999) / 1e9), Period: int(totp.Period().Seconds())})
				}
				_, err = fmt.Fprintln(a.stdout, code)
				return err
			})
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON: {\"name\", \"code\", \"seconds_left\", \"period\"}")
	c.Flags().IntVar(&ver, "version", 0, "the seed of an earlier version `N` (see 'vault history')")
	return c
}
