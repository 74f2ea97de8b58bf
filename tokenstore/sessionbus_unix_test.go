//go:build unix && !darwin

package tokenstore

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agw-proxy/agw-proxy/internal/testexe"
	"github.com/agw-proxy/agw-proxy/internal/testwait"
)

// TestKeychainLaunchesNoSessionBus: with no session bus (the headless Linux
// of a server, a container or CI), the OS keychain is "no keychain" at once,
// and dbus-launch (here a fake that leaves a marker) is never run: it
// would start a dbus-daemon and a gnome-keyring-daemon that outlive the
// command, for a keyring the user never had.
func TestKeychainLaunchesNoSessionBus(t *testing.T) {
	bin, marker := t.TempDir(), filepath.Join(t.TempDir(), "dbus-launch-ran")
	script := "#!/bin/sh\necho ran >> " + marker + "\nexit 1\n"
	if err := testexe.WriteFile(filepath.Join(bin, "dbus-launch"), []byte(script)); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
	t.Setenv("XDG_RUNTIME_DIR", "")
	runDir := t.TempDir() // no bus in it
	saved := userRuntimeDir
	userRuntimeDir = func() string { return runDir }
	t.Cleanup(func() { userRuntimeDir = saved })

	k := NewKeychain()
	for _, op := range []struct {
		name string
		call func(context.Context) error
	}{
		{"get", func(ctx context.Context) error { _, err := k.Get(ctx, "p", "n"); return err }},
		{"set", func(ctx context.Context) error { return k.Set(ctx, "p", "n", "value-never-stored") }},
		{"delete", func(ctx context.Context) error { return k.Delete(ctx, "p", "n") }},
	} {
		var err error
		start := time.Now()
		testwait.Within(t, 2*time.Second, op.name, func() { err = op.call(testwait.Context(t)) })
		if !errors.Is(err, ErrUnavailable) {
			t.Errorf("%s: %v, want ErrUnavailable", op.name, err)
		} else if !strings.Contains(err.Error(), "DBUS_SESSION_BUS_ADDRESS is unset") {
			t.Errorf("%s: %q does not say why", op.name, err)
		}
		// Far below DefaultKeychainTimeout (5s), which a dial attempt would
		// wait for; loose enough for a loaded machine under -race.
		if d := time.Since(start); d > time.Second {
			t.Errorf("%s took %s: it should fail without waiting", op.name, d)
		}
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("dbus-launch was run")
	}
}

func TestSessionBusProblem(t *testing.T) {
	withBus, withFile, withBadFile, empty := t.TempDir(), t.TempDir(), t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(withBus, "bus"), nil, 0o600); err != nil { // stands for the socket
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(withFile, "dbus-session"), []byte("DBUS_SESSION_BUS_ADDRESS=unix:abstract=/tmp/dbus-x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(withBadFile, "dbus-session"), []byte("garbage\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name         string
		address, xdg string
		runDir       string
		problem      string // "" for none, else a part of the text
	}{
		{"address set", "unix:path=/nowhere", "", empty, ""},
		{"autolaunch asks for a launch", "autolaunch:", "", empty, "DBUS_SESSION_BUS_ADDRESS is unset and there is no " + empty + "/bus"},
		{"nothing", "", "", empty, "there is no " + empty + "/bus"},
		{"systemd user bus", "", "", withBus, ""},
		{"systemd user bus, XDG_RUNTIME_DIR the same", "", withBus + "/", withBus, ""},
		{"dbus-session file", "", "", withFile, ""},
		{"dbus-session file without an address", "", "", withBadFile, "there is no"},
		{"XDG_RUNTIME_DIR elsewhere, empty", "", empty, withBus, "XDG_RUNTIME_DIR (" + empty + ") has no bus"},
		{"XDG_RUNTIME_DIR elsewhere, with a bus", "", withBus, empty, "set DBUS_SESSION_BUS_ADDRESS=unix:path=" + withBus + "/bus"},
	} {
		env := map[string]string{"DBUS_SESSION_BUS_ADDRESS": tc.address, "XDG_RUNTIME_DIR": tc.xdg}
		got := sessionBusProblem(func(k string) string { return env[k] }, tc.runDir)
		if tc.problem == "" && got != "" || tc.problem != "" && !strings.Contains(got, tc.problem) {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.problem)
		}
	}
}
