package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mutual-aid-vault/vault/tui"
	"github.com/mutual-aid-vault/vault/vault"
)

// joinOptions are join's flags.
type joinOptions struct {
	file         string
	inPlace      bool
	switchVault  bool
	noPassphrase bool
}

func (a *app) joinCommand() *cobra.Command {
	var o joinOptions
	c := &cobra.Command{
		Use:   "join FILE_OR_GIT_URL",
		Short: "Join your group's vault: get its file, make your key, and say what to send an admin",
		Long: `Join your group's vault, from its file (a copy an admin gave you) or the
address of the git repository it is kept in (ask an admin which).

join makes your key if you have none (as 'vault keygen' does: a passphrase
asked twice, or VAULT_PASSPHRASE_FILE, or --no-passphrase; of the kind the
vault takes), and puts the group's file where commands find it:

  - a file is copied into your data folder ($XDG_DATA_HOME/vault, i.e.
    ~/.local/share/vault), under its own name; with --in-place it is used
    where it is (a file in a shared folder that Syncthing, Nextcloud or
    Dropbox keeps in sync);
  - a git repository is cloned into your data folder, and its vault file is
    the only *.db file at its top, or the one --file names.

The configuration file ($XDG_CONFIG_HOME/vault/config) then names the vault,
so commands find it without --vault or VAULT_FILE (which still win), and
this machine pins it: another vault put in its place is refused, even
before you are added.

Then join prints your public key line (on stdout) and its fingerprint:
send the line to an admin of the group, read them the fingerprint by phone
or in person, and once they have added you, run 'vault get NAME' or open
'vault'. The first command after that says who added you.

join never replaces a vault: if your data folder already holds another
vault under that name it says so; if you already use another vault, it
asks for --switch (the other file stays where it is). Joining again with
the same vault updates your copy (a newer copy of the file is merged in).`,
		Args: args("FILE_OR_GIT_URL"),
		RunE: func(cmd *cobra.Command, args []string) error { return a.join(args[0], o) },
	}
	c.Flags().StringVar(&o.file, "file", "", "the vault file inside the git repository (`PATH` from its top), when it is not the only *.db there")
	c.Flags().BoolVar(&o.inPlace, "in-place", false, "use the vault file where it is (a shared folder kept in sync) instead of copying it")
	c.Flags().BoolVar(&o.switchVault, "switch", false, "use the group's vault from now on although you use another one (which is left as it is)")
	c.Flags().BoolVar(&o.noPassphrase, "no-passphrase", false, "if a key is made, write it without a passphrase (for unattended scripts)")
	return c
}

// joinSource is the group's file as join found it.
type joinSource struct {
	// file is the group's vault file, where it is now; dest where it is
	// to be.
	file, dest string
	// how says how it got there, for the messages.
	how string
	// place puts the file at dest (nil: it is there already).
	place func() error
	// cloned is the folder cloned by this run, removed if the join fails.
	cloned string
	// fromGit is set when the vault lives in a git clone.
	fromGit bool
}

func (a *app) join(src string, o joinOptions) error {
	j, err := a.joinVault(src, o, func(kind vault.Kind) (*vault.Identity, error) {
		return a.joiningIdentity(kind, o.noPassphrase)
	})
	if err != nil {
		return err
	}
	for _, n := range j.done {
		a.note("%s", n)
	}
	for _, w := range j.warnings {
		a.say("warning: %s", w)
	}
	if j.member {
		if j.welcome != "" {
			a.note("you are a member already: %s; run 'vault get NAME' or open 'vault'", j.welcome)
		}
		return nil
	}
	a.note("you are not a member yet; send this line to an admin of the group (it is safe to share by chat or email):")
	fmt.Fprintln(a.stdout, j.id.PublicKey())
	a.note("read them its fingerprint, by phone or in person: %s", j.id.Fingerprint())
	a.note("once they have added you, %s; then run 'vault get NAME' or open 'vault'", j.next)
	return nil
}

// joined is what joining did: the command line and the terminal UI each
// say it their way.
type joined struct {
	// dest is the group's vault file, now named by the configuration.
	dest string
	// id is the member's identity.
	id *vault.Identity
	// done says what was done, warnings what may still be in the way.
	done, warnings []string
	// next says how the change that adds the member reaches this copy.
	next string
	// member is set when the identity opens the vault already, and
	// welcome then says who added the member and what they can read (the
	// first time only).
	member  bool
	welcome string
}

