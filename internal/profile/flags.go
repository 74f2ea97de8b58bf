package profile

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// Environment variables that choose the config file and the profile.
const (
	EnvConfig  = "AGW_PROXY_CONFIG"
	EnvProfile = "AGW_PROXY_PROFILE"
)

// Flags are the flags that select and override a profile. Each command
// takes the groups of them it uses:
//
//	fs := pflag.NewFlagSet("status", pflag.ContinueOnError)
//	pf := profile.AddFlags(fs, profile.AllFlags)
//	usage := "..." + profile.FlagsUsage(profile.AllFlags) + "..."
//	_ = fs.Parse(args)
//	p, err := pf.Resolve(env, types)
type Flags struct {
	fs     *pflag.FlagSet
	groups Groups

	config, profile                     string
	gatewayURL, authType, discoveryURL  string
	tokenURL, authorizeURL, redirectURL string
	clientID                            string
	authToken, awsProfile, region       string
	scopes, inject, injectTools         []string
	injectFormat, injectVia             string
	injectSource, injectCommand         string
	injectCommandTimeout, injectTTL     time.Duration
	injectOAuth                         InjectOAuth
	callTimeout, connectTimeout         time.Duration
	caFile                              string
	protocol                            string
	noCache                             bool
}

// Groups are sets of profile flags: a command registers (AddFlags) and
// documents (FlagsUsage) the groups it uses, and only those.
type Groups uint

const (
	// SelectionFlags are --config and --profile: which profile.
	SelectionFlags Groups = 1 << 0
	// AuthTypeFlag is --auth-type alone, for a command that needs to know
	// which Gateway credential a profile keeps but uses no other auth
	// setting (logout); its profile's auth is not checked further.
	AuthTypeFlag Groups = 1 << 1
	// GatewayFlags are the Gateway and how to authenticate to it:
	// --gateway-url, --auth-type and every other auth flag, --ca-file,
	// --protocol.
	GatewayFlags Groups = gatewayOnly | AuthTypeFlag
	// InjectFlags are --inject, --inject-tools, --inject-format,
	// --inject-via, --inject-source and the source's settings.
	InjectFlags Groups = 1 << 3
	// TimeoutFlags are --call-timeout and --connect-timeout.
	TimeoutFlags Groups = 1 << 4
	// CacheFlags is --no-cache.
	CacheFlags Groups = 1 << 5
	// AllFlags is every profile flag (serve, status, doctor, mcp-config).
	AllFlags = SelectionFlags | GatewayFlags | InjectFlags | TimeoutFlags | CacheFlags

	gatewayOnly Groups = 1 << 2
)

