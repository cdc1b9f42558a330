//go:build !linux

package cluster

import "syscall"

// sysProcAttr: without Linux's parent-death signal, Stop alone ends the
// programs.
func sysProcAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred}
}
