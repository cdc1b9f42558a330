//go:build unix

package main

import "syscall"

// restrictUmask makes every file and directory the process creates
// private to its user (0600, 0700), whatever mode the code asks for: the
// SQLite journals and anything a library writes included.
func restrictUmask() { syscall.Umask(0o077) }
