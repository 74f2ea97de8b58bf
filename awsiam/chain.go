package awsiam

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds"
	"github.com/aws/aws-sdk-go-v2/credentials/processcreds"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"

	"github.com/agw-proxy/agw-proxy/tokenstore"
)

// Defaults for Config.
const (
	// DefaultFetchTimeout bounds one fetch of credentials: a credential
	// process, an SSO or STS call, the container or instance endpoint.
	DefaultFetchTimeout = 30 * time.Second
	// ExpiryWindow: expiring credentials are fetched again this long
	// before they expire, so a request is never signed with credentials
	// that expire on its way.
	ExpiryWindow = 5 * time.Minute
)

// Config configures Credentials.
type Config struct {
	// Profile is the profile of ~/.aws/config to use (auth.aws_profile);
	// "" means $AWS_PROFILE, else the standard chain: the environment's
	// keys, web identity, the default profile, then a container or an
	// instance role.
	Profile string
	// Region is the region of STS calls (assume role, web identity,
	// GetCallerIdentity).
	Region string
	// Getenv reads the environment; nil means os.Getenv.
	Getenv func(string) string
	// HTTPClient carries the chain's own calls to SSO and STS; nil means
	// http.DefaultClient. Container and instance credentials use the SDK's
	// clients, which never go through a proxy.
	HTTPClient *http.Client
	// FetchTimeout bounds one fetch; default DefaultFetchTimeout.
	FetchTimeout time.Duration
	// OnSecret, if not nil, sees the secret access key and the session
	// token of every set of credentials fetched (for a scrubber), before
	// they are used.
	OnSecret func(tokenstore.Secret)
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Credentials are AWS credentials from the standard chain, cached and
// fetched again ExpiryWindow before they expire. Each fetch resolves the
// chain anew, so a new "aws sso login" or an edited profile takes effect
// at the next fetch. Safe for concurrent use.
type Credentials struct {
	cfg   Config
	cache *aws.CredentialsCache

	mu     sync.Mutex
	source string // how the last credentials were found
}

// New returns the Credentials cfg describes. It reads nothing yet: the
// chain is resolved at the first Retrieve.
func New(cfg Config) *Credentials {
	if cfg.Getenv == nil {
		cfg.Getenv = os.Getenv
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = http.DefaultClient
	}
	if cfg.FetchTimeout <= 0 {
		cfg.FetchTimeout = DefaultFetchTimeout
	}
	if cfg.OnSecret == nil {
		cfg.OnSecret = func(tokenstore.Secret) {}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	c := &Credentials{cfg: cfg}
	c.cache = aws.NewCredentialsCache(aws.CredentialsProviderFunc(c.fetch), func(o *aws.CredentialsCacheOptions) {
		o.ExpiryWindow = ExpiryWindow
	})
	return c
}

// Retrieve returns credentials, fetching them when there are none or they
// are about to expire. The fetch is not bound to ctx (the cache runs it
// on a context without ctx's cancellation, bounded by FetchTimeout, so a
// caller that gives up does not spoil it for the next); Retrieve returns
// when ctx ends. A failure is a *CredentialError.
func (c *Credentials) Retrieve(ctx context.Context) (aws.Credentials, error) {
	creds, err := c.cache.Retrieve(ctx)
	if err == nil {
		return creds, nil
	}
	if ctx.Err() != nil {
		return aws.Credentials{}, fmt.Errorf("awsiam: waiting for AWS credentials: %w", context.Cause(ctx))
	}
	var ce *CredentialError
	if !errors.As(err, &ce) {
		err = &CredentialError{Profile: c.cfg.Profile, Reason: "could not be fetched", Err: err}
	}
	return aws.Credentials{}, err
}

// Source says where the last credentials came from ("profile dev: SSO,
// account 111122223333 role Dev"), "" before any.
func (c *Credentials) Source() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.source
}

// Invalidate drops the cached credentials: the next Retrieve fetches.
func (c *Credentials) Invalidate() { c.cache.Invalidate() }

// fetch resolves the chain and fetches credentials from its source.
func (c *Credentials) fetch(ctx context.Context) (aws.Credentials, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.FetchTimeout)
	defer cancel()
	src, err := c.resolve()
	if err != nil {
		return aws.Credentials{}, err
	}
	creds, err := src.provider.Retrieve(ctx)
	if err != nil {
		return aws.Credentials{}, src.explain(err, ctx, c.cfg.FetchTimeout)
	}
	if creds.AccessKeyID == "" || creds.SecretAccessKey == "" {
		return aws.Credentials{}, &CredentialError{Profile: src.profile, Source: src.kind, Reason: "the source gave no access key"}
	}
	c.cfg.OnSecret(tokenstore.Secret(creds.SecretAccessKey))
	c.cfg.OnSecret(tokenstore.Secret(creds.SessionToken))
	c.mu.Lock()
	c.source = src.describe()
	c.mu.Unlock()
	return creds, nil
}

