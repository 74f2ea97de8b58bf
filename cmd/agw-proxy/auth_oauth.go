package main

// What the two OAuth auth methods (client_credentials, authorization_code)
// share: Gateway tokens from a Cognito token endpoint, found directly or
// through OIDC discovery, and cached by an oauth.TokenCache.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"golang.org/x/oauth2"

	"github.com/agw-proxy/agw-proxy/internal/httpguard"
	"github.com/agw-proxy/agw-proxy/internal/profile"
	"github.com/agw-proxy/agw-proxy/oauth"
	"github.com/agw-proxy/agw-proxy/tokenstore"
)

// An oauthMethod is an auth method whose Gateway tokens come from an OAuth
// token endpoint: client_credentials and authorization_code are two values
// of it, which differ in their credential, their grant and their login.
type oauthMethod struct {
	typ  string
	cred gatewayCredential
	// checkMore returns what a profile needs beyond checkOAuth; may be nil.
	checkMore func(p *profile.Profile) []error
	// newCache is the grant's token cache.
	newCache func(oauth.Config) *oauth.TokenCache
	// logIn stores the credential after proving it works.
	logIn func(ctx context.Context, m *oauthMethod, e *env, p *profile.Profile, noBrowser bool) error
}

func (m *oauthMethod) name() string                   { return m.typ }
func (m *oauthMethod) credential() *gatewayCredential { c := m.cred; return &c }
func (m *oauthMethod) describe(p *profile.Profile) string {
	d := p.Auth.Type + ", client ID " + p.Auth.ClientID
	if p.Auth.Token == profile.TokenID {
		d += ", sends the ID token"
	}
	return d
}

func (m *oauthMethod) gatewayClient(_ *env, _ *profile.Profile, client *http.Client, _ func(tokenstore.Secret)) *http.Client {
	return client
}

func (m *oauthMethod) check(p *profile.Profile) []error {
	errs := checkOAuth(p)
	if m.checkMore != nil {
		errs = append(errs, m.checkMore(p)...)
	}
	return errs
}

func (m *oauthMethod) login(ctx context.Context, e *env, p *profile.Profile, noBrowser bool) error {
	return m.logIn(ctx, m, e, p, noBrowser)
}

// cache returns the grant's token cache at tokenURL; the credential is read
// from secrets under the profile's name at every fetch.
func (m *oauthMethod) cache(p *profile.Profile, tokenURL string, secrets tokenstore.Secrets, client *http.Client) *oauth.TokenCache {
	return m.newCache(oauth.Config{
		TokenURL:   tokenURL,
		ClientID:   p.Auth.ClientID,
		Scopes:     p.Auth.Scopes,
		Secrets:    secrets,
		Profile:    p.Name,
		HTTPClient: client,
		IDToken:    p.Auth.Token == profile.TokenID,
	})
}

// checkOAuth returns what every OAuth profile needs: the app client and a
// way to the token endpoint.
func checkOAuth(p *profile.Profile) []error {
	var errs []error
	if p.Auth.ClientID == "" {
		errs = append(errs, p.Problem("auth.client_id", p.MissingHints("auth.client_id", "--client-id ID"),
			"%s needs a client ID (the Cognito app client)", authTypeOf(p)))
	}
	if p.Auth.Token != "" && p.Auth.Type != profile.AuthAuthorizationCode {
		errs = append(errs, p.Problem("auth.token", []string{"only a browser login (authorization_code) gets an ID token from Cognito; remove auth.token"},
			"auth.token applies to auth type authorization_code, not %s", p.Auth.Type))
	}
	if p.Auth.TokenURL == "" && p.Auth.DiscoveryURL == "" {
		errs = append(errs, p.Problem("auth.token_url", p.MissingHints("auth.token_url (or auth.discovery_url)", "--token-url URL (or --discovery-url URL)"),
			"%s needs a token URL or a discovery URL", authTypeOf(p)))
	}
	return errs
}

