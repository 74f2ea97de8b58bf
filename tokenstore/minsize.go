package tokenstore

import (
	"errors"
	"fmt"
)

// MinSecretSize is the shortest secret, in bytes, that agw-proxy stores or
// uses. Every secret in use is scrubbed from what reaches the client, and a
// short one occurs by chance in ordinary text: a 1-byte secret "a" turns
// every "message" into "mess[redacted]ge". Eight bytes is the least the
// NIST guidelines (SP 800-63B) allow for a password, so no real credential
// is refused, while every API token and client secret agw-proxy is used
// with is far longer (an Asana token is about 50 bytes, a Cognito client
// secret 51); text the Gateway returns holds an 8-byte string only by
// quoting it.
const MinSecretSize = 8

// ErrTooShort reports a secret shorter than MinSecretSize. For the Gateway's
// own credentials (ClientSecretName, RefreshTokenName), CheckSize's error
// is also ErrLoginNeeded: only a new login, or the whole value in the
// environment, helps.
var ErrTooShort = errors.New("tokenstore: secret too short to scrub")

// CheckSize returns an error wrapping ErrTooShort when value is shorter than
// MinSecretSize. It names the secret, never the value.
func CheckSize(name string, value Secret) error {
	if len(value) >= MinSecretSize {
		return nil
	}
	return &tooShortError{name: name}
}

type tooShortError struct{ name string }

func (e *tooShortError) Error() string {
	return fmt.Sprintf("tokenstore: %q is shorter than %d bytes, too short to scrub from results without mangling them; check the stored value, or %s if set",
		e.name, MinSecretSize, EnvVar(e.name))
}

func (e *tooShortError) Is(target error) bool {
	return target == ErrTooShort || target == ErrLoginNeeded && (e.name == ClientSecretName || e.name == RefreshTokenName)
}
