//go:build unix

package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
)

// The README's quick start, run as written: an admin and a new member, each
// in a clean home of their own, run every line of its blocks in order,
// with git's remote standing in for the group's git host. A README line
// that stops working fails the test.
//
// What the test provides is what a person has: a passphrase (through
// VAULT_PASSPHRASE_FILE, which the README documents for scripts, instead
// of typing it), the password typed for 'vault add' (on stdin), the key
// line the member sends the admin (put in place of the README's
// placeholder), and a git that reaches the group's host (git's insteadOf
// points the README's address at a local bare repository).

// quickStartBlock is one code block of the quick start, with who runs it.
type quickStartBlock struct {
	who   string // "admin" or "member"
	lines []quickStartLine
}

type quickStartLine struct {
	n    int // line number in README.md
	text string
}

// readQuickStart returns the code blocks of the README's quick start
// section, each with the person its marker comment names.
func readQuickStart(t *testing.T, path string) []quickStartBlock {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	marker := regexp.MustCompile(`^<!-- quickstart: (admin|member) -->$`)
	var blocks []quickStartBlock
	in, inBlock := false, false
	who := ""
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case line == "## Quick start for a group":
			in = true
		case !in:
		case inBlock && line == "```":
			inBlock = false
		case inBlock:
			blocks[len(blocks)-1].lines = append(blocks[len(blocks)-1].lines, quickStartLine{n, line})
		case strings.HasPrefix(line, "## ") || strings.HasPrefix(line, "### "):
			in = false
		case marker.MatchString(line):
			who = marker.FindStringSubmatch(line)[1]
		case strings.HasPrefix(line, "```"):
			if who == "" || line != "```sh" {
				t.Fatalf("README.md:%d: a block of the quick start without a <!-- quickstart: admin|member --> marker before its ```sh: the test runs every block as the person the marker names", n)
			}
			blocks = append(blocks, quickStartBlock{who: who})
			inBlock, who = true, ""
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(blocks) < 4 {
		t.Fatalf("README.md: found %d blocks in the section 'Quick start for a group'; want the admin's and the member's steps", len(blocks))
	}
	return blocks
}

// A person is a member on their own machine: a home, a passphrase, a git
// that reaches the group's host.
type person struct {
	home, work string
	env        []string
	// said is what each line printed on stderr, in order.
	said []string
}