// authTypeOf names the profile's auth type for messages, with the setting
// that implied it when auth.type was not set: a user who set only a client
// ID learns why a token URL is wanted.
func authTypeOf(p *profile.Profile) string {
	if by := p.AuthImpliedBy(); by != "" {
		return fmt.Sprintf("auth type %s (implied by %s)", p.Auth.Type, by)
	}
	return "auth type " + p.Auth.Type
}

// handler returns the grant's OAuth handler for the proxy. With a
// discovery URL and no token URL, discovery happens at the first token
// fetch, so that serve answers the client's initialize without waiting for
// the network.
func (m *oauthMethod) handler(p *profile.Profile, secrets tokenstore.Secrets, client *http.Client, onToken func(tokenstore.Secret)) auth.OAuthHandler {
	if p.Auth.TokenURL != "" {
		ga := m.cache(p, p.Auth.TokenURL, secrets, client)
		ga.OnToken = onToken
		return ga
	}
	return &discoveredAuth{build: func(ctx context.Context) (*oauth.TokenCache, error) {
		tokenURL, _, err := endpoints(ctx, p, client)
		if err != nil {
			return nil, err
		}
		ga := m.cache(p, tokenURL, secrets, client)
		ga.OnToken = onToken
		return ga, nil
	}}
}

// token gets an access token with the stored credential.
func (m *oauthMethod) token(ctx context.Context, p *profile.Profile, secrets tokenstore.Secrets, client *http.Client) (*oauth2.Token, error) {
	tokenURL, err := tokenURLFor(ctx, p, client)
	if err != nil {
		return nil, err
	}
	return m.cache(p, tokenURL, secrets, client).Token(ctx)
}

// endpoints returns the token and authorize URLs: as configured, with the
// missing ones read from the OIDC discovery document (one request, only when
// something is missing and a discovery URL is set).
func endpoints(ctx context.Context, p *profile.Profile, client *http.Client) (tokenURL, authorizeURL string, err error) {
	tokenURL, authorizeURL = p.Auth.TokenURL, p.Auth.AuthorizeURL
	if (tokenURL != "" && authorizeURL != "") || p.Auth.DiscoveryURL == "" {
		return tokenURL, authorizeURL, nil
	}
	return discoverEndpoints(ctx, client, p.Auth.DiscoveryURL, tokenURL, authorizeURL,
		fmt.Sprintf("check auth.discovery_url (%s), or set auth.token_url and auth.authorize_url directly", p.Origin("auth.discovery_url")))
}

// discoverEndpoints fills tokenURL and, when the document has one,
// authorizeURL, where they are empty, from the OIDC discovery document at
// doc. hint names the settings to check, for a document that cannot be
// read or gives an endpoint that is not https.
func discoverEndpoints(ctx context.Context, client *http.Client, doc, tokenURL, authorizeURL, hint string) (string, string, error) {
	ctx, cancel := context.WithTimeout(ctx, discoveryTimeout)
	defer cancel()
	d, err := oauth.Discover(ctx, client, doc)
	if err != nil {
		return "", "", withHints(err, hint)
	}
	if tokenURL == "" {
		if err := checkDiscovered(doc, "token_endpoint", d.TokenURL, hint); err != nil {
			return "", "", err
		}
		tokenURL = d.TokenURL
	}
	if authorizeURL == "" && d.AuthorizeURL != "" {
		if err := checkDiscovered(doc, "authorization_endpoint", d.AuthorizeURL, hint); err != nil {
			return "", "", err
		}
		authorizeURL = d.AuthorizeURL
	}
	return tokenURL, authorizeURL, nil
}

// discoveryHint is checkDiscovered's hint for a Gateway profile.
const discoveryHint = "check auth.discovery_url, or set auth.token_url and auth.authorize_url directly"

// checkDiscovered refuses an endpoint from the discovery document unless it
// is https:// (or http:// on a loopback host), the rule for configured URLs:
// the client secret and tokens are sent there.
func checkDiscovered(discoveryURL, field, raw, hint string) error {
	u, err := url.Parse(raw)
	if err == nil && u.Host != "" && u.User == nil &&
		(u.Scheme == "https" || u.Scheme == "http" && profile.IsLoopback(u.Hostname())) {
		return nil
	}
	return withHints(fmt.Errorf("the discovery document at %s gives %s %q: an https:// URL is required", discoveryURL, field, raw), hint)
}

