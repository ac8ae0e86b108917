package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"text/template"

	"github.com/spf13/cobra"

	"github.com/mutual-aid-vault/vault/vault"
)

func (a *app) injectCommand() *cobra.Command {
	var in, out string
	var allowDue bool
	c := &cobra.Command{
		Use:   "inject -i TEMPLATE [-o FILE]",
		Short: "Write a configuration file from a template that names secrets",
		Long: `Render a configuration file from a template, putting in the secrets it names,
to stdout or to FILE. The template can live in the group's repository: it
holds names, never values.

A template is Go text/template text. {{ vault "NAME" }} is replaced by the
secret's value; {{ vault "NAME" "FIELD" }} by another field: username, url
or note (or password, the default). Values go in exactly as stored: to
quote one for the file's syntax, pipe it through the built-in printf, as
in {{ vault "NAME" | printf "%q" }}. Besides text/template's built-ins
(printf, html, js, urlquery, ...) there are no functions: a template cannot
read files or run programs.

-o FILE is written with mode 600, through a new file renamed into place,
so nobody else can read it at any moment and a program never reads half of
it. An existing FILE that the group or others can read is not replaced:
run 'chmod 600 FILE' or remove it first. -i - reads the template from
stdin.

Nothing is written when anything is wrong: a secret that does not exist
(exit 3) or that you cannot read (exit 4), a template error (exit 1), or a
secret that must be rotated now (exit 10; someone who could read it was
removed or unshared), unless --allow-due. Overdue secrets are reminded of
on stderr, as by every command.`,
		Example: `  vault inject -i deploy/app.env.tmpl -o .env
  vault inject -i msmtprc.tmpl -o ~/.msmtprc

  # msmtprc.tmpl
  account   intake
  user      {{ vault "shared-inbox" "username" }}
  password  {{ vault "shared-inbox" }}`,
		Args: args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if in == "" {
				return usageError{fmt.Errorf("say which template with -i TEMPLATE (or -i - for stdin); usage: %s", cmd.UseLine())}
			}
			src, err := a.readTemplate(in)
			if err != nil {
				return err
			}
			name := in
			if in == "-" {
				name = "stdin"
			}
			tmpl, err := template.New("t").Funcs(template.FuncMap{"vault": noVault}).Parse(src)
			if err != nil {
				return templateError(name, err, nil)
			}
			if out != "" {
				if err := vault.CheckPrivateOutput(out); err != nil {
					return err
				}
			}
			var buf bytes.Buffer
			defer wipeBuffer(&buf)
			err = a.withVault(func(v *vault.Vault) error {
				r := newResolver(v)
				defer r.wipe()
				var lookupErr error
				tmpl.Funcs(template.FuncMap{"vault": func(secret string, field ...string) (string, error) {
					ref := secretRef{name: secret, field: "password"}
					switch {
					case len(field) > 1:
						lookupErr = fail(vault.ErrInvalid, "vault takes a secret name and at most one field")
						return "", lookupErr
					case len(field) == 1 && !isField(field[0]):
						lookupErr = fail(vault.ErrInvalid, "unknown field %q of %s; choose %s", field[0], secret, fieldList)
						return "", lookupErr
					case len(field) == 1:
						ref.field = field[0]
					}
					val, err := r.lookup(ref)
					if err != nil {
						lookupErr = err
						return "", err
					}
					return string(val.Bytes()), nil
				}})
				if err := tmpl.Execute(&buf, nil); err != nil {
					return templateError(name, err, lookupErr)
				}
				return r.refuseDue(allowDue)
			})
			if err != nil {
				return err
			}
			if out == "" {
				_, err := a.stdout.Write(buf.Bytes())
				return err
			}
			if err := vault.WritePrivateFile(out, buf.Bytes()); err != nil {
				return err
			}
			a.note("wrote %s (mode 600)", out)
			return nil
		},
	}
	c.Flags().StringVarP(&in, "input", "i", "", "the template `FILE` ('-' for stdin)")
	c.Flags().StringVarP(&out, "output", "o", "", "write to `FILE` (mode 600) instead of stdout")
	c.Flags().BoolVar(&allowDue, "allow-due", false, "use secrets even when they must be rotated now")
	return c
}

// noVault stands in for the vault function while the template is parsed:
// text/template needs to know the name, not what it does.
func noVault(string, ...string) (string, error) { return "", errors.New("no vault open") }

// maxTemplate caps what is read of a template: a configuration file.
const maxTemplate = 1 << 20

func (a *app) readTemplate(path string) (string, error) {
	var r io.Reader = a.stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return "", fmt.Errorf("cannot read the template: %w", err)
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxTemplate+1))
	if err != nil {
		return "", fmt.Errorf("cannot read the template: %w", err)
	}
	if len(b) > maxTemplate {
		return "", fail(vault.ErrInvalid, "the template %s is larger than %d MiB", path, maxTemplate>>20)
	}
	return string(b), nil
}

// templatePos finds the line text/template says an error is on:
// "template: t:3:12: ..." (the template is always named "t"). Its column
// counts bytes from 0, which no editor does, so it is left out.
var templatePos = regexp.MustCompile(`^template: t:(\d+)(?::\d+)?: `)

// templateRef is how text/template names another place in the template:
// "unclosed action started at t:2".
var templateRef = regexp.MustCompile(` t:(\d+)(?::\d+)?`)

// templateError says what went wrong at which line of the template file.
// An error of the vault function (lookupErr) is kept as it is, so that its
// exit code is the one 'vault get' gives.
func templateError(file string, err, lookupErr error) error {
	pos := ""
	msg := err.Error()
	if m := templatePos.FindStringSubmatch(msg); m != nil {
		pos = ":" + m[1]
		msg = msg[len(m[0]):]
	}
	if lookupErr != nil {
		return fmt.Errorf("%s%s: %w", file, pos, lookupErr)
	}
	msg = strings.ReplaceAll(msg, `"t"`, "the template")
	msg = templateRef.ReplaceAllString(msg, " line $1")
	return fail(vault.ErrInvalid, "%s%s: %s", file, pos, msg)
}

// wipeBuffer clears a buffer that held secret values.
func wipeBuffer(b *bytes.Buffer) {
	clear(b.Bytes()[:b.Cap()])
}
