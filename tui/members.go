package tui

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/mutual-aid-vault/vault/vault"
	"github.com/mutual-aid-vault/vault/vault/display"
)

// membersScreen lists the members. Admins add (by a pasted public key,
// confirmed by its fingerprint), change groups, approve the new key a
// member asked for (confirmed by its fingerprint) and remove (after seeing
// what it does); everyone else sees.
type membersScreen struct {
	sh      *shared
	width   int
	height  int
	list    *listView[memberRow]
	form    *form
	kind    string // "add" or "groups"
	formFor string // the member whose groups the form changes
	confirm *confirm
}

type memberRow struct {
	m        vault.Member
	reads    int
	inactive bool
}

type membersMsg struct {
	rows []memberRow
	err  error
}

func newMembersScreen(sh *shared) *membersScreen {
	l := newListView[memberRow]("Members", "No members.")
	l.keyOf = func(r memberRow) string { return r.m.Name }
	return &membersScreen{sh: sh, list: l}
}

func (s *membersScreen) Title() string { return "Members" }

func (s *membersScreen) SetSize(w, h int) {
	s.width, s.height = w, h
	if s.form != nil {
		s.form.width = w
	}
}

func (s *membersScreen) Capturing() bool { return s.form != nil }
func (s *membersScreen) Nested() bool    { return s.form != nil || s.confirm != nil }

func (s *membersScreen) Init() tea.Cmd { return s.load() }

func (s *membersScreen) load() tea.Cmd {
	return s.sh.call(func(v *vault.Vault) tea.Msg {
		ms, err := v.Members()
		if err != nil {
			return membersMsg{err: err}
		}
		r, err := v.Review()
		if err != nil {
			return membersMsg{err: err}
		}
		var rows []memberRow
		for _, m := range ms {
			row := memberRow{m: m}
			for _, rm := range r.Members {
				if rm.Name == m.Name {
					row.reads, row.inactive = rm.Reads, rm.Inactive
				}
			}
			rows = append(rows, row)
		}
		return membersMsg{rows: rows}
	}, func(err error) tea.Msg { return membersMsg{err: err} })
}

func (s *membersScreen) act(fn func(v *vault.Vault) (string, error)) tea.Cmd {
	return s.sh.call(func(v *vault.Vault) tea.Msg {
		text, err := fn(v)
		return doneMsg{text: text, err: err}
	}, func(err error) tea.Msg { return doneMsg{err: err} })
}

func (s *membersScreen) Update(msg tea.Msg) tea.Cmd {
	keys := s.sh.keys
	switch msg := msg.(type) {
	case membersMsg:
		rows := msg.rows
		s.list.set(rows, msg.err)
		return nil
	case reloadMsg:
		// The selection and any form stay as they are.
		return s.load()
	case doneMsg:
		if msg.err != nil {
			return failed(s.form, msg.err)
		}
		s.form, s.confirm = nil, nil
		return tea.Batch(statusCmd(msg.text, nil), s.load())
	case tea.KeyPressMsg:
		if s.confirm != nil {
			switch {
			case key.Matches(msg, keys.Yes):
				cmd := s.confirm.onYes
				s.confirm = nil
				return cmd
			case key.Matches(msg, keys.No):
				s.confirm = nil
			}
			return nil
		}
		if s.form != nil {
			res, cmd := s.form.Update(msg, keys)
			switch res {
			case formCancelled:
				s.form = nil
			case formSubmitted:
				return s.submit()
			}
			return cmd
		}
		return s.updateList(msg)
	}
	if s.form != nil {
		_, cmd := s.form.Update(msg, keys)
		return cmd
	}
	return nil
}

func (s *membersScreen) needAdmin(what string) tea.Cmd {
	return statusCmd("", fmt.Errorf("only an admin can %s; ask one of the vault's admins", what))
}

