package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/agw-proxy/agw-proxy/internal/profile"
)

// TestAuthMethodsAreTheAuthTypes: every auth.type the flags' help names has
// a method, once; the profile model checks a profile with that method.
func TestAuthMethodsAreTheAuthTypes(t *testing.T) {
	var names []string
	for _, m := range authMethods {
		if slices.Contains(names, m.name()) {
			t.Errorf("auth type %q has two methods", m.name())
		}
		names = append(names, m.name())
		if !strings.Contains(profile.FlagsUsage(profile.AllFlags), m.name()) {
			t.Errorf("--auth-type help does not name %q", m.name())
		}
	}
	for _, want := range []string{profile.AuthNone, profile.AuthClientCredentials, profile.AuthAuthorizationCode} {
		if !slices.Contains(names, want) {
			t.Errorf("no method for auth type %q", want)
		}
	}
	_, _, err := resolveWith(t, "", nil, "--gateway-url", "https://gw.example.com/mcp", "--auth-type", "authorization_code")
	if err == nil || !strings.Contains(errorText(err), "needs a redirect URL") {
		t.Errorf("authorization_code profile without a redirect URL: %v", err)
	}
}

// TestGatewayCredentials: each method that keeps a credential names its own
// keychain entry, which the profile model reserves.
func TestGatewayCredentials(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range gatewayCredentials() {
		if seen[c.secret] {
			t.Errorf("credential %q kept by two methods", c.secret)
		}
		seen[c.secret] = true
		if !profile.ReservedSecret(c.secret) {
			t.Errorf("credential %q is not a reserved secret name: an inject rule could use it", c.secret)
		}
		if got := credentialNamed(c.secret); got == nil || *got != *c {
			t.Errorf("credentialNamed(%q) does not find it", c.secret)
		}
		if c.role == "" || c.label == "" || !strings.Contains(c.missing, "%q") {
			t.Errorf("credential %q: role %q, label %q, missing %q", c.secret, c.role, c.label, c.missing)
		}
	}
	if len(seen) != 2 {
		t.Errorf("%d Gateway credentials, want the client secret and the refresh token", len(seen))
	}
}

// TestLoginWithoutGatewayAuth: "agw-proxy login" of an auth type none
// profile says there is nothing to log in to, and what would be.
func TestLoginWithoutGatewayAuth(t *testing.T) {
	_, stderr, code := runInProcess(t, nil, "", "login", "--gateway-url", "http://127.0.0.1:1/mcp",
		"--inject", "X-Asana-Token=asana", "--inject-tools", "T___*")
	if code != exitError {
		t.Errorf("exit %d, want %d", code, exitError)
	}
	for _, want := range []string{
		`agw-proxy: error: profile "default" has auth type none: there is no Gateway login`,
		`agw-proxy: hint: to store a secret for an inject rule, run "agw-proxy login asana --gateway-url http://127.0.0.1:1/mcp --inject X-Asana-Token=asana --inject-tools 'T___*'"`,
		`agw-proxy: hint: for a Gateway login set auth.type (or --auth-type) to client_credentials or authorization_code`,
	} {
		if !strings.Contains(stderr, want+"\n") {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}
