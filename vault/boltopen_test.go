package vault

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// crashFile is issue 10's crash file (see boltcheck's crashFile): metas
// that say "no freelist" and a bucket root far outside the file. bbolt's
// read-write open dies on it with a fatal fault.
var crashFile = filepath.Join("internal", "boltcheck", "testdata", "crash.db")

// childEnv tells a re-executed test binary which child to be; a crash in
// a child ends only the child.
const childEnv = "VAULT_TEST_OPEN_CHILD"

// TestOpenChild runs the child named by childEnv, printing its outcome on
// stdout for the parent to judge. It does nothing in a normal run.
func TestOpenChild(t *testing.T) {
	spec := os.Getenv(childEnv)
	if spec == "" {
		t.Skip("run by the tests that crash-proof bbolt's opens")
	}
	kind, arg, _ := strings.Cut(spec, ":")
	say := func(format string, args ...any) { fmt.Fprintf(os.Stdout, "child: "+format+"\n", args...) }
	switch kind {
	case "openBolt":
		// bbolt opens arg for writing only after the check.
		f, err := openRW(arg)
		if err != nil {
			say("openRW: %v", err)
			return
		}
		db, err := openBolt(f, bolt.Options{NoSync: true}, time.Second, checkWhole)
		if err != nil {
			say("refused: %v (corrupt %v)", err, errors.Is(fileError(arg, err), ErrCorrupt))
			return
		}
		db.Close()
		say("opened")
	case "swap":
		// A crash file is renamed over the path after the check passed
		// and before bbolt opens it: bbolt must get the checked file.
		path, crash, _ := strings.Cut(arg, ",")
		f, err := openRW(path)
		if err != nil {
			say("openRW: %v", err)
			return
		}
		swapped := func(f *os.File, info os.FileInfo) error {
			if err := checkWhole(f, info); err != nil {
				return err
			}
			return os.Rename(crash, path)
		}
		db, err := openBolt(f, bolt.Options{NoSync: true}, time.Second, swapped)
		if err != nil {
			say("refused: %v", err)
			return
		}
		defer db.Close()
		err = db.Update(func(tx *bolt.Tx) error {
			if tx.Bucket([]byte("checked")) == nil {
				return errors.New("not the checked file")
			}
			return tx.Bucket([]byte("checked")).Put([]byte("k"), []byte("v"))
		})
		say("opened: %v", err)
	case "vault":
		// The crash file as a vault file, opened the way every command
		// opens the vault.
		id, err := GenerateIdentity(Classic)
		if err != nil {
			t.Fatal(err)
		}
		v, err := Open(arg, Options{Identity: id, StateDir: t.TempDir(), LockTimeout: time.Second})
		if err == nil {
			v.Close()
		}
		say("open: %v (file error %v)", err, errors.Is(err, ErrCorrupt) || errors.Is(err, ErrNotVault))
	default:
		t.Fatalf("unknown child %q", kind)
	}
}

// runChild re-runs the test binary as the named child and returns what it
// printed; the child must exit cleanly.
func runChild(t *testing.T, kind, arg string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestOpenChild$", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"="+kind+":"+arg)
	out, err := cmd.CombinedOutput()
	if err != nil || strings.Contains(string(out), "fatal error") {
		t.Fatalf("child %s crashed (%v):\n%s", kind, err, out)
	}
	t.Logf("child %s:\n%s", kind, out)
	return string(out)
}

// copyCrashFile puts a copy of the crash file in a temporary folder.
func copyCrashFile(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(crashFile)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "crash.db")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestOpenBoltRefusesCrashFile: the file that made bbolt's read-write
// open die is refused with a damaged-file error before bbolt sees it, by
// the helper every read-write open of an outside file goes through, and
// by Open.
func TestOpenBoltRefusesCrashFile(t *testing.T) {
	out := runChild(t, "openBolt", copyCrashFile(t))
	if !strings.Contains(out, "child: refused:") || !strings.Contains(out, "corrupt true") {
		t.Fatalf("want a clean refusal as damaged:\n%s", out)
	}
	out = runChild(t, "vault", copyCrashFile(t))
	if !strings.Contains(out, "child: open:") || !strings.Contains(out, "file error true") {
		t.Fatalf("want a clean file error from Open:\n%s", out)
	}
}

// TestOpenBoltHoldsTheCheckedFile: a file swapped in at the path after the
// check is never what bbolt opens: it gets the descriptor that was
// checked.
func TestOpenBoltHoldsTheCheckedFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "file.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("checked")); return err }); err != nil {
		t.Fatal(err)
	}
	db.Close()
	out := runChild(t, "swap", path+","+copyCrashFile(t))
	if !strings.Contains(out, "child: opened: <nil>") {
		t.Fatalf("bbolt did not open the checked file:\n%s", out)
	}
}

// TestOpenBoltStamp: a file this machine wrote is handed to bbolt without
// a full check only while its stamp is the one recorded; any change to it
// since is refused.
func TestOpenBoltStamp(t *testing.T) {
	path := filepath.Join(t.TempDir(), "file.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	stamp := stampOf(info)
	open := func() error {
		f, err := openRW(path)
		if err != nil {
			return err
		}
		db, err := openBolt(f, bolt.Options{NoSync: true}, time.Second, checkStamp(stamp))
		if err == nil {
			db.Close()
		}
		return err
	}
	if err := open(); err != nil {
		t.Fatalf("unchanged file: %v", err)
	}
	// bbolt's open wrote nothing: the stamp still holds. A change does not.
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte{0}, 5000)
	f.Close()
	if err := open(); err == nil || !strings.Contains(err.Error(), "changed since") {
		t.Fatalf("changed file: err = %v", err)
	}
	stamp = fileStamp{}
	if err := open(); err == nil {
		t.Fatal("a zero stamp must never match")
	}
}

// TestOpenRWNotRegular: a FIFO, a device or a folder is refused at once,
// by name, without blocking.
func TestOpenRWNotRegular(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{fifo: "is a named pipe", "/dev/null": "is a character device", t.TempDir(): "is a folder"} {
		f, err := openRW(path)
		if err == nil {
			f.Close()
			t.Fatalf("%s: opened", path)
		}
		if !errors.Is(err, ErrNotVault) && !strings.Contains(err.Error(), "is a directory") {
			t.Errorf("%s: %v", path, err)
		}
		if errors.Is(err, ErrNotVault) && !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", path, err, want)
		}
	}
}
