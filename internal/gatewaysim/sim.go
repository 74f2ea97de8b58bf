package gatewaysim

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agw-proxy/agw-proxy/configs"
)

// DefaultTargetName is the name of the default target: the one the seed
// tutorial creates, serving configs.AsanaOpenAPI.
const DefaultTargetName = "AgentCoreGwyAPIGatewayTarget"

// DefaultAPIKey is the outbound API key the default target sends to the
// backend (in the api_key query parameter, like the seed tutorial).
const DefaultAPIKey = "agwsim-outbound-api-key-0123456789"

// SearchToolName is the Gateway's built-in semantic search tool, offered
// when Options.Search is set.
const SearchToolName = "x_amz_bedrock_agentcore_search"

// DefaultPageSize is how many tools one tools/list page holds: the
// Gateway's page size, unless DisableListToolsPagination.
const DefaultPageSize = 30

// MaxPayloadBytes is the Gateway's payload limit (6 MB) on a request body
// to /mcp; a larger one gets HTTP 413. AWS writes "6 MB"; reading it as
// 6 MiB (as for Lambda's 6 MB) is a guess.
const MaxPayloadBytes = 6 << 20

// Session timeout bounds of the Gateway's sessionConfiguration.
const (
	DefaultSessionTimeout = 3600 * time.Second
	MinSessionTimeout     = 900 * time.Second
	MaxSessionTimeout     = 28800 * time.Second
)

