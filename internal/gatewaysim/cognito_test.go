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

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

func TestClientCredentialsAuthMethods(t *testing.T) {
	s := start(t, Options{})
	for _, tc := range []struct {
		name       string
		form       url.Values
		user, pass string
	}{
		{"client_secret_basic", url.Values{"grant_type": {"client_credentials"}}, s.ClientID, s.ClientSecret},
		{"client_secret_post", url.Values{"grant_type": {"client_credentials"}, "client_id": {s.ClientID}, "client_secret": {s.ClientSecret}}, "", ""},
		{"basic with scope", url.Values{"grant_type": {"client_credentials"}, "scope": {s.Scope}}, s.ClientID, s.ClientSecret},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := postForm(t, s.TokenURL, tc.form, tc.user, tc.pass)
			if status != 200 {
				t.Fatalf("HTTP %d %v, want 200", status, body)
			}
			if body["token_type"] != "Bearer" || body["expires_in"] != float64(3600) || body["access_token"] == "" {
				t.Errorf("body = %v, want Bearer token expiring in 3600", body)
			}
			if _, ok := body["refresh_token"]; ok {
				t.Error("client_credentials returned a refresh token")
			}
		})
	}
}

func TestTokenEndpointErrors(t *testing.T) {
	s := start(t, Options{})
	cc := func(kv ...string) url.Values {
		v := url.Values{"grant_type": {"client_credentials"}}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	for _, tc := range []struct {
		name       string
		form       url.Values
		user, pass string
		want       string
	}{
		{"wrong secret basic", cc(), s.ClientID, "wrong", "invalid_client"},
		{"wrong secret post", cc("client_id", s.ClientID, "client_secret", "wrong"), "", "", "invalid_client"},
		{"no secret", cc("client_id", s.ClientID), "", "", "invalid_client"},
		{"unknown client", cc("client_id", "nosuchclient", "client_secret", "x"), "", "", "invalid_client"},
		{"no client", cc(), "", "", "invalid_request"},
		{"no grant type", url.Values{}, s.ClientID, s.ClientSecret, "invalid_request"},
		{"password grant", url.Values{"grant_type": {"password"}}, s.ClientID, s.ClientSecret, "unsupported_grant_type"},
		{"scope not allowed", cc("scope", "other/write"), s.ClientID, s.ClientSecret, "invalid_scope"},
		{"openid on client_credentials", cc("scope", "openid"), s.ClientID, s.ClientSecret, "invalid_scope"},
		{"public client cannot use client_credentials", cc("client_id", s.WebClientID), "", "", "unauthorized_client"},
		{"machine client cannot refresh", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}}, s.ClientID, s.ClientSecret, "unauthorized_client"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := postForm(t, s.TokenURL, tc.form, tc.user, tc.pass)
			if status != 400 || body["error"] != tc.want || len(body) != 1 {
				t.Errorf("HTTP %d %v, want 400 {\"error\":%q}", status, body, tc.want)
			}
		})
	}
	if n := s.Counts().TokensIssued; n != 0 {
		t.Errorf("TokensIssued = %d after only failures", n)
	}
}

// fetchJWKS follows discovery to the JWKS over HTTP, like a verifier would.
func fetchJWKS(t *testing.T, s *Sim) (disc map[string]any, jwks jose.JSONWebKeySet) {
	t.Helper()
	get := func(u string, v any) {
		resp, err := noRedirect.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: HTTP %d", u, resp.StatusCode)
		}
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatal(err)
		}
	}
	get(s.DiscoveryURL, &disc)
	get(disc["jwks_uri"].(string), &jwks)
	return disc, jwks
}

func TestDiscovery(t *testing.T) {
	s := start(t, Options{})
	disc, jwks := fetchJWKS(t, s)
	if disc["issuer"] != s.Issuer || !strings.HasSuffix(s.Issuer, "/us-east-1_AgwSim01") {
		t.Errorf("issuer = %v, want %s ending in the pool id", disc["issuer"], s.Issuer)
	}
	if disc["jwks_uri"] != s.Issuer+"/.well-known/jwks.json" {
		t.Errorf("jwks_uri = %v, want issuer + /.well-known/jwks.json", disc["jwks_uri"])
	}
	if disc["token_endpoint"] != s.TokenURL || disc["authorization_endpoint"] != s.AuthorizeURL {
		t.Errorf("endpoints = %v %v, want %s %s", disc["token_endpoint"], disc["authorization_endpoint"], s.TokenURL, s.AuthorizeURL)
	}
	issuerHost, _ := url.Parse(s.Issuer)
	tokenHost, _ := url.Parse(s.TokenURL)
	if issuerHost.Host == tokenHost.Host {
		t.Error("token endpoint on the issuer host; Cognito serves it on the hosted domain")
	}
	if len(jwks.Keys) != 1 || jwks.Keys[0].KeyID == "" || !jwks.Keys[0].IsPublic() || jwks.Keys[0].Algorithm != "RS256" {
		t.Errorf("JWKS = %+v, want one public RS256 key with a kid", jwks.Keys)
	}
}

