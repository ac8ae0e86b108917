package tui

import (
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/mutual-aid-vault/vault/rotation"
	"github.com/mutual-aid-vault/vault/vault"
	"github.com/mutual-aid-vault/vault/vault/display"
)

// secretsMode is what the secrets screen is doing.
type secretsMode int

const (
	modeList secretsMode = iota
	modeFilter
	modeForm
	modeConfirm
	modeRotate
	modeShare
	modeHistory
	modeTrash
)

// Messages of the secrets screen.
type (
	overviewMsg struct {
		items []vault.Summary
		err   error
		// reload is set when the list is read again because the vault
		// changed: the selection, a value on screen and any dialog stay.
		reload bool
	}
	detailMsg struct {
		name   string
		secret vault.Secret
		err    error
	}
	// valueMsg carries a decrypted value to show or to copy, and the
	// two-factor seed that goes with a value to show.
	valueMsg struct {
		name    string
		pending bool
		copy    bool
		val     vault.Value
		totp    vault.TOTP
		err     error
	}
	// codeMsg carries a two-factor code to copy.
	codeMsg struct {
		name string
		code vault.Value
		left time.Duration
		err  error
	}
	hideMsg struct{ gen int }
	// codeTickMsg redraws the two-factor code on screen.
	codeTickMsg struct{ gen int }
	// doneMsg is the outcome of a change: a status line, and what to show.
	doneMsg struct {
		text  string
		err   error
		focus string // the secret to select once the list reloads
	}
)

// secretsScreen lists the secrets, most urgent first, with the selected
// one's details below; every action on a secret starts here.
type secretsScreen struct {
	sh     *shared
	width  int
	height int

	items []vault.Summary
	shown []int // indexes into items that pass the filter
	// similar are the names the filter may have been meant for, when it
	// matches none.
	similar []string
	cursor  int
	offset  int
	loaded  bool
	loadErr string

	filter lineInput
	mode   secretsMode

	detail    *vault.Secret
	detailFor string

	// revealed is the value on screen, if any: only ever one, only for
	// revealFor, and wiped when hidden.
	revealed    *vault.Value
	revealedFor string
	revealedPen bool
	revealGen   int
	// totp is the seed of the value on screen, if it has one: its code
	// shows with the value, with its countdown.
	totp vault.TOTP

	form     *form
	formKind string
	formFor  string
	confirm  *confirm
	share    *sharePicker
	history  *listView[vault.Version]
	trash    *listView[vault.Secret]
	// historyFor is the secret whose history is open.
	historyFor    string
	pendingSelect string
	// formRestore is set when the secret being edited went to the trash
	// meanwhile (elsewhere): saving restores it with the edit.
	formRestore bool
}

// goneMsg says what became of a secret that went away (elsewhere) while
// it was being worked on here.
type goneMsg struct {
	name    string
	text    string
	trashed bool
}

// confirm is a yes/no question before something that cannot be taken back
// lightly.
type confirm struct {
	text  string
	onYes tea.Cmd
}

func newSecretsScreen(sh *shared) *secretsScreen {
	f := newLineInput()
	f.Prompt = "/"
	f.Placeholder = "type to filter"
	return &secretsScreen{sh: sh, filter: f}
}

func (s *secretsScreen) Title() string { return "Secrets" }

func (s *secretsScreen) SetSize(w, h int) {
	s.width, s.height = w, h
	s.filter.SetWidth(max(10, min(40, w-20)))
	if s.form != nil {
		s.form.width = w
	}
}

func (s *secretsScreen) Nested() bool { return s.mode != modeList }

func (s *secretsScreen) Capturing() bool {
	switch s.mode {
	case modeFilter, modeForm:
		return true
	}
	return false
}

func (s *secretsScreen) Init() tea.Cmd { return s.load() }

// load reads the summaries of every secret.
func (s *secretsScreen) load() tea.Cmd {
	return s.sh.call(func(v *vault.Vault) tea.Msg {
		items, err := v.Overview()
		return overviewMsg{items: items, err: err}
	}, func(err error) tea.Msg { return overviewMsg{err: err} })
}

// reload reads the summaries again after the vault changed.
func (s *secretsScreen) reload() tea.Cmd {
	return s.sh.call(func(v *vault.Vault) tea.Msg {
		items, err := v.Overview()
		return overviewMsg{items: items, err: err, reload: true}
	}, func(err error) tea.Msg { return overviewMsg{err: err, reload: true} })
}

// loadDetail reads one secret's details.
func (s *secretsScreen) loadDetail(name string) tea.Cmd {
	return s.sh.call(func(v *vault.Vault) tea.Msg {
		sec, err := v.Get(name)
		return detailMsg{name: name, secret: sec, err: err}
	}, func(err error) tea.Msg { return detailMsg{name: name, err: err} })
}

func (s *secretsScreen) selected() (vault.Summary, bool) {
	if s.cursor < 0 || s.cursor >= len(s.shown) {
		return vault.Summary{}, false
	}
	return s.items[s.shown[s.cursor]], true
}

// applyFilter recomputes which secrets show, keeping the selection when it
// still shows.
func (s *secretsScreen) applyFilter() {
	s.applyFilterKeeping(s.selectedName())
}

// selectedName is the name of the selected secret, or "".
func (s *secretsScreen) selectedName() string {
	cur, _ := s.selected()
	return cur.Name
}