func (s *membersScreen) updateList(k tea.KeyPressMsg) tea.Cmd {
	keys := s.sh.keys
	row, have := s.list.selected()
	switch {
	case s.list.move(k, keys):
	case key.Matches(k, keys.Add):
		if !s.sh.me.Admin {
			return s.needAdmin("add members")
		}
		s.kind = "add"
		s.form = newForm("Add a member",
			newField("Name", "", "How the group knows them: a nickname is enough."),
			newField("Public key", "", "Paste what 'vault pubkey' printed for them (age1…)."),
			newField("Groups", "", "Groups, separated by commas, e.g. intake, dispatch."),
			newField("Admin", "no", "yes or no: admins add and remove members."))
		s.form.width = s.width
	case !have:
	case key.Matches(k, keys.Groups):
		if !s.sh.me.Admin {
			return s.needAdmin("change members")
		}
		s.kind, s.formFor = "groups", row.m.Name
		s.form = newForm("Groups of "+display.Line(row.m.Name),
			newField("Groups", strings.Join(row.m.Groups, ", "), "Groups, separated by commas. Secrets shared with a group follow its members."),
			newField("Admin", map[bool]string{true: "yes", false: "no"}[row.m.Admin], "yes or no"))
		s.form.width = s.width
	case key.Matches(k, keys.ApproveKey):
		if !s.sh.me.Admin {
			return s.needAdmin("replace members' keys")
		}
		kr := row.m.KeyRequest
		if kr == nil {
			return statusCmd("", fmt.Errorf("%s has not asked for a new key; they run 'vault rekey', or an admin gives the key they send with 'vault member rekey %s KEY'", row.m.Name, row.m.Name))
		}
		name := row.m.Name
		s.confirm = &confirm{
			text: fmt.Sprintf("%s asked for a new key on %s. Read them its fingerprint and ask them to compare with theirs: %s. Approve it? Their old key then opens nothing written afterwards.", name, day(kr.At), kr.Fingerprint),
			onYes: s.act(func(v *vault.Vault) (string, error) {
				r, err := v.ReplaceKey(name, vault.NewKey{})
				if err != nil {
					return "", err
				}
				out := "Gave " + name + " the new key they asked for and issued a new vault key."
				if n := len(r.Waiting) + len(r.OnlyTheirs); n > 0 {
					wait := fmt.Sprintf("%d secrets wait", n)
					if n == 1 {
						wait = "1 secret waits"
					}
					out += fmt.Sprintf(" %s to be re-encrypted for it by a reader or by %s's old key.", wait, name)
				}
				return out, nil
			}),
		}
	case key.Matches(k, keys.Remove):
		if !s.sh.me.Admin {
			return s.needAdmin("remove members")
		}
		name := row.m.Name
		text := fmt.Sprintf("Remove %s? %s can read %d secrets: they will be re-encrypted without them and marked rotate now (change those passwords at their services). A new vault key is issued.", name, name, row.reads)
		if row.reads == 1 {
			text = fmt.Sprintf("Remove %s? %s can read 1 secret: it will be re-encrypted without them and marked rotate now (change that password at its service). A new vault key is issued.", name, name)
		}
		if row.reads == 0 {
			text = fmt.Sprintf("Remove %s? They can read no secret. A new vault key is issued.", name)
		}
		s.confirm = &confirm{text: text, onYes: s.act(func(v *vault.Vault) (string, error) {
			r, err := v.RemoveMember(name, false, nil)
			if err != nil {
				return "", err
			}
			out := "Removed " + name + " and issued a new vault key."
			if len(r.RotateNow) > 0 {
				out += " Rotate now: " + strings.Join(r.RotateNow, ", ") + "."
			}
			if len(r.Waiting) > 0 {
				out += " Waiting for a reader to re-encrypt: " + joinShown(r.Waiting, ", ") + "."
			}
			return out, nil
		})}
	}
	return nil
}

// fingerprint is a short form of a public key to read aloud and compare.
func fingerprint(k string) string {
	if len(k) <= 20 {
		return k
	}
	return k[:10] + "…" + k[len(k)-8:]
}

func yes(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "y", "yes":
		return true, nil
	case "", "n", "no":
		return false, nil
	}
	return false, fmt.Errorf("write yes or no")
}

