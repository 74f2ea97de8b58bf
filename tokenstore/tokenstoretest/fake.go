// Package tokenstoretest provides a tokenstore.Secrets for tests that fails
// the way a real keychain does, as net/http/httptest provides servers for
// tests of HTTP code.
//
//	secrets := tokenstoretest.NewFake()
//	secrets.Set(ctx, "default", tokenstore.ClientSecretName, "s3cret")
//	secrets.Hang(time.Hour) // now every call waits, like a locked Secret Service
package tokenstoretest

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/agw-proxy/agw-proxy/tokenstore"
)

// Fake is an in-memory tokenstore.Secrets for tests, safe for concurrent
// use: a tokenstore.Memory plus hooks that make it hang or fail the way a
// real keychain does, and a count of the calls. Its errors have the same
// shape as tokenstore.Keychain's (wrapping tokenstore.ErrNotFound,
// ErrTooLarge, ErrTimeout, ...).
//
// Prefer it over go-keyring's MockInit, which swaps a process-wide store
// without locking.
type Fake struct {
	mem tokenstore.Memory

	mu      sync.Mutex
	hang    time.Duration
	failErr error
	calls   map[string]int
}

var _ tokenstore.Secrets = (*Fake)(nil)

// NewFake returns an empty Fake.
func NewFake() *Fake { return &Fake{} }

// Hang makes every following call block for d, or until its context is
// done, and then fail with an error wrapping tokenstore.ErrTimeout, as
// tokenstore.Keychain does when the Secret Service waits on an unlock
// prompt. d <= 0 turns it off.
func (f *Fake) Hang(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hang = d
}

// FailWith makes every following call fail with an error wrapping err (for
// example tokenstore.ErrLocked or ErrUnavailable); nil turns it off.
func (f *Fake) FailWith(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failErr = err
}

// Calls reports how many times op ("get", "set" or "delete") was called,
// failed calls included.
func (f *Fake) Calls(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

// Get returns the stored secret.
func (f *Fake) Get(ctx context.Context, profile, name string) (tokenstore.Secret, error) {
	if err := f.enter(ctx, "get", "read", profile, name); err != nil {
		return "", err
	}
	return f.mem.Get(ctx, profile, name)
}

// Set stores the secret; a value over tokenstore.MaxSecretSize fails with
// tokenstore.ErrTooLarge.
func (f *Fake) Set(ctx context.Context, profile, name string, value tokenstore.Secret) error {
	if err := f.enter(ctx, "set", "store", profile, name); err != nil {
		return err
	}
	return f.mem.Set(ctx, profile, name, value)
}

// Delete removes the secret.
func (f *Fake) Delete(ctx context.Context, profile, name string) error {
	if err := f.enter(ctx, "delete", "delete", profile, name); err != nil {
		return err
	}
	return f.mem.Delete(ctx, profile, name)
}

// enter counts the call and applies the hooks.
func (f *Fake) enter(ctx context.Context, call, op, profile, name string) error {
	f.mu.Lock()
	if f.calls == nil { // a zero Fake works too
		f.calls = map[string]int{}
	}
	f.calls[call]++
	hang, failErr := f.hang, f.failErr
	f.mu.Unlock()

	if hang > 0 {
		t := time.NewTimer(hang)
		defer t.Stop()
		select {
		case <-t.C:
			return &opError{op: op, profile: profile, name: name, err: tokenstore.ErrTimeout,
				msg: fmt.Sprintf("the keychain did not answer within %s (is it locked and waiting on an unlock prompt?)", hang)}
		case <-ctx.Done():
			return &opError{op: op, profile: profile, name: name, msg: ctx.Err().Error(), err: ctx.Err()}
		}
	}
	if failErr != nil {
		return &opError{op: op, profile: profile, name: name, msg: fmt.Sprintf("simulated failure: %v", failErr), err: failErr}
	}
	return nil
}

// opError is a simulated keychain failure, worded as tokenstore.Keychain
// words its own, so that tests of callers see the real text.
type opError struct {
	op, profile, name, msg string
	err                    error
}

func (e *opError) Error() string {
	return fmt.Sprintf("tokenstore: %s %q for profile %q: %s", e.op, e.name, e.profile, e.msg)
}

func (e *opError) Unwrap() error { return e.err }