// Options configures the emulator. The zero value is a Gateway like the seed
// tutorial's: one Asana target, no sessions, JSON responses.
type Options struct {
	Region        string        // default "us-east-1"
	PoolID        string        // default "us-east-1_AgwSim01"
	TokenLifetime time.Duration // access (and id) token lifetime; default 1h

	// RefreshTokenLifetime is the web client's refresh token lifetime;
	// default 30 days, like the seed stack.
	RefreshTokenLifetime time.Duration

	// Targets are the Gateway's OpenAPI targets. Default: one target named
	// DefaultTargetName with configs.AsanaOpenAPI and DefaultAPIKey.
	Targets []Target

	// DisableListToolsPagination is the Gateway's
	// disableMcpListToolsPagination setting: tools/list answers every tool
	// in one page. Without it the Gateway pages by DefaultPageSize (30)
	// with nextCursor.
	DisableListToolsPagination bool
	// PageSize overrides the page size of 30. It is not a Gateway setting
	// (AWS pages by 30, or not at all): it lets a test see several pages
	// without defining dozens of tools. 0 means DefaultPageSize.
	PageSize int

	// Sessions is the Gateway's sessionConfiguration for the 2025
	// revisions: initialize issues an Mcp-Session-Id, later requests must
	// carry it, and it answers HTTP 404 once unknown, dropped or expired.
	// A session belongs to the subject (sub) of the token that opened it.
	// Requests in 2026-07-28 are stateless even then. Without Sessions the
	// Gateway is stateless and ignores any Mcp-Session-Id a client sends.
	Sessions bool
	// SessionTimeout is the session timeout (Sessions only), absolute from
	// the initialize that opened the session, not an idle timeout: 900 s
	// to 28800 s, 0 = 3600 s. It is measured on the emulator's clock
	// (Options.Now and SetClockSkew), so tests expire a session by moving
	// the clock past it; a timer on the real clock also ends the session
	// (open streams included) when that much real time has passed.
	SessionTimeout time.Duration
	// Streaming answers with SSE when the client accepts text/event-stream
	// (and allows GET streams with Sessions); otherwise JSON. With Sessions
	// too, every POST is answered with SSE: one go-sdk handler holds the
	// sessions and its response style is fixed.
	Streaming bool
	Search    bool // offer x_amz_bedrock_agentcore_search
	EchoToken bool // the Asana-like backend reflects the received X-Asana-Token in its body

	// EchoCredentials makes a hostile Gateway, for tests only (AWS never
	// does this): each MCP answer echoes the bearer token of its request
	// and every client secret and refresh token the token endpoint has
	// received or issued, raw, \u-escaped inside JSON and percent-encoded,
	// as one more text content of a tools/call result, in the message of
	// a JSON-RPC error, and in a notifications/progress before a call with
	// a progress token (over SSE only). Sim.Credentials lists them.
	EchoCredentials bool

	// RefreshTokenRotation is the web client's refresh token rotation
	// (a Cognito app client setting): the refresh_token grant also returns
	// a new refresh token, and the one it replaces stops working after
	// RefreshTokenGracePeriod.
	RefreshTokenRotation bool
	// RefreshTokenGracePeriod is rotation's RetryGracePeriodSeconds: how
	// long a replaced refresh token still works (0 to 60 s; default 0).
	RefreshTokenGracePeriod time.Duration

	// AuthorizerChecksRevocation makes the Gateway's authorizer refuse
	// access tokens that Cognito revoked with their refresh token
	// (/oauth2/revoke), as an online check would. Off by default: the
	// Gateway validates JWTs offline (signature, exp, iss, client, scope),
	// so it most likely accepts a revoked access token until it expires
	// (gateway-facts [INF]); Cognito's own userInfo refuses it either way.
	AuthorizerChecksRevocation bool

	// Debug is the Gateway's exceptionLevel DEBUG: a failed target call's
	// result (isError) carries the detail (the target's status and body)
	// in content[0].text and in _meta.debug as {"type":"text","text":...}
	// instead of the generic "An internal error occurred. Please retry
	// later.".
	Debug bool

	// MaxRequestBytes bounds a POST body to /mcp (HTTP 413 beyond);
	// 0 = MaxPayloadBytes, the Gateway's 6 MB. Other values are not AWS
	// behaviour but let a test move the limit; negative means no limit.
	MaxRequestBytes int64

	// RedirectURL is the web client's one registered callback URL, matched
	// exactly by /oauth2/authorize. Default "http://localhost:8501/" (the
	// seed stack's); tests that run a login listener set their own.
	RedirectURL string

	// AllowedReturnURLs are the Gateway workload identity's
	// allowedResourceOauth2ReturnUrls besides the 3LO targets' default
	// return URLs: the returnUrl values a call may name (see also
	// Sim.AllowReturnURL).
	AllowedReturnURLs []string

	// ClientID and ClientSecret are the machine client's credentials and
	// WebClientID the web client's id; empty means random, Cognito-shaped
	// values (26 and 51 lowercase alphanumerics).
	ClientID, ClientSecret, WebClientID string

	// AllowedClients is the authorizer's allowedClients; nil means the
	// machine client and the web client, empty (non-nil) means any client.
	AllowedClients []string
	// AllowedScopes is the authorizer's allowedScopes (any match); nil
	// means the resource server's read scope (Sim.Scope).
	AllowedScopes []string

	// AuthorizerType is the Gateway's inbound authorizer: AuthorizerCustomJWT
	// (the default: a Cognito JWT as Bearer token) or AuthorizerAWSIAM
	// (every request to /mcp signed with SigV4 for service
	// bedrock-agentcore in Region by a key of AWSKeys allowed
	// bedrock-agentcore:InvokeGateway; the key's ARN is the caller's
	// identity, the subject of its sessions and of its 3LO tokens).
	AuthorizerType string
	// AllowedAudience is the CUSTOM_JWT authorizer's allowedAudience: a
	// token's aud must be one of them. Cognito access tokens have no aud,
	// ID tokens have the client id, so such a Gateway takes ID tokens.
	// With AllowedAudience set, nil AllowedClients and AllowedScopes mean
	// none (ID tokens carry neither client_id nor scope).
	AllowedAudience []string

	// AWSKeys are the IAM access keys the emulated AWS accepts (the AWS
	// endpoint, the AWS_IAM Gateway, AgentCore Identity). nil means one
	// key: TestAccessKeyID/TestSecretAccessKey of DefaultUserARN, allowed
	// every action. See also AddAWSKey, IssueTemporaryCredentials and
	// SetAWSActions.
	AWSKeys []AWSKey
	// AccountID is the emulated AWS account; default DefaultAccountID.
	AccountID string
	// GatewayName is the Gateway's name; default DefaultGatewayName.
	// GatewayID is its id; default the name, "-" and 10 random lowercase
	// alphanumerics, as AWS makes them.
	GatewayName, GatewayID string

	// Now is the issuer's clock; nil means time.Now. See also SetClockSkew.
	Now func() time.Time

	Logger *slog.Logger // nil: no logs
}