// A source is where the chain found credentials.
type source struct {
	profile  string // AWS profile, "" for the environment or the host
	kind     string // "static keys", "SSO", "credential_process", …
	detail   string // "account 1111 role Dev"
	at       string // where it is configured (file:line), for messages
	provider aws.CredentialsProvider
	sso      bool
}

func (s *source) describe() string {
	d := s.kind
	if s.profile != "" {
		d = "profile " + s.profile + ": " + d
	}
	if s.detail != "" {
		d += ", " + s.detail
	}
	return d
}

// explain turns a provider's error into a CredentialError. It never uses
// the text of a credential process's error (it may quote the process's
// output) nor of a response.
func (s *source) explain(err error, ctx context.Context, timeout time.Duration) error {
	var ce *CredentialError
	if errors.As(err, &ce) {
		return ce
	}
	e := &CredentialError{Profile: s.profile, Source: s.kind, SSO: s.sso, Err: err}
	var exit *exec.ExitError
	var se *SignatureError
	switch {
	case ctx.Err() != nil:
		e.Reason = fmt.Sprintf("no answer within %s", timeout)
	case errors.As(err, &exit):
		e.Reason = fmt.Sprintf("the command failed (exit status %d)", exit.ExitCode())
	case errors.As(err, &se):
		e.Reason = "STS refused: " + se.Error()
	case s.kind == "credential_process":
		e.Reason = "the command did not print credentials (JSON with Version 1, AccessKeyId, SecretAccessKey)"
	default:
		e.Reason = "could not be fetched: " + firstLine(err.Error())
	}
	switch {
	case s.kind == "credential_process":
		e.Fix = "run the command in a terminal to see why (credential_process at " + s.at + ")"
	case s.profile != "" && e.Fix == "":
		e.Fix = fmt.Sprintf(`check profile %q (%s); "aws sts get-caller-identity --profile %s" shows the same failure`, s.profile, s.at, s.profile)
	}
	return e
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	if len(line) > 200 {
		line = line[:200] + "…"
	}
	return line
}

// resolve finds the source of credentials, the way the AWS SDKs' default
// chain does.
func (c *Credentials) resolve() (*source, error) {
	getenv := c.cfg.Getenv
	name, explicit := c.cfg.Profile, c.cfg.Profile != ""
	if !explicit {
		name = getenv("AWS_PROFILE")
		explicit = name != ""
	}
	if !explicit {
		if id, secret := getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY"); id != "" && secret != "" {
			return envSource(getenv), nil
		}
		if file, role := getenv("AWS_WEB_IDENTITY_TOKEN_FILE"), getenv("AWS_ROLE_ARN"); file != "" && role != "" {
			return c.webIdentity("", "the environment", file, role, getenv("AWS_ROLE_SESSION_NAME")), nil
		}
		name = "default"
	}
	sc, err := loadSharedConfig(getenv)
	if err != nil {
		return nil, &CredentialError{Profile: name, Source: "shared config", Reason: err.Error()}
	}
	sec := sc.profiles[name]
	if sec == nil {
		if explicit {
			return nil, &CredentialError{Profile: name, Reason: fmt.Sprintf("no such profile in %s or %s", sc.configFile, sc.credentialsFile),
				Fix: fmt.Sprintf(`create it with "aws configure sso --profile %s" (or "aws configure --profile %s"), or name another profile`, name, name)}
		}
		if src := c.hostSource(""); src != nil {
			return src, nil
		}
		return nil, &CredentialError{Reason: fmt.Sprintf("none found: not in the environment (AWS_ACCESS_KEY_ID), no default profile in %s, and instance metadata is disabled", sc.configFile),
			Fix: `set auth.aws_profile (--aws-profile) to a profile of ~/.aws/config, or run "aws configure sso"`, Err: errNoCredentials}
	}
	return c.fromProfile(sc, sec, 0)
}

