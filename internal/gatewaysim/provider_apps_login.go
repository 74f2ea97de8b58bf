package gatewaysim

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// ProviderAppGrant is what the provider's token endpoint gave an app.
type ProviderAppGrant struct {
	AccessToken  string
	RefreshToken string
	ExpiresIn    int // seconds
}

// LoginProviderApp logs the user in to app as its desktop client and the
// user's browser would, without either: it submits the consent form
// (allow) with a PKCE S256 challenge, takes the code from the redirect to
// app.RedirectURL (which it does not load), and exchanges it with the
// verifier and the app's client secret, if it has one. For tests that
// need a login's refresh token in a keychain.
func (s *Sim) LoginProviderApp(ctx context.Context, app ProviderApp) (ProviderAppGrant, error) {
	hc := &http.Client{Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	verifier := randomString(64, lowerAlnum)
	sum := sha256.Sum256([]byte(verifier))
	form := url.Values{
		"client_id": {app.ClientID}, "redirect_uri": {app.RedirectURL}, "response_type": {"code"},
		"state": {"s"}, "decision": {"allow"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
	}
	resp, err := submitForm(ctx, hc, s.ProviderURL+ProviderAuthorizePath, form)
	if err != nil {
		return ProviderAppGrant{}, fmt.Errorf("gatewaysim: consent: %w", err)
	}
	resp.Body.Close()
	back, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || back.Query().Get("code") == "" {
		return ProviderAppGrant{}, fmt.Errorf("gatewaysim: consent answered HTTP %d, not a redirect with a code", resp.StatusCode)
	}
	resp, err = submitForm(ctx, hc, s.ProviderURL+ProviderTokenPath, url.Values{
		"grant_type": {"authorization_code"}, "code": {back.Query().Get("code")}, "redirect_uri": {app.RedirectURL},
		"code_verifier": {verifier}, "client_id": {app.ClientID}, "client_secret": {app.ClientSecret},
	})
	if err != nil {
		return ProviderAppGrant{}, fmt.Errorf("gatewaysim: token exchange: %w", err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
		ExpiresIn    int    `json:"expires_in"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&tok); err != nil || resp.StatusCode != http.StatusOK {
		return ProviderAppGrant{}, fmt.Errorf("gatewaysim: token exchange answered HTTP %d", resp.StatusCode)
	}
	return ProviderAppGrant{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, ExpiresIn: tok.ExpiresIn}, nil
}

func submitForm(ctx context.Context, hc *http.Client, u string, form url.Values) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", u, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return hc.Do(req)
}
