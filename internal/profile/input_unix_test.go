//go:build unix

package profile

import (
	"path/filepath"
	"syscall"
	"testing"
)

// TestLoadNamedPipe: a named pipe given as --config is refused at once; it
// blocked in open(2) until a writer came, past "timeout 10". Also when the
// pipe replaces the file between the Stat and the open: opening does not
// wait, and what was opened is checked again.
func TestLoadNamedPipe(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := loadWithin(t, fifo)
	wantError(t, err, "config file "+fifo+" is a named pipe, not a regular file", "write it to a file first")

	f, err := openNoWait(fifo)
	if err != nil {
		t.Fatalf("openNoWait(named pipe): %v", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	wantError(t, checkFileInfo(fifo, fi), "is a named pipe")
}
