package vault

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/mutual-aid-vault/vault/vault/internal/fold"
)

// SyncOptions configures [Vault.Sync].
type SyncOptions struct {
	// Driver is the command git runs to merge two copies of the vault
	// file: this program's path followed by its merge-driver subcommand,
	// e.g. "/usr/local/bin/vault merge-driver". Empty leaves git's
	// configuration alone.
	Driver string
	// Retries bounds how often a push refused because the remote moved is
	// tried again after pulling. Zero means 3.
	Retries int
	// Env is added to git's environment (tests point HOME and git's
	// identity at a temporary folder).
	Env []string
}

// SyncReport says what a sync did.
type SyncReport struct {
	// Committed is set when local changes were committed.
	Committed bool `json:"committed"`
	// Changes are the changes other members made that came in.
	Changes []Event `json:"changes"`
	// Pushed is set when the remote now has everything this copy has.
	Pushed bool `json:"pushed"`
	// Setup is set when the merge driver was set up by this sync.
	Setup bool `json:"setup"`
	// NotGit is set when the vault file is not in a git working tree:
	// the sync only did its local part (chores, the activity stamp).
	NotGit bool `json:"not_git"`
}

// activeEvery is how often syncing records a member as active: last-active
// is a date for access reviews, not a tracker.
const activeEvery = 20 * time.Hour

// ErrNotGit is returned by [Vault.Sync] for a vault file outside a git
// working tree.
var ErrNotGit = errors.New("not in a git working tree")

// commitMessage is the message of every commit sync makes: it names no
// secret and no member.
const commitMessage = "vault: update"

// Sync exchanges changes with the other members through the git
// repository the vault file is in. Outside git it does only the local part
// (the shared folder the file is in carries it) and says so in the report.
// In git, it records the member as active (at
// most once a day) and does the chores that fall to them, commits the
// vault file, pulls (merging the file with the union of both sides' changes
// through a merge driver it sets up in .gitattributes and the repository's
// own configuration, so that a plain 'git pull' merges too), takes in what
// came, and pushes, pulling again when the remote moved meanwhile. Nothing
// git sees names a secret or a member.
func (v *Vault) Sync(opts SyncOptions) (SyncReport, error) {
	var out SyncReport
	dir := filepath.Dir(v.path)
	top, err := git(opts, dir, "rev-parse", "--show-toplevel")
	if err != nil {
		// Not in git: the local part of a sync is all there is. The file
		// is written in place; a shared folder carries it.
		if err := v.recordActive(); err != nil {
			return out, err
		}
		if _, err := v.Maintain(); err != nil {
			return out, err
		}
		out.NotGit = true
		return out, nil
	}
	top = strings.TrimSpace(top)
	rel, err := filepath.Rel(top, v.path)
	if err != nil || strings.HasPrefix(rel, "..") {
		return out, errorf(ErrNotGit, "%s is not inside the git working tree at %s", v.path, top)
	}
	rel = filepath.ToSlash(rel)
	if out.Setup, err = setupDriver(opts, top, rel); err != nil {
		return out, err
	}
	if err := finishMerge(opts, top, rel); err != nil {
		return out, err
	}
	if err := v.reread(); err != nil {
		return out, err
	}
	if err := v.recordActive(); err != nil {
		return out, err
	}
	if _, err := v.Maintain(); err != nil {
		return out, err
	}
	retries := opts.Retries
	if retries == 0 {
		retries = 3
	}
	for attempt := 0; ; attempt++ {
		committed, err := commitVault(opts, top, rel)
		if err != nil {
			return out, err
		}
		out.Committed = out.Committed || committed
		if !hasRemote(opts, top) {
			return out, errorf(ErrNotGit, "the git repository at %s has no remote to sync with; add one with 'git remote add origin URL' (committed the vault locally)", top)
		}
		if err := v.pull(opts, top, rel); err != nil {
			return out, err
		}
		before := len(v.incoming)
		if err := v.reread(); err != nil {
			return out, err
		}
		out.Changes = append(out.Changes, v.incoming[before:]...)
		if committed, err := commitVault(opts, top, rel); err != nil {
			return out, err
		} else if committed {
			out.Committed = true
		}
		_, perr := git(opts, top, "push", "--quiet")
		if perr == nil {
			out.Pushed = true
			return out, nil
		}
		if attempt >= retries {
			return out, fmt.Errorf("git push failed after %d tries: %v; run 'vault sync' again", attempt+1, perr)
		}
	}
}

