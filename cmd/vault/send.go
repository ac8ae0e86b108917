package main

import (
	"bufio"
	"bytes"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"filippo.io/age/armor"
	"github.com/spf13/cobra"

	"github.com/mutual-aid-vault/vault/vault"
)

func (a *app) sendCommand() *cobra.Command {
	var stdin bool
	c := &cobra.Command{
		Use:   "send MEMBER NAME",
		Short: "Hand one secret to one member: a message to paste into chat",
		Long: `Write a message holding the value of the secret NAME for MEMBER alone: an
age message in ASCII armor, encrypted to that member's key and nobody
else's, safe to paste into chat or email. It says nothing readable about
what it holds: the secret's name, username, URL and note, and who sent it,
are inside it, signed by you. MEMBER opens it with 'vault receive'.

Only a reader of the secret can send it. It goes to a current member: not
to a removed one, nor to a recovery key. The two-factor seed, if any, is
not sent.

--stdin sends anything instead of a secret: typed at a prompt (twice, not
shown) or piped on stdin (one trailing newline stripped), never taken from
the command line. NAME is then optional: the name MEMBER is offered to
store it under.

A send is a read: it changes nothing in the vault and is not recorded in
its log.`,
		Example: `  vault send kim airtable > for-kim.txt
  vault send kim wifi/guest --stdin`,
		Args: func(cmd *cobra.Command, got []string) error {
			if stdin && len(got) == 1 {
				return nil
			}
			return args("MEMBER", "NAME")(cmd, got)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			to, name := args[0], ""
			if len(args) > 1 {
				name = args[1]
			}
			return a.withVault(func(v *vault.Vault) error {
				var sent vault.Sent
				var err error
				if stdin {
					if err := v.CheckSend(to); err != nil {
						return err
					}
					if name != "" {
						if _, err := vault.CleanSecretName(name); err != nil {
							return err
						}
					}
					val, err := a.sendInput(to)
					if err != nil {
						return err
					}
					defer val.Wipe()
					sent, err = v.SendValue(to, name, val)
				} else {
					sent, err = v.Send(to, name)
				}
				if err != nil {
					return err
				}
				if _, err := a.stdout.Write(sent.Message); err != nil {
					return err
				}
				a.note("this message is for %s alone: only their key opens it. Paste it to them; they run 'vault receive'", sent.To)
				if sent.Reader {
					a.note("%s can already read %s: 'vault get %s' gives it to them", sent.To, sent.Name, sent.Name)
				}
				return nil
			})
		},
	}
	c.Flags().BoolVar(&stdin, "stdin", false, "send a value typed at a prompt or piped on stdin instead of a secret's")
	return c
}

// sendInput reads the value of a send --stdin: typed twice without echo at
// the terminal, or piped on stdin (one trailing newline stripped).
func (a *app) sendInput(to string) (vault.Value, error) {
	a.beforePrompt()
	if isTerminal(a.stdin) {
		var first, again []byte
		// The Value returned holds the one copy that lives on.
		defer func() { clear(first); clear(again) }()
		err := a.holdTerminal(func() (err error) {
			if first, err = a.tty.ReadSecret(fmt.Sprintf("Value to send to %s (not shown): ", to)); err != nil {
				return err
			}
			again, err = a.tty.ReadSecret("Same again: ")
			return err
		})
		if err != nil {
			return vault.Value{}, err
		}
		if subtle.ConstantTimeCompare(first, again) != 1 {
			return vault.Value{}, fail(vault.ErrInvalid, "the two entries differ; nothing was sent, try again")
		}
		if len(first) == 0 {
			return vault.Value{}, fail(vault.ErrInvalid, "the value is empty; type what to send")
		}
		return vault.NewValue(first), nil
	}
	b, err := io.ReadAll(io.LimitReader(a.stdin, vault.MaxValueSize+3))
	if err != nil {
		return vault.Value{}, fmt.Errorf("cannot read the value from stdin: %w", err)
	}
	b = bytes.TrimSuffix(b, []byte("\n"))
	b = bytes.TrimSuffix(b, []byte("\r"))
	if len(b) > vault.MaxValueSize {
		return vault.Value{}, fail(vault.ErrInvalid, "the value on stdin is larger than %d KiB; vault sends passwords and short secrets, not files", vault.MaxValueSize>>10)
	}
	if len(b) == 0 {
		return vault.Value{}, fail(vault.ErrInvalid, "no value on stdin; pipe it in, or run at a terminal to type it")
	}
	return vault.NewValue(b), nil
}

