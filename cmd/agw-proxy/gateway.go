package main

// How a resolved profile reaches the Gateway: the HTTP client, the Gateway's
// token source, the secrets bound to the profile, and proxy.Options. serve
// and demo use all of it; login, status and doctor use the pieces.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"golang.org/x/oauth2"

	"github.com/agw-proxy/agw-proxy/internal/httpguard"
	"github.com/agw-proxy/agw-proxy/oauth"
	"github.com/agw-proxy/agw-proxy/proxy"
	"github.com/agw-proxy/agw-proxy/tokenstore"
)

// discoveryTimeout bounds one fetch of the OIDC discovery document.
const discoveryTimeout = 30 * time.Second

// proxyOptions turns the profile into proxy.Options (all but Logger).
// secrets is read under the profile's name; scrub learns every access token.
func (p *profile) proxyOptions(secrets tokenstore.Secrets, client *http.Client, scrub *proxy.Scrubber) proxy.Options {
	return proxy.Options{
		GatewayURL:     p.gatewayURL,
		HTTPClient:     client,
		OAuthHandler:   p.gatewayAuth(secrets, client, scrub.Add),
		Rules:          p.rules(),
		Secrets:        profileSecrets{secrets: secrets, profile: p.name},
		Scrubber:       scrub,
		LoginCommand:   p.loginCommand,
		CallTimeout:    p.callTimeout,
		ConnectTimeout: p.connectTimeout,
		Version:        currentBuild().Version,
	}
}

// rules returns the inject rules for proxy.Options.
func (p *profile) rules() []proxy.Rule {
	var out []proxy.Rule
	for _, r := range p.inject {
		out = append(out, proxy.Rule{Argument: r.argument, Secret: r.secret, Format: r.format, Tools: r.tools})
	}
	return out
}

// gatewayAuth returns the Gateway's OAuth handler for the profile's auth
// type, or nil (a true nil interface) for auth type none. onToken, if not
// nil, sees every new access token. With a discovery URL and no token URL,
// discovery happens at the first token fetch, so that serve answers the
// client's initialize without waiting for the network.
func (p *profile) gatewayAuth(secrets tokenstore.Secrets, client *http.Client, onToken func(tokenstore.Secret)) auth.OAuthHandler {
	if p.auth.typ == authNone {
		return nil
	}
	if p.auth.tokenURL != "" {
		ga := p.newGatewayAuth(p.auth.tokenURL, secrets, client)
		ga.OnToken = onToken
		return ga
	}
	return &discoveredAuth{build: func(ctx context.Context) (*oauth.TokenCache, error) {
		tokenURL, _, err := p.endpoints(ctx, client)
		if err != nil {
			return nil, err
		}
		ga := p.newGatewayAuth(tokenURL, secrets, client)
		ga.OnToken = onToken
		return ga, nil
	}}
}

// newGatewayAuth returns the token source for the profile's auth type
// (client_credentials or authorization_code) at tokenURL. The credential is
// read from secrets under the profile's name at every fetch.
func (p *profile) newGatewayAuth(tokenURL string, secrets tokenstore.Secrets, client *http.Client) *oauth.TokenCache {
	if p.auth.typ == authAuthorizationCode {
		return oauth.NewAuthorizationCode(oauth.AuthorizationCodeConfig{
			TokenURL:   tokenURL,
			ClientID:   p.auth.clientID,
			Scopes:     p.auth.scopes,
			Secrets:    secrets,
			Profile:    p.name,
			HTTPClient: client,
		})
	}
	return oauth.NewClientCredentials(oauth.ClientCredentialsConfig{
		TokenURL:   tokenURL,
		ClientID:   p.auth.clientID,
		Scopes:     p.auth.scopes,
		Secrets:    secrets,
		Profile:    p.name,
		HTTPClient: client,
	})
}