// Target is an OpenAPI target of the Gateway with an API-key outbound
// credential, or with an OAuth authorization-code one (OAuth).
type Target struct {
	Name string // tool names are Name + "___" + operationId
	Spec []byte // OpenAPI 3.0/3.1 JSON

	// APIKey is the outbound credential sent to the backend; empty sends none.
	APIKey         string
	APIKeyLocation string // "QUERY_PARAMETER" (default) or "HEADER"
	APIKeyName     string // default "api_key"
	APIKeyPrefix   string // prepended to APIKey, e.g. "Bearer "

	// OAuth, instead of an API key, makes the outbound auth an OAuth
	// authorization-code credential provider (3LO): the Gateway calls the
	// backend with the calling user's token from AgentCore Identity's
	// vault, and the backend accepts only tokens the emulated provider
	// issued. See identity.go.
	OAuth *OAuthCredentialProvider

	// Metadata is the target's metadataConfiguration (header and query
	// parameter propagation). See headers.go.
	Metadata *MetadataConfiguration

	// S3URI ("s3://bucket/key") puts the OpenAPI schema in S3: the control
	// plane reports openApiSchema.s3.uri instead of inlinePayload, and the
	// AWS endpoint serves Spec at that object.
	S3URI string
}

// The Gateway's inbound authorizer types the emulator serves.
const (
	AuthorizerCustomJWT = "CUSTOM_JWT"
	AuthorizerAWSIAM    = "AWS_IAM"
)

// Request is one HTTP request the backend received from the Gateway.
type Request struct {
	Target string // the target whose tool was called
	Method string
	Path   string // the operation's path, e.g. "/asana" (without the target's base)
	Query  url.Values
	Header http.Header
	Body   []byte
}

// Counts are the emulator's counters, for tests that assert how often
// something happened.
type Counts struct {
	TokenRequests      int // POSTs to /oauth2/token, failed or not
	TokensIssued       int // access tokens issued by /oauth2/token
	Authorizes         int // GETs of /oauth2/authorize
	MCPRequests        int // HTTP requests to /mcp, any method
	Unauthorized       int // /mcp requests answered 401 or 403 by the authorizer
	Throttled          int // /mcp requests answered 429 (ThrottleNext)
	TooLarge           int // /mcp requests answered 413
	SessionsExpired    int // sessions ended by the absolute timeout
	SessionsRefused    int // requests refused for a session of another subject
	Discovers          int // server/discover requests that reached the MCP server
	Initializes        int // initialize requests that reached the MCP server
	ToolLists          int // tools/list requests that reached the MCP server
	ToolCalls          int // tools/call requests that reached the MCP server
	ToolCallsCancelled int // tool calls whose context ended before they finished
	BackendRequests    int // requests the backend received

	// AgentCore Identity and the 3LO provider.
	ConsentURLs        int // authorization URLs handed out (URL elicitations)
	ConsentURLsOpened  int // authorization URLs opened in a browser
	ConsentURLsExpired int // authorization URLs refused as expired (any step)
	Consents           int // users who clicked Allow at the provider
	Bindings           int // CompleteResourceTokenAuth calls that vaulted a token
	BindingsRefused    int // CompleteResourceTokenAuth calls refused

	// The AWS endpoint.
	AWSRequests int // requests to AWSEndpointURL
	AWSRefused  int // AWS requests (the AWS_IAM Gateway's included) refused for authentication or permission
}

