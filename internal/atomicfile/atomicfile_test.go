package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestWriteReplacesWholeWithTheMode(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Write(path, []byte("new bytes"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != "new bytes" {
		t.Fatalf("read %q, %v", got, err)
	}
	if runtime.GOOS != "windows" {
		if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
			t.Errorf("mode %v, want 0600", fi.Mode().Perm())
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("the folder holds %d entries, want the file alone (no temporary left)", len(entries))
	}
}

func TestFailedWriteLeavesTheFileAndNoTemporary(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "target")
	// A folder where the file should be: the rename fails after the
	// temporary file was written.
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(path, "inside"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Write(path, []byte("data"), 0o600); err == nil {
		t.Fatal("a write over a non-empty folder succeeded")
	}
	if fi, err := os.Stat(path); err != nil || !fi.IsDir() {
		t.Errorf("the folder was not left as it was: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("the folder holds %d entries, want no temporary file left", len(entries))
	}
}

func TestWriteIntoAMissingFolderNamesIt(t *testing.T) {
	err := Write(filepath.Join(t.TempDir(), "missing", "f"), nil, 0o600)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("err = %v, want a not-exist error", err)
	}
}

func TestModeKeepsAnExistingFilesMode(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	if got := Mode(path, 0o600); got != 0o600 {
		t.Errorf("no file: %v, want the default", got)
	}
	if err := os.WriteFile(path, nil, 0o640); err != nil {
		t.Fatal(err)
	}
	if got := Mode(path, 0o600); runtime.GOOS != "windows" && got != 0o640 {
		t.Errorf("existing file: %v, want 0640", got)
	}
	if got := Mode(dir, 0o600); got != 0o600 {
		t.Errorf("a folder: %v, want the default", got)
	}
}
