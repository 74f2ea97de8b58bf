package gatewaysim

import (
	"cmp"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// signingKey is the user pool's RS256 key. Generating a 2048-bit RSA key
// takes tens of milliseconds, so every emulator in a process shares one;
// tokens still do not cross emulators because each has its own issuer.
type signingKey struct {
	kid    string
	signer jose.Signer
	jwks   jose.JSONWebKeySet
}

var (
	keyOnce sync.Once
	keyVal  *signingKey
	keyErr  error
)

func sharedKey() (*signingKey, error) {
	keyOnce.Do(func() {
		priv, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			keyErr = fmt.Errorf("gatewaysim: generate key: %w", err)
			return
		}
		pub := jose.JSONWebKey{Key: &priv.PublicKey, Algorithm: string(jose.RS256), Use: "sig"}
		thumb, err := pub.Thumbprint(crypto.SHA256)
		if err != nil {
			keyErr = fmt.Errorf("gatewaysim: key thumbprint: %w", err)
			return
		}
		// Cognito kids are base64 (std) strings of 44 characters.
		kid := base64.StdEncoding.EncodeToString(thumb)
		pub.KeyID = kid
		signer, err := jose.NewSigner(jose.SigningKey{
			Algorithm: jose.RS256,
			Key:       jose.JSONWebKey{Key: priv, KeyID: kid, Algorithm: string(jose.RS256)},
		}, nil)
		if err != nil {
			keyErr = fmt.Errorf("gatewaysim: signer: %w", err)
			return
		}
		keyVal = &signingKey{kid: kid, signer: signer, jwks: jose.JSONWebKeySet{Keys: []jose.JSONWebKey{pub}}}
	})
	return keyVal, keyErr
}

// client is a user-pool app client.
type client struct {
	id, secret string   // secret empty: a public client
	grants     []string // allowed grant types
	scopes     []string // allowed scopes
	redirects  []string // registered callback URLs (code flow)
}

type authCode struct {
	clientID, redirectURI, challenge, scope string
	expires                                 time.Time
}

type refreshGrant struct {
	clientID, scope string
	origin          string    // origin_jti of the login, shared by the tokens it issues
	expires         time.Time // a rotated token keeps its login's expiry
	rotated         time.Time // when rotation replaced it; zero: not replaced
	revoked         bool
}

// user is the pool's one user, who the hosted UI signs in without asking.
var simUser = struct{ sub, username, email string }{
	sub:      "0f4e8c2a-6b1d-4a7e-9c53-2d8b1e7f4a90",
	username: "sim-user",
	email:    "sim-user@example.com",
}

// idpHandler serves the user pool's issuer: cognito-idp.{region}.amazonaws.com/{pool}.
func (s *Sim) idpHandler() http.Handler {
	mux := http.NewServeMux()
	pool := "/" + s.opts.PoolID
	mux.HandleFunc("GET "+pool+"/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		hosted := strings.TrimSuffix(s.TokenURL, "/oauth2/token")
		writeJSON(w, http.StatusOK, map[string]any{
			"authorization_endpoint":                s.AuthorizeURL,
			"end_session_endpoint":                  hosted + "/logout",
			"id_token_signing_alg_values_supported": []string{"RS256"},
			"issuer":                                s.Issuer,
			"jwks_uri":                              s.JWKSURL,
			"response_types_supported":              []string{"code", "token"},
			"revocation_endpoint":                   hosted + "/oauth2/revoke",
			"scopes_supported":                      []string{"openid", "email", "phone", "profile"},
			"subject_types_supported":               []string{"public"},
			"token_endpoint":                        s.TokenURL,
			"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
			"userinfo_endpoint":                     hosted + "/oauth2/userInfo",
		})
	})
	mux.HandleFunc("GET "+pool+"/.well-known/jwks.json", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.keys.jwks)
	})
	return mux
}

// hostedHandler serves the user pool's hosted domain:
// {domain}.auth.{region}.amazoncognito.com.
func (s *Sim) hostedHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /oauth2/token", s.serveToken)
	mux.HandleFunc("GET /oauth2/authorize", s.serveAuthorize)
	mux.HandleFunc("POST /oauth2/revoke", s.serveRevoke)
	mux.HandleFunc("GET /oauth2/userInfo", s.serveUserInfo)
	mux.HandleFunc("GET /error", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, "<html><body><h1>An error was encountered with the requested page.</h1><p>%s</p></body></html>\n",
			htmlEscape(r.URL.Query().Get("error")))
	})
	return mux
}

