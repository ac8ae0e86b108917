package tui

import (
	"strings"
	"unicode"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/mutual-aid-vault/vault/vault"
)

// setupDoneMsg ends the first-run screen: either an identity to go on with,
// or a new identity file to read.
type setupDoneMsg struct {
	identity     *vault.Identity
	identityPath string
	err          error
}

// setupScreen is the first run: no identity yet (make one, or point to an
// existing file), or no vault yet (join the group's, as 'vault join' does,
// or create one), or a vault whose members do not include this key yet
// (send the public key line to an admin).
type setupScreen struct {
	sh        *shared
	noVault   bool
	notMember bool
	identity  *vault.Identity
	// joined is what joining did, when the member joined here.
	joined   *JoinResult
	form     *form
	formKind string // "identity", "path", "vault" or "join"
	busy     bool
	err      string
	status   string
	width    int
}

// joinedMsg is the outcome of joining the group's vault.
type joinedMsg struct {
	res JoinResult
	err error
}

func newIdentitySetup(sh *shared) *setupScreen { return &setupScreen{sh: sh} }

func newNoVaultSetup(sh *shared, id *vault.Identity) *setupScreen {
	return &setupScreen{sh: sh, noVault: true, identity: id}
}

func newNotMemberSetup(sh *shared, id *vault.Identity, joined *JoinResult) *setupScreen {
	return &setupScreen{sh: sh, notMember: true, identity: id, joined: joined}
}

func (s *setupScreen) SetSize(w, _ int) {
	s.width = w
	if s.form != nil {
		s.form.width = w
	}
}

// strengthHint says, without judging harshly, how good a passphrase is.
func strengthHint(p []byte) string {
	words := len(strings.Fields(string(p)))
	classes := 0
	for _, f := range []func(rune) bool{unicode.IsLower, unicode.IsUpper, unicode.IsDigit, unicode.IsPunct} {
		if strings.IndexFunc(string(p), f) >= 0 {
			classes++
		}
	}
	switch {
	case len(p) == 0:
		return "Four or five random words make a strong passphrase that is easy to type."
	case len(p) < 8:
		return "Too short: at least 8 characters. Four or five random words work well."
	case words >= 4 || len(p) >= 20 || (len(p) >= 14 && classes >= 3):
		return "Strong."
	case len(p) >= 12:
		return "Fair. A few more words would make it strong."
	}
	return "Weak: longer is better. Four or five random words work well."
}

func (s *setupScreen) Update(msg tea.Msg) tea.Cmd {
	keys := s.sh.keys
	if m, ok := msg.(setupErrMsg); ok {
		s.busy, s.err = false, oneLine(m.err.Error())
		return nil
	}
	if s.busy {
		return nil
	}
	if s.form != nil {
		res, cmd := s.form.Update(msg, keys)
		switch res {
		case formCancelled:
			s.form, s.err = nil, ""
			return nil
		case formSubmitted:
			return s.submit()
		}
		if s.formKind == "identity" {
			s.form.fields[0].hint = strengthHint(s.form.secret("Passphrase").Value())
		}
		return cmd
	}
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil
	}
	switch {
	case key.Matches(k, keys.Quit), key.Matches(k, keys.Back):
		return tea.Quit
	case s.notMember:
		// Only copy and quit here.
		if key.Matches(k, keys.Copy) {
			s.status = "Copied your public key line. It is safe to share."
			return s.sh.copyValue([]byte(s.identity.PublicKey()))
		}
	case !s.noVault && k.String() == "n":
		s.formKind = "identity"
		s.form = newForm("A new identity, protected by a passphrase",
			newSecretField("Passphrase", strengthHint(nil)),
			newSecretField("Again", "Type it once more."))
	case !s.noVault && k.String() == "o":
		s.formKind = "path"
		s.form = newForm("Use an identity file you already have",
			newField("File", s.sh.opts.IdentityPath, "The path of your identity file (made by 'vault keygen' or age-keygen)."))
	case s.noVault && k.String() == "j" && s.sh.opts.Join != nil:
		s.formKind = "join"
		s.form = newForm("Join your group's vault",
			newField("File or URL", "", "The group's vault file (e.g. ~/Downloads/eastside.db), or the address of its git repository (https://…, git@host:group/vault.git). Ask an admin which."))
	case s.noVault && k.String() == "n":
		s.formKind = "vault"
		s.form = newForm("A new vault for your group",
			newField("Group", "", "The vault's name, e.g. your group's."),
			newField("Your name", "", "How the group knows you: a nickname is enough."))
	case s.noVault && key.Matches(k, keys.Copy):
		s.status = "Copied your public key line. It is safe to share."
		return s.sh.copyValue([]byte(s.identity.PublicKey()))
	}
	if s.form != nil {
		s.form.width = s.width
	}
	return nil
}

