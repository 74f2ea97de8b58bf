package gatewaysim

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// The provider's own OAuth apps, for a desktop client that logs the user in
// to the provider itself (agw-proxy's oauth secret source) rather than
// through AgentCore Identity: an app is registered with one loopback
// redirect URL (RegisterProviderApp), logs in with the authorization code
// and PKCE, and keeps a refresh token. Unlike Asana, every refresh rotates
// the refresh token (the one it replaces stops working at once), and the
// access-token lifetime is configurable (SetProviderTokenLifetime), so
// that tests see tokens expire. A target can require such a token in a
// header its OpenAPI operation declares (RequireProviderToken): the API the
// user's token is for checks it and answers 401 otherwise, which the
// Gateway turns into an isError result.

// ProviderApp is an OAuth app registered at the provider.
type ProviderApp struct {
	ClientID     string
	ClientSecret string // "" for a public app
	RedirectURL  string // its one redirect URL, matched exactly
}

// ProviderCounts counts what the provider's apps did.
type ProviderCounts struct {
	Logins          int // authorization codes exchanged
	Refreshes       int // refresh_token grants that issued tokens
	StaleRefreshes  int // refresh_token grants with a replaced (rotated) refresh token
	RevokedRefresh  int // refresh_token grants with a revoked refresh token
	Revocations     int // tokens revoked at ProviderRevokePath
	ExpiredRejected int // API requests refused for an expired access token
	Rejected        int // API requests refused for a missing, unknown or revoked token
}

type providerApps struct {
	apps     map[string]*ProviderApp
	lifetime time.Duration
	access   map[string]*appAccess // access token -> its grant and expiry
	refresh  map[string]*appGrant  // refresh token (current or replaced) -> grant
	require  map[string]string     // target -> header that carries the user's token
	counts   ProviderCounts

	issuedAccess, issuedRefresh []string // in order, for ProviderAppTokens
}

// appGrant is one login: its current refresh token; replaced ones map to
// the same grant with current != the token.
type appGrant struct {
	clientID string
	current  string
	revoked  bool
}

type appAccess struct {
	grant   *appGrant
	expires time.Time
}

// providerAppTokenLifetime is an app's access-token lifetime by default
// (Asana's: one hour).
const providerAppTokenLifetime = time.Hour

func (a *providerApps) init() {
	if a.apps == nil {
		a.apps = make(map[string]*ProviderApp)
		a.access = make(map[string]*appAccess)
		a.refresh = make(map[string]*appGrant)
		a.require = make(map[string]string)
	}
}

// RegisterProviderApp registers an OAuth app at the provider with one
// redirect URL; confidential gives it a client secret (else it is public,
// and its token endpoint refuses a client secret). It returns the app.
func (s *Sim) RegisterProviderApp(redirectURL string, confidential bool) ProviderApp {
	app := &ProviderApp{ClientID: "12" + randomString(14, "0123456789"), RedirectURL: redirectURL}
	if confidential {
		app.ClientSecret = randomString(32, lowerAlnum)
	}
	s.mu.Lock()
	s.apps.init()
	s.apps.apps[app.ClientID] = app
	s.mu.Unlock()
	return *app
}

// SetProviderTokenLifetime sets the lifetime of the access tokens the
// provider issues to its apps from now on (expires_in); 0 restores an hour.
func (s *Sim) SetProviderTokenLifetime(d time.Duration) {
	s.mu.Lock()
	s.apps.lifetime = d
	s.mu.Unlock()
}

// RequireProviderToken makes target's API want, in header (which its
// OpenAPI operation declares, e.g. X-Asana-Token), an unexpired access
// token the provider issued to one of its apps, optionally after "Bearer ";
// else it answers 401 with Asana's error body.
func (s *Sim) RequireProviderToken(target, header string) {
	s.mu.Lock()
	s.apps.init()
	s.apps.require[target] = header
	s.mu.Unlock()
}

// RevokeProviderLogins revokes every login of the app (as a user removing
// the app in the provider's settings): its refresh tokens and access
// tokens stop working.
func (s *Sim) RevokeProviderLogins(clientID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.apps.refresh {
		if g.clientID == clientID {
			g.revoked = true
		}
	}
}

// ExpireProviderTokens makes every access token the apps hold expired now,
// as if their lifetime had passed.
func (s *Sim) ExpireProviderTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.apps.access {
		a.expires = time.Time{}
	}
}

// ProviderCounts returns what the provider's apps did so far.
func (s *Sim) ProviderCounts() ProviderCounts {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.apps.counts
}

func (s *Sim) providerApp(clientID string) *ProviderApp {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.apps.apps == nil || clientID == "" {
		return nil
	}
	return s.apps.apps[clientID]
}

