//go:build !unix

package main

// serveStdio returns e as it is: only Unix has SIGPIPE (stdio_unix.go).
func serveStdio(e *env) (s *env, closeAll func(), ok bool) { return e, func() {}, true }