// flagDocs are the lines of the usage text, flag by flag in the order help
// shows them, each with its group.
var flagDocs = [...]struct {
	group Groups
	text  string
}{
	{SelectionFlags, `    --config FILE          Config file (default $AGW_PROXY_CONFIG, else
                           <user config dir>/agw-proxy/config.yaml)
`},
	{SelectionFlags, `    --profile NAME         Profile in the config file, also the keychain namespace
                           (default $AGW_PROXY_PROFILE, else "default")
`},
	{gatewayOnly, `    --gateway-url URL      Gateway MCP endpoint (https://, or http:// on loopback)
`},
	{AuthTypeFlag, `    --auth-type TYPE       client_credentials, authorization_code, aws_iam or none
                           (default none when no other auth option is set; aws_iam
                           with an AWS profile or region; authorization_code with an
                           authorize or redirect URL; else client_credentials)
`},
	{gatewayOnly, `    --discovery-url URL    OpenID discovery document of the Cognito user pool
`},
	{gatewayOnly, `    --token-url URL        Cognito token endpoint (else from discovery)
`},
	{gatewayOnly, `    --authorize-url URL    Cognito authorize endpoint (authorization_code; else from discovery)
`},
	{gatewayOnly, `    --redirect-url URL     Local callback registered on the app client (authorization_code)
`},
	{gatewayOnly, `    --client-id ID         Cognito app client ID
`},
	{gatewayOnly, `    --scope SCOPE          OAuth scope to request (repeatable)
`},
	{gatewayOnly, `    --auth-token KIND      Cognito token sent to the Gateway (authorization_code): access
                           (the default) or id (an authorizer with allowedAudience)
`},
	{gatewayOnly, `    --aws-profile NAME     AWS profile of ~/.aws/config for SigV4 (aws_iam; default
                           $AWS_PROFILE, else the AWS default chain)
`},
	{gatewayOnly, `    --region R             SigV4 signing region (aws_iam; default the Gateway URL's)
`},
	{InjectFlags, `    --inject ARG=SECRET    Fill tool argument ARG from the stored secret SECRET (repeatable;
                           replaces the config file's inject rules)
`},
	{InjectFlags, `    --inject-tools GLOB    Tools the --inject rules apply to (repeatable, required with --inject)
`},
	{InjectFlags, `    --inject-format FMT    Value format for the --inject rules (default "Bearer {secret}")
`},
	{InjectFlags, `    --inject-via MODE      How the --inject rules send the value: argument (fill the tool
                           argument; the default) or header (the HTTP header named ARG)
`},
	{InjectFlags, `    --inject-source SRC    Where the --inject rules' secret comes from: keychain (the
                           default), command (--inject-command) or oauth (the API's own
                           OAuth login: --inject-oauth-*, then "agw-proxy login SECRET")
`},
	{InjectFlags, `    --inject-command CMD   The command that prints the secret (source command): words
                           split on blanks, no shell; or a JSON array of them
`},
	{InjectFlags, `    --inject-command-timeout D
                           Time limit for one run of it (default 10s)
`},
	{InjectFlags, `    --inject-cache-ttl D   How long its output is used before it runs again (default 5m)
`},
	{InjectFlags, `    --inject-oauth-client-id ID
                           Client ID of the API's OAuth app (source oauth)
`},
	{InjectFlags, `    --inject-oauth-authorize-url URL
                           The API's OAuth authorize endpoint
`},
	{InjectFlags, `    --inject-oauth-token-url URL
                           The API's OAuth token endpoint
`},
	{InjectFlags, `    --inject-oauth-issuer URL
                           Its issuer, for OpenID discovery of both endpoints instead
`},
	{InjectFlags, `    --inject-oauth-scope SCOPE
                           OAuth scope to request from the API (repeatable)
`},
	{InjectFlags, `    --inject-oauth-redirect-url URL
                           Loopback callback registered with the app, e.g. http://localhost:8502/
`},
	{TimeoutFlags, `    --call-timeout D       Time limit for one tool call (default 300s)
`},
	{TimeoutFlags, `    --connect-timeout D    Time limit for connecting to the Gateway (default 30s)
`},
	{gatewayOnly, `    --ca-file FILE         Extra PEM CA certificates to trust for HTTPS
`},
	{gatewayOnly, `    --protocol REV         MCP revision with the Gateway: auto (2026-07-28 when the Gateway
                           offers it, else 2025-11-25; the default), 2026-07-28 or 2025-11-25
`},
	{CacheFlags, `    --no-cache             Keep no tool list between runs: the first tools/list waits for
                           the Gateway (also cache: false in the profile)
`},
}

// FlagsUsage documents the flags AddFlags registers for groups: the block
// of a command's usage text.
func FlagsUsage(groups Groups) string {
	var b strings.Builder
	b.WriteString("Profile options (override the config file):\n")
	for _, d := range flagDocs {
		if groups&d.group != 0 {
			b.WriteString(d.text)
		}
	}
	return b.String()
}

