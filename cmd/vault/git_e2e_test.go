package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// End-to-end tests of a group that keeps its vault in a git repository or
// in a shared folder: three members on three machines (a home each, a copy
// of the vault file each) change the vault at the same time, exchange
// copies the way git or a sync tool does, and must end with the same
// vault, nothing lost. The vault commands run in-process; git runs the
// program built from this package as its merge driver.

// needGit skips the test when git is missing, except under CI, where it
// must run.
func needGit(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("git is needed for the end-to-end sync tests under CI")
		}
		t.Skip("git is not installed")
	}
}

// isolateGit keeps git, which runs as a child of the test process with
// its environment, away from the user's and the system's configuration
// and from any repository around root.
func isolateGit(t *testing.T, root string) {
	home := filepath.Join(root, "git-home")
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	t.Setenv("GIT_CEILING_DIRECTORIES", root)
	for _, k := range []string{"GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_CONFIG_GLOBAL",
		"GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "EMAIL"} {
		t.Setenv(k, "") // restored after the test
		os.Unsetenv(k)
	}
}

// buildVault builds this program for git to run as its merge driver. Call
// it before isolateGit: go finds its caches through HOME.
func buildVault(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "vault")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// gitIn runs git in dir and returns its output; a failure fails the test.
func gitIn(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := tryGit(dir, args...)
	if err != nil {
		t.Fatalf("git %s (in %s): %v\n%s", strings.Join(args, " "), dir, err, out)
	}
	return out
}

func tryGit(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "LC_ALL=C", "GIT_TERMINAL_PROMPT=0")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// group is a vault's members and what they did to it.
type group struct {
	t    *testing.T
	root string
	// exe is the program git runs as the merge driver.
	exe string
	// values are the values members set, by secret: every one must end up
	// in the secret's history.
	values map[string][]string
	// void are values set by a member concurrently with their removal:
	// none may take effect.
	void []string
	// said is every command run and what it printed on stderr, for
	// failure messages and for checking what members were told.
	said strings.Builder
}

func newGroup(t *testing.T) *group {
	return &group{t: t, root: t.TempDir(), values: map[string][]string{}}
}

// secretValues are every value set so far, void ones included: none may
// ever appear on stderr.
func (g *group) secretValues() []string {
	out := slices.Clone(g.void)
	for _, vs := range g.values {
		out = append(out, vs...)
	}
	return out
}

// machine is one member's computer: a home (identity, this machine's copy
// of the vault in the state folder) and a copy of the vault file.
type machine struct {
	g    *group
	name string
	// dir holds the vault file: a git clone, or this machine's copy of a
	// shared folder.
	dir string
	env map[string]string
	// removed is set once the member was removed: their commands may
	// then fail with exit 6.
	removed bool
}

func (g *group) machine(name string) *machine {
	home := filepath.Join(g.root, name)
	return &machine{g: g, name: name, dir: filepath.Join(home, "vault-folder"), env: map[string]string{
		"HOME":            home,
		"XDG_CONFIG_HOME": filepath.Join(home, ".config"),
		"XDG_DATA_HOME":   filepath.Join(home, ".local", "share"),
		"XDG_STATE_HOME":  filepath.Join(home, ".local", "state"),
	}}
}

func (m *machine) vaultFile() string { return filepath.Join(m.dir, "vault.db") }

// run runs vault on this machine, on its copy of the vault file.
func (m *machine) run(stdin string, args ...string) (code int, stdout, stderr string) {
	m.g.t.Helper()
	return m.runOn(m.vaultFile(), m.env["XDG_STATE_HOME"], stdin, args...)
}

// runOn runs vault as this member with another vault file or another
// state folder (the same member on another machine). No value set so far
// may appear on stderr.
func (m *machine) runOn(file, state, stdin string, args ...string) (code int, stdout, stderr string) {
	m.g.t.Helper()
	env := map[string]string{"VAULT_FILE": file, "XDG_STATE_HOME": state}
	getenv := func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		return m.env[k]
	}
	var out, errb bytes.Buffer
	code = runWith(append([]string{"vault"}, args...), strings.NewReader(stdin), &out, &errb, getenv, noTTY{},
		options{scryptWorkFactor: 10, exe: m.g.exe})
	for _, v := range m.g.secretValues() {
		if strings.Contains(errb.String(), v) {
			m.g.t.Errorf("%s: vault %v printed the value %q on stderr", m.name, args, v)
		}
	}
	fmt.Fprintf(&m.g.said, "%s$ vault %s\n%s", m.name, strings.Join(args, " "), errb.String())
	return code, out.String(), errb.String()
}

