package vault

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
)

// A path that must name a file (the vault, an identity, a passphrase file)
// may name a named pipe, a device or a socket instead, by mistake or by
// design: opening a named pipe blocks until someone writes to it, and a
// device reads forever or not at all. Such a path is refused before any
// open that could block, and the open itself does not block (O_NONBLOCK),
// so that a path swapped in between is refused too.

// NotRegularError is returned by [OpenRegular] when a path names something
// other than a regular file. Callers wrap it with what the file was
// meant to be.
type NotRegularError struct {
	Path string
	// Kind says what it is instead: "a named pipe", "a character device",
	// "a socket", "a folder"...
	Kind string
}

func (e *NotRegularError) Error() string { return e.Path + " is " + e.Kind }

// OpenRegular opens the file at path for reading, following symbolic
// links, and refuses with a [*NotRegularError] anything that is not a
// regular file, without blocking on it.
func OpenRegular(path string) (*os.File, error) {
	if info, err := os.Stat(path); err != nil {
		return nil, err
	} else if !info.Mode().IsRegular() {
		return nil, &NotRegularError{Path: path, Kind: fileKind(info.Mode())}
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !info.Mode().IsRegular() {
		f.Close()
		return nil, &NotRegularError{Path: path, Kind: fileKind(info.Mode())}
	}
	return f, nil
}

// notVault turns a NotRegularError about the vault path into the vault's
// error (the command line adds where to give the right path); other
// errors pass unchanged.
func notVault(err error) error {
	var nr *NotRegularError
	if errors.As(err, &nr) {
		return errorf(ErrNotVault, "%s is %s, not a vault file", nr.Path, nr.Kind)
	}
	return err
}

// notIdentity turns a NotRegularError about an identity path into the
// vault's error; other errors pass unchanged.
func notIdentity(err error) error {
	var nr *NotRegularError
	if errors.As(err, &nr) {
		return errorf(ErrNoIdentity, "%s is %s, not an identity file", nr.Path, nr.Kind)
	}
	return err
}

// fileKind names what a file that is not a regular file is, for messages.
func fileKind(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m.IsDir():
		return "a folder"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	}
	return "a special file"
}