// reread takes in the vault file as git left it, and puts back anything it
// lacks.
func (v *Vault) reread() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := v.ready(); err != nil {
		return err
	}
	info, err := os.Stat(v.path)
	if err != nil {
		return err
	}
	if stampOf(info) == v.storedStamp() {
		return nil
	}
	sf, err := v.openShared(v.path)
	if err != nil {
		return err
	}
	defer sf.close()
	if sf.vaultID != v.vaultID {
		return errorf(ErrOtherVault, "after pulling, %s is another vault; check the repository's history", v.path)
	}
	err = v.takeIn(sf, true)
	if err != nil && sf.damaged != nil {
		sf.close()
		return v.rebuildDamaged(sf.damaged)
	}
	return err
}

// recordActive records the member as active, at most once a day.
func (v *Vault) recordActive() error {
	if v.signer == nil || v.recovery || v.cannotWrite() {
		return nil
	}
	_, err := v.update(func(r *reader) ([]change, error) {
		me := r.me()
		if me == nil || r.now.Sub(me.LastActive) < activeEvery {
			return nil, nil
		}
		return []change{{kind: fold.KindActive, payload: fold.Empty{}}}, nil
	})
	return err
}

// pull pulls, and when git could not merge the vault file (the merge
// driver is not there, or another git merged first), merges it here.
func (v *Vault) pull(opts SyncOptions, top, rel string) error {
	if !hasUpstream(opts, top) {
		// A new repository whose branch was never pushed: nothing to pull.
		_, err := git(opts, top, "push", "--quiet", "--set-upstream", "origin", "HEAD")
		if err == nil {
			return nil
		}
		if _, ferr := git(opts, top, "fetch", "--quiet", "origin"); ferr != nil {
			return fmt.Errorf("git fetch failed: %v", ferr)
		}
		branch, _ := git(opts, top, "rev-parse", "--abbrev-ref", "HEAD")
		if _, err := git(opts, top, "branch", "--quiet", "--set-upstream-to=origin/"+strings.TrimSpace(branch)); err != nil {
			return fmt.Errorf("cannot find the remote branch to sync with: %v", err)
		}
	}
	if _, err := git(opts, top, "fetch", "--quiet"); err != nil {
		return fmt.Errorf("git fetch failed: %v", err)
	}
	// A merge message of its own: git's default names the remote, whose
	// address may name a person.
	_, err := git(opts, top, append(identityArgs(opts, top), "merge", "--quiet", "--no-edit", "-m", commitMessage+" (merge)", "@{u}")...)
	if err == nil {
		return nil
	}
	return finishMerge(opts, top, rel)
}

// finishMerge finishes a merge git left in conflict on the vault file (the
// merge driver was not there, or a plain 'git pull' ran without it): the
// two sides are merged here and the merge committed. Without a merge under
// way it does nothing.
func finishMerge(opts SyncOptions, top, rel string) error {
	if _, err := git(opts, top, "rev-parse", "-q", "--verify", "MERGE_HEAD"); err != nil {
		return nil
	}
	unmerged, _ := git(opts, top, "diff", "--name-only", "--diff-filter=U")
	files := strings.Fields(unmerged)
	if slices.Contains(files, rel) {
		ours := filepath.Join(top, rel)
		theirs := ours + ".theirs"
		defer os.Remove(theirs)
		// The index holds both sides: stage 2 is this side, 3 the other.
		if _, err := gitOut(opts, top, theirs, "show", ":3:"+rel); err != nil {
			return fmt.Errorf("git left the vault file in conflict, and its other side cannot be read: %v", err)
		}
		if _, err := gitOut(opts, top, ours, "show", ":2:"+rel); err != nil {
			return fmt.Errorf("git left the vault file in conflict, and this side cannot be read: %v", err)
		}
		if err := MergeFiles(ours, theirs); err != nil {
			return err
		}
		if _, err := git(opts, top, "add", "--", rel); err != nil {
			return err
		}
		files = slices.DeleteFunc(files, func(f string) bool { return f == rel })
	}
	if len(files) > 0 {
		return fmt.Errorf("git left other files in conflict (%s); resolve them, then run 'vault sync' again", strings.Join(files, ", "))
	}
	_, err := gitCommit(opts, top, "--no-edit")
	return err
}

