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

	"github.com/agw-proxy/agw-proxy/awsiam"
	"github.com/agw-proxy/agw-proxy/internal/httpguard"
	"github.com/agw-proxy/agw-proxy/internal/profile"
	"github.com/agw-proxy/agw-proxy/oauth"
	"github.com/agw-proxy/agw-proxy/proxy"
	"github.com/agw-proxy/agw-proxy/tokenstore"
)

func init() {
	register(command{name: "doctor", summary: "Check the whole setup, with a hint for each problem", run: runDoctor})
}

func doctorUsage() string {
	return `Usage:
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
    consent       for each consent_tools entry (a read-only tool of a target
                  whose OAuth the Gateway holds): whether you have consented;
                  it calls that tool once, which reaches the target's API
                  when you have

Each network step is bounded by the connect timeout (--connect-timeout).

Exit status: 0 when every check passed; 4 when the only problems are
secrets a login fixes (missing from the keychain, or rejected) or consents
"login TARGET --consent" gives; 1 otherwise;
2 for a usage error.

Options:
    -h, --help             Show this help

` + profile.FlagsUsage(profile.AllFlags) + `
Examples:
    $ agw-proxy doctor
    $ agw-proxy doctor --profile work --connect-timeout 10s

    Behind a corporate proxy that inspects TLS:
    $ HTTPS_PROXY=http://proxy.example.com:3128 agw-proxy doctor --ca-file ~/corp-root-ca.pem
`
}

// Marks that begin each check line.
const (
	markPass = "✓"
	markFail = "✗"
)