// oauthError is a Cognito token-endpoint error: HTTP 400 {"error": code}.
func oauthError(w http.ResponseWriter, code string) {
	writeJSON(w, http.StatusBadRequest, map[string]string{"error": code})
}

func (s *Sim) serveToken(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.counts.TokenRequests++
	fail := 0
	if s.faults.tokenFailN > 0 {
		s.faults.tokenFailN--
		fail = s.faults.tokenFailStatus
	}
	s.mu.Unlock()
	if fail != 0 {
		code := "internal_error"
		if fail < 500 {
			code = "invalid_request"
		}
		writeJSON(w, fail, map[string]string{"error": code})
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		oauthError(w, "invalid_request")
		return
	}
	if err := r.ParseForm(); err != nil {
		oauthError(w, "invalid_request")
		return
	}
	form := r.PostForm
	c, errCode := s.authenticateClient(r, form)
	if errCode != "" {
		oauthError(w, errCode)
		return
	}
	if c.secret != "" {
		s.recordCredential(&s.creds.ClientSecrets, c.secret)
	}
	grant := form.Get("grant_type")
	switch grant {
	case "":
		oauthError(w, "invalid_request")
		return
	case "client_credentials", "authorization_code", "refresh_token":
	default:
		oauthError(w, "unsupported_grant_type")
		return
	}
	if !slices.Contains(c.grants, grant) {
		oauthError(w, "unauthorized_client")
		return
	}
	switch grant {
	case "client_credentials":
		scope, ok := grantScope(c, form.Get("scope"), true)
		if !ok {
			oauthError(w, "invalid_scope")
			return
		}
		access := s.mintAccess(c.id, c.id, scope, "")
		writeJSON(w, http.StatusOK, map[string]any{
			"access_token": access,
			"expires_in":   int(s.opts.TokenLifetime.Seconds()),
			"token_type":   "Bearer",
		})
	case "authorization_code":
		s.grantAuthorizationCode(w, c, form)
	case "refresh_token":
		s.grantRefresh(w, c, form)
	}
}

// authenticateClient applies client_secret_basic or client_secret_post; a
// public client sends only client_id.
func (s *Sim) authenticateClient(r *http.Request, form url.Values) (*client, string) {
	id, secret, basic := r.BasicAuth()
	if basic {
		// RFC 6749 2.3.1: the Basic credentials are form-encoded.
		if v, err := url.QueryUnescape(id); err == nil {
			id = v
		}
		if v, err := url.QueryUnescape(secret); err == nil {
			secret = v
		}
		if fid := form.Get("client_id"); fid != "" && fid != id {
			return nil, "invalid_client"
		}
	} else {
		id, secret = form.Get("client_id"), form.Get("client_secret")
	}
	if id == "" {
		return nil, "invalid_request"
	}
	c := s.clients[id]
	if c == nil {
		return nil, "invalid_client"
	}
	if c.secret == "" {
		if secret != "" {
			return nil, "invalid_client"
		}
		return c, ""
	}
	if subtle.ConstantTimeCompare([]byte(secret), []byte(c.secret)) != 1 {
		return nil, "invalid_client"
	}
	return c, ""
}

// grantScope checks a requested scope against the client's allowed scopes.
// An empty request means every allowed scope (custom scopes only for
// client_credentials, which cannot have openid and friends).
func grantScope(c *client, requested string, customOnly bool) (string, bool) {
	if requested == "" {
		var all []string
		for _, sc := range c.scopes {
			if !customOnly || strings.Contains(sc, "/") {
				all = append(all, sc)
			}
		}
		return strings.Join(all, " "), true
	}
	fields := strings.Fields(requested)
	for _, sc := range fields {
		if !slices.Contains(c.scopes, sc) || (customOnly && !strings.Contains(sc, "/")) {
			return "", false
		}
	}
	return strings.Join(fields, " "), true
}

