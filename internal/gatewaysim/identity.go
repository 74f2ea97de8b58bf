package gatewaysim

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// AgentCore Identity, as a 3LO (authorization code) target of the Gateway
// uses it. What AWS documents, and what the emulator does:
//
//   - The Gateway asks Identity for the user's token (GetResourceOauth2Token
//     with a workload access token made from the inbound JWT). Without one
//     in the vault Identity answers an authorization URL and a session URI
//     (urn:ietf:params:oauth:request_uri:...), both valid 10 minutes
//     (developer guide, oauth2-authorization-url-session-binding:
//     "Each authorization URL and its corresponding session identifier are
//     only valid for 10 minutes"). The Gateway turns that into a URL-mode
//     elicitation (gateway-facts, Update 2026-12-01).
//   - The user opens the URL, Identity sends the browser to the provider,
//     the user consents, the provider redirects to Identity's callback
//     (https://bedrock-agentcore.<region>.amazonaws.com/identities/callback/<id>),
//     and Identity redirects the browser to the return URL (the target's
//     defaultReturnUrl or the call's returnUrl, which must be one of the
//     workload identity's allowedResourceOauth2ReturnUrls) with
//     ?session_id=<session URI> (the AWS samples read session_id).
//   - The application at the return URL checks that its signed-in user is
//     the one who started the flow and calls CompleteResourceTokenAuth
//     {sessionUri, userIdentifier: {userToken} | {userId}}; only then does
//     Identity fetch the provider's token and keep it in the vault.
//
// How CompleteResourceTokenAuth is authorized: like every operation of the
// bedrock-agentcore data plane, with AWS SigV4 (IAM). botocore's model
// (bedrock-agentcore 2024-02-28, botocore 1.43.11) declares
// auth ["aws.auth#sigv4"] for the service and no operation overrides it
// (none is unsigned, CompleteResourceTokenAuth included); the
// developer guide says to "add code and the IAM permissions to call the
// CompleteResourceTokenAuth API in your application URL handler"; AWS
// samples grant the IAM action bedrock-agentcore:CompleteResourceTokenAuth
// (on token-vault/* and workload-identity-directory/*) to the role of the
// callback handler, and the Gateway sample's callback_server.py signs with
// boto3 and sends {"userToken": <the user's inbound JWT>} "for gateway
// user tool invocation". The userToken is evidence of who the user is, not
// the request's credential.
//
// So a desktop program holding only the user's Cognito token cannot
// complete the binding: it also needs AWS credentials allowed to call
// bedrock-agentcore:CompleteResourceTokenAuth (for example temporary ones
// from a Cognito identity pool that maps the user's token to such a role, or
// an SSO profile). Without them, the Gateway owner must host the return URL
// application (ReturnAppURL stands in for it here).
//
// Guesses where AWS is silent: the authorization URL's shape
// ({IdentityURL}/identities/oauth2/authorize?request_uri=...), the
// elicitation's message and elicitationId, that every call without a
// vaulted token starts a new session (the Gateway is stateless and does not
// pass an earlier session URI), the answer to an expired or reused URL (an
// HTML 400 page), that a session started from a JWT binds only with a
// userToken of the same subject (userId is refused), the error bodies of
// CompleteResourceTokenAuth (AWS rest-json: x-amzn-ErrorType and
// {"message"}), and that a returnUrl the workload identity does not allow
// makes the call fail (isError) rather than a JSON-RPC error. Tokens in the
// vault do not expire.

// ConsentURLLifetime is how long an authorization URL and its session are
// valid (10 minutes, per AWS).
const ConsentURLLifetime = 10 * time.Minute

// CredentialProviderMetaKey is the _meta key of tools/call params with
// which a client overrides the 3LO settings for one call.
const CredentialProviderMetaKey = "aws.bedrock-agentcore.gateway/credentialProviderConfiguration"

// sessionURIPrefix is the form of a session URI (the RequestUri pattern of
// the API reference).
const sessionURIPrefix = "urn:ietf:params:oauth:request_uri:"

