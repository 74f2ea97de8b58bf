package awsiam

import (
	"bytes"
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
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/agw-proxy/agw-proxy/internal/atomicfile"
)

// IAM Identity Center (SSO) credentials, as the AWS CLI leaves them: "aws
// sso login" caches an access token in ~/.aws/sso/cache/<sha1>.json (of
// the sso-session's name, or of the start URL for a legacy profile), and
// the portal's GetRoleCredentials (a REST GET with the token in a header)
// turns it into role credentials. Done by hand rather than with the SDK's
// ssocreds, which links the sso and ssooidc clients into every start of
// the binary (see doc.go).
//
// The access token of an sso_session profile is refreshed as the SDKs'
// SSOTokenProvider and the AWS CLI do: when it is expired or within
// ssoRefreshWindow of it, and the cache file holds a refresh token and a
// client registration that has not expired, SSO OIDC's CreateToken
// (grantType refresh_token, one JSON POST) gives a new one, which is
// written back to the same file. A legacy profile (sso_start_url in the
// profile) has no refresh token: its expired token, like a refresh that
// IAM Identity Center refuses, is the error that says to run "aws sso
// login".

const (
	// ssoTokenSlack: a cached token this close to its expiry counts as
	// expired, so that GetRoleCredentials does not race it.
	ssoTokenSlack = time.Minute
	// ssoRefreshWindow: a token this close to its expiry is refreshed
	// (the SDKs' bearer token cache refreshes 5 minutes early). While it
	// is still good for more than ssoTokenSlack, a refresh that fails is
	// not an error: the old token is used and the next fetch tries again.
	ssoRefreshWindow = 5 * time.Minute
	// maxOIDCAnswer bounds the read of CreateToken's answer (a few kB).
	maxOIDCAnswer = 1 << 20
)

// ssoRefreshLock (held: a value in it) makes a refresh of this process
// one read, CreateToken and write of the cache file: each Credentials'
// fetches are serialized by its aws.CredentialsCache, but two Credentials
// of the same session (serve and a status check) would otherwise both
// spend the refresh token, and the second could be refused once IAM
// Identity Center has rotated it. A channel, so that a wait ends with its
// fetch's context.
var ssoRefreshLock = make(chan struct{}, 1)

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
	session := sec.get("sso_session")
	if session != "" {
		sess := sc.ssoSessions[session]
		if sess == nil {
			return nil, fail("sso_session %q has no [sso-session %s] section in %s", session, session, sc.configFile)
		}
		startURL, region, key = sess.get("sso_start_url"), sess.get("sso_region"), session
	}
	if startURL == "" || region == "" {
		return nil, fail("the SSO settings need sso_start_url and sso_region")
	}
	// The chain read the config already: the endpoints cannot fail to.
	endpoint, err := serviceEndpoint(c.cfg.Getenv, c.cfg.Profile, "SSO", "portal.sso."+region+".amazonaws.com")
	if err != nil {
		return nil, &CredentialError{Profile: name, Source: "SSO", Reason: err.Error()}
	}
	var oidc string
	if session != "" {
		// "SSO OIDC" is the SDK's service ID: AWS_ENDPOINT_URL_SSO_OIDC,
		// or sso_oidc in a services section.
		oidc, err = serviceEndpoint(c.cfg.Getenv, c.cfg.Profile, "SSO_OIDC", "oidc."+region+".amazonaws.com")
		if err != nil {
			return nil, &CredentialError{Profile: name, Source: "SSO", Reason: err.Error()}
		}
	}
	home := homeDir(c.cfg.Getenv)
	sum := sha1.Sum([]byte(key))
	p := &ssoProvider{
		profile:      name,
		account:      account,
		role:         role,
		region:       region,
		tokenFile:    filepath.Join(home, ".aws", "sso", "cache", hex.EncodeToString(sum[:])+".json"),
		endpoint:     endpoint,
		oidcEndpoint: oidc,
		client:       c.cfg.HTTPClient,
		now:          c.cfg.Now,
	}
	return &source{profile: name, kind: "SSO", detail: fmt.Sprintf("account %s role %s", account, role),
		at: sec.where("sso_account_id"), provider: p, sso: true}, nil
}

type ssoProvider struct {
	profile, account, role, region string
	tokenFile, endpoint            string
	// oidcEndpoint refreshes the token; "" for a legacy profile, whose
	// token is not refreshed.
	oidcEndpoint string
	client       *http.Client
	now          func() time.Time
}

