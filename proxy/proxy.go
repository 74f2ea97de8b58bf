// Package proxy bridges a local stdio MCP server to an Amazon Bedrock
// AgentCore Gateway.
//
// A desktop MCP client starts the proxy and talks to it over stdin and
// stdout. The proxy keeps one upstream session with the Gateway (MCP over
// Streamable HTTP), lists the Gateway's tools, removes each secret argument
// named by a Rule from the schemas the client sees, and on tools/call fills
// that argument from a SecretSource. Every message toward the client, and
// every log line, is scrubbed of the secrets and tokens in use.
//
// The go-sdk server answers initialize and the rest of the protocol, and the
// go-sdk client keeps the Gateway session (connect, OAuth, tools/list_changed).
// tools/list and tools/call, the hot path, are served as bytes: the tool list
// is fetched and stripped without decoding every schema, and a call goes to
// the Gateway on the same session and OAuth handler, its result passed back
// as it came. A client of MCP 2026-07-28, which sends no initialize and puts
// its version in every request's _meta, is served by the proxy itself, in
// its revision (downstream.go). See docs/reliability.md for what happens
// when things fail.
//
//	p, err := proxy.New(proxy.Options{
//		GatewayURL: "https://gw-abc.gateway.bedrock-agentcore.us-east-1.amazonaws.com/mcp",
//		Rules: []proxy.Rule{{
//			Argument: "X-Asana-Token",
//			Secret:   "asana",
//			Tools:    []string{"AgentCoreGwyAPIGatewayTarget___*"},
//		}},
//		Secrets: secrets,
//	})
//	if err != nil { ... }
//	err = p.Run(ctx, os.Stdin, os.Stdout)
package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/agw-proxy/agw-proxy/internal/httpguard"
	"github.com/agw-proxy/agw-proxy/internal/toolcache"
	"github.com/agw-proxy/agw-proxy/tokenstore"
	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// UpstreamProtocolVersion is the MCP version the proxy asks of the Gateway.
// It is pinned: the SDK's default would probe a draft version first.
const UpstreamProtocolVersion = "2025-11-25"

// DownstreamProtocolVersions are the MCP versions of the initialize
// handshake the proxy speaks with the desktop client, newest first. It also
// speaks StatelessProtocolVersions, which have no initialize.
var DownstreamProtocolVersions = []string{"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"}

// Defaults for Options.
const (
	DefaultCallTimeout    = 300 * time.Second
	DefaultConnectTimeout = 30 * time.Second
	DefaultSecretTimeout  = 10 * time.Second
	DefaultSecretTTL      = 30 * time.Second
)

// A SecretSource returns stored secrets by name. Errors wrap
// tokenstore.ErrNotFound when no value is stored.
type SecretSource interface {
	Secret(ctx context.Context, name string) (tokenstore.Secret, error)
}

// A SecretRefresher is a SecretSource that can replace a value the target
// rejected (an OAuth access token, for a rule with SourceOAuth): after a
// call's result shows the target answered 401, the proxy calls
// RefreshSecret with the value it sent, then retries the call once with
// the value returned. Concurrent calls that sent the same rejected value
// should share one refresh.
type SecretRefresher interface {
	RefreshSecret(ctx context.Context, name string, rejected tokenstore.Secret) (tokenstore.Secret, error)
}