func newPerson(t *testing.T, root, name, bin, remote string) *person {
	t.Helper()
	home := filepath.Join(root, name)
	work := filepath.Join(root, name+"-work") // testVaultMain's exit code and checks
	for _, d := range []string{home, work} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	pass := filepath.Join(home, ".passphrase")
	if err := os.WriteFile(pass, []byte("correct horse battery "+name+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	gitconfig := fmt.Sprintf("[user]\n\tname = %s\n\temail = %s@example.org\n[init]\n\tdefaultBranch = main\n[url \"file://%s\"]\n\tinsteadOf = git@example.org:eastside/vault.git\n", name, name, remote)
	if err := os.WriteFile(filepath.Join(home, ".gitconfig"), []byte(gitconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{
		"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"),
		"HOME=" + home, "LC_ALL=C", "TMPDIR=" + os.TempDir(),
		"VAULT_PASSPHRASE_FILE=" + pass,
		// An agent would outlive the test; scripts with a passphrase
		// file never start one anyway.
		"VAULT_NO_AGENT=1",
		// The day the README's example output is dated; on a terminal,
		// as the README's reader is (for its notes).
		"VAULTTEST_NOW=2026-11-27T10:00:00Z", "VAULTTEST_TERMINAL=1",
		"VAULTTEST_SECRETS=" + quickStartPassword, "WORK=" + work,
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CEILING_DIRECTORIES=" + root,
	}
	if v := os.Getenv("GORACE"); v != "" {
		env = append(env, "GORACE="+v)
	} else {
		env = append(env, "GORACE=atexit_sleep_ms=10")
	}
	return &person{home: home, work: work, env: env}
}

// quickStartPassword is the Airtable password the admin types.
const quickStartPassword = "tr0mb0ne-Airtable-17"

// run runs one README line as the person, in their home, with no terminal
// (a session of its own, so nothing prompts on the terminal of 'go test').
func (p *person) run(t *testing.T, who string, l quickStartLine, stdin string) (string, string) {
	t.Helper()
	cmd := exec.Command("bash", "--noprofile", "--norc", "-c", l.text)
	cmd.Dir = p.home
	cmd.Env = p.env
	cmd.Stdin = strings.NewReader(stdin)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	t.Logf("%s (README.md:%d): %s\n%s%s", who, l.n, l.text, stdout.String(), stderr.String())
	if err != nil {
		t.Fatalf("README.md:%d, run by the %s, fails (%v):\n  %s\nstdout:\n%s\nstderr:\n%s", l.n, who, err, l.text, stdout.String(), stderr.String())
	}
	if b, err := os.ReadFile(filepath.Join(p.work, leakMarker)); err == nil {
		t.Fatalf("README.md:%d, run by the %s: %s", l.n, who, b)
	}
	p.said = append(p.said, stderr.String())
	return stdout.String(), stderr.String()
}

func TestReadmeQuickStart(t *testing.T) {
	needGit(t)
	if testing.Short() {
		t.Skip("runs the README's quick start")
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := readQuickStart(t, "../../README.md")

	root := t.TempDir()
	// The program: this test binary under the name vault, which
	// testscript.Main runs as the vault command of the scripts.
	bin := filepath.Join(root, "bin")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(self, filepath.Join(bin, "vault")); err != nil {
		t.Fatal(err)
	}
	// The empty repository the group made on its git host.
	remote := filepath.Join(root, "host", "eastside", "vault.git")
	if out, err := exec.Command("git", "init", "-q", "--bare", "-b", "main", remote).CombinedOutput(); err != nil {
		t.Fatalf("git init: %v\n%s", err, out)
	}
	people := map[string]*person{
		"admin":  newPerson(t, root, "admin", bin, remote),
		"member": newPerson(t, root, "member", bin, remote),
	}

	const placeholder = "'age1qy…:ed25519:…'"
	var keyLine, fingerprint string
	fingerprintRE := regexp.MustCompile(`[0-9A-Z]{4}(-[0-9A-Z]{4}){4}`)
	var got string // what the member's 'vault get' printed
	added := false
	welcomeAt := -1 // the member's first command after being added
	for _, b := range blocks {
		p := people[b.who]
		for _, l := range b.lines {
			code, _, _ := strings.Cut(l.text, "#")
			if strings.TrimSpace(code) == "" {
				continue
			}
			if strings.Contains(l.text, placeholder) {
				if keyLine == "" {
					t.Fatalf("README.md:%d uses the member's key line before the member printed it", l.n)
				}
				l.text = strings.ReplaceAll(l.text, placeholder, "'"+keyLine+"'")
				code = strings.ReplaceAll(code, placeholder, "")
			}
			if strings.Contains(code, "…") {
				t.Fatalf("README.md:%d has a placeholder this test does not know how to fill: %s", l.n, l.text)
			}
			stdin := ""
			if strings.HasPrefix(code, "vault add ") {
				stdin = quickStartPassword + "\n"
			}
			if b.who == "member" && added && welcomeAt < 0 && strings.HasPrefix(code, "vault ") {
				welcomeAt = len(p.said)
			}
			stdout, stderr := p.run(t, b.who, l, stdin)
			switch {
			case strings.HasPrefix(code, "vault join "):
				for _, s := range strings.Split(strings.TrimSpace(stdout), "\n") {
					if strings.HasPrefix(s, "age1") {
						keyLine = s
					}
				}
				fingerprint = fingerprintRE.FindString(stderr)
				if keyLine == "" || fingerprint == "" {
					t.Fatalf("README.md:%d: join printed no key line on stdout or no fingerprint on stderr:\n%s\n%s", l.n, stdout, stderr)
				}
			case strings.HasPrefix(code, "vault member add "):
				added = true
				if !strings.Contains(stderr+stdout, fingerprint) {
					t.Errorf("README.md:%d: member add did not print the fingerprint %s the member read aloud:\n%s%s", l.n, fingerprint, stdout, stderr)
				}
			case strings.HasPrefix(code, "vault get ") && b.who == "member":
				got = stdout
			}
		}
	}
	if got != quickStartPassword+"\n" {
		t.Errorf("the member's 'vault get airtable' printed %q; the README says it prints the password (%q) and a newline", got, quickStartPassword)
	}
	// The README quotes what the first command after being added says.
	m := regexp.MustCompile("says, once: `(vault: you were added[^`]*)`").FindSubmatch(readme)
	if m == nil {
		t.Fatal("README.md no longer quotes what a member's first command after being added says; update this test")
	}
	welcome := strings.Join(strings.Fields(string(m[1])), " ")
	said := people["member"].said
	if welcomeAt < 0 || welcomeAt >= len(said) || !strings.Contains(said[welcomeAt], welcome) {
		t.Errorf("the member's first command after being added did not say %q; it said:\n%s", welcome, strings.Join(said[max(welcomeAt, 0):], "\n---\n"))
	} else if strings.Contains(strings.Join(said[welcomeAt+1:], ""), welcome) {
		t.Errorf("the member was told %q more than once", welcome)
	}
}