// serveAppToken is the token endpoint for an app: authorization_code (with
// the PKCE verifier) and refresh_token (rotating it).
func (s *Sim) serveAppToken(w http.ResponseWriter, app *ProviderApp, secret string, f url.Values) {
	if app.ClientSecret != "" && subtle.ConstantTimeCompare([]byte(secret), []byte(app.ClientSecret)) != 1 {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
		return
	}
	if app.ClientSecret == "" && secret != "" {
		// A public app has no secret. Providers differ on one sent
		// anyway: some ignore it, others (a client whose token endpoint
		// auth method is "none" at Okta or Auth0) refuse the request; this
		// one refuses, the case a client must handle.
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client",
			"error_description": "client authentication is not allowed for a public app"})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now().Add(s.skew)
	var g *appGrant
	switch f.Get("grant_type") {
	case "authorization_code":
		c := s.providerCodes[f.Get("code")]
		delete(s.providerCodes, f.Get("code")) // single use
		if c == nil || !now.Before(c.expires) || c.redirectURI != f.Get("redirect_uri") || c.clientID != app.ClientID ||
			!pkceMatches(c.challenge, f.Get("code_verifier")) {
			oauthError(w, "invalid_grant")
			return
		}
		g = &appGrant{clientID: app.ClientID}
		s.apps.counts.Logins++
	case "refresh_token":
		old := f.Get("refresh_token")
		g = s.apps.refresh[old]
		switch {
		case g == nil || g.clientID != app.ClientID:
			oauthError(w, "invalid_grant")
			return
		case g.revoked:
			s.apps.counts.RevokedRefresh++
			oauthError(w, "invalid_grant")
			return
		case g.current != old:
			// A replaced refresh token: refused, like a stolen one.
			s.apps.counts.StaleRefreshes++
			oauthError(w, "invalid_grant")
			return
		}
		s.apps.counts.Refreshes++
	default:
		oauthError(w, "unsupported_grant_type")
		return
	}
	lifetime := s.apps.lifetime
	if lifetime <= 0 {
		lifetime = providerAppTokenLifetime
	}
	access := "asapp_" + randomString(40, lowerAlnum)
	g.current = "asapp_r_" + randomString(40, lowerAlnum)
	s.apps.refresh[g.current] = g
	s.apps.access[access] = &appAccess{grant: g, expires: now.Add(lifetime)}
	s.apps.issuedAccess = append(s.apps.issuedAccess, access)
	s.apps.issuedRefresh = append(s.apps.issuedRefresh, g.current)
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token":  access,
		"token_type":    "bearer",
		"expires_in":    int(lifetime / time.Second),
		"refresh_token": g.current,
		"data":          map[string]any{"id": "1200000000000001", "gid": "1200000000000001", "name": simUser.username, "email": simUser.email},
	})
}

// serveProviderRevoke revokes a token (RFC 7009, form token=...): a refresh
// token revokes its whole login. It answers 200 either way.
func (s *Sim) serveProviderRevoke(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, "invalid_request")
		return
	}
	tok := r.PostForm.Get("token")
	s.mu.Lock()
	if g := s.apps.refresh[tok]; g != nil {
		g.revoked = true
		s.apps.counts.Revocations++
	} else if a := s.apps.access[tok]; a != nil {
		delete(s.apps.access, tok)
		s.apps.counts.Revocations++
	}
	s.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// appTokenValidLocked reports whether token is an unexpired access token of
// an app's login that was not revoked. s.mu must be held.
func (s *Sim) appTokenValidLocked(token string) bool {
	a := s.apps.access[token]
	return a != nil && !a.grant.revoked && s.opts.Now().Add(s.skew).Before(a.expires)
}

// checkUserToken is what the API of a target under RequireProviderToken
// does: ok when no token is required or the required one is valid.
func (s *Sim) checkUserToken(target string, h http.Header) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	header, ok := s.apps.require[target]
	if !ok {
		return true
	}
	v := strings.TrimSpace(h.Get(header))
	if scheme, rest, ok := strings.Cut(v, " "); ok && strings.EqualFold(scheme, "Bearer") {
		v = strings.TrimSpace(rest)
	}
	if s.appTokenValidLocked(v) {
		return true
	}
	if a := s.apps.access[v]; a != nil && !a.grant.revoked {
		s.apps.counts.ExpiredRejected++
	} else {
		s.apps.counts.Rejected++
	}
	return false
}

// pkceMatches checks an S256 code_verifier against its challenge.
func pkceMatches(challenge, verifier string) bool {
	if challenge == "" || verifier == "" {
		return false
	}
	sum := sha256.Sum256([]byte(verifier))
	return subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(challenge)) == 1
}

// ProviderAppTokens returns every access and refresh token the provider
// issued to its apps, oldest first (for tests that check where tokens
// went); the last refresh token of a login is its current one.
func (s *Sim) ProviderAppTokens() (access, refresh []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.apps.issuedAccess), slices.Clone(s.apps.issuedRefresh)
}