// Sim is a running emulator. Its exported fields are read-only.
type Sim struct {
	GatewayURL   string // http://127.0.0.1:P/mcp
	ResourceURL  string // the protected-resource metadata document
	TokenURL     string // hosted domain /oauth2/token
	AuthorizeURL string // hosted domain /oauth2/authorize
	DiscoveryURL string // Issuer + "/.well-known/openid-configuration"
	Issuer       string // http://127.0.0.1:P/{PoolID}: Cognito's iss, served locally
	JWKSURL      string // Issuer + "/.well-known/jwks.json"
	BackendURL   string // the recording backend's base URL

	// AWSEndpointURL serves the emulated AWS APIs (see aws.go): what a
	// client's AWS_ENDPOINT_URL points at.
	AWSEndpointURL string
	GatewayID      string // the Gateway's id (its control-plane identifier)

	IdentityURL  string // AgentCore Identity's data plane: bedrock-agentcore.{region}.amazonaws.com
	ProviderURL  string // the third-party OAuth provider (Asana-like): app.asana.com
	ReturnAppURL string // the Gateway owner's application's callback: the default return URL

	// IAMAccessKeyID is the access key id of the emulator's first IAM key
	// (Options.AWSKeys; by default TestAccessKeyID, allowed everything,
	// bedrock-agentcore:CompleteResourceTokenAuth included; the secret:
	// IAMSecretAccessKey).
	IAMAccessKeyID string
	// ProviderClientID is AgentCore Identity's client at the provider.
	ProviderClientID string

	ClientID     string // machine client (client_credentials)
	ClientSecret string
	Scope        string // "<resource server>/read"

	WebClientID string // web client: public, authorization code + PKCE
	RedirectURL string // the web client's registered callback

	opts    Options
	log     *slog.Logger
	keys    *signingKey
	clients map[string]*client

	mcpServer     *mcp.Server
	statelessJSON http.Handler // 2026-07-28, and 2025 without Sessions
	statelessSSE  http.Handler // the same with SSE answers (Streaming only)
	stateful      http.Handler // 2025 with Sessions
	outbound      *http.Transport

	servers []*http.Server
	pending []net.Listener
	closing chan struct{}
	closed  sync.Once
	wg      sync.WaitGroup

	mu             sync.Mutex
	counts         Counts
	received       []Request
	tools          map[string]*simTool
	targets        map[string]*targetState
	issued         map[string]bool // jti of every access token issued and not revoked
	verifiedTokens map[string]*tokenClaims
	codes          map[string]*authCode
	refresh        map[string]*refreshGrant
	originRevoked  map[string]bool        // origin_jti of logins whose refresh token was revoked
	mcpSessions    map[string]*mcpSession // Options.Sessions: by Mcp-Session-Id
	skew           time.Duration
	faults         faults
	conns          map[net.Conn]bool // open connections to the Gateway listener
	creds          Credentials       // recorded with EchoCredentials only
	awsKeys        map[string]*AWSKey
	ssm            map[string]*ssmParameter
	targetSeq      int
	identityState
	apps providerApps // provider_apps.go: the provider's apps for desktop logins

	iamSecretAccessKey   string
	providerClientSecret string
	created              time.Time // when the Gateway, its targets and the stack were made
	stackUUID            string
}

type faults struct {
	mcpFailN, mcpFailStatus         int
	throttleN                       int
	tokenFailN, tokenFailStatus     int
	backendFailN, backendFailStatus int
	resetN                          int
	delay                           time.Duration
}