// joinVault joins the group's vault at src (a vault file, or a git
// repository: a local folder or an address): it puts the file where
// commands find it, makes the configuration name it, and pins it. identity
// returns the member's identity for a vault of that kind (made now, if
// need be). It prints nothing: the command line and the terminal UI share
// it.
func (a *app) joinVault(src string, o joinOptions, identity func(vault.Kind) (*vault.Identity, error)) (j joined, err error) {
	if a.vaultFlag != "" {
		return j, usageError{errors.New("join puts the group's file in your data folder itself, so --vault does not apply; to keep the file somewhere else, put it there and run 'vault join --in-place FILE'")}
	}
	s, err := a.joinSource(src, o)
	if err != nil {
		return j, err
	}
	defer func() {
		if err != nil && s.cloned != "" {
			os.RemoveAll(s.cloned)
		}
	}()
	info, err := vault.Inspect(s.file)
	if err != nil {
		return j, groupFileError(err)
	}
	if s.place == nil && s.dest != s.file {
		// The copy in the data folder is in the way: the same vault is
		// brought up to date, another one is never replaced.
		if err := a.checkDest(s, info); err != nil {
			return j, err
		}
	}
	other, err := a.currentVault(s.dest, info, o.switchVault)
	if err != nil {
		return j, err
	}

	id, err := identity(info.Kind)
	if err != nil {
		return j, err
	}
	if s.place != nil {
		if err := s.place(); err != nil {
			return j, err
		}
	}
	if _, err := vault.Join(a.stateDir(), s.dest); err != nil {
		return j, err
	}
	cfg, err := a.configPath()
	if err != nil {
		return j, err
	}
	j.dest, j.id = s.dest, id
	if cur, _ := a.configuredVault(); cur != s.dest {
		if err := a.rememberVault(s.dest); err != nil {
			return j, fmt.Errorf("cannot write the configuration %s: %w", cfg, err)
		}
		j.done = append(j.done, fmt.Sprintf("%s; commands use it from now on (%s names it), and this machine refuses another vault put in its place", s.how, cfg))
	} else {
		j.done = append(j.done, s.how)
	}
	if other != "" {
		j.done = append(j.done, other)
	}
	if env := a.getenv("VAULT_FILE"); env != "" {
		if abs, _ := filepath.Abs(env); abs != s.dest {
			j.warnings = append(j.warnings, fmt.Sprintf("VAULT_FILE is set (to %s) and wins over the configuration: unset it to use the group's vault", env))
		}
	}
	j.next = "get the group's file again and run 'vault join FILE' with it (it brings your copy up to date)"
	switch {
	case s.fromGit:
		j.next = "run 'vault sync' (it fetches the change from the repository)"
	case o.inPlace:
		j.next = "wait until your shared folder brings their change"
	}

	v, err := vault.Open(s.dest, a.vaultOptions(id))
	switch {
	case err == nil:
		defer v.Close()
		j.member = true
		if w, ok := v.Welcome(); ok {
			j.welcome = welcomeText(w)
			_ = v.MarkWelcomed()
		}
		return j, nil
	case errors.Is(err, vault.ErrNotAdded):
		return j, nil
	}
	return j, err
}

