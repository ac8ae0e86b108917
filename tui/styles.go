package tui

import (
	"image/color"

	"charm.land/lipgloss/v2"

	"github.com/mutual-aid-vault/vault/rotation"
)

// Styles is every style the UI uses. DefaultStyles picks colours that read
// on light or dark terminals; with NO_COLOR the program renders without
// colour, and every state still says itself in words.
type Styles struct {
	App      lipgloss.Style
	Title    lipgloss.Style
	Tab      lipgloss.Style
	TabOn    lipgloss.Style
	Banner   lipgloss.Style
	Error    lipgloss.Style
	Status   lipgloss.Style
	Faint    lipgloss.Style
	Label    lipgloss.Style
	Selected lipgloss.Style
	Rule     lipgloss.Style
	Value    lipgloss.Style
	Box      lipgloss.Style
	Heading  lipgloss.Style
	Badges   map[rotation.State]lipgloss.Style
}

// DefaultStyles returns the styles for a dark or light background.
func DefaultStyles(dark bool) Styles {
	ld := lipgloss.LightDark(dark)
	fg := ld(lipgloss.Color("#1a1a1a"), lipgloss.Color("#e6e6e6"))
	faint := ld(lipgloss.Color("#6b6b6b"), lipgloss.Color("#9a9a9a"))
	accent := ld(lipgloss.Color("#0b5cad"), lipgloss.Color("#6cb6ff"))
	selBg := ld(lipgloss.Color("#dbe8f6"), lipgloss.Color("#27374d"))
	badge := func(bg color.Color) lipgloss.Style {
		return lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("#ffffff")).Background(bg).Padding(0, 1)
	}
	return Styles{
		App:      lipgloss.NewStyle().Foreground(fg),
		Title:    lipgloss.NewStyle().Bold(true).Foreground(accent),
		Tab:      lipgloss.NewStyle().Foreground(faint).Padding(0, 1),
		TabOn:    lipgloss.NewStyle().Bold(true).Underline(true).Foreground(accent).Padding(0, 1),
		Banner:   lipgloss.NewStyle().Bold(true).Foreground(ld(lipgloss.Color("#8a4b00"), lipgloss.Color("#ffb454"))),
		Error:    lipgloss.NewStyle().Bold(true).Foreground(ld(lipgloss.Color("#b00020"), lipgloss.Color("#ff6b6b"))),
		Status:   lipgloss.NewStyle().Foreground(ld(lipgloss.Color("#1e6b34"), lipgloss.Color("#7ee08f"))),
		Faint:    lipgloss.NewStyle().Foreground(faint),
		Label:    lipgloss.NewStyle().Foreground(faint).Width(14),
		Selected: lipgloss.NewStyle().Bold(true).Background(selBg).Reverse(false),
		Rule:     lipgloss.NewStyle().Foreground(faint),
		Value:    lipgloss.NewStyle().Bold(true).Foreground(accent),
		Box:      lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(accent).Padding(0, 1),
		Heading:  lipgloss.NewStyle().Bold(true),
		Badges: map[rotation.State]lipgloss.Style{
			rotation.RotateNow: badge(lipgloss.Color("#b00020")),
			rotation.Overdue:   badge(lipgloss.Color("#c25400")),
			rotation.Pending:   badge(lipgloss.Color("#6a3fb5")),
			rotation.DueSoon:   badge(lipgloss.Color("#8a6d00")),
			rotation.OK:        badge(lipgloss.Color("#1e6b34")),
		},
	}
}

// badgeText is a state in capitals, padded so badges line up.
func badgeText(s rotation.State) string {
	switch s {
	case rotation.RotateNow:
		return "ROTATE NOW"
	case rotation.Overdue:
		return "OVERDUE   "
	case rotation.Pending:
		return "PENDING   "
	case rotation.DueSoon:
		return "DUE SOON  "
	}
	return "OK        "
}

func (s Styles) badge(st rotation.State) string { return s.Badges[st].Render(badgeText(st)) }
