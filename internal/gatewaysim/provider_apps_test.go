package gatewaysim

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// The provider's own OAuth apps (provider_apps.go): raw HTTP plays the
// desktop client and the browser.

const appRedirect = "http://127.0.0.1:8502/callback"

// appLogin logs in to app (LoginProviderApp) or fails the test.
func appLogin(t *testing.T, s *Sim, app ProviderApp) ProviderAppGrant {
	t.Helper()
	g, err := s.LoginProviderApp(testCtx(t), app)
	if err != nil {
		t.Fatal(err)
	}
	if g.AccessToken == "" || g.RefreshToken == "" {
		t.Fatalf("login gave %+v", g)
	}
	return g
}

// appRefresh runs the refresh_token grant for app.
func appRefresh(t *testing.T, s *Sim, app ProviderApp, refresh string) (int, map[string]any) {
	t.Helper()
	return postForm(t, s.ProviderURL+ProviderTokenPath, url.Values{
		"grant_type": {"refresh_token"}, "refresh_token": {refresh}, "client_id": {app.ClientID}, "client_secret": {app.ClientSecret},
	}, "", "")
}

// callAPI sends a request to the default target's API with X-Asana-Token
// set to value ("" leaves it out) and returns the status and body.
func callAPI(t *testing.T, s *Sim, value string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", s.BackendURL+"/"+DefaultTargetName+"/asana?api_key="+DefaultAPIKey, strings.NewReader(`{"tool_name":"list_projects"}`))
	if value != "" {
		req.Header.Set("X-Asana-Token", value)
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func startWithApps(t *testing.T) *Sim {
	s := start(t, Options{})
	s.RequireProviderToken(DefaultTargetName, "X-Asana-Token")
	return s
}

// TestProviderAppAuthorizeRequiresS256: an app's authorization request
// without a PKCE challenge, or with the plain method (or none), is refused
// with a 400 page and no redirect, at the consent page and at its form.
func TestProviderAppAuthorizeRequiresS256(t *testing.T) {
	s := startWithApps(t)
	app := s.RegisterProviderApp(appRedirect, false)
	sum := sha256.Sum256([]byte("a-verifier-of-forty-three-characters-or-more-000"))
	s256 := base64.RawURLEncoding.EncodeToString(sum[:])
	for _, tc := range []struct {
		name              string
		challenge, method string
		want              int
	}{
		{"S256", s256, "S256", http.StatusOK},
		{"no challenge", "", "", http.StatusBadRequest},
		{"no challenge, S256", "", "S256", http.StatusBadRequest},
		{"plain", s256, "plain", http.StatusBadRequest},
		{"no method", s256, "", http.StatusBadRequest},
		{"s256 in lower case", s256, "s256", http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := url.Values{"client_id": {app.ClientID}, "redirect_uri": {app.RedirectURL}, "response_type": {"code"}, "state": {"st"}}
			if tc.challenge != "" {
				q.Set("code_challenge", tc.challenge)
			}
			if tc.method != "" {
				q.Set("code_challenge_method", tc.method)
			}
			resp, err := noRedirect.Get(s.ProviderURL + ProviderAuthorizePath + "?" + q.Encode())
			if err != nil {
				t.Fatal(err)
			}
			page, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("consent page: HTTP %d, want %d: %s", resp.StatusCode, tc.want, page)
			}
			if tc.want != http.StatusOK && !strings.Contains(string(page), "PKCE code_challenge (S256)") {
				t.Errorf("refusal page does not say why: %s", page)
			}
			q.Set("decision", "allow")
			resp, err = noRedirect.PostForm(s.ProviderURL+ProviderAuthorizePath, q)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			wantDecision := http.StatusFound
			if tc.want != http.StatusOK {
				wantDecision = http.StatusBadRequest
			}
			if resp.StatusCode != wantDecision || (wantDecision != http.StatusFound && resp.Header.Get("Location") != "") {
				t.Fatalf("consent form: HTTP %d Location %q, want %d", resp.StatusCode, resp.Header.Get("Location"), wantDecision)
			}
		})
	}
	if c := s.ProviderCounts(); c.Logins != 0 {
		t.Errorf("logins %d, want 0", c.Logins)
	}
}

