package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersion(t *testing.T) {
	settings := func(kv ...string) []debug.BuildSetting {
		var out []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			out = append(out, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return out
	}
	const rev = "7b575493f1da31a3f54fa52a89dda099faded204"
	cases := []struct {
		name string
		info *debug.BuildInfo
		ok   bool
		want string
	}{
		{"a release", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3"}}, true,
			"v1.2.3, built with go1.26.8"},
		{"a checkout: the version names the commit", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20261128005136-7b575493f1da+dirty"},
			Settings: settings("vcs", "git", "vcs.revision", rev, "vcs.modified", "true")}, true,
			"v0.0.0-20261128005136-7b575493f1da+dirty, built with go1.26.8"},
		{"a checkout, (devel)", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"},
			Settings: settings("vcs.revision", rev, "vcs.modified", "false")}, true,
			"(devel), commit 7b575493f1da, built with go1.26.8"},
		{"a checkout with changes, (devel)", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"},
			Settings: settings("vcs.revision", rev, "vcs.modified", "true")}, true,
			"(devel), commit 7b575493f1da with uncommitted changes, built with go1.26.8"},
		{"no version control", &debug.BuildInfo{GoVersion: "go1.26.8"}, true, "(devel), built with go1.26.8"},
		{"no build information", nil, false, "(unknown: built without module information)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := version(c.info, c.ok); got != c.want {
				t.Errorf("version = %q, want %q", got, c.want)
			}
		})
	}
}

// The program built as the README says prints its version: from a git
// checkout, the commit it was built from. (Go records the commit only in a
// checkout whose .git is a folder, not in a 'git worktree'.)
func TestVersionOfBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the program")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "bin", "vault")
	// -buildvcs=true: a GOFLAGS=-buildvcs=false in the environment must
	// not hide what the README's build gives.
	build := exec.Command("go", "build", "-buildvcs=true", "-o", bin, "./cmd/vault")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		t.Fatalf("vault --version: %v", err)
	}
	line := string(out)
	if !regexp.MustCompile(`^vault \S+(, commit [0-9a-f]{12}( with uncommitted changes)?)?, built with go1\.\d+\S*\n$`).MatchString(line) {
		t.Fatalf("vault --version printed %q", line)
	}
	info, err := os.Stat(filepath.Join(root, ".git"))
	if err != nil || !info.IsDir() {
		t.Logf("not a git checkout with a .git folder: Go records no commit (%q)", line)
		return
	}
	if _, err := exec.LookPath("git"); err != nil {
		t.Logf("git is not installed: Go records no commit")
		return
	}
	head, err := exec.Command("git", "-C", root, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatalf("git rev-parse HEAD: %v", err)
	}
	if want := strings.TrimSpace(string(head))[:12]; !strings.Contains(line, want) {
		t.Fatalf("vault --version printed %q; want the commit %s", line, want)
	}
}
