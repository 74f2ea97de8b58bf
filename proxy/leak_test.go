package proxy

import (
	"testing"

	"go.uber.org/goleak"
)

// Goroutine leaks are checked per test (internal/testwait.NoLeaks), not by
// comparing counts across the package, where a goroutine of an earlier test
// winding down hides one this test leaks: every fixture that starts
// something calls it first, so that its check runs after every fixture's
// own cleanup. TestMain checks, once all tests are done, what no per-test
// check covers (the unit tests start no fixture).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