func (s *Sim) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.counts.Authorizes++
	s.mu.Unlock()
	q := r.URL.Query()
	hostedError := func(code string) {
		u := strings.TrimSuffix(s.AuthorizeURL, "/oauth2/authorize") + "/error?" +
			url.Values{"error": {code}, "client_id": {q.Get("client_id")}}.Encode()
		http.Redirect(w, r, u, http.StatusFound)
	}
	c := s.clients[q.Get("client_id")]
	if c == nil {
		hostedError("invalid_request")
		return
	}
	redirect := q.Get("redirect_uri")
	if redirect == "" || !slices.Contains(c.redirects, redirect) {
		hostedError("redirect_mismatch")
		return
	}
	back := func(v url.Values) {
		if st := q.Get("state"); st != "" {
			v.Set("state", st)
		}
		sep := "?"
		if strings.Contains(redirect, "?") {
			sep = "&"
		}
		http.Redirect(w, r, redirect+sep+v.Encode(), http.StatusFound)
	}
	if q.Get("response_type") != "code" || !slices.Contains(c.grants, "authorization_code") {
		back(url.Values{"error": {"unsupported_response_type"}})
		return
	}
	challenge := q.Get("code_challenge")
	if challenge == "" || q.Get("code_challenge_method") != "S256" {
		back(url.Values{"error": {"invalid_request"}, "error_description": {"code_challenge with code_challenge_method=S256 is required"}})
		return
	}
	scope, ok := grantScope(c, q.Get("scope"), false)
	if !ok {
		back(url.Values{"error": {"invalid_scope"}})
		return
	}
	code := newUUID()
	expires := s.now().Add(5 * time.Minute)
	s.mu.Lock()
	s.codes[code] = &authCode{
		clientID: c.id, redirectURI: redirect, challenge: challenge, scope: scope, expires: expires,
	}
	s.mu.Unlock()
	back(url.Values{"code": {code}})
}

func (s *Sim) grantAuthorizationCode(w http.ResponseWriter, c *client, form url.Values) {
	code := form.Get("code")
	if code == "" {
		oauthError(w, "invalid_request")
		return
	}
	now := s.now()
	s.mu.Lock()
	ac := s.codes[code]
	delete(s.codes, code) // single use, even when the exchange fails
	s.mu.Unlock()
	if ac == nil || ac.clientID != c.id || now.After(ac.expires) || ac.redirectURI != form.Get("redirect_uri") {
		oauthError(w, "invalid_grant")
		return
	}
	sum := sha256.Sum256([]byte(form.Get("code_verifier")))
	if base64.RawURLEncoding.EncodeToString(sum[:]) != ac.challenge {
		oauthError(w, "invalid_grant")
		return
	}
	origin := newUUID()
	rt := s.newRefreshGrant(c.id, ac.scope, origin, now.Add(s.opts.RefreshTokenLifetime))
	resp := s.userTokens(c.id, ac.scope, origin)
	resp["refresh_token"] = rt
	writeJSON(w, http.StatusOK, resp)
}

func (s *Sim) grantRefresh(w http.ResponseWriter, c *client, form url.Values) {
	rt := form.Get("refresh_token")
	if rt == "" {
		oauthError(w, "invalid_request")
		return
	}
	s.recordCredential(&s.creds.RefreshTokens, rt)
	now := s.now()
	s.mu.Lock()
	g := s.refresh[rt]
	live := g != nil && !g.revoked && g.clientID == c.id && !now.After(g.expires) &&
		(g.rotated.IsZero() || now.Before(g.rotated.Add(s.opts.RefreshTokenGracePeriod)))
	if live && s.opts.RefreshTokenRotation && g.rotated.IsZero() {
		// Replaced now; it keeps working for the grace period
		// (RetryGracePeriodSeconds), which a retry of a refresh whose
		// answer was lost needs.
		g.rotated = now
	}
	s.mu.Unlock()
	if !live {
		oauthError(w, "invalid_grant")
		return
	}
	resp := s.userTokens(c.id, g.scope, g.origin)
	// Without rotation, Cognito's refresh_token grant returns no new
	// refresh token. The rotated one keeps the replaced one's expiry; a
	// retry within the grace period gets another new one [INF].
	if s.opts.RefreshTokenRotation {
		resp["refresh_token"] = s.newRefreshGrant(c.id, g.scope, g.origin, g.expires)
	}
	writeJSON(w, http.StatusOK, resp)
}

// newRefreshGrant issues a refresh token for clientID in the login origin.
func (s *Sim) newRefreshGrant(clientID, scope, origin string, expires time.Time) string {
	rt := newRefreshToken()
	s.mu.Lock()
	s.refresh[rt] = &refreshGrant{clientID: clientID, scope: scope, origin: origin, expires: expires}
	s.mu.Unlock()
	s.recordCredential(&s.creds.RefreshTokens, rt)
	return rt
}

// IssueRefreshToken returns a refresh token of the web client for the
// pool's user with scope (empty: every scope of the web client), as a
// code exchange would: a stored login, for tests that need one without a
// browser.
func (s *Sim) IssueRefreshToken(scope string) string {
	c := s.clients[s.WebClientID]
	scope, _ = grantScope(c, scope, false)
	return s.newRefreshGrant(c.id, scope, newUUID(), s.now().Add(s.opts.RefreshTokenLifetime))
}