// setItems replaces the list (read again), keeping the selection on the
// same secret when it still shows; it reports whether it does.
func (s *secretsScreen) setItems(items []vault.Summary) bool {
	keep := s.selectedName()
	s.items = items
	s.applyFilterKeeping(keep)
	return keep != "" && s.selectedName() == keep
}

// applyFilterKeeping recomputes which secrets show, selecting keep when it
// shows (else the first).
func (s *secretsScreen) applyFilterKeeping(keep string) {
	q := strings.ToLower(strings.TrimSpace(s.filter.Value()))
	s.shown = s.shown[:0]
	for i, it := range s.items {
		if q == "" || strings.Contains(strings.ToLower(it.Name), q) {
			s.shown = append(s.shown, i)
		}
	}
	s.similar = nil
	if len(s.shown) == 0 && q != "" {
		names := make([]string, len(s.items))
		for i, it := range s.items {
			names[i] = it.Name
		}
		s.similar = vault.SimilarNames(q, names)
	}
	s.cursor = 0
	for i, idx := range s.shown {
		if s.items[idx].Name == keep {
			s.cursor = i
		}
	}
	s.scroll()
}

// listHeight is how many rows of the list fit above the details.
func (s *secretsScreen) listHeight() int {
	return max(3, s.height-detailHeight-2)
}

const detailHeight = 10

func (s *secretsScreen) scroll() {
	h := s.listHeight()
	if s.cursor < s.offset {
		s.offset = s.cursor
	}
	if s.cursor >= s.offset+h {
		s.offset = s.cursor - h + 1
	}
	s.offset = max(0, min(s.offset, len(s.shown)-h))
}

// hide takes the value off the screen and wipes it.
func (s *secretsScreen) hide() {
	if s.revealed != nil {
		s.revealed.Wipe()
	}
	s.revealed, s.revealedFor, s.revealedPen = nil, "", false
	s.totp = vault.TOTP{}
	s.revealGen++
}

// moved reacts to a new selection: hide the value, load the details.
func (s *secretsScreen) moved() tea.Cmd {
	s.hide()
	s.scroll()
	cur, ok := s.selected()
	if !ok || cur.Name == s.detailFor {
		return nil
	}
	s.detail, s.detailFor = nil, ""
	return s.loadDetail(cur.Name)
}

func (s *secretsScreen) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case leaveMsg:
		s.hide()
		return nil
	case reloadMsg:
		cmds := []tea.Cmd{s.reload()}
		switch {
		case s.mode == modeHistory && s.history != nil:
			cmds = append(cmds, s.loadHistory(s.historyFor))
		case s.mode == modeTrash && s.trash != nil:
			cmds = append(cmds, s.loadTrash())
		case s.mode == modeShare && s.share != nil:
			cmds = append(cmds, s.share.load())
		}
		return tea.Batch(cmds...)
	case goneMsg:
		return s.gone(msg)
	case overviewMsg:
		s.loaded = true
		if msg.err != nil {
			s.loadErr = oneLine(msg.err.Error())
			return nil
		}
		s.loadErr = ""
		if msg.reload {
			return s.reloaded(msg.items)
		}
		s.setItems(msg.items)
		if s.pendingSelect != "" {
			for i, idx := range s.shown {
				if s.items[idx].Name == s.pendingSelect {
					s.cursor = i
				}
			}
			s.pendingSelect = ""
			s.scroll()
		}
		s.detailFor = ""
		return s.moved()
	case detailMsg:
		if cur, ok := s.selected(); ok && cur.Name == msg.name {
			if msg.err != nil {
				return statusCmd("", msg.err)
			}
			sec := msg.secret
			if old := s.detail; old != nil && old.Name == sec.Name && (old.Version != sec.Version || old.PendingVersion != sec.PendingVersion) {
				// Its value changed elsewhere: the one on screen is stale.
				s.hide()
			}
			s.detail, s.detailFor = &sec, msg.name
		}
		return nil
	case valueMsg:
		if msg.err != nil {
			return statusCmd("", msg.err)
		}
		if msg.copy {
			what := "password"
			if msg.pending {
				what = "new password"
			}
			cmd := s.sh.copySecret(msg.val.Bytes(), msg.name+"'s "+what, "")
			msg.val.Wipe()
			return cmd
		}
		s.hide()
		v := msg.val
		s.revealed, s.revealedFor, s.revealedPen = &v, msg.name, msg.pending
		s.totp = msg.totp
		gen := s.revealGen
		hide := tea.Tick(s.sh.revealFor(), func(time.Time) tea.Msg { return hideMsg{gen} })
		if s.totp.IsZero() {
			return hide
		}
		return tea.Batch(hide, s.codeTick())
	case hideMsg:
		if msg.gen == s.revealGen {
			s.hide()
		}
		return nil
	case codeTickMsg:
		if msg.gen == s.revealGen && !s.totp.IsZero() {
			return s.codeTick()
		}
		return nil
	case codeMsg:
		if msg.err != nil {
			return statusCmd("", msg.err)
		}
		cmd := s.sh.copySecret(msg.code.Bytes(), msg.name+"'s two-factor code", ", valid "+seconds(msg.left)+" more")
		msg.code.Wipe()
		return cmd
	case doneMsg:
		if msg.err != nil {
			if s.form != nil && s.formKind == "edit" {
				s.formRestore = errors.Is(msg.err, vault.ErrInTrash)
			}
			return failed(s.form, msg.err)
		}
		s.form, s.confirm = nil, nil
		if s.mode == modeForm || s.mode == modeConfirm {
			s.mode = modeList
		}
		s.pendingSelect = msg.focus
		s.detailFor = ""
		cmds := []tea.Cmd{statusCmd(msg.text, nil), s.load()}
		switch s.mode {
		case modeHistory:
			cmds = append(cmds, s.loadHistory(s.historyFor))
		case modeTrash:
			cmds = append(cmds, s.loadTrash())
		}
		return tea.Batch(cmds...)
	case historyMsg:
		if s.history != nil {
			s.history.set(msg.items, msg.err)
		}
		return nil
	case trashMsg:
		if s.trash != nil {
			s.trash.set(msg.items, msg.err)
		}
		return nil
	case shareDataMsg:
		if s.share != nil {
			s.share.loaded(msg)
		}
		return nil
	case dialogDetailMsg:
		if (s.mode == modeRotate || s.mode == modeShare) && s.detail != nil && s.detail.Name == msg.secret.Name {
			sec := msg.secret
			if s.detail.Version != sec.Version || s.detail.PendingVersion != sec.PendingVersion {
				s.hide()
			}
			s.detail = &sec
			if s.share != nil {
				s.share.secret = sec
			}
		}
		return nil
	}
	switch s.mode {
	case modeFilter:
		return s.updateFilter(msg)
	case modeForm:
		return s.updateForm(msg)
	case modeConfirm:
		return s.updateConfirm(msg)
	case modeRotate:
		return s.updateRotate(msg)
	case modeShare:
		return s.updateShare(msg)
	case modeHistory:
		return s.updateHistory(msg)
	case modeTrash:
		return s.updateTrash(msg)
	}
	return s.updateList(msg)
}

