//go:build linux

package zkjava

import "syscall"

// SysProcAttr puts the child in its own process group (so the whole group
// can be signalled) and, if dieWithParent, asks the kernel to SIGKILL it
// when the thread that started it exits, so servers do not outlive a test
// binary that dies without running its cleanups.
func SysProcAttr(dieWithParent bool) *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Setpgid: true}
	if dieWithParent {
		a.Pdeathsig = syscall.SIGKILL
	}
	return a
}