// serveRevoke is Cognito's /oauth2/revoke. A confidential client must
// authenticate with HTTP Basic, a public one sends its client_id in the
// body. Revoking a refresh token revokes its login: every refresh token of
// it (rotated ones too [INF]) and the access and ID tokens issued from it
// (origin_jti), which userInfo then refuses; the Gateway's authorizer only
// with Options.AuthorizerChecksRevocation. The answer is 200 with an empty
// body, also for a token the pool does not know (RFC 7009).
func (s *Sim) serveRevoke(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		oauthError(w, "invalid_request")
		return
	}
	if err := r.ParseForm(); err != nil {
		oauthError(w, "invalid_request")
		return
	}
	c, errCode := s.authenticateClient(r, r.PostForm)
	if errCode != "" {
		oauthError(w, errCode)
		return
	}
	if _, _, basic := r.BasicAuth(); c.secret != "" && !basic {
		// The secret in the body is refused; the code is a guess
		// (RFC 6749's for an unsupported authentication method).
		oauthError(w, "invalid_client")
		return
	}
	token := r.PostForm.Get("token")
	if token == "" {
		oauthError(w, "invalid_request")
		return
	}
	if _, err := s.verified(token); err == nil {
		// An access or ID token: only refresh tokens are revocable [INF].
		oauthError(w, "unsupported_token_type")
		return
	}
	s.mu.Lock()
	if g := s.refresh[token]; g != nil && g.clientID == c.id {
		s.originRevoked[g.origin] = true
		for _, other := range s.refresh {
			if other.origin == g.origin {
				other.revoked = true
			}
		}
	}
	s.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// serveUserInfo is Cognito's /oauth2/userInfo for a user's access token
// with the openid scope.
func (s *Sim) serveUserInfo(w http.ResponseWriter, r *http.Request) {
	scheme, raw, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	c, err := s.verified(strings.TrimSpace(raw))
	s.mu.Lock()
	live := err == nil && s.issued[c.ID] && !s.originRevoked[c.OriginJTI]
	s.mu.Unlock()
	if !strings.EqualFold(scheme, "Bearer") || !live || c.Subject != simUser.sub ||
		c.Expiry == nil || !s.now().Before(c.Expiry.Time()) || c.Issuer != s.Issuer ||
		!slices.Contains(strings.Fields(c.Scope), "openid") {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token", "error_description": "Access token is not valid"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"sub": simUser.sub, "email_verified": "true", "email": simUser.email, "username": simUser.username,
	})
}

// userTokens are the access and ID tokens of the pool's user signed in
// through clientID.
func (s *Sim) userTokens(clientID, scope, origin string) map[string]any {
	resp := map[string]any{
		"access_token": s.mintAccess(simUser.sub, clientID, scope, origin),
		"expires_in":   int(s.opts.TokenLifetime.Seconds()),
		"token_type":   "Bearer",
	}
	if slices.Contains(strings.Fields(scope), "openid") {
		resp["id_token"] = s.mintID(clientID, origin)
	}
	return resp
}

// mintAccess issues a Cognito access token and counts it; origin is the
// user's login (empty for a machine token).
func (s *Sim) mintAccess(sub, clientID, scope, origin string) string {
	now := s.now()
	tok, jti, err := s.sign(accessClaims(s.Issuer, sub, clientID, scope, origin, now, now.Add(s.opts.TokenLifetime)))
	if err != nil {
		panic(err) // RSA signing of a map does not fail
	}
	s.mu.Lock()
	s.issued[jti] = true
	s.counts.TokensIssued++
	s.mu.Unlock()
	s.recordCredential(&s.creds.AccessTokens, tok)
	return tok
}

func accessClaims(iss, sub, clientID, scope, origin string, iat, exp time.Time) map[string]any {
	c := map[string]any{
		"sub":       sub,
		"token_use": "access",
		"scope":     scope,
		"auth_time": iat.Unix(),
		"iss":       iss,
		"exp":       exp.Unix(),
		"iat":       iat.Unix(),
		"version":   2,
		"jti":       newUUID(),
		"client_id": clientID,
	}
	if sub != clientID { // a user's token
		c["username"] = simUser.username
		c["origin_jti"] = cmp.Or(origin, newUUID())
		c["event_id"] = newUUID()
	}
	return c
}

