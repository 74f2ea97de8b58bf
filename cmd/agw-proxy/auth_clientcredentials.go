package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/agw-proxy/agw-proxy/internal/httpguard"
	"github.com/agw-proxy/agw-proxy/internal/profile"
	"github.com/agw-proxy/agw-proxy/oauth"
	"github.com/agw-proxy/agw-proxy/tokenstore"
)

// clientCredentials is auth type client_credentials: a Cognito app client
// with a secret (machine-to-machine); the secret is the stored credential.
var clientCredentials = &oauthMethod{
	typ: profile.AuthClientCredentials,
	cred: gatewayCredential{
		secret:  tokenstore.ClientSecretName,
		label:   "the Gateway client secret",
		role:    "the Gateway's client secret",
		missing: "no Gateway client secret stored for profile %q",
		envHint: true,
	},
	newCache: oauth.NewClientCredentials,
	logIn:    loginClientCredentials,
}

// loginClientCredentials stores the app client secret once it has proved
// itself: a rejected secret is not stored, so a working one is not lost to
// a typo.
func loginClientCredentials(ctx context.Context, m *oauthMethod, e *env, p *profile.Profile, _ bool) error {
	client, err := httpClient(p)
	if err != nil {
		return err
	}
	tokenURL, err := tokenURLFor(ctx, p, client)
	if err != nil {
		return err
	}
	v, err := readSecret(ctx, e, fmt.Sprintf("Client secret of Cognito app client %s (input hidden): ", p.Auth.ClientID))
	if err == nil && len(v) < tokenstore.MinSecretSize {
		err = errTooShort
	}
	if err != nil {
		return inputError(p, "", err, stdinIsTerminal(e))
	}

	candidate := tokenstore.NewMemory()
	if err := candidate.Set(ctx, p.Name, tokenstore.ClientSecretName, v); err != nil {
		return keychainError(err)
	}
	vctx, cancel := context.WithTimeout(ctx, verifyTimeout)
	defer cancel()
	tok, verr := m.cache(p, tokenURL, candidate, client).Token(vctx)
	switch {
	case errors.Is(verr, tokenstore.ErrLoginNeeded):
		return withHints(fmt.Errorf("the token endpoint refused client ID %s with this client secret; nothing stored", p.Auth.ClientID),
			fmt.Sprintf("copy the secret of app client %s again (Cognito console: User pool > App clients > Client secret)", p.Auth.ClientID),
			fmt.Sprintf("check the client ID (%s)", p.Origin("auth.client_id")))
	case errors.As(verr, new(*httpguard.RedirectError)):
		return withHints(fmt.Errorf("%w; nothing stored", verr),
			fmt.Sprintf("check auth.token_url (%s): it must be the token endpoint itself (Cognito's is https://DOMAIN.auth.REGION.amazoncognito.com/oauth2/token); a redirect of the token request is never followed", p.Origin("auth.token_url")))
	case errors.Is(verr, oauth.ErrTokenRejected):
		return withHints(fmt.Errorf("%w; nothing stored", verr),
			fmt.Sprintf("check auth.scopes (%s) and that the app client allows the client_credentials grant", p.Origin("auth.scopes")))
	}

	if err := e.keychain().Set(ctx, p.Name, tokenstore.ClientSecretName, v); err != nil {
		return keychainError(err)
	}
	writef(e.stdout, "Stored the client secret for profile %q in the keychain (%s).\n", p.Name, account(p.Name, tokenstore.ClientSecretName))
	noteEnvOverride(e, tokenstore.ClientSecretName)
	if verr != nil {
		return withHints(fmt.Errorf("stored, but could not check it: %w", verr),
			fmt.Sprintf("the token endpoint (%s) did not answer; run %q later to check the login", tokenURL, p.Command("status", "")))
	}
	writef(e.stdout, "Logged in: the Gateway access token is valid until %s.\n", describeExpiry(tok.Expiry))
	return nil
}