// AddFlags registers the profile flags on fs: those of groups, which the
// command uses and documents, and the others hidden. A hidden flag is still
// accepted, so that the hints of other commands (Profile.Command, which
// carries every flag a profile was resolved from) and a user's scripts work
// with every command; it is not listed in its help.
func AddFlags(fs *pflag.FlagSet, groups Groups) *Flags {
	f := &Flags{fs: fs, groups: groups}
	fs.StringVar(&f.config, "config", "", "Config file")
	fs.StringVar(&f.profile, "profile", "", "Profile name")
	fs.StringVar(&f.gatewayURL, "gateway-url", "", "Gateway MCP endpoint")
	fs.StringVar(&f.authType, "auth-type", "", "Gateway auth type")
	fs.StringVar(&f.discoveryURL, "discovery-url", "", "OpenID discovery URL")
	fs.StringVar(&f.tokenURL, "token-url", "", "Cognito token endpoint")
	fs.StringVar(&f.authorizeURL, "authorize-url", "", "Cognito authorize endpoint")
	fs.StringVar(&f.redirectURL, "redirect-url", "", "Local callback URL")
	fs.StringVar(&f.clientID, "client-id", "", "Cognito app client ID")
	stringArrayVar(fs, &f.scopes, "scope", "OAuth scope (repeatable)")
	fs.StringVar(&f.authToken, "auth-token", "", "Cognito token to send: access or id")
	fs.StringVar(&f.awsProfile, "aws-profile", "", "AWS profile (aws_iam)")
	fs.StringVar(&f.region, "region", "", "SigV4 signing region (aws_iam)")
	fs.StringVar(&f.caFile, "ca-file", "", "Extra PEM CA certificates")
	fs.StringVar(&f.protocol, "protocol", "", "MCP revision with the Gateway")
	stringArrayVar(fs, &f.inject, "inject", "ARG=SECRET (repeatable)")
	stringArrayVar(fs, &f.injectTools, "inject-tools", "Tool glob for --inject (repeatable)")
	fs.StringVar(&f.injectFormat, "inject-format", "", "Value format for --inject")
	fs.StringVar(&f.injectVia, "inject-via", "", "argument or header, for --inject")
	fs.StringVar(&f.injectSource, "inject-source", "", "keychain, command or oauth, for --inject")
	fs.StringVar(&f.injectCommand, "inject-command", "", "Command that prints the secret, for --inject")
	fs.DurationVar(&f.injectCommandTimeout, "inject-command-timeout", 0, "Time limit of --inject-command")
	fs.DurationVar(&f.injectTTL, "inject-cache-ttl", 0, "How long --inject-command's output is used")
	fs.StringVar(&f.injectOAuth.AuthorizeURL, "inject-oauth-authorize-url", "", "OAuth authorize URL, for --inject")
	fs.StringVar(&f.injectOAuth.TokenURL, "inject-oauth-token-url", "", "OAuth token URL, for --inject")
	fs.StringVar(&f.injectOAuth.Issuer, "inject-oauth-issuer", "", "OAuth issuer (discovery), for --inject")
	fs.StringVar(&f.injectOAuth.ClientID, "inject-oauth-client-id", "", "OAuth client ID, for --inject")
	stringArrayVar(fs, &f.injectOAuth.Scopes, "inject-oauth-scope", "OAuth scope, for --inject (repeatable)")
	fs.StringVar(&f.injectOAuth.RedirectURL, "inject-oauth-redirect-url", "", "OAuth loopback redirect URL, for --inject")
	fs.DurationVar(&f.callTimeout, "call-timeout", 0, "Tool call time limit")
	fs.DurationVar(&f.connectTimeout, "connect-timeout", 0, "Gateway connect time limit")
	fs.BoolVar(&f.noCache, "no-cache", false, "Keep no tool list between runs")
	for _, g := range []struct {
		group Groups
		flags []string
	}{
		{SelectionFlags, []string{"config", "profile"}},
		{AuthTypeFlag, []string{"auth-type"}},
		{gatewayOnly, []string{"gateway-url", "discovery-url", "token-url", "authorize-url", "redirect-url", "client-id", "scope", "auth-token", "aws-profile", "region", "ca-file", "protocol"}},
		{InjectFlags, append([]string{"inject", "inject-tools", "inject-format", "inject-via"}, injectSourceFlags...)},
		{TimeoutFlags, []string{"call-timeout", "connect-timeout"}},
		{CacheFlags, []string{"no-cache"}},
	} {
		if groups&g.group == 0 {
			for _, name := range g.flags {
				_ = fs.MarkHidden(name)
			}
		}
	}
	return f
}

// Args returns the profile flags that were set, as command-line arguments in
// a fixed order (for mcp-config, which writes them into a client's Args):
// each a flag and its value, but a switch (IsSwitch) alone.
func (f *Flags) Args() []string {
	var out []string
	for _, name := range []string{
		"config", "profile", "gateway-url", "auth-type", "discovery-url", "token-url",
		"authorize-url", "redirect-url", "client-id", "scope", "auth-token", "aws-profile", "region", "inject", "inject-tools",
		"inject-format", "inject-via", "inject-source", "inject-command", "inject-command-timeout", "inject-cache-ttl",
		"inject-oauth-authorize-url", "inject-oauth-token-url", "inject-oauth-issuer", "inject-oauth-client-id",
		"inject-oauth-scope", "inject-oauth-redirect-url", "call-timeout", "connect-timeout", "ca-file", "protocol",
		"no-cache",
	} {
		fl := f.fs.Lookup(name)
		if fl == nil || !fl.Changed {
			continue
		}
		if fl.Value.Type() == "bool" {
			if fl.Value.String() == "true" {
				out = append(out, "--"+name)
			} else {
				out = append(out, "--"+name+"=false")
			}
			continue
		}
		if sv, ok := fl.Value.(pflag.SliceValue); ok {
			for _, v := range sv.GetSlice() {
				out = append(out, "--"+name, v)
			}
			continue
		}
		out = append(out, "--"+name, fl.Value.String())
	}
	return out
}

