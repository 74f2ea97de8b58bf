package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/spf13/pflag"

	"github.com/agw-proxy/agw-proxy/internal/httpguard"
	"github.com/agw-proxy/agw-proxy/oauth"
	"github.com/agw-proxy/agw-proxy/proxy"
	"github.com/agw-proxy/agw-proxy/tokenstore"
)

func init() {
	register(command{name: "doctor", summary: "Check the whole setup, with a hint for each problem", run: runDoctor})
}

const doctorUsage = `Usage:
    agw-proxy doctor [options]

Check everything serve needs, in order, one line per check: ✓ when it
passed, ✗ followed by hints when it failed. A failure does not stop the
checks; a check that needs a failed one says it was skipped and why. No
secret, token or part of one is ever printed.

Checks:
    config        the config file and the profile are found and valid
    keychain      the OS keychain answers (within 5s); not needed when every
                  secret of the profile is set in the environment
    secret        each secret of the profile is present: keychain or environment
    discovery     the OpenID discovery document (when a discovery URL is set)
    token         a Gateway access token can be had: its expiry, clock skew
    proxy         the proxy in effect for the Gateway host (HTTPS_PROXY, NO_PROXY)
    connection    the Gateway host answers: TLS version and certificate
    initialize    MCP initialize with the Gateway: protocol version, server
    tools/list    the Gateway's tools
    inject        each inject rule fills at least one tool; else the near misses

Each network step is bounded by the connect timeout (--connect-timeout).

Exit status: 0 when every check passed; 4 when the only problems are
secrets a login fixes (missing from the keychain, or rejected); 1 otherwise;
2 for a usage error.

Options:
    -h, --help             Show this help

` + profileFlagsUsage + `
Examples:
    $ agw-proxy doctor
    $ agw-proxy doctor --profile work --connect-timeout 10s

    Behind a corporate proxy that inspects TLS:
    $ HTTPS_PROXY=http://proxy.example.com:3128 agw-proxy doctor --ca-file ~/corp-root-ca.pem
`

// Marks that begin each check line.
const (
	markPass = "✓"
	markFail = "✗"
)

// doctor runs the checks and keeps the score.
type doctor struct {
	e  *env
	pf *profileFlags
	w  io.Writer // stdout, through scrub
	// scrub knows every secret and token the checks read, in case one
	// ever shows up in an error text.
	scrub *proxy.Scrubber

	passed, failed, skipped int
	// needsMoreThanLogin counts failures that `agw-proxy login` does not fix.
	needsMoreThanLogin int
}

// pass prints a passed check.
func (d *doctor) pass(format string, a ...any) {
	d.passed++
	d.print(markPass+" "+fmt.Sprintf(format, a...), nil)
}

// note prints an indented remark under the previous line.
func (d *doctor) note(format string, a ...any) {
	d.print("    note: "+fmt.Sprintf(format, a...), nil)
}

// fail prints a failed check and its hints. loginFixes says that running
// agw-proxy login (as a hint says) is all it takes.
func (d *doctor) fail(loginFixes bool, msg string, hints ...string) {
	d.failed++
	if !loginFixes {
		d.needsMoreThanLogin++
	}
	d.print(markFail+" "+msg, hints)
}

// skip prints a check that could not run because an earlier one failed.
func (d *doctor) skip(what, why string) {
	d.skipped++
	d.print(fmt.Sprintf("%s %s: skipped (%s)", markFail, what, why), nil)
}

// print writes a line and its hints in one Write, so the scrubber sees
// whole lines. Both are escaped (printable): they carry what the Gateway,
// Cognito and the discovery document said (server info, tool names, error
// texts), and a newline in those must not forge a line. Scrubbing comes
// first, so that escaping cannot hide a secret from the scrubber.
func (d *doctor) print(line string, hints []string) {
	var b strings.Builder
	b.WriteString(printable(d.scrub.String(line)))
	b.WriteByte('\n')
	for _, h := range hints {
		b.WriteString("    hint: ")
		b.WriteString(printable(d.scrub.String(h)))
		b.WriteByte('\n')
	}
	_, _ = io.WriteString(d.w, b.String())
}