// failed shows an error in the open form, if any, else on the status line.
func failed(f *form, err error) tea.Cmd {
	if f != nil {
		f.err = oneLine(err.Error())
		return nil
	}
	return statusCmd("", err)
}

func statusCmd(text string, err error) tea.Cmd {
	return func() tea.Msg { return statusMsg{text: text, err: err} }
}

func (s *secretsScreen) updateList(msg tea.Msg) tea.Cmd {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil
	}
	keys := s.sh.keys
	cur, have := s.selected()
	switch {
	case key.Matches(k, keys.Up):
		if s.cursor > 0 {
			s.cursor--
			return s.moved()
		}
	case key.Matches(k, keys.Down):
		if s.cursor < len(s.shown)-1 {
			s.cursor++
			return s.moved()
		}
	case key.Matches(k, keys.PgUp):
		s.cursor = max(0, s.cursor-s.listHeight())
		return s.moved()
	case key.Matches(k, keys.PgDown):
		s.cursor = max(0, min(len(s.shown)-1, s.cursor+s.listHeight()))
		return s.moved()
	case key.Matches(k, keys.Top):
		s.cursor = 0
		return s.moved()
	case key.Matches(k, keys.Bottom):
		s.cursor = max(0, len(s.shown)-1)
		return s.moved()
	case key.Matches(k, keys.Filter):
		s.hide()
		s.mode = modeFilter
		return s.filter.Focus()
	case key.Matches(k, keys.Back):
		if s.filter.Value() != "" {
			s.filter.SetValue("")
			s.applyFilter()
			return s.moved()
		}
	case key.Matches(k, keys.Add):
		s.hide()
		s.openAddForm()
	case key.Matches(k, keys.Trash):
		s.hide()
		s.mode = modeTrash
		s.trash = newListView[vault.Secret]("Trash", "Nothing is in the trash.")
		s.trash.keyOf = func(sec vault.Secret) string { return sec.Name }
		return s.loadTrash()
	case !have:
		return nil
	case key.Matches(k, keys.Reveal):
		if s.revealed != nil && s.revealedFor == cur.Name {
			s.hide()
			return nil
		}
		return s.fetchValue(cur, false, false)
	case key.Matches(k, keys.Copy):
		return s.fetchValue(cur, false, true)
	case key.Matches(k, keys.OTP):
		return s.copyCode(cur)
	case key.Matches(k, keys.Edit):
		if s.detail == nil {
			return nil
		}
		s.hide()
		s.openEditForm(*s.detail)
	case key.Matches(k, keys.Delete):
		s.hide()
		s.ask(fmt.Sprintf("Move %s to the trash? It can be brought back from the trash (t).", cur.Name), s.act(func(v *vault.Vault) (string, error) {
			return "Moved " + cur.Name + " to the trash.", v.Remove(cur.Name)
		}, ""))
	case key.Matches(k, keys.Rotate):
		if s.detail == nil {
			return nil
		}
		s.hide()
		s.mode = modeRotate
	case key.Matches(k, keys.Share):
		if s.detail == nil {
			return nil
		}
		s.hide()
		s.mode = modeShare
		s.share = newSharePicker(s.sh, *s.detail)
		return s.share.load()
	case key.Matches(k, keys.History):
		s.hide()
		s.mode = modeHistory
		s.history, s.historyFor = newListView[vault.Version]("History of "+display.Line(cur.Name), "No versions."), cur.Name
		s.history.keyOf = func(ver vault.Version) string { return strconv.Itoa(ver.N) }
		return s.loadHistory(cur.Name)
	}
	return nil
}