// OAuthCredentialProvider is a target's outbound OAuth credential
// provider configuration (credentialProviderType OAUTH) with the
// authorization code grant (3LO): the Gateway calls the target with the
// calling user's token from AgentCore Identity's vault.
type OAuthCredentialProvider struct {
	// ProviderName is the AgentCore Identity credential provider; the vault
	// keys tokens by the user's sub and this name. Default: the target's name.
	ProviderName string
	// GrantType must be "AUTHORIZATION_CODE" (the default); the emulator
	// does not serve CLIENT_CREDENTIALS or TOKEN_EXCHANGE.
	GrantType string
	Scopes    []string // default ["default"], Asana's full-access scope
	// DefaultReturnURL is the target's defaultReturnUrl: where the browser
	// goes after consent. Empty means Sim.ReturnAppURL, the emulated
	// Gateway owner's application.
	DefaultReturnURL string
}

// consentSession is one authorization session of AgentCore Identity.
type consentSession struct {
	uri       string // session URI
	state     string // the state Identity sends the provider
	sub       string // the user who started it
	byIAM     bool   // started by an AWS_IAM caller: sub is its ARN
	provider  string
	scopes    []string
	returnURL string
	expires   time.Time
	code      string // the provider's code, once the user consented
	status    string // sessionPending, sessionConsented, sessionFailed, sessionBound
}

const (
	sessionPending   = "IN_PROGRESS"
	sessionConsented = "CONSENTED"
	sessionFailed    = "FAILED"
	sessionBound     = "COMPLETED"
)

type vaultKey struct{ sub, provider string }

// identityState is AgentCore Identity's and the provider's state, guarded
// by Sim.mu.
type identityState struct {
	consents       map[string]*consentSession // by session URI
	consentByState map[string]string          // provider state -> session URI
	vault          map[vaultKey]string
	allowedReturns []string // the workload identity's allowedResourceOauth2ReturnUrls
	providerCodes  map[string]*providerCode
	providerTokens map[string]bool
}

// identityCallbackURL is Identity's OAuth callback, registered with the
// provider as the client's redirect URI.
func (s *Sim) identityCallbackURL() string {
	return s.IdentityURL + "/identities/callback/" + s.ProviderClientID
}

// AllowReturnURL adds u to the workload identity's
// allowedResourceOauth2ReturnUrls (UpdateWorkloadIdentity), so that calls
// may name it as their returnUrl.
func (s *Sim) AllowReturnURL(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !slices.Contains(s.allowedReturns, u) {
		s.allowedReturns = append(s.allowedReturns, u)
	}
}

// VaultedTokens returns the tokens AgentCore Identity holds for the user
// sub, by credential provider name.
func (s *Sim) VaultedTokens(sub string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	for k, v := range s.vault {
		if k.sub == sub {
			out[k.provider] = v
		}
	}
	return out
}

// ForgetVaultedTokens empties the vault for every user.
func (s *Sim) ForgetVaultedTokens() {
	s.mu.Lock()
	clear(s.vault)
	s.mu.Unlock()
}

// callProviderConfig is the per-call override in tools/call _meta.
type callProviderConfig struct {
	returnURL string
	force     bool
}

// parseProviderMeta reads
// _meta["aws.bedrock-agentcore.gateway/credentialProviderConfiguration"].oauthCredentialProvider.
// The developer guide spells the inner key oauthCredentialProvider in its
// example and oauthcredentialProvider in its schema; both are accepted.
func parseProviderMeta(meta mcp.Meta) callProviderConfig {
	var cfg callProviderConfig
	outer, _ := meta[CredentialProviderMetaKey].(map[string]any)
	inner, _ := outer["oauthCredentialProvider"].(map[string]any)
	if inner == nil {
		inner, _ = outer["oauthcredentialProvider"].(map[string]any)
	}
	cfg.returnURL, _ = inner["returnUrl"].(string)
	cfg.force, _ = inner["forceAuthentication"].(bool)
	return cfg
}

