package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/agw-proxy/agw-proxy/configs"
	"github.com/agw-proxy/agw-proxy/internal/atomicfile"
	"github.com/agw-proxy/agw-proxy/internal/profile"
)

func init() {
	register(command{name: "init", summary: "Write a profile read from a deployed Gateway, or the example config file", run: runInit})
}

const initUsage = `Usage:
    agw-proxy init --gateway ID|URL [--region R] [--aws-profile P] [--profile NAME] [--print]
    agw-proxy init --from-ssm PREFIX [--store-client-secret] [options]
    agw-proxy init --from-stack NAME [--store-client-secret] [options]
    agw-proxy init [--config FILE] [--force]
    agw-proxy init --example

With --gateway, --from-ssm or --from-stack, read the deployed Gateway with
your AWS credentials and write a complete profile for it into the config
file (its other profiles and comments kept), or print it with --print:
the URL and inbound auth (GetGateway: CUSTOM_JWT gives client_credentials
or authorization_code, with auth.token id for an allowedAudience
authorizer; AWS_IAM gives aws_iam), and an inject rule for each target
header parameter that looks like a credential (*Token*, *Authorization*,
*Key*, *Secret*); other header parameters are listed as comments.
--from-ssm reads the seed tutorial's parameters (gateway_id,
machine_client_id, cognito_token_url, ...; SecureStrings are never read)
and --from-stack a CloudFormation stack's outputs, then the Gateway. The
AWS calls honour AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE> and the AWS
profile's endpoint_url settings; a refused call names the IAM permission
it needs. Then it says which login commands to run.

Write the annotated example config file where agw-proxy looks for it, to be
edited for your Gateway: every key is explained in it. The file is created
0600, with its folders; an existing file is never replaced unless --force.
With --example, print the example instead and write nothing.

The file is --config FILE, else $AGW_PROXY_CONFIG, else
<user config dir>/agw-proxy/config.yaml (~/.config/agw-proxy/config.yaml on
Linux, ~/Library/Application Support/agw-proxy/config.yaml on macOS,
%AppData%\agw-proxy\config.yaml on Windows).

Options:
    --gateway ID|URL       The Gateway: its id, ARN or URL
    --from-ssm PREFIX      Read the Gateway's settings from SSM parameters under PREFIX
    --from-stack NAME      Read the Gateway's settings from a CloudFormation stack's outputs
    --region R             The AWS region (default: the Gateway URL's, else the AWS profile's)
    --aws-profile P        The AWS profile to read with (an AWS_IAM profile signs with it too)
    --profile NAME         The profile to write (default "default")
    --client-id ID         The app client to use, among the authorizer's allowed clients
    --store-client-secret  Store the machine client's secret in the keychain (DescribeUserPoolClient)
    --print                Print the profile instead of writing it
    --example              Print the example config to stdout
    --config FILE          Write FILE instead of the default config file
    --force                Replace an existing file, or with --gateway an existing profile
    -h, --help             Show this help

IAM permissions: bedrock-agentcore:GetGateway, ListGatewayTargets and
GetGatewayTarget (ListGateways for a URL outside AWS), s3:GetObject for a
schema in S3, cognito-idp:DescribeUserPoolClient (optional: which flows a
client allows; its secret for --store-client-secret),
ssm:GetParametersByPath (or ssm:GetParameter) for --from-ssm,
cloudformation:DescribeStacks for --from-stack.

Examples:
    $ agw-proxy init --gateway agentcore-gw-asana-integration-zwypthrpiu --region us-east-1
    $ agw-proxy init --from-ssm /app/asana/demo/agentcoregwy/ --store-client-secret
    $ agw-proxy init --gateway arn:aws:bedrock-agentcore:us-east-1:123456789012:gateway/gw-1 --print
    $ agw-proxy init
    $ agw-proxy init --example > work.yaml
`