// TestProviderAppCodeNeedsVerifier: the code is exchanged only with the
// verifier of its challenge, once.
func TestProviderAppCodeNeedsVerifier(t *testing.T) {
	s := startWithApps(t)
	app := s.RegisterProviderApp(appRedirect, false)
	verifier := "the-right-verifier-0123456789-0123456789-abcdef"
	sum := sha256.Sum256([]byte(verifier))
	code := func() string {
		resp, err := noRedirect.PostForm(s.ProviderURL+ProviderAuthorizePath, url.Values{
			"client_id": {app.ClientID}, "redirect_uri": {app.RedirectURL}, "response_type": {"code"}, "decision": {"allow"},
			"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
		})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		u, _ := url.Parse(resp.Header.Get("Location"))
		return u.Query().Get("code")
	}
	exchange := func(code, verifier string) (int, map[string]any) {
		return postForm(t, s.ProviderURL+ProviderTokenPath, url.Values{"grant_type": {"authorization_code"}, "code": {code},
			"redirect_uri": {app.RedirectURL}, "client_id": {app.ClientID}, "code_verifier": {verifier}}, "", "")
	}
	for _, v := range []string{"", "a-wrong-verifier-0123456789-0123456789-abcdef"} {
		if status, body := exchange(code(), v); status != http.StatusBadRequest || body["error"] != "invalid_grant" {
			t.Errorf("verifier %q: HTTP %d %v, want invalid_grant", v, status, body)
		}
	}
	c := code()
	if status, body := exchange(c, verifier); status != http.StatusOK || body["refresh_token"] == nil {
		t.Fatalf("right verifier: HTTP %d %v", status, body)
	}
	if status, _ := exchange(c, verifier); status != http.StatusBadRequest {
		t.Errorf("the code was exchanged twice: HTTP %d", status)
	}
	if got := s.ProviderCounts().Logins; got != 1 {
		t.Errorf("logins %d, want 1", got)
	}
}

// TestProviderAppRefreshRotation: every refresh returns a new refresh
// token, and the one it replaced is refused at once (counted as stale);
// the current one goes on working.
func TestProviderAppRefreshRotation(t *testing.T) {
	s := startWithApps(t)
	app := s.RegisterProviderApp(appRedirect, true)
	g := appLogin(t, s, app)
	status, body := appRefresh(t, s, app, g.RefreshToken)
	next, _ := body["refresh_token"].(string)
	if status != http.StatusOK || next == "" || next == g.RefreshToken || body["access_token"] == g.AccessToken {
		t.Fatalf("refresh: HTTP %d, rotated %v", status, next != g.RefreshToken)
	}
	status, body = appRefresh(t, s, app, g.RefreshToken)
	if status != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Fatalf("the replaced refresh token: HTTP %d %v, want invalid_grant", status, body)
	}
	if status, _ := appRefresh(t, s, app, next); status != http.StatusOK {
		t.Fatalf("the current refresh token after a stale one: HTTP %d", status)
	}
	if c := s.ProviderCounts(); c.Refreshes != 2 || c.StaleRefreshes != 1 || c.RevokedRefresh != 0 {
		t.Errorf("counts %+v, want 2 refreshes, 1 stale", c)
	}
	// The confidential app's refresh wants its secret.
	status, _ = postForm(t, s.ProviderURL+ProviderTokenPath, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {next}, "client_id": {app.ClientID}}, "", "")
	if status != http.StatusUnauthorized {
		t.Errorf("refresh without the client secret: HTTP %d, want 401", status)
	}
	_, issued := s.ProviderAppTokens()
	if len(issued) != 3 || issued[0] != g.RefreshToken || issued[1] != next {
		t.Errorf("issued refresh tokens: %d, not in order", len(issued))
	}
}

