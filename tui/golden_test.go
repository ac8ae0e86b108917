package tui

import (
	"bytes"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest/v2"
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