// Options configure a Proxy. Only GatewayURL is required.
type Options struct {
	GatewayURL string
	// HTTPClient carries every request to the Gateway. Its Timeout must be 0;
	// calls are bounded by CallTimeout instead. Nil means a client that keeps
	// enough idle connections for many calls in flight. The proxy uses a
	// guarded copy (see DefaultHTTPClient): no redirect of a POST or to
	// another origin is followed, and response bodies are bounded.
	HTTPClient *http.Client
	// OAuthHandler authorizes Gateway requests; nil sends none.
	OAuthHandler auth.OAuthHandler
	Rules        []Rule
	// Secrets provides the values of Rules' secrets.
	Secrets SecretSource
	// Scrubber removes secrets from everything sent to the client. Secrets
	// read through Secrets are added as they are read; add others (the
	// client secret, access tokens) from outside. Nil means a new one.
	Scrubber *Scrubber
	// Advise, if not nil, returns the advice for a remedy, such as "run
	// `agw-proxy login asana --profile work`", added to the message the
	// client sees: an imperative clause that reads on after a colon or an
	// "or" ("…, or run `…` again"). Nil means messages say what is wrong
	// without advice.
	Advise         func(Remedy) string
	CallTimeout    time.Duration // default DefaultCallTimeout
	ConnectTimeout time.Duration // default DefaultConnectTimeout
	SecretTimeout  time.Duration // bounds reading a secret; default DefaultSecretTimeout
	// SecretTTL is how long a secret read from Secrets is used before it is
	// read again (a new login takes effect within it); default
	// DefaultSecretTTL, negative reads it for every call.
	SecretTTL time.Duration
	Logger    *slog.Logger // nil discards logs
	Version   string       // reported to both sides
	// Protocol is the MCP revision spoken with the Gateway: "" or
	// ProtocolAuto negotiates it on every connect (StatelessProtocolVersion
	// when the Gateway's server/discover offers it, else a session of
	// UpstreamProtocolVersion or the older revision the Gateway answers
	// with); StatelessProtocolVersion or UpstreamProtocolVersion pins it. A
	// pinned 2026-07-28 that the Gateway does not offer is a connect error;
	// a pinned 2025-11-25 never sends server/discover.
	Protocol string
	// OpenURL, if set, opens a consent URL of the Gateway (consent.go) in
	// the user's browser, for a client that cannot show it; the URL was
	// checked (https://, or http:// to loopback) and is one argument. Nil
	// only tells the user (Notices and the log).
	OpenURL func(url string) error
	// Notices, if set, gets a line for the user when a call waits for a
	// consent (serve: stderr, which many clients show in their logs).
	Notices io.Writer
	// ConsentTimeout bounds how long a call waits for the user's consent;
	// default DefaultConsentTimeout.
	ConsentTimeout time.Duration
	// ConsentPoll is the longest gap between the polls of a call waiting
	// for consent (the first come sooner); default DefaultConsentPoll.
	ConsentPoll time.Duration
	// ToolCache, if not nil, keeps the tool list the client gets between
	// runs (toolcache.go): the first tools/list is answered from it at
	// once, and the Gateway's list, read in the background, replaces it
	// (with tools/list_changed when it differs). Nil keeps no cache.
	ToolCache *toolcache.Cache
	// Profile and Identity are, with GatewayURL and the Rules, the tool
	// cache's key: the profile's name, and who the proxy is to the Gateway
	// (for client_credentials "client_id:" and the app client ID; a user's
	// subject, an IAM ARN). A list is served only to the key it was listed
	// for. They are not secrets (they are hashed into the key, and the
	// profile is written in the entry); the proxy itself adds nothing.
	Profile, Identity string
}

// A Proxy serves one stdio MCP session and forwards it to the Gateway.
type Proxy struct {
	opts   Options
	log    *slog.Logger
	scrub  *Scrubber
	up     upstream // the Gateway
	server *mcp.Server

	resync chan struct{} // upstream tools/list_changed, coalesced
	retry  chan struct{} // a request wants a connect attempt now (while a login is needed), coalesced
	primed chan struct{} // closed once every rule's secret has been read, or could not be

	secretsMu   sync.Mutex
	secretCache map[string]cachedSecret
	// maybeRefreshed: when the generic error last refreshed a secret (rejected.go).
	maybeRefreshed map[string]time.Time

	runCtx   context.Context // ends when Run does
	callsMu  sync.Mutex
	inflight map[any]*inflightCall // the client's intercepted requests, by id

	mu          sync.Mutex
	live        upstreamSession    // live upstream session; nil while connecting
	synced      bool               // tools reflect live
	tools       map[string][]*Rule // rules that apply, by tool name
	listed      json.RawMessage    // the tools/list result the client gets
	lastErr     error              // why there is no live session
	changed     chan struct{}      // closed and replaced on every change above
	ss          *mcp.ServerSession
	conn        *stdioConn
	clientAsked bool // the client has listed tools, so changes are worth a notification
	// statelessMissed: a stateless client's tools/list got an error, so the
	// first listing is worth a notification on its subscription.
	statelessMissed bool

	lists listState // re-syncs announced and done, duplicate names reported (upstream.go)
	// listGen counts the changes of the list the client gets (listed):
	// 0 before there is one (under mu).
	listGen uint64
	// servedGen is the listGen of the list the client was last given (0:
	// none yet), which decides whether a change is news to it (listNews).
	servedGen uint64
	cache     cacheState // the tool cache (toolcache.go)

	early    earlyInit    // the first initialize, answered at once (earlyinit.go)
	parked   parkedInputs // calls waiting for a 2026-07-28 client's input (input.go)
	consents consentState // consents calls wait for (consent.go)
}