func (a *app) receiveCommand() *cobra.Command {
	var store string
	var print bool
	c := &cobra.Command{
		Use:   "receive [FILE]",
		Short: "Open a message 'vault send' wrote for you, and store it",
		Long: `Open a message 'vault send' wrote for you: from FILE, or pasted or piped on
stdin (at a terminal, paste it and it is read up to its END line). It says
who sent it, checked against their signature, and what it holds; then:

  --store NAME  stores it as a new secret NAME, readable by you alone, with
                the username, URL and note it came with; nothing is printed.
  --print       prints the value and a newline on stdout, and stores nothing.
  neither       with stdout on a terminal, asks for a name to store it under
                (Enter takes the name it was sent with; Ctrl-C stores nothing):
                the value is never shown on a terminal unless you ask with
                --print. With stdout not a terminal (a pipe, a file), prints
                the value there, as --print.

Exit codes: 4 when the message is for someone else's key; 1 when it is
damaged or was changed on the way, or was not signed for you by the member
it names; 2 for a wrong way of calling it.`,
		Example: `  vault receive for-kim.txt --store airtable
  vault receive                     # paste the message; asks for a name
  vault receive for-kim.txt | wl-copy`,
		Args: func(cmd *cobra.Command, got []string) error {
			if len(got) > 1 {
				return usageError{fmt.Errorf("too many arguments; usage: %s", cmd.UseLine())}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if print && cmd.Flags().Changed("store") {
				return usageError{errors.New("--store and --print go one without the other")}
			}
			if cmd.Flags().Changed("store") {
				if _, err := vault.CleanSecretName(store); err != nil {
					return usageError{fmt.Errorf("--store: %w", err)}
				}
			}
			msg, err := a.readMessage(args)
			if err != nil {
				return err
			}
			return a.withVault(func(v *vault.Vault) error {
				got, err := v.Receive(msg)
				if err != nil {
					return err
				}
				defer got.Value.Wipe()
				a.note("%s", describeReceived(got))
				switch {
				case cmd.Flags().Changed("store"):
					return a.storeReceived(v, store, got)
				case print || !isTerminal(a.stdout):
					_, err := a.stdout.Write(append(append([]byte(nil), got.Value.Bytes()...), '\n'))
					return err
				case a.tty.Available():
					return a.askAndStore(v, got)
				}
				return usageError{errors.New("the value would be printed on your terminal; say --store NAME to keep it in the vault, or --print to show it")}
			})
		},
	}
	c.Flags().StringVar(&store, "store", "", "store it as a new secret `NAME`, readable by you alone, without asking")
	c.Flags().BoolVar(&print, "print", false, "print the value on stdout, even on a terminal, and store nothing")
	return c
}

// describeReceived says what a message holds, never its value.
func describeReceived(got vault.Received) string {
	what := "a value without a name"
	if got.Name != "" {
		what = got.Name
	}
	var details []string
	if got.Username != "" {
		details = append(details, "username "+got.Username)
	}
	if got.URL != "" {
		details = append(details, got.URL)
	}
	if got.Note != "" {
		details = append(details, "a note")
	}
	if len(details) > 0 {
		what += " (" + strings.Join(details, ", ") + ")"
	}
	return fmt.Sprintf("a message from %s, signed by them and sent %s: %s", got.From, got.Sent.UTC().Format("2006-01-02 15:04 UTC"), what)
}

// storeReceived stores a received value as a new secret, readable by the
// member alone.
func (a *app) storeReceived(v *vault.Vault, name string, got vault.Received) error {
	ns := vault.NewSecret{Name: name, Username: got.Username, URL: got.URL, Note: got.Note}
	if err := a.checkStore(v, ns); err != nil {
		return err
	}
	if err := v.AddMany([]vault.Entry{{Secret: ns, Value: got.Value}}); err != nil {
		return err
	}
	s, err := v.Get(name)
	if err != nil {
		return err
	}
	a.note("stored %s, readable by you alone ('vault share %s WHO' shares it)", s.Name, s.Name)
	return nil
}

// checkStore says whether ns can be stored, in words for receive.
func (a *app) checkStore(v *vault.Vault, ns vault.NewSecret) error {
	err := v.CheckNew(ns)
	if errors.Is(err, vault.ErrExists) {
		return fail(vault.ErrExists, "there is already a secret named %q (or it is in the trash); store it under another name", ns.Name)
	}
	return err
}

// maxNameTries is how many names askAndStore asks for before giving up.
const maxNameTries = 3

// askAndStore asks at the terminal for a name to store a received value
// under, and stores it.
func (a *app) askAndStore(v *vault.Vault, got vault.Received) error {
	prompt := "Store it as (a name; Ctrl-C stores nothing): "
	if got.Name != "" {
		prompt = fmt.Sprintf("Store it as (Enter for %s, or another name; Ctrl-C stores nothing): ", got.Name)
	}
	for try := 1; try <= maxNameTries; try++ {
		// Nobody waits for the vault while a person types.
		a.beforePrompt()
		line, err := a.readLine(prompt)
		if errors.Is(err, io.EOF) {
			return fail(vault.ErrInvalid, "nothing was stored; run 'vault receive' again with the message to store it")
		}
		if err != nil {
			return err
		}
		name := strings.TrimSpace(string(line))
		if name == "" {
			name = got.Name
		}
		if name == "" {
			a.say("type a name for it, like wifi/guest")
			continue
		}
		ns := vault.NewSecret{Name: name, Username: got.Username, URL: got.URL, Note: got.Note}
		if err := a.checkStore(v, ns); err != nil {
			if try == maxNameTries || !(errors.Is(err, vault.ErrExists) || errors.Is(err, vault.ErrBadName)) {
				return err
			}
			a.say("%v", err)
			continue
		}
		return a.storeReceived(v, name, got)
	}
	return fail(vault.ErrInvalid, "nothing was stored; run 'vault receive' again with the message, and --store NAME")
}

// readMessage reads a message for receive: from the file named, else from
// stdin, capped. At a terminal, a pasted message is read up to its END
// line, so that nobody has to know to press Ctrl-D.
func (a *app) readMessage(args []string) ([]byte, error) {
	if len(args) == 1 && args[0] != "-" {
		f, err := os.Open(args[0])
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("there is no file %s; give the file the message was saved in, or paste it on stdin", args[0])
		}
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return capMessage(io.ReadAll(io.LimitReader(f, vault.MaxMessage+1)))
	}
	if !isTerminal(a.stdin) {
		return capMessage(io.ReadAll(io.LimitReader(a.stdin, vault.MaxMessage+1)))
	}
	a.say("paste the message, from its %s line to its %s line:", armor.Header, armor.Footer)
	var b []byte
	br := bufio.NewReader(io.LimitReader(a.stdin, vault.MaxMessage+1))
	for {
		line, err := br.ReadBytes('\n')
		b = append(b, line...)
		if bytes.Contains(line, []byte(armor.Footer)) || err != nil {
			break
		}
	}
	return capMessage(b, nil)
}

func capMessage(b []byte, err error) ([]byte, error) {
	if err != nil {
		return nil, fmt.Errorf("cannot read the message: %w", err)
	}
	if len(b) > vault.MaxMessage {
		return nil, fail(vault.ErrBadMessage, "that is larger than any message 'vault send' writes (%d KiB at most)", vault.MaxMessage>>10)
	}
	return b, nil
}
