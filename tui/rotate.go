package tui

import (
	"crypto/rand"
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/mutual-aid-vault/vault/vault"
	"github.com/mutual-aid-vault/vault/vault/display"
)

// The rotate flow, on the secrets screen: generate a new password following
// the site's rules, show or copy it, and once it is changed at the service
// confirm it, or abort. A pending rotation shows everywhere until settled.

func (s *secretsScreen) updateRotate(msg tea.Msg) tea.Cmd {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok || s.detail == nil {
		return nil
	}
	keys := s.sh.keys
	d := *s.detail
	name := d.Name
	switch {
	case key.Matches(k, keys.Back):
		s.hide()
		s.mode = modeList
	case !d.Pending && key.Matches(k, keys.Generate):
		rules := d.Rules
		return s.act(func(v *vault.Vault) (string, error) {
			p, err := rules.Generate(rand.Reader)
			if err != nil {
				return "", err
			}
			val := vault.NewValue([]byte(p))
			defer val.Wipe()
			sec, err := v.StartRotation(name, val)
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("A new password for %s is pending (version %d). Change it at the service, then press y.", name, sec.PendingVersion), nil
		}, name)
	case d.Pending && key.Matches(k, keys.Reveal):
		if s.revealed != nil && s.revealedPen {
			s.hide()
			return nil
		}
		return s.fetchValue(vault.Summary{Name: name, CanRead: true}, true, false)
	case d.Pending && key.Matches(k, keys.Copy):
		return s.fetchValue(vault.Summary{Name: name, CanRead: true}, true, true)
	case d.Pending && key.Matches(k, keys.Confirm):
		s.hide()
		return s.act(func(v *vault.Vault) (string, error) {
			sec, err := v.ConfirmRotation(name)
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("Rotated %s: version %d is current; the previous value is in its history.", name, sec.Version), nil
		}, name)
	case d.Pending && key.Matches(k, keys.Abort):
		s.hide()
		return s.act(func(v *vault.Vault) (string, error) {
			_, n, err := v.AbortRotation(name)
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("Dropped the new password of %s (kept in history as version %d); the current one is unchanged.", name, n), nil
		}, name)
	}
	return nil
}

func (s *secretsScreen) rotateHelp() []key.Binding {
	k := s.sh.keys
	if s.detail != nil && s.detail.Pending {
		return []key.Binding{k.Confirm, k.Abort, k.Reveal, k.Copy, k.Back}
	}
	return []key.Binding{k.Generate, k.Back}
}

func (s *secretsScreen) rotateView() string {
	st := s.sh.styles
	d := s.detail
	if d == nil {
		return st.Faint.Render("Loading…")
	}
	var b strings.Builder
	b.WriteString(st.Heading.Render("Rotate "+display.Line(d.Name)) + "  " + st.badge(d.State) + "\n\n")
	where := "at the service"
	if d.URL != "" {
		where = "at " + display.Line(d.URL)
	}
	if d.Username != "" {
		where += " (username " + display.Line(d.Username) + ")"
	}
	w := max(20, s.width-2)
	if !d.Pending {
		b.WriteString(wrap("Last changed "+d.LastRotated.UTC().Format("2006-01-02")+"; "+d.Reason+".", w) + "\n")
		if d.RotateNow != nil {
			b.WriteString(st.Error.Render(wrap("It must change now: "+d.RotateNow.Text+".", w)) + "\n")
		}
		b.WriteString("\n" + wrap("The site's rules: "+d.Rules.Describe()+" (e on the list changes them).", w) + "\n\n")
		b.WriteString("  g  generate a new password\n     (the current one keeps working until you confirm)\n")
		b.WriteString("  esc  back\n")
		return b.String()
	}
	b.WriteString(fmt.Sprintf("A new password (version %d) is pending.\n\n", d.PendingVersion))
	b.WriteString(indent(wrap("1. Change the password "+where+".", w-2), "  ") + "\n")
	b.WriteString(indent(wrap("2. Then press y: the new password becomes current, the old one goes to history.", w-2), "  ") + "\n\n")
	if s.revealed != nil && s.revealedPen && s.revealedFor == d.Name {
		b.WriteString(st.Label.Render("new password") + st.Value.Render(printable(s.revealed.Bytes())) + "\n\n")
	} else {
		b.WriteString(st.Label.Render("new password") + st.Faint.Render("•••••• v shows it · c copies it") + "\n\n")
	}
	b.WriteString("  y  I changed it at the service\n")
	b.WriteString("  x  abort: keep the current password\n     (the new one is kept in history)\n")
	b.WriteString("  esc  back (the rotation stays pending)\n")
	return b.String()
}