// New returns a Proxy for opts. It checks the options; it does not connect.
func New(opts Options) (*Proxy, error) {
	u, err := url.Parse(opts.GatewayURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("proxy: gateway URL %q is not an http(s) URL", opts.GatewayURL)
	}
	for _, r := range opts.Rules {
		if err := r.validate(); err != nil {
			return nil, err
		}
	}
	if len(opts.Rules) > 0 && opts.Secrets == nil {
		return nil, errors.New("proxy: rules need a secret source")
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = DefaultHTTPClient()
	}
	opts.HTTPClient = httpguard.Client(opts.HTTPClient)
	if opts.Scrubber == nil {
		opts.Scrubber = NewScrubber()
	}
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = DefaultCallTimeout
	}
	if opts.ConnectTimeout <= 0 {
		opts.ConnectTimeout = DefaultConnectTimeout
	}
	if opts.SecretTTL == 0 {
		opts.SecretTTL = DefaultSecretTTL
	}
	if opts.ConsentTimeout <= 0 {
		opts.ConsentTimeout = DefaultConsentTimeout
	}
	if opts.ConsentPoll <= 0 {
		opts.ConsentPoll = DefaultConsentPoll
	}
	if opts.SecretTimeout <= 0 {
		opts.SecretTimeout = DefaultSecretTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Version == "" {
		opts.Version = "devel"
	}
	primed := make(chan struct{})
	p := &Proxy{
		opts:        opts,
		log:         slog.New(primedHandler{opts.Logger.Handler(), primed, opts.SecretTimeout + time.Second}),
		scrub:       opts.Scrubber,
		resync:      make(chan struct{}, 1),
		retry:       make(chan struct{}, 1),
		primed:      primed,
		changed:     make(chan struct{}),
		inflight:    make(map[any]*inflightCall),
		secretCache: make(map[string]cachedSecret),
	}
	p.cache.init(opts)
	p.up = newUpstream(opts, p)
	p.server = mcp.NewServer(&mcp.Implementation{Name: "agw-proxy", Version: opts.Version}, &mcp.ServerOptions{
		Capabilities: &mcp.ServerCapabilities{
			Tools:   &mcp.ToolCapabilities{ListChanged: true},
			Logging: &mcp.LoggingCapabilities{},
		},
		SupportedProtocolVersions: DownstreamProtocolVersions,
	})
	p.server.AddReceivingMiddleware(p.middleware)
	return p, nil
}

// DefaultHTTPClient returns the HTTP client used when Options.HTTPClient is
// nil: proxies from the environment, no overall timeout (it would cut long
// event streams), and idle connections kept for many calls in flight.
//
// It is guarded (internal/httpguard), as is any client in Options: a
// redirect of a POST, or to another origin, is an error naming only the
// Location's origin, since following it would send the call, its injected
// secret and the access token elsewhere; a response body, decompressed, is
// bounded to 32 MiB, and an event stream to 32 MiB per event (the Gateway's
// payload limit is 6 MB), so a hostile Gateway cannot exhaust memory.
func DefaultHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 128
	return httpguard.Client(&http.Client{Transport: t})
}

// Run serves MCP on in and out until in ends or ctx is done, then closes
// the upstream session. It returns nil on a normal end.
func (p *Proxy) Run(ctx context.Context, in io.Reader, out io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	p.runCtx = ctx

	conn := newStdioConn(in, out, p.scrub, p.intercept)
	p.mu.Lock()
	p.conn = conn
	p.mu.Unlock()

	var wg sync.WaitGroup
	wg.Go(p.loadCache)
	wg.Go(func() { p.prime(ctx) })
	wg.Go(func() { p.maintain(ctx) })
	defer p.opts.HTTPClient.CloseIdleConnections()
	defer wg.Wait()

	ss, err := p.server.Connect(ctx, conn, nil)
	if err != nil {
		cancel()
		return fmt.Errorf("proxy: %w", err)
	}
	p.mu.Lock()
	p.ss = ss
	p.mu.Unlock()

	done := make(chan struct{})
	go func() {
		ss.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		ss.Close()
		<-done
	}
	cancel()
	return nil
}