// IsSwitch reports whether arg, one of Args, is a boolean flag, which takes
// no value after it ("--no-cache", "--no-cache=false"). A new boolean flag
// belongs here too (TestIsSwitchKnowsEveryBooleanFlag).
func IsSwitch(arg string) bool {
	name, _, _ := strings.Cut(arg, "=")
	return name == "--no-cache"
}

// configPath returns the config file to read and whether the user named it
// (a named file must exist; the default one may be missing).
// Env is what resolving a profile reads outside the flags: the environment
// and the user's config directory.
type Env struct {
	Getenv func(string) string
	// ConfigDir is os.UserConfigDir unless a test replaces it.
	ConfigDir func() (string, error)
}

func (f *Flags) configPath(e Env) (path string, named bool, err error) {
	if f.fs.Changed("config") {
		if f.config == "" {
			return "", false, &Error{at: "--config", msg: "empty file name"}
		}
		return f.config, true, nil
	}
	path, named, err = ConfigFile(e)
	if err != nil {
		// No config dir (no $HOME): flags alone still make a profile.
		return "", false, nil
	}
	return path, named, nil
}

// ConfigFile returns the config file the commands read when --config is not
// given: $AGW_PROXY_CONFIG (named is true), else config.yaml in the
// agw-proxy folder of the user's config directory. The error says there is
// no user config directory.
func ConfigFile(e Env) (path string, named bool, err error) {
	if v := e.Getenv(EnvConfig); v != "" {
		return v, true, nil
	}
	dir, err := e.ConfigDir()
	if err != nil {
		return "", false, err
	}
	return filepath.Join(dir, "agw-proxy", "config.yaml"), false, nil
}

// Resolve finds the config file and the profile, applies the flags that were
// set, fills defaults and validates. Rules:
//   - a config file named by --config or $AGW_PROXY_CONFIG must exist; the
//     default one may be missing (flags alone make a complete profile);
//   - a profile not in an existing file that defines profiles is an error
//     listing them, unless --gateway-url is given: then the flags make the
//     profile on their own and the name only namespaces the keychain entries.
func (f *Flags) Resolve(e Env, types []AuthType) (*Profile, error) {
	cfgPath, named, err := f.configPath(e)
	if err != nil {
		return nil, err
	}
	name, nameSet := DefaultName, false
	nameAt := ""
	switch {
	case f.fs.Changed("profile"):
		name, nameSet, nameAt = f.profile, true, "--profile"
	case e.Getenv(EnvProfile) != "":
		name, nameSet, nameAt = e.Getenv(EnvProfile), true, "$"+EnvProfile
	}
	if err := checkProfileName(name); err != nil {
		return nil, &Error{at: nameAt, msg: fmt.Sprintf("profile name %q: %v", name, err)}
	}

	searched := cfgPath
	var cfg *File
	if cfgPath != "" {
		cfg, err = Load(cfgPath)
		switch {
		case err == nil:
		case errors.Is(err, fs.ErrNotExist) && !named:
			cfg, cfgPath = nil, ""
		case errors.Is(err, fs.ErrNotExist):
			src, create := "--config", "agw-proxy init --config "+ShellQuote(cfgPath)
			if !f.fs.Changed("config") {
				src, create = "$"+EnvConfig, "agw-proxy init"
			}
			return nil, &Error{msg: fmt.Sprintf("config file %s (from %s) does not exist", cfgPath, src),
				hints: []string{fmt.Sprintf("create it with %q (the annotated example), or drop %s to use flags alone", create, src)}}
		default:
			return nil, err
		}
	}

	var p *Profile
	if cfg != nil {
		if fp, ok := cfg.profiles[name]; ok {
			p = fp
		} else if len(cfg.names) > 0 && !f.fs.Changed("gateway-url") {
			return nil, &Error{at: nameAt, msg: fmt.Sprintf("no profile %q in %s", name, cfg.path), hints: []string{
				fmt.Sprintf("profiles in the file: %s; choose one with --profile NAME", someNames(cfg.names, name)),
			}}
		}
	}
	if p == nil {
		p = New(name)
		if cfg != nil {
			p.ConfigPath = cfg.path
		}
	}
	p.NameSet = nameSet
	p.ConfigSet = named
	p.SearchedPath = searched
	if err := f.apply(p); err != nil {
		return nil, err
	}
	p.flagArgs = f.Args()
	p.setDefaults()
	// A command without the Gateway flags uses no auth setting beyond the
	// type, and could not complete one from its flags.
	if err := p.validate(types, f.groups&gatewayOnly != 0); err != nil {
		return nil, err
	}
	return p, nil
}