// maxSourceDepth bounds a chain of source_profile references.
const maxSourceDepth = 5

// fromProfile is the source of a profile of the shared config.
func (c *Credentials) fromProfile(sc *sharedConfig, sec *section, depth int) (*source, error) {
	name := sec.name
	fail := func(key, format string, a ...any) error {
		at := sec.where(key)
		if at == "" {
			at = sc.configFile
		}
		return &CredentialError{Profile: name, Source: "shared config", Reason: fmt.Sprintf(format, a...) + " (" + at + ")"}
	}
	if depth > maxSourceDepth {
		return nil, fail("source_profile", "source_profile chain is longer than %d profiles (a loop?)", maxSourceDepth)
	}
	role := sec.get("role_arn")
	if role != "" && sec.get("mfa_serial") != "" {
		return nil, fail("mfa_serial", "mfa_serial is not supported: serve has no terminal to ask for a code; use IAM Identity Center (SSO) or a credential_process that caches its session")
	}
	var base *source
	switch {
	case role != "" && sec.get("source_profile") != "":
		srcName := sec.get("source_profile")
		srcSec := sc.profiles[srcName]
		if srcSec == nil {
			return nil, fail("source_profile", "source_profile %q is not a profile", srcName)
		}
		if srcName == name {
			// A profile that is its own source uses its static keys.
			if sec.get("aws_access_key_id") == "" {
				return nil, fail("source_profile", "source_profile names the profile itself, which has no aws_access_key_id")
			}
			base = staticSource(sec)
			break
		}
		var err error
		if base, err = c.fromProfile(sc, srcSec, depth+1); err != nil {
			return nil, err
		}
	case sec.get("aws_access_key_id") != "":
		if sec.get("aws_secret_access_key") == "" {
			return nil, fail("aws_access_key_id", "aws_access_key_id is set without aws_secret_access_key")
		}
		base = staticSource(sec)
	case role != "" && sec.get("credential_source") != "":
		switch cs := sec.get("credential_source"); cs {
		case "Environment":
			base = envSource(c.cfg.Getenv)
		case "Ec2InstanceMetadata":
			base = c.instanceSource()
		case "EcsContainer":
			base = c.containerSource()
		default:
			return nil, fail("credential_source", "credential_source %q is not Environment, Ec2InstanceMetadata or EcsContainer", cs)
		}
		if base == nil {
			return nil, fail("credential_source", "credential_source %s is not available here", sec.get("credential_source"))
		}
	case sec.get("web_identity_token_file") != "" && role != "":
		return c.webIdentity(name, sec.where("web_identity_token_file"), expandHome(c.cfg.Getenv, sec.get("web_identity_token_file")), role, sec.get("role_session_name")), nil
	case sec.get("sso_account_id") != "" || sec.get("sso_session") != "" || sec.get("sso_start_url") != "":
		return c.ssoSource(sc, sec)
	case sec.get("credential_process") != "":
		base = c.processSource(sec)
	default:
		if role != "" {
			return nil, fail("role_arn", "role_arn needs source_profile, credential_source or web_identity_token_file")
		}
		if src := c.hostSource(name); src != nil {
			return src, nil
		}
		return nil, &CredentialError{Profile: name, Reason: fmt.Sprintf("the profile has no credentials (no aws_access_key_id, sso_session, credential_process or role_arn) at %s", sec.where(firstKey(sec))),
			Fix: fmt.Sprintf(`run "aws configure sso --profile %s", or add credentials to it`, name), Err: errNoCredentials}
	}
	if role == "" {
		return base, nil
	}
	return c.assumeRole(sec, base), nil
}