// fetchValue decrypts the selected secret's value (or pending value) to
// show or to copy.
func (s *secretsScreen) fetchValue(cur vault.Summary, pending, copy bool) tea.Cmd {
	if !cur.CanRead && !pending {
		return statusCmd("", fmt.Errorf("you are not a reader of %s; ask one of its readers or an admin to share it with you", cur.Name))
	}
	name := cur.Name
	return s.sh.call(func(v *vault.Vault) tea.Msg {
		var val vault.Value
		var totp vault.TOTP
		var err error
		if pending {
			val, err = v.RevealPending(name)
		} else {
			val, err = v.Reveal(name, 0)
			if err == nil && !copy {
				var terr error
				if totp, terr = v.TOTP(name, 0); terr != nil && !errors.Is(terr, vault.ErrNoTOTP) {
					val.Wipe()
					return valueMsg{name: name, err: terr}
				}
			}
		}
		return valueMsg{name: name, pending: pending, copy: copy, val: val, totp: totp, err: err}
	}, func(err error) tea.Msg { return valueMsg{name: name, err: err} })
}

// copyCode copies the selected secret's current two-factor code.
func (s *secretsScreen) copyCode(cur vault.Summary) tea.Cmd {
	if !cur.CanRead {
		return statusCmd("", fmt.Errorf("you are not a reader of %s; ask one of its readers or an admin to share it with you", cur.Name))
	}
	name, now := cur.Name, s.sh.now
	return s.sh.call(func(v *vault.Vault) tea.Msg {
		totp, err := v.TOTP(name, 0)
		if err != nil {
			return codeMsg{name: name, err: err}
		}
		code, left := totp.Code(now())
		return codeMsg{name: name, code: vault.NewValue([]byte(code)), left: left}
	}, func(err error) tea.Msg { return codeMsg{name: name, err: err} })
}

// codeTick redraws the code on screen each second while it shows.
func (s *secretsScreen) codeTick() tea.Cmd {
	gen := s.revealGen
	return tea.Tick(time.Second, func(time.Time) tea.Msg { return codeTickMsg{gen} })
}

// seconds shows a countdown in whole seconds, rounded up.
func seconds(d time.Duration) string {
	return fmt.Sprintf("%ds", int((d+time.Second-1)/time.Second))
}

// act runs a change in a command and reports it.
func (s *secretsScreen) act(fn func(v *vault.Vault) (string, error), selectAfter string) tea.Cmd {
	return s.sh.call(func(v *vault.Vault) tea.Msg {
		text, err := fn(v)
		return doneMsg{text: text, err: err, focus: selectAfter}
	}, func(err error) tea.Msg { return doneMsg{err: err} })
}

func (s *secretsScreen) ask(text string, onYes tea.Cmd) {
	s.confirm = &confirm{text: display.Line(text), onYes: onYes}
	s.mode = modeConfirm
}

func (s *secretsScreen) updateConfirm(msg tea.Msg) tea.Cmd {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil
	}
	switch {
	case key.Matches(k, s.sh.keys.Yes):
		cmd := s.confirm.onYes
		s.confirm = nil
		s.mode = s.returnMode()
		return cmd
	case key.Matches(k, s.sh.keys.No):
		s.confirm = nil
		s.mode = s.returnMode()
	}
	return nil
}

// returnMode is where a dialog goes back to: the history or trash view it
// came from, or the list.
func (s *secretsScreen) returnMode() secretsMode {
	switch {
	case s.trash != nil:
		return modeTrash
	case s.history != nil:
		return modeHistory
	}
	return modeList
}

func (s *secretsScreen) updateFilter(msg tea.Msg) tea.Cmd {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		switch k.String() {
		case "esc":
			s.filter.SetValue("")
			s.filter.Blur()
			s.mode = modeList
			s.applyFilter()
			return s.moved()
		case "enter":
			s.filter.Blur()
			s.mode = modeList
			return s.moved()
		case "up", "down":
			s.mode = modeList
			s.filter.Blur()
			return s.updateList(msg)
		}
	}
	var cmd tea.Cmd
	s.filter, cmd = s.filter.Update(msg)
	s.applyFilter()
	return tea.Batch(cmd, s.moved())
}

func (s *secretsScreen) openAddForm() {
	s.formKind = "add"
	s.form = newForm("Add a secret",
		newField("Name", "", "Up to 128 characters; '/' groups, e.g. intake/call-log."),
		newField("Username", "", "The login name at the service."),
		newField("URL", "", "Where to log in."),
		newField("Note", "", "Every member can see notes: never put a password here."),
		newField("Share with", "", "Member names and @groups, separated by commas. You always read what you add."),
		newSecretField("Password", "Type or paste it (it stays hidden), or leave empty to generate a strong one."),
		newField("Rotate every", "6mo", "How often it must change: 6mo, 90d, 1y…"),
		newField("Last changed", "", "When it was last changed at the service, YYYY-MM-DD (empty: today)."),
	)
	s.form.width = s.width
	s.mode = modeForm
}