// apply copies the flags that were set over the profile.
func (f *Flags) apply(p *Profile) error {
	str := func(flag, key string, val string, dst *string) {
		if f.fs.Changed(flag) {
			*dst = val
			p.where[key] = "--" + flag
		}
	}
	str("gateway-url", "gateway_url", f.gatewayURL, &p.GatewayURL)
	str("auth-type", "auth.type", f.authType, &p.Auth.Type)
	str("discovery-url", "auth.discovery_url", f.discoveryURL, &p.Auth.DiscoveryURL)
	str("token-url", "auth.token_url", f.tokenURL, &p.Auth.TokenURL)
	str("authorize-url", "auth.authorize_url", f.authorizeURL, &p.Auth.AuthorizeURL)
	str("redirect-url", "auth.redirect_url", f.redirectURL, &p.Auth.RedirectURL)
	str("client-id", "auth.client_id", f.clientID, &p.Auth.ClientID)
	str("auth-token", "auth.token", f.authToken, &p.Auth.Token)
	str("aws-profile", "auth.aws_profile", f.awsProfile, &p.Auth.AWSProfile)
	str("region", "auth.region", f.region, &p.Auth.Region)
	str("protocol", "protocol", f.protocol, &p.Protocol)
	if f.fs.Changed("ca-file") {
		p.CAFile = ResolvePath("", f.caFile)
		p.where["ca_file"] = "--ca-file"
	}
	if f.fs.Changed("scope") {
		// "a b" is two scopes, as in OAuth's space-separated scope parameter.
		p.Auth.Scopes = []string{}
		for _, s := range f.scopes {
			p.Auth.Scopes = append(p.Auth.Scopes, strings.Fields(s)...)
		}
		p.where["auth.scopes"] = "--scope"
	}
	if f.fs.Changed("no-cache") {
		p.Cache = !f.noCache
		p.where["cache"] = "--no-cache"
	}
	if f.fs.Changed("call-timeout") {
		p.CallTimeout = f.callTimeout
		p.where["timeouts.call"] = "--call-timeout"
	}
	if f.fs.Changed("connect-timeout") {
		p.ConnectTimeout = f.connectTimeout
		p.where["timeouts.connect"] = "--connect-timeout"
	}

	if !f.fs.Changed("inject") {
		for _, flag := range append([]string{"inject-tools", "inject-format", "inject-via"}, injectSourceFlags...) {
			if f.fs.Changed(flag) {
				return &Error{at: "--" + flag, msg: "applies only to rules given with --inject",
					hints: []string{"add --inject ARG=SECRET, e.g. --inject X-Asana-Token=asana"}}
			}
		}
		return nil
	}
	p.Inject = []InjectRule{}
	for k := range p.where {
		if strings.HasPrefix(k, "inject") {
			delete(p.where, k)
		}
	}
	for i, v := range f.inject {
		arg, secret, ok := strings.Cut(v, "=")
		if !ok {
			// Do not echo v: it might be a secret pasted by mistake.
			return &Error{at: "--inject", msg: fmt.Sprintf("value %d is not ARG=SECRET", i+1),
				hints: []string{"e.g. --inject X-Asana-Token=asana, where asana names a secret stored with \"agw-proxy login asana\""}}
		}
		key := fmt.Sprintf("inject[%d]", i)
		p.where[key] = "--inject"
		p.where[key+".argument"] = "--inject"
		p.where[key+".secret"] = "--inject"
		if f.fs.Changed("inject-tools") {
			p.where[key+".tools"] = "--inject-tools"
		}
		if f.fs.Changed("inject-format") {
			p.where[key+".format"] = "--inject-format"
		}
		if f.fs.Changed("inject-via") {
			p.where[key+".via"] = "--inject-via"
		}
		r := InjectRule{
			Argument:       arg,
			Secret:         secret,
			Format:         f.injectFormat,
			Tools:          f.injectTools,
			Via:            f.injectVia,
			Source:         f.injectSource,
			CommandTimeout: f.injectCommandTimeout,
			CacheTTL:       f.injectTTL,
		}
		if f.fs.Changed("inject-command") {
			argv, err := splitCommand(f.injectCommand)
			if err != nil {
				return &Error{at: "--inject-command", msg: err.Error(),
					hints: []string{`e.g. --inject-command 'op read op://Private/Asana/token', or --inject-command '["vault", "kv", "get", "-field=token", "secret/asana"]'`}}
			}
			r.Command = argv
		}
		for k, flag := range map[string]string{
			"source": "inject-source", "secret_command": "inject-command", "command_timeout": "inject-command-timeout",
			"cache_ttl": "inject-cache-ttl", "oauth.authorize_url": "inject-oauth-authorize-url",
			"oauth.token_url": "inject-oauth-token-url", "oauth.issuer": "inject-oauth-issuer",
			"oauth.client_id": "inject-oauth-client-id", "oauth.scopes": "inject-oauth-scope",
			"oauth.redirect_url": "inject-oauth-redirect-url",
		} {
			if f.fs.Changed(flag) {
				p.where[key+"."+k] = "--" + flag
				if strings.HasPrefix(k, "oauth.") {
					p.where[key+".oauth"] = "--" + flag
				}
			}
		}
		r.OAuth = f.injectOAuth
		r.OAuth.Scopes = nil
		for _, s := range f.injectOAuth.Scopes {
			r.OAuth.Scopes = append(r.OAuth.Scopes, strings.Fields(s)...)
		}
		p.Inject = append(p.Inject, r)
	}
	return nil
}