// doctor runs the checks and keeps the score.
type doctor struct {
	e     *env
	pf    *profile.Flags
	store *tokenstore.Env // the keychain under the environment override
	w     io.Writer       // stdout, through scrub
	// scrub knows every secret and token the checks read, in case one
	// ever shows up in an error text.
	scrub *proxy.Scrubber
	// ctx is the command's: once it ends (Ctrl-C, SIGTERM), the checks
	// stop and print nothing more, since what fails then is the
	// interruption, not the setup.
	ctx context.Context

	passed, skipped int
	failed          problems
	// usage: the profile's only problems are flag values that cannot be
	// used, a usage error (exit 2) as in every command.
	usage bool
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
	d.failed.add(loginFixes)
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
	if d.ctx.Err() != nil {
		return
	}
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

// exitCode: 0 when all passed, 4 when a login fixes every failure (the
// checks it skipped follow from those), else 1.
func (d *doctor) exitCode() int {
	if d.usage {
		return exitUsage
	}
	if d.failed == (problems{}) && d.skipped > 0 {
		return exitError
	}
	return d.failed.exitCode()
}

func (d *doctor) summary() {
	failed := d.failed.login + d.failed.other
	total := d.passed + failed + d.skipped
	switch {
	case failed == 0 && d.skipped == 0:
		fmt.Fprintf(d.w, "\nAll %d checks passed.\n", total)
	case d.skipped == 0:
		fmt.Fprintf(d.w, "\n%d of %d checks failed.\n", failed, total)
	default:
		fmt.Fprintf(d.w, "\n%d of %d checks failed, %d skipped.\n", failed, total, d.skipped)
	}
}

func runDoctor(ctx context.Context, e *env, args []string) error {
	fs := pflag.NewFlagSet("doctor", pflag.ContinueOnError)
	pf := profile.AddFlags(fs, profile.AllFlags)
	if done, err := parseFlags(e, fs, doctorUsage(), args); done {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf("doctor", "takes no arguments, got %q", fs.Arg(0))
	}
	scrub := proxy.NewScrubber()
	d := &doctor{e: e, pf: pf, store: e.secretStore(), w: scrub.Writer(e.stdout), scrub: scrub, ctx: ctx}
	d.run(ctx)
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	d.summary()
	return reported(d.exitCode())
}

// run performs the checks in order.
func (d *doctor) run(ctx context.Context) {
	p, client, ok := d.checkConfig()
	if !ok {
		d.skip("other checks", "no valid profile")
		return
	}
	timeout := p.ConnectTimeout
	method := methodOf(p)
	credOK := d.checkSecrets(ctx, p)
	d.checkSources(ctx, p)
	if ctx.Err() != nil {
		return
	}
	// The client of the Gateway's requests: for aws_iam, one that signs
	// them, which its doctor check also gets the credentials from.
	gwClient := method.gatewayClient(d.e, p, client, d.scrub.Add)
	handler, issuedAt, authOK := method.doctor(ctx, d, p, gwClient, credOK)
	if ctx.Err() != nil {
		return
	}

	proxyURL := d.checkProxy(p, client)
	reachable := d.checkConnection(ctx, p, client, proxyURL, issuedAt, timeout)
	if ctx.Err() != nil {
		return
	}

	var cs *mcp.ClientSession
	switch {
	case !reachable:
		d.skip("mcp", "the Gateway host is not reachable")
	case !authOK:
		d.skip("mcp", "no Gateway token")
	default:
		cs = d.checkInitialize(ctx, p, gwClient, handler, proxyURL, timeout)
	}
	if ctx.Err() != nil {
		return // a session is left to the process's end: closing it would wait on the Gateway
	}
	if cs == nil {
		d.skip("tools/list", "no MCP session")
		d.skipRules(p, "no tool list")
		return
	}
	defer closeBounded(ctx, cs, timeout)
	tools, ok := d.checkTools(ctx, cs, timeout)
	if !ok {
		d.skipRules(p, "no tool list")
		return
	}
	d.checkRules(p, tools)
	d.checkConsents(ctx, p, cs, tools, timeout)
}

// checkConfig resolves the profile and builds the HTTP client (ca_file).
func (d *doctor) checkConfig() (*profile.Profile, *http.Client, bool) {
	p, err := d.e.resolve(d.pf)
	if err == nil {
		err = p.RequireGateway()
	}
	var client *http.Client
	if err == nil {
		client, err = httpClient(p)
	}
	if err != nil {
		list := []error{err}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			list = j.Unwrap()
		}
		d.usage = !slices.ContainsFunc(list, func(one error) bool { return !atFlag(one) })
		for i, one := range list {
			var hints []string
			var h hinter
			if errors.As(one, &h) {
				hints = h.Hints()
			}
			if d.usage && i == len(list)-1 {
				hints = append(hints, `run "agw-proxy doctor --help" for usage`)
			}
			d.fail(false, "config: "+one.Error(), hints...)
		}
		return nil, nil, false
	}
	from := "from flags, no config file"
	switch {
	case p.InFile:
		from = "in " + p.ConfigPath
	case p.ConfigPath != "":
		from = "from flags (not in " + p.ConfigPath + ")"
	case p.SearchedPath != "":
		from = "from flags (no config file at " + p.SearchedPath + ")"
	}
	rules := fmt.Sprintf("%d inject rules", len(p.Inject))
	if len(p.Inject) == 1 {
		rules = "1 inject rule"
	}
	d.pass("config: profile %q %s; gateway %s, auth %s, %s", p.Name, from, p.GatewayURL, p.Auth.Type, rules)
	if p.CAFile != "" {
		d.note("extra CA certificates from %s", p.CAFile)
	}
	return p, client, true
}

// doctorKeychainTimeout bounds each keychain read of doctor, on top of the
// keychain's own timeout (a variable for tests).
var doctorKeychainTimeout = tokenstore.DefaultKeychainTimeout