func (s *secretsScreen) openEditForm(d vault.Secret) {
	s.formKind, s.formFor, s.formRestore = "edit", d.Name, false
	symbols := d.Rules.Symbols
	if d.Rules.NoSymbols {
		symbols = "none"
	}
	length := ""
	if d.Rules.Length != 0 {
		length = strconv.Itoa(d.Rules.Length)
	}
	s.form = newForm("Edit "+display.Line(d.Name),
		newField("Username", d.Username, "The login name at the service."),
		newField("URL", d.URL, "Where to log in."),
		newField("Note", d.Note, "Every member can see notes: never put a password here."),
		newField("Rotate every", d.RotateEvery.String(), "How often it must change: 6mo, 90d, 1y…"),
		newField("Last changed", d.LastRotated.UTC().Format(time.DateOnly), "When it was last changed at the service, YYYY-MM-DD."),
		newField("Length", length, fmt.Sprintf("Site rules: length of generated passwords (empty: %d).", rotation.DefaultLength)),
		newField("Symbols", symbols, "Site rules: the symbols the site accepts, 'none', or empty for the usual ones."),
	)
	s.form.width = s.width
	s.mode = modeForm
}

func (s *secretsScreen) updateForm(msg tea.Msg) tea.Cmd {
	res, cmd := s.form.Update(msg, s.sh.keys)
	switch res {
	case formCancelled:
		s.form = nil
		s.mode = modeList
		return nil
	case formSubmitted:
		if s.formKind == "add" {
			return s.submitAdd()
		}
		return s.submitEdit()
	}
	return cmd
}

func parseOptionalDate(text string) (time.Time, error) {
	if text == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.DateOnly, text)
	if err != nil {
		return time.Time{}, fmt.Errorf("write the date as YYYY-MM-DD, e.g. 2026-05-01")
	}
	return t, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func (s *secretsScreen) submitAdd() tea.Cmd {
	f := s.form
	ns := vault.NewSecret{Name: f.value("Name"), Username: f.value("Username"), URL: f.value("URL"), Note: f.value("Note"), Share: splitList(f.value("Share with"))}
	if ns.Name == "" {
		f.err = "Give the secret a name."
		return nil
	}
	if p := f.value("Rotate every"); p != "" {
		period, err := rotation.ParsePeriod(p)
		if err != nil {
			f.err = oneLine(err.Error())
			return nil
		}
		ns.RotateEvery = period
	}
	last, err := parseOptionalDate(f.value("Last changed"))
	if err != nil {
		f.err = err.Error()
		return nil
	}
	ns.LastRotated = last
	pass := f.secret("Password")
	var val vault.Value
	generated := pass.Empty()
	if generated {
		p, err := rotation.Rules{}.Generate(rand.Reader)
		if err != nil {
			f.err = oneLine(err.Error())
			return nil
		}
		val = vault.NewValue([]byte(p))
	} else {
		val = vault.NewValue(pass.Value())
	}
	pass.Reset()
	return s.act(func(v *vault.Vault) (string, error) {
		defer val.Wipe()
		sec, err := v.Add(ns, val)
		if err != nil {
			return "", err
		}
		text := "Added " + sec.Name + ", shared with " + strings.Join(sec.SharedWith, ", ") + "."
		if generated {
			text += " Its password was generated: press enter to see it."
		}
		return text, nil
	}, ns.Name)
}

func (s *secretsScreen) submitEdit() tea.Cmd {
	f := s.form
	var e vault.SecretEdit
	user, url, note := f.value("Username"), f.value("URL"), f.value("Note")
	e.Username, e.URL, e.Note = &user, &url, &note
	period, err := rotation.ParsePeriod(f.value("Rotate every"))
	if err != nil {
		f.err = oneLine(err.Error())
		return nil
	}
	e.RotateEvery = &period
	last, err := parseOptionalDate(f.value("Last changed"))
	if err != nil || last.IsZero() {
		f.err = "write the date it was last changed as YYYY-MM-DD"
		return nil
	}
	e.LastRotated = &last
	var rules rotation.Rules
	if l := f.value("Length"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil {
			f.err = "the length is a number, e.g. 20"
			return nil
		}
		rules.Length = n
	}
	switch sym := f.value("Symbols"); sym {
	case "":
	case "none":
		rules.NoSymbols = true
	default:
		rules.Symbols = sym
	}
	if err := rules.Validate(); err != nil {
		f.err = oneLine(err.Error())
		return nil
	}
	e.Rules = &rules
	name, me, restore := s.formFor, s.sh.me.Name, s.formRestore
	return s.act(func(v *vault.Vault) (string, error) {
		done := "Saved " + name + "."
		if restore {
			// Asked for, after being told it went to the trash.
			if sec, err := v.Get(name); err == nil && sec.Deleted != nil {
				if err := v.Restore(name); err != nil {
					return "", err
				}
				done = "Restored " + name + " from the trash and saved your edit."
			}
		}
		_, err := v.Edit(name, e)
		if errors.Is(err, vault.ErrNotFound) {
			if text, trashed := goneText(v, name, me); text != "" {
				return "", goneError{text: text + "; your edit was not saved. " + goneHint(trashed), err: err}
			}
		}
		return done, err
	}, name)
}

// goneText says what became of a secret that is not where it was: moved
// to the trash by someone (perhaps this member, elsewhere), or deleted for
// good; "" when it is there after all.
func goneText(v *vault.Vault, name, me string) (text string, trashed bool) {
	sec, err := v.Get(name)
	switch {
	case err == nil && sec.Deleted != nil:
		by := sec.DeletedBy
		if by == me {
			by = "you (elsewhere)"
		}
		return fmt.Sprintf("%s was moved to the trash by %s meanwhile", name, by), true
	case errors.Is(err, vault.ErrNotFound):
		return name + " was deleted for good meanwhile", false
	}
	return "", false
}

