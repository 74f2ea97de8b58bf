package profile

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/agw-proxy/agw-proxy/internal/httpheader"
	"github.com/agw-proxy/agw-proxy/internal/textdist"
	"github.com/agw-proxy/agw-proxy/tokenstore"
)

// Auth types (auth.type, --auth-type).
const (
	AuthNone              = "none"
	AuthClientCredentials = "client_credentials"
	AuthAuthorizationCode = "authorization_code"
	// AuthAWSIAM signs every request with SigV4 (a Gateway whose inbound
	// auth is AWS_IAM), with credentials from the AWS chain.
	AuthAWSIAM = "aws_iam"
)

// Values of auth.token (--auth-token): which of Cognito's tokens an
// authorization_code profile sends as the bearer.
const (
	TokenAccess = "access" // the access token (the default)
	TokenID     = "id"     // the ID token, whose aud is the client ID (an allowedAudience authorizer)
)

// Tokens are the values of auth.token.
var Tokens = []string{TokenAccess, TokenID}

// An AuthType is one value of auth.type, as the profile model knows it: its
// name and what it requires of a profile beyond the checks every profile
// gets (URL syntax, scopes). The command's auth methods provide them.
type AuthType struct {
	Name string
	// Check returns the problems of p for this type (*Error values, from
	// p.Problem), or nil.
	Check func(p *Profile) []error
}

// Values of protocol (--protocol): the MCP revision spoken with the Gateway.
const (
	ProtocolAuto      = "auto"       // 2026-07-28 when the Gateway offers it, else a 2025 session
	ProtocolStateless = "2026-07-28" // pinned: an error if the Gateway does not offer it
	ProtocolSessions  = "2025-11-25" // pinned: never asks for 2026-07-28
)

// Protocols are the values of protocol, in the order messages list them.
var Protocols = []string{ProtocolAuto, ProtocolStateless, ProtocolSessions}

// Defaults for a profile.
const (
	DefaultName           = "default"
	DefaultFormat         = "Bearer {secret}"
	DefaultCallTimeout    = 300 * time.Second
	DefaultConnectTimeout = 30 * time.Second
	DefaultConsentTimeout = 2 * time.Minute
)

// Reserved secret names: the Gateway's own credentials, stored by "agw-proxy
// login" without a name.
const (
	clientSecretName = tokenstore.ClientSecretName
	refreshTokenName = tokenstore.RefreshTokenName
)

// ReservedSecret reports whether name is one of the Gateway's own
// credentials, which "agw-proxy login" stores without a name.
func ReservedSecret(name string) bool { return name == clientSecretName || name == refreshTokenName }

// Profile is one resolved Profile: the config file's entry (if any) with the
// flags that were set applied over it, defaults filled in and validated.
// Every subcommand that talks to the Gateway or the keychain works from one;
// get it with addProfileFlags + (*profileFlags).resolve.
type Profile struct {
	Name       string
	NameSet    bool   // chosen by --profile or $AGW_PROXY_PROFILE (not the default)
	ConfigPath string // config file consulted; "" when none exists
	ConfigSet  bool   // configPath came from --config or $AGW_PROXY_CONFIG
	InFile     bool   // the profile is defined in the config file
	// SearchedPath is the config file looked for, found or not ("" only
	// when there is no user config directory), for messages.
	SearchedPath string

	GatewayURL     string
	Auth           Auth
	Inject         []InjectRule
	CallTimeout    time.Duration
	ConnectTimeout time.Duration
	CAFile         string
	// Protocol is the MCP revision spoken with the Gateway, one of
	// Protocols (default auto).
	Protocol string
	// ConsentTimeout (timeouts.consent) bounds how long a call waits for
	// the user's consent to a Gateway-held OAuth target (default 2m).
	ConsentTimeout time.Duration
	// OpenBrowser (open_browser, default true): serve opens a consent URL
	// the Gateway sends in the user's browser; false only prints it.
	OpenBrowser bool
	// Cache (cache, default true; --no-cache sets false): serve keeps the
	// tool list in the user's cache directory between runs and answers a
	// client's first tools/list from it while it lists the Gateway's tools
	// anew.
	Cache bool
	// ConsentTools (consent_tools) are read-only tools of the Gateway's
	// OAuth (3LO) targets, one per target ({target}___{operation}): status
	// and doctor call them to tell whether the user has consented, and
	// "login TARGET --consent" calls its target's to ask for consent.
	ConsentTools []string

	// where says where each setting came from, by config key ("gateway_url",
	// "auth.token_url", "inject[0].secret"): "file:line:col" or "--flag".
	// The key "" is the profile itself.
	where map[string]string
	// flagArgs are the profile flags it was resolved with (Flags.Args).
	flagArgs []string
	// impliedBy is the setting that made the auth type when auth.type was
	// not set ("auth.client_id", "--client-id"); "" when it was set.
	impliedBy string
}

