package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/agw-proxy/agw-proxy/internal/profile"
	"github.com/agw-proxy/agw-proxy/oauth"
	"github.com/agw-proxy/agw-proxy/tokenstore"
)

// authorizationCode is auth type authorization_code: a user signs in
// through the Cognito hosted UI in the browser (PKCE); the refresh token is
// the stored credential.
var authorizationCode = &oauthMethod{
	typ: profile.AuthAuthorizationCode,
	cred: gatewayCredential{
		secret:  tokenstore.RefreshTokenName,
		label:   "the Gateway refresh token",
		role:    "the Gateway login",
		missing: "not logged in to the Gateway with profile %q (no refresh token stored)",
	},
	checkMore: checkAuthorizationCode,
	newCache:  oauth.NewAuthorizationCode,
	logIn:     loginBrowser,
}

// checkAuthorizationCode returns what a browser login needs besides the
// app client and the token endpoint.
func checkAuthorizationCode(p *profile.Profile) []error {
	var errs []error
	a := p.Auth
	if a.AuthorizeURL == "" && a.DiscoveryURL == "" {
		errs = append(errs, p.Problem("auth.authorize_url", p.MissingHints("auth.authorize_url", "--authorize-url URL"),
			"%s needs an authorize URL or a discovery URL", authTypeOf(p)))
	}
	if a.RedirectURL == "" {
		errs = append(errs, p.Problem("auth.redirect_url", p.MissingHints("auth.redirect_url", "--redirect-url URL"),
			"%s needs a redirect URL registered on the app client, e.g. http://localhost:8501/", authTypeOf(p)))
	} else if err := p.CheckURL("auth.redirect_url", a.RedirectURL, true); err != nil {
		errs = append(errs, err)
	}
	return errs
}

// loginBrowser runs the authorization-code login and stores the refresh
// token alone (the access token is short-lived and the keychain entry must
// stay small).
func loginBrowser(ctx context.Context, m *oauthMethod, e *env, p *profile.Profile, noBrowser bool) error {
	client, err := httpClient(p)
	if err != nil {
		return err
	}
	tokenURL, authorizeURL, err := endpoints(ctx, p, client)
	if err != nil {
		return err
	}
	if authorizeURL == "" {
		return withHints(fmt.Errorf("no authorize URL for profile %q: the discovery document has no authorization_endpoint", p.Name),
			p.MissingHints("auth.authorize_url", "--authorize-url URL")...)
	}
	open := openBrowser
	if noBrowser {
		open = nil
	}
	tok, err := oauth.LoginWithBrowser(ctx, oauth.LoginConfig{
		AuthorizeURL: authorizeURL,
		TokenURL:     tokenURL,
		ClientID:     p.Auth.ClientID,
		Scopes:       p.Auth.Scopes,
		RedirectURL:  p.Auth.RedirectURL,
		OpenURL:      open,
		Out:          e.stderr,
		HTTPClient:   client,
	})
	if err != nil {
		var hints []string
		if errors.Is(err, oauth.ErrLoginTimeout) {
			hints = append(hints, fmt.Sprintf("run %q again; with --no-browser, open the printed URL yourself", p.Command("login", "")))
		}
		return withHints(err, hints...)
	}
	if tok.RefreshToken == "" {
		return withHints(errors.New("the token endpoint returned no refresh token, so the login cannot last"),
			fmt.Sprintf("enable refresh tokens on app client %s (Cognito: the ALLOW_REFRESH_TOKEN_AUTH flow)", p.Auth.ClientID))
	}
	store := e.keychain()
	if err := store.Set(ctx, p.Name, tokenstore.RefreshTokenName, tokenstore.Secret(tok.RefreshToken)); err != nil {
		return keychainError(err)
	}
	writef(e.stdout, "Stored the refresh token for profile %q in the keychain (%s).\n", p.Name, account(p.Name, tokenstore.RefreshTokenName))
	noteEnvOverride(e, tokenstore.RefreshTokenName)

	// Prove the stored refresh token works, as serve will use it.
	vctx, cancel := context.WithTimeout(ctx, verifyTimeout)
	defer cancel()
	access, err := m.cache(p, tokenURL, store, client).Token(vctx)
	if err != nil {
		return withHints(fmt.Errorf("stored, but a token refresh with it failed: %w", err),
			fmt.Sprintf("run %q to check the login again", p.Command("status", "")))
	}
	writef(e.stdout, "Logged in: the Gateway access token is valid until %s.\n", describeExpiry(access.Expiry))
	return nil
}