// outboundToken is the 3LO step of a tools/call: the vaulted token of the
// calling user, or (when there is none, or the call forces
// authentication) the answer that asks for consent: -32042 with a URL
// elicitation for the 2025 revisions, an input_required result for
// 2026-07-28. A non-nil result or error ends the call.
func (s *Sim) outboundToken(req *mcp.CallToolRequest, ts *targetState) (string, *mcp.CallToolResult, error) {
	p := ts.OAuth
	var raw, callerARN string
	if req.Extra != nil {
		_, raw, _ = strings.Cut(req.Extra.Header.Get("Authorization"), " ")
		callerARN = req.Extra.Header.Get(callerARNHeader)
	}
	claims := &tokenClaims{}
	if s.opts.AuthorizerType == AuthorizerAWSIAM {
		// The caller's identity is its IAM principal (an assumption: AWS
		// documents 3LO with JWT inbound auth).
		claims.Subject = callerARN
	} else if c, err := s.verified(strings.TrimSpace(raw)); err == nil {
		claims = c
	}
	if claims.Subject == "" {
		return "", failure(s.opts.Debug, "no user identity for the OAuth credential provider"), nil
	}
	cfg := parseProviderMeta(req.Params.Meta)
	returnURL := cmp.Or(cfg.returnURL, p.DefaultReturnURL)
	key := vaultKey{claims.Subject, p.ProviderName}

	s.mu.Lock()
	allowed := returnURL == p.DefaultReturnURL || slices.Contains(s.allowedReturns, returnURL)
	if allowed && cfg.force {
		// "remove the previous authentication from the token vault and
		// return a new authorization URL"
		delete(s.vault, key)
	}
	token, ok := s.vault[key]
	s.mu.Unlock()
	if !allowed {
		return "", failure(s.opts.Debug, "ValidationException: returnUrl is not an allowed resource OAuth2 return URL of the gateway's workload identity"), nil
	}
	if ok {
		return token, nil, nil
	}

	sess := &consentSession{
		uri:       sessionURIPrefix + newUUID(),
		state:     randomString(32, lowerAlnum),
		sub:       claims.Subject,
		byIAM:     s.opts.AuthorizerType == AuthorizerAWSIAM,
		provider:  p.ProviderName,
		scopes:    p.Scopes,
		returnURL: returnURL,
		expires:   s.now().Add(ConsentURLLifetime),
		status:    sessionPending,
	}
	s.mu.Lock()
	s.consents[sess.uri] = sess
	s.consentByState[sess.state] = sess.uri
	s.counts.ConsentURLs++
	s.mu.Unlock()

	elicit := &mcp.ElicitParams{
		Mode:          "url",
		URL:           s.IdentityURL + "/identities/oauth2/authorize?request_uri=" + url.QueryEscape(sess.uri),
		ElicitationID: strings.TrimPrefix(sess.uri, sessionURIPrefix),
		Message:       fmt.Sprintf("Authorize access to %s: open the URL in a browser, sign in and allow access, then retry the request.", p.ProviderName),
	}
	if protocolOf(req) >= modernVersion {
		return "", &mcp.CallToolResult{InputRequests: mcp.InputRequestMap{elicit.ElicitationID: elicit}}, nil
	}
	return "", nil, mcp.URLElicitationRequiredError([]*mcp.ElicitParams{elicit})
}

// protocolOf is the MCP revision a call speaks: the session's, or for
// 2026-07-28 the request's own (go-sdk sets it from _meta).
func protocolOf(req *mcp.CallToolRequest) string {
	if req.Session == nil {
		return ""
	}
	if ip := req.Session.InitializeParams(); ip != nil {
		return ip.ProtocolVersion
	}
	return ""
}

// identityHandler serves AgentCore Identity's data-plane host:
// bedrock-agentcore.{region}.amazonaws.com/identities/...
func (s *Sim) identityHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /identities/oauth2/authorize", s.serveIdentityAuthorize)
	mux.HandleFunc("GET /identities/callback/{id}", s.serveIdentityCallback)
	mux.HandleFunc("POST /identities/CompleteResourceTokenAuth", s.serveCompleteResourceTokenAuth)
	mux.HandleFunc("/", serveUnknownOperation)
	return mux
}

