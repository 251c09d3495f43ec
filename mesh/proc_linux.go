package mesh

import (
	"os"
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"
)

// pipeSize is the kernel buffer asked for on a local child's pipes: bulk
// data then crosses in fewer, larger writes.
const pipeSize = 1 << 20

func growPipe(f *os.File) {
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	// best effort: an unprivileged process may be limited by
	// /proc/sys/fs/pipe-max-size
	_ = rc.Control(func(fd uintptr) {
		if _, err := unix.FcntlInt(fd, unix.F_SETPIPE_SZ, pipeSize); err != nil {
			_, _ = unix.FcntlInt(fd, unix.F_SETPIPE_SZ, 256<<10)
		}
	})
}

// setGroup starts cmd in a process group of its own.
func setGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// killGroup kills p's process group, and p itself.
func killGroup(p *os.Process) {
	_ = syscall.Kill(-p.Pid, syscall.SIGKILL)
	_ = p.Kill()
}