func (m *machine) must(stdin string, args ...string) string {
	m.g.t.Helper()
	code, out, errs := m.run(stdin, args...)
	if code != 0 {
		m.g.t.Fatalf("%s: vault %v: exit %d: %s\nwhat the members ran and were told before:\n%s", m.name, args, code, errs, m.g.said.String())
	}
	return out
}

func (m *machine) decode(s string, v any) {
	m.g.t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		m.g.t.Fatalf("%s: %v in %s", m.name, err, s)
	}
}

func (m *machine) keygen() string {
	m.g.t.Helper()
	return strings.TrimSpace(m.must("", "keygen", "--no-passphrase"))
}

// add adds a secret shared with the intake group, and its value.
func (m *machine) add(name, value string) {
	m.g.t.Helper()
	m.g.values[name] = append(m.g.values[name], value)
	m.must(value+"\n", "add", name, "--share", "@intake")
}

func (m *machine) set(name, value string) {
	m.g.t.Helper()
	m.g.values[name] = append(m.g.values[name], value)
	m.must(value+"\n", "set", name)
}

// rotate generates a new value for name and confirms it.
func (m *machine) rotate(name string) {
	m.g.t.Helper()
	value := strings.TrimSpace(m.must("", "rotate", name))
	if value == "" {
		m.g.t.Fatalf("%s: vault rotate %s printed no value", m.name, name)
	}
	m.g.values[name] = append(m.g.values[name], value)
	m.must("", "rotate", name, "--confirm")
}

func (m *machine) secretNames() []string {
	m.g.t.Helper()
	var ss []struct {
		Name string `json:"name"`
	}
	m.decode(m.must("", "list", "--json"), &ss)
	var out []string
	for _, s := range ss {
		out = append(out, s.Name)
	}
	return out
}

// transport carries copies of the vault file between machines.
type transport interface {
	// join gives a machine its copy of the vault folder as it is now.
	join(m *machine)
	// exchange carries the machine's changes to the others and theirs to
	// it, the way the transport does, with the commands its member runs
	// to take them in.
	exchange(m *machine)
}

// exchangeAll lets every machine exchange in turn, twice: enough, if
// nothing is lost, for each to have everything.
func exchangeAll(tr transport, ms ...*machine) {
	for range 2 {
		for _, m := range ms {
			tr.exchange(m)
		}
	}
}

// playGroup is what the group does, whatever carries the file: alice
// creates the vault with bob and carol (an admin) in the intake group;
// then three rounds, each exchanged by everyone: concurrent adds,
// concurrent rotations of one secret, and a removal concurrent with the
// removed member's own changes. after, when set, runs after each round.
func playGroup(g *group, tr transport, after func(round int, everyone []*machine)) (alice, bob, carol *machine) {
	t := g.t
	alice, bob, carol = g.machine("alice"), g.machine("bob"), g.machine("carol")
	everyone := []*machine{alice, bob, carol}
	bobKey, carolKey := bob.keygen(), carol.keygen()
	alice.keygen()
	tr.join(alice)
	alice.must("", "init", "--me", "alice")
	alice.must("", "member", "add", "bob", bobKey, "--group", "intake")
	alice.must("", "member", "add", "carol", carolKey, "--group", "intake", "--admin")
	tr.exchange(alice)
	tr.join(bob)
	tr.join(carol)
	exchangeAll(tr, everyone...)
	round := func(n int) {
		exchangeAll(tr, everyone...)
		if after != nil {
			after(n, everyone)
		}
	}

	// Each adds a secret before seeing the others'.
	alice.add("airtable", "airtable-by-alice")
	bob.add("call-log", "call-log-by-bob")
	carol.add("inbox", "inbox-by-carol")
	round(1)
	for _, m := range everyone {
		if got := m.secretNames(); !slices.Equal(got, []string{"airtable", "call-log", "inbox"}) {
			t.Fatalf("%s sees %v after the first round", m.name, got)
		}
	}

	// Two rotate the same secret at once; the others set new values.
	alice.rotate("airtable")
	carol.rotate("airtable")
	bob.set("call-log", "call-log-by-bob-2")
	carol.set("inbox", "inbox-by-carol-2")
	round(2)

	// alice removes bob; before he sees it, bob sets a value and adds a
	// secret (both must be refused); carol sets a value (it must stand).
	alice.must("", "member", "rm", "bob")
	bob.removed = true
	g.void = append(g.void, "call-log-by-bob-late", "bobs-late-secret")
	bob.must("call-log-by-bob-late\n", "set", "call-log")
	bob.must("bobs-late-secret\n", "add", "bobs-late", "--share", "alice")
	carol.set("inbox", "inbox-by-carol-3")
	round(3)

	// The readers' next sync does what the removal left to them:
	// re-encrypting without bob what alice cannot read (alice is not in
	// intake), and carol's value written before she saw the removal.
	alice.must("", "sync")
	carol.must("", "sync")
	exchangeAll(tr, everyone...)
	return alice, bob, carol
}

