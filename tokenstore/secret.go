// Package tokenstore keeps agw-proxy's secrets: the OS keychain behind a
// timeout (Keychain), an environment override for CI and containers (Env),
// and an in-memory store (Memory). Turning a stored credential into Gateway
// access tokens is package oauth's job; a test double with failure hooks is
// in tokenstore/tokenstoretest.
package tokenstore

import (
	"context"
	"errors"
	"log/slog"
)

// ErrNotFound reports that no value is stored for a secret.
var ErrNotFound = errors.New("tokenstore: secret not found")

// ErrLoginNeeded reports that the stored Gateway credential is missing,
// expired or revoked (the token endpoint answered invalid_grant or
// invalid_client): only a new login helps. Package oauth returns it wrapped
// in an *oauth.LoginError that says for which profile and why.
var ErrLoginNeeded = errors.New("tokenstore: gateway login needed")

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

// Names under which the Gateway's own credentials are stored, and the
// keychain service that holds every agw-proxy secret.
const (
	// Service is the keychain service name of every agw-proxy entry.
	Service = "agw-proxy"
	// ClientSecretName names the Cognito app client secret
	// (client_credentials profiles).
	ClientSecretName = "client-secret"
	// RefreshTokenName names the refresh token stored by the browser login
	// (authorization_code profiles).
	RefreshTokenName = "refresh-token"
)

// MaxSecretSize is the largest value, in bytes, that Keychain and Memory
// store: Windows Credential Manager's limit, which is also below the macOS
// keychain's (about 3000 bytes after go-keyring's encoding).
const MaxSecretSize = 2560

// ErrTooLarge reports a value over MaxSecretSize or one the keychain refused
// as too big.
var ErrTooLarge = errors.New("tokenstore: secret too large for the keychain")

// ErrLocked reports a keychain that is locked and could not be unlocked (on
// Linux: no unlocked Secret Service collection, common on headless hosts).
var ErrLocked = errors.New("tokenstore: keychain is locked")

// ErrUnavailable reports that no keychain can be reached at all (on Linux:
// no D-Bus session bus or no Secret Service provider on it).
var ErrUnavailable = errors.New("tokenstore: no keychain available")