// goneHint says what an edit of a secret that went away can still do.
func goneHint(trashed bool) string {
	if trashed {
		return "Press ctrl+s to restore it from the trash and save your edit, or esc to drop your edit."
	}
	return "It cannot be saved; what you typed stays here until esc."
}

// goneError is an error with the whole story of a secret that went away;
// it matches the error underneath.
type goneError struct {
	text string
	err  error
}

func (e goneError) Error() string { return e.text }
func (e goneError) Unwrap() error { return e.err }

// reloaded takes in the list read again after the vault changed: the
// selection stays on the same secret (or, if it went away, on the one in
// its place), a value on screen stays while its secret is selected, and a
// dialog about a secret that went away says so.
func (s *secretsScreen) reloaded(items []vault.Summary) tea.Cmd {
	pos, had := s.cursor, s.selectedName() != ""
	if !s.setItems(items) && had {
		// It went away: the one now in its place.
		s.cursor = max(0, min(pos, len(s.shown)-1))
		s.scroll()
	}
	live := func(name string) bool {
		return slices.ContainsFunc(s.items, func(it vault.Summary) bool { return it.Name == name })
	}
	var cmds []tea.Cmd
	switch {
	case s.mode == modeForm && s.formKind == "edit" && !live(s.formFor):
		cmds = append(cmds, s.goneCheck(s.formFor))
	case (s.mode == modeRotate || s.mode == modeShare) && s.detail != nil && !live(s.detail.Name):
		cmds = append(cmds, s.goneCheck(s.detail.Name))
	}
	if (s.mode == modeRotate || s.mode == modeShare) && s.detail != nil {
		// The dialog stays on its secret, wherever the list moved.
		return tea.Batch(append(cmds, s.loadDetailKeep(s.detail.Name))...)
	}
	cur, ok := s.selected()
	if !ok {
		s.hide()
		s.detail, s.detailFor = nil, ""
		return tea.Batch(cmds...)
	}
	if s.revealedFor != cur.Name {
		s.hide()
	}
	if s.detail == nil || s.detail.Name != cur.Name {
		s.detail, s.detailFor = nil, ""
	}
	return tea.Batch(append(cmds, s.loadDetail(cur.Name))...)
}

// loadDetailKeep reads the details of the secret a dialog is about, even
// when it is not the one selected on the list.
func (s *secretsScreen) loadDetailKeep(name string) tea.Cmd {
	return s.sh.call(func(v *vault.Vault) tea.Msg {
		sec, err := v.Get(name)
		if err != nil || sec.Deleted != nil {
			return nil
		}
		return dialogDetailMsg{secret: sec}
	}, func(error) tea.Msg { return nil })
}

// dialogDetailMsg carries the details of the secret a dialog is about.
type dialogDetailMsg struct{ secret vault.Secret }

// goneCheck finds out what became of a secret that left the list while a
// dialog about it was open.
func (s *secretsScreen) goneCheck(name string) tea.Cmd {
	me := s.sh.me.Name
	return s.sh.call(func(v *vault.Vault) tea.Msg {
		text, trashed := goneText(v, name, me)
		return goneMsg{name: name, text: text, trashed: trashed}
	}, func(error) tea.Msg { return nil })
}

// gone tells the member that the secret of their dialog went away: an
// edit keeps what was typed, and says what saving can still do; the
// rotate and share dialogs close.
func (s *secretsScreen) gone(msg goneMsg) tea.Cmd {
	if msg.text == "" {
		return nil
	}
	switch {
	case s.mode == modeForm && s.formKind == "edit" && s.formFor == msg.name:
		s.form.err = msg.text + "; saving your edit now would fail. " + goneHint(msg.trashed)
		s.formRestore = msg.trashed
	case (s.mode == modeRotate || s.mode == modeShare) && s.detail != nil && s.detail.Name == msg.name:
		s.hide()
		s.share, s.mode = nil, modeList
		s.detail, s.detailFor = nil, ""
		var cmd tea.Cmd
		if cur, ok := s.selected(); ok {
			cmd = s.loadDetail(cur.Name)
		}
		return tea.Batch(cmd, statusCmd("", errors.New(msg.text+"; nothing was changed here.")))
	}
	return nil
}

// historyMsg and trashMsg carry the lists of those views.
type (
	historyMsg struct {
		items []vault.Version
		err   error
	}
	trashMsg struct {
		items []vault.Secret
		err   error
	}
)

func (s *secretsScreen) loadHistory(name string) tea.Cmd {
	return s.sh.call(func(v *vault.Vault) tea.Msg {
		items, err := v.History(name)
		return historyMsg{items: items, err: err}
	}, func(err error) tea.Msg { return historyMsg{err: err} })
}

func (s *secretsScreen) loadTrash() tea.Cmd {
	return s.sh.call(func(v *vault.Vault) tea.Msg {
		items, err := v.List(true)
		return trashMsg{items: items, err: err}
	}, func(err error) tea.Msg { return trashMsg{err: err} })
}