// discoveredAuth is a Gateway OAuth handler whose token URL comes from OIDC
// discovery, done at the first use and retried at the next use after a
// failure.
type discoveredAuth struct {
	build func(context.Context) (*oauth.TokenCache, error)

	mu sync.Mutex
	ga *oauth.TokenCache
}

var _ auth.OAuthHandler = (*discoveredAuth)(nil)

func (d *discoveredAuth) get(ctx context.Context) (*oauth.TokenCache, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ga == nil {
		ga, err := d.build(ctx)
		if err != nil {
			return nil, err
		}
		d.ga = ga
	}
	return d.ga, nil
}

// TokenSource implements auth.OAuthHandler.
func (d *discoveredAuth) TokenSource(ctx context.Context) (oauth2.TokenSource, error) {
	ga, err := d.get(ctx)
	if err != nil {
		return nil, err
	}
	return ga.TokenSource(ctx)
}

// Authorize implements auth.OAuthHandler.
func (d *discoveredAuth) Authorize(ctx context.Context, req *http.Request, resp *http.Response) error {
	ga, err := d.get(ctx)
	if err != nil {
		resp.Body.Close()
		return err
	}
	return ga.Authorize(ctx, req, resp)
}

// discoveryTimeout bounds one fetch of the OIDC discovery document.
const discoveryTimeout = 30 * time.Second

// tokenURLFor returns the profile's token endpoint, from discovery when
// only a discovery URL is set.
func tokenURLFor(ctx context.Context, p *profile.Profile, client *http.Client) (string, error) {
	if p.Auth.TokenURL != "" {
		return p.Auth.TokenURL, nil
	}
	u, _, err := endpoints(ctx, p, client)
	return u, err
}

// doctor runs the checks of an OAuth method: discovery (when a
// discovery URL is set), then a token.
func (m *oauthMethod) doctor(ctx context.Context, d *doctor, p *profile.Profile, client *http.Client, credOK bool) (auth.OAuthHandler, time.Time, bool) {
	tokenURL, discoveryOK := d.checkDiscovery(ctx, p, client, p.ConnectTimeout)
	switch {
	case !credOK:
		d.skip("token", fmt.Sprintf("no Gateway credential (secret %q)", m.credential().secret))
	case tokenURL == "" && !discoveryOK:
		d.skip("token", "no token endpoint: discovery failed")
	default:
		if ga, issuedAt := d.checkToken(ctx, m, p, client, tokenURL, p.ConnectTimeout); ga != nil {
			return ga, issuedAt, true
		}
	}
	return nil, time.Time{}, false
}

// checkDiscovery fetches the discovery document when one is configured. It
// returns the token endpoint to use ("" when none is known) and whether
// discovery worked or was not needed.
func (d *doctor) checkDiscovery(ctx context.Context, p *profile.Profile, client *http.Client, timeout time.Duration) (tokenURL string, ok bool) {
	tokenURL = p.Auth.TokenURL
	if p.Auth.DiscoveryURL == "" {
		return tokenURL, true
	}
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	doc, err := oauth.Discover(dctx, client, p.Auth.DiscoveryURL)
	if err == nil {
		err = checkDiscovered(p.Auth.DiscoveryURL, "token_endpoint", doc.TokenURL, discoveryHint)
	}
	if err == nil && doc.AuthorizeURL != "" {
		err = checkDiscovered(p.Auth.DiscoveryURL, "authorization_endpoint", doc.AuthorizeURL, discoveryHint)
	}
	if err != nil {
		msg, hints := explainNetError(err, p, nil, timeout)
		hints = append(hints, fmt.Sprintf("check auth.discovery_url (%s): Cognito's is https://cognito-idp.REGION.amazonaws.com/POOL_ID/.well-known/openid-configuration", p.Origin("auth.discovery_url")))
		d.fail(false, "discovery: "+msg, hints...)
		return tokenURL, false
	}
	if tokenURL == "" {
		tokenURL = doc.TokenURL
	}
	d.pass("discovery: issuer %s, token endpoint %s", doc.Issuer, doc.TokenURL)
	return tokenURL, true
}