// endpoints returns the token and authorize URLs: as configured, with the
// missing ones read from the OIDC discovery document (one request, only when
// something is missing and a discovery URL is set).
func (p *profile) endpoints(ctx context.Context, client *http.Client) (tokenURL, authorizeURL string, err error) {
	tokenURL, authorizeURL = p.auth.tokenURL, p.auth.authorizeURL
	if (tokenURL != "" && authorizeURL != "") || p.auth.discoveryURL == "" {
		return tokenURL, authorizeURL, nil
	}
	ctx, cancel := context.WithTimeout(ctx, discoveryTimeout)
	defer cancel()
	d, err := oauth.Discover(ctx, client, p.auth.discoveryURL)
	if err != nil {
		return "", "", withHints(err, fmt.Sprintf("check auth.discovery_url (%s), or set auth.token_url directly", p.origin("auth.discovery_url")))
	}
	if tokenURL == "" {
		if err := checkDiscovered(p.auth.discoveryURL, "token_endpoint", d.TokenURL); err != nil {
			return "", "", err
		}
		tokenURL = d.TokenURL
	}
	if authorizeURL == "" && d.AuthorizeURL != "" {
		if err := checkDiscovered(p.auth.discoveryURL, "authorization_endpoint", d.AuthorizeURL); err != nil {
			return "", "", err
		}
		authorizeURL = d.AuthorizeURL
	}
	return tokenURL, authorizeURL, nil
}

// checkDiscovered refuses an endpoint from the discovery document unless it
// is https:// (or http:// on a loopback host), the rule for configured URLs:
// the client secret and tokens are sent there.
func checkDiscovered(discoveryURL, field, raw string) error {
	u, err := url.Parse(raw)
	if err == nil && u.Host != "" && u.User == nil &&
		(u.Scheme == "https" || u.Scheme == "http" && isLoopback(u.Hostname())) {
		return nil
	}
	return withHints(fmt.Errorf("the discovery document at %s gives %s %q: an https:// URL is required", discoveryURL, field, raw),
		"check auth.discovery_url, or set auth.token_url and auth.authorize_url directly")
}

// origin says where a setting came from, for messages: "config.yaml:7:5",
// "--token-url", or "not set".
func (p *profile) origin(key string) string {
	if at := p.where[key]; at != "" {
		return at
	}
	return "not set"
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

// httpClient returns the client for the Gateway, the token endpoint and
// discovery: proxies from HTTPS_PROXY/NO_PROXY, enough idle connections for
// many calls in flight, no overall timeout (it would cut long event streams;
// calls are bounded by their own contexts), and the system roots plus
// ca_file. It is guarded (internal/httpguard): no redirect of a POST or to
// another origin is followed, so a tool call, the client secret or a token
// never goes elsewhere, and every response body is bounded.
func (p *profile) httpClient() (*http.Client, error) {
	client := proxy.DefaultHTTPClient()
	t, ok := httpguard.Base(client).(*http.Transport)
	if !ok {
		t = http.DefaultTransport.(*http.Transport).Clone()
		client = httpguard.Client(&http.Client{Transport: t})
	}
	t.Proxy = http.ProxyFromEnvironment
	t.MaxIdleConnsPerHost = max(t.MaxIdleConnsPerHost, 64)
	t.MaxIdleConns = max(t.MaxIdleConns, t.MaxIdleConnsPerHost)
	client.Timeout = 0
	if p.caFile == "" {
		return client, nil
	}
	pem, err := os.ReadFile(p.caFile)
	if err != nil {
		return nil, p.problem("ca_file", nil, "cannot read %s: %v", p.caFile, unwrapPathError(err))
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, p.problem("ca_file", []string{"the file must hold PEM certificates (-----BEGIN CERTIFICATE-----)"},
			"no certificates found in %s", p.caFile)
	}
	t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return client, nil
}

// profileSecrets binds a profile to tokenstore secrets: the proxy's
// SecretSource.
type profileSecrets struct {
	secrets tokenstore.Secrets
	profile string
}

// Secret implements proxy.SecretSource.
func (s profileSecrets) Secret(ctx context.Context, name string) (tokenstore.Secret, error) {
	return s.secrets.Get(ctx, s.profile, name)
}

// scrubbedSecrets adds every secret it reads to the scrubber before anyone
// uses it, so the Gateway's client secret and refresh token are scrubbed like
// the injected secrets, including values changed by a later login.
type scrubbedSecrets struct {
	tokenstore.Secrets
	scrub *proxy.Scrubber
}

// Get implements tokenstore.Secrets.
func (s *scrubbedSecrets) Get(ctx context.Context, profile, name string) (tokenstore.Secret, error) {
	v, err := s.Secrets.Get(ctx, profile, name)
	if err == nil {
		s.scrub.Add(v)
	}
	return v, err
}

// Set implements tokenstore.Secrets; a rotated refresh token is scrubbed too.
func (s *scrubbedSecrets) Set(ctx context.Context, profile, name string, value tokenstore.Secret) error {
	s.scrub.Add(value)
	return s.Secrets.Set(ctx, profile, name, value)
}
