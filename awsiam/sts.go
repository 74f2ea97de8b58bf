package awsiam

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// STS over its documented query protocol (form-encoded POST, XML answer),
// signed with the SDK's signer: the SDK's sts client would add its
// generated schemas and endpoint tables to every start of the binary (see
// doc.go for the figures).

const stsVersion = "2011-06-15"

// serviceEndpoint returns the base URL of a call to the service whose SDK
// ID is id ("STS", "SSO") for profile: its override as EndpointURL finds
// it (the environment, then the profile's services section and
// endpoint_url, as init's calls), else https://host. Without a home to
// find ~/.aws/config in, only the environment's overrides apply (the
// environment's or the host's credentials need no config file).
func serviceEndpoint(getenv func(string) string, profile, id, host string) (string, error) {
	u, err := EndpointURL(getenv, profile, id)
	if err != nil && homeDir(getenv) != "" {
		return "", fmt.Errorf("awsiam: the %s endpoint: %w", id, err)
	}
	if u != "" {
		return u, nil
	}
	return "https://" + host, nil
}

// stsCall posts one STS action and decodes its result into out. creds nil
// sends it unsigned (AssumeRoleWithWebIdentity). profile is the AWS
// profile whose endpoint settings apply ("" for $AWS_PROFILE, else
// default), as the SDKs' STS client of that profile would.
func stsCall(ctx context.Context, client *http.Client, getenv func(string) string, profile, region string, creds *aws.Credentials, form url.Values, out any) error {
	if region == "" {
		region = "us-east-1"
	}
	form.Set("Version", stsVersion)
	body := []byte(form.Encode())
	endpoint, err := serviceEndpoint(getenv, profile, "STS", "sts."+region+".amazonaws.com")
	if err != nil {
		return err
	}
	endpoint += "/"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	req.Header.Set("Accept", "text/xml")
	if creds != nil {
		sum := sha256.Sum256(body)
		if err := v4.NewSigner().SignHTTP(ctx, *creds, req, hex.EncodeToString(sum[:]), "sts", region, time.Now()); err != nil {
			return err
		}
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error struct {
				Code    string `xml:"Code"`
				Message string `xml:"Message"`
			} `xml:"Error"`
		}
		_ = xml.Unmarshal(data, &e)
		return &SignatureError{Status: resp.StatusCode, Type: e.Error.Code, Message: firstLine(e.Error.Message)}
	}
	if err := xml.Unmarshal(data, out); err != nil {
		return fmt.Errorf("awsiam: STS answer: %w", err)
	}
	return nil
}

// An Identity is who the credentials are (STS GetCallerIdentity).
type Identity struct {
	Account string
	ARN     string
	UserID  string
}

// CallerIdentity asks STS who creds are, at the STS endpoint of the AWS
// profile named ("" for $AWS_PROFILE, else default): an override of
// AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL or the profile's endpoint_url
// settings (a VPC endpoint, a local stand-in) is honoured.
func CallerIdentity(ctx context.Context, client *http.Client, getenv func(string) string, profile, region string, creds aws.Credentials) (Identity, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	var out struct {
		Result struct {
			Arn     string `xml:"Arn"`
			UserID  string `xml:"UserId"`
			Account string `xml:"Account"`
		} `xml:"GetCallerIdentityResult"`
	}
	if err := stsCall(ctx, client, getenv, profile, region, &creds, url.Values{"Action": {"GetCallerIdentity"}}, &out); err != nil {
		return Identity{}, err
	}
	return Identity{Account: out.Result.Account, ARN: out.Result.Arn, UserID: out.Result.UserID}, nil
}

// stsCredentials are the Credentials element of AssumeRole's and
// AssumeRoleWithWebIdentity's results.
type stsCredentials struct {
	AccessKeyID     string    `xml:"AccessKeyId"`
	SecretAccessKey string    `xml:"SecretAccessKey"`
	SessionToken    string    `xml:"SessionToken"`
	Expiration      time.Time `xml:"Expiration"`
}

func (c stsCredentials) aws(source string) aws.Credentials {
	return aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken,
		CanExpire: true, Expires: c.Expiration, Source: source}
}

// sessionName is the role session name when the profile sets none.
func sessionName(given string) string {
	if given != "" {
		return given
	}
	return "agw-proxy-" + strconv.FormatInt(time.Now().Unix(), 10)
}

// assumeRole is role_arn over base's credentials.
func (c *Credentials) assumeRole(sec *section, base *source) *source {
	role := sec.get("role_arn")
	form := url.Values{"Action": {"AssumeRole"}, "RoleArn": {role}}
	if v := sec.get("external_id"); v != "" {
		form.Set("ExternalId", v)
	}
	if v := sec.get("duration_seconds"); v != "" {
		form.Set("DurationSeconds", v)
	}
	region := sec.get("region")
	if region == "" {
		region = c.cfg.Region
	}
	p := aws.CredentialsProviderFunc(func(ctx context.Context) (aws.Credentials, error) {
		bc, err := base.provider.Retrieve(ctx)
		if err != nil {
			return aws.Credentials{}, base.explain(err, ctx, c.cfg.FetchTimeout)
		}
		c.cfg.OnSecret(secretOf(bc.SecretAccessKey))
		c.cfg.OnSecret(secretOf(bc.SessionToken))
		f := cloneValues(form)
		f.Set("RoleSessionName", sessionName(sec.get("role_session_name")))
		var out struct {
			Result struct {
				Credentials stsCredentials `xml:"Credentials"`
			} `xml:"AssumeRoleResult"`
		}
		if err := stsCall(ctx, c.cfg.HTTPClient, c.cfg.Getenv, c.cfg.Profile, region, &bc, f, &out); err != nil {
			return aws.Credentials{}, err
		}
		return out.Result.Credentials.aws("AssumeRole"), nil
	})
	return &source{profile: sec.name, kind: "assume role " + role + " (over " + base.describe() + ")", at: sec.where("role_arn"), provider: p}
}

// webIdentity is AssumeRoleWithWebIdentity with the token in file (EKS
// service accounts and the like).
func (c *Credentials) webIdentity(profile, at, file, role, session string) *source {
	p := aws.CredentialsProviderFunc(func(ctx context.Context) (aws.Credentials, error) {
		tok, err := os.ReadFile(file)
		if err != nil {
			return aws.Credentials{}, &CredentialError{Profile: profile, Source: "web identity", Reason: fmt.Sprintf("cannot read the token file %s: %v", file, unwrapPath(err))}
		}
		form := url.Values{"Action": {"AssumeRoleWithWebIdentity"}, "RoleArn": {role},
			"RoleSessionName": {sessionName(session)}, "WebIdentityToken": {strings.TrimSpace(string(tok))}}
		var out struct {
			Result struct {
				Credentials stsCredentials `xml:"Credentials"`
			} `xml:"AssumeRoleWithWebIdentityResult"`
		}
		if err := stsCall(ctx, c.cfg.HTTPClient, c.cfg.Getenv, c.cfg.Profile, c.cfg.Region, nil, form, &out); err != nil {
			return aws.Credentials{}, err
		}
		return out.Result.Credentials.aws("AssumeRoleWithWebIdentity"), nil
	})
	return &source{profile: profile, kind: "web identity " + role, at: at, provider: p}
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}