func TestAccessTokenClaims(t *testing.T) {
	s := start(t, Options{TokenLifetime: 5 * time.Minute})
	_, jwks := fetchJWKS(t, s)
	status, body := postForm(t, s.TokenURL, url.Values{"grant_type": {"client_credentials"}}, s.ClientID, s.ClientSecret)
	if status != 200 || body["expires_in"] != float64(300) {
		t.Fatalf("HTTP %d %v, want 200 with expires_in 300", status, body)
	}
	tok, err := jwt.ParseSigned(body["access_token"].(string), []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	if h := tok.Headers[0]; h.KeyID != jwks.Keys[0].KeyID || h.Algorithm != "RS256" {
		t.Errorf("header kid=%q alg=%q, want the JWKS kid and RS256", h.KeyID, h.Algorithm)
	}
	var claims map[string]any
	if err := tok.Claims(jwks, &claims); err != nil {
		t.Fatalf("signature does not verify against the JWKS: %v", err)
	}
	if _, ok := claims["aud"]; ok {
		t.Error("access token has aud; Cognito access tokens have none")
	}
	want := map[string]any{
		"iss": s.Issuer, "sub": s.ClientID, "client_id": s.ClientID, "token_use": "access",
		"scope": s.Scope, "version": float64(2),
	}
	for k, v := range want {
		if claims[k] != v {
			t.Errorf("claim %s = %v, want %v", k, claims[k], v)
		}
	}
	for _, k := range []string{"auth_time", "exp", "iat", "jti"} {
		if claims[k] == nil {
			t.Errorf("claim %s missing", k)
		}
	}
	if d := claims["exp"].(float64) - claims["iat"].(float64); d != 300 {
		t.Errorf("exp - iat = %v, want the configured 300 s", d)
	}
}

// pkce returns a verifier and its S256 challenge.
func pkce() (verifier, challenge string) {
	verifier = "test-verifier-" + strings.Repeat("x", 40)
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

// authorize plays the browser: GET /oauth2/authorize without following the
// redirect, and returns the Location.
func authorize(t *testing.T, s *Sim, q url.Values) *url.URL {
	t.Helper()
	resp, err := noRedirect.Get(s.AuthorizeURL + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize: HTTP %d, want 302", resp.StatusCode)
	}
	loc, err := resp.Location()
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func authorizeQuery(s *Sim, challenge string) url.Values {
	return url.Values{
		"response_type": {"code"}, "client_id": {s.WebClientID}, "redirect_uri": {s.RedirectURL},
		"scope": {"openid email " + s.Scope}, "state": {"st4te"},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"},
	}
}

func exchange(t *testing.T, s *Sim, code, verifier string) (int, map[string]any) {
	t.Helper()
	return postForm(t, s.TokenURL, url.Values{
		"grant_type": {"authorization_code"}, "client_id": {s.WebClientID}, "code": {code},
		"redirect_uri": {s.RedirectURL}, "code_verifier": {verifier},
	}, "", "")
}

func TestAuthorizationCodePKCE(t *testing.T) {
	s := start(t, Options{RedirectURL: "http://127.0.0.1:8765/callback"})
	verifier, challenge := pkce()

	loc := authorize(t, s, authorizeQuery(s, challenge))
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != s.RedirectURL {
		t.Fatalf("redirected to %s, want %s", got, s.RedirectURL)
	}
	if loc.Query().Get("state") != "st4te" || loc.Query().Get("code") == "" {
		t.Fatalf("redirect query = %v, want code and the state", loc.Query())
	}
	code := loc.Query().Get("code")

	status, body := exchange(t, s, code, verifier)
	if status != 200 {
		t.Fatalf("code exchange: HTTP %d %v", status, body)
	}
	for _, k := range []string{"access_token", "id_token", "refresh_token", "expires_in"} {
		if body[k] == nil {
			t.Errorf("code exchange response lacks %s", k)
		}
	}
	if rt, _ := body["refresh_token"].(string); len(rt) < 1000 || len(rt) > 2560 {
		t.Errorf("refresh token is %d bytes; Cognito's are about 1,800 (and must fit 2560)", len(rt))
	}
	// The web client is an allowed client: its access token opens the Gateway.
	if resp, _ := rpc(t, s, body["access_token"].(string), nil, initializeMsg); resp.StatusCode != 200 {
		t.Errorf("Gateway with the user's access token: HTTP %d, want 200", resp.StatusCode)
	}

	t.Run("code is single use", func(t *testing.T) {
		if status, body := exchange(t, s, code, verifier); status != 400 || body["error"] != "invalid_grant" {
			t.Errorf("HTTP %d %v, want 400 invalid_grant", status, body)
		}
	})
	t.Run("bad verifier", func(t *testing.T) {
		code := authorize(t, s, authorizeQuery(s, challenge)).Query().Get("code")
		if status, body := exchange(t, s, code, "not-the-verifier"); status != 400 || body["error"] != "invalid_grant" {
			t.Errorf("HTTP %d %v, want 400 invalid_grant", status, body)
		}
	})
	t.Run("redirect mismatch", func(t *testing.T) {
		q := authorizeQuery(s, challenge)
		q.Set("redirect_uri", "http://127.0.0.1:8766/callback")
		loc := authorize(t, s, q)
		if loc.Query().Get("error") != "redirect_mismatch" || loc.Query().Get("code") != "" {
			t.Fatalf("redirected to %s, want the hosted error page with redirect_mismatch", loc)
		}
		resp, err := http.Get(loc.String())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Errorf("error page: HTTP %d, want 400", resp.StatusCode)
		}
	})
	t.Run("challenge required", func(t *testing.T) {
		q := authorizeQuery(s, challenge)
		q.Del("code_challenge")
		loc := authorize(t, s, q)
		if loc.Query().Get("error") != "invalid_request" || loc.Query().Get("state") != "st4te" {
			t.Errorf("redirect query = %v, want error=invalid_request and the state", loc.Query())
		}
	})
}

func TestRefreshTokenGrant(t *testing.T) {
	s := start(t, Options{RefreshTokenLifetime: time.Hour})
	verifier, challenge := pkce()
	code := authorize(t, s, authorizeQuery(s, challenge)).Query().Get("code")
	_, body := exchange(t, s, code, verifier)
	rt := body["refresh_token"].(string)
	refresh := func() (int, map[string]any) {
		return postForm(t, s.TokenURL, url.Values{
			"grant_type": {"refresh_token"}, "client_id": {s.WebClientID}, "refresh_token": {rt},
		}, "", "")
	}

	status, body := refresh()
	if status != 200 || body["access_token"] == nil || body["id_token"] == nil {
		t.Fatalf("refresh: HTTP %d %v, want new access and id tokens", status, body)
	}
	if _, ok := body["refresh_token"]; ok {
		t.Error("refresh grant returned a refresh token; Cognito does not rotate here")
	}
	if resp, _ := rpc(t, s, body["access_token"].(string), nil, initializeMsg); resp.StatusCode != 200 {
		t.Errorf("refreshed access token: HTTP %d at the Gateway", resp.StatusCode)
	}

	t.Run("expired", func(t *testing.T) {
		s.SetClockSkew(2 * time.Hour)
		defer s.SetClockSkew(0)
		if status, body := refresh(); status != 400 || body["error"] != "invalid_grant" {
			t.Errorf("HTTP %d %v, want 400 invalid_grant", status, body)
		}
	})
	t.Run("unknown", func(t *testing.T) {
		status, body := postForm(t, s.TokenURL, url.Values{
			"grant_type": {"refresh_token"}, "client_id": {s.WebClientID}, "refresh_token": {"bogus"},
		}, "", "")
		if status != 400 || body["error"] != "invalid_grant" {
			t.Errorf("HTTP %d %v, want 400 invalid_grant", status, body)
		}
	})
	t.Run("revoked", func(t *testing.T) {
		s.RevokeRefreshTokens()
		if status, body := refresh(); status != 400 || body["error"] != "invalid_grant" {
			t.Errorf("HTTP %d %v, want 400 invalid_grant", status, body)
		}
	})
}

func TestFailTokenNext(t *testing.T) {
	s := start(t, Options{})
	s.FailTokenNext(2, 503)
	form := url.Values{"grant_type": {"client_credentials"}}
	for i := range 2 {
		if status, _ := postForm(t, s.TokenURL, form, s.ClientID, s.ClientSecret); status != 503 {
			t.Errorf("request %d: HTTP %d, want 503", i, status)
		}
	}
	if status, body := postForm(t, s.TokenURL, form, s.ClientID, s.ClientSecret); status != 200 {
		t.Errorf("after the failures: HTTP %d %v, want 200", status, body)
	}
	if c := s.Counts(); c.TokenRequests != 3 || c.TokensIssued != 1 {
		t.Errorf("counts = %+v, want 3 requests, 1 token", c)
	}
}

func TestRevokeEndpointAndUserInfo(t *testing.T) {
	s := start(t, Options{})
	verifier, challenge := pkce()
	code := authorize(t, s, authorizeQuery(s, challenge)).Query().Get("code")
	_, body := exchange(t, s, code, verifier)

	req, _ := http.NewRequest("GET", strings.Replace(s.TokenURL, "/oauth2/token", "/oauth2/userInfo", 1), nil)
	req.Header.Set("Authorization", "Bearer "+body["access_token"].(string))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var info map[string]any
	json.NewDecoder(resp.Body).Decode(&info)
	resp.Body.Close()
	if resp.StatusCode != 200 || info["username"] != simUser.username {
		t.Errorf("userInfo: HTTP %d %v", resp.StatusCode, info)
	}

	rt := body["refresh_token"].(string)
	if status, _ := postFormRaw(t, strings.Replace(s.TokenURL, "/token", "/revoke", 1), url.Values{"token": {rt}, "client_id": {s.WebClientID}}); status != 200 {
		t.Fatalf("revoke: HTTP %d", status)
	}
	status, body := postForm(t, s.TokenURL, url.Values{"grant_type": {"refresh_token"}, "client_id": {s.WebClientID}, "refresh_token": {rt}}, "", "")
	if status != 400 || body["error"] != "invalid_grant" {
		t.Errorf("refresh with a revoked token: HTTP %d %v, want invalid_grant", status, body)
	}
}

func postFormRaw(t *testing.T, u string, form url.Values) (int, string) {
	t.Helper()
	resp, err := http.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// login signs the pool's user in through the web client (code + PKCE)
// and returns the token response.
func login(t *testing.T, s *Sim) map[string]any {
	t.Helper()
	verifier, challenge := pkce()
	code := authorize(t, s, authorizeQuery(s, challenge)).Query().Get("code")
	status, body := exchange(t, s, code, verifier)
	if status != 200 {
		t.Fatalf("code exchange: HTTP %d %v", status, body)
	}
	return body
}

func refreshWith(t *testing.T, s *Sim, rt string) (int, map[string]any) {
	t.Helper()
	return postForm(t, s.TokenURL, url.Values{
		"grant_type": {"refresh_token"}, "client_id": {s.WebClientID}, "refresh_token": {rt},
	}, "", "")
}

func TestRefreshTokenRotationGracePeriod(t *testing.T) {
	for _, grace := range []time.Duration{0, 30 * time.Second} {
		s := start(t, Options{RefreshTokenRotation: true, RefreshTokenGracePeriod: grace})
		old := login(t, s)["refresh_token"].(string)
		status, body := refreshWith(t, s, old)
		rotated, _ := body["refresh_token"].(string)
		if status != 200 || rotated == "" || rotated == old {
			t.Fatalf("grace %s: refresh: HTTP %d, refresh_token %q; want a new one", grace, status, rotated)
		}
		if grace > 0 {
			// A retry within the grace period works (and rotates again).
			s.SetClockSkew(grace - time.Second)
			if status, body := refreshWith(t, s, old); status != 200 || body["refresh_token"] == nil {
				t.Errorf("grace %s: the replaced token %s into the grace period: HTTP %d %v, want it to work", grace, grace-time.Second, status, body)
			}
		}
		s.SetClockSkew(grace)
		if status, body := refreshWith(t, s, old); status != 400 || body["error"] != "invalid_grant" {
			t.Errorf("grace %s: the replaced token after the grace period: HTTP %d %v, want invalid_grant", grace, status, body)
		}
		if status, body := refreshWith(t, s, rotated); status != 200 {
			t.Errorf("grace %s: the new token: HTTP %d %v", grace, status, body)
		}
	}
	if s, err := Start(Options{RefreshTokenRotation: true, RefreshTokenGracePeriod: 61 * time.Second}); err == nil {
		s.Close()
		t.Error("a grace period of 61 s accepted, want 0 to 60 s")
	}
}

// revoke posts to /oauth2/revoke, with Basic credentials when user is set.
func revoke(t *testing.T, s *Sim, form url.Values, user, pass string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", strings.Replace(s.TokenURL, "/oauth2/token", "/oauth2/revoke", 1), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestRevokeClientAuthentication(t *testing.T) {
	s := start(t, Options{})
	// A confidential client must use HTTP Basic: its secret in the body is refused.
	status, body := revoke(t, s, url.Values{"token": {"whatever"}, "client_id": {s.ClientID}, "client_secret": {s.ClientSecret}}, "", "")
	if status != 400 || !strings.Contains(body, `"invalid_client"`) {
		t.Errorf("confidential client, secret in the body: HTTP %d %s, want 400 invalid_client", status, body)
	}
	if status, body := revoke(t, s, url.Values{"token": {"whatever"}}, s.ClientID, "wrong"); status != 400 {
		t.Errorf("wrong secret: HTTP %d %s, want 400", status, body)
	}
	if status, body := revoke(t, s, url.Values{"token": {"whatever"}}, s.ClientID, s.ClientSecret); status != 200 || body != "" {
		t.Errorf("confidential client with Basic: HTTP %d %q, want 200 and an empty body", status, body)
	}
	// A public client sends its client_id in the body.
	rt := login(t, s)["refresh_token"].(string)
	if status, body := revoke(t, s, url.Values{"token": {rt}, "client_id": {s.WebClientID}}, "", ""); status != 200 || body != "" {
		t.Errorf("public client: HTTP %d %q, want 200 and an empty body", status, body)
	}
	if status, _ := refreshWith(t, s, rt); status != 400 {
		t.Errorf("refresh with the revoked token: HTTP %d, want 400", status)
	}
	if status, body := revoke(t, s, url.Values{"token": {rt}}, "", ""); status != 400 {
		t.Errorf("no client at all: HTTP %d %s, want 400", status, body)
	}
	// Access tokens are not revocable there.
	stored := s.IssueRefreshToken("") // a stored login, then an access token from it
	_, tokens := refreshWith(t, s, stored)
	if status, body := revoke(t, s, url.Values{"token": {tokens["access_token"].(string)}, "client_id": {s.WebClientID}}, "", ""); status != 400 || !strings.Contains(body, "unsupported_token_type") {
		t.Errorf("revoking an access token: HTTP %d %s, want unsupported_token_type", status, body)
	}
}

func userInfo(t *testing.T, s *Sim, access string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", strings.Replace(s.TokenURL, "/oauth2/token", "/oauth2/userInfo", 1), nil)
	req.Header.Set("Authorization", "Bearer "+access)
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// Revoking a refresh token revokes the access tokens issued from it:
// Cognito refuses them at once. The Gateway validates offline and keeps
// accepting them until they expire, unless AuthorizerChecksRevocation.
func TestRevokeInvalidatesTheAccessTokensOfTheLogin(t *testing.T) {
	for _, online := range []bool{false, true} {
		s := start(t, Options{AuthorizerChecksRevocation: online})
		first := login(t, s)
		rt := first["refresh_token"].(string)
		_, refreshed := refreshWith(t, s, rt)
		accesses := []string{first["access_token"].(string), refreshed["access_token"].(string)}
		other := login(t, s)["access_token"].(string) // another login of the same user
		machine := machineToken(t, s)
		for _, a := range accesses {
			if userInfo(t, s, a) != 200 {
				t.Fatal("userInfo refused a fresh token")
			}
		}
		if status, body := revoke(t, s, url.Values{"token": {rt}, "client_id": {s.WebClientID}}, "", ""); status != 200 {
			t.Fatalf("revoke: HTTP %d %s", status, body)
		}
		for i, a := range accesses {
			if got := userInfo(t, s, a); got != 401 {
				t.Errorf("online=%v: userInfo with access token %d of the revoked login: HTTP %d, want 401", online, i, got)
			}
			want := 200 // offline validation: still good until exp
			if online {
				want = 401
			}
			if resp, _ := rpc(t, s, a, nil, listMsg); resp.StatusCode != want {
				t.Errorf("online=%v: Gateway with access token %d of the revoked login: HTTP %d, want %d", online, i, resp.StatusCode, want)
			}
		}
		if userInfo(t, s, other) != 200 {
			t.Errorf("online=%v: another login's token refused after the revocation", online)
		}
		if resp, _ := rpc(t, s, machine, nil, listMsg); resp.StatusCode != 200 {
			t.Errorf("online=%v: machine token refused after the revocation", online)
		}
	}
}
