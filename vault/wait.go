package vault

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Waiting for another process. A command that writes this machine's copy
// holds its lock for as long as the write takes (seconds, to remove a
// member from a thousand secrets); other commands wait for it rather than
// fail, as long as it is making progress, up to a limit (Options.
// LockTimeout, the CLI's --wait), telling the user after a second. The
// writer leaves a note beside the copy (its process and command) and
// touches it while it works: a note not touched for a while belongs to a
// process that is stopped (ctrl-Z) or hung, and waiting for it is
// pointless.

// writerNote is the note a writing process leaves. The file stays; Active
// says whether its writer still holds the copy (a process that only
// reads, holding it too, leaves no note).
//
// On disk it is one line, "PID active|done COMMAND", padded with spaces.
type writerNote struct {
	PID     int
	Command string
	Active  bool
}

const (
	// heartbeat is how often a writer touches its note.
	heartbeat = 250 * time.Millisecond
	// stalled is how long a note may go untouched before its writer is
	// taken for stopped.
	stalled = 5 * time.Second
	// tellAfter is how long a command waits before it says so.
	tellAfter = time.Second
	// noteSize is the size every note is written at (padded), so that a
	// note is overwritten in place, never truncated: a reader sees the
	// old note or the new one.
	noteSize = 256
)

func (v *Vault) writerPath() string { return filepath.Join(filepath.Dir(v.repPath), "writer") }

// commandName is what a note says this process is: its program and first
// word (vault add), nothing more (argv holds names).
func commandName() string {
	if len(os.Args) == 0 {
		return "vault"
	}
	name := filepath.Base(os.Args[0])
	for _, a := range os.Args[1:] {
		if !strings.HasPrefix(a, "-") {
			return name + " " + a
		}
	}
	return name
}

// writeNote writes n over the note in f.
func writeNote(f *os.File, n writerNote) error {
	b := n.line()
	if len(b) > noteSize {
		n.Command = ""
		b = n.line()
	}
	b = append(b, bytes.Repeat([]byte{' '}, noteSize-len(b))...)
	_, err := f.WriteAt(b, 0)
	return err
}

func (n writerNote) line() []byte {
	state := "done"
	if n.Active {
		state = "active"
	}
	return fmt.Appendf(nil, "%d %s %s\n", n.PID, state, strings.ReplaceAll(n.Command, "\n", " "))
}

// parseNote reads what writeNote wrote.
func parseNote(b []byte) (writerNote, bool) {
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.SplitN(line, " ", 3)
	if len(f) < 2 {
		return writerNote{}, false
	}
	pid, err := strconv.Atoi(f[0])
	if err != nil || (f[1] != "active" && f[1] != "done") {
		return writerNote{}, false
	}
	n := writerNote{PID: pid, Active: f[1] == "active"}
	if len(f) == 3 {
		n.Command = f[2]
	}
	return n, true
}

// startWriting marks this process's note active and touches it until
// stopWriting. It costs a write to a file that stays in place: commands
// that take in another member's change pay it on every run.
func (v *Vault) startWriting() {
	if v.beat != nil || v.tempState {
		return
	}
	path := v.writerPath()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return
	}
	if writeNote(f, writerNote{PID: os.Getpid(), Command: commandName(), Active: true}) != nil {
		f.Close()
		return
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	v.beat, v.beatDone = stop, done
	go func() {
		defer close(done)
		defer f.Close()
		t := time.NewTicker(heartbeat)
		defer t.Stop()
		for {
			select {
			case <-stop:
				_ = writeNote(f, writerNote{PID: os.Getpid()})
				return
			case now := <-t.C:
				_ = os.Chtimes(path, now, now)
			}
		}
	}()
}

// stopWriting marks the note inactive.
func (v *Vault) stopWriting() {
	if v.beat == nil {
		return
	}
	close(v.beat)
	<-v.beatDone
	v.beat, v.beatDone = nil, nil
}

// writer reads the note of the process writing this machine's copy: nil
// when none is writing; stalled when it has not been touched for a while.
func (v *Vault) writer() (n *writerNote, isStalled bool) {
	path := v.writerPath()
	info, err := os.Stat(path)
	if err != nil {
		return nil, false
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, false
	}
	note, ok := parseNote(b)
	if !ok || !note.Active || note.PID <= 0 {
		return nil, false
	}
	n = &note
	if n.PID != os.Getpid() && syscall.Kill(n.PID, 0) == syscall.ESRCH {
		return nil, false // a writer that died: its lock went with it
	}
	return n, time.Since(info.ModTime()) > stalled
}

// openWaiting opens this machine's copy, waiting for another process that
// holds it as described above.
func (v *Vault) openWaiting(rw bool, hint int) (*bolt.DB, *os.File, error) {
	limit := v.lockTimeout()
	start := time.Now()
	told := false
	for {
		step := min(tellAfter, limit-time.Since(start))
		db, file, err := openReplica(v.repPath, v.path, !rw, v.tempState, hint, max(step, 10*time.Millisecond))
		if err == nil || !errors.Is(err, ErrBusy) {
			return db, file, err
		}
		waited := time.Since(start).Round(100 * time.Millisecond)
		who := "another vault command on this machine"
		n, isStalled := v.writer()
		if n != nil {
			who = fmt.Sprintf("%s (process %d)", n.Command, n.PID)
		}
		if isStalled {
			return nil, nil, errorf(ErrBusy, "%s holds %s and has made no progress for %v: is it stopped (ctrl-Z)? Bring it back with 'fg', or end it", who, v.path, stalled)
		}
		if waited >= limit {
			return nil, nil, errorf(ErrBusy, "%s holds %s and was still working after %v; try again when it has finished, or wait longer with --wait", who, v.path, waited)
		}
		if !told && v.onWait != nil {
			v.onWait(fmt.Sprintf("waiting for %s to finish with the vault (up to %v; --wait changes that)", who, limit))
			told = true
		}
	}
}
