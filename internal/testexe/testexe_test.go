package testexe

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// TestWrittenScriptsRunWhileOthersFork writes and runs scripts while other
// goroutines fork all the time, as parallel tests do. With os.WriteFile in
// WriteFile, exec fails with "text file busy" within a few rounds on Linux.
func TestWrittenScriptsRunWhileOthersFork(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no ETXTBSY on Windows")
	}
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				_ = exec.Command("/bin/true").Run()
			}
		}()
	}
	defer wg.Wait()
	defer stop()

	dir := t.TempDir()
	for i := range 200 {
		path := filepath.Join(dir, "script"+strings.Repeat("x", i%7))
		os.Remove(path)
		if err := WriteFile(path, []byte("#!/bin/sh\necho ok\n")); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(path).Output()
		if err != nil {
			t.Fatalf("round %d: running the written script: %v", i, err)
		}
		if string(out) != "ok\n" {
			t.Fatalf("round %d: script printed %q", i, out)
		}
	}
}

func TestCopyKeepsContentAndIsExecutable(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	if err := os.WriteFile(src, []byte("#!/bin/sh\necho copied\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, "dst")
	if err := CopyFile(src, dst); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(dst)
	if err != nil || string(got) != "#!/bin/sh\necho copied\n" {
		t.Fatalf("copy holds %q (%v)", got, err)
	}
	if runtime.GOOS != "windows" {
		fi, err := os.Stat(dst)
		if err != nil || fi.Mode().Perm() != 0o755 {
			t.Fatalf("copy mode %v (%v), want 0755", fi.Mode().Perm(), err)
		}
	}
}
