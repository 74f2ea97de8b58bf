// Package tokenstore keeps agw-proxy's secrets and Gateway tokens: the OS
// keychain behind a timeout, an environment override for CI and containers,
// an in-memory fake for tests, and the Cognito token sources that turn stored
// credentials into Gateway access tokens.
package tokenstore

import (
	"context"
	"errors"
	"log/slog"
)

// ErrNotFound reports that no value is stored for a secret.
var ErrNotFound = errors.New("tokenstore: secret not found")

// ErrTimeout reports that the keychain did not answer in time (for example a
// Secret Service collection waiting on an unlock prompt).
var ErrTimeout = errors.New("tokenstore: keychain did not answer in time")

// Secret is a secret value. It prints as a fixed mask in fmt and log/slog
// output; use string(s) only where the value must really leave the process.
type Secret string

const redacted = "[redacted]"

// String returns a fixed mask, never the value.
func (Secret) String() string { return redacted }

// GoString returns a fixed mask, never the value.
func (Secret) GoString() string { return redacted }

// LogValue returns a fixed mask, never the value.
func (Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// Secrets stores named secrets per profile.
// Implementations are safe for concurrent use.
type Secrets interface {
	// Get returns the secret, or an error wrapping ErrNotFound.
	Get(ctx context.Context, profile, name string) (Secret, error)
	// Set stores the secret, replacing any previous value.
	Set(ctx context.Context, profile, name string, value Secret) error
	// Delete removes the secret; it returns an error wrapping ErrNotFound
	// when there was nothing to remove.
	Delete(ctx context.Context, profile, name string) error
}