// injectSourceFlags are the flags of the --inject rules' source.
var injectSourceFlags = []string{
	"inject-source", "inject-command", "inject-command-timeout", "inject-cache-ttl",
	"inject-oauth-authorize-url", "inject-oauth-token-url", "inject-oauth-issuer",
	"inject-oauth-client-id", "inject-oauth-scope", "inject-oauth-redirect-url",
}

// splitCommand reads --inject-command: a JSON array of strings, or words
// separated by blanks (no shell, no quoting).
func splitCommand(v string) ([]string, error) {
	if strings.HasPrefix(strings.TrimSpace(v), "[") {
		var argv []string
		if err := json.Unmarshal([]byte(v), &argv); err != nil {
			return nil, errors.New("is not a JSON array of strings")
		}
		return argv, nil
	}
	argv := strings.Fields(v)
	if len(argv) == 0 {
		return nil, errors.New("is empty")
	}
	return argv, nil
}

// stringArrayVar is fs.StringArrayVar: a repeatable flag whose every use
// adds a value, the first replacing the default (nil here). pflag's own
// value formats its default at registration through encoding/csv, tens of
// microseconds of every start before stdin is read; this one writes the
// empty default as it would ("[]").
func stringArrayVar(fs *pflag.FlagSet, p *[]string, name, usage string) {
	*p = nil
	fs.Var(&stringArray{value: p}, name, usage)
}

// stringArray is pflag's stringArrayValue, but for String of no values.
type stringArray struct {
	value   *[]string
	changed bool
}

func (s *stringArray) Set(val string) error {
	if !s.changed {
		*s.value = []string{val}
		s.changed = true
	} else {
		*s.value = append(*s.value, val)
	}
	return nil
}

func (s *stringArray) Append(val string) error {
	*s.value = append(*s.value, val)
	return nil
}

func (s *stringArray) Replace(val []string) error {
	*s.value = append([]string{}, val...)
	return nil
}

func (s *stringArray) GetSlice() []string { return append([]string{}, *s.value...) }

func (s *stringArray) Type() string { return "stringArray" }

func (s *stringArray) String() string {
	if len(*s.value) == 0 {
		return "[]"
	}
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write(*s.value)
	w.Flush()
	return "[" + strings.TrimSuffix(b.String(), "\n") + "]"
}
