package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// gatewayUpstream is the proxy's upstream: on every connect it decides the
// revision to speak with the Gateway. Options.Protocol "" or auto: MCP
// 2026-07-28 (statelessUpstream) when the Gateway's server/discover offers
// it, else a 2025 session (sessionUpstream); a pinned revision is used
// alone, and a pinned 2026-07-28 that the Gateway does not offer is an
// error, not a fallback.
type gatewayUpstream struct {
	protocol  string
	sessions  *sessionUpstream
	stateless *statelessUpstream
}

// newUpstream returns the upstream for opts (its URL, HTTP client, OAuth
// handler and Protocol), telling events what the Gateway says.
func newUpstream(opts Options, events upstreamEvents) upstream {
	wire := &gatewayHTTP{
		url:    opts.GatewayURL,
		client: opts.HTTPClient,
		oauth:  opts.OAuthHandler,
		events: events,
	}
	return &gatewayUpstream{
		protocol:  opts.Protocol,
		sessions:  newSessionUpstream(wire, opts.Version, events),
		stateless: newStatelessUpstream(wire, opts.Version),
	}
}

func (u *gatewayUpstream) open(ctx context.Context) (upstreamSession, error) {
	switch u.protocol {
	case UpstreamProtocolVersion:
		// Pinned: server/discover is never sent.
		return u.sessions.open(ctx)
	case "", ProtocolAuto, StatelessProtocolVersion:
	default:
		return nil, fmt.Errorf("proxy: protocol %q is not one of %s", u.protocol, strings.Join(Protocols, ", "))
	}
	s, err := u.stateless.open(ctx)
	var no *noStatelessError
	if !errors.As(err, &no) {
		return s, err
	}
	if u.protocol == StatelessProtocolVersion {
		return nil, fmt.Errorf("protocol %s is pinned, but %w: set protocol to auto (or %s) to use a session", StatelessProtocolVersion, no, UpstreamProtocolVersion)
	}
	return u.sessions.open(ctx)
}

// sessionUpstream is the Gateway over MCP 2025 sessions (2025-11-25, or
// the 2025-06-18 or 2025-03-26 the Gateway answers initialize with). The
// go-sdk client opens each session (initialize, with the OAuth handler)
// and keeps it: the stream on which the Gateway announces
// tools/list_changed, the session's end. Requests go over gatewayHTTP with
// the session's id and protocol version: results stay bytes.
type sessionUpstream struct {
	client *mcp.Client
	wire   *gatewayHTTP
}

func newSessionUpstream(wire *gatewayHTTP, version string, events upstreamEvents) *sessionUpstream {
	u := &sessionUpstream{wire: wire}
	// Notifications the SDK's session receives (on its own stream) take
	// the same way as those on a request's event stream.
	relay := func(ctx context.Context, method string, params any) {
		if raw, err := json.Marshal(params); err == nil {
			events.notify(ctx, method, raw)
		}
	}
	u.client = mcp.NewClient(&mcp.Implementation{Name: "agw-proxy", Version: version}, &mcp.ClientOptions{
		// Elicitation, which a call relays to the client or turns into
		// an isError result (input.go); no sampling, no roots. A request
		// the Gateway sends outside a call (on the session's own stream)
		// has no client to go to: the SDK answers it with an error.
		Capabilities:           &mcp.ClientCapabilities{Elicitation: upstreamElicitation},
		ToolListChangedHandler: func(context.Context, *mcp.ToolListChangedRequest) { events.toolsChanged() },
		ProgressNotificationHandler: func(ctx context.Context, req *mcp.ProgressNotificationClientRequest) {
			relay(ctx, "notifications/progress", req.Params)
		},
		LoggingMessageHandler: func(ctx context.Context, req *mcp.LoggingMessageRequest) {
			relay(ctx, "notifications/message", req.Params)
		},
	})
	return u
}

// open initializes a session with the Gateway.
func (u *sessionUpstream) open(ctx context.Context) (upstreamSession, error) {
	t := &mcp.StreamableClientTransport{
		Endpoint:     u.wire.url,
		HTTPClient:   u.wire.client,
		OAuthHandler: u.wire.oauth,
	}
	cs, err := u.client.Connect(ctx, t, &mcp.ClientSessionOptions{ProtocolVersion: UpstreamProtocolVersion})
	if err != nil {
		return nil, err
	}
	s := &clientSession{cs: cs, wire: u.wire, done: make(chan struct{})}
	if ir := cs.InitializeResult(); ir != nil {
		s.headers.protocolVersion = ir.ProtocolVersion
	}
	s.headers.sessionID = cs.ID()
	go func() {
		cs.Wait()
		close(s.done)
	}()
	return s, nil
}

// A clientSession is one session of sessionUpstream.
type clientSession struct {
	cs      *mcp.ClientSession
	wire    *gatewayHTTP
	headers wireHeaders   // fixed by initialize
	done    chan struct{} // closed when cs has ended
}

func (s *clientSession) call(ctx context.Context, method string, params []byte) (json.RawMessage, error) {
	res, err := s.wire.post(ctx, s.headers, method, params)
	if err != nil && neverSent(err) {
		return nil, notSent(err)
	}
	return res, err
}

// listed implements upstreamSession: a session hears of changes on its
// stream, and its requests need nothing from the tools.
func (s *clientSession) listed([][]byte, time.Duration) {}

func (s *clientSession) lost() <-chan struct{} { return s.done }

func (s *clientSession) close() { s.cs.Close() }

func (s *clientSession) protocol() string { return s.headers.protocolVersion }

// neverSent reports whether a failed call certainly did not reach the
// target, so that sending it again cannot repeat its effect: the Gateway
// said the session is gone (HTTP 404); the session had already ended when
// the call was made (the SDK then refuses to send it, reporting
// ErrConnectionClosed; a call in flight when a session breaks gets the
// transport's error instead); or no connection could be made.
func neverSent(err error) bool {
	return errors.Is(err, mcp.ErrSessionMissing) || errors.Is(err, mcp.ErrConnectionClosed) || dialFailed(err)
}

// dialFailed reports whether err is a connection that could not be made.
func dialFailed(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}
