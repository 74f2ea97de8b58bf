package tokenstore

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Fake is an in-memory Secrets for tests, safe for concurrent use. Its
// errors have the same shape as Keychain's (wrapping ErrNotFound,
// ErrTooLarge, ErrTimeout, ...), and hooks make it hang or fail the way a
// real keychain does.
//
// Prefer it over go-keyring's MockInit, which swaps a process-wide store
// without locking.
type Fake struct {
	mu      sync.Mutex
	values  map[string]Secret
	hang    time.Duration
	failErr error
	calls   map[string]int
}

// NewFake returns an empty Fake.
func NewFake() *Fake {
	return &Fake{values: map[string]Secret{}, calls: map[string]int{}}
}

// Hang makes every following call block for d, or until its context is
// done, and then fail with an error wrapping ErrTimeout, as Keychain does
// when the Secret Service waits on an unlock prompt. d <= 0 turns it off.
func (f *Fake) Hang(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hang = d
}

// FailWith makes every following call fail with an error wrapping err (for
// example ErrLocked or ErrUnavailable); nil turns it off.
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
func (f *Fake) Get(ctx context.Context, profile, name string) (Secret, error) {
	if err := f.enter(ctx, "get", "read", profile, name); err != nil {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.values[User(profile, name)]
	if !ok {
		return "", &opError{op: "read", profile: profile, name: name, msg: "nothing stored", err: ErrNotFound}
	}
	return v, nil
}

// Set stores the secret; a value over MaxSecretSize fails with ErrTooLarge.
func (f *Fake) Set(ctx context.Context, profile, name string, value Secret) error {
	if err := f.enter(ctx, "set", "store", profile, name); err != nil {
		return err
	}
	if len(value) > MaxSecretSize {
		return tooLarge(profile, name, len(value))
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.values[User(profile, name)] = value
	return nil
}

// Delete removes the secret.
func (f *Fake) Delete(ctx context.Context, profile, name string) error {
	if err := f.enter(ctx, "delete", "delete", profile, name); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	key := User(profile, name)
	if _, ok := f.values[key]; !ok {
		return &opError{op: "delete", profile: profile, name: name, msg: "nothing stored", err: ErrNotFound}
	}
	delete(f.values, key)
	return nil
}

// enter counts the call and applies the hooks.
func (f *Fake) enter(ctx context.Context, call, op, profile, name string) error {
	f.mu.Lock()
	if f.calls == nil { // a zero Fake works too
		f.calls = map[string]int{}
		f.values = map[string]Secret{}
	}
	f.calls[call]++
	hang, failErr := f.hang, f.failErr
	f.mu.Unlock()

	if hang > 0 {
		t := time.NewTimer(hang)
		defer t.Stop()
		select {
		case <-t.C:
			return timedOut(op, profile, name, hang)
		case <-ctx.Done():
			return &opError{op: op, profile: profile, name: name, msg: ctx.Err().Error(), err: ctx.Err()}
		}
	}
	if failErr != nil {
		return &opError{op: op, profile: profile, name: name, msg: fmt.Sprintf("simulated failure: %v", failErr), err: failErr}
	}
	return nil
}