// Auth is the auth: block of a profile.
type Auth struct {
	Type         string // the Name of an AuthType
	DiscoveryURL string
	TokenURL     string
	AuthorizeURL string
	RedirectURL  string
	ClientID     string
	Scopes       []string
	// Token is auth.token: TokenAccess (the default) or TokenID.
	Token string
	// AWSProfile (auth.aws_profile) is the ~/.aws/config profile of an
	// aws_iam profile; "" means the AWS chain's default.
	AWSProfile string
	// Region (auth.region) is the SigV4 signing region of an aws_iam
	// profile; "" means the one the Gateway URL names (SigningRegion).
	Region string
}

// SigningRegion is the region aws_iam signs for: auth.region, else the
// region of a Gateway URL of the form
// https://{id}.gateway.bedrock-agentcore.{region}.amazonaws.com/mcp, else "".
func (p *Profile) SigningRegion() string {
	if p.Auth.Region != "" {
		return p.Auth.Region
	}
	return GatewayURLRegion(p.GatewayURL)
}

// GatewayURLRegion returns the region an AgentCore Gateway URL names, or "".
func GatewayURLRegion(gatewayURL string) string {
	u, err := url.Parse(gatewayURL)
	if err != nil {
		return ""
	}
	labels := strings.Split(u.Hostname(), ".")
	for i := 0; i+2 < len(labels); i++ {
		if labels[i] == "bedrock-agentcore" && labels[i+2] == "amazonaws" && labels[i+1] != "" {
			return labels[i+1]
		}
	}
	return ""
}

// InjectRule is one inject: entry: fill argument with format applied to the
// named secret, on tools matching any of the globs; or, Via ViaHeader, send
// that value as the HTTP header named Argument on those tools' calls.
type InjectRule struct {
	Argument string
	Secret   string
	Format   string
	Tools    []string
	Via      string // one of InjectVias; ViaArgument by default
	// Source is where the secret's value comes from, one of
	// InjectSources; SourceKeychain by default.
	Source string
	// Command (secret_command) is the argv whose first line of stdout is
	// the value (SourceCommand), run without a shell.
	Command []string
	// CommandTimeout (command_timeout) bounds one run of Command; CacheTTL
	// (cache_ttl) is how long its value is used before it runs again.
	CommandTimeout time.Duration
	CacheTTL       time.Duration
	// OAuth (oauth) is the downstream API's OAuth login (SourceOAuth).
	OAuth InjectOAuth
}

// InjectOAuth is the oauth: block of an inject rule with source oauth: the
// downstream API's authorization-code + PKCE login, whose refresh token
// "agw-proxy login SECRET" stores.
type InjectOAuth struct {
	AuthorizeURL string
	TokenURL     string
	Issuer       string // for discovery of the two URLs above when not set
	ClientID     string
	Scopes       []string
	RedirectURL  string // a loopback URL registered with the provider's app
}

// Where an inject rule's secret comes from (InjectRule.Source).
const (
	SourceKeychain = "keychain" // stored with "agw-proxy login SECRET" (or the environment)
	SourceCommand  = "command"  // printed by secret_command
	SourceOAuth    = "oauth"    // an access token of the API's own OAuth login
)

// InjectSources are the values of an inject rule's source.
var InjectSources = []string{SourceKeychain, SourceCommand, SourceOAuth}

// Defaults of a command source.
const (
	DefaultCommandTimeout = 10 * time.Second
	DefaultCacheTTL       = 5 * time.Minute
)