func (s *secretsScreen) updateHistory(msg tea.Msg) tea.Cmd {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil
	}
	keys := s.sh.keys
	switch {
	case key.Matches(k, keys.Back):
		s.history, s.mode = nil, modeList
	case key.Matches(k, keys.Restore):
		ver, ok := s.history.selected()
		// The secret the history was opened for, wherever the list moved
		// since (it is read again when the vault changes).
		name := s.historyFor
		if !ok || name == "" {
			return nil
		}
		if ver.State != "previous" && ver.State != "aborted" {
			return statusCmd("", fmt.Errorf("version %d is already %s", ver.N, ver.State))
		}
		s.ask(fmt.Sprintf("Make version %d of %s the current value again? Change the password at the service back to it too.", ver.N, name), s.act(func(v *vault.Vault) (string, error) {
			old, err := v.Reveal(name, ver.N)
			if err != nil {
				return "", err
			}
			defer old.Wipe()
			sec, err := v.Set(name, old)
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("Version %d of %s is current again (as version %d).", ver.N, name, sec.Version), nil
		}, name))
	default:
		s.history.move(k, keys)
	}
	return nil
}

func (s *secretsScreen) updateTrash(msg tea.Msg) tea.Cmd {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil
	}
	keys := s.sh.keys
	switch {
	case key.Matches(k, keys.Back), key.Matches(k, keys.Trash):
		s.trash, s.mode = nil, modeList
	case key.Matches(k, keys.Restore):
		sec, ok := s.trash.selected()
		if !ok {
			return nil
		}
		return s.act(func(v *vault.Vault) (string, error) {
			return "Restored " + sec.Name + ".", v.Restore(sec.Name)
		}, sec.Name)
	case key.Matches(k, keys.Purge):
		sec, ok := s.trash.selected()
		if !ok {
			return nil
		}
		s.ask(fmt.Sprintf("Delete %s for good, with all its history? This cannot be undone.", sec.Name), s.act(func(v *vault.Vault) (string, error) {
			return "Deleted " + sec.Name + " for good.", v.Purge(sec.Name)
		}, ""))
	default:
		s.trash.move(k, keys)
	}
	return nil
}

// View draws the screen.
func (s *secretsScreen) View() string {
	st := s.sh.styles
	switch s.mode {
	case modeForm:
		return s.form.View(st)
	case modeRotate:
		return s.rotateView()
	case modeShare:
		return s.share.View()
	case modeHistory:
		return s.historyView()
	case modeTrash:
		return s.trashView()
	}
	var b strings.Builder
	b.WriteString(s.listView())
	b.WriteString(st.Rule.Render(strings.Repeat("─", max(1, s.width))) + "\n")
	if s.mode == modeConfirm {
		b.WriteString(st.Heading.Render(wrapAll(s.confirm.text, max(10, s.width))) + "\n\n" + st.Faint.Render("y yes · n no"))
		return b.String()
	}
	b.WriteString(s.detailView())
	return b.String()
}

func (s *secretsScreen) listView() string {
	st := s.sh.styles
	var b strings.Builder
	h := s.listHeight()
	switch {
	case s.mode == modeFilter || s.filter.Value() != "":
		b.WriteString(s.filter.View() + st.Faint.Render(fmt.Sprintf("  %d of %d", len(s.shown), len(s.items))) + "\n")
	default:
		b.WriteString(st.Faint.Render(plural(len(s.items), "secret")+", most urgent first · / to filter") + "\n")
	}
	lines := 0
	switch {
	case !s.loaded:
		b.WriteString(st.Faint.Render("Loading…") + "\n")
		lines++
	case s.loadErr != "":
		msg := wrapAll(display.Text(s.loadErr), max(10, s.width))
		b.WriteString(st.Error.Render(msg) + "\n")
		lines += strings.Count(msg, "\n") + 1
	case len(s.items) == 0:
		b.WriteString("No secrets yet. Press a to add the first one.\n")
		lines++
	case len(s.shown) == 0 && len(s.similar) > 0:
		b.WriteString(st.Faint.Render("Nothing matches the filter; did you mean "+joinOr(s.similar)+"? esc clears it.") + "\n")
		lines++
	case len(s.shown) == 0:
		b.WriteString(st.Faint.Render("Nothing matches the filter; esc clears it.") + "\n")
		lines++
	}
	for i := s.offset; i < len(s.shown) && i < s.offset+h; i++ {
		it := s.items[s.shown[i]]
		due := ""
		switch it.State {
		case rotation.RotateNow, rotation.Pending:
		default:
			due = "due " + it.Due.Format(time.DateOnly)
		}
		note := ""
		if !it.CanRead {
			note = " (you cannot read it)"
		} else if it.Waiting {
			note = " (waiting for re-encryption)"
		}
		nameWidth := max(10, s.width-lipgloss.Width(badgeText(it.State))-2-16-2)
		name := truncate(display.Line(it.Name)+note, nameWidth)
		row := fmt.Sprintf(" %-*s %s", nameWidth, name, st.Faint.Render(fmt.Sprintf("%14s", due)))
		marker := "  "
		if i == s.cursor {
			marker = st.Title.Render("▸ ")
			row = st.Selected.Render(row)
		}
		b.WriteString(marker + st.badge(it.State) + row + "\n")
		lines++
	}
	for ; lines < h; lines++ {
		b.WriteString("\n")
	}
	return b.String()
}

