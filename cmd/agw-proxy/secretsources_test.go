package main

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/agw-proxy/agw-proxy/internal/profile"
	"github.com/agw-proxy/agw-proxy/internal/testwait"
)

// An oauth rule's endpoints from its issuer's discovery document: both
// when the document has both; the token URL alone when it has no
// authorize URL (a refresh needs none; login says what is missing); a
// configured URL wins; an endpoint that is not https is refused with a hint
// that names the rule's settings, not the Gateway's.
func TestRuleEndpointsFromTheIssuer(t *testing.T) {
	docs := map[string]map[string]string{
		"/both":      {"token_endpoint": "https://id.example.com/token", "authorization_endpoint": "https://id.example.com/authorize"},
		"/tokenonly": {"token_endpoint": "https://id.example.com/token"},
		"/plainhttp": {"token_endpoint": "http://id.example.com/token", "authorization_endpoint": "https://id.example.com/authorize"},
	}
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, ok := docs[strings.TrimSuffix(r.URL.Path, "/.well-known/openid-configuration")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		doc := map[string]string{"issuer": srv.URL + strings.TrimSuffix(r.URL.Path, "/.well-known/openid-configuration")}
		for k, v := range d {
			doc[k] = v
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(doc)
	}))
	defer srv.Close()
	rule := func(issuer, tokenURL string) profile.InjectRule {
		return profile.InjectRule{Secret: "asana", Source: profile.SourceOAuth, OAuth: profile.InjectOAuth{Issuer: srv.URL + issuer, TokenURL: tokenURL}}
	}
	ctx := testwait.Context(t)
	for _, tc := range []struct {
		rule                profile.InjectRule
		token, authorize, e string
	}{
		{rule: rule("/both", ""), token: "https://id.example.com/token", authorize: "https://id.example.com/authorize"},
		{rule: rule("/tokenonly", ""), token: "https://id.example.com/token"},
		{rule: rule("/both", "https://other.example.com/token"), token: "https://other.example.com/token", authorize: "https://id.example.com/authorize"},
		{rule: rule("/plainhttp", ""), e: "https:// URL is required"},
	} {
		token, authorize, err := ruleEndpoints(ctx, tc.rule, srv.Client())
		if tc.e != "" {
			var h *hintedError
			if err == nil || !strings.Contains(err.Error(), tc.e) || !strings.Contains(err.Error(), `of "asana"`) ||
				!errors.As(err, &h) || !strings.Contains(strings.Join(h.hints, "\n"), `oauth.issuer of the inject rule for "asana"`) {
				t.Errorf("%s: err %v, want %q with a hint naming the rule's oauth.issuer", tc.rule.OAuth.Issuer, err, tc.e)
			}
			continue
		}
		if err != nil || token != tc.token || authorize != tc.authorize {
			t.Errorf("%s (token_url %q): %q %q %v, want %q %q", tc.rule.OAuth.Issuer, tc.rule.OAuth.TokenURL, token, authorize, err, tc.token, tc.authorize)
		}
	}
}
