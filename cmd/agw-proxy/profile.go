package main

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/agw-proxy/agw-proxy/tokenstore"
)

// Auth types (auth.type, --auth-type).
const (
	authNone              = "none"
	authClientCredentials = "client_credentials"
	authAuthorizationCode = "authorization_code"
)

var authTypes = []string{authClientCredentials, authAuthorizationCode, authNone}

// Defaults for a profile.
const (
	defaultProfile        = "default"
	defaultFormat         = "Bearer {secret}"
	defaultCallTimeout    = 300 * time.Second
	defaultConnectTimeout = 30 * time.Second
)

// Reserved secret names: the Gateway's own credentials, stored by "agw-proxy
// login" without a name.
const (
	clientSecretName = tokenstore.ClientSecretName
	refreshTokenName = tokenstore.RefreshTokenName
)

// profile is one resolved profile: the config file's entry (if any) with the
// flags that were set applied over it, defaults filled in and validated.
// Every subcommand that talks to the Gateway or the keychain works from one;
// get it with addProfileFlags + (*profileFlags).resolve.
type profile struct {
	name       string
	nameSet    bool   // chosen by --profile or $AGW_PROXY_PROFILE (not the default)
	configPath string // config file consulted; "" when none exists
	configSet  bool   // configPath came from --config or $AGW_PROXY_CONFIG
	inFile     bool   // the profile is defined in the config file

	gatewayURL     string
	auth           authSettings
	inject         []injectRule
	callTimeout    time.Duration
	connectTimeout time.Duration
	caFile         string

	// where says where each setting came from, by config key ("gateway_url",
	// "auth.token_url", "inject[0].secret"): "file:line:col" or "--flag".
	// The key "" is the profile itself.
	where map[string]string
}

// authSettings is the auth: block of a profile.
type authSettings struct {
	typ          string // one of authTypes
	discoveryURL string
	tokenURL     string
	authorizeURL string
	redirectURL  string
	clientID     string
	scopes       []string
}

// injectRule is one inject: entry: fill argument with format applied to the
// named secret, on tools matching any of the globs.
type injectRule struct {
	argument string
	secret   string
	format   string
	tools    []string
}

func newProfile(name string) *profile {
	return &profile{name: name, where: map[string]string{}}
}

// secretNames returns the names of the secrets the inject rules use, in order,
// without repeats.
func (p *profile) secretNames() []string {
	var names []string
	for _, r := range p.inject {
		if !slices.Contains(names, r.secret) {
			names = append(names, r.secret)
		}
	}
	return names
}

// gatewaySecretName is the keychain entry holding the Gateway credential:
// "client-secret", "refresh-token", or "" for auth type none.
func (p *profile) gatewaySecretName() string {
	switch p.auth.typ {
	case authClientCredentials:
		return clientSecretName
	case authAuthorizationCode:
		return refreshTokenName
	}
	return ""
}

// loginCommand is the exact command that stores secret (or, with secret "",
// the Gateway credential) for this profile, ready to copy into a terminal.
// It names --config and --profile only when they differ from what a plain
// "agw-proxy login" in the user's shell would pick.
func (p *profile) loginCommand(secret string) string {
	return p.command("login", secret)
}

