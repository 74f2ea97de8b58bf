package main

// How the proxy proves who it is to the Gateway: one authMethod per value
// of auth.type. Everything the commands do that depends on the auth type
// asks the profile's method, so a new type is one file with one of these
// (and its keys in internal/profile when it has settings of its own).

import (
	"context"
	"net/http"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"golang.org/x/oauth2"

	"github.com/agw-proxy/agw-proxy/internal/profile"
	"github.com/agw-proxy/agw-proxy/tokenstore"
)

// An authMethod is one kind of inbound auth to the Gateway (auth.type).
//
// It gives the proxy an auth.OAuthHandler (the proxy library takes one; a
// method that signs requests instead would give an http.Client, see
// proxy.Options.HTTPClient), and the commands what they show and do.
type authMethod interface {
	// name is the auth.type value.
	name() string
	// check returns what a profile of this type lacks (profile.Error
	// values, from p.Problem).
	check(p *profile.Profile) []error
	// credential is the Gateway credential the method keeps in the
	// keychain, or nil when it keeps none.
	credential() *gatewayCredential
	// describe is the profile's auth in one line, for status and doctor:
	// "client_credentials, client ID abc".
	describe(p *profile.Profile) string
	// handler returns what authorizes the requests to the Gateway: a true
	// nil interface when nothing does. secrets is read under the profile's
	// name at every token fetch; onToken, if not nil, sees every new
	// access token (for the scrubber).
	handler(p *profile.Profile, secrets tokenstore.Secrets, client *http.Client, onToken func(tokenstore.Secret)) auth.OAuthHandler
	// gatewayClient returns the HTTP client for the requests to the
	// Gateway: client itself, or one that signs them (aws_iam); onSecret
	// sees every credential it signs with (for the scrubber).
	gatewayClient(e *env, p *profile.Profile, client *http.Client, onSecret func(tokenstore.Secret)) *http.Client
	// token proves the stored credential works, for status: it gets an
	// access token the way serve would.
	token(ctx context.Context, p *profile.Profile, secrets tokenstore.Secrets, client *http.Client) (*oauth2.Token, error)
	// login is "agw-proxy login" without a SECRET: it stores the Gateway
	// credential after proving it works.
	login(ctx context.Context, e *env, p *profile.Profile, noBrowser bool) error
	// doctor runs the method's checks that follow the secret checks
	// (discovery, the token); credOK says the credential is present. It
	// returns the handler for the initialize check, and whether that check
	// can run (false when the method needed a token and got none).
	doctor(ctx context.Context, d *doctor, p *profile.Profile, client *http.Client, credOK bool) (h auth.OAuthHandler, issuedAt time.Time, ok bool)
}

// A gatewayCredential is the secret an auth method keeps in the keychain
// under a reserved name.
type gatewayCredential struct {
	secret string // keychain entry, e.g. "client-secret"
	role   string // what it is for, in status and doctor: "the Gateway's client secret"
	label  string // what it is, in logout: "the Gateway client secret"
	// missing says that it is not stored, with %q for the profile name.
	missing string
	// envHint: suggest the environment override (CI, containers) when it
	// is missing; a refresh token comes from a browser, not from CI.
	envHint bool
}

// authMethods are the auth types, in the order help lists them.
var authMethods = []authMethod{clientCredentials, authorizationCode, awsIAM{}, noAuth{}}

// authTypes describes authMethods to the profile model, which checks a
// profile with the method of its auth.type.
func authTypes() []profile.AuthType {
	out := make([]profile.AuthType, len(authMethods))
	for i, m := range authMethods {
		out[i] = profile.AuthType{Name: m.name(), Check: m.check}
	}
	return out
}

// methodOf returns the auth method of a resolved profile (whose auth type
// the profile model has checked against authTypes).
func methodOf(p *profile.Profile) authMethod {
	for _, m := range authMethods {
		if m.name() == p.Auth.Type {
			return m
		}
	}
	panic("agw-proxy: profile with unchecked auth type " + p.Auth.Type)
}

// credentialOf returns the keychain entry of the profile's Gateway
// credential, or nil.
func credentialOf(p *profile.Profile) *gatewayCredential { return methodOf(p).credential() }

// gatewayCredentials are the credentials of every method, for logout --all.
func gatewayCredentials() []*gatewayCredential {
	var out []*gatewayCredential
	for _, m := range authMethods {
		if c := m.credential(); c != nil {
			out = append(out, c)
		}
	}
	return out
}

// credentialNamed returns the Gateway credential stored as secret, or nil.
func credentialNamed(secret string) *gatewayCredential {
	for _, c := range gatewayCredentials() {
		if c.secret == secret {
			return c
		}
	}
	return nil
}
