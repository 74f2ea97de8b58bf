package awsiam

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// IAM Identity Center (SSO) credentials, as the AWS CLI leaves them: "aws
// sso login" caches an access token in ~/.aws/sso/cache/<sha1>.json (of
// the sso-session's name, or of the start URL for a legacy profile), and
// the portal's GetRoleCredentials (a REST GET with the token in a header)
// turns it into role credentials. Done by hand rather than with the SDK's
// ssocreds, which links the sso and ssooidc clients into every start of
// the binary (see doc.go). A token that has expired is not refreshed here:
// the fix is "aws sso login", which the error says.

// ssoTokenSlack: a cached token this close to its expiry counts as
// expired, so that GetRoleCredentials does not race it.
const ssoTokenSlack = time.Minute

// ssoSource is the SSO source of profile sec.
func (c *Credentials) ssoSource(sc *sharedConfig, sec *section) (*source, error) {
	name := sec.name
	fail := func(format string, a ...any) error {
		return &CredentialError{Profile: name, Source: "SSO", Reason: fmt.Sprintf(format, a...) + " (" + sec.where(firstKey(sec)) + ")",
			Fix: fmt.Sprintf(`run "aws configure sso --profile %s"`, name)}
	}
	account, role := sec.get("sso_account_id"), sec.get("sso_role_name")
	if account == "" || role == "" {
		return nil, fail("the profile needs sso_account_id and sso_role_name")
	}
	startURL, region, key := sec.get("sso_start_url"), sec.get("sso_region"), sec.get("sso_start_url")
	if s := sec.get("sso_session"); s != "" {
		sess := sc.ssoSessions[s]
		if sess == nil {
			return nil, fail("sso_session %q has no [sso-session %s] section in %s", s, s, sc.configFile)
		}
		startURL, region, key = sess.get("sso_start_url"), sess.get("sso_region"), s
	}
	if startURL == "" || region == "" {
		return nil, fail("the SSO settings need sso_start_url and sso_region")
	}
	// The chain read the config already: the endpoint cannot fail to.
	endpoint, err := serviceEndpoint(c.cfg.Getenv, c.cfg.Profile, "SSO", "portal.sso."+region+".amazonaws.com")
	if err != nil {
		return nil, &CredentialError{Profile: name, Source: "SSO", Reason: err.Error()}
	}
	home := homeDir(c.cfg.Getenv)
	sum := sha1.Sum([]byte(key))
	p := &ssoProvider{
		profile:   name,
		account:   account,
		role:      role,
		region:    region,
		tokenFile: filepath.Join(home, ".aws", "sso", "cache", hex.EncodeToString(sum[:])+".json"),
		endpoint:  endpoint,
		client:    c.cfg.HTTPClient,
		now:       c.cfg.Now,
	}
	return &source{profile: name, kind: "SSO", detail: fmt.Sprintf("account %s role %s", account, role),
		at: sec.where("sso_account_id"), provider: p, sso: true}, nil
}

type ssoProvider struct {
	profile, account, role, region string
	tokenFile, endpoint            string
	client                         *http.Client
	now                            func() time.Time
}

// expired is the error of a sign-in that is missing or over.
func (p *ssoProvider) expired(reason string, err error) error {
	return &CredentialError{Profile: p.profile, Source: "SSO", SSO: true, Reason: reason,
		Fix: fmt.Sprintf(`run "aws sso login --profile %s"`, p.profile), Err: err}
}

func (p *ssoProvider) Retrieve(ctx context.Context) (aws.Credentials, error) {
	data, err := os.ReadFile(p.tokenFile)
	if errors.Is(err, fs.ErrNotExist) {
		return aws.Credentials{}, p.expired("not signed in (no cached SSO token)", err)
	}
	if err != nil {
		return aws.Credentials{}, p.expired(fmt.Sprintf("cannot read the cached SSO token %s: %v", p.tokenFile, unwrapPath(err)), err)
	}
	var tok struct {
		AccessToken string `json:"accessToken"`
		ExpiresAt   string `json:"expiresAt"`
	}
	if err := json.Unmarshal(data, &tok); err != nil || tok.AccessToken == "" {
		return aws.Credentials{}, p.expired("the cached SSO token "+p.tokenFile+" is not readable", err)
	}
	exp, err := time.Parse(time.RFC3339, tok.ExpiresAt)
	if err != nil || !p.now().Add(ssoTokenSlack).Before(exp) {
		return aws.Credentials{}, p.expired("the SSO session has expired", err)
	}

	q := url.Values{"account_id": {p.account}, "role_name": {p.role}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.endpoint+"/federation/credentials?"+q.Encode(), nil)
	if err != nil {
		return aws.Credentials{}, err
	}
	req.Header.Set("X-Amz-Sso_bearer_token", tok.AccessToken)
	req.Header.Set("Accept", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		return aws.Credentials{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return aws.Credentials{}, err
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		return aws.Credentials{}, p.expired("the SSO session has expired or was signed out", nil)
	case resp.StatusCode == http.StatusForbidden:
		return aws.Credentials{}, &CredentialError{Profile: p.profile, Source: "SSO", SSO: true,
			Reason: fmt.Sprintf("IAM Identity Center refused role %s in account %s (HTTP 403)", p.role, p.account),
			Fix:    "check sso_account_id and sso_role_name: your user must be assigned that permission set"}
	case resp.StatusCode != http.StatusOK:
		return aws.Credentials{}, &CredentialError{Profile: p.profile, Source: "SSO", SSO: true,
			Reason: fmt.Sprintf("GetRoleCredentials answered HTTP %d", resp.StatusCode)}
	}
	var out struct {
		RoleCredentials struct {
			AccessKeyID     string `json:"accessKeyId"`
			SecretAccessKey string `json:"secretAccessKey"`
			SessionToken    string `json:"sessionToken"`
			Expiration      int64  `json:"expiration"`
		} `json:"roleCredentials"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return aws.Credentials{}, &CredentialError{Profile: p.profile, Source: "SSO", Reason: "GetRoleCredentials answered something other than credentials"}
	}
	rc := out.RoleCredentials
	return aws.Credentials{AccessKeyID: rc.AccessKeyID, SecretAccessKey: rc.SecretAccessKey, SessionToken: rc.SessionToken,
		CanExpire: true, Expires: time.UnixMilli(rc.Expiration), Source: "SSO"}, nil
}