// exitCode: 0 when all passed, 4 when a login fixes every failure, else 1.
func (d *doctor) exitCode() int {
	switch {
	case d.failed == 0 && d.skipped == 0:
		return exitOK
	case d.needsMoreThanLogin == 0 && d.failed > 0:
		return exitLoginNeeded
	}
	return exitError
}

func (d *doctor) summary() {
	total := d.passed + d.failed + d.skipped
	switch {
	case d.failed == 0 && d.skipped == 0:
		fmt.Fprintf(d.w, "\nAll %d checks passed.\n", total)
	case d.skipped == 0:
		fmt.Fprintf(d.w, "\n%d of %d checks failed.\n", d.failed, total)
	default:
		fmt.Fprintf(d.w, "\n%d of %d checks failed, %d skipped.\n", d.failed, total, d.skipped)
	}
}

func runDoctor(ctx context.Context, e *env, args []string) int {
	fs := pflag.NewFlagSet("doctor", pflag.ContinueOnError)
	pf := addProfileFlags(fs)
	if code, done := parseFlags(e, fs, doctorUsage, args); done {
		return code
	}
	if fs.NArg() > 0 {
		return usageErrorf(e, "doctor", "takes no arguments, got %q", fs.Arg(0))
	}
	scrub := proxy.NewScrubber()
	d := &doctor{e: e, pf: pf, w: scrub.Writer(e.stdout), scrub: scrub}
	d.run(ctx)
	d.summary()
	return d.exitCode()
}

// run performs the checks in order.
func (d *doctor) run(ctx context.Context) {
	p, client, ok := d.checkConfig()
	if !ok {
		d.skip("other checks", "no valid profile")
		return
	}
	timeout := p.connectTimeout
	store := &tokenstore.Env{Base: d.e.keychain(), Getenv: d.e.getenv}
	credOK := d.checkSecrets(ctx, p, store)

	tokenURL, discoveryOK := d.checkDiscovery(ctx, p, client, timeout)

	var ga *oauth.TokenCache
	var issuedAt time.Time
	switch {
	case p.auth.typ == authNone:
		d.pass("token: not needed (auth type none)")
	case !credOK:
		d.skip("token", fmt.Sprintf("no Gateway credential (secret %q)", p.gatewaySecretName()))
	case tokenURL == "" && !discoveryOK:
		d.skip("token", "no token endpoint: discovery failed")
	default:
		ga, issuedAt = d.checkToken(ctx, p, store, client, tokenURL, timeout)
	}

	proxyURL := d.checkProxy(p, client)
	reachable := d.checkConnection(ctx, p, client, proxyURL, issuedAt, timeout)

	var cs *mcp.ClientSession
	switch {
	case !reachable:
		d.skip("initialize", "the Gateway host is not reachable")
	case p.auth.typ != authNone && ga == nil:
		d.skip("initialize", "no Gateway token")
	default:
		cs = d.checkInitialize(ctx, p, client, ga, proxyURL, timeout)
	}
	if cs == nil {
		d.skip("tools/list", "no MCP session")
		d.skipRules(p, "no tool list")
		return
	}
	defer closeBounded(cs, timeout)
	tools, ok := d.checkTools(ctx, cs, timeout)
	if !ok {
		d.skipRules(p, "no tool list")
		return
	}
	d.checkRules(p, tools)
}

// checkConfig resolves the profile and builds the HTTP client (ca_file).
func (d *doctor) checkConfig() (*profile, *http.Client, bool) {
	p, err := d.pf.resolve(d.e)
	if err == nil {
		err = p.requireGateway()
	}
	var client *http.Client
	if err == nil {
		client, err = p.httpClient()
	}
	if err != nil {
		list := []error{err}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			list = j.Unwrap()
		}
		for _, one := range list {
			var hints []string
			var h hinter
			if errors.As(one, &h) {
				hints = h.Hints()
			}
			d.fail(false, "config: "+one.Error(), hints...)
		}
		return nil, nil, false
	}
	from := "from flags, no config file"
	switch {
	case p.inFile:
		from = "in " + p.configPath
	case p.configPath != "":
		from = "from flags (not in " + p.configPath + ")"
	}
	rules := fmt.Sprintf("%d inject rules", len(p.inject))
	if len(p.inject) == 1 {
		rules = "1 inject rule"
	}
	d.pass("config: profile %q %s; gateway %s, auth %s, %s", p.name, from, p.gatewayURL, p.auth.typ, rules)
	if p.caFile != "" {
		d.note("extra CA certificates from %s", p.caFile)
	}
	return p, client, true
}