// joinSource works out what src is (a vault file, or a git repository:
// a local folder or an address) and where the group's file goes.
func (a *app) joinSource(src string, o joinOptions) (*joinSource, error) {
	data, err := a.dataDir()
	if err != nil {
		return nil, err
	}
	st, statErr := os.Stat(src)
	git := false
	switch {
	case statErr == nil && st.IsDir():
		git = true
	case statErr == nil && st.Mode().IsRegular():
	case statErr == nil:
		return nil, fmt.Errorf("%s is not a file; give the path of your group's vault file, or the address of its git repository", src)
	case errors.Is(statErr, fs.ErrNotExist) && looksLikeGitURL(src):
		git = true
	case errors.Is(statErr, fs.ErrNotExist):
		return nil, fmt.Errorf("there is no file or folder at %s; give the path of your group's vault file, or the address of its git repository (ask an admin for it)", src)
	default:
		return nil, statErr
	}
	if !git {
		if o.file != "" {
			return nil, usageError{errors.New("--file names the vault file inside a git repository; give the file itself instead")}
		}
		abs, err := filepath.Abs(src)
		if err != nil {
			return nil, err
		}
		s := &joinSource{file: abs, dest: filepath.Join(data, filepath.Base(abs))}
		if o.inPlace || s.dest == abs {
			s.dest, s.how = abs, fmt.Sprintf("the group's vault is %s, where it is", abs)
			return s, nil
		}
		s.how = fmt.Sprintf("copied the group's vault to %s", s.dest)
		if _, err := os.Lstat(s.dest); errors.Is(err, fs.ErrNotExist) {
			s.place = func() error { return vault.CopyFile(abs, s.dest) }
		}
		return s, nil
	}
	if o.inPlace {
		return nil, usageError{errors.New("--in-place is for a vault file; a git repository is cloned into your data folder")}
	}
	url := src
	if statErr == nil {
		if url, err = filepath.Abs(src); err != nil {
			return nil, err
		}
	}
	name := repoName(url)
	dir := filepath.Join(data, name)
	s := &joinSource{fromGit: true}
	gopts := vault.SyncOptions{}
	if _, err := os.Lstat(dir); err == nil {
		if origin := vault.Origin(dir, gopts); !sameRepo(origin, url) {
			return nil, fmt.Errorf("%s already exists and is not a clone of %s; move it elsewhere and run join again", dir, url)
		}
		s.how = fmt.Sprintf("the group's repository is cloned at %s already", dir)
	} else {
		if err := vault.Clone(url, dir, gopts); err != nil {
			return nil, fmt.Errorf("%v; check the address (ask an admin for it) and that you may read the repository", err)
		}
		s.cloned = dir
		s.how = fmt.Sprintf("cloned the group's repository into %s", dir)
	}
	if o.file != "" {
		rel := filepath.Clean(o.file)
		if filepath.IsAbs(rel) || rel == "." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || rel == ".." {
			s.remove()
			return nil, usageError{fmt.Errorf("--file %s must be a path inside the repository, from its top", o.file)}
		}
		s.file = filepath.Join(dir, rel)
		if _, err := os.Stat(s.file); err != nil {
			s.remove()
			return nil, fmt.Errorf("the repository has no file %s; check the name with an admin", o.file)
		}
	} else {
		files, err := vault.VaultFiles(dir)
		switch {
		case err != nil:
			s.remove()
			return nil, err
		case len(files) == 0:
			s.remove()
			return nil, fmt.Errorf("there is no vault file (*.db) at the top of the repository %s; ask an admin which file it is and give it with --file PATH", url)
		case len(files) > 1:
			s.remove()
			return nil, fmt.Errorf("the repository %s has several .db files at its top (%s); ask an admin which is the group's vault and give it with --file NAME", url, strings.Join(files, ", "))
		}
		s.file = filepath.Join(dir, files[0])
	}
	s.dest = s.file
	s.how += fmt.Sprintf("; the group's vault is %s", s.file)
	return s, nil
}

// remove removes the folder this run cloned, if any.
func (s *joinSource) remove() {
	if s.cloned != "" {
		os.RemoveAll(s.cloned)
		s.cloned = ""
	}
}

// checkDest deals with a file already at the place a copy goes: a copy of
// the same vault is brought up to date (the union of both: nothing is
// lost), anything else is left alone and join stops.
func (a *app) checkDest(s *joinSource, info vault.FileInfo) error {
	there, err := vault.Inspect(s.dest)
	if err == nil && there.ID == info.ID {
		s.how = fmt.Sprintf("brought your copy of the group's vault, %s, up to date", s.dest)
		s.place = func() error { return vault.MergeFiles(s.dest, s.file) }
		return nil
	}
	what := "another vault (perhaps one made with 'vault init')"
	if err != nil {
		what = "a file that is not the group's vault"
	}
	return fail(vault.ErrExists, "%s already holds %s, which join does not replace; move it elsewhere and run join again, or put the group's file where you want it and run 'vault join --in-place FILE'", s.dest, what)
}

// currentVault checks the vault this member uses now (the configuration's,
// else the default file if there is one) against the group's file about
// to be joined at dest. Another vault stops the join unless switching;
// the returned note says what became of it.
func (a *app) currentVault(dest string, info vault.FileInfo, switching bool) (string, error) {
	cur, err := a.configuredVault()
	if err != nil {
		return "", err
	}
	if cur == "" {
		if cur, err = a.defaultVaultPath(); err != nil {
			return "", nil
		}
	}
	if abs, err := filepath.Abs(cur); err == nil {
		cur = abs
	}
	if cur == dest {
		return "", nil
	}
	if _, err := os.Stat(cur); err != nil {
		return "", nil
	}
	// The vault this machine knows there, rather than whatever the file
	// holds now: another vault may have been put in its place.
	id := vault.Pinned(a.stateDir(), cur)
	if id == "" {
		if there, err := vault.Inspect(cur); err == nil {
			id = there.ID
		}
	}
	if id == info.ID {
		return fmt.Sprintf("you used the same vault at %s before: what this machine saw of it carries over", cur), nil
	}
	if !switching {
		return "", fail(vault.ErrExists, "you already use another vault, at %s; to use the group's vault from now on, run join again with --switch (%s is left where it is, and '--vault %s' still opens it)", cur, cur, cur)
	}
	return fmt.Sprintf("%s is left where it is ('--vault %s' still opens it)", cur, cur), nil
}