// middleware answers what the proxy owns: tools come from the Gateway, and
// initialize must never fail (some clients cannot recover from that).
func (p *Proxy) middleware(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		switch method {
		case "initialize":
			return p.initialize(ctx, next, req)
		case "tools/list":
			// Normally taken off the wire by intercept, like tools/call.
			raw, err := p.listTools(ctx, false)
			if err != nil {
				return nil, err
			}
			var out mcp.ListToolsResult
			if err := json.Unmarshal(raw, &out); err != nil {
				return nil, err
			}
			// The SDK writes cache hints on every list result: the
			// proxy's (toolsListCacheHints), not its empty defaults.
			out.Cacheable = mcp.Cacheable{TTLMs: 0, CacheScope: "private"}
			return &out, nil
		case "tools/call":
			// Normally taken off the wire by intercept; this serves a call
			// that raced the end of initialization.
			raw, err := json.Marshal(req.(*mcp.CallToolRequest).Params)
			if err != nil {
				return nil, err
			}
			ss, _ := req.GetSession().(*mcp.ServerSession)
			res, _, err := p.callTool(ctx, raw, sessionCaller(ss))
			if err != nil {
				return nil, err
			}
			var out mcp.CallToolResult
			if err := json.Unmarshal(res, &out); err != nil {
				return nil, err
			}
			return &out, nil
		}
		return next(ctx, method, req)
	}
}

// intercept takes tools/list and tools/call requests (and their
// cancellations) off the wire before the SDK's server sees them: they are
// the hot path, and the proxy answers them with bytes it has (the stripped
// tool list) or the Gateway's result bytes as they came. It takes every
// request of a stateless revision (2026-07-28) too: see serveStateless.
func (p *Proxy) intercept(conn *stdioConn, req *jsonrpc.Request) bool {
	p.awaitInitialize(conn)
	if req.IsCall() {
		sr, jerr := readStateless(req.Params)
		if jerr != nil {
			p.answerError(conn, req, jerr)
			return true
		}
		if sr != nil {
			p.serveStateless(conn, req, sr)
			return true
		}
	}
	switch req.Method {
	case "initialize":
		p.answerInitialize(conn, req)
		return false // the SDK's server handles it too (earlyinit.go)
	case "tools/list", "tools/call":
		ss := p.session()
		if !req.IsCall() || ss == nil || ss.InitializeParams() == nil {
			return false // the SDK answers what is out of place
		}
		p.startCall(conn, req, nil)
		return true
	case "notifications/cancelled":
		var params struct {
			RequestID any `json:"requestId"`
		}
		if json.Unmarshal(req.Params, &params) != nil {
			return false
		}
		id, err := jsonrpc.MakeID(params.RequestID)
		if err != nil {
			return false
		}
		p.callsMu.Lock()
		call, ok := p.inflight[id.Raw()]
		p.callsMu.Unlock()
		if ok {
			call.cancel()
		}
		return ok
	}
	return false
}

// startCall serves the tools/list or tools/call req in the background; a
// stateless client's (sr not nil) answer is in its revision.
func (p *Proxy) startCall(conn *stdioConn, req *jsonrpc.Request, sr *statelessRequest) {
	ctx, cancel := context.WithCancel(p.runCtx)
	call := &inflightCall{cancel: cancel}
	p.callsMu.Lock()
	p.inflight[req.ID.Raw()] = call
	p.callsMu.Unlock()
	go p.serveCall(ctx, conn, req, call, sr)
}

// An inflightCall is an intercepted request being served.
type inflightCall struct {
	cancel context.CancelFunc
}

