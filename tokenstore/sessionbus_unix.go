//go:build unix && !darwin

package tokenstore

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
)

// The Secret Service lives on the D-Bus session bus. When it cannot find
// one, godbus (under go-keyring) runs dbus-launch, which starts a
// dbus-daemon that outlives agw-proxy, and the daemon starts
// gnome-keyring-daemon with a new, locked keyring: a headless host is left
// with two daemons per command and an error about a keychain its user never
// had. So the Keychain asks godbus only when a bus is there to connect to
// without launching anything.

// userRuntimeDir is the folder where godbus looks for a bus when
// DBUS_SESSION_BUS_ADDRESS is unset; tests point it elsewhere.
var userRuntimeDir = func() string { return "/run/user/" + strconv.Itoa(os.Getuid()) }

// noSessionBus returns why no session bus can be reached without launching
// one, or "" when there is one to ask.
func noSessionBus() string { return sessionBusProblem(os.Getenv, userRuntimeDir()) }

// sessionBusProblem follows godbus's search, without its last step (running
// dbus-launch): the address in DBUS_SESSION_BUS_ADDRESS, else the socket
// runDir/bus (the systemd user bus) or the address in runDir/dbus-session.
// An address of "autolaunch:" asks for a launch, and so counts as none.
//
// XDG_RUNTIME_DIR, when set, is where the user's bus is, as libdbus has it:
// when it names another folder than runDir, godbus would not look there, so
// a bus in it is reported with the address to set, and a bus in runDir is
// not used (an empty XDG_RUNTIME_DIR means no keychain, by construction).
func sessionBusProblem(getenv func(string) string, runDir string) string {
	if a := getenv("DBUS_SESSION_BUS_ADDRESS"); a != "" && a != "autolaunch:" {
		return ""
	}
	if xdg := getenv("XDG_RUNTIME_DIR"); xdg != "" && filepath.Clean(xdg) != filepath.Clean(runDir) {
		if bus := filepath.Join(xdg, "bus"); exists(bus) {
			return "DBUS_SESSION_BUS_ADDRESS is unset: to use the session bus at " + bus + ", set DBUS_SESSION_BUS_ADDRESS=unix:path=" + bus
		}
		return "no D-Bus session bus: DBUS_SESSION_BUS_ADDRESS is unset and XDG_RUNTIME_DIR (" + xdg + ") has no bus; agw-proxy does not start one"
	}
	if exists(filepath.Join(runDir, "bus")) || hasBusAddress(filepath.Join(runDir, "dbus-session")) {
		return ""
	}
	return "no D-Bus session bus: DBUS_SESSION_BUS_ADDRESS is unset and there is no " + filepath.Join(runDir, "bus") + "; agw-proxy does not start one"
}

func exists(name string) bool {
	_, err := os.Stat(name)
	return err == nil
}

// hasBusAddress reports whether name holds an address as godbus reads it
// (DBUS_SESSION_BUS_ADDRESS=...); otherwise godbus would launch a bus.
func hasBusAddress(name string) bool {
	b, err := os.ReadFile(name)
	return err == nil && bytes.HasPrefix(b, []byte("DBUS_SESSION_BUS_ADDRESS="))
}
