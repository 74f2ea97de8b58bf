package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/spf13/pflag"

	"github.com/agw-proxy/agw-proxy/internal/gatewaysim"
	"github.com/agw-proxy/agw-proxy/internal/profile"
	"github.com/agw-proxy/agw-proxy/proxy"
	"github.com/agw-proxy/agw-proxy/tokenstore"
)

// The demo's step of "agw-proxy init --gateway": the profile read from
// the emulator's AWS control plane, with the emulator's test key in a
// temporary ~/.aws of the demo's own (never the user's ~/.aws, nor their
// config file: init prints, the demo keeps the profile in its temporary
// directory), then served.

const (
	demoAWSRegion   = "us-east-1"
	demoInitProfile = "from-init"
	// demoInitStep is showInit's step number, which the demo's last lines
	// refer to.
	demoInitStep = 9
)

// showInit prints step 9: init --gateway --print against the emulated
// AWS, the profile it proposes (an inject rule for each target header
// parameter that looks like a credential, the 3LO target noted), and a
// call through a proxy made of that profile.
func (d *demo) showInit(ctx context.Context, p printer) error {
	home, err := os.MkdirTemp("", "agw-proxy-demo-")
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	defer os.RemoveAll(home)
	aws := filepath.Join(home, ".aws")
	files := map[string]string{
		"config":      "[default]\nregion = " + demoAWSRegion + "\n",
		"credentials": "[default]\naws_access_key_id = " + gatewaysim.TestAccessKeyID + "\naws_secret_access_key = " + gatewaysim.TestSecretAccessKey + "\n",
	}
	if err := os.Mkdir(aws, 0o700); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(aws, name), []byte(data), 0o600); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
	}
	// init's whole environment: the temporary home, the emulator as every
	// AWS endpoint, and nothing of the user's.
	vars := map[string]string{
		"HOME":                        home,
		"AWS_CONFIG_FILE":             filepath.Join(aws, "config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(aws, "credentials"),
		"AWS_ENDPOINT_URL":            d.sim.AWSEndpointURL,
		"AWS_EC2_METADATA_DISABLED":   "true",
	}
	var printed, notes bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &printed, stderr: &notes, getenv: func(k string) string { return vars[k] },
		userConfigDir: func() (string, error) { return "", errors.New("the demo writes no config file") }}
	if err := runInitGateway(ctx, e, initGatewayOptions{gateway: d.sim.GatewayID, profile: demoInitProfile, print: true}); err != nil {
		return fmt.Errorf("demo: agw-proxy init --gateway: %w", err)
	}
	pr, err := d.initProfile(home, printed.Bytes())
	if err != nil {
		return err
	}
	if len(pr.Inject) == 0 {
		return errors.New("demo: init proposed no inject rule for X-Asana-Token")
	}
	if !strings.Contains(notes.String(), "target "+demoOAuthTarget+" calls its API with each user's own OAuth token") {
		return fmt.Errorf("demo: init did not note the 3LO target %s", demoOAuthTarget)
	}

	p("%d. Setup from what is deployed: agw-proxy init reads the Gateway's control plane (here the\n", demoInitStep)
	p("   emulated AWS at %s, with its test key in a temporary ~/.aws, not yours):\n", d.sim.AWSEndpointURL)
	p("     $ agw-proxy init --gateway %s --profile %s --print\n", d.sim.GatewayID, demoInitProfile)
	for line := range strings.Lines(printed.String()) {
		p("     %s\n", strings.TrimSuffix(line, "\n"))
	}
	p("   Its rules: each target's OpenAPI declares the header parameter %s, a credential\n", demoArgument)
	p("   by its name. (An AWS_IAM Gateway would get auth.type aws_iam: your AWS credentials sign.)\n")
	for line := range strings.Lines(notes.String()) {
		p("   %s\n", strings.TrimSuffix(line, "\n"))
	}

	// serve with it: the secrets the rules name hold the demo token, as
	// "agw-proxy login NAME" would store them.
	for _, name := range append(pr.SecretNames(), tokenstore.ClientSecretName) {
		v := tokenstore.Secret(demoAsanaToken)
		if name == tokenstore.ClientSecretName {
			v = tokenstore.Secret(d.sim.ClientSecret)
		}
		if err := d.secrets.Set(ctx, pr.Name, name, v); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
	}
	client, err := httpClient(pr)
	if err != nil {
		return err
	}
	opts := proxyOptions(newEnv(), pr, &scrubbedSecrets{Secrets: d.secrets, scrub: d.scrub}, client, d.scrub)
	opts.Notices = d.notices
	px, err := proxy.New(opts)
	if err != nil {
		return fmt.Errorf("demo: a proxy of the profile init printed: %w", err)
	}
	cs, stop, err := d.connect(ctx, px, "")
	if err != nil {
		return err
	}
	defer stop()
	args := map[string]any{"tool_name": "list_workspaces"}
	d.sim.ClearReceived()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: demoTool, Arguments: args})
	if err != nil {
		return fmt.Errorf("demo: tools/call through the profile init printed: %w", err)
	}
	if res.IsError {
		return fmt.Errorf("demo: the call through the profile init printed failed: %s", d.scrub.String(resultText(res)))
	}
	got := d.sim.Received()
	if len(got) != 1 || got[0].Header.Get(demoArgument) != "Bearer "+demoAsanaToken {
		return fmt.Errorf("demo: through the profile init printed, the API did not receive %s", demoArgument)
	}
	p("   Served, with its secrets stored as \"agw-proxy login NAME\" would, the model calls\n")
	p("     %s {\"tool_name\":\"list_workspaces\"}\n", demoTool)
	p("   and the API receives %s: %s, from rule %q.\n\n", demoArgument, d.mask(got[0].Header.Get(demoArgument)), pr.Inject[0].Secret)
	return nil
}

// initProfile resolves the profile init printed, from a file of it in
// dir, as serve --config FILE --profile from-init would.
func (d *demo) initProfile(dir string, printed []byte) (*profile.Profile, error) {
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, printed, 0o600); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	fs := pflag.NewFlagSet("demo", pflag.ContinueOnError)
	pf := profile.AddFlags(fs, profile.AllFlags)
	if err := fs.Parse([]string{"--config", path, "--profile", demoInitProfile}); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	noEnv := profile.Env{Getenv: func(string) string { return "" }, ConfigDir: func() (string, error) { return "", errors.New("none") }}
	pr, err := pf.Resolve(noEnv, authTypes())
	if err != nil {
		return nil, fmt.Errorf("demo: the profile init printed: %w", err)
	}
	return pr, nil
}
