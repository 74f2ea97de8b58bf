package profile

import (
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

// Flags are the flags that select and override a profile. serve,
// login, status, doctor and mcp-config all take them:
//
//	fs := pflag.NewFlagSet("status", pflag.ContinueOnError)
//	pf := addProfileFlags(fs)
//	if code, done := parseFlags(e, fs, statusUsage, args); done { return code }
//	p, err := pf.resolve(e)
//	if err != nil { return fail(e, err) }
//
// profileFlagsUsage is the matching block of usage text.
type Flags struct {
	fs *pflag.FlagSet

	config, profile                     string
	gatewayURL, authType, discoveryURL  string
	tokenURL, authorizeURL, redirectURL string
	clientID                            string
	scopes, inject, injectTools         []string
	injectFormat                        string
	callTimeout, connectTimeout         time.Duration
	caFile                              string
}

// FlagsUsage documents addProfileFlags' flags, for a command's usage text.
const FlagsUsage = `Profile options (override the config file):
    --config FILE          Config file (default $AGW_PROXY_CONFIG, else
                           <user config dir>/agw-proxy/config.yaml)
    --profile NAME         Profile in the config file, also the keychain namespace
                           (default $AGW_PROXY_PROFILE, else "default")
    --gateway-url URL      Gateway MCP endpoint (https://, or http:// on loopback)
    --auth-type TYPE       client_credentials, authorization_code or none (default
                           client_credentials when a token or discovery URL is set)
    --discovery-url URL    OpenID discovery document of the Cognito user pool
    --token-url URL        Cognito token endpoint (else from discovery)
    --authorize-url URL    Cognito authorize endpoint (authorization_code; else from discovery)
    --redirect-url URL     Local callback registered on the app client (authorization_code)
    --client-id ID         Cognito app client ID
    --scope SCOPE          OAuth scope to request (repeatable)
    --inject ARG=SECRET    Fill tool argument ARG from the stored secret SECRET (repeatable;
                           replaces the config file's inject rules)
    --inject-tools GLOB    Tools the --inject rules apply to (repeatable, required with --inject)
    --inject-format FMT    Value format for the --inject rules (default "Bearer {secret}")
    --call-timeout D       Time limit for one tool call (default 300s)
    --connect-timeout D    Time limit for connecting to the Gateway (default 30s)
    --ca-file FILE         Extra PEM CA certificates to trust for HTTPS
`

// AddFlags registers the profile flags on fs.
func AddFlags(fs *pflag.FlagSet) *Flags {
	f := &Flags{fs: fs}
	fs.StringVar(&f.config, "config", "", "Config file")
	fs.StringVar(&f.profile, "profile", "", "Profile name")
	fs.StringVar(&f.gatewayURL, "gateway-url", "", "Gateway MCP endpoint")
	fs.StringVar(&f.authType, "auth-type", "", "Gateway auth type")
	fs.StringVar(&f.discoveryURL, "discovery-url", "", "OpenID discovery URL")
	fs.StringVar(&f.tokenURL, "token-url", "", "Cognito token endpoint")
	fs.StringVar(&f.authorizeURL, "authorize-url", "", "Cognito authorize endpoint")
	fs.StringVar(&f.redirectURL, "redirect-url", "", "Local callback URL")
	fs.StringVar(&f.clientID, "client-id", "", "Cognito app client ID")
	fs.StringArrayVar(&f.scopes, "scope", nil, "OAuth scope (repeatable)")
	fs.StringArrayVar(&f.inject, "inject", nil, "ARG=SECRET (repeatable)")
	fs.StringArrayVar(&f.injectTools, "inject-tools", nil, "Tool glob for --inject (repeatable)")
	fs.StringVar(&f.injectFormat, "inject-format", "", "Value format for --inject")
	fs.DurationVar(&f.callTimeout, "call-timeout", 0, "Tool call time limit")
	fs.DurationVar(&f.connectTimeout, "connect-timeout", 0, "Gateway connect time limit")
	fs.StringVar(&f.caFile, "ca-file", "", "Extra PEM CA certificates")
	return f
}

// Args returns the profile flags that were set, as command-line arguments in
// a fixed order (for mcp-config, which writes them into a client's Args).
func (f *Flags) Args() []string {
	var out []string
	for _, name := range []string{
		"config", "profile", "gateway-url", "auth-type", "discovery-url", "token-url",
		"authorize-url", "redirect-url", "client-id", "scope", "inject", "inject-tools",
		"inject-format", "call-timeout", "connect-timeout", "ca-file",
	} {
		fl := f.fs.Lookup(name)
		if fl == nil || !fl.Changed {
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
	if v := e.Getenv(EnvConfig); v != "" {
		return v, true, nil
	}
	dir, err := e.ConfigDir()
	if err != nil {
		// No config dir (no $HOME): flags alone still make a profile.
		return "", false, nil
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

	var cfg *File
	if cfgPath != "" {
		cfg, err = Load(cfgPath)
		switch {
		case err == nil:
		case errors.Is(err, fs.ErrNotExist) && !named:
			cfg, cfgPath = nil, ""
		case errors.Is(err, fs.ErrNotExist):
			src := "--config"
			if !f.fs.Changed("config") {
				src = "$" + EnvConfig
			}
			return nil, &Error{msg: fmt.Sprintf("config file %s (from %s) does not exist", cfgPath, src),
				hints: []string{"create it (see configs/config.yaml), or drop " + src + " to use flags alone"}}
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
	if err := f.apply(p); err != nil {
		return nil, err
	}
	p.flagArgs = f.Args()
	p.setDefaults()
	if err := p.validate(types); err != nil {
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
	if f.fs.Changed("call-timeout") {
		p.CallTimeout = f.callTimeout
		p.where["timeouts.call"] = "--call-timeout"
	}
	if f.fs.Changed("connect-timeout") {
		p.ConnectTimeout = f.connectTimeout
		p.where["timeouts.connect"] = "--connect-timeout"
	}

	if !f.fs.Changed("inject") {
		for _, flag := range []string{"inject-tools", "inject-format"} {
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
		p.Inject = append(p.Inject, InjectRule{
			Argument: arg,
			Secret:   secret,
			Format:   f.injectFormat,
			Tools:    f.injectTools,
		})
	}
	return nil
}