func firstKey(sec *section) string {
	for k := range sec.at {
		return k
	}
	return ""
}

func envSource(getenv func(string) string) *source {
	return &source{kind: "environment (AWS_ACCESS_KEY_ID)", at: "the environment",
		provider: credentials.NewStaticCredentialsProvider(getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY"), getenv("AWS_SESSION_TOKEN"))}
}

func staticSource(sec *section) *source {
	return &source{profile: sec.name, kind: "static keys", at: sec.where("aws_access_key_id"),
		provider: credentials.NewStaticCredentialsProvider(sec.get("aws_access_key_id"), sec.get("aws_secret_access_key"), sec.get("aws_session_token"))}
}

// processSource runs credential_process. The SDK's default command would
// give the process serve's stdin, which carries MCP: it gets none, and its
// stderr (a prompt, a diagnostic) is dropped rather than mixed into the
// log unscrubbed.
func (c *Credentials) processSource(sec *section) *source {
	command := sec.get("credential_process")
	build := processcreds.NewCommandBuilderFunc(func(ctx context.Context) (*exec.Cmd, error) {
		cmd := exec.CommandContext(ctx, "sh", "-c", command)
		cmd.Env = os.Environ()
		cmd.WaitDelay = time.Second
		return cmd, nil
	})
	p := processcreds.NewProviderCommand(build, func(o *processcreds.Options) { o.Timeout = c.cfg.FetchTimeout })
	return &source{profile: sec.name, kind: "credential_process", at: sec.where("credential_process"), provider: p}
}

// hostSource is a container's or an instance's role, nil when neither is
// configured or allowed.
func (c *Credentials) hostSource(profile string) *source {
	if src := c.containerSource(); src != nil {
		src.profile = profile
		return src
	}
	if src := c.instanceSource(); src != nil {
		src.profile = profile
		return src
	}
	return nil
}

// containerSource is the ECS/EKS container credentials endpoint, nil when
// the environment names none.
func (c *Credentials) containerSource() *source {
	getenv := c.cfg.Getenv
	endpoint := getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI")
	if rel := getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"); rel != "" {
		endpoint = "http://169.254.170.2" + rel
	}
	if endpoint == "" {
		return nil
	}
	token, tokenFile := getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN"), getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")
	p := endpointcreds.New(endpoint, func(o *endpointcreds.Options) {
		o.AuthorizationToken = token
		if tokenFile != "" {
			o.AuthorizationTokenProvider = endpointcreds.TokenProviderFunc(func() (string, error) {
				b, err := os.ReadFile(tokenFile)
				return strings.TrimSpace(string(b)), err
			})
		}
	})
	return &source{kind: "container role", at: "the environment (AWS_CONTAINER_CREDENTIALS_*)", provider: p}
}

// instanceSource is the EC2 instance role (IMDS), nil when
// AWS_EC2_METADATA_DISABLED is true.
func (c *Credentials) instanceSource() *source {
	getenv := c.cfg.Getenv
	if strings.EqualFold(getenv("AWS_EC2_METADATA_DISABLED"), "true") {
		return nil
	}
	opts := imds.Options{Endpoint: getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT")}
	p := ec2rolecreds.New(func(o *ec2rolecreds.Options) { o.Client = imds.New(opts) })
	return &source{kind: "instance role (IMDS)", at: "instance metadata", provider: p}
}

func secretOf(s string) tokenstore.Secret { return tokenstore.Secret(s) }