// liveSession returns the session for uri if it exists and has not
// expired, else answers an HTML 400 page and nil.
func (s *Sim) liveSession(w http.ResponseWriter, uri string) *consentSession {
	now := s.now()
	s.mu.Lock()
	sess := s.consents[uri]
	s.mu.Unlock()
	switch {
	case sess == nil:
		htmlPage(w, http.StatusBadRequest, "Authorization failed", "This authorization URL is not valid.")
		return nil
	case !now.Before(sess.expires):
		s.mu.Lock()
		s.counts.ConsentURLsExpired++
		s.mu.Unlock()
		htmlPage(w, http.StatusBadRequest, "Authorization failed", "This authorization URL has expired (they are valid for 10 minutes). Retry the request to get a new one.")
		return nil
	}
	return sess
}

// serveIdentityAuthorize is the authorization URL the Gateway hands out: it
// sends the browser to the provider's consent page.
func (s *Sim) serveIdentityAuthorize(w http.ResponseWriter, r *http.Request) {
	sess := s.liveSession(w, r.URL.Query().Get("request_uri"))
	if sess == nil {
		return
	}
	s.mu.Lock()
	status := sess.status
	if status == sessionPending {
		s.counts.ConsentURLsOpened++
	}
	s.mu.Unlock()
	if status != sessionPending {
		htmlPage(w, http.StatusBadRequest, "Authorization failed", "This authorization URL has already been used.")
		return
	}
	q := url.Values{
		"client_id":     {s.ProviderClientID},
		"redirect_uri":  {s.identityCallbackURL()},
		"response_type": {"code"},
		"state":         {sess.state},
		"scope":         {strings.Join(sess.scopes, " ")},
	}
	http.Redirect(w, r, s.ProviderURL+ProviderAuthorizePath+"?"+q.Encode(), http.StatusFound)
}

// serveIdentityCallback receives the provider's redirect and sends the
// browser on to the return URL with the session URI.
func (s *Sim) serveIdentityCallback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	uri := s.consentByState[q.Get("state")]
	s.mu.Unlock()
	sess := s.liveSession(w, uri)
	if sess == nil {
		return
	}
	s.mu.Lock()
	if sess.status != sessionPending {
		s.mu.Unlock()
		htmlPage(w, http.StatusBadRequest, "Authorization failed", "This authorization session has already been used.")
		return
	}
	back, err := url.Parse(sess.returnURL)
	if err != nil {
		s.mu.Unlock()
		htmlPage(w, http.StatusBadRequest, "Authorization failed", "bad return URL")
		return
	}
	bq := back.Query()
	bq.Set("session_id", sess.uri)
	if e := q.Get("error"); e != "" || q.Get("code") == "" {
		sess.status = sessionFailed
		bq.Set("error", cmp.Or(e, "server_error"))
	} else {
		sess.status = sessionConsented
		sess.code = q.Get("code")
	}
	s.mu.Unlock()
	back.RawQuery = bq.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

// awsError answers an AWS rest-json error.
func awsError(w http.ResponseWriter, status int, errType, message string) {
	w.Header().Set("x-amzn-ErrorType", errType)
	w.Header().Set("x-amzn-RequestId", newUUID())
	writeJSON(w, status, map[string]string{"message": message})
}

