package proxy

import (
	"testing"
	"time"
)

// Every wait in these tests has a deadline that fails the test in seconds,
// not the package's timeout minutes later: a context with a timeout, a
// select with a timer, or within.

// within runs f and fails t if f has not returned after d. f runs on a
// goroutine of its own, so it must not call t.Fatal or t.Skip.
func within(t testing.TB, d time.Duration, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s: not done after %s", what, d)
	}
}

// Within is within for the package's external tests.
var Within = within
