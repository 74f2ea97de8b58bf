package proxy

import (
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// Goroutine leaks are checked per test, not by comparing counts across the
// package (where a goroutine of an earlier test winding down hides one this
// test leaks): every fixture that starts something calls checkGoroutines
// first, and when the test is over, after every fixture's own cleanup,
// each goroutine the test started must have ended.

// leakChecked holds the tests whose check is registered already.
var leakChecked sync.Map // testing.TB -> bool

// leakGrace is how long the goroutines a test started may take to end after
// its cleanups (an HTTP connection closing, a session's reader returning).
const leakGrace = 5 * time.Second

// checkGoroutines makes t fail if a goroutine that started after this call
// is still running once t and its cleanups are done. Calling it again in
// the same test does nothing: the first call, made before any fixture
// exists, registers the cleanup that runs after all of theirs.
func checkGoroutines(t testing.TB) {
	t.Helper()
	if _, done := leakChecked.LoadOrStore(t, true); done {
		return
	}
	// What runs now is the test binary's, or an earlier test's still
	// winding down (an idle connection closing): not this test's.
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() {
		defer leakChecked.Delete(t)
		deadline := time.Now().Add(leakGrace)
		for {
			err := goleak.Find(before)
			if err == nil {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("goroutines left running %s after the test: %v", leakGrace, err)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

// CheckGoroutines is checkGoroutines for the package's external tests.
var CheckGoroutines = checkGoroutines

// TestMain checks, once all tests are done, what no per-test check covers
// (the unit tests start no fixture).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
