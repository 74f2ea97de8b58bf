//go:build unix

package main

import (
	"path/filepath"
	"syscall"
	"testing"
)

// TestConfigNotARegularFile: --config naming a named pipe hung in open(2)
// past "timeout 10", and /dev/zero was read until memory ran out; both are
// refused at once, with exit 1.
func TestConfigNotARegularFile(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path, want string
	}{
		{"fifo", "agw-proxy: error: config file fifo is a named pipe, not a regular file\n"},
		{"/dev/zero", "agw-proxy: error: config file /dev/zero is a device, not a regular file\n"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			code, stderr := runBounded(t, dir, "status", "--offline", "--config", tc.path)
			if code != 1 {
				t.Errorf("exit code %d, want 1", code)
			}
			wantStderr(t, stderr, tc.want, "agw-proxy: hint: pass the path of a YAML file")
		})
	}
}