// command builds "agw-proxy SUB [ARG] [--config F] [--profile P]" for this profile.
func (p *profile) command(sub, arg string) string {
	parts := []string{"agw-proxy", sub}
	if arg != "" {
		parts = append(parts, shellQuote(arg))
	}
	if p.configSet && p.inFile {
		parts = append(parts, "--config", shellQuote(p.configPath))
	}
	if p.name != defaultProfile || p.nameSet {
		parts = append(parts, "--profile", shellQuote(p.name))
	}
	return strings.Join(parts, " ")
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@%+,", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// setDefaults fills what neither the file nor the flags set.
func (p *profile) setDefaults() {
	if p.auth.typ == "" {
		p.auth.typ = authNone
		if p.auth.tokenURL != "" || p.auth.discoveryURL != "" {
			p.auth.typ = authClientCredentials
		}
		p.where["auth.type"] = p.where[""]
	}
	for i := range p.inject {
		if p.inject[i].format == "" {
			p.inject[i].format = defaultFormat
		}
	}
	if p.callTimeout == 0 && p.where["timeouts.call"] == "" {
		p.callTimeout = defaultCallTimeout
	}
	if p.connectTimeout == 0 && p.where["timeouts.connect"] == "" {
		p.connectTimeout = defaultConnectTimeout
	}
}

// problem returns a configError for the setting key, located where it was set.
func (p *profile) problem(key string, hints []string, format string, a ...any) *configError {
	at := p.where[key]
	if at == "" && strings.HasPrefix(key, "auth.") {
		// A missing auth setting is needed because of the auth type.
		at = p.where["auth.type"]
	}
	if at == "" {
		// Not set anywhere: point at the profile (or at nothing for flags only).
		at = p.where[""]
	}
	return &configError{at: at, key: key, msg: fmt.Sprintf(format, a...), hints: hints}
}

// validate checks every setting and returns all problems at once
// (errors.Join of *configError). A missing gateway URL is not a problem
// here: login and logout work without one; see requireGateway.
func (p *profile) validate() error {
	var errs []error
	add := func(err *configError) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	if p.gatewayURL != "" {
		add(p.checkURL("gateway_url", p.gatewayURL, false))
	}

	a := p.auth
	if !slices.Contains(authTypes, a.typ) {
		add(p.problem("auth.type", []string{"valid types: " + strings.Join(authTypes, ", ")}, "unknown auth type %q", a.typ))
	}
	for _, u := range []struct{ key, val string }{
		{"auth.discovery_url", a.discoveryURL},
		{"auth.token_url", a.tokenURL},
		{"auth.authorize_url", a.authorizeURL},
	} {
		if u.val != "" && a.typ != authNone {
			add(p.checkURL(u.key, u.val, false))
		}
	}
	if a.typ == authClientCredentials || a.typ == authAuthorizationCode {
		if a.clientID == "" {
			add(p.problem("auth.client_id", p.missingHints("auth.client_id", "--client-id ID"),
				"auth type %s needs a client ID (the Cognito app client)", a.typ))
		}
		if a.tokenURL == "" && a.discoveryURL == "" {
			add(p.problem("auth.token_url", p.missingHints("auth.token_url", "--token-url URL"),
				"auth type %s needs a token URL or a discovery URL", a.typ))
		}
	}
	if a.typ == authAuthorizationCode {
		if a.authorizeURL == "" && a.discoveryURL == "" {
			add(p.problem("auth.authorize_url", p.missingHints("auth.authorize_url", "--authorize-url URL"),
				"auth type authorization_code needs an authorize URL or a discovery URL"))
		}
		if a.redirectURL == "" {
			add(p.problem("auth.redirect_url", p.missingHints("auth.redirect_url", "--redirect-url URL"),
				"auth type authorization_code needs a redirect URL registered on the app client, e.g. http://localhost:8501/"))
		} else {
			add(p.checkURL("auth.redirect_url", a.redirectURL, true))
		}
	}
	for i, s := range a.scopes {
		if s == "" || strings.ContainsAny(s, " \t\r\n\"\\") {
			add(p.problem("auth.scopes", nil, "scope %d %q is not a valid OAuth scope", i+1, s))
		}
	}

	type pair struct{ arg, glob string }
	seen := map[pair]int{}
	for i, r := range p.inject {
		key := fmt.Sprintf("inject[%d]", i)
		at := func(field string) string {
			if _, ok := p.where[key+"."+field]; ok {
				return key + "." + field
			}
			return key
		}
		if r.argument == "" {
			add(p.problem(at("argument"), nil, "inject rule %d needs an argument (the tool argument to fill, e.g. X-Asana-Token)", i+1))
		} else if strings.TrimSpace(r.argument) != r.argument {
			add(p.problem(at("argument"), nil, "argument %q has surrounding spaces", r.argument))
		}
		switch {
		case r.secret == "":
			add(p.problem(at("secret"), nil, "inject rule %d needs a secret name (e.g. asana)", i+1))
		case !validSecretName(r.secret):
			// Never echo it: a user may have pasted the secret itself here.
			add(p.problem(at("secret"), []string{
				`a secret is referred to by a name such as "asana"; store its value with "agw-proxy login NAME"`,
			}, "secret name must use only lowercase letters, digits, '-' and '_' (at most 64)"))
		case r.secret == clientSecretName || r.secret == refreshTokenName:
			add(p.problem(at("secret"), []string{"pick another name, e.g. asana"},
				"secret name %q is reserved for the Gateway's own credentials", r.secret))
		}
		if !strings.Contains(r.format, "{secret}") {
			add(p.problem(at("format"), []string{`the default is "Bearer {secret}"; use "{secret}" for a raw key`},
				"format must contain {secret}"))
		}
		if len(r.tools) == 0 {
			add(p.problem(at("tools"), []string{
				`tools is required so a secret only reaches the targets you name, e.g. tools: ["AgentCoreGwyAPIGatewayTarget___*"]` +
					" (with flags: --inject-tools GLOB)",
			}, "inject rule %d needs tools: globs over Gateway tool names", i+1))
		}
		for _, g := range r.tools {
			if _, err := path.Match(g, ""); err != nil || g == "" {
				add(p.problem(at("tools"), []string{"globs use * ? and [...], e.g. Target___*"}, "invalid tool glob %q", g))
				continue
			}
			k := pair{r.argument, g}
			if j, dup := seen[k]; dup {
				add(p.problem(at("tools"), nil, "argument %s for tools %q is already filled by inject rule %d", r.argument, g, j+1))
			}
			seen[k] = i
		}
	}

	if p.callTimeout <= 0 {
		add(p.problem("timeouts.call", nil, "must be positive, got %v", p.callTimeout))
	}
	if p.connectTimeout <= 0 {
		add(p.problem("timeouts.connect", nil, "must be positive, got %v", p.connectTimeout))
	}
	return errors.Join(errs...)
}

// missingHints tells where to set a missing setting.
func (p *profile) missingHints(key, flag string) []string {
	if p.inFile {
		return []string{fmt.Sprintf("set %s in profile %q of %s, or pass %s", key, p.name, p.configPath, flag)}
	}
	return []string{"pass " + flag}
}

// requireGateway reports a missing gateway URL, for the commands that need one.
func (p *profile) requireGateway() error {
	if p.gatewayURL != "" {
		return nil
	}
	hint := "pass --gateway-url URL (the Gateway's MCP endpoint, https://....gateway.bedrock-agentcore.REGION.amazonaws.com/mcp)"
	switch {
	case p.inFile:
		hint = fmt.Sprintf("set gateway_url in profile %q of %s, or pass --gateway-url URL", p.name, p.configPath)
	case p.configPath == "":
		hint += ", or create a config file (see configs/config.yaml)"
	}
	return &configError{at: p.where[""], msg: fmt.Sprintf("no gateway URL for profile %q", p.name), hints: []string{hint}}
}

// validSecretName reports whether name can name a secret: it becomes part of
// a keychain entry and of an environment variable name.
func validSecretName(name string) bool {
	return validName(name, func(r byte) bool { return r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' })
}

// checkProfileName: a profile name prefixes keychain entries ("work:asana"),
// so it cannot hold a ':' (or anything a shell or a keychain UI mangles).
func checkProfileName(name string) error {
	ok := validName(name, func(r byte) bool {
		return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.'
	})
	if !ok {
		return errors.New("use letters, digits, '.', '-' and '_' (at most 64)")
	}
	return nil
}

// validName reports whether name is 1 to 64 bytes of allowed characters,
// starting with a letter or digit. (Not a regexp: compiling one at init
// would cost every start of the binary.)
func validName(name string, allowed func(byte) bool) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !allowed(c) || i == 0 && (c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// checkURL validates a URL setting: absolute, with a host, and https:// unless
// the host is loopback (the emulator, a local tunnel). A redirect URL is the
// proxy's own listener: http:// on a loopback host.
func (p *profile) checkURL(key, raw string, redirect bool) *configError {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Scheme == "" {
		return p.problem(key, nil, "%q is not an absolute URL", raw)
	}
	if u.User != nil {
		return p.problem(key, nil, "URL must not carry user info")
	}
	if redirect {
		if u.Scheme != "http" || !isLoopback(u.Hostname()) {
			return p.problem(key, []string{"use the local callback registered on the app client, e.g. http://localhost:8501/"},
				"redirect URL must be http:// on localhost or a loopback address (agw-proxy listens there)")
		}
		return nil
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !isLoopback(u.Hostname()) {
			return p.problem(key, []string{"http:// is allowed only for loopback hosts (localhost, 127.0.0.0/8, ::1)"},
				"must use https://")
		}
	default:
		return p.problem(key, nil, "unsupported URL scheme %q: use https://", u.Scheme)
	}
	return nil
}

// isLoopback reports whether host is localhost, in 127.0.0.0/8, or ::1.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
