//go:build unix

package profile

import (
	"os"
	"syscall"
)

// openNoWait opens path for reading without waiting: a named pipe that
// appeared after the Stat opens at once (without O_NONBLOCK, open(2) blocks
// until a writer comes), and readFile's Stat of the open file refuses it.
func openNoWait(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
}
