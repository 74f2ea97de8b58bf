// Package testexe writes executables for tests so that running them never
// fails with "text file busy".
//
// On Linux, exec of a file fails with ETXTBSY while any process holds it open
// for writing. A test that writes a script with os.WriteFile and then runs it
// races every other goroutine of the test binary that forks at that moment: the
// child inherits the write descriptor until its own exec closes it (Go issue
// 22315). Writing the file from a child process leaves no descriptor in this
// one to inherit.
package testexe

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"runtime"
)

// WriteFile creates path (mode 0755) with data, written by a child process.
func WriteFile(path string, data []byte) error {
	if runtime.GOOS == "windows" { // no ETXTBSY there
		return os.WriteFile(path, data, 0o755)
	}
	cmd := exec.Command("/bin/sh", "-c", `umask 022 && cat > "$1" && chmod 755 "$1"`, "sh", path)
	cmd.Stdin = bytes.NewReader(data)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("writing executable %s: %v: %s", path, err, bytes.TrimSpace(out))
	}
	return nil
}

// CopyFile writes a copy of the executable src at dst, as WriteFile does.
func CopyFile(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return WriteFile(dst, data)
}