// RuleOf returns the first inject rule that uses the named secret, or nil.
func (p *Profile) RuleOf(secret string) *InjectRule {
	for i := range p.Inject {
		if p.Inject[i].Secret == secret {
			return &p.Inject[i]
		}
	}
	return nil
}

// How an inject rule's value travels (InjectRule.Via).
const (
	// ViaArgument fills the tool argument (the default).
	ViaArgument = "argument"
	// ViaHeader sends the value as the HTTP header named by the argument,
	// for the Gateway to propagate (the target's
	// metadataConfiguration.allowedRequestHeaders must list it).
	ViaHeader = "header"
)

// InjectVias are the values of an inject rule's via.
var InjectVias = []string{ViaArgument, ViaHeader}

func New(name string) *Profile {
	return &Profile{Name: name, where: map[string]string{}}
}

// SecretNames returns the names of the secrets the inject rules use, in order,
// without repeats.
func (p *Profile) SecretNames() []string {
	var names []string
	for _, r := range p.Inject {
		if !slices.Contains(names, r.Secret) {
			names = append(names, r.Secret)
		}
	}
	return names
}

// Command is the exact command line to run for sub (login, logout, status)
// with this profile, ready to copy into a terminal: "agw-proxy SUB [ARG]",
// then --config and --profile when they differ from what a plain command in
// the user's shell would pick, then the other profile flags the profile was
// resolved with (a profile made of flags exists only in them), but not the
// timeouts, which no other command needs.
func (p *Profile) Command(sub, arg string) string {
	parts := []string{"agw-proxy", sub}
	if arg != "" {
		parts = append(parts, ShellQuote(arg))
	}
	if p.ConfigSet && p.InFile {
		parts = append(parts, "--config", ShellQuote(p.ConfigPath))
	}
	if p.Name != DefaultName || p.NameSet {
		parts = append(parts, "--profile", ShellQuote(p.Name))
	}
	for i := 0; i < len(p.flagArgs); i++ {
		if IsSwitch(p.flagArgs[i]) {
			parts = append(parts, p.flagArgs[i])
			continue
		}
		if i+1 == len(p.flagArgs) {
			break
		}
		switch p.flagArgs[i] {
		case "--config", "--profile", "--call-timeout", "--connect-timeout":
			i++
			continue
		}
		parts = append(parts, p.flagArgs[i], ShellQuote(p.flagArgs[i+1]))
		i++
	}
	return strings.Join(parts, " ")
}

// At returns where the setting key was set ("config.yaml:7:5", "--token-url"),
// or "" when it was not.
func (p *Profile) At(key string) string { return p.where[key] }

// Origin says where a setting came from, for messages: "config.yaml:7:5",
// "--token-url", or "not set".
func (p *Profile) Origin(key string) string {
	if at := p.where[key]; at != "" {
		return at
	}
	return "not set"
}

// FieldKey returns the config key of an inject rule's field
// ("inject[0].tools"), or the rule's own key when the field's position is not
// known.
func (p *Profile) FieldKey(rule, field string) string {
	if _, ok := p.where[rule+"."+field]; ok {
		return rule + "." + field
	}
	return rule
}