// checkNothingLost checks the end of playGroup: every copy of the vault
// file shows the same secrets and the same log, every value set is in its
// secret's history, no current value is readable by bob, bob's late
// changes were refused, and bob can open no copy (and opening one does not
// change it).
func checkNothingLost(t *testing.T, alice, bob, carol *machine) {
	t.Helper()
	g := alice.g
	defer func() {
		if t.Failed() {
			t.Logf("what the members ran and were told:\n%s", g.said.String())
		}
	}()
	list := alice.must("", "list", "--json")
	log := alice.must("", "log", "--json")
	if got := carol.must("", "log", "--json"); got != log {
		t.Errorf("carol's log differs from alice's:\n%s\nalice's:\n%s", got, log)
	}
	if names := alice.secretNames(); !slices.Equal(names, []string{"airtable", "call-log", "inbox"}) {
		t.Errorf("the secrets are %v", names)
	}
	// Each copy of the file holds all of it: alice, on a machine that
	// never opened it, sees what she sees on hers.
	for _, m := range []*machine{alice, bob, carol} {
		fresh := filepath.Join(g.root, "alice-fresh-"+m.name)
		for _, cmd := range [][]string{{"list", "--json"}, {"log", "--json"}} {
			code, out, errs := alice.runOn(m.vaultFile(), fresh, "", cmd...)
			if code != 0 {
				t.Fatalf("alice opening %s's copy: vault %v: exit %d: %s", m.name, cmd, code, errs)
			}
			if want := map[string]string{"list": list, "log": log}[cmd[0]]; out != want {
				t.Errorf("%s's copy of the vault: vault %v differs:\n%s\nalice's own:\n%s", m.name, cmd, out, want)
			}
		}
	}

	// Every value anyone set is in the history of its secret, as its
	// readers see it; bob's late value is not; no current value is
	// readable by bob (older ones he read before his removal).
	for _, name := range slices.Sorted(maps.Keys(g.values)) {
		var have []string
		for _, m := range []*machine{alice, carol} {
			var versions []struct {
				N       int      `json:"version"`
				State   string   `json:"state"`
				Readers []string `json:"readers"`
				CanRead bool     `json:"can_read"`
			}
			m.decode(m.must("", "history", name, "--json"), &versions)
			for _, ver := range versions {
				if ver.State == "current" && slices.Contains(ver.Readers, "bob") {
					t.Errorf("%s: the current value is readable by bob (readers %v)", name, ver.Readers)
				}
				if !ver.CanRead {
					continue
				}
				code, out, errs := m.run("", "get", name, "--version", strconv.Itoa(ver.N))
				if code != 0 {
					t.Errorf("%s: %s cannot read version %d (%s), which history says she can: exit %d: %s", m.name, name, ver.N, ver.State, code, errs)
					continue
				}
				have = append(have, strings.TrimSuffix(out, "\n"))
			}
		}
		for _, v := range g.values[name] {
			if !slices.Contains(have, v) {
				t.Errorf("%s: the value %q is not in its history", name, v)
			}
		}
		for _, v := range g.void {
			if slices.Contains(have, v) {
				t.Errorf("%s: the value bob set concurrently with his removal, %q, is in its history", name, v)
			}
		}
	}

	var entries []struct {
		Actor    string `json:"actor"`
		Action   string `json:"action"`
		Target   string `json:"target"`
		Rejected string `json:"rejected"`
	}
	alice.decode(log, &entries)
	refused := map[string]bool{}
	for _, e := range entries {
		switch {
		case e.Rejected == "":
		case e.Actor == "bob":
			refused[e.Action+" "+e.Target] = true
		default:
			t.Errorf("a change by %s was refused: %+v", e.Actor, e)
		}
	}
	for _, want := range []string{"secret.set call-log", "secret.add bobs-late"} {
		if !refused[want] {
			t.Errorf("bob's late %s is not refused in the log; refused: %v", want, refused)
		}
	}

	// bob opens no copy, on his machine or another, and trying does not
	// change the file (reads do not write).
	for _, m := range []*machine{alice, bob, carol} {
		for _, state := range []string{bob.env["XDG_STATE_HOME"], filepath.Join(g.root, "bob-fresh-"+m.name)} {
			before, _ := os.ReadFile(m.vaultFile())
			code, out, errs := bob.runOn(m.vaultFile(), state, "", "get", "airtable")
			if code != exitBadKey || out != "" {
				t.Errorf("bob opening %s's copy: exit %d, stdout %q, stderr %q; want exit 6 and nothing", m.name, code, out, errs)
			}
			if after, _ := os.ReadFile(m.vaultFile()); !bytes.Equal(before, after) {
				t.Errorf("bob, removed, failed to open %s's copy but changed it", m.name)
			}
		}
	}
}

