package tokenstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/zalando/go-keyring"
)

// DefaultKeychainTimeout bounds each keychain call when Keychain.Timeout is
// zero.
const DefaultKeychainTimeout = 5 * time.Second

// maxPending caps the keychain calls running at once. A call that outlives
// its timeout keeps its goroutine until the keychain answers (go-keyring
// cannot be cancelled), so a hung keychain leaks at most this many.
const maxPending = 8

// Keychain stores secrets in the OS keychain through go-keyring: macOS
// Keychain, Windows Credential Manager, or the Secret Service on Linux. The
// entry for a secret has service Service and user "<profile>:<name>".
//
// Every call is bounded by Timeout: the Secret Service can block forever on
// an unlock prompt, and a proxy must report that, not hang. On Linux and the
// other Unix systems that use the Secret Service, a call without a D-Bus
// session bus to connect to fails at once with ErrUnavailable: a bus is
// never launched (no dbus-launch, so no daemons left behind).
type Keychain struct {
	// Timeout bounds each call; zero means DefaultKeychainTimeout.
	Timeout time.Duration

	backend keyringBackend
	pending chan struct{}
}

// keyringBackend is the part of go-keyring that Keychain uses; tests
// substitute a hanging or failing one.
type keyringBackend interface {
	Get(service, user string) (string, error)
	Set(service, user, password string) error
	Delete(service, user string) error
}

// goKeyring is the real backend.
type goKeyring struct{}

func (goKeyring) Get(service, user string) (string, error) { return keyring.Get(service, user) }
func (goKeyring) Set(service, user, pw string) error       { return keyring.Set(service, user, pw) }
func (goKeyring) Delete(service, user string) error        { return keyring.Delete(service, user) }

// NewKeychain returns a Keychain over the OS keychain with the default
// timeout.
func NewKeychain() *Keychain { return newKeychain(goKeyring{}) }

func newKeychain(b keyringBackend) *Keychain {
	return &Keychain{backend: b, pending: make(chan struct{}, maxPending)}
}

// User returns the keychain user (account) of a secret: "<profile>:<name>".
func User(profile, name string) string { return profile + ":" + name }

// Get returns the stored secret. Errors wrap ErrNotFound, ErrTimeout,
// ErrLocked, ErrUnavailable or a context error.
func (k *Keychain) Get(ctx context.Context, profile, name string) (Secret, error) {
	var v string
	err := k.do(ctx, "read", profile, name, "", func(b keyringBackend) error {
		var err error
		v, err = b.Get(Service, User(profile, name))
		return err
	})
	if err != nil {
		return "", err
	}
	return Secret(v), nil
}

// Set stores the secret, replacing any previous value. A value over
// MaxSecretSize is refused with an error wrapping ErrTooLarge before the
// keychain is asked.
func (k *Keychain) Set(ctx context.Context, profile, name string, value Secret) error {
	if len(value) > MaxSecretSize {
		return tooLarge(profile, name, len(value))
	}
	return k.do(ctx, "store", profile, name, string(value), func(b keyringBackend) error {
		return b.Set(Service, User(profile, name), string(value))
	})
}

// Delete removes the secret; it returns an error wrapping ErrNotFound when
// nothing was stored.
func (k *Keychain) Delete(ctx context.Context, profile, name string) error {
	return k.do(ctx, "delete", profile, name, "", func(b keyringBackend) error {
		return b.Delete(Service, User(profile, name))
	})
}

// do runs call on the backend in its own goroutine and waits for it, the
// timeout or ctx, whichever comes first. value is only used to make sure an
// unexpected backend error text never carries the secret.
func (k *Keychain) do(ctx context.Context, op, profile, name, value string, call func(keyringBackend) error) error {
	timeout := k.Timeout
	if timeout <= 0 {
		timeout = DefaultKeychainTimeout
	}
	backend, pending := k.backend, k.pending
	if backend == nil { // a zero Keychain works too
		backend = goKeyring{}
	}
	if _, real := backend.(goKeyring); real {
		// Never let go-keyring start a D-Bus session (sessionbus_unix.go).
		if why := noSessionBus(); why != "" {
			return &opError{op: op, profile: profile, name: name, err: ErrUnavailable, msg: "no keychain service is reachable: " + why}
		}
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()

	if pending != nil {
		select {
		case pending <- struct{}{}:
		case <-timer.C:
			return timedOut(op, profile, name, timeout)
		case <-ctx.Done():
			return &opError{op: op, profile: profile, name: name, msg: ctx.Err().Error(), err: ctx.Err()}
		}
	}
	done := make(chan error, 1)
	go func() {
		if pending != nil {
			defer func() { <-pending }()
		}
		done <- call(backend)
	}()
	select {
	case err := <-done:
		return classify(op, profile, name, value, err)
	case <-timer.C:
		return timedOut(op, profile, name, timeout)
	case <-ctx.Done():
		return &opError{op: op, profile: profile, name: name, msg: ctx.Err().Error(), err: ctx.Err()}
	}
}

func timedOut(op, profile, name string, timeout time.Duration) error {
	return &opError{op: op, profile: profile, name: name, err: ErrTimeout,
		msg: fmt.Sprintf("the keychain did not answer within %s (is it locked and waiting on an unlock prompt?)", timeout)}
}

func tooLarge(profile, name string, n int) error {
	return &opError{op: "store", profile: profile, name: name, err: ErrTooLarge,
		msg: fmt.Sprintf("value is %d bytes, over the keychain limit of %d bytes", n, MaxSecretSize)}
}

// classify maps a go-keyring error to the package's errors.
func classify(op, profile, name, value string, err error) error {
	if err == nil {
		return nil
	}
	e := &opError{op: op, profile: profile, name: name}
	text := err.Error()
	low := strings.ToLower(text)
	switch {
	case errors.Is(err, keyring.ErrNotFound):
		e.err, e.msg = ErrNotFound, "nothing stored"
	case errors.Is(err, keyring.ErrSetDataTooBig):
		e.err, e.msg = ErrTooLarge, "the keychain refused the value as too large"
	case strings.Contains(low, "failed to unlock correct collection"), strings.Contains(low, "locked collection"),
		strings.Contains(low, "interaction is not allowed"): // macOS, locked keychain without a UI

		e.err, e.msg = ErrLocked, "the keychain is locked and could not be unlocked"
	case errors.Is(err, keyring.ErrUnsupportedPlatform),
		strings.Contains(low, "org.freedesktop.secrets"),
		strings.Contains(low, "dbus_session_bus_address"),
		strings.Contains(low, "dbus-launch"):
		e.err, e.msg = ErrUnavailable, "no keychain service is reachable"
	default:
		e.err = err
	}
	// Keep the backend's own words (they say what went wrong in the
	// platform's terms), minus anything that looks like the value.
	if value != "" {
		text = strings.ReplaceAll(text, value, redacted)
	}
	if e.err == err {
		e.msg = text
		e.err = errors.New(text) // never expose an unscrubbed text through Unwrap
	} else if e.err != ErrNotFound {
		e.msg += ": " + text
	}
	return e
}

// opError is a keychain failure that names the operation, the profile and
// the secret, never its value.
type opError struct {
	op, profile, name, msg string
	err                    error
}

func (e *opError) Error() string {
	return fmt.Sprintf("tokenstore: %s %q for profile %q: %s", e.op, e.name, e.profile, e.msg)
}

func (e *opError) Unwrap() error { return e.err }