// checkSecrets checks the keychain (only when a secret must come from it)
// and then each secret. It reports whether the Gateway credential is there
// (true for auth type none).
func (d *doctor) checkSecrets(ctx context.Context, p *profile.Profile) (credOK bool) {
	store := d.store
	needed := neededSecrets(p)
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
		v, err := store.Base.Get(pctx, p.Name, probe)
		cancel()
		if len(v) >= tokenstore.MinSecretSize { // a shorter one is reported below
			d.scrub.Add(v)
		}
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

	credOK = credentialOf(p) == nil
	for _, s := range needed {
		what := fmt.Sprintf("secret %q (%s)", s.name, s.role)
		if keychainErr != nil && !fromEnv(s.name) {
			d.skip(what, "the keychain is not reachable")
			continue
		}
		sctx, cancel := context.WithTimeout(ctx, doctorKeychainTimeout)
		v, src, err := store.Lookup(sctx, p.Name, s.name)
		cancel()
		short := err == nil && len(v) < tokenstore.MinSecretSize
		if !short { // scrubbing a short one would mangle this report
			d.scrub.Add(v)
		}
		switch {
		case short:
			hints := loginHints(p, s)
			if src != tokenstore.SourceKeychain {
				hints = []string{fmt.Sprintf("set %s to the whole secret", tokenstore.EnvVar(s.name))}
			}
			d.fail(true, fmt.Sprintf("%s: too short (under %d bytes) in the %s: serve refuses it, since a secret that short cannot be scrubbed from results without mangling them",
				what, tokenstore.MinSecretSize, src), hints...)
		case err == nil:
			d.pass("%s: present in the %s", what, src)
			if s.cred != nil {
				credOK = true
			}
		case errors.Is(err, tokenstore.ErrNotFound):
			d.fail(true, what+": missing", loginHints(p, s)...)
		default:
			d.fail(false, what+": cannot be read: "+err.Error(), keychainHints(err)...)
		}
	}
	return credOK
}

