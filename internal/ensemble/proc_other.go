//go:build unix && !linux

package ensemble

import "syscall"

// sysProcAttr puts the child in its own process group so the whole group
// can be signalled. dieWithParent is not supported outside Linux.
func sysProcAttr(dieWithParent bool) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
