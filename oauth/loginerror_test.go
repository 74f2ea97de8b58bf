package oauth

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/agw-proxy/agw-proxy/internal/testwait"
	"github.com/agw-proxy/agw-proxy/tokenstore"
)

// wantLoginError checks that err is a *LoginError for profile whose reason
// mentions reason, that errors.Is still finds tokenstore.ErrLoginNeeded
// through any wrapping, and that the text names no command to run.
func wantLoginError(t *testing.T, err error, profile, reason string) {
	t.Helper()
	var le *LoginError
	if !errors.As(err, &le) || !errors.Is(err, tokenstore.ErrLoginNeeded) {
		t.Fatalf("err = %v, want a *LoginError wrapping tokenstore.ErrLoginNeeded", err)
	}
	if le.Profile != profile || !strings.Contains(le.Reason, reason) {
		t.Errorf("LoginError{Profile: %q, Reason: %q}, want profile %q and a reason naming %q", le.Profile, le.Reason, profile, reason)
	}
	if want := fmt.Sprintf("oauth: gateway login needed for profile %q: %s", le.Profile, le.Reason); le.Error() != want {
		t.Errorf("Error() = %q, want %q", le.Error(), want)
	}
	if strings.Contains(err.Error(), "agw-proxy") || strings.Contains(err.Error(), "run ") {
		t.Errorf("error %q names a command: that is the caller's to say", err)
	}
}

func TestLoginErrorWrapped(t *testing.T) {
	testwait.NoLeaks(t)
	err := fmt.Errorf("connecting: %w", &LoginError{Profile: "work", Reason: "no refresh token stored"})
	wantLoginError(t, err, "work", "no refresh token stored")
	if got, want := err.Error(), `connecting: oauth: gateway login needed for profile "work": no refresh token stored`; got != want {
		t.Errorf("err = %q, want %q", got, want)
	}
}