// serveCall answers one intercepted request.
func (p *Proxy) serveCall(ctx context.Context, conn *stdioConn, req *jsonrpc.Request, call *inflightCall, sr *statelessRequest) {
	stateless := sr != nil
	defer func() {
		// Once answered, the id is free, and a new request may have
		// taken it: remove this one only.
		p.callsMu.Lock()
		if p.inflight[req.ID.Raw()] == call {
			delete(p.inflight, req.ID.Raw())
		}
		p.callsMu.Unlock()
		call.cancel()
	}()
	var res json.RawMessage
	var err error
	first := "" // members a stateless client's result gets first
	if req.Method == "tools/list" {
		res, err = p.listTools(ctx, stateless)
		if stateless {
			first = `"resultType":"complete",` + toolsListCacheHints
		}
	} else {
		c := sessionCaller(p.session())
		if stateless {
			c = statelessCaller(sr.capabilities)
		}
		var typed bool
		res, typed, err = p.callTool(ctx, req.Params, c)
		if stateless && !typed && err == nil && !hasResultType(res) {
			first = `"resultType":"complete"`
		}
	}
	var resp *jsonrpc.Response
	switch {
	case ctx.Err() != nil:
		// Cancelled by the client (or shutdown): no answer is expected.
		conn.forget(req.ID)
		return
	case err != nil:
		var jerr *jsonrpc.Error
		if !errors.As(err, &jerr) {
			jerr = &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: "agw-proxy: " + p.redact(err)}
		}
		resp = &jsonrpc.Response{ID: req.ID, Error: jerr}
	default:
		_ = conn.writeResult(req.ID, first, res)
		return
	}
	_ = conn.Write(context.Background(), resp)
}

func (p *Proxy) initialize(ctx context.Context, next mcp.MethodHandler, req mcp.Request) (mcp.Result, error) {
	ir, ok := req.(*mcp.ServerRequest[*mcp.InitializeParams])
	if !ok {
		return next(ctx, "initialize", req)
	}
	if ir.Params == nil {
		ir.Params = &mcp.InitializeParams{ProtocolVersion: DownstreamProtocolVersions[0]}
	}
	if prev := ir.Session.InitializeParams(); prev != nil {
		// A repeated initialize gets the same answer again, not an error;
		// never a stateless version, which has no initialize (a stateless
		// client's requests never reach the SDK's session: intercept).
		return &mcp.InitializeResult{
			ProtocolVersion: handshakeVersion(prev.ProtocolVersion),
			Capabilities:    &mcp.ServerCapabilities{Tools: &mcp.ToolCapabilities{ListChanged: true}, Logging: &mcp.LoggingCapabilities{}},
			ServerInfo:      &mcp.Implementation{Name: "agw-proxy", Version: p.opts.Version},
		}, nil
	}
	return next(ctx, "initialize", req)
}

// listTools returns the tools/list result for the client: the Gateway's
// tools, stripped, all in one page.
func (p *Proxy) listTools(ctx context.Context, stateless bool) (json.RawMessage, error) {
	if err := p.waitPrimed(ctx); err != nil {
		return nil, err
	}
	var err error
	if !p.warm(ctx) {
		_, err = p.ready(ctx)
	}
	p.mu.Lock()
	// From now on the client holds a listing (or an error), so a change of
	// the Gateway's tools is worth a notification. A stateless client hears
	// of changes only on a subscription it opened (listen): the revision
	// forbids a notification it did not ask for.
	if !stateless {
		p.clientAsked = true
	} else if err != nil {
		p.statelessMissed = true
	}
	if err == nil {
		p.servedGen = p.listGen
	}
	listed := p.listed
	p.mu.Unlock()
	return listed, err
}

// notify implements upstreamEvents: it passes a notification from the
// Gateway on to the client. (Requests from the Gateway on a call's stream
// are answered by the call: input.go.)
func (p *Proxy) notify(ctx context.Context, method string, params json.RawMessage) {
	if p.waitPrimed(ctx) != nil {
		return
	}
	switch method {
	case "notifications/progress":
		// The progress token is the client's own: it was passed through.
		p.mu.Lock()
		conn := p.conn
		p.mu.Unlock()
		if conn != nil && len(params) > 0 {
			msg := append(append([]byte(`{"jsonrpc":"2.0","method":"notifications/progress","params":`), params...), '}')
			_ = conn.writeRaw(msg)
		}
	case "notifications/message":
		var lp mcp.LoggingMessageParams
		if ss := p.session(); ss != nil && json.Unmarshal(params, &lp) == nil {
			_ = ss.Log(ctx, &lp)
		}
	}
}

func (p *Proxy) session() *mcp.ServerSession {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ss
}

// redact returns the error's text without any known secret, for logs and
// messages.
func (p *Proxy) redact(err error) string {
	if err == nil {
		return ""
	}
	return p.scrub.String(err.Error())
}
