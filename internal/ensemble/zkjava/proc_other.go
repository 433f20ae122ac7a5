//go:build unix && !linux

package zkjava

import "syscall"

// SysProcAttr puts the child in its own process group so the whole group
// can be signalled. dieWithParent is not supported outside Linux.
func SysProcAttr(dieWithParent bool) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
