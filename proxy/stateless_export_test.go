package proxy

import "time"

// SetMinRelist replaces the floor on ttlMs re-lists for a test; the
// returned func restores it.
func SetMinRelist(d time.Duration) (restore func()) {
	old := minRelist
	minRelist = d
	return func() { minRelist = old }
}

// SetDefaultRelist replaces how often a list without ttlMs is listed again,
// for a test; the returned func restores it.
func SetDefaultRelist(d time.Duration) (restore func()) {
	old := defaultRelist
	defaultRelist = d
	return func() { defaultRelist = old }
}