// expired is the error of a sign-in that is missing or over.
func (p *ssoProvider) expired(reason string, err error) error {
	return &CredentialError{Profile: p.profile, Source: "SSO", SSO: true, Reason: reason,
		Fix: fmt.Sprintf(`run "aws sso login --profile %s"`, p.profile), Err: err}
}

// refreshFailed is the error of a refresh that did not get an answer (the
// network, a 5xx): the session may well be good, so it does not say to
// sign in again.
func (p *ssoProvider) refreshFailed(reason string, err error) error {
	return &CredentialError{Profile: p.profile, Source: "SSO", Reason: "could not refresh the SSO token: " + reason,
		Fix: "the cached sign-in was kept; the next request tries again", Err: err}
}

func (p *ssoProvider) Retrieve(ctx context.Context) (aws.Credentials, error) {
	token, err := p.accessToken(ctx)
	if err != nil {
		return aws.Credentials{}, err
	}
	q := url.Values{"account_id": {p.account}, "role_name": {p.role}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.endpoint+"/federation/credentials?"+q.Encode(), nil)
	if err != nil {
		return aws.Credentials{}, err
	}
	req.Header.Set("X-Amz-Sso_bearer_token", token)
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

// ssoCache is a cache file of "aws sso login": the fields this package
// reads, and all of them as they are, to write back.
type ssoCache struct {
	raw          map[string]json.RawMessage
	accessToken  string
	expiresAt    time.Time // zero: unreadable, counts as expired
	refreshToken string
	clientID     string
	clientSecret string
	regExpiresAt time.Time // zero: not said
}

// readCache reads the cache file. Its errors are the sign-in's: a file
// that is missing or unreadable means "aws sso login".
func (p *ssoProvider) readCache() (*ssoCache, error) {
	data, err := os.ReadFile(p.tokenFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, p.expired("not signed in (no cached SSO token)", err)
	}
	if err != nil {
		return nil, p.expired(fmt.Sprintf("cannot read the cached SSO token %s: %v", p.tokenFile, unwrapPath(err)), err)
	}
	c := &ssoCache{}
	// A field of the wrong type reads as absent: the error would not
	// help, and its text must not quote the file.
	str := func(k string) string {
		var s string
		_ = json.Unmarshal(c.raw[k], &s)
		return s
	}
	if err := json.Unmarshal(data, &c.raw); err != nil || str("accessToken") == "" {
		return nil, p.expired("the cached SSO token "+p.tokenFile+" is not readable", nil)
	}
	c.accessToken, c.refreshToken = str("accessToken"), str("refreshToken")
	c.clientID, c.clientSecret = str("clientId"), str("clientSecret")
	c.expiresAt, _ = time.Parse(time.RFC3339, str("expiresAt"))
	c.regExpiresAt, _ = time.Parse(time.RFC3339, str("registrationExpiresAt"))
	return c, nil
}

// accessToken is the cached access token, refreshed first if it is
// about to expire and can be.
func (p *ssoProvider) accessToken(ctx context.Context) (string, error) {
	select {
	case ssoRefreshLock <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer func() { <-ssoRefreshLock }()
	c, err := p.readCache()
	if err != nil {
		return "", err
	}
	now := p.now()
	if now.Add(ssoRefreshWindow).Before(c.expiresAt) {
		return c.accessToken, nil
	}
	usable := now.Add(ssoTokenSlack).Before(c.expiresAt)
	var refreshErr error
	switch {
	case p.oidcEndpoint == "" || c.refreshToken == "" || c.clientID == "" || c.clientSecret == "":
		refreshErr = p.expired("the SSO session has expired", nil)
	case !c.regExpiresAt.IsZero() && !now.Before(c.regExpiresAt):
		refreshErr = p.expired("the SSO session has expired (and its client registration, which refreshes it)", nil)
	default:
		var token string
		if token, refreshErr = p.refresh(ctx, c); refreshErr == nil {
			return token, nil
		}
	}
	if usable {
		return c.accessToken, nil
	}
	// Another process (the AWS CLI, a second agw-proxy) may have
	// refreshed the token since it was read, spending the refresh token
	// that was just refused: its new token is good.
	var ce *CredentialError
	if errors.As(refreshErr, &ce) && ce.SSO {
		if c2, err := p.readCache(); err == nil && c2.accessToken != c.accessToken && p.now().Add(ssoTokenSlack).Before(c2.expiresAt) {
			return c2.accessToken, nil
		}
	}
	return "", refreshErr
}

// refresh gets a new access token with c's refresh token (SSO OIDC's
// CreateToken, unsigned) and writes it to the cache file, the way the
// SDKs do: the same file and JSON keys, every other key kept, the new
// accessToken and expiresAt, and the new refreshToken if one came.
//
// The file is replaced by a rename, so a reader (the AWS CLI, another
// agw-proxy) sees the old file or the new, never half. Two processes that
// refresh with the same refresh token at once: if IAM Identity Center
// refuses the second (the token was spent), that process reads the file
// again and uses the first's new token (see accessToken); if it answers
// both, both write a whole file and the last writer wins, which is good
// unless issuing the other's tokens revoked the winner's refresh token:
// then the next refresh is refused, and its error says to run "aws sso
// login".
func (p *ssoProvider) refresh(ctx context.Context, c *ssoCache) (string, error) {
	body, err := json.Marshal(struct {
		ClientID     string `json:"clientId"`
		ClientSecret string `json:"clientSecret"`
		GrantType    string `json:"grantType"`
		RefreshToken string `json:"refreshToken"`
	}{c.clientID, c.clientSecret, "refresh_token", c.refreshToken})
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.oidcEndpoint+"/token", bytes.NewReader(body))
	if err != nil {
		return "", p.refreshFailed("the SSO OIDC endpoint "+p.oidcEndpoint+" is not a URL", nil)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		// A url.Error names the method and the URL, no part of the body.
		return "", p.refreshFailed(firstLine(err.Error()), err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxOIDCAnswer))
	if err != nil {
		return "", p.refreshFailed("reading the answer of "+p.oidcEndpoint+": "+firstLine(err.Error()), err)
	}
	switch {
	case resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		// invalid_grant (a refresh token revoked, rotated or past the
		// session's length), invalid_client (an expired registration), …
		return "", p.expired(fmt.Sprintf("IAM Identity Center refused to refresh the SSO token (HTTP %d%s)", resp.StatusCode, oidcErrorType(resp.Header, answer)), nil)
	case resp.StatusCode != http.StatusOK:
		return "", p.refreshFailed(fmt.Sprintf("%s answered HTTP %d%s", p.oidcEndpoint, resp.StatusCode, oidcErrorType(resp.Header, answer)), nil)
	}
	var out struct {
		AccessToken  string `json:"accessToken"`
		ExpiresIn    int64  `json:"expiresIn"`
		RefreshToken string `json:"refreshToken"`
	}
	if err := json.Unmarshal(answer, &out); err != nil || out.AccessToken == "" || out.ExpiresIn <= 0 {
		return "", p.refreshFailed(p.oidcEndpoint+" answered without a token and its lifetime", nil)
	}

	set := func(k, v string) {
		b, _ := json.Marshal(v) // a string always marshals
		c.raw[k] = b
	}
	set("accessToken", out.AccessToken)
	set("expiresAt", p.now().Add(time.Duration(out.ExpiresIn)*time.Second).UTC().Format(time.RFC3339))
	if out.RefreshToken != "" {
		set("refreshToken", out.RefreshToken)
	}
	data, err := json.Marshal(c.raw)
	if err != nil {
		return "", err
	}
	if err := atomicfile.Write(p.tokenFile, append(data, '\n'), 0o600); err != nil {
		return "", &CredentialError{Profile: p.profile, Source: "SSO",
			Reason: fmt.Sprintf("the refreshed SSO token could not be saved to %s: %v", p.tokenFile, unwrapPath(err)),
			Fix:    "make " + filepath.Dir(p.tokenFile) + " writable", Err: err}
	}
	return out.AccessToken, nil
}

// oidcErrorType is ", TYPE" of an SSO OIDC error answer (restJson1: the
// X-Amzn-Errortype header, else the body's __type, else its error), or
// "": the type only, which is the AWS's own name, never the description.
func oidcErrorType(h http.Header, body []byte) string {
	t := h.Get("X-Amzn-Errortype")
	if t == "" {
		var e struct {
			Type  string `json:"__type"`
			Error string `json:"error"`
		}
		_ = json.Unmarshal(body, &e)
		t = e.Type
		if t == "" {
			t = e.Error
		}
	}
	t, _, _ = strings.Cut(t, ":")
	if i := strings.LastIndexByte(t, '#'); i >= 0 {
		t = t[i+1:]
	}
	if t == "" || len(t) > 64 || strings.IndexFunc(t, func(r rune) bool {
		return !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	}) >= 0 {
		return ""
	}
	return ", " + t
}
