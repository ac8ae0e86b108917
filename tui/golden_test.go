package tui

import (
	"bytes"
	"strings"
	"testing"
	"time"
	"unicode"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/mutual-aid-vault/vault/vault"
)

// Golden screens: the program runs for real (teatest) at 80x24, and the
// final screen, rendered with the colourless ASCII profile, must match the
// file in testdata. Update them with: go test ./tui -run Golden -update

// runGolden drives m with keys, waiting after each for want to show, and
// returns the final screen.
func runGolden(t *testing.T, m Model, steps ...goldenStep) string {
	t.Helper()
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(80, 24),
		teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.Ascii)))
	// Each wait reads the output on from where the last one stopped, so
	// keep what was read to look for text drawn earlier.
	var seen []byte
	for _, s := range steps {
		if s.do != nil {
			s.do()
		}
		for _, k := range s.keys {
			tm.Send(keyMsg(k))
		}
		var last []byte
		teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
			last = b
			return bytes.Contains(append(append([]byte(nil), seen...), b...), []byte(s.want))
		}, teatest.WithDuration(10*time.Second), teatest.WithCheckInterval(20*time.Millisecond))
		seen = append(seen, last...)
	}
	if err := tm.Quit(); err != nil {
		t.Fatal(err)
	}
	fm, ok := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(Model)
	if !ok {
		t.Fatal("the final model is not a tui.Model")
	}
	defer fm.Close()
	var b bytes.Buffer
	w := &colorprofile.Writer{Forward: &b, Profile: colorprofile.Ascii}
	if _, err := w.WriteString(fm.render()); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

type goldenStep struct {
	// do, when set, runs first: a change made elsewhere.
	do   func()
	keys []string
	want string
}

func demoModel(t *testing.T) Model {
	t.Helper()
	opts, err := BuildDemo(t.TempDir(), demoNow)
	if err != nil {
		t.Fatal(err)
	}
	opts.Getenv = func(string) string { return "" }
	return New(opts)
}

func TestGoldenSecretsScreen(t *testing.T) {
	out := runGolden(t, demoModel(t), goldenStep{want: "most urgent first"}, goldenStep{want: "enter shows it"})
	golden.RequireEqual(t, out)
}

func TestGoldenRotatePending(t *testing.T) {
	out := runGolden(t, demoModel(t),
		goldenStep{want: "most urgent first"},
		goldenStep{keys: []string{"x", "down", "down", "down"}, want: "hello@eastside.example"},
		goldenStep{keys: []string{"r"}, want: "is pending"})
	golden.RequireEqual(t, out)
}

func TestGoldenUnlock(t *testing.T) {
	opts := passphraseVault(t)
	out := runGolden(t, New(opts), goldenStep{want: "Passphrase"}, goldenStep{keys: []string{"s", "e", "c"}, want: "Passphrase"})
	// The vault path is a temporary folder: the golden shows a stand-in.
	out = string(bytes.ReplaceAll([]byte(out), []byte(opts.IdentityPath), []byte("IDENTITY")))
	golden.RequireEqual(t, out)
}

// TestGoldenHostileRecord: a member who writes the vault with other tools
// can put anything in a value, and C1 controls and bidi overrides in a
// username, URL or note (typed input accepts them; control characters such
// as ESC are refused even when read back). Selected and revealed, every
// one is drawn harmless: escapes shown like cat -v, nothing the terminal
// would act on.
func TestGoldenHostileRecord(t *testing.T) {
	opts, err := BuildDemo(t.TempDir(), demoNow)
	if err != nil {
		t.Fatal(err)
	}
	opts.Getenv = func(string) string { return "" }
	v, err := vault.Open(opts.VaultPath, vault.Options{Identity: opts.Identity, Clock: opts.Clock, StateDir: opts.StateDir})
	if err != nil {
		t.Fatal(err)
	}
	const value = "pw\x1b]52;c;aHVudGVyMg==\x07\x1b]0;x\x07\x1b[2J\rPassphrase: "
	_, err = v.Add(vault.NewSecret{Name: "zz-hostile", Username: "in\u202etake", URL: "https://example.org/\u009b2J",
		Note: "one \u2066x\u2069\u200b\ntwo \u0085", Share: []string{"@intake"}}, vault.NewValue([]byte(value)))
	v.Close()
	if err != nil {
		t.Fatal(err)
	}
	out := runGolden(t, New(opts),
		goldenStep{want: "most urgent first"},
		goldenStep{keys: []string{"/", "z", "z", "enter"}, want: "in\\u202etake"},
		goldenStep{keys: []string{"enter"}, want: "Passphrase: "})
	for _, r := range ansi.Strip(out) {
		if r < 0x20 && r != '\n' || r == 0x7f || r >= 0x80 && r <= 0x9f || unicode.Is(unicode.Cf, r) {
			t.Fatalf("the screen holds %U:\n%s", r, out)
		}
	}
	for _, want := range []string{`pw^[]52;c;aHVudGVyMg==^G^[]0;x^G^[[2J^MPassphrase: `, `in\u202etake`, `https://example.org/\u009b2J`, `one \u2066x\u2069\u200b / two \u0085`} {
		if !strings.Contains(ansi.Strip(out), want) {
			t.Errorf("the screen lacks %s:\n%s", want, out)
		}
	}
	golden.RequireEqual(t, out)
}