type setupErrMsg struct{ err error }

func (s *setupScreen) submit() tea.Cmd {
	opts := s.sh.opts
	switch s.formKind {
	case "identity":
		a, b := s.form.secret("Passphrase").Value(), s.form.secret("Again").Value()
		switch {
		case len(a) < 8:
			s.form.err = "The passphrase must be at least 8 characters."
			return nil
		case string(a) != string(b):
			s.form.err = "The two passphrases differ. Type them again."
			s.form.wipe()
			s.form.setFocus(0)
			return nil
		}
		pass := vault.NewValue(a)
		s.form.wipe()
		s.busy = true
		return func() tea.Msg {
			id, err := vault.GenerateIdentity(vault.Classic)
			if err == nil {
				err = vault.WriteIdentity(opts.IdentityPath, id, pass, vault.IdentityOptions{ScryptWorkFactor: opts.ScryptWorkFactor})
			}
			pass.Wipe()
			if err != nil {
				return setupErrMsg{err}
			}
			return setupDoneMsg{identity: id}
		}
	case "path":
		p := s.form.value("File")
		if p == "" {
			s.form.err = "Type the path of your identity file."
			return nil
		}
		return func() tea.Msg { return setupDoneMsg{identityPath: p} }
	case "join":
		src := s.form.value("File or URL")
		if src == "" {
			s.form.err = "Type the path of the group's vault file, or the address of its git repository."
			return nil
		}
		id, join := s.identity, opts.Join
		s.form.err = ""
		s.busy = true
		return func() tea.Msg {
			res, err := join(src, id)
			return joinedMsg{res: res, err: err}
		}
	case "vault":
		group, me := s.form.value("Group"), s.form.value("Your name")
		if me == "" {
			s.form.err = "Type your name in the group (a nickname is enough)."
			return nil
		}
		id := s.identity
		s.busy = true
		return func() tea.Msg {
			v, err := vault.Create(opts.VaultPath, vault.CreateOptions{
				Options: vault.Options{Identity: id, Clock: opts.Clock, StateDir: opts.StateDir},
				Name:    group, MemberName: me, PublicKey: id.PublicKey(), Kind: id.Kind(),
			})
			if err != nil {
				return setupErrMsg{err}
			}
			v.Close()
			return setupDoneMsg{identity: id}
		}
	}
	return nil
}

