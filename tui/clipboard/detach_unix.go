//go:build unix

package clipboard

import (
	"os/exec"
	"syscall"
)

// detach puts the helper in a session of its own: no controlling
// terminal, so closing the terminal or ctrl-C does not stop it.
func detach(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
}
