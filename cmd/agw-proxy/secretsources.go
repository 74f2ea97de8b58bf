package main

// The sources of inject rules' secrets that are not the keychain: a
// command's output, and a downstream API's own OAuth login.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/agw-proxy/agw-proxy/internal/profile"
	"github.com/agw-proxy/agw-proxy/oauth"
	"github.com/agw-proxy/agw-proxy/proxy"
	"github.com/agw-proxy/agw-proxy/secretsource"
	"github.com/agw-proxy/agw-proxy/tokenstore"
)

// secretSet returns serve's proxy.SecretSource: each secret from its
// rule's source, the keychain ones from store (under the environment
// override). store scrubs what it reads and writes (the refresh tokens);
// onToken is given every access token.
func secretSet(p *profile.Profile, store tokenstore.Secrets, client *http.Client, onToken func(tokenstore.Secret)) *secretsource.Set {
	set := &secretsource.Set{
		Stored:  profileSecrets{secrets: store, profile: p.Name},
		Sources: map[string]secretsource.Source{},
	}
	for _, r := range p.Inject {
		if _, done := set.Sources[r.Secret]; done {
			continue
		}
		switch r.Source {
		case profile.SourceCommand:
			set.Sources[r.Secret] = &secretsource.Command{Argv: r.Command, Timeout: r.CommandTimeout, TTL: r.CacheTTL}
		case profile.SourceOAuth:
			set.Sources[r.Secret] = &secretsource.OAuth{Make: func(ctx context.Context) (*oauth.TokenCache, error) {
				tokenURL, _, err := ruleEndpoints(ctx, r, client)
				if err != nil {
					return nil, err
				}
				return newRuleCache(p, r, tokenURL, store, client, onToken), nil
			}}
		}
	}
	return set
}

// newRuleCache is the token cache of an oauth rule.
func newRuleCache(p *profile.Profile, r profile.InjectRule, tokenURL string, store tokenstore.Secrets, client *http.Client, onToken func(tokenstore.Secret)) *oauth.TokenCache {
	c := oauth.NewAuthorizationCode(oauth.Config{
		TokenURL:         tokenURL,
		ClientID:         r.OAuth.ClientID,
		Secrets:          store,
		Profile:          p.Name,
		HTTPClient:       client,
		RefreshTokenName: secretsource.RefreshTokenName(r.Secret),
		ClientSecretName: secretsource.ClientSecretName(r.Secret),
		Login:            r.Secret,
	})
	c.OnToken = onToken
	return c
}

// ruleEndpoints returns an oauth rule's token and authorize URLs, from its
// settings or its issuer's discovery document (which may have no authorize
// URL: a refresh needs none).
func ruleEndpoints(ctx context.Context, r profile.InjectRule, client *http.Client) (tokenURL, authorizeURL string, err error) {
	o := r.OAuth
	if (o.TokenURL != "" && o.AuthorizeURL != "") || o.Issuer == "" {
		return o.TokenURL, o.AuthorizeURL, nil
	}
	doc := strings.TrimSuffix(o.Issuer, "/") + "/.well-known/openid-configuration"
	tokenURL, authorizeURL, err = discoverEndpoints(ctx, client, doc, o.TokenURL, o.AuthorizeURL,
		fmt.Sprintf("check oauth.issuer of the inject rule for %q, or set its oauth.token_url and oauth.authorize_url directly", r.Secret))
	if err != nil {
		return "", "", fmt.Errorf("discovering the OAuth endpoints of %q: %w", r.Secret, err)
	}
	return tokenURL, authorizeURL, nil
}