// checkToken gets a Gateway access token the way serve does, and reports its
// expiry and the clock skew between this machine and the token's issuer.
func (d *doctor) checkToken(ctx context.Context, m *oauthMethod, p *profile.Profile, client *http.Client, tokenURL string, timeout time.Duration) (*oauth.TokenCache, time.Time) {
	secrets := &scrubbedSecrets{Secrets: d.store, scrub: d.scrub}
	ga := m.cache(p, tokenURL, secrets, client)
	ga.OnToken = d.scrub.Add
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tok, err := ga.Token(tctx)
	if err != nil {
		d.tokenFailed(m, p, err, timeout)
		return nil, time.Time{}
	}
	// iat has whole seconds: compare whole seconds.
	received := time.Now().Truncate(time.Second)
	claims := jwtClaims(tok.AccessToken)
	line := "token: obtained from " + tokenURL
	if !tok.Expiry.IsZero() {
		line += fmt.Sprintf(", valid for %s (until %s)", roundDuration(time.Until(tok.Expiry)), tok.Expiry.UTC().Format(time.RFC3339))
	}
	var issuedAt time.Time
	if claims.IssuedAt > 0 {
		issuedAt = time.Unix(claims.IssuedAt, 0)
		line += "; " + describeSkew(received.Sub(issuedAt), "the token's issue time (iat)")
	}
	d.pass("%s", line)
	if skew := received.Sub(issuedAt); !issuedAt.IsZero() && skew.Abs() > maxSkew {
		d.note("agw-proxy copes (it times tokens by expires_in), but TLS certificate checks and the browser login need a correct clock: sync it (NTP)")
	}
	return ga, issuedAt
}

// maxSkew is the clock difference beyond which doctor adds a note.
const maxSkew = time.Minute

// tokenFailed explains a failed token fetch.
func (d *doctor) tokenFailed(m *oauthMethod, p *profile.Profile, err error, timeout time.Duration) {
	cred := m.credential()
	envVar := tokenstore.EnvVar(cred.secret)
	inEnv := cred.envHint && strings.TrimSpace(d.e.getenv(envVar)) != ""
	switch {
	case errors.Is(err, tokenstore.ErrLoginNeeded):
		if inEnv {
			d.fail(false, "token: the token endpoint rejected the client credentials: "+err.Error(),
				fmt.Sprintf("%s is set and wins over the keychain: correct it, or unset it to use the stored secret", envVar),
				fmt.Sprintf("check auth.client_id (%s): the secret must belong to app client %s", p.Origin("auth.client_id"), p.Auth.ClientID))
			return
		}
		d.fail(true, "token: the token endpoint rejected the stored credential: "+err.Error(),
			fmt.Sprintf("run %q", p.Command("login", "")),
			fmt.Sprintf("check auth.client_id (%s): the credential must belong to app client %s", p.Origin("auth.client_id"), p.Auth.ClientID))
	case errors.Is(err, oauth.ErrTokenRejected) && !errors.As(err, new(*httpguard.RedirectError)):
		d.fail(false, "token: the token endpoint refused the request: "+err.Error(),
			fmt.Sprintf("check auth.scopes (%s) and auth.client_id (%s): the app client must allow the %s grant and those scopes",
				p.Origin("auth.scopes"), p.Origin("auth.client_id"), p.Auth.Type))
	default:
		msg, hints := explainNetError(err, p, nil, timeout)
		hints = append(hints, fmt.Sprintf("check auth.token_url (%s): Cognito's is https://DOMAIN.auth.REGION.amazoncognito.com/oauth2/token", p.Origin("auth.token_url")))
		d.fail(false, "token: "+msg, hints...)
	}
}