func (s *Sim) mintID(clientID, origin string) string {
	now := s.now()
	tok, jti, err := s.sign(map[string]any{
		"sub":              simUser.sub,
		"email_verified":   true,
		"iss":              s.Issuer,
		"cognito:username": simUser.username,
		"origin_jti":       cmp.Or(origin, newUUID()),
		"aud":              clientID,
		"event_id":         newUUID(),
		"token_use":        "id",
		"auth_time":        now.Unix(),
		"exp":              now.Add(s.opts.TokenLifetime).Unix(),
		"iat":              now.Unix(),
		"jti":              newUUID(),
		"email":            simUser.email,
	})
	if err != nil {
		panic(err)
	}
	// An allowedAudience authorizer accepts ID tokens: it needs to know
	// this one as issued (and RevokeTokens to forget it).
	s.mu.Lock()
	s.issued[jti] = true
	s.mu.Unlock()
	return tok
}

func (s *Sim) sign(claims map[string]any) (token, jti string, err error) {
	token, err = jwt.Signed(s.keys.signer).Claims(claims).Serialize()
	jti, _ = claims["jti"].(string)
	return token, jti, err
}

// TokenSpec describes a token for MintToken. Zero fields take the
// emulator's defaults.
type TokenSpec struct {
	ClientID string        // default: the machine client
	Scope    string        // default: Sim.Scope
	Issuer   string        // default: Sim.Issuer
	IssuedAt time.Time     // default: now
	Lifetime time.Duration // default: Options.TokenLifetime; negative: already expired
}

// MintToken signs an access token with the pool's key, as the token
// endpoint would, without a token request (not counted in Counts). A
// negative Lifetime gives an expired token; another Issuer a token the
// authorizer must reject.
func (s *Sim) MintToken(spec TokenSpec) (string, error) {
	if spec.ClientID == "" {
		spec.ClientID = s.ClientID
	}
	if spec.Scope == "" {
		spec.Scope = s.Scope
	}
	if spec.Issuer == "" {
		spec.Issuer = s.Issuer
	}
	if spec.IssuedAt.IsZero() {
		spec.IssuedAt = s.now()
	}
	if spec.Lifetime == 0 {
		spec.Lifetime = s.opts.TokenLifetime
	}
	tok, jti, err := s.sign(accessClaims(spec.Issuer, spec.ClientID, spec.ClientID, spec.Scope, "", spec.IssuedAt, spec.IssuedAt.Add(spec.Lifetime)))
	if err != nil {
		return "", fmt.Errorf("gatewaysim: sign: %w", err)
	}
	s.mu.Lock()
	s.issued[jti] = true
	s.mu.Unlock()
	return tok, nil
}

// TB is the part of testing.TB that Token uses.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
}

// Token mints a valid access token for clientID with scope (see MintToken);
// it fails the test on error.
func (s *Sim) Token(t TB, clientID, scope string) string {
	t.Helper()
	tok, err := s.MintToken(TokenSpec{ClientID: clientID, Scope: scope})
	if err != nil {
		t.Fatalf("%v", err)
	}
	return tok
}

// RevokeTokens makes every access token issued so far (by the token
// endpoint, MintToken or Token) invalid: the Gateway answers 401 to them.
// Tokens issued afterwards are valid.
func (s *Sim) RevokeTokens() {
	s.mu.Lock()
	clear(s.issued)
	s.mu.Unlock()
}

// RevokeRefreshTokens revokes every refresh token issued so far: the
// refresh_token grant answers invalid_grant for them.
func (s *Sim) RevokeRefreshTokens() {
	s.mu.Lock()
	for _, g := range s.refresh {
		g.revoked = true
	}
	s.mu.Unlock()
}

// FailTokenNext makes the token endpoint answer the next n requests with
// status (body {"error":"internal_error"} for 5xx, {"error":"invalid_request"}
// otherwise). n <= 0 cancels a pending failure.
func (s *Sim) FailTokenNext(n, status int) {
	s.mu.Lock()
	s.faults.tokenFailN, s.faults.tokenFailStatus = max(n, 0), status
	s.mu.Unlock()
}

// SetClockSkew moves the issuer's clock (iat, exp, auth_time of new tokens,
// and the authorizer's idea of now) by d relative to Options.Now.
func (s *Sim) SetClockSkew(d time.Duration) {
	s.mu.Lock()
	s.skew = d
	s.mu.Unlock()
}

func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// newRefreshToken returns an opaque token shaped and sized like Cognito's
// (a five-part JWE of about 1,780 characters), so that storage limits are
// exercised honestly.
func newRefreshToken() string {
	seg := func(n int) string {
		b := make([]byte, n)
		rand.Read(b)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	header := base64.RawURLEncoding.EncodeToString([]byte(`{"cty":"JWT","enc":"A256GCM","alg":"RSA-OAEP"}`))
	return header + "." + seg(256) + "." + seg(12) + "." + seg(1020) + "." + seg(16)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;").Replace(s)
}