// doctorKeychainTimeout bounds each keychain read of doctor, on top of the
// keychain's own timeout (a variable for tests).
var doctorKeychainTimeout = tokenstore.DefaultKeychainTimeout

// neededSecret is a secret the profile uses and what it is for.
type neededSecret struct{ name, role string }

func (p *profile) neededSecrets() []neededSecret {
	var out []neededSecret
	switch p.auth.typ {
	case authClientCredentials:
		out = append(out, neededSecret{clientSecretName, "the Gateway's client secret"})
	case authAuthorizationCode:
		out = append(out, neededSecret{refreshTokenName, "the Gateway login"})
	}
	for _, name := range p.secretNames() {
		out = append(out, neededSecret{name, "injected as " + p.injectArgs(name)})
	}
	return out
}

// checkSecrets checks the keychain (only when a secret must come from it)
// and then each secret. It reports whether the Gateway credential is there
// (true for auth type none).
func (d *doctor) checkSecrets(ctx context.Context, p *profile, store *tokenstore.Env) (credOK bool) {
	needed := p.neededSecrets()
	fromEnv := func(name string) bool { return strings.TrimSpace(d.e.getenv(tokenstore.EnvVar(name))) != "" }
	var probe string
	for _, s := range needed {
		if !fromEnv(s.name) {
			probe = s.name
			break
		}
	}
	var keychainErr error
	switch {
	case len(needed) == 0:
		d.pass("keychain: not needed (the profile uses no secrets)")
	case probe == "":
		d.pass("keychain: not needed (every secret of the profile is set in the environment)")
	default:
		pctx, cancel := context.WithTimeout(ctx, doctorKeychainTimeout)
		v, err := store.Base.Get(pctx, p.name, probe)
		cancel()
		d.scrub.Add(v)
		switch {
		case err == nil || errors.Is(err, tokenstore.ErrNotFound):
			d.pass("keychain: reachable")
		case errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
			keychainErr = fmt.Errorf("%w (no answer within %s)", tokenstore.ErrTimeout, doctorKeychainTimeout)
			d.fail(false, "keychain: not reachable: "+keychainErr.Error(), keychainHints(keychainErr)...)
		default:
			keychainErr = err
			d.fail(false, "keychain: not reachable: "+err.Error(), keychainHints(err)...)
		}
	}

	credOK = p.auth.typ == authNone
	for _, s := range needed {
		what := fmt.Sprintf("secret %q (%s)", s.name, s.role)
		if keychainErr != nil && !fromEnv(s.name) {
			d.skip(what, "the keychain is not reachable")
			continue
		}
		sctx, cancel := context.WithTimeout(ctx, doctorKeychainTimeout)
		v, src, err := store.Lookup(sctx, p.name, s.name)
		cancel()
		d.scrub.Add(v)
		switch {
		case err == nil:
			d.pass("%s: present in the %s", what, src)
			if s.name == p.gatewaySecretName() {
				credOK = true
			}
		case errors.Is(err, tokenstore.ErrNotFound):
			arg := s.name
			if s.name == clientSecretName || s.name == refreshTokenName {
				arg = ""
			}
			hints := []string{fmt.Sprintf("run %q", exactCommand(p, d.pf, "login", arg))}
			if s.name != refreshTokenName {
				hints = append(hints, fmt.Sprintf("or set %s in the environment (CI, containers)", tokenstore.EnvVar(s.name)))
			}
			d.fail(true, what+": missing", hints...)
		default:
			d.fail(false, what+": cannot be read: "+err.Error(), keychainHints(err)...)
		}
	}
	return credOK
}

