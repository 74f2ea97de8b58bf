// Package atomicfile replaces a file so that a reader sees its old bytes or
// its new ones, never half of either: the config files, client files and
// bundles agw-proxy writes.
package atomicfile

import (
	"io/fs"
	"os"
	"path/filepath"
)

// Write replaces path with data: a temporary file in path's folder is
// written, given mode, synced and renamed over path. The folder must
// exist. On failure the temporary file is removed and path is as it was;
// the error is the failed step's.
func Write(path string, data []byte, mode fs.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // a no-op after the rename
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(mode)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Mode is the permission bits of the file at path, or dflt when there is
// none: what a rewrite keeps.
func Mode(path string, dflt fs.FileMode) fs.FileMode {
	if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() {
		return fi.Mode().Perm()
	}
	return dflt
}