// joiningIdentity returns the member's identity, made now (as keygen
// does) if there is none, of the kind the vault takes.
func (a *app) joiningIdentity(kind vault.Kind, noPassphrase bool) (*vault.Identity, error) {
	path, err := a.identityPath()
	if err != nil {
		return nil, err
	}
	if _, err := os.Lstat(path); err == nil {
		id, err := a.loadIdentity()
		if err != nil {
			return nil, err
		}
		if id.Kind() != kind {
			return nil, wrongKindError(kind, path, id.Kind())
		}
		return id, nil
	}
	var pass vault.Value
	if !noPassphrase {
		if pass, err = a.newPassphrase(); err != nil {
			return nil, err
		}
		defer pass.Wipe()
	}
	id, err := vault.GenerateIdentity(kind)
	if err != nil {
		return nil, err
	}
	if err := vault.WriteIdentity(path, id, pass, vault.IdentityOptions{ScryptWorkFactor: a.opts.scryptWorkFactor, Now: a.now()}); err != nil {
		return nil, err
	}
	if noPassphrase {
		a.note("made your key and wrote it to %s WITHOUT a passphrase: anyone who can read that file can read your secrets", path)
	} else {
		a.note("made your key and wrote it to %s, protected by your passphrase", path)
	}
	return id, nil
}

// wrongKindError says that the member's key is not of the kind the
// group's vault takes, and what to do.
func wrongKindError(want vault.Kind, path string, have vault.Kind) error {
	flag := ""
	if want == vault.PostQuantum {
		flag = " --pq"
	}
	return fail(vault.ErrWrongKind, "the group's vault takes %s keys and yours (%s) is %s; make a key of its kind with 'vault keygen%s --force' (your old key is kept beside it) and join again", want, path, have, flag)
}

// groupFileError says why the file offered as the group's vault is not one.
func groupFileError(err error) error {
	switch {
	case errors.Is(err, vault.ErrNewerFormat), errors.Is(err, vault.ErrBusy):
		return err
	case errors.Is(err, vault.ErrNotVault), errors.Is(err, vault.ErrCorrupt), errors.Is(err, vault.ErrOldFormat):
		return fmt.Errorf("cannot join: %v; ask an admin for the group's vault file (or the address of its git repository)", err)
	}
	return err
}

// looksLikeGitURL reports whether s is a git address rather than a path:
// scheme://…, or git's scp-like host:path (a colon before any slash).
func looksLikeGitURL(s string) bool {
	if strings.Contains(s, "://") {
		return true
	}
	colon := strings.IndexByte(s, ':')
	slash := strings.IndexByte(s, '/')
	return colon > 0 && (slash < 0 || colon < slash)
}

// sameRepo reports whether two git addresses name one repository: equal,
// or one local folder written as a path and as a file:// address.
func sameRepo(a, b string) bool {
	local := func(s string) string {
		if p, ok := strings.CutPrefix(s, "file://"); ok && filepath.IsAbs(p) {
			s = p
		}
		if filepath.IsAbs(s) {
			return filepath.Clean(s)
		}
		return s
	}
	return a != "" && local(a) == local(b)
}

// repoName is the folder a repository is cloned into: the last part of
// its address, without ".git".
func repoName(url string) string {
	url = strings.TrimRight(url, "/")
	if i := strings.LastIndexAny(url, "/:"); i >= 0 {
		url = url[i+1:]
	}
	url = strings.TrimSuffix(url, ".git")
	var b strings.Builder
	for _, r := range url {
		if r == '-' || r == '_' || r == '.' || (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') {
			b.WriteRune(r)
		}
	}
	name := strings.TrimLeft(b.String(), ".")
	if name == "" {
		return "group"
	}
	return name
}

// welcomeText says who added the member and what they can read.
func welcomeText(w vault.Welcome) string { return tui.WelcomeLine(w) }
