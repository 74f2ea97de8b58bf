package main

import (
	"go.uber.org/goleak"
)

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
