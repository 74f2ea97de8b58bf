package main

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/agw-proxy/agw-proxy/oauth"
)

// The oauth package names no command; fail says what to run after its
// LoginError, and exits with the login-needed code.
func TestFailHintsLoginAfterLoginError(t *testing.T) {
	for _, tc := range []struct{ profile, want string }{
		{"default", "agw-proxy: hint: run \"agw-proxy login\"\n"},
		{"work", "agw-proxy: hint: run \"agw-proxy login --profile work\"\n"},
	} {
		var stderr bytes.Buffer
		err := fmt.Errorf("connecting: %w", &oauth.LoginError{Profile: tc.profile, Reason: "no refresh token stored"})
		code := fail(&env{stderr: &stderr}, err)
		want := fmt.Sprintf("agw-proxy: error: connecting: oauth: gateway login needed for profile %q: no refresh token stored\n", tc.profile) + tc.want
		if code != exitLoginNeeded || stderr.String() != want {
			t.Errorf("profile %q: exit %d, stderr:\n%s\nwant exit %d, stderr:\n%s", tc.profile, code, stderr.String(), exitLoginNeeded, want)
		}
	}
}
