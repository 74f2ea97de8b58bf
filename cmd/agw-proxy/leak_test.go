package main

import (
	"testing"

	"go.uber.org/goleak"
)

// noLeakedGoroutines fails t if a goroutine started after this call is
// still running once the cleanups registered after it are done (so after
// an emulator started later is closed). Call it first in a test of a
// command run in this process; tests that run agw-proxy as a process of its
// own need no such check, their goroutines are not in this one.
func noLeakedGoroutines(t *testing.T, opts ...goleak.Option) {
	t.Helper()
	opts = append(opts, goleak.IgnoreCurrent())
	t.Cleanup(func() { goleak.VerifyNone(t, opts...) })
}

// idleConnections excuses idle HTTP keep-alive connections, both ends. A
// one-shot command (login, status, doctor) leaves its client's in the pool,
// where the process's exit ends them, and an emulator started before the
// check keeps its end until its Close, which runs after the check. serve is
// checked without it: a long-running command must close what it opened.
var idleConnections = []goleak.Option{
	goleak.IgnoreAnyFunction("net/http.(*persistConn).readLoop"),
	goleak.IgnoreAnyFunction("net/http.(*persistConn).writeLoop"),
	goleak.IgnoreAnyFunction("net/http.(*conn).serve"),
}