// serveCompleteResourceTokenAuth is CompleteResourceTokenAuth: SigV4 with
// the emulator's one IAM key pair (Sim.IAMAccessKeyID), then the session,
// then the user; on success Identity exchanges the provider's code and
// vaults the token. 200 {} like AWS.
func (s *Sim) serveCompleteResourceTokenAuth(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		awsError(w, http.StatusBadRequest, "ValidationException", "cannot read the request")
		return
	}
	refuse := func(status int, errType, msg string) {
		s.mu.Lock()
		s.counts.BindingsRefused++
		s.mu.Unlock()
		awsError(w, status, errType, msg)
	}
	key, f := s.verifyAWS(r, body, sigV4Service)
	if f == nil {
		f = authorizeAction(key, "bedrock-agentcore:CompleteResourceTokenAuth",
			"arn:aws:bedrock-agentcore:"+s.opts.Region+":"+s.opts.AccountID+":token-vault/default")
	}
	if f != nil {
		e := f.in(protoRESTJSON)
		refuse(e.status, e.code, e.message)
		return
	}
	var in struct {
		SessionURI     string `json:"sessionUri"`
		UserIdentifier *struct {
			UserToken *string `json:"userToken"`
			UserID    *string `json:"userId"`
		} `json:"userIdentifier"`
	}
	if json.Unmarshal(body, &in) != nil || in.UserIdentifier == nil ||
		!strings.HasPrefix(in.SessionURI, sessionURIPrefix) ||
		(in.UserIdentifier.UserToken == nil) == (in.UserIdentifier.UserID == nil) {
		refuse(http.StatusBadRequest, "ValidationException", "1 validation error detected: sessionUri and exactly one of userIdentifier.userToken, userIdentifier.userId are required")
		return
	}
	now := s.now()
	s.mu.Lock()
	sess := s.consents[in.SessionURI]
	s.mu.Unlock()
	if sess == nil {
		refuse(http.StatusNotFound, "ResourceNotFoundException", "Session not found")
		return
	}
	if !now.Before(sess.expires) {
		refuse(http.StatusBadRequest, "ValidationException", "Session has expired")
		return
	}
	switch {
	case sess.byIAM:
		// Started by an IAM caller (the AWS_IAM Gateway): the user is
		// named by userId, the caller's ARN (a guess, like the rest of
		// IAM-inbound 3LO).
		if in.UserIdentifier.UserID == nil || *in.UserIdentifier.UserID != sess.sub {
			refuse(http.StatusForbidden, "AccessDeniedException", "The user does not match the user who started the authorization session")
			return
		}
	case in.UserIdentifier.UserID != nil:
		refuse(http.StatusForbidden, "AccessDeniedException", "The session was started with a user token; present the same user's token")
		return
	default:
		claims, status, _ := s.checkToken("Bearer " + *in.UserIdentifier.UserToken)
		if status != http.StatusOK {
			refuse(http.StatusUnauthorized, "UnauthorizedException", "The user token is not valid")
			return
		}
		if claims.Subject != sess.sub {
			refuse(http.StatusForbidden, "AccessDeniedException", "The user does not match the user who started the authorization session")
			return
		}
	}
	s.mu.Lock()
	status2, code := sess.status, sess.code
	if status2 == sessionConsented {
		sess.status = sessionBound // single use, even if the exchange fails
	}
	s.mu.Unlock()
	if status2 != sessionConsented {
		refuse(http.StatusBadRequest, "ValidationException", "The authorization session is "+status2+", not awaiting completion")
		return
	}
	token, err := s.exchangeProviderCode(r.Context(), code)
	if err != nil {
		refuse(http.StatusInternalServerError, "InternalServerException", "Failed to obtain the token from the provider")
		return
	}
	s.mu.Lock()
	s.vault[vaultKey{sess.sub, sess.provider}] = token
	s.counts.Bindings++
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{})
}

// exchangeProviderCode is Identity's token request to the provider, as
// the provider's registered client.
func (s *Sim) exchangeProviderCode(ctx context.Context, code string) (string, error) {
	form := url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {s.identityCallbackURL()},
		"client_id":     {s.ProviderClientID},
		"client_secret": {s.providerClientSecret},
	}
	req, err := http.NewRequestWithContext(ctx, "POST", s.ProviderURL+ProviderTokenPath, strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := (&http.Client{Transport: s.outbound}).Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&out) != nil || out.AccessToken == "" {
		return "", fmt.Errorf("gatewaysim: provider token endpoint: HTTP %d", resp.StatusCode)
	}
	return out.AccessToken, nil
}

