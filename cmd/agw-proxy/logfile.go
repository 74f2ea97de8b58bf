package main

// --log-file names a file that logs are appended to. A careless open of it
// is a way in: a symbolic link planted at that path sends the lines to a
// file of the attacker's choice (a shell rc file: the Gateway and the model
// control parts of the lines), and a file that another user owns or may
// write keeps whatever mode they gave it. So the file is opened without
// following a symbolic link, must be a regular file of ours with a single
// name, writable by nobody else, and a new one is created 0600. The checks
// that need the operating system are in logfile_unix.go and
// logfile_windows.go.

import (
	"errors"
	"fmt"
	"os"
)

// logFileProblem is why a --log-file is refused, with advice.
type logFileProblem struct {
	what string // "is a symbolic link", "is owned by another user (uid 501)"
	hint string
}

// errLogFileSymlink is what openLogFile's OS part returns for a symbolic
// link (or, on Windows, another reparse point) at the path.
var errLogFileSymlink = errors.New("is a symbolic link")

// openLogFile opens path for appending, creating it 0600, after checking that
// it is safe to write: see the top of this file.
func openLogFile(flagValue, path string) (*os.File, error) {
	f, err := openNoFollow(path)
	if err != nil {
		return nil, logFileError(flagValue, path, err)
	}
	if p := checkLogFile(f, path); p != nil {
		f.Close()
		return nil, withHints(fmt.Errorf("--log-file %s: %s; not writing logs to it", flagValue, p.what), p.hint)
	}
	return f, nil
}

// logFileError explains a failed open.
func logFileError(flagValue, path string, err error) error {
	switch {
	case errors.Is(err, errLogFileSymlink):
		return withHints(fmt.Errorf("--log-file %s: %v; not following it", flagValue, errLogFileSymlink),
			fmt.Sprintf("give the path of the file itself, or remove the link (%s) if you did not create it", path))
	case errors.Is(err, errLogFileNotRegular):
		return withHints(fmt.Errorf("--log-file %s: %v", flagValue, err), "give the path of a regular file (it is created if missing)")
	}
	return withHints(fmt.Errorf("--log-file %s: %w", flagValue, unwrapPathError(err)),
		"check that the directory exists and is writable")
}

// statRegular returns what the opened file is, or why it is not a regular
// file that can be checked further.
func statRegular(f *os.File) (os.FileInfo, *logFileProblem) {
	fi, err := f.Stat()
	if err != nil {
		return nil, &logFileProblem{what: "cannot be checked: " + unwrapPathError(err).Error(), hint: "choose another file"}
	}
	if !fi.Mode().IsRegular() {
		return nil, &logFileProblem{what: errLogFileNotRegular.Error(), hint: "give the path of a regular file (it is created if missing)"}
	}
	return fi, nil
}

// errLogFileNotRegular: a FIFO, a device or a directory at the path.
var errLogFileNotRegular = errors.New("is not a regular file")

// unwrapPathError drops the *fs.PathError layer, whose text repeats the path.
func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
