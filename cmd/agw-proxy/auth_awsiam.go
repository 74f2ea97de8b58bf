package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"golang.org/x/oauth2"

	"github.com/agw-proxy/agw-proxy/awsiam"
	"github.com/agw-proxy/agw-proxy/internal/httpguard"
	"github.com/agw-proxy/agw-proxy/internal/profile"
	"github.com/agw-proxy/agw-proxy/tokenstore"
)

// awsIAM is auth type aws_iam: a Gateway whose inbound auth is AWS_IAM.
// Every request to it is signed with SigV4 (awsiam.Transport), with
// credentials from the AWS chain (auth.aws_profile, else the default
// chain); nothing is kept in the keychain, and there is no agw-proxy
// login: the AWS CLI's ("aws sso login") is the one that counts.
type awsIAM struct{}

func (awsIAM) name() string                   { return profile.AuthAWSIAM }
func (awsIAM) credential() *gatewayCredential { return nil }

func (awsIAM) describe(p *profile.Profile) string {
	chain := "the AWS default chain"
	if p.Auth.AWSProfile != "" {
		chain = "AWS profile " + p.Auth.AWSProfile
	}
	region := p.SigningRegion()
	if region == "" {
		region = "not set"
	}
	return fmt.Sprintf("%s, %s, region %s", p.Auth.Type, chain, region)
}

// identity is the tool cache's identity of an aws_iam profile, known
// without a network call: the AWS profile the chain uses (auth.aws_profile,
// else $AWS_PROFILE), or the environment's access key ID, or the default
// chain, and the signing region. The ARN would need STS: two identities
// behind one AWS profile name share the cached list until the Gateway's
// list replaces it (tools/list_changed).
func (awsIAM) identity(p *profile.Profile, getenv func(string) string) string {
	who := "profile " + p.Auth.AWSProfile
	switch {
	case p.Auth.AWSProfile != "":
	case getenv("AWS_PROFILE") != "":
		who = "profile " + getenv("AWS_PROFILE")
	case getenv("AWS_ACCESS_KEY_ID") != "":
		who = "key " + getenv("AWS_ACCESS_KEY_ID")
	default:
		who = "default chain"
	}
	return who + " in " + p.SigningRegion()
}

func (awsIAM) handler(*profile.Profile, tokenstore.Secrets, *http.Client, func(tokenstore.Secret)) auth.OAuthHandler {
	return nil
}

// check refuses the OAuth settings (aws_iam sends no token) and wants a
// signing region: auth.region, or a Gateway URL that names one.
func (awsIAM) check(p *profile.Profile) []error {
	var errs []error
	var oauthKeys []string
	for _, key := range p.AuthSettings() {
		if key != "auth.aws_profile" && key != "auth.region" {
			oauthKeys = append(oauthKeys, key)
		}
	}
	if len(oauthKeys) > 0 {
		var names []string
		for _, k := range oauthKeys {
			names = append(names, p.Origin(k)+" "+strings.TrimPrefix(k, "auth."))
		}
		errs = append(errs, p.Problem(oauthKeys[0], []string{"an AWS_IAM Gateway takes no Cognito token: remove them, or set auth.type to an OAuth type"},
			"auth type aws_iam signs requests with AWS credentials and uses no OAuth settings: %s", andList(names)))
	}
	if p.GatewayURL != "" && p.SigningRegion() == "" {
		errs = append(errs, p.Problem("auth.region", p.MissingHints("auth.region", "--region R"),
			"auth type aws_iam needs the SigV4 signing region: the Gateway URL names none (https://ID.gateway.bedrock-agentcore.REGION.amazonaws.com/mcp)"))
	}
	return errs
}

func (awsIAM) token(context.Context, *profile.Profile, tokenstore.Secrets, *http.Client) (*oauth2.Token, error) {
	return nil, errors.New("auth type aws_iam has no token")
}

