package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"

	"github.com/agw-proxy/agw-proxy/awsiam"
	"github.com/agw-proxy/agw-proxy/internal/atomicfile"
	"github.com/agw-proxy/agw-proxy/internal/awsapi"
	"github.com/agw-proxy/agw-proxy/internal/gatewayinit"
	"github.com/agw-proxy/agw-proxy/internal/profile"
	"github.com/agw-proxy/agw-proxy/tokenstore"
)

// initGatewayOptions are init's flags for a profile read from AWS.
type initGatewayOptions struct {
	gateway, fromSSM, fromStack string
	region, awsProfile          string
	profile, clientID           string
	config                      string
	configSet                   bool
	print, force, storeSecret   bool
}

// runInitGateway writes (or prints) the profile of a deployed Gateway.
func runInitGateway(ctx context.Context, e *env, o initGatewayOptions) error {
	region := o.region
	if region == "" {
		_, region = gatewayinit.GatewayID(o.gateway)
	}
	if region == "" {
		region = awsiam.Region(e.getenv, o.awsProfile)
	}
	if region == "" {
		return withHints(errors.New("init: no AWS region"), "give --region R, or set region in the AWS profile (or $AWS_REGION)")
	}
	creds := awsiam.New(awsiam.Config{Profile: o.awsProfile, Region: region, Getenv: e.getenv})
	c := &awsapi.Client{Credentials: creds, Region: region, Profile: o.awsProfile, Getenv: e.getenv}

	var facts gatewayinit.Facts
	ref := o.gateway
	switch {
	case o.fromSSM != "":
		f, err := factsFromSSM(ctx, e, c, o.fromSSM)
		if err != nil {
			return initAWSError(err)
		}
		facts = f
	case o.fromStack != "":
		outs, err := c.StackOutputs(ctx, o.fromStack)
		if err != nil {
			return initAWSError(err)
		}
		facts = factsFromOutputs(outs)
	}
	if ref == "" {
		ref = facts.GatewayID
		if ref == "" {
			ref = facts.GatewayURL
		}
	}
	if ref == "" {
		return fmt.Errorf("init: %s names no Gateway (gateway_id, or a GatewayId output)", strings.TrimSpace(o.fromSSM+" "+o.fromStack))
	}
	d, err := gatewayinit.Describe(ctx, c, ref)
	if err != nil {
		return initAWSError(err)
	}
	pool := facts.UserPoolID
	if pool == "" && d.Gateway.JWT != nil {
		pool = gatewayinit.PoolFromDiscoveryURL(d.Gateway.JWT.DiscoveryURL)
	}
	if d.Gateway.AuthorizerType == "CUSTOM_JWT" && pool != "" {
		var ids []string
		if j := d.Gateway.JWT; j != nil {
			ids = append(append(ids, j.AllowedAudience...), j.AllowedClients...)
		}
		ids = append(ids, o.clientID, facts.MachineClientID, facts.WebClientID)
		d.DescribeClients(ctx, c, pool, ids)
	}
	prop := gatewayinit.Propose(facts, d, gatewayinit.Options{AWSProfile: o.awsProfile, ClientID: o.clientID})
	body := prop.YAML()
	for _, n := range prop.Notes {
		writef(e.stderr, "agw-proxy: note: %s\n", n)
	}

	if o.print {
		// The same text a new file would get.
		data, err := profile.AddProfile("the printed profile", nil, o.profile, body, false)
		if err != nil {
			return fmt.Errorf("init: %w", err)
		}
		if _, err := e.stdout.Write(data); err != nil {
			return err
		}
		if o.storeSecret {
			if err := storeClientSecret(ctx, e, c, pool, o.profile, prop); err != nil {
				return err
			}
		}
		return nil
	}

	path := o.config
	if !o.configSet {
		path, _, err = profile.ConfigFile(profile.Env{Getenv: e.getenv, ConfigDir: e.configDir})
		if err != nil {
			return withHints(errors.New("init: there is no user config directory"), `name the file: --config FILE`)
		}
	}
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("init: %w", err)
	}
	if len(old) > profile.MaxFileSize {
		return fmt.Errorf("init: %s is over %d bytes", path, profile.MaxFileSize)
	}
	data, err := profile.AddProfile(path, old, o.profile, body, o.force)
	var exists *profile.ExistsError
	if errors.As(err, &exists) {
		return withHints(fmt.Errorf("init: %w: nothing written", err),
			"add --force to replace it, or name another with --profile NAME (or print it with --print)")
	}
	if err != nil {
		return fmt.Errorf("init: %w", err)
	}
	if err := writeProfileFile(path, data); err != nil {
		return err
	}
	writef(e.stdout, "Wrote profile %q for Gateway %s to %s.\n", o.profile, d.Gateway.Name, path)

	if o.storeSecret {
		if err := storeClientSecret(ctx, e, c, pool, o.profile, prop); err != nil {
			return err
		}
	}
	return initNextSteps(e, path, o, prop)
}