// checkProxy reports the proxy in effect for the Gateway host, and returns
// it (nil when the connection is direct).
func (d *doctor) checkProxy(p *profile.Profile, client *http.Client) *url.URL {
	u, _ := url.Parse(p.GatewayURL)
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
	case profile.IsLoopback(host):
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
func (d *doctor) checkConnection(ctx context.Context, p *profile.Profile, client *http.Client, proxyURL *url.URL, issuedAt time.Time, timeout time.Duration) bool {
	u, _ := url.Parse(p.GatewayURL)
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
	req, err := http.NewRequestWithContext(cctx, http.MethodGet, p.GatewayURL, nil)
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
// same HTTP client, auth and protocol setting as serve, and reports the
// revision in use and what the Gateway says about itself. protocol auto
// asks for 2026-07-28 (server/discover) and takes a 2025 session when the
// Gateway does not offer it, as serve does; a pinned revision is asked
// for alone.
func (d *doctor) checkInitialize(ctx context.Context, p *profile.Profile, client *http.Client, handler auth.OAuthHandler, proxyURL *url.URL, timeout time.Duration) *mcp.ClientSession {
	t := &mcp.StreamableClientTransport{Endpoint: p.GatewayURL, HTTPClient: client, OAuthHandler: handler}
	// Input requests (a consent the Gateway asks for) are the caller's to
	// read: doctor opens and answers nothing.
	c := mcp.NewClient(&mcp.Implementation{Name: "agw-proxy-doctor", Version: currentBuild().Version}, &mcp.ClientOptions{MultiRoundTrip: &mcp.MultiRoundTripOptions{Disabled: true}})
	ictx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ask := proxy.StatelessProtocolVersion
	if p.Protocol == profile.ProtocolSessions {
		ask = proxy.UpstreamProtocolVersion
	}
	cs, err := c.Connect(ictx, t, &mcp.ClientSessionOptions{ProtocolVersion: ask})
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
	if version == proxy.StatelessProtocolVersion {
		d.pass("mcp: protocol %s (stateless: server/discover, no session), %s", version, server)
		return cs
	}
	if p.Protocol == profile.ProtocolStateless {
		cs.Close()
		d.fail(false, fmt.Sprintf("mcp: the Gateway does not offer MCP %s (it answered initialize with %s), and protocol pins it (%s)",
			proxy.StatelessProtocolVersion, version, p.Origin("protocol")),
			"set protocol to auto (or 2025-11-25) to use a session, as the Gateway offers")
		return nil
	}
	d.pass("mcp: protocol %s (a session: initialize), %s", version, server)
	return cs
}

// initializeFailed explains a failed MCP initialize.
func (d *doctor) initializeFailed(p *profile.Profile, err error, proxyURL *url.URL, timeout time.Duration) {
	text := err.Error()
	gw := fmt.Sprintf("check gateway_url (%s): the Gateway's MCP endpoint is https://GATEWAY_ID.gateway.bedrock-agentcore.REGION.amazonaws.com/mcp", p.Origin("gateway_url"))
	var refused *awsiam.RefusedError
	switch {
	case errors.As(err, &refused):
		d.fail(false, "mcp: "+refused.Error(),
			fmt.Sprintf("the signing region is %s (%s; else the Gateway URL's)", p.SigningRegion(), p.Origin("auth.region")),
			"the Gateway's inbound auth must be AWS_IAM, and the identity needs bedrock-agentcore:InvokeGateway on it")
	case errors.Is(err, tokenstore.ErrLoginNeeded) && p.Auth.Type == profile.AuthAWSIAM:
		d.fail(false, "mcp: "+awsCredentialText(err), awsCredentialHints(p, err)...)
	case strings.Contains(text, "Not Found") || strings.Contains(text, "404"):
		d.fail(false, "mcp: the Gateway URL was not found (HTTP 404): "+text, gw)
	case strings.Contains(text, "Unauthorized") || strings.Contains(text, "401") || strings.Contains(text, "Forbidden") || strings.Contains(text, "403"):
		hints := []string{fmt.Sprintf("the Gateway's authorizer must list app client %s in allowedClients and accept scope %s (allowedScopes)",
			p.Auth.ClientID, strings.Join(p.Auth.Scopes, " ")),
			"check that the token endpoint belongs to the user pool in the Gateway's discoveryUrl"}
		if p.Auth.Type == profile.AuthAuthorizationCode {
			hints = append(hints, audienceHint(p))
		}
		d.fail(false, "mcp: the Gateway refused the access token: "+text, hints...)
	case errors.Is(err, tokenstore.ErrLoginNeeded):
		d.fail(true, "mcp: "+text, fmt.Sprintf("run %q", p.Command("login", "")))
	default:
		msg, hints := explainNetError(err, p, proxyURL, timeout)
		d.fail(false, "mcp: "+msg, append(hints, gw)...)
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
func (d *doctor) skipRules(p *profile.Profile, why string) {
	for i, r := range p.Inject {
		d.skip(ruleLabel(i, r), why)
	}
}

func ruleLabel(i int, r profile.InjectRule) string {
	via := ""
	if r.Via == profile.ViaHeader {
		via = " via header"
	}
	return fmt.Sprintf("inject rule %d (%s=%s%s, tools %s)", i+1, r.Argument, r.Secret, via, strings.Join(quoteAll(r.Tools), " "))
}

// checkHeaderRule reports a header rule that names tools. Whether the
// Gateway forwards the header to the target cannot be seen without calling
// a tool, and a call may have effects (create a task), so doctor does not
// call: it says which calls carry the header, which of those tools declare
// it as an argument (hidden from the model; the Gateway must fill it from
// the propagated header), and what the Gateway must be set up with.
func (d *doctor) checkHeaderRule(label string, r profile.InjectRule, m proxy.RuleMatch) {
	line := fmt.Sprintf("%s: sends header %s on the calls of %s", label, r.Argument, countTools(m.Filled))
	switch n := len(m.Declaring); {
	case n == len(m.Filled):
		line += "; all declare it as an argument, hidden from the model"
	case n > 0:
		line += fmt.Sprintf("; %d declare it as an argument, hidden from the model", n)
	}
	d.pass("%s", line)
	d.note("not checked whether the Gateway forwards %s to the target: only a tool call would show it, and doctor calls no tools; the targets' metadataConfiguration.allowedRequestHeaders must list it (GetGatewayTarget shows it)", r.Argument)
}

// checkRules checks that every inject rule fills at least one tool, and
// shows the near misses when one does not.
func (d *doctor) checkRules(p *profile.Profile, tools []*mcp.Tool) {
	if len(p.Inject) == 0 {
		d.pass("inject: no rules (tool calls pass through unchanged)")
		return
	}
	rules := proxyRules(p)
	for i, r := range p.Inject {
		label := ruleLabel(i, r)
		key := fmt.Sprintf("inject[%d]", i)
		m := proxy.MatchRule(rules[i], tools)
		switch {
		case r.Via == profile.ViaHeader && len(m.Filled) > 0:
			d.checkHeaderRule(label, r, m)
		case len(m.Filled) > 0:
			line := fmt.Sprintf("%s: fills %s in %s", label, r.Argument, countTools(m.Filled))
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
			hints = append(hints, fmt.Sprintf("fix the tools globs (%s); globs use * ? and [...] and match whole names, case-sensitively", p.Origin(p.FieldKey(key, "tools"))))
			d.fail(false, label+": the globs match no tool", hints...)
		default:
			var hints []string
			if len(m.NearArguments) > 0 {
				hints = append(hints, fmt.Sprintf("did you mean %s? (arguments are case-sensitive)", strings.Join(quoteAll(m.NearArguments), " or ")))
			} else {
				hints = append(hints, "those tools declare: "+strings.Join(limit(m.Arguments, 12), ", "))
			}
			hints = append(hints, fmt.Sprintf("fix the argument (%s)", p.Origin(p.FieldKey(key, "argument"))))
			d.fail(false, fmt.Sprintf("%s: the globs match %s, but none declares argument %q", label, countTools(m.Named), r.Argument), hints...)
		}
	}
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
// session DELETE to an unresponsive Gateway must not hang doctor), nor at
// all once ctx has ended.
func closeBounded(ctx context.Context, cs *mcp.ClientSession, timeout time.Duration) {
	done := make(chan struct{})
	go func() {
		_ = cs.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(timeout):
	case <-ctx.Done():
	}
}

// explainNetError turns a network, TLS or proxy failure into a short message
// and hints. proxyURL is the proxy the request went through, if any.
func explainNetError(err error, p *profile.Profile, proxyURL *url.URL, timeout time.Duration) (string, []string) {
	msg := err.Error()
	var hints []string
	caHint := "behind a corporate proxy that inspects TLS, pass --ca-file FILE (or set ca_file in the profile) with your company's root CA certificate in PEM"
	if p.CAFile != "" {
		caHint = fmt.Sprintf("the CA file %s is in use but does not hold the CA that signed this certificate: add that CA (PEM) to it", p.CAFile)
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

// audienceHint explains the audience mismatch an authorization_code
// profile may meet: the Gateway answers any JWT it refuses with the same
// 401 "Invalid Bearer token", so doctor says what each token carries. A
// Cognito access token has no aud (its client_id is what allowedClients
// matches); the ID token's aud is the client ID (what allowedAudience
// matches).
func audienceHint(p *profile.Profile) string {
	if p.Auth.Token == profile.TokenID {
		return fmt.Sprintf("agw-proxy sends the ID token (auth.token: id, %s), whose aud is %s: the authorizer's allowedAudience must list it; "+
			"an authorizer that checks allowedClients instead takes the access token (auth.token: access)", p.Origin("auth.token"), p.Auth.ClientID)
	}
	return "agw-proxy sends the access token, which has no aud: if the Gateway's authorizer sets allowedAudience, it needs Cognito's ID token " +
		"(set auth.token: id, or --auth-token id, with openid in auth.scopes, then log in again)"
}
