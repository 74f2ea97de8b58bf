package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"golang.org/x/oauth2"

	"github.com/agw-proxy/agw-proxy/internal/profile"
	"github.com/agw-proxy/agw-proxy/oauth"
	"github.com/agw-proxy/agw-proxy/tokenstore"
)

// authorizationCode is auth type authorization_code: a user signs in
// through the Cognito hosted UI in the browser (PKCE); the refresh token is
// the stored credential.
type authorizationCode struct{}

func (authorizationCode) name() string                       { return profile.AuthAuthorizationCode }
func (authorizationCode) describe(p *profile.Profile) string { return describeOAuth(p) }

func (authorizationCode) check(p *profile.Profile) []error {
	errs := checkOAuth(p)
	a := p.Auth
	if a.AuthorizeURL == "" && a.DiscoveryURL == "" {
		errs = append(errs, p.Problem("auth.authorize_url", p.MissingHints("auth.authorize_url", "--authorize-url URL"),
			"auth type authorization_code needs an authorize URL or a discovery URL"))
	}
	if a.RedirectURL == "" {
		errs = append(errs, p.Problem("auth.redirect_url", p.MissingHints("auth.redirect_url", "--redirect-url URL"),
			"auth type authorization_code needs a redirect URL registered on the app client, e.g. http://localhost:8501/"))
	} else if err := p.CheckURL("auth.redirect_url", a.RedirectURL, true); err != nil {
		errs = append(errs, err)
	}
	return errs
}

func (authorizationCode) credential() *gatewayCredential {
	return &gatewayCredential{
		secret:  tokenstore.RefreshTokenName,
		label:   "the Gateway refresh token",
		role:    "the Gateway login",
		missing: "not logged in to the Gateway with profile %q (no refresh token stored)",
	}
}

func (authorizationCode) cache(p *profile.Profile, tokenURL string, secrets tokenstore.Secrets, client *http.Client) *oauth.TokenCache {
	return oauth.NewAuthorizationCode(oauth.AuthorizationCodeConfig{
		TokenURL:   tokenURL,
		ClientID:   p.Auth.ClientID,
		Scopes:     p.Auth.Scopes,
		Secrets:    secrets,
		Profile:    p.Name,
		HTTPClient: client,
	})
}

func (m authorizationCode) handler(p *profile.Profile, secrets tokenstore.Secrets, client *http.Client, onToken func(tokenstore.Secret)) auth.OAuthHandler {
	return oauthHandler(m, p, secrets, client, onToken)
}

func (m authorizationCode) token(ctx context.Context, p *profile.Profile, secrets tokenstore.Secrets, client *http.Client) (*oauth2.Token, error) {
	return oauthToken(ctx, m, p, secrets, client)
}

func (m authorizationCode) doctor(ctx context.Context, d *doctor, p *profile.Profile, client *http.Client, credOK bool) (auth.OAuthHandler, time.Time, bool) {
	return doctorOAuth(ctx, m, d, p, client, credOK)
}

// loginBrowser runs the authorization-code login and stores the refresh
// token alone (the access token is short-lived and the keychain entry must
// stay small).
func (m authorizationCode) login(ctx context.Context, e *env, p *profile.Profile, noBrowser bool) error {
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