// initNextSteps resolves the written profile (which checks it) and says
// which commands to run next.
func initNextSteps(e *env, path string, o initGatewayOptions, prop *gatewayinit.Proposal) error {
	fset := pflag.NewFlagSet("init", pflag.ContinueOnError)
	pf := profile.AddFlags(fset, profile.SelectionFlags)
	args := []string{"--profile", o.profile}
	if o.configSet {
		args = append(args, "--config", path)
	}
	if err := fset.Parse(args); err != nil {
		return err
	}
	p, err := e.resolve(pf)
	if err != nil {
		return fmt.Errorf("init: the profile written does not resolve: %w", err)
	}
	var steps []string
	switch prop.Auth.Type {
	case profile.AuthClientCredentials:
		if !o.storeSecret {
			steps = append(steps, p.Command("login", "")+"    # the app client's secret")
		}
	case profile.AuthAuthorizationCode:
		steps = append(steps, p.Command("login", "")+"    # sign in in the browser")
	case profile.AuthAWSIAM:
		steps = append(steps, "# AWS credentials of "+awsProfileName(prop.Auth.AWSProfile)+" sign every request (for IAM Identity Center: aws sso login)")
	}
	for _, s := range p.SecretNames() {
		steps = append(steps, p.Command("login", s)+"    # the secret for "+strings.Join(toolsOf(p, s), ", "))
	}
	steps = append(steps, p.Command("doctor", ""))
	writef(e.stdout, "Next, run:\n")
	for _, s := range steps {
		writef(e.stdout, "  %s\n", s)
	}
	return nil
}

func awsProfileName(p string) string {
	if p == "" {
		return "the default AWS chain"
	}
	return "AWS profile " + p
}

func toolsOf(p *profile.Profile, secret string) []string {
	var out []string
	for _, r := range p.Inject {
		if r.Secret == secret {
			out = append(out, r.Argument+" of "+strings.Join(r.Tools, " "))
		}
	}
	return out
}

// storeClientSecret reads the machine client's secret from Cognito and
// stores it where "agw-proxy login" does. It is never printed.
func storeClientSecret(ctx context.Context, e *env, c *awsapi.Client, pool, name string, prop *gatewayinit.Proposal) error {
	if prop.Auth.Type != profile.AuthClientCredentials {
		return fmt.Errorf("init: --store-client-secret: the profile's auth type is %s, which has no client secret", prop.Auth.Type)
	}
	if pool == "" {
		return errors.New("init: --store-client-secret: the user pool is not known (no userpool_id, and the discovery URL names none)")
	}
	uc, err := c.DescribeUserPoolClient(ctx, pool, prop.Auth.ClientID)
	if err != nil {
		return initAWSError(err)
	}
	if uc.Secret == "" {
		return fmt.Errorf("init: --store-client-secret: app client %s has no secret", prop.Auth.ClientID)
	}
	if err := e.keychain().Set(ctx, name, tokenstore.ClientSecretName, uc.Secret); err != nil {
		return fmt.Errorf("init: storing the client secret: %w", err)
	}
	writef(e.stdout, "Stored the client secret of app client %s in the keychain.\n", prop.Auth.ClientID)
	return nil
}

// initAWSError adds the hint an AWS error needs.
func initAWSError(err error) error {
	var ae *awsapi.Error
	if errors.As(err, &ae) && ae.Denied {
		return withHints(fmt.Errorf("init: %w", err), fmt.Sprintf("grant the AWS identity %s (an IAM policy of the user or role), or run init with a profile that has it (--aws-profile)", ae.Action))
	}
	var ce *awsiam.CredentialError
	if errors.As(err, &ce) {
		return withHints(fmt.Errorf("init: %w", err), "init reads the Gateway with your AWS credentials: name a profile with --aws-profile")
	}
	return fmt.Errorf("init: %w", err)
}

