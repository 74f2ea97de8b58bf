package proxy

import "time"

// SetClock replaces the proxy's clock for a test; the returned func
// restores it.
func SetClock(now func() time.Time) (restore func()) {
	old := timeNow
	timeNow = now
	return func() { timeNow = old }
}