func runInit(ctx context.Context, e *env, args []string) error {
	fs := pflag.NewFlagSet("init", pflag.ContinueOnError)
	example := fs.Bool("example", false, "Print the example config")
	config := fs.String("config", "", "Config file to write")
	force := fs.Bool("force", false, "Replace an existing file")
	var o initGatewayOptions
	fs.StringVar(&o.gateway, "gateway", "", "The Gateway")
	fs.StringVar(&o.fromSSM, "from-ssm", "", "SSM parameter prefix")
	fs.StringVar(&o.fromStack, "from-stack", "", "CloudFormation stack")
	fs.StringVar(&o.region, "region", "", "AWS region")
	fs.StringVar(&o.awsProfile, "aws-profile", "", "AWS profile")
	fs.StringVar(&o.profile, "profile", profile.DefaultName, "Profile to write")
	fs.StringVar(&o.clientID, "client-id", "", "App client")
	fs.BoolVar(&o.storeSecret, "store-client-secret", false, "Store the client secret")
	fs.BoolVar(&o.print, "print", false, "Print the profile")
	if done, err := parseFlags(e, fs, initUsage, args); done {
		return err
	}
	sources := 0
	for _, v := range []string{o.gateway, o.fromSSM, o.fromStack} {
		if v != "" {
			sources++
		}
	}
	aws := fs.Changed("gateway") || fs.Changed("from-ssm") || fs.Changed("from-stack")
	switch {
	case aws && fs.NArg() > 0:
		return usageErrorf("init", "unexpected argument %q", fs.Arg(0))
	case aws && sources != 1:
		return usageErrorf("init", "give one of --gateway, --from-ssm and --from-stack, not empty")
	case aws && *example:
		return usageErrorf("init", "--example prints the example: it takes no other option")
	case aws && o.print && (fs.Changed("config") || *force):
		return usageErrorf("init", "--print writes nothing: --config and --force do not apply")
	case aws && fs.Changed("config") && *config == "":
		return usageErrorf("init", "--config: empty file name")
	case aws:
		o.config, o.configSet, o.force = *config, fs.Changed("config"), *force
		return runInitGateway(ctx, e, o)
	case fs.Changed("region") || fs.Changed("aws-profile") || fs.Changed("profile") || fs.Changed("client-id") || o.storeSecret || o.print:
		return usageErrorf("init", "--region, --aws-profile, --profile, --client-id, --store-client-secret and --print go with --gateway, --from-ssm or --from-stack")
	}
	switch {
	case fs.NArg() > 0:
		return usageErrorf("init", "unexpected argument %q", fs.Arg(0))
	case *example && (fs.Changed("config") || *force):
		return usageErrorf("init", "--example prints the example: it takes no other option")
	case fs.Changed("config") && *config == "":
		return usageErrorf("init", "--config: empty file name")
	case *example:
		_, err := e.stdout.Write(configs.ExampleConfig)
		return err
	}

	path, again := *config, " --config "+profile.ShellQuote(*config)
	if !fs.Changed("config") {
		var err error
		path, _, err = profile.ConfigFile(profile.Env{Getenv: e.getenv, ConfigDir: e.configDir})
		if err != nil {
			return withHints(errors.New("init: there is no user config directory ($HOME, or %AppData% on Windows, is not set)"),
				`name the file: "agw-proxy init --config FILE"`)
		}
		again = ""
	}
	if err := writeConfigFile(path, configs.ExampleConfig, *force); err != nil {
		return err
	}
	writef(e.stdout, "Wrote the example config to %s.\n", path)
	writef(e.stdout, "Edit it for your Gateway (every key is explained), then run %q and %q.\n",
		"agw-proxy login"+again, "agw-proxy doctor"+again)
	return nil
}

// writeConfigFile creates path with data, mode 0600, and its folders (0700).
// An existing file is an error unless force; then it is replaced whole (a
// new file renamed over it), so it ends 0600 whatever its mode was.
func writeConfigFile(path string, data []byte, force bool) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("init: %w", err)
	}
	if !force {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			return withHints(fmt.Errorf("%s already exists: nothing written", path),
				"edit it; or add --force to replace it with the example (\"agw-proxy init --example\" prints it)")
		}
		if err != nil {
			return fmt.Errorf("init: %w", err)
		}
		_, err = f.Write(data)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(path)
			return fmt.Errorf("init: %w", err)
		}
		return nil
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return fmt.Errorf("init: %s is a directory", path)
	}
	if err := atomicfile.Write(path, data, 0o600); err != nil {
		return fmt.Errorf("init: %w", err)
	}
	return nil
}
