package vault

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// readOnlyReason says why this process must not write the shared file at
// path, or "" when it may: the file's mode has no write bit for its owner
// (a group marks its file read-only so; respected even by root), this user
// may not write it or its folder (another user's file, a read-only
// folder), the file system is mounted read-only, or the file is immutable
// (chattr +i). Writing means a new file in the folder renamed over the old
// one, so the folder counts as much as the file.
func readOnlyReason(path string) string {
	info, err := os.Stat(path)
	if err != nil {
		return ""
	}
	if info.Mode().Perm()&0o200 == 0 {
		return fmt.Sprintf("%s is read-only (mode %04o)", path, info.Mode().Perm())
	}
	dir := filepath.Dir(path)
	var fs unix.Statfs_t
	if unix.Statfs(path, &fs) == nil && fs.Flags&unix.ST_RDONLY != 0 {
		return fmt.Sprintf("%s is on a file system mounted read-only", path)
	}
	if immutable(path) {
		return fmt.Sprintf("%s is immutable (chattr +i)", path)
	}
	if err := unix.Access(path, unix.W_OK); err != nil {
		return fmt.Sprintf("%s is not writable by you", path)
	}
	if err := unix.Access(dir, unix.W_OK); err != nil {
		return fmt.Sprintf("the folder %s is not writable by you", dir)
	}
	return ""
}

// immutable reports whether the file has the immutable or append-only
// attribute (Linux; false where the file system has no such flags).
func immutable(path string) bool {
	f, err := OpenRegular(path)
	if err != nil {
		return false
	}
	defer f.Close()
	flags, err := unix.IoctlGetInt(int(f.Fd()), unix.FS_IOC_GETFLAGS)
	if err != nil {
		return false
	}
	const immutableFL, appendFL = 0x10, 0x20 // linux/fs.h
	return flags&(immutableFL|appendFL) != 0
}
