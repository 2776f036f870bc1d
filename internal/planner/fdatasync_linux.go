package planner

import (
	"os"
	"syscall"
)

// fdatasync flushes f's data without its metadata (times): for a file
// overwritten in place, no file-system journal commit.
func fdatasync(f *os.File) error { return syscall.Fdatasync(int(f.Fd())) }
