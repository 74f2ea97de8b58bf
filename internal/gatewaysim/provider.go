package gatewaysim

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// The third-party OAuth provider: an Asana-like authorization server
// (app.asana.com/-/oauth_authorize and /-/oauth_token) that the 3LO
// target's credential provider is registered with. Its one OAuth client
// is AgentCore Identity's (the credential provider's client id and
// secret), whose one redirect URI is Identity's callback. The backend of a
// 3LO target accepts only access tokens this provider issued.

// providerCode is an authorization code the provider issued.
type providerCode struct {
	redirectURI, scope string
	expires            time.Time
	// clientID is the client the code was issued to; challenge is its
	// PKCE S256 code_challenge (registered apps only).
	clientID, challenge string
}

// ProviderAuthorizePath and ProviderTokenPath are the provider's
// endpoints, as on Asana.
const (
	ProviderAuthorizePath = "/-/oauth_authorize"
	ProviderTokenPath     = "/-/oauth_token"
	ProviderRevokePath    = "/-/oauth_revoke"
)

func (s *Sim) providerHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+ProviderAuthorizePath, s.serveConsentPage)
	mux.HandleFunc("POST "+ProviderAuthorizePath, s.serveConsentDecision)
	mux.HandleFunc("POST "+ProviderTokenPath, s.serveProviderToken)
	mux.HandleFunc("POST "+ProviderRevokePath, s.serveProviderRevoke)
	return mux
}

// checkProviderClient validates an authorization request's client and
// redirect URI, answering a 400 page (no redirect: the URI is not trusted)
// when they are wrong.
func (s *Sim) checkProviderClient(w http.ResponseWriter, q url.Values) bool {
	redirect, app := s.identityCallbackURL(), s.providerApp(q.Get("client_id"))
	switch {
	case app != nil:
		redirect = app.RedirectURL
		if q.Get("code_challenge") == "" || q.Get("code_challenge_method") != "S256" {
			htmlPage(w, http.StatusBadRequest, "Error", "invalid_request: a public app must send a PKCE code_challenge (S256)")
			return false
		}
	case q.Get("client_id") != s.ProviderClientID:
		htmlPage(w, http.StatusBadRequest, "Error", "invalid_client: unknown client_id")
		return false
	}
	if q.Get("redirect_uri") != redirect {
		htmlPage(w, http.StatusBadRequest, "Error", "invalid_request: redirect_uri does not match the client's")
		return false
	}
	if q.Get("response_type") != "code" {
		htmlPage(w, http.StatusBadRequest, "Error", "unsupported_response_type")
		return false
	}
	return true
}

// serveConsentPage is the provider's consent page: a form a browser (or a
// test) submits with decision=allow or decision=deny.
func (s *Sim) serveConsentPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if !s.checkProviderClient(w, q) {
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	fmt.Fprintf(w, `<!doctype html>
<html><head><title>Grant permission</title></head><body>
<h1>AgentCore Gateway would like to access your Asana account</h1>
<p>Signed in as %s. Scopes: %s</p>
<form method="post" action="%s">
<input type="hidden" name="client_id" value="%s">
<input type="hidden" name="redirect_uri" value="%s">
<input type="hidden" name="response_type" value="code">
<input type="hidden" name="state" value="%s">
<input type="hidden" name="scope" value="%s">
<input type="hidden" name="code_challenge" value="%s">
<input type="hidden" name="code_challenge_method" value="%s">
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form></body></html>
`, htmlEscape(simUser.email), htmlEscape(q.Get("scope")), ProviderAuthorizePath,
		htmlEscape(q.Get("client_id")), htmlEscape(q.Get("redirect_uri")), htmlEscape(q.Get("state")), htmlEscape(q.Get("scope")),
		htmlEscape(q.Get("code_challenge")), htmlEscape(q.Get("code_challenge_method")))
}

// serveConsentDecision is the consent form's submission: allow redirects
// to the client with a code, deny with error=access_denied (RFC 6749 4.1.2).
func (s *Sim) serveConsentDecision(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		htmlPage(w, http.StatusBadRequest, "Error", "invalid_request")
		return
	}
	f := r.PostForm
	if !s.checkProviderClient(w, f) {
		return
	}
	back, _ := url.Parse(f.Get("redirect_uri"))
	q := back.Query()
	q.Set("state", f.Get("state"))
	switch f.Get("decision") {
	case "allow":
		code := randomString(32, lowerAlnum)
		s.mu.Lock()
		s.providerCodes[code] = &providerCode{redirectURI: f.Get("redirect_uri"), scope: f.Get("scope"), expires: s.opts.Now().Add(s.skew + 10*time.Minute),
			clientID: f.Get("client_id"), challenge: f.Get("code_challenge")}
		s.counts.Consents++
		s.mu.Unlock()
		q.Set("code", code)
	case "deny":
		q.Set("error", "access_denied")
	default:
		htmlPage(w, http.StatusBadRequest, "Error", "invalid_request: decision must be allow or deny")
		return
	}
	back.RawQuery = q.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

// serveProviderToken is the provider's token endpoint: the
// authorization_code grant with client_secret_post (Asana's way), answering
// {access_token, token_type, expires_in, refresh_token, data} like Asana.
func (s *Sim) serveProviderToken(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if err := r.ParseForm(); err != nil {
		oauthError(w, "invalid_request")
		return
	}
	f := r.PostForm
	id, secret := f.Get("client_id"), f.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok {
		id, secret = u, p
	}
	if app := s.providerApp(id); app != nil {
		// An app registered for a desktop login (provider_apps.go).
		s.serveAppToken(w, app, secret, f)
		return
	}
	if id != s.ProviderClientID || subtle.ConstantTimeCompare([]byte(secret), []byte(s.providerClientSecret)) != 1 {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
		return
	}
	if f.Get("grant_type") != "authorization_code" {
		oauthError(w, "unsupported_grant_type")
		return
	}
	s.mu.Lock()
	c := s.providerCodes[f.Get("code")]
	delete(s.providerCodes, f.Get("code")) // single use
	now := s.opts.Now().Add(s.skew)
	var token string
	if c != nil && now.Before(c.expires) && c.redirectURI == f.Get("redirect_uri") && c.clientID == id {
		token = "asim_" + randomString(40, lowerAlnum)
		s.providerTokens[token] = true
	}
	s.mu.Unlock()
	if token == "" {
		oauthError(w, "invalid_grant")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token":  token,
		"token_type":    "bearer",
		"expires_in":    3600,
		"refresh_token": "asim_r_" + randomString(40, lowerAlnum),
		"data":          map[string]any{"id": "1200000000000001", "gid": "1200000000000001", "name": simUser.username, "email": simUser.email},
	})
}

// providerIssued reports whether the provider issued this access token.
func (s *Sim) providerIssued(token string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.providerTokens[token] || s.appTokenValidLocked(token)
}

// checkProviderBearer is what a 3LO target's API does with a request: it
// wants "Authorization: Bearer <token the provider issued>", else 401 with
// Asana's error body.
func (s *Sim) checkProviderBearer(r *http.Request) bool {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	return ok && strings.EqualFold(scheme, "Bearer") && s.providerIssued(strings.TrimSpace(tok))
}

func htmlPage(w http.ResponseWriter, status int, title, text string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<!doctype html>\n<html><head><title>%s</title></head><body><h1>%s</h1><p>%s</p></body></html>\n",
		htmlEscape(title), htmlEscape(title), htmlEscape(text))
}
