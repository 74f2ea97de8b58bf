package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agw-proxy/agw-proxy/internal/testexe"
)

// The released binary, for the tests of what only it does: use the OS
// keychain. It runs only through productionCommand, in an environment in
// which that keychain is out of reach (TestNoTestBuildsAnotherBinary).

var (
	productionOnce sync.Once
	productionPath string
	productionErr  error
)

// productionBinary builds agw-proxy as released, once per test run.
func productionBinary(t *testing.T) string {
	t.Helper()
	productionOnce.Do(func() {
		dir, err := os.MkdirTemp("", "agw-proxy-release")
		if err != nil {
			productionErr = err
			return
		}
		productionPath = filepath.Join(dir, "agw-proxy")
		out, err := exec.Command("go", "build", "-o", productionPath, ".").CombinedOutput()
		if err != nil {
			productionErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if productionErr != nil {
		t.Fatal(productionErr)
	}
	return productionPath
}

// productionCommand is the released binary with args, in testChildEnv plus
// vars; it skips the test where the OS keychain does not use D-Bus (macOS,
// Windows), since there it cannot be kept out of reach.
func productionCommand(t *testing.T, ctx context.Context, vars []string, args ...string) *exec.Cmd {
	t.Helper()
	if runtime.GOOS == "darwin" || runtime.GOOS == "windows" {
		t.Skip("the released binary would use this system's keychain")
	}
	cmd := exec.CommandContext(ctx, productionBinary(t), args...)
	cmd.Env = testChildEnv(t, vars...)
	checkChildEnv(t, cmd)
	return cmd
}

// TestStatusWithoutSessionBusLaunchesNothing: on a headless Linux host
// (no D-Bus session bus), status says at once that there is no keychain,
// with the environment-variable hint, and never runs dbus-launch (here a
// fake that leaves a marker), which would leave a dbus-daemon and a
// gnome-keyring-daemon running and then report a locked keychain.
func TestStatusWithoutSessionBusLaunchesNothing(t *testing.T) {
	bin, home := t.TempDir(), t.TempDir()
	marker := filepath.Join(t.TempDir(), "dbus-launch-ran")
	script := "#!/bin/sh\necho ran >> " + marker + "\nexit 1\n"
	if err := testexe.WriteFile(filepath.Join(bin, "dbus-launch"), []byte(script)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := productionCommand(t, ctx, []string{
		"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"),
		"HOME=" + home, "XDG_CONFIG_HOME=" + filepath.Join(home, "config"),
		"AGW_PROXY_CONFIG=", "AGW_PROXY_PROFILE=", "AGW_PROXY_SECRET_ASANA=",
	}, "status", "--profile", "nobus", "--gateway-url", "https://gw.example.com/mcp",
		"--inject", "X-Asana-Token=asana", "--inject-tools", "Asana___*")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatal("status did not end within 20s")
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("status ran dbus-launch")
	}
	out := stdout.String() + stderr.String()
	if err == nil || !strings.Contains(stderr.String(), "no keychain service is reachable: no D-Bus session bus") ||
		!strings.Contains(stderr.String(), "hint: in CI or a container without a keychain, set the secret in the environment") {
		t.Errorf("status: %v\n%s", err, out)
	}
	if strings.Contains(out, "locked") {
		t.Errorf("status speaks of a locked keychain:\n%s", out)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("status took %s", d)
	}
}