// CompleteResourceTokenAuth calls the emulated CompleteResourceTokenAuth
// as an AWS SDK would, signed with the emulator's IAM credentials, for the
// user of userToken: what the application at the return URL does once it
// has checked its signed-in user. An AWS error comes back as an error
// naming its type.
func (s *Sim) CompleteResourceTokenAuth(ctx context.Context, sessionURI, userToken string) error {
	return s.completeResourceTokenAuth(ctx, sessionURI, map[string]string{"userToken": userToken})
}

// completeResourceTokenAuth is CompleteResourceTokenAuth with the
// userIdentifier given ({"userToken": ...} or {"userId": ...}).
func (s *Sim) completeResourceTokenAuth(ctx context.Context, sessionURI string, user map[string]string) error {
	body, err := json.Marshal(map[string]any{"sessionUri": sessionURI, "userIdentifier": user})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, "POST", s.IdentityURL+"/identities/CompleteResourceTokenAuth", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	SignV4(req, body, s.IAMAccessKeyID, s.iamSecretAccessKey, s.opts.Region, sigV4Service, s.now())
	resp, err := (&http.Client{Transport: s.outbound}).Do(req)
	if err != nil {
		return fmt.Errorf("gatewaysim: CompleteResourceTokenAuth: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("gatewaysim: CompleteResourceTokenAuth: HTTP %d %s", resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"))
	}
	return nil
}

// IAMSecretAccessKey returns the secret of the emulator's IAM key pair
// (allowed bedrock-agentcore:CompleteResourceTokenAuth), for tests that
// sign requests themselves with SignV4.
func (s *Sim) IAMSecretAccessKey() string { return s.iamSecretAccessKey }

// ownerAppHandler is the Gateway owner's web application at the default
// return URL, reduced to its callback: it binds the session to the user
// who started it, with that user's token, through the real
// CompleteResourceTokenAuth. A real application does so only after
// checking that its own signed-in user (its session cookie) is that user;
// the emulator's stands for an application the same browser is signed in
// to as that user, which is what a consent in that browser means here.
func (s *Sim) ownerAppHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /callback", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		uri := q.Get("session_id")
		if uri == "" {
			htmlPage(w, http.StatusBadRequest, "Error", "Missing session_id")
			return
		}
		if e := q.Get("error"); e != "" {
			htmlPage(w, http.StatusOK, "Authorization not granted", "The provider answered "+e+". You can close this tab.")
			return
		}
		s.mu.Lock()
		sess := s.consents[uri]
		s.mu.Unlock()
		if sess == nil {
			htmlPage(w, http.StatusBadRequest, "Session binding failed", "Unknown session.")
			return
		}
		user := map[string]string{"userToken": s.userTokenFor(sess.sub)}
		if sess.byIAM {
			user = map[string]string{"userId": sess.sub}
		}
		if err := s.completeResourceTokenAuth(r.Context(), uri, user); err != nil {
			htmlPage(w, http.StatusInternalServerError, "Session binding failed", "CompleteResourceTokenAuth was refused.")
			return
		}
		htmlPage(w, http.StatusOK, "Authorization complete", "You can close this tab and return to your agent.")
	})
	return mux
}

// userTokenFor is a fresh access token for the user sub, as the owner's
// application holds from its own sign-in: the pool's user's (web client)
// or a machine client's (whose sub is its client id). Not counted.
func (s *Sim) userTokenFor(sub string) string {
	clientID, scope := sub, s.Scope
	if sub == simUser.sub {
		clientID, scope = s.WebClientID, "openid email profile "+s.Scope
	}
	now := s.now()
	tok, jti, err := s.sign(accessClaims(s.Issuer, sub, clientID, scope, "", now, now.Add(s.opts.TokenLifetime)))
	if err != nil {
		return ""
	}
	s.mu.Lock()
	s.issued[jti] = true
	s.mu.Unlock()
	return tok
}
