//go:build !unix || darwin

package tokenstore

// noSessionBus is "" where the keychain is not reached through D-Bus
// (macOS, Windows): there is nothing to launch.
func noSessionBus() string { return "" }