// commitVault commits the vault file (and .gitattributes) if they changed.
func commitVault(opts SyncOptions, top, rel string) (bool, error) {
	if _, err := git(opts, top, "add", "--", rel, ".gitattributes"); err != nil {
		return false, err
	}
	if _, err := git(opts, top, "diff", "--cached", "--quiet"); err == nil {
		return false, nil
	}
	_, err := gitCommit(opts, top, "-m", commitMessage)
	return err == nil, err
}

// gitCommit commits with the user's git identity, or a neutral one when
// they have none: a commit must name no member.
func gitCommit(opts SyncOptions, top string, args ...string) (string, error) {
	return git(opts, top, append(append(identityArgs(opts, top), "commit", "--quiet"), args...)...)
}

// identityArgs gives git a neutral identity when the user has none set, for
// the commits and merges sync makes.
func identityArgs(opts SyncOptions, top string) []string {
	if email, err := git(opts, top, "config", "user.email"); err != nil || strings.TrimSpace(email) == "" {
		return []string{"-c", "user.name=vault", "-c", "user.email=vault@localhost"}
	}
	return nil
}

func hasRemote(opts SyncOptions, top string) bool {
	out, err := git(opts, top, "remote")
	return err == nil && strings.TrimSpace(out) != ""
}

func hasUpstream(opts SyncOptions, top string) bool {
	_, err := git(opts, top, "rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{u}")
	return err == nil
}

// setupDriver sets up the merge driver: a line in .gitattributes (shared
// with the group through the repository) and the driver command in the
// repository's own configuration (each machine's). It is idempotent.
func setupDriver(opts SyncOptions, top, rel string) (bool, error) {
	if opts.Driver == "" {
		return false, nil
	}
	changed := false
	attrs := filepath.Join(top, ".gitattributes")
	line := fmt.Sprintf("/%s merge=vault -diff -text", rel)
	b, err := os.ReadFile(attrs)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return false, err
	}
	if !slices.Contains(strings.Split(string(b), "\n"), line) {
		if len(b) > 0 && !bytes.HasSuffix(b, []byte("\n")) {
			b = append(b, '\n')
		}
		b = append(b, line+"\n"...)
		if err := os.WriteFile(attrs, b, 0o644); err != nil {
			return false, err
		}
		changed = true
	}
	driver := opts.Driver + " %O %A %B"
	if cur, _ := git(opts, top, "config", "--local", "merge.vault.driver"); strings.TrimSpace(cur) != driver {
		if _, err := git(opts, top, "config", "--local", "merge.vault.name", "vault: merge two copies of a vault (the union of their changes)"); err != nil {
			return false, err
		}
		if _, err := git(opts, top, "config", "--local", "merge.vault.driver", driver); err != nil {
			return false, err
		}
		changed = true
	}
	return changed, nil
}

// git runs git in dir and returns its output.
func git(opts SyncOptions, dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "LC_ALL=C"), opts.Env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return stdout.String(), errors.New(strings.Join(strings.Fields(msg), " "))
	}
	return stdout.String(), nil
}

// gitOut runs git with its output into the file at path.
func gitOut(opts SyncOptions, dir, path string, args ...string) (string, error) {
	out, err := git(opts, dir, args...)
	if err != nil {
		return "", err
	}
	return "", os.WriteFile(path, []byte(out), 0o600)
}