// gitRemote is a bare repository the members clone. alice and bob use
// 'vault sync'; carol, once her first sync set up the merge driver, uses
// plain git: commit, pull (the driver merges the vault file), push.
type gitRemote struct {
	t   *testing.T
	url string
	// anonymous leaves the clones without a git identity.
	anonymous bool
	// exchanges counts each machine's exchanges.
	exchanges map[string]int
}

func newGitRemote(t *testing.T, root string) *gitRemote {
	url := filepath.Join(root, "remote.git")
	gitIn(t, root, "init", "--quiet", "--bare", url)
	return &gitRemote{t: t, url: url, exchanges: map[string]int{}}
}

func (r *gitRemote) join(m *machine) {
	r.t.Helper()
	gitIn(r.t, filepath.Dir(m.dir), "clone", "--quiet", r.url, m.dir)
	if !r.anonymous {
		// Each member's own git identity; it names no member.
		gitIn(r.t, m.dir, "config", "user.name", "Organizer")
		gitIn(r.t, m.dir, "config", "user.email", "organizer@example.org")
	}
}

func (r *gitRemote) exchange(m *machine) {
	r.t.Helper()
	r.exchanges[m.name]++
	switch {
	case m.removed:
		// A removed member's first sync still pushes what they did;
		// then their machine only pulls, with plain git.
		code, _, errs := m.run("", "sync")
		if code == 0 {
			return
		}
		if code != exitBadKey {
			r.t.Fatalf("%s (removed): vault sync: exit %d: %s", m.name, code, errs)
		}
		gitIn(r.t, m.dir, "checkout", "--", ".")
		gitIn(r.t, m.dir, "pull", "--quiet", "--no-rebase", "--no-edit")
	case m.name == "carol" && r.exchanges[m.name] > 1:
		if st := gitIn(r.t, m.dir, "status", "--porcelain"); st != "" {
			gitIn(r.t, m.dir, "commit", "--quiet", "--all", "--message", "vault: update")
		}
		if out := gitIn(r.t, m.dir, "pull", "--no-rebase", "--no-edit"); strings.Contains(out, "CONFLICT") {
			r.t.Fatalf("carol: git pull left a conflict:\n%s", out)
		}
		gitIn(r.t, m.dir, "push", "--quiet")
		m.must("", "list")
	default:
		m.must("", "sync")
	}
}

