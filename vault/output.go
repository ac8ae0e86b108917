package vault

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// CheckPrivateOutput returns nil when [WritePrivateFile] may write path: its
// folder exists, and path is either absent or a regular file that neither
// the group nor others can read. Otherwise it returns an error that says
// what to do: wrapping [ErrInsecureFile] for a file others can read, or
// [ErrInvalid] for a missing folder, a symbolic link or something that is
// not a file.
//
// A file others can read is refused rather than replaced: whoever made it
// so may rely on someone else reading it (a service's group), and whatever
// it held was exposed to them; both are for a person to decide.
func CheckPrivateOutput(path string) error {
	dir := filepath.Dir(path)
	if info, err := os.Stat(dir); err != nil || !info.IsDir() {
		return errorf(ErrInvalid, "cannot write %s: there is no folder %s", path, dir)
	}
	info, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return err
	case info.Mode()&fs.ModeSymlink != 0:
		return errorf(ErrInvalid, "%s is a symbolic link; give the path of the file it points to", path)
	case !info.Mode().IsRegular():
		return errorf(ErrInvalid, "%s is not a regular file", path)
	case info.Mode().Perm()&0o044 != 0:
		return errorf(ErrInsecureFile, "%s can be read by other users (mode %04o) and would hold secrets; run 'chmod 600 %s' or remove it first", path, info.Mode().Perm(), path)
	}
	return nil
}

// WritePrivateFile writes data to path with mode 0600, through a new file
// beside it that is synced and renamed into place: no other user can read
// it at any moment, and a reader sees the old content or the new, never
// half. It refuses what [CheckPrivateOutput] refuses. Use it for files that
// hold secret values, such as a rendered configuration file.
func WritePrivateFile(path string, data []byte) error {
	if err := CheckPrivateOutput(path); err != nil {
		return err
	}
	return writeFileAtomic(path, data, true)
}