func (s *secretsScreen) detailView() string {
	st := s.sh.styles
	cur, ok := s.selected()
	if !ok {
		return ""
	}
	d := s.detail
	if d == nil || d.Name != cur.Name {
		return st.Faint.Render("Loading " + display.Line(cur.Name) + "…")
	}
	var b strings.Builder
	row := func(label, value string) {
		if value == "" {
			value = st.Faint.Render("-")
		}
		b.WriteString(st.Label.Render(label) + truncate(value, max(10, s.width-15)) + "\n")
	}
	// Every field is shown with display.Line: any member can write them
	// with other tools. The note's lines are joined with " / ".
	b.WriteString(st.Heading.Render(display.Line(d.Name)) + "  " + st.badge(d.State) + "\n")
	row("username", display.Line(d.Username))
	row("url", display.Line(d.URL))
	row("note", joinShown(strings.Split(d.Note, "\n"), " / "))
	readers := joinShown(d.Readers, ", ")
	if len(d.Waiting) > 0 {
		readers += st.Faint.Render(" (waiting: " + joinShown(d.Waiting, ", ") + ")")
	}
	row("shared with", joinShown(d.SharedWith, ", ")+st.Faint.Render(" · readers: ")+readers)
	row("last rotated", d.LastRotated.UTC().Format(time.DateOnly)+st.Faint.Render(" · every "+d.RotateEvery.String()+" · next due "+d.Due.Format(time.DateOnly)))
	row("state", StateWords(d.State)+": "+display.Line(d.Reason))
	switch {
	case s.revealed != nil && s.revealedFor == d.Name:
		label := "password"
		if s.revealedPen {
			label = "new password"
		}
		row(label, st.Value.Render(printable(s.revealed.Bytes()))+st.Faint.Render("  (hidden again in "+s.sh.revealFor().String()+")"))
		if !s.totp.IsZero() && !s.revealedPen {
			code, left := s.totp.Code(s.sh.now())
			row("2FA code", st.Value.Render(code)+st.Faint.Render("  (next in "+seconds(left)+" · o copies it)"))
		}
	case d.CanRead:
		row("password", st.Faint.Render("•••••• enter shows it · c copies it"))
		if d.TOTP {
			row("2FA code", st.Faint.Render("•••••• enter shows it · o copies it"))
		}
	default:
		row("password", st.Faint.Render("you cannot read it"))
	}
	return b.String()
}

// printable shows a value on one line, its lines joined with ⏎ and every
// other control or format character shown with display.Line, so that a
// value cannot move the cursor or change the screen.
func printable(b []byte) string {
	return joinShown(strings.Split(string(b), "\n"), "⏎")
}

func (s *secretsScreen) historyView() string {
	st := s.sh.styles
	return s.history.View(st, s.width, s.height, func(v vault.Version, _ bool) string {
		read := ""
		if !v.CanRead {
			read = " (you cannot read it)"
		}
		return fmt.Sprintf("version %-3d %-9s %s by %s · readers: %s%s", v.N, v.State, v.Created.UTC().Format("2006-01-02 15:04"), display.Line(v.By), joinShown(v.Readers, ", "), read)
	}, "r make this version current again · esc back")
}

func (s *secretsScreen) trashView() string {
	st := s.sh.styles
	return s.trash.View(st, s.width, s.height, func(sec vault.Secret, _ bool) string {
		when := ""
		if sec.Deleted != nil {
			when = " · deleted " + sec.Deleted.UTC().Format(time.DateOnly) + " by " + display.Line(sec.DeletedBy)
		}
		return display.Line(sec.Name) + st.Faint.Render(when)
	}, "r restore · P delete for good · esc back")
}

// ShortHelp is the help bar of the screen.
func (s *secretsScreen) ShortHelp() []key.Binding {
	k := s.sh.keys
	switch s.mode {
	case modeFilter:
		return []key.Binding{key.NewBinding(key.WithHelp("enter", "keep filter")), key.NewBinding(key.WithHelp("esc", "clear filter"))}
	case modeForm:
		return []key.Binding{k.NextItem, k.Submit, k.Back}
	case modeConfirm:
		return []key.Binding{k.Yes, k.No}
	case modeRotate:
		return s.rotateHelp()
	case modeShare:
		return []key.Binding{k.Up, k.Down, k.Toggle, k.Submit, k.Back}
	case modeHistory:
		return []key.Binding{k.Up, k.Down, k.Restore, k.Back}
	case modeTrash:
		return []key.Binding{k.Up, k.Down, k.Restore, k.Purge, k.Back}
	}
	return []key.Binding{k.Filter, k.Reveal, k.Copy, k.Rotate, k.Share, k.Add, k.Help, k.Quit}
}

// FullHelp is the full help of the screen.
func (s *secretsScreen) FullHelp() [][]key.Binding {
	if s.mode != modeList {
		return [][]key.Binding{s.ShortHelp()}
	}
	k := s.sh.keys
	return [][]key.Binding{
		{k.Up, k.Down, k.PgUp, k.PgDown, k.Top, k.Bottom},
		{k.Filter, k.Reveal, k.Copy, k.OTP, k.History},
		{k.Add, k.Edit, k.Delete, k.Trash},
		{k.Rotate, k.Share, k.NextScreen, k.Dismiss},
		{k.Help, k.Quit},
	}
}