// TestGitEndToEnd: a bare remote and three clones in three homes;
// concurrent adds, rotations and a removal; 'vault sync' and plain 'git
// pull' both merge; nothing is lost, and nothing git sees names a member
// or a secret.
func TestGitEndToEnd(t *testing.T) {
	needGit(t)
	if testing.Short() {
		t.Skip("builds the program and runs git many times")
	}
	g := newGroup(t)
	g.exe = buildVault(t)
	isolateGit(t, g.root)
	r := newGitRemote(t, g.root)
	alice, bob, carol := playGroup(g, r, nil)
	for _, m := range []*machine{alice, carol} {
		if st := gitIn(t, m.dir, "status", "--porcelain"); st != "" {
			t.Errorf("%s's clone is not clean after the last exchange:\n%s", m.name, st)
		}
	}
	checkNothingLost(t, alice, bob, carol)

	// Every clone runs this program as the merge driver of the vault file.
	for _, m := range []*machine{alice, bob, carol} {
		if got := strings.TrimSpace(gitIn(t, m.dir, "config", "--local", "merge.vault.driver")); got != g.exe+" merge-driver %O %A %B" {
			t.Errorf("%s's merge driver is %q", m.name, got)
		}
	}
	if got, err := os.ReadFile(filepath.Join(alice.dir, ".gitattributes")); err != nil || string(got) != "/vault.db merge=vault -diff -text\n" {
		t.Errorf(".gitattributes = %q, %v", got, err)
	}
	// What git sees: commits "vault: update", sync's merges "vault:
	// update (merge)" or merges by a plain git pull, by the
	// members' own git identity, touching the vault file and
	// .gitattributes only; the members did push concurrently.
	for _, line := range strings.Split(strings.TrimSpace(gitIn(t, r.url, "log", "--format=%s")), "\n") {
		if line != "vault: update" && line != "vault: update (merge)" && !strings.HasPrefix(line, "Merge branch ") {
			t.Errorf("a commit message says %q", line)
		}
	}
	history := gitIn(t, r.url, "log", "--format=%an %ae %cn %ce%n%B", "--name-only")
	for _, word := range []string{"alice", "bob", "carol", "airtable", "call-log", "inbox", "intake"} {
		if strings.Contains(history, word) {
			t.Errorf("git's history names %q:\n%s", word, history)
		}
	}
	if files := gitIn(t, r.url, "log", "--format=", "--name-only", "--", ".", ":!vault.db", ":!.gitattributes"); strings.TrimSpace(files) != "" {
		t.Errorf("commits touch other files: %s", files)
	}
	if merges := strings.Fields(gitIn(t, r.url, "log", "--merges", "--format=%h")); len(merges) < 3 {
		t.Errorf("the history has %d merges; the members were meant to push concurrently", len(merges))
	}
}