// Start starts the emulator on 127.0.0.1 random ports: one listener each for
// the Cognito user-pool issuer (discovery, JWKS), the Cognito hosted domain
// (token, authorize), the Gateway and the backend.
func Start(opts Options) (*Sim, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	keys, err := sharedKey()
	if err != nil {
		return nil, err
	}
	s := &Sim{
		opts:           opts,
		log:            log,
		keys:           keys,
		closing:        make(chan struct{}),
		tools:          make(map[string]*simTool),
		targets:        make(map[string]*targetState),
		issued:         make(map[string]bool),
		verifiedTokens: make(map[string]*tokenClaims),
		codes:          make(map[string]*authCode),
		refresh:        make(map[string]*refreshGrant),
		originRevoked:  make(map[string]bool),
		mcpSessions:    make(map[string]*mcpSession),
		conns:          make(map[net.Conn]bool),
		outbound:       &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second},
		identityState: identityState{
			consents:       make(map[string]*consentSession),
			consentByState: make(map[string]string),
			vault:          make(map[vaultKey]string),
			allowedReturns: slices.Clone(opts.AllowedReturnURLs),
			providerCodes:  make(map[string]*providerCode),
			providerTokens: make(map[string]bool),
		},
		ProviderClientID:     randomString(16, "0123456789"),
		providerClientSecret: randomString(32, lowerAlnum),
		awsKeys:              make(map[string]*AWSKey),
		ssm:                  make(map[string]*ssmParameter),
		created:              opts.Now().Add(-24 * time.Hour).Truncate(time.Second),
		stackUUID:            newUUID(),
	}
	for _, k := range opts.AWSKeys {
		if k.AccessKeyID == "" || k.SecretAccessKey == "" {
			return nil, fmt.Errorf("gatewaysim: an AWS key without an access key id or secret")
		}
		s.AddAWSKey(k)
	}
	s.IAMAccessKeyID, s.iamSecretAccessKey = opts.AWSKeys[0].AccessKeyID, opts.AWSKeys[0].SecretAccessKey
	s.GatewayID = cmp.Or(opts.GatewayID, opts.GatewayName+"-"+randomString(10, lowerAlnum))
	s.Scope = "default-m2m-resource-server-agwsim/read"
	s.ClientID = cmp.Or(opts.ClientID, randomString(26, lowerAlnum))
	s.ClientSecret = cmp.Or(opts.ClientSecret, randomString(51, lowerAlnum))
	s.WebClientID = cmp.Or(opts.WebClientID, randomString(26, lowerAlnum))
	if s.ClientID == s.WebClientID {
		return nil, fmt.Errorf("gatewaysim: ClientID and WebClientID are the same")
	}
	s.RedirectURL = opts.RedirectURL
	s.clients = map[string]*client{
		s.ClientID: {
			id: s.ClientID, secret: s.ClientSecret,
			grants: []string{"client_credentials"},
			scopes: []string{s.Scope},
		},
		s.WebClientID: {
			id:        s.WebClientID,
			grants:    []string{"authorization_code", "refresh_token"},
			scopes:    []string{"openid", "email", "profile", s.Scope},
			redirects: []string{opts.RedirectURL},
		},
	}
	if s.opts.AllowedAudience != nil {
		// ID tokens have neither client_id nor scope.
		if s.opts.AllowedClients == nil {
			s.opts.AllowedClients = []string{}
		}
		if s.opts.AllowedScopes == nil {
			s.opts.AllowedScopes = []string{}
		}
	}
	if s.opts.AllowedClients == nil {
		s.opts.AllowedClients = []string{s.ClientID, s.WebClientID}
	}
	if s.opts.AllowedScopes == nil {
		s.opts.AllowedScopes = []string{s.Scope}
	}

	ls, err := s.listenAll()
	if err != nil {
		return nil, err
	}
	idp, hosted, gw, backend, identity, provider, app, awsAPI := ls[0], ls[1], ls[2], ls[3], ls[4], ls[5], ls[6], ls[7]
	if err := s.newGateway(); err != nil {
		s.Close()
		return nil, err
	}
	for _, t := range opts.Targets {
		if err := s.AddTarget(t); err != nil {
			s.Close()
			return nil, err
		}
	}

	s.serve(idp, s.idpHandler(), nil)
	s.serve(hosted, s.hostedHandler(), nil)
	s.serve(gw, s.gatewayHandler(), s.trackConn)
	s.serve(backend, http.HandlerFunc(s.serveBackend), nil)
	s.serve(identity, s.identityHandler(), nil)
	s.serve(provider, s.providerHandler(), nil)
	s.serve(app, s.ownerAppHandler(), nil)
	s.seedParameters()
	s.serve(awsAPI, s.awsHandler(), nil)
	return s, nil
}

