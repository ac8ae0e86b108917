package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mutual-aid-vault/vault/vault"
)

func (a *app) rotateCommand() *cobra.Command {
	var confirm, abort, stdin, clip bool
	var rf rulesFlags
	c := &cobra.Command{
		Use:   "rotate NAME",
		Short: "Change a password in two safe steps: new value, then --confirm",
		Long: `Rotate a secret's password in two steps, so that nothing is lost if you are
interrupted:

  1. 'vault rotate NAME' generates a new password following the secret's
     rules (see 'vault edit --length/--digits/--symbols/--no-symbols'; the
     same flags here change them for this once) and stores it as pending,
     beside the current one. It prints the new password on stdout (or copies
     it with --clip); --stdin reads your own instead.
  2. Change the password at the service. 'vault get NAME' still gives the
     current one, 'vault get NAME --pending' the new one.
  3. 'vault rotate NAME --confirm' makes the new one current (the old one
     stays in history). Or 'vault rotate NAME --abort' drops the new one (it
     is kept in history too, in case you had already set it).`,
		Args: args("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			switch {
			case confirm && abort:
				return usageError{errors.New("--confirm and --abort do not go together")}
			case (confirm || abort) && (stdin || clip || rf.changed()):
				return usageError{errors.New("--confirm and --abort take no other flags")}
			case stdin && rf.changed():
				return usageError{errors.New("password rules flags are for generated values, not --stdin")}
			}
			return a.withVault(func(v *vault.Vault) error {
				switch {
				case confirm:
					s, err := v.ConfirmRotation(name)
					if err != nil {
						return err
					}
					a.note("rotated %s: version %d is current; the previous value is in its history", s.Name, s.Version)
					return nil
				case abort:
					s, n, err := v.AbortRotation(name)
					if err != nil {
						return err
					}
					a.note("dropped the new value of %s; version %d stays current (the dropped one is kept in history as version %d, in case it was set at the service)", s.Name, s.Version, n)
					return nil
				}
				return a.startRotation(v, name, stdin, clip, &rf)
			})
		},
	}
	c.Flags().BoolVar(&confirm, "confirm", false, "the new password is set at the service: make it current")
	c.Flags().BoolVar(&abort, "abort", false, "drop the new password; keep the current one")
	c.Flags().BoolVar(&stdin, "stdin", false, "read the new password (typed twice at a terminal, or piped) instead of generating one")
	c.Flags().BoolVar(&clip, "clip", false, "copy the new password to the clipboard instead of printing it")
	rf.register(c)
	return c
}

func (a *app) startRotation(v *vault.Vault, name string, stdin, clip bool, rf *rulesFlags) error {
	s, err := v.CheckRotate(name)
	if err != nil {
		return err
	}
	var val vault.Value
	if stdin {
		val, _, err = a.typedValue(s.Name)
	} else {
		var rules = s.Rules
		if rules, err = rf.over(s.Rules); err == nil {
			val, err = generate(rules)
		}
	}
	if err != nil {
		return err
	}
	defer val.Wipe()
	s, err = v.StartRotation(name, val)
	if err != nil {
		return err
	}
	where := "at the service"
	if s.URL != "" {
		where = "at " + s.URL
	}
	if s.Username != "" {
		where += " (username " + s.Username + ")"
	}
	var copyErr error
	switch {
	case clip:
		// The rotation is stored whatever happens to the copy: a failed
		// copy is reported after the rest, with how to get the value.
		copyErr = a.copyValue(val.Bytes(), "the new password for "+s.Name)
	case !stdin:
		if _, err := a.stdout.Write(append(val.Bytes(), '\n')); err != nil {
			return err
		}
	}
	a.note("the new password (version %d) is pending: change it %s, then run 'vault rotate %s --confirm'", s.PendingVersion, where, s.Name)
	a.note("until then 'vault get %s' gives the current one; 'vault rotate %s --abort' drops the new one", s.Name, s.Name)
	if copyErr != nil {
		return fmt.Errorf("%w; the new password is stored as pending: see it with 'vault get %s --pending'", copyErr, s.Name)
	}
	return nil
}
