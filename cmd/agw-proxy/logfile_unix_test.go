//go:build unix

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// serveWithLogFile runs serve (which ends at once: stdin is empty) with
// --log-file path.
func serveWithLogFile(t *testing.T, path string) (stderr string, code int) {
	t.Helper()
	_, stderr, code = runInProcess(t, nil, "", "serve", "--gateway-url", "http://127.0.0.1:9/mcp", "--log-file", path)
	return stderr, code
}

// wantRefused checks that serve refused the log file with an error naming it
// and what is wrong, and a hint.
func wantRefused(t *testing.T, path string, code int, stderr string, what, hint string) {
	t.Helper()
	if code != exitError {
		t.Errorf("exit %d, want 1", code)
	}
	if !strings.Contains(stderr, "agw-proxy: error: --log-file "+path+": "+what) || !strings.Contains(stderr, "agw-proxy: hint: "+hint) {
		t.Errorf("stderr does not name the file, %q and the hint %q:\n%s", what, hint, stderr)
	}
}

func TestLogFileIsNotFollowedThroughASymlink(t *testing.T) {
	dir := t.TempDir()
	rc := filepath.Join(dir, "bashrc")
	if err := os.WriteFile(rc, []byte("# rc\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "agw.log")
	if err := os.Symlink(rc, link); err != nil {
		t.Fatal(err)
	}
	stderr, code := serveWithLogFile(t, link)
	wantRefused(t, link, code, stderr, "is a symbolic link; not following it", "give the path of the file itself, or remove the link")
	if b, _ := os.ReadFile(rc); string(b) != "# rc\n" {
		t.Errorf("the link's target was written: %q", b)
	}

	// A dangling link: its target must not be created.
	dangling := filepath.Join(dir, "dangling.log")
	target := filepath.Join(dir, "created-through-the-link")
	if err := os.Symlink(target, dangling); err != nil {
		t.Fatal(err)
	}
	stderr, code = serveWithLogFile(t, dangling)
	wantRefused(t, dangling, code, stderr, "is a symbolic link", "give the path of the file itself, or remove the link")
	if _, err := os.Lstat(target); err == nil {
		t.Error("the dangling link's target was created")
	}
}

func TestLogFileWritableByOthersIsRefused(t *testing.T) {
	for _, mode := range []os.FileMode{0o666, 0o620, 0o602} {
		path := filepath.Join(t.TempDir(), "agw.log")
		if err := os.WriteFile(path, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		stderr, code := serveWithLogFile(t, path)
		wantRefused(t, path, code, stderr, fmt.Sprintf("is writable by other users (mode %04o); not writing logs to it", mode), "run: chmod go-w "+path)
		if fi, _ := os.Stat(path); fi.Size() != 0 || fi.Mode().Perm() != mode {
			t.Errorf("mode %o: the file was written or its mode changed (%v, %d bytes)", mode, fi.Mode(), fi.Size())
		}
	}
}

func TestLogFileOfAnotherUserIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "agw.log")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		// Really another user's file.
		if err := os.Chown(path, 65534, 65534); err != nil {
			t.Fatal(err)
		}
	} else {
		// The file is ours; make this process someone else.
		uid := os.Geteuid() + 1
		effectiveUID = func() int { return uid }
		t.Cleanup(func() { effectiveUID = os.Geteuid })
	}
	stderr, code := serveWithLogFile(t, path)
	wantRefused(t, path, code, stderr, "is owned by another user (uid ", "give a path to a new file or one of your own")
	if fi, _ := os.Stat(path); fi.Size() != 0 {
		t.Error("another user's file was written")
	}
}

func TestLogFileWithTwoNamesIsRefused(t *testing.T) {
	dir := t.TempDir()
	rc := filepath.Join(dir, "profile")
	if err := os.WriteFile(rc, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "agw.log")
	if err := os.Link(rc, path); err != nil {
		t.Skipf("no hard links here: %v", err)
	}
	stderr, code := serveWithLogFile(t, path)
	wantRefused(t, path, code, stderr, "has 2 names (hard links)", "give the path of a file with one name")
}

func TestLogFileThatIsAFIFOIsRefusedWithoutHanging(t *testing.T) {
	path := filepath.Join(t.TempDir(), "agw.log")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	done := make(chan struct{})
	var stderr string
	var code int
	go func() {
		defer close(done)
		stderr, code = serveWithLogFile(t, path)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("serve hangs opening a FIFO as its log file")
	}
	wantRefused(t, path, code, stderr, "is not a regular file", "give the path of a regular file")

	dir := t.TempDir()
	stderr, code = serveWithLogFile(t, dir)
	wantRefused(t, dir, code, stderr, "is not a regular file", "give the path of a regular file")
}

func TestLogFileIsCreated0600AndAppended(t *testing.T) {
	old := syscall.Umask(0)
	t.Cleanup(func() { syscall.Umask(old) })
	path := filepath.Join(t.TempDir(), "agw.log")
	stderr, code := serveWithLogFile(t, path)
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("new log file has mode %o, want 0600", fi.Mode().Perm())
	}
	first, _ := os.ReadFile(path)
	if !strings.Contains(string(first), "msg=serving") {
		t.Errorf("no log line in the file:\n%s", first)
	}

	// An existing file of ours, readable by others but writable by us
	// alone, is appended to and keeps its mode.
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if stderr, code := serveWithLogFile(t, path); code != exitOK {
		t.Fatalf("second run: exit %d\n%s", code, stderr)
	}
	second, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(second), string(first)) || len(second) <= len(first) {
		t.Errorf("the log was not appended to:\nbefore:\n%s\nafter:\n%s", first, second)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o644 {
		t.Errorf("mode changed to %o", fi.Mode().Perm())
	}
}