func (s *setupScreen) View() string {
	st := s.sh.styles
	var b strings.Builder
	switch {
	case s.busy && s.formKind == "join":
		return wrapAll(st.Faint.Render("Joining… (a git repository takes a moment to clone)"), s.textWidth())
	case s.busy:
		b.WriteString(st.Faint.Render("Working…"))
		return b.String()
	case s.form != nil:
		b.WriteString(s.form.View(st))
	case s.notMember:
		if s.joined != nil {
			for _, d := range s.joined.Done {
				b.WriteString("✓ " + d + "\n")
			}
			b.WriteString("\n")
		}
		b.WriteString("You are not a member of the vault at " + s.sh.opts.VaultPath + " yet.\n\n")
		b.WriteString("Send this line to an admin of the group (it is safe to share by chat or email):\n\n")
		b.WriteString(st.Value.Render(wrapKey(s.identity.PublicKey(), s.textWidth())) + "\n\n")
		b.WriteString("Read them its fingerprint, by phone or in person:\n" + st.Value.Render(s.identity.Fingerprint()) + "\n\n")
		next := "the change has reached your copy ('vault sync' fetches it when the group uses git)"
		if s.joined != nil && s.joined.Next != "" {
			next = s.joined.Next
		}
		b.WriteString("Once they have added you, " + next + ": the vault then opens here by itself (or start vault again later).\n\n")
		b.WriteString("  c  copy your public key line\n")
		b.WriteString("  q  quit")
	case !s.noVault:
		b.WriteString("Welcome. You have no identity yet: the key that lets you read the\n")
		b.WriteString("passwords your group shares with you.\n\n")
		b.WriteString("  n  make a new identity, protected by a passphrase\n")
		b.WriteString("  o  use an identity file you already have\n\n")
		b.WriteString(st.Faint.Render("It will be saved in " + s.sh.opts.IdentityPath + " (only you can read it)."))
	default:
		b.WriteString("There is no vault at " + s.sh.opts.VaultPath + " yet.\n\n")
		if s.sh.opts.Join != nil {
			b.WriteString(st.Heading.Render("Joining a group?") + " Ask an admin for the group's vault file or git address, and press j (or run 'vault join FILE_OR_GIT_URL'):\n")
		} else {
			b.WriteString(st.Heading.Render("Joining a group?") + " Ask an admin for the group's vault file or git address, and run:\n")
			b.WriteString(st.Value.Render("  vault join FILE_OR_GIT_URL") + "\n")
		}
		b.WriteString("It tells you what to send them: this public key line (safe to share by chat or email) and its fingerprint, to read to them by phone or in person.\n\n")
		b.WriteString(st.Value.Render(wrapKey(s.identity.PublicKey(), s.textWidth())) + "\n")
		b.WriteString("Its fingerprint:\n" + st.Value.Render(s.identity.Fingerprint()) + "\n\n")
		b.WriteString(st.Heading.Render("Starting a vault for your group?") + " Press n, or run:\n")
		b.WriteString(st.Value.Render("  vault init --name \"Group name\" --me YOUR-NAME") + "\n\n")
		if s.sh.opts.Join != nil {
			b.WriteString("  j  join your group's vault (its file or git address)\n")
		}
		b.WriteString("  c  copy your public key line\n")
		b.WriteString("  n  start a new vault (you will be its first admin)\n")
		b.WriteString("  q  quit")
	}
	if s.err != "" {
		b.WriteString("\n\n" + st.Error.Render(wrapAll(s.err, s.textWidth())))
	}
	if s.status != "" {
		b.WriteString("\n\n" + st.Status.Render(wrapAll(s.status, s.textWidth())))
	}
	if s.form != nil {
		return b.String()
	}
	return wrapAll(b.String(), s.textWidth())
}

// wrapAll wraps lines longer than width (a long path, a narrow terminal)
// at spaces, and breaks words longer than the width: nothing is cut off.
// ansi.Wrap may leave a space at the end of a line one cell past the
// width; only that is cut.
func wrapAll(s string, width int) string {
	lines := strings.Split(ansi.Wrap(s, width, ""), "\n")
	for i, l := range lines {
		if ansi.StringWidth(l) > width {
			lines[i] = ansi.Truncate(l, width, "")
		}
	}
	return strings.Join(lines, "\n")
}

// textWidth is the width text on the screen is wrapped to.
func (s *setupScreen) textWidth() int {
	if s.width <= 0 {
		return 80
	}
	return max(10, s.width)
}

// wrapKey breaks a long public key (post-quantum keys are 2,000 characters)
// into lines of width.
func wrapKey(k string, width int) string {
	var lines []string
	for len(k) > width {
		lines = append(lines, k[:width])
		k = k[width:]
	}
	return strings.Join(append(lines, k), "\n")
}

// joinDone goes on after joining: an error stays in the form, with what
// was typed, to try again; else the vault opens (or says what to send an
// admin, and opens by itself once they have added the member).
func (m Model) joinDone(msg joinedMsg) (tea.Model, tea.Cmd) {
	if m.state != stateSetup || m.setup == nil {
		return m, nil
	}
	s := m.setup
	s.busy = false
	if msg.err != nil {
		if s.form != nil {
			s.form.err = oneLine(msg.err.Error())
		} else {
			s.err = oneLine(msg.err.Error())
		}
		return m, nil
	}
	res := msg.res
	m.joined = &res
	m.sh.opts.VaultPath = res.VaultPath
	m.state = stateOpening
	return m, m.open(m.identity)
}

// setupDone goes on from the first-run screen.
func (m Model) setupDone(msg setupDoneMsg) (tea.Model, tea.Cmd) {
	if msg.err != nil {
		m.state, m.failure = stateFailed, msg.err
		return m, nil
	}
	m.setup = nil
	if msg.identityPath != "" {
		m.sh.opts.IdentityPath = msg.identityPath
		m.state = stateStarting
		return m, m.readIdentity(nil)
	}
	return m.gotIdentity(identityMsg{id: msg.identity})
}