// setDefaults fills what the options leave unset and refuses settings the
// Gateway or Cognito would refuse.
func (opts *Options) setDefaults() error {
	if opts.SessionTimeout == 0 {
		opts.SessionTimeout = DefaultSessionTimeout
	}
	if opts.SessionTimeout < MinSessionTimeout || opts.SessionTimeout > MaxSessionTimeout {
		return fmt.Errorf("gatewaysim: SessionTimeout %s: want %s to %s", opts.SessionTimeout, MinSessionTimeout, MaxSessionTimeout)
	}
	if opts.RefreshTokenGracePeriod < 0 || opts.RefreshTokenGracePeriod > time.Minute {
		return fmt.Errorf("gatewaysim: RefreshTokenGracePeriod %s: want 0 to 60s", opts.RefreshTokenGracePeriod)
	}
	if opts.PageSize <= 0 {
		opts.PageSize = DefaultPageSize
	}
	if opts.MaxRequestBytes == 0 {
		opts.MaxRequestBytes = MaxPayloadBytes
	}
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.PoolID == "" {
		opts.PoolID = opts.Region + "_AgwSim01"
	}
	if opts.TokenLifetime <= 0 {
		opts.TokenLifetime = time.Hour
	}
	if opts.RefreshTokenLifetime <= 0 {
		opts.RefreshTokenLifetime = 30 * 24 * time.Hour
	}
	if opts.RedirectURL == "" {
		opts.RedirectURL = "http://localhost:8501/"
	}
	if opts.Targets == nil {
		opts.Targets = []Target{{Name: DefaultTargetName, Spec: configs.AsanaOpenAPI, APIKey: DefaultAPIKey}}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	switch opts.AuthorizerType {
	case "":
		opts.AuthorizerType = AuthorizerCustomJWT
	case AuthorizerCustomJWT, AuthorizerAWSIAM:
	default:
		return fmt.Errorf("gatewaysim: AuthorizerType %q: want %s or %s", opts.AuthorizerType, AuthorizerCustomJWT, AuthorizerAWSIAM)
	}
	if opts.AccountID == "" {
		opts.AccountID = DefaultAccountID
	}
	if opts.GatewayName == "" {
		opts.GatewayName = DefaultGatewayName
	}
	if len(opts.AWSKeys) == 0 {
		opts.AWSKeys = []AWSKey{{AccessKeyID: TestAccessKeyID, SecretAccessKey: TestSecretAccessKey}}
	}
	return nil
}

// listenAll opens the emulator's listeners (identity provider, hosted UI,
// Gateway, backend, AgentCore Identity, the 3LO provider, the Gateway
// owner's application) and sets the URLs they serve.
func (s *Sim) listenAll() ([]net.Listener, error) {
	var ls []net.Listener
	for range 8 {
		l, err := s.listen()
		if err != nil {
			s.Close()
			return nil, err
		}
		ls = append(ls, l)
	}
	idp, hosted, gw, backend := ls[0], ls[1], ls[2], ls[3]
	s.Issuer = "http://" + idp.Addr().String() + "/" + s.opts.PoolID
	s.DiscoveryURL = s.Issuer + "/.well-known/openid-configuration"
	s.JWKSURL = s.Issuer + "/.well-known/jwks.json"
	hostedBase := "http://" + hosted.Addr().String()
	s.TokenURL = hostedBase + "/oauth2/token"
	s.AuthorizeURL = hostedBase + "/oauth2/authorize"
	gwBase := "http://" + gw.Addr().String()
	s.GatewayURL = gwBase + "/mcp"
	s.ResourceURL = gwBase + "/.well-known/oauth-protected-resource"
	s.BackendURL = "http://" + backend.Addr().String()
	s.IdentityURL = "http://" + ls[4].Addr().String()
	s.ProviderURL = "http://" + ls[5].Addr().String()
	s.ReturnAppURL = "http://" + ls[6].Addr().String() + "/callback"
	s.AWSEndpointURL = "http://" + ls[7].Addr().String()

	return ls, nil
}

func (s *Sim) listen() (net.Listener, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("gatewaysim: listen: %w", err)
	}
	// Keep the listener until serve takes it; Close closes it otherwise.
	s.pending = append(s.pending, l)
	return l, nil
}

func (s *Sim) serve(l net.Listener, h http.Handler, connState func(net.Conn, http.ConnState)) {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ConnState:         connState,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	s.servers = append(s.servers, srv)
	s.pending = slices.DeleteFunc(s.pending, func(p net.Listener) bool { return p == l })
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Warn("gatewaysim: serve", "err", err)
		}
	}()
}

func (s *Sim) trackConn(c net.Conn, state http.ConnState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch state {
	case http.StateNew:
		s.conns[c] = true
	case http.StateClosed, http.StateHijacked:
		delete(s.conns, c)
	}
}

// Close shuts the emulator down: it ends every MCP session, stops all
// listeners and waits for their goroutines. It is safe to call twice.
func (s *Sim) Close() {
	s.closed.Do(func() {
		close(s.closing)
		for _, l := range s.pending {
			l.Close()
		}
		s.forgetSessions()
		if s.mcpServer != nil {
			for _, ss := range s.sessions() {
				ss.Close()
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		for _, srv := range s.servers {
			if err := srv.Shutdown(ctx); err != nil {
				srv.Close()
			}
		}
		s.wg.Wait()
		s.outbound.CloseIdleConnections()
	})
}

// now is the issuer's clock, skewed by SetClockSkew.
func (s *Sim) now() time.Time {
	s.mu.Lock()
	skew := s.skew
	s.mu.Unlock()
	return s.opts.Now().Add(skew)
}

const lowerAlnum = "abcdefghijklmnopqrstuvwxyz0123456789"

func randomString(n int, alphabet string) string {
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