// loginRuleOAuth runs the downstream API's browser login for an oauth
// rule's secret and stores the refresh token alone; with clientSecret it
// first reads the app's client secret, sends it, and stores it once the
// token endpoint took it (a secret it refused is not kept: every refresh
// would send it). open opens the login's one-time URL (nil: it is only
// printed, --no-browser).
func loginRuleOAuth(ctx context.Context, e *env, p *profile.Profile, r profile.InjectRule, open func(string) error, clientSecret bool) error {
	client, err := httpClient(p)
	if err != nil {
		return err
	}
	tokenURL, authorizeURL, err := ruleEndpoints(ctx, r, client)
	if err != nil {
		return err
	}
	if authorizeURL == "" {
		return withHints(fmt.Errorf("no authorize URL for the OAuth login of %q: the discovery document of %s has no authorization_endpoint", r.Secret, r.OAuth.Issuer),
			fmt.Sprintf("set oauth.authorize_url in the inject rule for %q", r.Secret))
	}
	store := e.keychain()
	csName := secretsource.ClientSecretName(r.Secret)
	var cs tokenstore.Secret
	if clientSecret {
		if cs, err = readSecret(ctx, e, fmt.Sprintf("Client secret of the OAuth app for %q (input hidden): ", r.Secret)); err != nil {
			return inputError(p, r.Secret, err, stdinIsTerminal(e))
		}
	} else if cs, err = store.Get(ctx, p.Name, csName); err != nil && !errors.Is(err, tokenstore.ErrNotFound) {
		return keychainError(err)
	}
	tok, err := oauth.LoginWithBrowser(ctx, oauth.LoginConfig{
		AuthorizeURL: authorizeURL,
		TokenURL:     tokenURL,
		ClientID:     r.OAuth.ClientID,
		ClientSecret: cs,
		Scopes:       r.OAuth.Scopes,
		RedirectURL:  r.OAuth.RedirectURL,
		OpenURL:      open,
		Out:          e.stderr,
		HTTPClient:   client,
	})
	if err != nil {
		var hints []string
		login := p.Command("login", r.Secret)
		switch {
		case errors.Is(err, oauth.ErrLoginTimeout):
			hints = append(hints, fmt.Sprintf("run %q again; with --no-browser, open the printed URL yourself", login))
		case errors.Is(err, oauth.ErrClientRejected) && clientSecret:
			err = fmt.Errorf("the token endpoint of %q refused client ID %s with the client secret given, which was not stored: %w", r.Secret, printable(r.OAuth.ClientID), err)
			hints = append(hints, fmt.Sprintf("if the OAuth app is public (it has no client secret and logs in with PKCE alone), run %q without --client-secret", login),
				fmt.Sprintf("otherwise copy the client secret from the app's settings and run %q --client-secret again", login))
		case errors.Is(err, oauth.ErrClientRejected) && cs != "":
			err = fmt.Errorf("the token endpoint of %q refused client ID %s with the client secret stored for it (%s): %w", r.Secret, printable(r.OAuth.ClientID), account(p.Name, csName), err)
			hints = append(hints, fmt.Sprintf("if the app's client secret changed, run %q --client-secret", login),
				fmt.Sprintf("if the OAuth app is public (no client secret), remove the stored one with %q, then run %q", p.Command("logout", r.Secret), login))
		case errors.Is(err, oauth.ErrClientRejected):
			hints = append(hints, fmt.Sprintf("if the OAuth app has a client secret, run %q --client-secret", login))
		}
		return withHints(err, hints...)
	}
	if clientSecret {
		if err := store.Set(ctx, p.Name, csName, cs); err != nil {
			return keychainError(err)
		}
		writef(e.stdout, "Stored the client secret for %q in the keychain (%s).\n", r.Secret, account(p.Name, csName))
	}
	if tok.RefreshToken == "" {
		return withHints(fmt.Errorf("the token endpoint of %q returned no refresh token, so the login cannot last", r.Secret),
			"check that the OAuth app may use refresh tokens (some providers want a scope such as offline_access)")
	}
	name := secretsource.RefreshTokenName(r.Secret)
	if err := store.Set(ctx, p.Name, name, tokenstore.Secret(tok.RefreshToken)); err != nil {
		return keychainError(err)
	}
	writef(e.stdout, "Logged in to %q: stored its refresh token for profile %q in the keychain (%s); serve mints its access tokens.\n",
		r.Secret, p.Name, account(p.Name, name))
	return nil
}

var _ proxy.SecretRefresher = (*secretsource.Set)(nil)