// ShellQuote quotes s for a POSIX shell when it needs it.
func ShellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@%+,", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// setDefaults fills what neither the file nor the flags set.
//
// The auth type, when not set, follows from the other auth settings: none
// when there are none (a Gateway without an inbound authorizer, the
// emulator); authorization_code when an authorize or a redirect URL is set,
// the two settings only a browser login uses; client_credentials otherwise.
// So a client ID without a token URL is an incomplete OAuth profile, which
// its auth type's check reports, never a silent "auth: none".
func (p *Profile) setDefaults() {
	if p.Auth.Type == "" {
		set := p.AuthSettings()
		switch {
		case len(set) == 0:
			p.Auth.Type = AuthNone
		case p.Auth.AWSProfile != "" || p.Auth.Region != "":
			p.Auth.Type = AuthAWSIAM
			key := "auth.aws_profile"
			if p.Auth.AWSProfile == "" {
				key = "auth.region"
			}
			p.impliedBy = p.settingName(key)
		case p.Auth.AuthorizeURL != "" || p.Auth.RedirectURL != "":
			p.Auth.Type = AuthAuthorizationCode
			key := "auth.authorize_url"
			if p.Auth.AuthorizeURL == "" {
				key = "auth.redirect_url"
			}
			p.impliedBy = p.settingName(key)
		default:
			p.Auth.Type = AuthClientCredentials
			p.impliedBy = p.settingName(set[0])
		}
		p.where["auth.type"] = p.where[""]
	}
	for i := range p.Inject {
		if p.Inject[i].Source == "" {
			p.Inject[i].Source = SourceKeychain
		}
		if p.Inject[i].Source == SourceCommand {
			if p.Inject[i].CommandTimeout == 0 {
				p.Inject[i].CommandTimeout = DefaultCommandTimeout
			}
			if p.Inject[i].CacheTTL == 0 {
				p.Inject[i].CacheTTL = DefaultCacheTTL
			}
		}
		if p.Inject[i].Format == "" {
			p.Inject[i].Format = DefaultFormat
		}
		if p.Inject[i].Via == "" && p.where[fmt.Sprintf("inject[%d].via", i)] == "" {
			p.Inject[i].Via = ViaArgument
		}
	}
	if p.CallTimeout == 0 && p.where["timeouts.call"] == "" {
		p.CallTimeout = DefaultCallTimeout
	}
	if p.ConnectTimeout == 0 && p.where["timeouts.connect"] == "" {
		p.ConnectTimeout = DefaultConnectTimeout
	}
	if p.Protocol == "" && p.where["protocol"] == "" {
		p.Protocol = ProtocolAuto
	}
	if p.ConsentTimeout == 0 && p.where["timeouts.consent"] == "" {
		p.ConsentTimeout = DefaultConsentTimeout
	}
	if p.where["open_browser"] == "" {
		p.OpenBrowser = true
	}
	if p.where["cache"] == "" {
		p.Cache = true
	}
}

// ConsentTool returns the consent_tools entry of the named target, or "".
func (p *Profile) ConsentTool(target string) string {
	for _, t := range p.ConsentTools {
		if before, _, ok := strings.Cut(t, "___"); ok && before == target {
			return t
		}
	}
	return ""
}

// AuthSettings returns the config keys of the auth settings that have a
// value, auth.type aside ("auth.client_id", "auth.scopes"), in the config
// file's order.
func (p *Profile) AuthSettings() []string {
	a := p.Auth
	var out []string
	for _, s := range []struct {
		key string
		set bool
	}{
		{"auth.discovery_url", a.DiscoveryURL != ""},
		{"auth.token_url", a.TokenURL != ""},
		{"auth.authorize_url", a.AuthorizeURL != ""},
		{"auth.redirect_url", a.RedirectURL != ""},
		{"auth.client_id", a.ClientID != ""},
		{"auth.scopes", len(a.Scopes) > 0},
		{"auth.token", a.Token != ""},
		{"auth.aws_profile", a.AWSProfile != ""},
		{"auth.region", a.Region != ""},
	} {
		if s.set {
			out = append(out, s.key)
		}
	}
	return out
}

// AuthImpliedBy returns the setting that made the auth type when auth.type
// was not set, as the user wrote it ("auth.client_id" in the file,
// "--client-id"), or "" when auth.type was set or nothing implied a type.
func (p *Profile) AuthImpliedBy() string { return p.impliedBy }

// settingName is how messages name the setting key: its flag when a flag
// set it ("--client-id"), else the key ("auth.client_id").
func (p *Profile) settingName(key string) string {
	if at := p.where[key]; strings.HasPrefix(at, "--") {
		return at
	}
	return key
}

// Problem returns a configError for the setting key, located where it was set.
func (p *Profile) Problem(key string, hints []string, format string, a ...any) *Error {
	at := p.where[key]
	if at == "" && strings.HasPrefix(key, "auth.") {
		// A missing auth setting is needed because of the auth type.
		at = p.where["auth.type"]
	}
	if at == "" {
		// Not set anywhere: point at the profile (or at nothing for flags only).
		at = p.where[""]
	}
	return &Error{at: at, key: key, msg: fmt.Sprintf(format, a...), hints: hints}
}