func (awsIAM) login(_ context.Context, _ *env, p *profile.Profile, _ bool) error {
	hints := []string{fmt.Sprintf("to check the AWS identity in use, run %q", p.Command("status", ""))}
	if p.Auth.AWSProfile != "" {
		hints = append([]string{fmt.Sprintf(`for an IAM Identity Center (SSO) profile, run "aws sso login --profile %s"`, p.Auth.AWSProfile)}, hints...)
	}
	if names := p.SecretNames(); len(names) > 0 {
		hints = append(hints, fmt.Sprintf("to store a secret for an inject rule, run %q", p.Command("login", names[0])))
	}
	return withHints(fmt.Errorf("profile %q has auth type aws_iam: it uses your AWS credentials, and there is no Gateway login", p.Name), hints...)
}

// gatewayClient signs every request with the profile's AWS credentials.
// The credentials are read at the first request, not here: serve answers
// initialize without waiting, and a credential problem is the answer to
// the call that needs them.
func (awsIAM) gatewayClient(e *env, p *profile.Profile, client *http.Client, onSecret func(tokenstore.Secret)) *http.Client {
	creds := awsiam.New(awsiam.Config{
		Profile:    p.Auth.AWSProfile,
		Region:     p.SigningRegion(),
		Getenv:     e.getenv,
		HTTPClient: client,
		OnSecret:   onSecret,
	})
	signed := *client
	signed.Transport = &awsiam.Transport{Base: httpguard.Base(client), Credentials: creds, Region: p.SigningRegion()}
	return httpguard.Client(&signed)
}

// signerOf returns the credentials of a client gatewayClient made, or nil.
func signerOf(client *http.Client) *awsiam.Transport {
	t, _ := httpguard.Base(client).(*awsiam.Transport)
	return t
}

// identity gets the credentials of a signing client and asks STS whose
// they are.
func awsIdentity(ctx context.Context, e *env, p *profile.Profile, client, plain *http.Client) (awsiam.Identity, string, error) {
	t := signerOf(client)
	if t == nil {
		return awsiam.Identity{}, "", errors.New("not an aws_iam client")
	}
	creds, err := t.Credentials.Retrieve(ctx)
	if err != nil {
		return awsiam.Identity{}, "", err
	}
	id, err := awsiam.CallerIdentity(ctx, plain, e.getenv, p.Auth.AWSProfile, p.SigningRegion(), creds)
	return id, t.Credentials.Source(), err
}

// awsCredentialHints are the hints for a failure to get AWS credentials.
func awsCredentialHints(p *profile.Profile, err error) []string {
	var ce *awsiam.CredentialError
	var hints []string
	if errors.As(err, &ce) && ce.Fix != "" {
		hints = append(hints, ce.Fix)
	}
	if p.Auth.AWSProfile == "" {
		hints = append(hints, fmt.Sprintf("to use a profile of ~/.aws/config, set auth.aws_profile (%s) or pass --aws-profile NAME", p.Origin("auth.aws_profile")))
	}
	return hints
}

// awsCredentialText is err without its hint (the Fix becomes a hint).
func awsCredentialText(err error) string {
	var ce *awsiam.CredentialError
	if errors.As(err, &ce) {
		c := *ce
		c.Fix = ""
		return c.Error()
	}
	return err.Error()
}

func (awsIAM) doctor(ctx context.Context, d *doctor, p *profile.Profile, client *http.Client, _ bool) (auth.OAuthHandler, time.Time, bool) {
	tctx, cancel := context.WithTimeout(ctx, p.ConnectTimeout)
	defer cancel()
	plain, err := httpClient(p)
	if err != nil {
		d.fail(false, "aws credentials: "+err.Error())
		return nil, time.Time{}, false
	}
	id, src, err := awsIdentity(tctx, d.e, p, client, plain)
	var ce *awsiam.CredentialError
	switch {
	case errors.As(err, &ce):
		d.fail(false, "aws credentials: "+awsCredentialText(err), awsCredentialHints(p, err)...)
		return nil, time.Time{}, false
	case err != nil:
		d.fail(false, fmt.Sprintf("aws identity: credentials from %s, but STS GetCallerIdentity failed: %v", src, err),
			"the credentials may be expired or revoked; \"aws sts get-caller-identity\" with the same profile shows the same")
		return nil, time.Time{}, false
	}
	d.pass("aws credentials: %s; identity %s (account %s)", src, id.ARN, id.Account)
	d.note("the identity needs bedrock-agentcore:InvokeGateway on the Gateway's ARN")
	return nil, time.Time{}, true
}
