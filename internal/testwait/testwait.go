// Package testwait bounds the waits of tests and checks that a test leaves
// no goroutine behind, so that a hang or a leak fails its own test in
// seconds, not the package at its timeout minutes later (or never, when
// test order hides it). Only tests import it.
//
//	func TestX(t *testing.T) {
//		testwait.NoLeaks(t) // first: its check runs after every later cleanup
//		ctx := testwait.Context(t)
//		v := testwait.Await(t, results, "the answer")
//		...
//	}
package testwait

import (
	"context"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// Limit bounds every wait of these helpers.
const Limit = 5 * time.Second

// Grace is how long the goroutines a test started may take to end after its
// cleanups (an HTTP connection closing, a session's reader returning).
const Grace = 5 * time.Second

// Context returns a context that ends after Limit, or with the test.
func Context(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), Limit)
	t.Cleanup(cancel)
	return ctx
}

// Await returns the next value from ch, failing the test if none comes
// within Limit.
func Await[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	timer := time.NewTimer(Limit)
	defer timer.Stop()
	select {
	case v := <-ch:
		return v
	case <-timer.C:
		t.Fatalf("%s: nothing within %s", what, Limit)
		panic("unreachable")
	}
}

// WaitAll waits for wg, failing the test if it takes over Limit.
func WaitAll(t testing.TB, wg *sync.WaitGroup, what string) {
	t.Helper()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	Await(t, done, what)
}

// Within runs f and fails t if f has not returned after d. f runs on a
// goroutine of its own, so it must not call t.Fatal or t.Skip.
func Within(t testing.TB, d time.Duration, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		t.Fatalf("%s: not done after %s", what, d)
	}
}

// checked holds the tests whose leak check is registered already.
var checked sync.Map // testing.TB -> bool

// NoLeaks makes t fail if a goroutine that started after this call is
// still running Grace after t and its cleanups are done; opts excuse more
// (goleak.IgnoreAnyFunction). Call it first, before any fixture: its check
// then runs after all of theirs. Calling it again in the same test does
// nothing. What runs when it is called (the test binary's goroutines, an
// earlier test's winding down) is not the test's and is left alone.
func NoLeaks(t testing.TB, opts ...goleak.Option) {
	t.Helper()
	if _, done := checked.LoadOrStore(t, true); done {
		return
	}
	opts = append(opts, goleak.IgnoreCurrent())
	t.Cleanup(func() {
		defer checked.Delete(t)
		deadline := time.Now().Add(Grace)
		for {
			err := goleak.Find(opts...)
			if err == nil {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("goroutines left running %s after the test: %v", Grace, err)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}
