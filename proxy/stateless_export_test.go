package proxy

import "time"

// SetMinRelist replaces the floor on ttlMs re-lists for a test; the
// returned func restores it.
func SetMinRelist(d time.Duration) (restore func()) {
	old := minRelist
	minRelist = d
	return func() { minRelist = old }
}
