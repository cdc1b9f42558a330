package cluster

import "syscall"

// sysProcAttr makes the kernel kill a started program when the process
// that started it dies (a test binary at its deadline, `make cluster`
// killed hard): no server outlives the cluster. cred runs it as another
// user (PostgreSQL refuses root).
func sysProcAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Credential: cred}
}
