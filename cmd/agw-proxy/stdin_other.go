//go:build !linux

package main

import "io"

// pollableStdin returns r as it is (see stdin_linux.go): on Darwin and the
// BSDs, kqueue reports no end of a pipe whose writer closed it
// (golang/go#24164), so there a pipe stays a blocking read.
func pollableStdin(r io.Reader) (io.Reader, func()) { return r, func() {} }
