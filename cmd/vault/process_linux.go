package main

import "golang.org/x/sys/unix"

// hardenProcess keeps this process's memory, which holds the passphrase
// and the secret key while it runs, out of core dumps and away from other
// processes of the same user (ptrace, /proc/PID/mem), as ssh-agent does.
// It runs before anything secret is read.
//
// Both settings are needed: a process that is not dumpable is still dumped,
// readable by root only, when fs.suid_dumpable is 2, and a zero core limit
// is the one a core_pattern pipe such as systemd-coredump is told. Only the
// soft limit is lowered: programs that vault starts ('vault run', git)
// inherit it and may raise it again; they become dumpable again on exec.
func hardenProcess() {
	noDump()
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_CORE, &lim); err == nil {
		lim.Cur = 0
		_ = unix.Setrlimit(unix.RLIMIT_CORE, &lim)
	}
}
