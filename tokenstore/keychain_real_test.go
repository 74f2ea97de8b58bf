//go:build keychain

// The real-keychain suite: run it with .ci/keychain.sh, which starts an
// unlocked Secret Service on a private D-Bus session (Linux), or on a
// desktop whose keychain may be written to (macOS, Windows).

package tokenstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/agw-proxy/agw-proxy/internal/testwait"
)

// realName returns a secret name unique to this run, and removes it at the
// end.
func realName(t *testing.T, k *Keychain) string {
	name := fmt.Sprintf("test-%d-%d", os.Getpid(), time.Now().UnixNano())
	t.Cleanup(func() {
		// t.Context() is done by now: the removal gets a deadline of its own.
		ctx, cancel := context.WithTimeout(context.Background(), testwait.Limit)
		defer cancel()
		k.Delete(ctx, "default", name)
	})
	return name
}

// secretTool reads an entry the way a user would from the shell; ok is false
// when secret-tool is not installed.
func secretTool(t *testing.T, user string) (value string, found, ok bool) {
	t.Helper()
	if _, err := exec.LookPath("secret-tool"); err != nil {
		return "", false, false
	}
	out, err := exec.CommandContext(testwait.Context(t), "secret-tool", "lookup", "service", Service, "username", user).Output()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 1 {
		return "", false, true
	}
	if err != nil {
		t.Fatalf("secret-tool lookup: %v", err)
	}
	return string(out), true, true
}

func TestRealKeychainSetGetDelete(t *testing.T) {
	testwait.NoLeaks(t, sessionBus...)
	ctx := testwait.Context(t)
	k := NewKeychain()
	name := realName(t, k)

	if _, err := k.Get(ctx, "default", name); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get before Set: err = %v, want ErrNotFound", err)
	}
	if err := k.Set(ctx, "default", name, "first-value"); err != nil {
		t.Fatalf("Set: %v", err)
	}
	if err := k.Set(ctx, "default", name, "second-value"); err != nil {
		t.Fatalf("Set (overwrite): %v", err)
	}
	v, err := k.Get(ctx, "default", name)
	if err != nil || v != "second-value" {
		t.Fatalf("Get after overwrite: wrong value or err %v", err)
	}
	if got, found, ok := secretTool(t, "default:"+name); ok && (!found || got != "second-value") {
		t.Errorf("secret-tool lookup service %s username default:%s: found=%v, value matches=%v", Service, name, found, got == "second-value")
	}
	if _, err := k.Get(ctx, "work", name); !errors.Is(err, ErrNotFound) {
		t.Fatalf("another profile sees the entry: err = %v", err)
	}

	if err := k.Delete(ctx, "default", name); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := k.Get(ctx, "default", name); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after Delete: err = %v, want ErrNotFound", err)
	}
	if err := k.Delete(ctx, "default", name); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second Delete: err = %v, want ErrNotFound", err)
	}
	if _, found, ok := secretTool(t, "default:"+name); ok && found {
		t.Error("secret-tool still finds the deleted entry")
	}
}

func TestRealKeychainLargestValue(t *testing.T) {
	testwait.NoLeaks(t, sessionBus...)
	ctx := testwait.Context(t)
	k := NewKeychain()
	name := realName(t, k)
	big := Secret(strings.Repeat("r", MaxSecretSize))
	if err := k.Set(ctx, "default", name, big); err != nil {
		t.Fatalf("a value of MaxSecretSize bytes: %v", err)
	}
	if v, err := k.Get(ctx, "default", name); err != nil || v != big {
		t.Fatalf("read back: err %v, equal %v", err, v == big)
	}
	if err := k.Set(ctx, "default", name, big+"r"); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("over the limit: err = %v, want ErrTooLarge", err)
	}
}

func TestRealKeychainUnderEnv(t *testing.T) {
	testwait.NoLeaks(t, sessionBus...)
	ctx := testwait.Context(t)
	k := NewKeychain()
	name := realName(t, k)
	e := &Env{Base: k, Getenv: func(string) string { return "" }}
	if err := e.Set(ctx, "default", name, "via-env-overlay"); err != nil {
		t.Fatal(err)
	}
	v, src, err := e.Lookup(ctx, "default", name)
	if err != nil || v != "via-env-overlay" || src != SourceKeychain {
		t.Fatalf("Lookup: source %q, err %v", src, err)
	}
}

// sessionBus excuses the D-Bus session bus connection: go-keyring opens it
// once, at the first call, and it lasts as long as the process, by design.
var sessionBus = []goleak.Option{
	goleak.IgnoreAnyFunction("github.com/godbus/dbus/v5.newConn.func1"),
	goleak.IgnoreAnyFunction("github.com/godbus/dbus/v5.(*Conn).inWorker"),
}
