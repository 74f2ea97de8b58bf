//go:build unix

package main

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"github.com/agw-proxy/agw-proxy/internal/profile"
)

// effectiveUID is the user the log file must belong to (a variable for
// tests, which cannot chown a file to another user unless run as root).
var effectiveUID = os.Geteuid

// openNoFollow opens path for appending without following a symbolic link
// as its last component (O_NOFOLLOW), and without blocking on a FIFO
// (O_NONBLOCK: no effect on a regular file).
func openNoFollow(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0o600)
	switch {
	case err == nil:
		return f, nil
	case errors.Is(err, syscall.ELOOP), errors.Is(err, syscall.EMLINK): // EMLINK: the BSDs' O_NOFOLLOW error
		if fi, lerr := os.Lstat(path); lerr == nil && fi.Mode()&os.ModeSymlink != 0 {
			return nil, errLogFileSymlink
		}
	case errors.Is(err, syscall.ENXIO), errors.Is(err, syscall.EISDIR): // a FIFO without a reader, a directory
		return nil, errLogFileNotRegular
	}
	return nil, err
}

// checkLogFile checks the opened file: regular, ours, one name, writable by
// us alone.
func checkLogFile(f *os.File, path string) *logFileProblem {
	fi, p := statRegular(f)
	if p != nil {
		return p
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return &logFileProblem{what: "cannot be checked (no owner information)", hint: "choose another file"}
	}
	if uid := effectiveUID(); int(st.Uid) != uid {
		return &logFileProblem{
			what: fmt.Sprintf("is owned by another user (uid %d, you are %d)", st.Uid, uid),
			hint: "give a path to a new file or one of your own, e.g. in your home directory",
		}
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		return &logFileProblem{
			what: fmt.Sprintf("is writable by other users (mode %04o)", perm),
			hint: fmt.Sprintf("run: chmod go-w %s (or remove it: it is created 0600)", profile.ShellQuote(path)),
		}
	}
	if n := uint64(st.Nlink); n > 1 {
		return &logFileProblem{
			what: fmt.Sprintf("has %d names (hard links), so the lines would land in another file too", n),
			hint: "give the path of a file with one name, or a new file",
		}
	}
	return nil
}