// factsFromSSM reads the seed tutorial's parameters under prefix.
func factsFromSSM(ctx context.Context, e *env, c *awsapi.Client, prefix string) (gatewayinit.Facts, error) {
	if !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	params, err := c.GetParametersByPath(ctx, prefix)
	var ae *awsapi.Error
	if errors.As(err, &ae) && ae.Denied {
		// Without GetParametersByPath, the seed's names one by one.
		params = nil
		for _, n := range []string{"gateway_id", "gateway_url", "cognito_discovery_url", "cognito_token_url", "machine_client_id", "web_client_id", "cognito_auth_scope", "userpool_id"} {
			p, ok, perr := c.GetParameter(ctx, prefix+n)
			if perr != nil {
				return gatewayinit.Facts{}, fmt.Errorf("%w (and without it, %v)", err, perr)
			}
			if ok {
				params = append(params, p)
			}
		}
		err = nil
	}
	if err != nil {
		return gatewayinit.Facts{}, err
	}
	v := map[string]string{}
	var secure []string
	for _, p := range params {
		n := strings.TrimPrefix(p.Name, prefix)
		if p.Type == "SecureString" {
			secure = append(secure, n) // never read, never printed
			continue
		}
		v[n] = p.Value
	}
	if len(v) == 0 {
		return gatewayinit.Facts{}, fmt.Errorf("no parameters under %s", prefix)
	}
	if len(secure) > 0 {
		writef(e.stderr, "agw-proxy: note: SecureString parameters not read: %s\n", strings.Join(secure, ", "))
	}
	f := gatewayinit.Facts{GatewayID: v["gateway_id"], GatewayURL: v["gateway_url"], MachineClientID: v["machine_client_id"],
		WebClientID: v["web_client_id"], TokenURL: v["cognito_token_url"], DiscoveryURL: v["cognito_discovery_url"], UserPoolID: v["userpool_id"]}
	if s := v["cognito_auth_scope"]; s != "" {
		f.Scopes = strings.Fields(strings.ReplaceAll(s, ",", " "))
	}
	return f, nil
}

// factsFromOutputs reads a stack's outputs, whatever the case and
// punctuation of their keys (GatewayId, gateway_id, GatewayID).
func factsFromOutputs(outs map[string]string) gatewayinit.Facts {
	v := map[string]string{}
	for k, val := range outs {
		var b strings.Builder
		for _, r := range strings.ToLower(k) {
			if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
				b.WriteRune(r)
			}
		}
		v[b.String()] = val
	}
	first := func(keys ...string) string {
		for _, k := range keys {
			if v[k] != "" {
				return v[k]
			}
		}
		return ""
	}
	f := gatewayinit.Facts{
		GatewayID:       first("gatewayid", "gatewayidentifier"),
		GatewayURL:      first("gatewayurl", "gatewayendpoint"),
		MachineClientID: first("machineclientid", "m2mclientid", "clientid"),
		WebClientID:     first("webclientid", "userclientid"),
		TokenURL:        first("cognitotokenurl", "tokenurl"),
		DiscoveryURL:    first("cognitodiscoveryurl", "discoveryurl"),
		UserPoolID:      first("userpoolid", "cognitouserpoolid"),
	}
	if s := first("cognitoauthscope", "scope", "scopes"); s != "" {
		f.Scopes = strings.Fields(strings.ReplaceAll(s, ",", " "))
	}
	if f.GatewayID == "" {
		if id, _ := gatewayinit.GatewayID(first("gatewayarn")); id != "" {
			f.GatewayID = id
		}
	}
	return f
}

// writeProfileFile replaces path with data (a new file renamed over it),
// keeping an existing file's mode, else 0600, and creating its folders.
func writeProfileFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("init: %w", err)
	}
	if err := atomicfile.Write(path, data, atomicfile.Mode(path, 0o600)); err != nil {
		return fmt.Errorf("init: %w", err)
	}
	return nil
}
