//go:build unix

package secretsource

import (
	"os/exec"
	"syscall"
)

// killGroup makes cmd the leader of a process group of its own, and its
// stop (the context's end) a SIGKILL to the whole group: what a shell
// script or a vault CLI started ends with it.
func killGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}