// TestProviderAppRevocation: revoking a refresh token at the endpoint ends
// its login (its refresh and its access tokens, other logins untouched);
// revoking an access token ends that token alone; RevokeProviderLogins
// ends every login of one app.
func TestProviderAppRevocation(t *testing.T) {
	revoke := func(t *testing.T, s *Sim, token string) {
		t.Helper()
		resp, err := noRedirect.PostForm(s.ProviderURL+ProviderRevokePath, url.Values{"token": {token}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("revoke: HTTP %d", resp.StatusCode)
		}
	}
	t.Run("refresh token at the endpoint", func(t *testing.T) {
		s := startWithApps(t)
		app := s.RegisterProviderApp(appRedirect, false)
		g, other := appLogin(t, s, app), appLogin(t, s, app)
		revoke(t, s, g.RefreshToken)
		if status, body := appRefresh(t, s, app, g.RefreshToken); status != http.StatusBadRequest || body["error"] != "invalid_grant" {
			t.Fatalf("revoked refresh token: HTTP %d %v", status, body)
		}
		if status, _ := callAPI(t, s, "Bearer "+g.AccessToken); status != http.StatusUnauthorized {
			t.Errorf("the revoked login's access token: HTTP %d, want 401", status)
		}
		if status, _ := callAPI(t, s, other.AccessToken); status != http.StatusOK {
			t.Errorf("another login's access token: HTTP %d, want 200", status)
		}
		if status, _ := appRefresh(t, s, app, other.RefreshToken); status != http.StatusOK {
			t.Errorf("another login's refresh: HTTP %d, want 200", status)
		}
		if c := s.ProviderCounts(); c.Revocations != 1 || c.RevokedRefresh != 1 || c.Rejected != 1 || c.ExpiredRejected != 0 {
			t.Errorf("counts %+v", c)
		}
		revoke(t, s, "not-a-token") // RFC 7009: 200 all the same
	})
	t.Run("access token at the endpoint", func(t *testing.T) {
		s := startWithApps(t)
		app := s.RegisterProviderApp(appRedirect, false)
		g := appLogin(t, s, app)
		revoke(t, s, g.AccessToken)
		if status, _ := callAPI(t, s, g.AccessToken); status != http.StatusUnauthorized {
			t.Errorf("the revoked access token: HTTP %d, want 401", status)
		}
		status, body := appRefresh(t, s, app, g.RefreshToken)
		if status != http.StatusOK {
			t.Fatalf("refresh after revoking an access token: HTTP %d", status)
		}
		if status, _ := callAPI(t, s, body["access_token"].(string)); status != http.StatusOK {
			t.Errorf("the new access token: HTTP %d", status)
		}
	})
	t.Run("RevokeProviderLogins", func(t *testing.T) {
		s := startWithApps(t)
		app, other := s.RegisterProviderApp(appRedirect, false), s.RegisterProviderApp(appRedirect, false)
		g1, g2, o := appLogin(t, s, app), appLogin(t, s, app), appLogin(t, s, other)
		s.RevokeProviderLogins(app.ClientID)
		for i, g := range []ProviderAppGrant{g1, g2} {
			if status, _ := appRefresh(t, s, app, g.RefreshToken); status != http.StatusBadRequest {
				t.Errorf("login %d's refresh: HTTP %d, want 400", i+1, status)
			}
			if status, _ := callAPI(t, s, g.AccessToken); status != http.StatusUnauthorized {
				t.Errorf("login %d's access token: HTTP %d, want 401", i+1, status)
			}
		}
		if status, _ := callAPI(t, s, o.AccessToken); status != http.StatusOK {
			t.Errorf("the other app's access token: HTTP %d, want 200", status)
		}
		if status, _ := appRefresh(t, s, other, o.RefreshToken); status != http.StatusOK {
			t.Errorf("the other app's refresh: HTTP %d, want 200", status)
		}
		if c := s.ProviderCounts(); c.RevokedRefresh != 2 || c.Revocations != 0 {
			t.Errorf("counts %+v, want 2 revoked refreshes, no revocations at the endpoint", c)
		}
	})
}

// TestProviderAppTokenLifetime: SetProviderTokenLifetime sets expires_in
// and when the API stops taking the token, on the emulator's clock; 0
// restores an hour.
func TestProviderAppTokenLifetime(t *testing.T) {
	s := startWithApps(t)
	app := s.RegisterProviderApp(appRedirect, false)
	s.SetProviderTokenLifetime(90 * time.Second)
	g := appLogin(t, s, app)
	if g.ExpiresIn != 90 {
		t.Fatalf("expires_in %d, want 90", g.ExpiresIn)
	}
	s.SetClockSkew(89 * time.Second)
	if status, _ := callAPI(t, s, g.AccessToken); status != http.StatusOK {
		t.Fatalf("at 89 s: HTTP %d, want 200", status)
	}
	s.SetClockSkew(90 * time.Second)
	if status, _ := callAPI(t, s, g.AccessToken); status != http.StatusUnauthorized {
		t.Fatalf("at 90 s: HTTP %d, want 401", status)
	}
	if c := s.ProviderCounts(); c.ExpiredRejected != 1 || c.Rejected != 0 {
		t.Errorf("counts %+v, want 1 expired", c)
	}
	// A refresh on the moved clock gives a token valid from then.
	s.SetProviderTokenLifetime(0)
	status, body := appRefresh(t, s, app, g.RefreshToken)
	if status != http.StatusOK || body["expires_in"] != float64(3600) {
		t.Fatalf("refresh with the lifetime reset: HTTP %d expires_in %v, want 3600", status, body["expires_in"])
	}
	s.SetClockSkew(90*time.Second + 3599*time.Second)
	if status, _ := callAPI(t, s, body["access_token"].(string)); status != http.StatusOK {
		t.Errorf("the refreshed token 3599 s later: HTTP %d, want 200", status)
	}
	s.ExpireProviderTokens()
	if status, _ := callAPI(t, s, body["access_token"].(string)); status != http.StatusUnauthorized {
		t.Errorf("after ExpireProviderTokens: HTTP %d, want 401", status)
	}
}

// TestRequireProviderToken: the API of a target under RequireProviderToken
// answers a missing, unknown or expired token with Asana's 401 body, takes
// a valid one with or without "Bearer ", and the Gateway reports the 401
// as an isError result (the detail only with debug messages on).
func TestRequireProviderToken(t *testing.T) {
	for _, debug := range []bool{false, true} {
		s := start(t, Options{Debug: debug})
		app := s.RegisterProviderApp(appRedirect, false)
		g := appLogin(t, s, app)
		if status, _ := callAPI(t, s, ""); status != http.StatusOK {
			t.Fatalf("without RequireProviderToken: HTTP %d, want 200", status)
		}
		s.RequireProviderToken(DefaultTargetName, "X-Asana-Token")
		const notAuthorized = `{"errors":[{"message":"Not Authorized"}]}`
		for _, v := range []string{"", "Bearer", "Bearer not-a-provider-token", g.RefreshToken, "Basic " + g.AccessToken} {
			status, body := callAPI(t, s, v)
			if status != http.StatusUnauthorized || strings.TrimSpace(body) != notAuthorized {
				t.Errorf("token %.16q: HTTP %d %s, want 401 %s", v, status, body, notAuthorized)
			}
		}
		for _, v := range []string{g.AccessToken, "Bearer " + g.AccessToken, "bearer  " + g.AccessToken} {
			if status, body := callAPI(t, s, v); status != http.StatusOK {
				t.Errorf("valid token as %.10q...: HTTP %d %s", v, status, body)
			}
		}

		// Through the Gateway: the call with no token is an isError result.
		resp, body := rpc(t, s, machineToken(t, s), v2025, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"`+
			DefaultTargetName+`___asanaInvoke","arguments":{"tool_name":"list_projects","X-Asana-Token":"Bearer unknown"}}}`)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("tools/call: HTTP %d %s", resp.StatusCode, body)
		}
		var res struct {
			IsError bool `json:"isError"`
			Content []struct{ Text string }
		}
		if err := json.Unmarshal(decodeAnswer(t, body).Result, &res); err != nil || !res.IsError || len(res.Content) == 0 {
			t.Fatalf("debug %v: tools/call result %s, want isError", debug, body)
		}
		want := internalErrorText
		if debug {
			want = "target responded with HTTP 401: " + notAuthorized
		}
		if !strings.Contains(res.Content[0].Text, want) {
			t.Errorf("debug %v: isError text %q, want it to hold %q", debug, res.Content[0].Text, want)
		}
	}
}

// TestProviderAppPublicRefusesSecret: a public app's token endpoint
// refuses a client secret (invalid_client), at the code exchange and at a
// refresh, as providers that hold a client to auth method "none" do.
func TestProviderAppPublicRefusesSecret(t *testing.T) {
	s := startWithApps(t)
	app := s.RegisterProviderApp(appRedirect, false)
	withSecret := app
	withSecret.ClientSecret = "a-secret-the-app-does-not-have-0123"
	if _, err := s.LoginProviderApp(testCtx(t), withSecret); err == nil || !strings.Contains(err.Error(), "HTTP 401") {
		t.Fatalf("code exchange with a client secret: %v, want HTTP 401", err)
	}
	g := appLogin(t, s, app)
	status, body := appRefresh(t, s, withSecret, g.RefreshToken)
	if status != http.StatusUnauthorized || body["error"] != "invalid_client" {
		t.Fatalf("refresh with a client secret: HTTP %d %v, want 401 invalid_client", status, body)
	}
	if status, _ := appRefresh(t, s, app, g.RefreshToken); status != http.StatusOK {
		t.Errorf("refresh without: HTTP %d", status)
	}
}
