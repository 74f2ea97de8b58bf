//go:build linux

package main

import (
	"io"
	"os"
	"syscall"
)

// pollableStdin returns serve's stdin as a file that the Go runtime's
// network poller reads, when it is a pipe or a socket in blocking mode (as
// an MCP client's pipe is), and a func that undoes it. Go reads an
// inherited blocking descriptor with a blocking read(2): the thread waits
// in the kernel for the client's next line, and the scheduler hands its P
// to another thread each time, which at 64 calls in flight cost the proxy
// about 6% of its CPU per call (see the closing note of issue 17). Made
// non-blocking, the read parks the goroutine on epoll instead.
//
// A terminal or a file is left alone: a terminal's open file description
// is the shell's too, and a non-blocking terminal breaks the shell after
// the proxy ends. The flag is on the pipe's description, so restore sets
// the descriptor back to blocking for whoever holds it after serve. Any
// other reader (a test's) is returned as it is. Linux only: kqueue does not
// report the end of a pipe whose writer closed it (stdin_other.go).
func pollableStdin(r io.Reader) (io.Reader, func()) {
	f, ok := r.(*os.File)
	if !ok {
		return r, func() {}
	}
	fd := int(f.Fd())
	var st syscall.Stat_t
	if syscall.Fstat(fd, &st) != nil {
		return r, func() {}
	}
	if m := st.Mode & syscall.S_IFMT; m != syscall.S_IFIFO && m != syscall.S_IFSOCK {
		return r, func() {}
	}
	// A copy of the descriptor, so that closing it leaves fd 0 open; both
	// share the description, and with it the non-blocking flag.
	dup, err := syscall.Dup(fd)
	if err != nil {
		return r, func() {}
	}
	syscall.CloseOnExec(dup)
	if err := syscall.SetNonblock(dup, true); err != nil {
		syscall.Close(dup)
		return r, func() {}
	}
	nf := os.NewFile(uintptr(dup), f.Name())
	return nf, func() {
		// Closing wakes a read still waiting, which a blocking read
		// would not be.
		nf.Close()
		_ = syscall.SetNonblock(fd, false)
	}
}
