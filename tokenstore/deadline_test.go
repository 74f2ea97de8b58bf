package tokenstore

import (
	"context"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// waitLimit bounds every wait in these tests, so that a hang fails its test
// in seconds, not at the package timeout.
const waitLimit = 5 * time.Second

// testCtx returns a context that ends after waitLimit, or with the test.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	t.Cleanup(cancel)
	return ctx
}

// noLeaks fails the test if, once it and its cleanups are done, a goroutine
// it started is still running. Goroutines that were running before it
// started are not its own and are left alone.
func noLeaks(t *testing.T) {
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, before) })
}

// waitAll waits for wg, failing the test if it takes over waitLimit.
func waitAll(t *testing.T, wg *sync.WaitGroup, what string) {
	t.Helper()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	await(t, done, what)
}

// await returns the next value from ch, failing the test if none comes
// within waitLimit.
func await[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	timer := time.NewTimer(waitLimit)
	defer timer.Stop()
	select {
	case v := <-ch:
		return v
	case <-timer.C:
		t.Fatalf("%s: nothing within %s", what, waitLimit)
		panic("unreachable")
	}
}
