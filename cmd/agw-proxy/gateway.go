package main

// How a resolved profile reaches the Gateway: the HTTP client, the Gateway's
// token source, the secrets bound to the profile, and proxy.Options. serve
// and demo use all of it; login, status and doctor use the pieces.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"

	"github.com/agw-proxy/agw-proxy/internal/httpguard"
	"github.com/agw-proxy/agw-proxy/internal/profile"
	"github.com/agw-proxy/agw-proxy/proxy"
	"github.com/agw-proxy/agw-proxy/tokenstore"
)

// proxyOptions turns the profile into proxy.Options (all but Logger).
// secrets is read under the profile's name; scrub learns every access token.
func proxyOptions(e *env, p *profile.Profile, secrets tokenstore.Secrets, client *http.Client, scrub *proxy.Scrubber) proxy.Options {
	return proxy.Options{
		GatewayURL:     p.GatewayURL,
		HTTPClient:     methodOf(p).gatewayClient(e, p, client, scrub.Add),
		OAuthHandler:   methodOf(p).handler(p, secrets, client, scrub.Add),
		Rules:          proxyRules(p),
		Secrets:        profileSecrets{secrets: secrets, profile: p.Name},
		Scrubber:       scrub,
		Advise:         advice(p),
		CallTimeout:    p.CallTimeout,
		ConnectTimeout: p.ConnectTimeout,
		Version:        currentBuild().Version,
		Protocol:       p.Protocol,
		ConsentTimeout: p.ConsentTimeout,
	}
}

// advice is proxy.Options.Advise for the profile: the exact commands that
// reach it, with --config, --profile and its other profile flags.
func advice(p *profile.Profile) func(proxy.Remedy) string {
	return func(r proxy.Remedy) string {
		switch r.Kind {
		case proxy.StoreSecret:
			return "run `" + p.Command("login", r.Secret) + "`"
		case proxy.GatewayLogin:
			if credentialOf(p) == nil {
				// aws_iam: the AWS credentials' error says what to do.
				return ""
			}
			return "run `" + p.Command("login", "") + "`"
		case proxy.CheckSetup:
			return "run `" + p.Command("doctor", "") + "`"
		case proxy.GiveConsent:
			return "run `" + consentCommand(p, r.Target) + "`"
		}
		return ""
	}
}

// proxyRules returns the profile's inject rules for proxy.Options.
func proxyRules(p *profile.Profile) []proxy.Rule {
	var out []proxy.Rule
	for _, r := range p.Inject {
		out = append(out, proxy.Rule{Argument: r.Argument, Secret: r.Secret, Format: r.Format, Tools: r.Tools, Via: r.Via, Source: r.Source})
	}
	return out
}

// httpClient returns the client for the Gateway, the token endpoint and
// discovery: proxies from HTTPS_PROXY/NO_PROXY, enough idle connections for
// many calls in flight, no overall timeout (it would cut long event streams;
// calls are bounded by their own contexts), and the system roots plus
// ca_file. It is guarded (internal/httpguard): no redirect of a POST or to
// another origin is followed, so a tool call, the client secret or a token
// never goes elsewhere, and every response body is bounded.
func httpClient(p *profile.Profile) (*http.Client, error) {
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
	if p.CAFile == "" {
		return client, nil
	}
	pem, err := os.ReadFile(p.CAFile)
	if err != nil {
		return nil, p.Problem("ca_file", nil, "cannot read %s: %v", p.CAFile, unwrapPathError(err))
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, p.Problem("ca_file", []string{"the file must hold PEM certificates (-----BEGIN CERTIFICATE-----)"},
			"no certificates found in %s", p.CAFile)
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
	if err == nil && v != "" {
		// Too short to scrub without mangling every result: refused, not
		// scrubbed (an error that asks for a login).
		if err := tokenstore.CheckSize(name, v); err != nil {
			return "", err
		}
	}
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