// checkDiscovery fetches the discovery document when one is configured. It
// returns the token endpoint to use ("" when none is known) and whether
// discovery worked or was not needed.
func (d *doctor) checkDiscovery(ctx context.Context, p *profile, client *http.Client, timeout time.Duration) (tokenURL string, ok bool) {
	tokenURL = p.auth.tokenURL
	if p.auth.typ == authNone || p.auth.discoveryURL == "" {
		return tokenURL, true
	}
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	doc, err := oauth.Discover(dctx, client, p.auth.discoveryURL)
	if err == nil {
		err = checkDiscovered(p.auth.discoveryURL, "token_endpoint", doc.TokenURL)
	}
	if err == nil && doc.AuthorizeURL != "" {
		err = checkDiscovered(p.auth.discoveryURL, "authorization_endpoint", doc.AuthorizeURL)
	}
	if err != nil {
		msg, hints := explainNetError(err, p, nil, timeout)
		hints = append(hints, fmt.Sprintf("check auth.discovery_url (%s): Cognito's is https://cognito-idp.REGION.amazonaws.com/POOL_ID/.well-known/openid-configuration", p.origin("auth.discovery_url")))
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
func (d *doctor) checkToken(ctx context.Context, p *profile, store *tokenstore.Env, client *http.Client, tokenURL string, timeout time.Duration) (*oauth.TokenCache, time.Time) {
	secrets := &scrubbedSecrets{Secrets: store, scrub: d.scrub}
	ga := p.newGatewayAuth(tokenURL, secrets, client)
	ga.OnToken = d.scrub.Add
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tok, err := ga.Token(tctx)
	if err != nil {
		d.tokenFailed(p, err, timeout)
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
func (d *doctor) tokenFailed(p *profile, err error, timeout time.Duration) {
	cred := p.gatewaySecretName()
	envVar := tokenstore.EnvVar(cred)
	inEnv := cred == clientSecretName && strings.TrimSpace(d.e.getenv(envVar)) != ""
	switch {
	case errors.Is(err, tokenstore.ErrLoginNeeded):
		if inEnv {
			d.fail(false, "token: the token endpoint rejected the client credentials: "+err.Error(),
				fmt.Sprintf("%s is set and wins over the keychain: correct it, or unset it to use the stored secret", envVar),
				fmt.Sprintf("check auth.client_id (%s): the secret must belong to app client %s", p.origin("auth.client_id"), p.auth.clientID))
			return
		}
		d.fail(true, "token: the token endpoint rejected the stored credential: "+err.Error(),
			fmt.Sprintf("run %q", exactCommand(p, d.pf, "login", "")),
			fmt.Sprintf("check auth.client_id (%s): the credential must belong to app client %s", p.origin("auth.client_id"), p.auth.clientID))
	case errors.Is(err, oauth.ErrTokenRejected) && !errors.As(err, new(*httpguard.RedirectError)):
		d.fail(false, "token: the token endpoint refused the request: "+err.Error(),
			fmt.Sprintf("check auth.scopes (%s) and auth.client_id (%s): the app client must allow the %s grant and those scopes",
				p.origin("auth.scopes"), p.origin("auth.client_id"), p.auth.typ))
	default:
		msg, hints := explainNetError(err, p, nil, timeout)
		hints = append(hints, fmt.Sprintf("check auth.token_url (%s): Cognito's is https://DOMAIN.auth.REGION.amazoncognito.com/oauth2/token", p.origin("auth.token_url")))
		d.fail(false, "token: "+msg, hints...)
	}
}

// checkProxy reports the proxy in effect for the Gateway host, and returns
// it (nil when the connection is direct).
func (d *doctor) checkProxy(p *profile, client *http.Client) *url.URL {
	u, _ := url.Parse(p.gatewayURL)
	host := u.Hostname()
	var proxyURL *url.URL
	var err error
	if t, ok := httpguard.Base(client).(*http.Transport); ok && t.Proxy != nil {
		proxyURL, err = t.Proxy(&http.Request{Method: http.MethodPost, URL: u, Header: http.Header{}})
	}
	proxyVar, proxyVal := d.getenvAny("HTTPS_PROXY", "https_proxy")
	if u.Scheme == "http" {
		proxyVar, proxyVal = d.getenvAny("HTTP_PROXY", "http_proxy")
	}
	noProxyVar, noProxy := d.getenvAny("NO_PROXY", "no_proxy")
	if err != nil {
		d.fail(false, fmt.Sprintf("proxy: %s is not a usable proxy URL: %v", proxyVar, err),
			fmt.Sprintf("set %s to http://HOST:PORT (or unset it for a direct connection)", proxyVar))
		return nil
	}
	switch {
	case proxyURL != nil:
		why := "from " + proxyVar
		if noProxy != "" {
			why += fmt.Sprintf("; %s=%s does not match %s", noProxyVar, noProxy, host)
		}
		d.pass("proxy: %s for %s (%s)", proxyURL.Redacted(), host, why)
	case isLoopback(host):
		d.pass("proxy: none for %s (loopback hosts never use a proxy)", host)
	case proxyVal != "" && noProxy != "":
		d.pass("proxy: none for %s (%s=%s matches it; %s=%s)", host, noProxyVar, noProxy, proxyVar, redactProxy(proxyVal))
	default:
		d.pass("proxy: none for %s (%s not set)", host, proxyVar)
	}
	return proxyURL
}

// getenvAny returns the first set variable among names, as net/http reads
// them (upper case first), or the first name and "".
func (d *doctor) getenvAny(names ...string) (name, value string) {
	for _, n := range names {
		if v := d.e.getenv(n); v != "" {
			return n, v
		}
	}
	return names[0], ""
}

// redactProxy hides a password in a proxy setting.
func redactProxy(v string) string {
	if u, err := url.Parse(v); err == nil && u.User != nil {
		return u.Redacted()
	}
	return v
}

// checkConnection makes one unauthenticated request to the Gateway URL: any
// HTTP answer shows that DNS, the proxy and TLS work. It reports the TLS
// version and certificate, or explains the failure.
func (d *doctor) checkConnection(ctx context.Context, p *profile, client *http.Client, proxyURL *url.URL, issuedAt time.Time, timeout time.Duration) bool {
	u, _ := url.Parse(p.gatewayURL)
	hostPort := u.Host
	if u.Port() == "" {
		hostPort = net.JoinHostPort(u.Hostname(), map[string]string{"https": "443", "http": "80"}[u.Scheme])
	}
	// Any answer from the Gateway's host will do, so http.Client follows no
	// redirect. The guard under it (httpguard) follows a GET's redirect
	// only within the Gateway's origin and refuses one elsewhere, which
	// explainNetError reports.
	probe := *client
	probe.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	probe = *httpguard.Client(&probe)
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(cctx, http.MethodGet, p.gatewayURL, nil)
	if err != nil {
		d.fail(false, "connection: "+err.Error())
		return false
	}
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := probe.Do(req)
	if err != nil {
		msg, hints := explainNetError(err, p, proxyURL, timeout)
		d.fail(false, fmt.Sprintf("connection to %s: %s", hostPort, msg), hints...)
		return false
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	line := fmt.Sprintf("connection to %s: HTTP %d", hostPort, resp.StatusCode)
	if cs := resp.TLS; cs != nil {
		line += ", " + tls.VersionName(cs.Version)
		if len(cs.PeerCertificates) > 0 {
			c := cs.PeerCertificates[0]
			line += fmt.Sprintf(", certificate for %s issued by %q, valid until %s",
				certNames(c), issuerName(c), c.NotAfter.UTC().Format("2006-01-02"))
		}
	} else {
		line += ", plain http:// (allowed on loopback only)"
	}
	if issuedAt.IsZero() {
		if date, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
			line += "; " + describeSkew(time.Since(date), "the server's Date header")
		}
	}
	d.pass("%s", line)
	return true
}

// certNames lists the names a certificate is for.
func certNames(c *x509.Certificate) string {
	names := slices.Clone(c.DNSNames)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 {
		return c.Subject.CommonName
	}
	if len(names) > 4 {
		names = append(names[:4], fmt.Sprintf("and %d more", len(names)-4))
	}
	return strings.Join(names, ", ")
}

func issuerName(c *x509.Certificate) string {
	if c.Issuer.CommonName != "" {
		return c.Issuer.CommonName
	}
	if len(c.Issuer.Organization) > 0 {
		return c.Issuer.Organization[0]
	}
	return c.Issuer.String()
}

// checkInitialize connects to the Gateway with the go-sdk client, with the
// same HTTP client and auth as serve, and reports what the Gateway says
// about itself.
func (d *doctor) checkInitialize(ctx context.Context, p *profile, client *http.Client, ga *oauth.TokenCache, proxyURL *url.URL, timeout time.Duration) *mcp.ClientSession {
	var handler auth.OAuthHandler // a true nil for auth type none
	if ga != nil {
		handler = ga
	}
	t := &mcp.StreamableClientTransport{Endpoint: p.gatewayURL, HTTPClient: client, OAuthHandler: handler}
	c := mcp.NewClient(&mcp.Implementation{Name: "agw-proxy-doctor", Version: currentBuild().Version}, nil)
	ictx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cs, err := c.Connect(ictx, t, &mcp.ClientSessionOptions{ProtocolVersion: proxy.UpstreamProtocolVersion})
	if err != nil {
		d.initializeFailed(p, err, proxyURL, timeout)
		return nil
	}
	res := cs.InitializeResult()
	server := "(no server info)"
	if res != nil && res.ServerInfo != nil {
		server = fmt.Sprintf("server %q", res.ServerInfo.Name)
		if res.ServerInfo.Version != "" {
			server += " version " + res.ServerInfo.Version
		}
	}
	version := ""
	if res != nil {
		version = res.ProtocolVersion
	}
	d.pass("initialize: protocol %s, %s", version, server)
	return cs
}

// initializeFailed explains a failed MCP initialize.
func (d *doctor) initializeFailed(p *profile, err error, proxyURL *url.URL, timeout time.Duration) {
	text := err.Error()
	gw := fmt.Sprintf("check gateway_url (%s): the Gateway's MCP endpoint is https://GATEWAY_ID.gateway.bedrock-agentcore.REGION.amazonaws.com/mcp", p.origin("gateway_url"))
	switch {
	case strings.Contains(text, "Not Found") || strings.Contains(text, "404"):
		d.fail(false, "initialize: the Gateway URL was not found (HTTP 404): "+text, gw)
	case strings.Contains(text, "Unauthorized") || strings.Contains(text, "401") || strings.Contains(text, "Forbidden") || strings.Contains(text, "403"):
		d.fail(false, "initialize: the Gateway refused the access token: "+text,
			fmt.Sprintf("the Gateway's authorizer must list app client %s in allowedClients and accept scope %s (allowedScopes)",
				p.auth.clientID, strings.Join(p.auth.scopes, " ")),
			"check that the token endpoint belongs to the user pool in the Gateway's discoveryUrl")
	case errors.Is(err, tokenstore.ErrLoginNeeded):
		d.fail(true, "initialize: "+text, fmt.Sprintf("run %q", exactCommand(p, d.pf, "login", "")))
	default:
		msg, hints := explainNetError(err, p, proxyURL, timeout)
		d.fail(false, "initialize: "+msg, append(hints, gw)...)
	}
}

// checkTools lists every page of the Gateway's tools.
func (d *doctor) checkTools(ctx context.Context, cs *mcp.ClientSession, timeout time.Duration) ([]*mcp.Tool, bool) {
	lctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var tools []*mcp.Tool
	for t, err := range cs.Tools(lctx, nil) {
		if err != nil {
			d.fail(false, "tools/list: "+err.Error())
			return nil, false
		}
		tools = append(tools, t)
	}
	targets := toolTargets(tools)
	switch len(tools) {
	case 0:
		d.fail(false, "tools/list: the Gateway lists no tools", "add a target to the Gateway, or check that its targets are ready (READY) in the AgentCore console")
		return tools, true
	case 1:
		d.pass("tools/list: 1 tool: %s", strings.Join(targets, ", "))
	default:
		d.pass("tools/list: %d tools: %s", len(tools), strings.Join(targets, ", "))
	}
	return tools, true
}

// toolTargets summarizes tool names by target: "Target___* (3)" for the
// tools named Target___op, and the names of tools without a target prefix.
func toolTargets(tools []*mcp.Tool) []string {
	count := map[string]int{}
	var order []string
	for _, t := range tools {
		key := t.Name
		if target, _, ok := strings.Cut(t.Name, "___"); ok {
			key = target + "___*"
		}
		if count[key] == 0 {
			order = append(order, key)
		}
		count[key]++
	}
	slices.Sort(order)
	out := make([]string, len(order))
	for i, k := range order {
		out[i] = k
		if strings.HasSuffix(k, "___*") {
			out[i] = fmt.Sprintf("%s (%d)", k, count[k])
		}
	}
	return out
}

// skipRules reports every inject rule as skipped.
func (d *doctor) skipRules(p *profile, why string) {
	for i, r := range p.inject {
		d.skip(ruleLabel(i, r), why)
	}
}

func ruleLabel(i int, r injectRule) string {
	return fmt.Sprintf("inject rule %d (%s=%s, tools %s)", i+1, r.argument, r.secret, strings.Join(quoteAll(r.tools), " "))
}

// checkRules checks that every inject rule fills at least one tool, and
// shows the near misses when one does not.
func (d *doctor) checkRules(p *profile, tools []*mcp.Tool) {
	if len(p.inject) == 0 {
		d.pass("inject: no rules (tool calls pass through unchanged)")
		return
	}
	rules := p.rules()
	for i, r := range p.inject {
		label := ruleLabel(i, r)
		key := fmt.Sprintf("inject[%d]", i)
		m := proxy.MatchRule(rules[i], tools)
		switch {
		case len(m.Filled) > 0:
			line := fmt.Sprintf("%s: fills %s in %s", label, r.argument, countTools(m.Filled))
			if len(m.Named) > len(m.Filled) {
				line += fmt.Sprintf(" (%d more match the globs but do not declare it)", len(m.Named)-len(m.Filled))
			}
			d.pass("%s", line)
		case len(m.Named) == 0:
			var hints []string
			if len(m.NearNames) > 0 {
				hints = append(hints, "near misses: "+strings.Join(m.NearNames, ", "))
			} else {
				hints = append(hints, "the Gateway's tools: "+strings.Join(toolTargets(tools), ", "))
			}
			hints = append(hints, fmt.Sprintf("fix the tools globs (%s); globs use * ? and [...] and match whole names, case-sensitively", p.origin(fieldKey(p, key, "tools"))))
			d.fail(false, label+": the globs match no tool", hints...)
		default:
			var hints []string
			if len(m.NearArguments) > 0 {
				hints = append(hints, fmt.Sprintf("did you mean %s? (arguments are case-sensitive)", strings.Join(quoteAll(m.NearArguments), " or ")))
			} else {
				hints = append(hints, "those tools declare: "+strings.Join(limit(m.Arguments, 12), ", "))
			}
			hints = append(hints, fmt.Sprintf("fix the argument (%s)", p.origin(fieldKey(p, key, "argument"))))
			d.fail(false, fmt.Sprintf("%s: the globs match %s, but none declares argument %q", label, countTools(m.Named), r.argument), hints...)
		}
	}
}

// fieldKey returns the config key of an inject rule's field, or the rule's
// own key when the field's position is not known.
func fieldKey(p *profile, rule, field string) string {
	if _, ok := p.where[rule+"."+field]; ok {
		return rule + "." + field
	}
	return rule
}

// countTools says "1 tool (A)" or "3 tools (A, B, C)", naming at most three.
func countTools(names []string) string {
	n := "1 tool"
	if len(names) != 1 {
		n = fmt.Sprintf("%d tools", len(names))
	}
	return fmt.Sprintf("%s (%s)", n, strings.Join(limit(names, 3), ", "))
}

// limit returns list, cut to n entries plus "and K more".
func limit(list []string, n int) []string {
	if len(list) <= n {
		return list
	}
	return append(slices.Clone(list[:n]), fmt.Sprintf("and %d more", len(list)-n))
}

// closeBounded closes the session without waiting more than timeout (a
// session DELETE to an unresponsive Gateway must not hang doctor).
func closeBounded(cs *mcp.ClientSession, timeout time.Duration) {
	done := make(chan struct{})
	go func() {
		_ = cs.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(timeout):
	}
}

// explainNetError turns a network, TLS or proxy failure into a short message
// and hints. proxyURL is the proxy the request went through, if any.
func explainNetError(err error, p *profile, proxyURL *url.URL, timeout time.Duration) (string, []string) {
	msg := err.Error()
	var hints []string
	caHint := "behind a corporate proxy that inspects TLS, pass --ca-file FILE (or set ca_file in the profile) with your company's root CA certificate in PEM"
	if p.caFile != "" {
		caHint = fmt.Sprintf("the CA file %s is in use but does not hold the CA that signed this certificate: add that CA (PEM) to it", p.caFile)
	}
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalid x509.CertificateInvalidError
	var recordErr tls.RecordHeaderError
	var dnsErr *net.DNSError
	var redirect *httpguard.RedirectError
	var tooLarge *httpguard.LimitError
	switch {
	case errors.As(err, &redirect):
		hints = append(hints, "agw-proxy never follows a redirect of a POST, nor one to another origin (it would send credentials there): set the URL to the endpoint itself")
	case errors.As(err, &tooLarge):
		hints = append(hints, "the server sent more than agw-proxy accepts (32 MiB per response or event); check that the URL is the right endpoint")
	case errors.As(err, &unknownCA):
		issuer := "unknown"
		if unknownCA.Cert != nil {
			issuer = issuerName(unknownCA.Cert)
		}
		msg = fmt.Sprintf("certificate signed by an unknown authority (issuer %q)", issuer)
		hints = append(hints, caHint)
	case errors.As(err, &hostErr):
		msg = fmt.Sprintf("the certificate is not valid for %s (it is for %s)", hostErr.Host, certNames(hostErr.Certificate))
		hints = append(hints, "check the host in the URL; a proxy that inspects TLS must present a certificate for this host")
	case errors.As(err, &invalid):
		msg = "invalid certificate: " + invalid.Error()
		if invalid.Reason == x509.Expired {
			hints = append(hints, "the certificate is expired or not yet valid by this machine's clock: check the clock, then the server")
		} else {
			hints = append(hints, caHint)
		}
	case errors.As(err, &recordErr):
		msg = "the server did not answer with TLS"
		hints = append(hints, "check the URL's scheme and port: https:// is required except for loopback hosts")
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		msg = fmt.Sprintf("no answer within %s", timeout)
		hints = append(hints, "check the network and firewall; a corporate network may need HTTPS_PROXY", "raise --connect-timeout (timeouts.connect) if the network is just slow")
	case strings.Contains(msg, "proxyconnect"):
		hints = append(hints, fmt.Sprintf("the proxy %s does not answer: check HTTPS_PROXY, or list the host in NO_PROXY for a direct connection", redacted(proxyURL)))
	case errors.As(err, &dnsErr):
		msg = fmt.Sprintf("host %s not found (DNS)", dnsErr.Name)
		hints = append(hints, "check the host in the URL; on a network that only reaches the internet through a proxy, set HTTPS_PROXY")
	case errors.Is(err, syscall.ECONNREFUSED):
		msg = "connection refused: " + msg
		hints = append(hints, "nothing listens there: check the host and port in the URL")
	case errors.Is(err, oauth.ErrTokenEndpoint):
		// The text already says what failed.
	}
	if proxyURL != nil && !strings.Contains(msg, "proxyconnect") {
		hints = append(hints, fmt.Sprintf("the connection went through the proxy %s (HTTPS_PROXY); if it refuses or needs authentication, fix HTTPS_PROXY, or list the host in NO_PROXY", proxyURL.Redacted()))
	}
	return msg, hints
}

func redacted(u *url.URL) string {
	if u == nil {
		return "(none)"
	}
	return u.Redacted()
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// claims are the parts of a Cognito access token doctor reports.
type claims struct {
	IssuedAt int64 `json:"iat"`
	Expires  int64 `json:"exp"`
}

// jwtClaims decodes a JWT's payload without checking its signature (the
// Gateway does that); zero claims when it is not a JWT.
func jwtClaims(token string) claims {
	var c claims
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return c
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return c
	}
	_ = json.Unmarshal(b, &c)
	return c
}

// describeSkew says how far the local clock is from a server's, measured
// against what.
func describeSkew(skew time.Duration, against string) string {
	s := skew.Round(time.Second)
	switch {
	case s.Abs() <= 2*time.Second:
		return "local clock in step with " + against
	case s > 0:
		return fmt.Sprintf("local clock %s ahead of %s", s, against)
	default:
		return fmt.Sprintf("local clock %s behind %s", -s, against)
	}
}

// roundDuration rounds d for display.
func roundDuration(d time.Duration) time.Duration {
	switch {
	case d >= time.Minute:
		return d.Round(time.Second)
	case d >= time.Second:
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Millisecond)
}
