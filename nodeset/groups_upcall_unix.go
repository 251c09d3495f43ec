//go:build unix

package nodeset

import (
	"os/exec"
	"syscall"
)

// setProcessGroup starts the upcall shell in its own process group and makes
// cancellation kill the whole group, so that commands the shell started
// (pipelines, sleep, ...) die with it instead of holding its output open.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