// TestGitSyncWithoutIdentity: a member who never set up git (no name or
// email in any git configuration) syncs a change made concurrently with
// another member's. Every commit vault makes, the merge of the pull
// included, must name the neutral author "vault", never an identity git
// guesses from the system account.
func TestGitSyncWithoutIdentity(t *testing.T) {
	needGit(t)
	g := newGroup(t)
	g.exe = buildVault(t)
	isolateGit(t, g.root)
	r := newGitRemote(t, g.root)
	r.anonymous = true
	alice, bob := g.machine("alice"), g.machine("bob")
	bobKey := bob.keygen()
	alice.keygen()
	r.join(alice)
	alice.must("", "init", "--me", "alice")
	alice.must("", "member", "add", "bob", bobKey, "--group", "intake")
	alice.must("", "sync")
	r.join(bob)
	bob.must("", "sync")

	alice.add("airtable", "airtable-by-alice")
	bob.add("call-log", "call-log-by-bob")
	// Each sync after the first must merge: those merge commits are the
	// ones at stake.
	for _, m := range []*machine{alice, bob, alice} {
		if code, _, errs := m.run("", "sync"); code != 0 {
			t.Fatalf("%s: vault sync without a git identity, after another member pushed: exit %d: %s", m.name, code, errs)
		}
	}
	for _, m := range []*machine{alice, bob} {
		if got := m.secretNames(); !slices.Equal(got, []string{"airtable", "call-log"}) {
			t.Errorf("%s sees %v", m.name, got)
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(gitIn(t, r.url, "log", "--format=%an <%ae> %cn <%ce> %s")), "\n") {
		if !strings.HasPrefix(line, "vault <vault@localhost> vault <vault@localhost> ") {
			t.Errorf("a commit is not by the neutral author: %s", line)
		}
	}
}

// TestSyncFinishesAConflictedPull: a plain 'git pull' whose merge driver
// is no longer where the configuration says (vault was upgraded or moved
// since the last sync, or that sync ran from 'go run') leaves the vault
// file in conflict. 'vault sync', the command a member runs next, must
// finish the merge with both sides' changes.
func TestSyncFinishesAConflictedPull(t *testing.T) {
	needGit(t)
	g := newGroup(t)
	g.exe = buildVault(t)
	isolateGit(t, g.root)
	r := newGitRemote(t, g.root)
	alice, bob := g.machine("alice"), g.machine("bob")
	bobKey := bob.keygen()
	alice.keygen()
	r.join(alice)
	alice.must("", "init", "--me", "alice")
	alice.must("", "member", "add", "bob", bobKey, "--group", "intake")
	alice.must("", "sync")
	r.join(bob)
	bob.must("", "sync")

	alice.add("airtable", "airtable-by-alice")
	alice.must("", "sync")
	bob.add("call-log", "call-log-by-bob")
	gitIn(t, bob.dir, "commit", "--quiet", "--all", "--message", "vault: update")
	gitIn(t, bob.dir, "config", "--local", "merge.vault.driver", filepath.Join(g.root, "moved", "vault")+" merge-driver %O %A %B")
	out, err := tryGit(bob.dir, "pull", "--no-rebase", "--no-edit")
	if err == nil || !strings.Contains(out, "CONFLICT") {
		t.Fatalf("git pull without its merge driver: %v\n%s\n(the test expects a conflict)", err, out)
	}

	code, _, errs := bob.run("", "sync")
	if code != 0 {
		t.Errorf("vault sync with the vault file in conflict: exit %d: %s", code, errs)
	}
	if _, err := os.Stat(filepath.Join(bob.dir, ".git", "MERGE_HEAD")); err == nil {
		t.Errorf("vault sync left the merge unfinished")
	}
	// What bob's clone holds by itself: alice's change and his.
	code, list, errs := alice.runOn(bob.vaultFile(), filepath.Join(g.root, "alice-fresh"), "", "list", "--json")
	if code != 0 || !strings.Contains(list, `"name": "airtable"`) || !strings.Contains(list, `"name": "call-log"`) {
		t.Errorf("bob's vault file after the sync: exit %d, %s%s", code, list, errs)
	}
}

// syncTool plays a shared-folder tool (Syncthing, Nextcloud, Dropbox):
// each machine has its own copy of the folder, and the tool copies the
// vault file between them through its own idea of the latest version.
// When a machine changed the file and so did another since, the tool keeps
// the other's and leaves this machine's beside it as a conflict copy,
// which it copies to every machine.
type syncTool struct {
	t *testing.T
	// latest is the file as the tool last agreed on it.
	latest []byte
	// base is, for each machine, the file it last got from or gave to
	// the tool.
	base map[string][]byte
	// copies are the conflict copies left so far, by name; given says
	// which each machine got.
	copies map[string][]byte
	given  map[string]map[string]bool
}

func newSyncTool(t *testing.T) *syncTool {
	return &syncTool{t: t, base: map[string][]byte{}, copies: map[string][]byte{}, given: map[string]map[string]bool{}}
}

func (s *syncTool) join(m *machine) {
	s.t.Helper()
	if err := os.MkdirAll(m.dir, 0o700); err != nil {
		s.t.Fatal(err)
	}
	s.given[m.name] = map[string]bool{}
	if s.latest != nil {
		s.deliver(m)
	}
}

// deliver copies the latest file and the conflict copies m lacks to m.
func (s *syncTool) deliver(m *machine) {
	s.t.Helper()
	if err := os.WriteFile(m.vaultFile(), s.latest, 0o600); err != nil {
		s.t.Fatal(err)
	}
	s.base[m.name] = s.latest
	for _, name := range slices.Sorted(maps.Keys(s.copies)) {
		if s.given[m.name][name] {
			continue
		}
		if err := os.WriteFile(filepath.Join(m.dir, name), s.copies[name], 0o600); err != nil {
			s.t.Fatal(err)
		}
		s.given[m.name][name] = true
	}
}

// carry is one pass of the tool over m's folder. It reports whether m's
// change lost, and was left as a conflict copy.
func (s *syncTool) carry(m *machine) (lost bool) {
	s.t.Helper()
	local, err := os.ReadFile(m.vaultFile())
	if err != nil {
		s.t.Fatal(err)
	}
	base := s.base[m.name]
	switch {
	case bytes.Equal(local, base):
		// Nothing changed here: take the latest.
	case bytes.Equal(s.latest, base):
		// Only this machine changed it.
		s.latest = local
	default:
		name := fmt.Sprintf("vault.sync-conflict-20261127-1200%02d-%s.db", len(s.copies), strings.ToUpper(m.name))
		s.copies[name] = local
		lost = true
	}
	s.deliver(m)
	return lost
}

// exchange is a pass of the tool, then a command of the member (which
// merges the conflict copies and puts back what a copy lacked), then
// another pass. A machine whose change lost runs no command: its member
// is away, and the others must get the change from the conflict copy.
func (s *syncTool) exchange(m *machine) {
	s.t.Helper()
	if s.carry(m) {
		return
	}
	code, _, errs := m.run("", "list")
	if code != 0 && !(m.removed && code == exitBadKey) {
		s.t.Fatalf("%s: vault list: exit %d: %s", m.name, code, errs)
	}
	s.carry(m)
}

// rollback puts an old file in place everywhere, as a tool does when a
// laptop that was offline comes back with an older copy that looks newer.
func (s *syncTool) rollback(old []byte, ms ...*machine) {
	s.latest = old
	for _, m := range ms {
		s.deliver(m)
	}
}

// TestSharedFolderEndToEnd is TestGitEndToEnd with a shared folder: a sync
// tool that keeps one side of concurrent changes and leaves the other as a
// conflict copy, and that once puts an old copy back everywhere. Nothing
// is lost, the lost changes are named, and no conflict copy stays behind.
func TestSharedFolderEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("runs many vault commands")
	}
	g := newGroup(t)
	// 'vault sync' here only does its local part; git must find no
	// repository around the folders.
	isolateGit(t, g.root)
	tool := newSyncTool(t)
	var old []byte
	alice, bob, carol := playGroup(g, tool, func(round int, everyone []*machine) {
		switch round {
		case 1:
			old = tool.latest
		case 2:
			// The rotations are lost from every copy of the folder; the
			// next command of those who saw them puts them back.
			tool.rollback(old, everyone...)
			before := g.said.Len()
			exchangeAll(tool, everyone...)
			told := g.said.String()[before:]
			if !strings.Contains(told, "this copy of the vault lacks") || !strings.Contains(told, "they were put back") {
				t.Errorf("nobody was told the copy lacked changes:\n%s", told)
			}
		}
	})
	checkNothingLost(t, alice, bob, carol)
	if len(tool.copies) == 0 {
		t.Fatal("the sync tool never left a conflict copy: the test does not test what it says")
	}
	if !regexp.MustCompile(`merged [1-9][0-9]* changes? from vault\.sync-conflict-\S+, a copy a sync tool left beside the vault, and removed it`).MatchString(g.said.String()) {
		t.Errorf("no conflict copy brought a change in:\n%s", g.said.String())
	}
	for _, m := range []*machine{alice, bob, carol} {
		if left, _ := filepath.Glob(filepath.Join(m.dir, "vault.sync-conflict-*")); len(left) > 0 {
			t.Errorf("conflict copies left in %s's folder: %v", m.name, left)
		}
	}
}
