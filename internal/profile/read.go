package profile

// Reading the config file: only a regular file, only up to MaxFileSize, and
// never in a way that waits. --config is typed by hand, and a named pipe,
// /dev/zero or a directory given by mistake must get an answer at once, not
// a hang or a read that fills memory.

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// MaxFileSize is the size of the largest config file Load reads: 1 MiB is
// thousands of profiles, and far from what makes parsing slow.
const MaxFileSize = 1 << 20

// readFile returns the contents of the config file at path. The error wraps
// fs.ErrNotExist when there is no file; a directory, a named pipe, a device
// or a socket, and a file over MaxFileSize, are an *Error that says so. The
// null device is an empty file ("--config /dev/null": no config file).
func readFile(path string) ([]byte, error) {
	fi, err := os.Stat(path) // through symlinks: a link to a file is fine
	if err != nil {
		return nil, fmt.Errorf("config file %s: %w", path, unwrapPathError(err))
	}
	if isNullDevice(fi) {
		return nil, nil
	}
	if err := checkFileInfo(path, fi); err != nil {
		return nil, err
	}
	f, err := openNoWait(path)
	if err != nil {
		return nil, fmt.Errorf("config file %s: %w", path, unwrapPathError(err))
	}
	defer f.Close()
	// Check again what was opened: the path may have changed since the Stat.
	if fi, err = f.Stat(); err != nil {
		return nil, fmt.Errorf("config file %s: %w", path, unwrapPathError(err))
	}
	if err := checkFileInfo(path, fi); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("config file %s: %w", path, unwrapPathError(err))
	}
	if len(data) > MaxFileSize {
		return nil, tooBig(path, fi.Size())
	}
	return data, nil
}

func isNullDevice(fi fs.FileInfo) bool {
	if fi.Mode().IsRegular() {
		return false
	}
	null, err := os.Stat(os.DevNull)
	return err == nil && os.SameFile(fi, null)
}

// checkFileInfo refuses what is not a regular file of at most MaxFileSize.
func checkFileInfo(path string, fi fs.FileInfo) error {
	mode := fi.Mode()
	switch {
	case mode.IsDir():
		return &Error{msg: fmt.Sprintf("config file %s is a directory", path), hints: []string{dirHint(path)}}
	case !mode.IsRegular():
		return &Error{msg: fmt.Sprintf("config file %s is %s, not a regular file", path, kindOf(mode)), hints: []string{
			"pass the path of a YAML file; to use the output of a command, write it to a file first",
		}}
	case fi.Size() > MaxFileSize:
		return tooBig(path, fi.Size())
	}
	return nil
}

// tooBig refuses a file over MaxFileSize. size is what Stat says, which is
// less when the file grew while it was read, or is not a file on a disk.
func tooBig(path string, size int64) error {
	what := "is " + formatSize(size)
	if size <= MaxFileSize {
		what = "is over " + formatSize(MaxFileSize)
	}
	return &Error{msg: fmt.Sprintf("config file %s %s: a config file can be at most %s", path, what, formatSize(MaxFileSize)),
		hints: []string{"check that this is the config file (YAML with a profiles: key); one of a few profiles is a few KB"}}
}

// dirHint names the config file a directory holds, if it holds one.
func dirHint(dir string) string {
	for _, name := range []string{"config.yaml", filepath.Join("agw-proxy", "config.yaml")} {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return fmt.Sprintf("did you mean %s? --config takes the file, not its directory", p)
		}
	}
	return fmt.Sprintf("a config file is a YAML file, such as %s; --config takes the file, not its directory", filepath.Join(dir, "config.yaml"))
}

func kindOf(mode fs.FileMode) string {
	switch {
	case mode&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case mode&fs.ModeSocket != 0:
		return "a socket"
	case mode&fs.ModeDevice != 0:
		return "a device"
	}
	return "a special file"
}

// formatSize is a size for messages: "1 MiB", "50.0 MiB", and in bytes
// under 2 MiB, where "1.0 MiB" would not say how it differs from the limit.
func formatSize(n int64) string {
	switch {
	case n == 1<<20:
		return "1 MiB"
	case n < 2<<20:
		return fmt.Sprintf("%d bytes", n)
	case n < 1<<30:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
}
