package tui

import (
	"fmt"
	"slices"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/mutual-aid-vault/vault/vault"
	"github.com/mutual-aid-vault/vault/vault/display"
)

// sharePicker chooses who a secret is shared with: members by name and
// @groups, each with what the change means before it is made.
type sharePicker struct {
	sh      *shared
	secret  vault.Secret
	list    *listView[shareItem]
	members []vault.Member
	// picked is what the member ticked or unticked here, kept when the
	// list is read again because the vault changed.
	picked map[string]bool
}

type shareItem struct {
	who   string // member name or @group
	was   bool   // shared before
	on    bool   // shared after
	label string
}

type shareDataMsg struct {
	members []vault.Member
	groups  []string
	// secret is the secret as it is now (it may have changed elsewhere).
	secret *vault.Secret
	err    error
}

func newSharePicker(sh *shared, sec vault.Secret) *sharePicker {
	l := newListView[shareItem]("Share "+display.Line(sec.Name), "Nobody to share with.")
	l.keyOf = func(it shareItem) string { return it.who }
	return &sharePicker{sh: sh, secret: sec, list: l, picked: map[string]bool{}}
}

func (p *sharePicker) load() tea.Cmd {
	name := p.secret.Name
	return p.sh.call(func(v *vault.Vault) tea.Msg {
		ms, err := v.Members()
		if err != nil {
			return shareDataMsg{err: err}
		}
		gs, err := v.Groups()
		out := shareDataMsg{members: ms, groups: gs, err: err}
		if sec, err := v.Get(name); err == nil && sec.Deleted == nil {
			out.secret = &sec
		}
		return out
	}, func(err error) tea.Msg { return shareDataMsg{err: err} })
}

func (p *sharePicker) loaded(msg shareDataMsg) {
	if msg.err != nil {
		p.list.set(nil, msg.err)
		return
	}
	p.members = msg.members
	if msg.secret != nil {
		p.secret = *msg.secret
	}
	var items []shareItem
	item := func(who, label string) shareItem {
		was := slices.Contains(p.secret.SharedWith, who)
		on, ok := p.picked[who]
		if !ok {
			on = was
		}
		return shareItem{who: who, was: was, on: on, label: label}
	}
	for _, g := range msg.groups {
		items = append(items, item("@"+g, display.Line("@"+g)+" ("+joinShown(p.inGroup(g), ", ")+")"))
	}
	for _, m := range msg.members {
		items = append(items, item(m.Name, display.Line(m.Name)))
	}
	p.list.set(items, nil)
}

func (p *sharePicker) inGroup(g string) []string {
	var out []string
	for _, m := range p.members {
		if slices.Contains(m.Groups, g) {
			out = append(out, m.Name)
		}
	}
	return out
}

// readersAfter is who would read the secret with the picked items.
func (p *sharePicker) readersAfter() []string {
	var out []string
	for _, m := range p.members {
		for _, it := range p.list.items {
			if !it.on {
				continue
			}
			if it.who == m.Name || (strings.HasPrefix(it.who, "@") && slices.Contains(m.Groups, it.who[1:])) {
				out = append(out, m.Name)
				break
			}
		}
	}
	return out
}

// impact says what the picked changes would do, one line each.
func (p *sharePicker) impact() []string {
	after := p.readersAfter()
	var out []string
	for _, m := range p.members {
		was := slices.Contains(p.secret.Readers, m.Name) || slices.Contains(p.secret.Waiting, m.Name)
		now := slices.Contains(after, m.Name)
		switch {
		case now && !was:
			out = append(out, display.Line(m.Name)+" will be able to read this")
		case was && !now:
			out = append(out, "removing "+display.Line(m.Name)+" marks it rotate-now (they may have seen it)")
		}
	}
	if len(after) == 0 {
		out = append(out, "nobody would be able to read it: share it with someone")
	}
	return out
}

func (s *secretsScreen) updateShare(msg tea.Msg) tea.Cmd {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil
	}
	p, keys := s.share, s.sh.keys
	switch {
	case key.Matches(k, keys.Back):
		s.share, s.mode = nil, modeList
	case key.Matches(k, keys.Toggle), k.String() == "x":
		if it, ok := p.list.selected(); ok {
			it.on = !it.on
			p.list.items[p.list.cursor] = it
			p.picked[it.who] = it.on
		}
	case key.Matches(k, keys.Submit):
		var add, remove []string
		for _, it := range p.list.items {
			switch {
			case it.on && !it.was:
				add = append(add, it.who)
			case !it.on && it.was:
				remove = append(remove, it.who)
			}
		}
		if len(add)+len(remove) == 0 {
			s.share, s.mode = nil, modeList
			return nil
		}
		name := p.secret.Name
		s.share, s.mode = nil, modeList
		return s.act(func(v *vault.Vault) (string, error) {
			ch, err := v.UpdateShare(name, add, remove)
			if err != nil {
				return "", err
			}
			text := name + " is shared with " + strings.Join(ch.Secret.SharedWith, ", ") + "."
			if len(ch.Lost) > 0 {
				text += " Marked rotate-now: " + strings.Join(ch.Lost, ", ") + " could read it."
			}
			if ch.Waiting {
				text += " One of its readers re-encrypts it for the new people next time they use vault."
			}
			return text, nil
		}, name)
	default:
		p.list.move(k, keys)
	}
	return nil
}

func (p *sharePicker) View() string {
	st := p.sh.styles
	body := p.list.View(st, 80, 12, func(it shareItem, _ bool) string {
		box := "[ ]"
		if it.on {
			box = "[x]"
		}
		return box + " " + it.label
	}, "space toggles · enter saves · esc cancels")
	var b strings.Builder
	b.WriteString(body + "\n\n")
	for _, l := range p.impact() {
		b.WriteString(st.Banner.Render("• "+l) + "\n")
	}
	if len(p.impact()) == 0 {
		b.WriteString(st.Faint.Render(fmt.Sprintf("Now read by %s.", joinShown(p.secret.Readers, ", "))))
	}
	return b.String()
}