// validate checks every setting and returns all problems at once
// (errors.Join of *configError). A missing gateway URL is not a problem
// here: login and logout work without one; see requireGateway. checkAuth
// false skips the auth type's own check, for a command that uses no auth
// setting beyond the type (logout).
func (p *Profile) validate(types []AuthType, checkAuth bool) error {
	var errs []error
	add := func(err *Error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	if p.GatewayURL != "" {
		add(p.CheckURL("gateway_url", p.GatewayURL, false))
	}

	a := p.Auth
	t := findAuthType(types, a.Type)
	if t == nil {
		var names []string
		for _, t := range types {
			names = append(names, t.Name)
		}
		add(p.Problem("auth.type", []string{"valid types: " + strings.Join(names, ", ")}, "unknown auth type %q", a.Type))
	}
	for _, u := range []struct{ key, val string }{
		{"auth.discovery_url", a.DiscoveryURL},
		{"auth.token_url", a.TokenURL},
		{"auth.authorize_url", a.AuthorizeURL},
	} {
		if u.val != "" && a.Type != AuthNone {
			add(p.CheckURL(u.key, u.val, false))
		}
	}
	if t != nil && t.Check != nil && checkAuth {
		errs = append(errs, t.Check(p)...)
	}
	if a.Token != "" && !slices.Contains(Tokens, a.Token) {
		hints := []string{"valid values: " + strings.Join(Tokens, ", ")}
		if s := textdist.Nearest(a.Token, Tokens); s != "" {
			hints = append([]string{fmt.Sprintf("did you mean %q?", s)}, hints...)
		}
		add(p.Problem("auth.token", hints, "unknown token %q", a.Token))
	}
	for i, s := range a.Scopes {
		if s == "" || strings.ContainsAny(s, " \t\r\n\"\\") {
			add(p.Problem("auth.scopes", nil, "scope %d %q is not a valid OAuth scope", i+1, s))
		}
	}

	errs = append(errs, p.validateInject()...)

	if p.CallTimeout <= 0 {
		add(p.Problem("timeouts.call", nil, "must be positive, got %v", p.CallTimeout))
	}
	if p.ConnectTimeout <= 0 {
		add(p.Problem("timeouts.connect", nil, "must be positive, got %v", p.ConnectTimeout))
	}
	if p.ConsentTimeout <= 0 {
		add(p.Problem("timeouts.consent", nil, "must be positive, got %v", p.ConsentTimeout))
	}
	for i, t := range p.ConsentTools {
		if before, after, ok := strings.Cut(t, "___"); !ok || before == "" || after == "" {
			add(p.Problem("consent_tools", []string{"name a read-only tool of the target as the Gateway lists it, e.g. Asana3LO___getMe"}, "entry %d %q is not a Gateway tool name ({target}___{operation})", i+1, t))
		}
	}
	if !slices.Contains(Protocols, p.Protocol) {
		hints := []string{"valid values: " + strings.Join(Protocols, ", ")}
		if s := textdist.Nearest(p.Protocol, Protocols); s != "" {
			hints = append([]string{fmt.Sprintf("did you mean %q?", s)}, hints...)
		}
		add(p.Problem("protocol", hints, "unknown protocol %q", p.Protocol))
	}
	return errors.Join(errs...)
}

// validateInject checks the inject rules: each names an argument, a secret
// by a valid name and tool globs, and no argument is filled twice for the
// same glob.
func (p *Profile) validateInject() []error {
	var errs []error
	add := func(err *Error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	type pair struct{ arg, glob string }
	seen := map[pair]int{}
	for i, r := range p.Inject {
		key := fmt.Sprintf("inject[%d]", i)
		at := func(field string) string {
			if _, ok := p.where[key+"."+field]; ok {
				return key + "." + field
			}
			return key
		}
		if r.Argument == "" {
			add(p.Problem(at("argument"), nil, "needs an argument (the tool argument to fill, e.g. X-Asana-Token)"))
		} else if strings.TrimSpace(r.Argument) != r.Argument {
			add(p.Problem(at("argument"), nil, "argument %q has surrounding spaces", r.Argument))
		}
		switch {
		case r.Secret == "":
			add(p.Problem(at("secret"), nil, "needs a secret name (e.g. asana)"))
		case !ValidSecretName(r.Secret):
			// Never echo it: a user may have pasted the secret itself here.
			add(p.Problem(at("secret"), []string{
				`a secret is referred to by a name such as "asana"; store its value with "agw-proxy login NAME"`,
			}, "secret name must use only lowercase letters, digits, '-' and '_' (at most 64)"))
		case ReservedSecret(r.Secret):
			add(p.Problem(at("secret"), []string{"pick another name, e.g. asana"},
				"secret name %q is reserved for the Gateway's own credentials", r.Secret))
		}
		switch {
		case !slices.Contains(InjectVias, r.Via):
			hints := []string{"valid values: " + strings.Join(InjectVias, ", ") + ` (argument, the default, fills the tool argument; header sends the value as the HTTP header named by argument)`}
			if s := textdist.Nearest(r.Via, InjectVias); s != "" {
				hints = append([]string{fmt.Sprintf("did you mean %q?", s)}, hints...)
			}
			add(p.Problem(at("via"), hints, "unknown via %q", r.Via))
		case r.Via == ViaHeader && r.Argument != "":
			if why := httpheader.Problem(r.Argument); why != "" {
				add(p.Problem(at("argument"), []string{
					"with via: header the argument names the HTTP header the secret is sent in, one the target's metadataConfiguration.allowedRequestHeaders can list, e.g. X-Asana-Token",
				}, "argument %q cannot be sent as a header: it %s", r.Argument, why))
			}
		}
		for _, err := range p.validateSource(i, r, at) {
			add(err)
		}
		if !strings.Contains(r.Format, "{secret}") {
			add(p.Problem(at("format"), []string{`the default is "Bearer {secret}"; use "{secret}" for a raw key`},
				"format must contain {secret}"))
		}
		if len(r.Tools) == 0 {
			add(p.Problem(at("tools"), []string{
				`tools is required so a secret only reaches the targets you name, e.g. tools: ["AgentCoreGwyAPIGatewayTarget___*"]` +
					" (with flags: --inject-tools GLOB)",
			}, "needs tools: globs over Gateway tool names"))
		}
		for _, g := range r.Tools {
			if _, err := path.Match(g, ""); err != nil || g == "" {
				add(p.Problem(at("tools"), []string{"globs use * ? and [...], e.g. Target___*"}, "invalid tool glob %q", g))
				continue
			}
			k := pair{r.Argument, g}
			if j, dup := seen[k]; dup {
				add(p.Problem(at("tools"), nil, "argument %s for tools %q is already filled by inject rule %d", r.Argument, g, j+1))
			}
			seen[k] = i
		}
	}

	return errs
}

// MissingHints tells where to set a missing setting.
func (p *Profile) MissingHints(key, flag string) []string {
	if p.InFile {
		return []string{fmt.Sprintf("set %s in profile %q of %s, or pass %s", key, p.Name, p.ConfigPath, flag)}
	}
	return []string{"pass " + flag}
}

// RequireGateway reports a missing gateway URL, for the commands that need
// one; for a profile that nothing defines, it reports that (CheckDefined).
func (p *Profile) RequireGateway() error {
	if p.GatewayURL != "" {
		return nil
	}
	if err := p.CheckDefined(); err != nil {
		return err
	}
	hint := "pass --gateway-url URL (the Gateway's MCP endpoint, https://....gateway.bedrock-agentcore.REGION.amazonaws.com/mcp)"
	switch {
	case p.InFile:
		hint = fmt.Sprintf("set gateway_url in profile %q of %s, or pass --gateway-url URL", p.Name, p.ConfigPath)
	case p.ConfigPath == "":
		hint += `, or create a config file with "agw-proxy init" (an annotated example)`
	}
	return &Error{at: p.where[""], msg: fmt.Sprintf("no gateway URL for profile %q", p.Name), hints: []string{hint}}
}

// CheckDefined reports a profile that nothing defines: the config file is
// missing (or does not have the profile) and no profile flag sets anything.
// That is a first run, and the message says where the file was looked for
// and how to create it. The commands that need a profile (login without a
// SECRET, status, doctor, serve) get it through RequireGateway or call it.
func (p *Profile) CheckDefined() error {
	if p.InFile || p.setByFlags() {
		return nil
	}
	flagsHint := `or pass the profile flags: --gateway-url URL and the auth and inject flags ("agw-proxy serve --help" lists them)`
	switch {
	case p.ConfigPath != "":
		return &Error{msg: fmt.Sprintf("no profile %q in %s: the file defines no profiles", p.Name, p.ConfigPath), hints: []string{
			fmt.Sprintf(`add profile %q to it ("agw-proxy init --example" prints an annotated example)`, p.Name), flagsHint,
		}}
	case p.SearchedPath == "":
		return &Error{msg: "no config file: there is no user config directory ($HOME, or %AppData% on Windows, is not set)", hints: []string{
			`pass --config FILE; "agw-proxy init --config FILE" writes an annotated example there`, flagsHint,
		}}
	}
	return &Error{msg: "no config file at " + p.SearchedPath, hints: []string{
		`run "agw-proxy init" to write the annotated example there, then edit it for your Gateway`, flagsHint,
	}}
}

// setByFlags reports whether a profile flag other than --config and
// --profile was given.
func (p *Profile) setByFlags() bool {
	for i := 0; i < len(p.flagArgs); i += 2 {
		if f := p.flagArgs[i]; f != "--config" && f != "--profile" {
			return true
		}
	}
	return false
}

// validateSource checks an inject rule's source and the settings it needs,
// and that the rules sharing its secret agree on them.
func (p *Profile) validateSource(i int, r InjectRule, at func(string) string) []*Error {
	var errs []*Error
	add := func(e *Error) { errs = append(errs, e) }
	if !slices.Contains(InjectSources, r.Source) {
		hints := []string{"valid values: " + strings.Join(InjectSources, ", ") + " (keychain, the default, reads the value stored with \"agw-proxy login SECRET\"; command runs secret_command; oauth logs in to the API with its own OAuth)"}
		if s := textdist.Nearest(r.Source, InjectSources); s != "" {
			hints = append([]string{fmt.Sprintf("did you mean %q?", s)}, hints...)
		}
		return []*Error{p.Problem(at("source"), hints, "unknown source %q", r.Source)}
	}
	if r.Source != SourceCommand {
		for _, k := range []string{"secret_command", "command_timeout", "cache_ttl"} {
			if p.where[fmt.Sprintf("inject[%d].%s", i, k)] != "" {
				add(p.Problem(at(k), []string{"add source: command"}, "%s applies only to source: command", k))
			}
		}
	}
	if r.Source != SourceOAuth && p.where[fmt.Sprintf("inject[%d].oauth", i)] != "" {
		add(p.Problem(at("oauth"), []string{"add source: oauth"}, "oauth applies only to source: oauth"))
	}
	switch r.Source {
	case SourceCommand:
		if len(r.Command) == 0 || r.Command[0] == "" {
			k := at("secret_command")
			if !strings.HasSuffix(k, ".secret_command") {
				k = at("source")
			}
			add(p.Problem(k, []string{
				`e.g. secret_command: ["op", "read", "op://Private/Asana/token"] (no shell: one list item per argument; with flags: --inject-command 'op read op://Private/Asana/token')`,
			}, "source command needs secret_command, the command that prints the secret"))
		}
		if r.CommandTimeout < 0 {
			add(p.Problem(at("command_timeout"), nil, "command_timeout must be positive"))
		}
		if r.CacheTTL < 0 {
			add(p.Problem(at("cache_ttl"), nil, "cache_ttl must be positive"))
		}
	case SourceOAuth:
		o := r.OAuth
		key := func(k string) string {
			if _, ok := p.where[fmt.Sprintf("inject[%d].oauth.%s", i, k)]; ok {
				return fmt.Sprintf("inject[%d].oauth.%s", i, k)
			}
			return at("oauth")
		}
		if o.ClientID == "" {
			add(p.Problem(key("client_id"), []string{"the client ID of the OAuth app you registered with the API's provider"}, "source oauth needs oauth.client_id"))
		}
		if o.Issuer == "" && (o.AuthorizeURL == "" || o.TokenURL == "") {
			add(p.Problem(key("token_url"), []string{"set oauth.authorize_url and oauth.token_url, or oauth.issuer for OpenID discovery"}, "source oauth needs the provider's authorize and token URLs, or its issuer"))
		}
		for k, u := range map[string]string{"authorize_url": o.AuthorizeURL, "token_url": o.TokenURL, "issuer": o.Issuer} {
			if u != "" {
				if err := p.CheckURL(key(k), u, false); err != nil {
					add(err)
				}
			}
		}
		if o.RedirectURL == "" {
			add(p.Problem(key("redirect_url"), []string{"register a loopback redirect URL with the app, e.g. http://localhost:8502/"}, "source oauth needs oauth.redirect_url"))
		} else if err := p.CheckURL(key("redirect_url"), o.RedirectURL, true); err != nil {
			add(err)
		}
	}
	for j := range i {
		q := p.Inject[j]
		if q.Secret == r.Secret && (q.Source != r.Source || !slices.Equal(q.Command, r.Command) || q.CommandTimeout != r.CommandTimeout ||
			q.CacheTTL != r.CacheTTL || !sameOAuth(q.OAuth, r.OAuth)) {
			add(p.Problem(at("source"), []string{"give the rules one source, or different secret names"},
				"inject rule %d uses secret %q with another source or source settings", j+1, r.Secret))
			break
		}
	}
	return errs
}

func sameOAuth(a, b InjectOAuth) bool {
	return a.AuthorizeURL == b.AuthorizeURL && a.TokenURL == b.TokenURL && a.Issuer == b.Issuer &&
		a.ClientID == b.ClientID && slices.Equal(a.Scopes, b.Scopes) && a.RedirectURL == b.RedirectURL
}

// ValidSecretName reports whether name can name a secret: it becomes part of
// a keychain entry and of an environment variable name.
func ValidSecretName(name string) bool {
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

// CheckURL validates a URL setting: absolute, with a host, and https:// unless
// the host is loopback (the emulator, a local tunnel). A redirect URL is the
// proxy's own listener: http:// on a loopback host.
func (p *Profile) CheckURL(key, raw string, redirect bool) *Error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Scheme == "" {
		return p.Problem(key, nil, "%q is not an absolute URL", raw)
	}
	if u.User != nil {
		return p.Problem(key, nil, "URL must not carry user info")
	}
	if redirect {
		if u.Scheme != "http" || !IsLoopback(u.Hostname()) {
			return p.Problem(key, []string{"use the local callback registered on the app client, e.g. http://localhost:8501/"},
				"redirect URL must be http:// on localhost or a loopback address (agw-proxy listens there)")
		}
		return nil
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !IsLoopback(u.Hostname()) {
			return p.Problem(key, []string{"http:// is allowed only for loopback hosts (localhost, 127.0.0.0/8, ::1)"},
				"must use https://")
		}
	default:
		return p.Problem(key, nil, "unsupported URL scheme %q: use https://", u.Scheme)
	}
	return nil
}

// IsLoopback reports whether host is localhost, in 127.0.0.0/8, or ::1.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ConfigPathOr is the config file the profile was read from, else fallback.
func (p *Profile) ConfigPathOr(fallback string) string {
	if p.ConfigPath != "" {
		return p.ConfigPath
	}
	return fallback
}

func findAuthType(types []AuthType, name string) *AuthType {
	for i := range types {
		if types[i].Name == name {
			return &types[i]
		}
	}
	return nil
}

// InjectArgs lists the tool arguments that secret fills and the headers it
// is sent in, for messages ("X-Asana-Token, header X-Other").
func (p *Profile) InjectArgs(secret string) string {
	var out string
	for _, r := range p.Inject {
		if r.Secret != secret {
			continue
		}
		if out != "" {
			out += ", "
		}
		if r.Via == ViaHeader {
			out += "header "
		}
		out += r.Argument
	}
	return out
}