func (s *membersScreen) submit() tea.Cmd {
	f := s.form
	admin, err := yes(f.value("Admin"))
	if err != nil {
		f.err = "Admin: " + err.Error()
		return nil
	}
	groups := splitList(f.value("Groups"))
	switch s.kind {
	case "add":
		nm := vault.NewMember{Name: f.value("Name"), PublicKey: f.value("Public key"), Groups: groups, Admin: admin}
		if _, err := vault.CleanMemberName(nm.Name); err != nil {
			f.err = oneLine(err.Error())
			return nil
		}
		key, _, err := vault.ParsePublicKey(nm.PublicKey)
		if err != nil {
			f.err = oneLine(err.Error())
			return nil
		}
		s.form = nil
		s.confirm = &confirm{
			text: fmt.Sprintf("Is this %s's key? Read them these characters and ask them to compare with theirs: %s", nm.Name, fingerprint(key)),
			onYes: s.act(func(v *vault.Vault) (string, error) {
				m, err := v.AddMember(nm)
				if err != nil {
					return "", err
				}
				return "Added " + m.Name + ".", nil
			}),
		}
	case "groups":
		// The member the form was opened for, wherever the list moved
		// since (it is read again when the vault changes).
		i := slices.IndexFunc(s.list.items, func(r memberRow) bool { return r.m.Name == s.formFor })
		if i < 0 {
			f.err = s.formFor + " is no longer a member (removed meanwhile, elsewhere); nothing was changed. esc goes back."
			return nil
		}
		row := s.list.items[i]
		var add, rm []string
		for _, g := range groups {
			if !slices.Contains(row.m.Groups, strings.ToLower(strings.TrimPrefix(g, "@"))) {
				add = append(add, g)
			}
		}
		for _, g := range row.m.Groups {
			if !slices.ContainsFunc(groups, func(x string) bool { return strings.EqualFold(strings.TrimPrefix(x, "@"), g) }) {
				rm = append(rm, g)
			}
		}
		e := vault.MemberEdit{AddGroups: add, RemoveGroups: rm}
		if admin != row.m.Admin {
			e.Admin = &admin
		}
		name := row.m.Name
		return s.act(func(v *vault.Vault) (string, error) {
			m, err := v.EditMember(name, e)
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("%s: groups %s; admin %s.", m.Name, orNone(strings.Join(m.Groups, ", ")), map[bool]string{true: "yes", false: "no"}[m.Admin]), nil
		})
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func (s *membersScreen) View() string {
	st := s.sh.styles
	if s.form != nil {
		return s.form.View(st)
	}
	var b strings.Builder
	b.WriteString(s.list.View(st, s.width, max(4, s.height-6), func(r memberRow, _ bool) string {
		name := r.m.Name
		if r.m.You {
			name += " (you)"
		}
		admin := ""
		if r.m.Admin {
			admin = "admin"
		}
		active := "active " + day(r.m.LastActive)
		if r.inactive {
			active = "INACTIVE (last " + day(r.m.LastActive) + ")"
		}
		if r.m.KeyRequest != nil {
			active = "asks for a new key"
		}
		secrets := "secrets"
		if r.reads == 1 {
			secrets = "secret"
		}
		return fmt.Sprintf("%-14s %-16s %-5s %3d %-7s  %s", truncate(display.Line(name), 14), truncate(orNone(joinShown(r.m.Groups, ",")), 16), admin, r.reads, secrets, active)
	}, s.footer()))
	b.WriteString("\n")
	if s.confirm != nil {
		b.WriteString("\n" + st.Heading.Render(wrap(s.confirm.text, max(20, s.width-2))) + "\n" + st.Faint.Render("y yes · n no"))
		return b.String()
	}
	if r, ok := s.list.selected(); ok {
		b.WriteString("\n" + st.Label.Render("public key") + fingerprint(r.m.PublicKey) + "\n")
		b.WriteString(st.Label.Render("added") + day(r.m.Added) + " by " + display.Line(r.m.AddedBy) + "\n")
		if kr := r.m.KeyRequest; kr != nil {
			b.WriteString(st.Label.Render("new key") + "asked for on " + day(kr.At) + ", fingerprint " + kr.Fingerprint + "\n")
		}
	}
	return b.String()
}

// keyAsked reports whether a member asked for a new key: only then is
// the key to approve one offered.
func (s *membersScreen) keyAsked() bool {
	return slices.ContainsFunc(s.list.items, func(r memberRow) bool { return r.m.KeyRequest != nil })
}

func (s *membersScreen) footer() string {
	if s.sh.me.Admin && s.keyAsked() {
		return "a add · g groups/admin · K approve new key · d remove"
	}
	if s.sh.me.Admin {
		return "a add · g groups/admin · d remove"
	}
	return "Only admins change members."
}

func day(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format(time.DateOnly)
}

// indent puts prefix before every line of s.
func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}

// wrap breaks text into lines of at most width cells, at spaces. Each word
// is shown with display.Line: messages quote names from the vault.
func wrap(text string, width int) string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(text) {
		w = display.Line(w)
		if line != "" && len([]rune(line))+1+len([]rune(w)) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	return strings.Join(append(lines, line), "\n")
}

func (s *membersScreen) ShortHelp() []key.Binding {
	k := s.sh.keys
	switch {
	case s.confirm != nil:
		return []key.Binding{k.Yes, k.No}
	case s.form != nil:
		return []key.Binding{k.NextItem, k.Submit, k.Back}
	case s.sh.me.Admin && s.keyAsked():
		return []key.Binding{k.Up, k.Down, k.Add, k.Groups, k.ApproveKey, k.Remove, k.NextScreen, k.Quit}
	case s.sh.me.Admin:
		return []key.Binding{k.Up, k.Down, k.Add, k.Groups, k.Remove, k.NextScreen, k.Quit}
	}
	return []key.Binding{k.Up, k.Down, k.NextScreen, k.Quit}
}

func (s *membersScreen) FullHelp() [][]key.Binding {
	return [][]key.Binding{s.ShortHelp(), {s.sh.keys.Help}}
}
