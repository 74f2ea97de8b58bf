//go:build unix

package main

import (
	"io"
	"os"
	"syscall"
)

// serveStdio returns e with its stdout and stderr, when they are file
// descriptors 1 and 2, replaced by copies of them, and a func that closes
// the copies; ok is false if a copy could not be made.
//
// The Go runtime ends a process whose write to descriptor 1 or 2 finds a
// closed pipe with SIGPIPE, unless the program has asked for that signal; a
// write to any other descriptor fails with EPIPE. serve must see that
// failure (a client that closes our stdout makes serve end, it does not
// kill it), and asking for the signal costs its start (see start). On
// copies, serve needs no signal for it.
func serveStdio(e *env) (s *env, closeAll func(), ok bool) {
	c := *e
	var copies []*os.File
	ok = true
	std := func(w io.Writer, fd uintptr) io.Writer {
		f, isFile := w.(*os.File)
		if !isFile || f.Fd() != fd {
			return w
		}
		d, err := syscall.Dup(int(fd))
		if err != nil {
			ok = false
			return w
		}
		syscall.CloseOnExec(d)
		nf := os.NewFile(uintptr(d), f.Name())
		copies = append(copies, nf)
		return nf
	}
	c.stdout = std(e.stdout, 1)
	c.stderr = std(e.stderr, 2)
	return &c, func() {
		for _, f := range copies {
			f.Close()
		}
	}, ok
}
