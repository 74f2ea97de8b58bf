package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/agw-proxy/agw-proxy/internal/gatewaysim"
)

// The MCP revisions spoken with the Gateway, each in a run of its own: the
// proxy is pinned to it (--protocol) and the direct client speaks it too.
// The emulator accepts both on one /mcp, as the Gateway does; it has no
// sessions here (Options.Sessions off, the Gateway's default), so the 2025
// client initializes once per connection and then sends stateless POSTs.
const (
	statelessVersion = "2026-07-28" // server/discover, then every request with its _meta
	sessionVersion   = "2025-11-25" // initialize, then requests with MCP-Protocol-Version
)

var gatewayVersions = []string{statelessVersion, sessionVersion}

// clientVersion is the MCP revision the benchmark's go-sdk client speaks to
// the proxy over stdio, pinned: desktop clients (Claude Desktop, Amazon Q,
// Kiro) initialize with a 2025 revision, so that is the path to measure.
// go-sdk v1.8.0 would otherwise speak 2026-07-28, another code path in the
// proxy. The cold starts send their own initialize (coldStartVersion).
const clientVersion = "2025-11-25"

// injectGlob is the proxy's --inject-tools glob: every tool of the default
// target, which both emulators use.
const injectGlob = gatewaysim.DefaultTargetName + "___*"

// asanaToken is the user's secret the proxy injects (and the direct client
// sends by hand).
const asanaToken = "1/1200000000000000:benchbenchbenchbenchbenchbench00"

// proxyCmd is how to run `agw-proxy serve` against one emulator.
type proxyCmd struct {
	bin  string
	args []string
	env  []string
}

// newProxyCmd returns the serve command line for sim with the Gateway at
// gatewayURL (the emulator's, or a relay's in front of it), pinned to the
// MCP revision version with the Gateway: flags only, the client secret and
// the Asana token from the environment, no config file, no keychain. Each
// command gets a cache directory of its own (XDG_CACHE_HOME, under home,
// never the user's), so that every start of it after the first is a warm
// start of the same profile, and every new command a cold one.
func newProxyCmd(c config, home string, sim *gatewaysim.Sim, gatewayURL, version string) (*proxyCmd, error) {
	cache, err := os.MkdirTemp(home, "cache-")
	if err != nil {
		return nil, err
	}
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"XDG_CONFIG_HOME=" + filepath.Join(home, "config"),
		"XDG_CACHE_HOME=" + cache,
		"AGW_PROXY_CLIENT_SECRET=" + sim.ClientSecret,
		"AGW_PROXY_SECRET_ASANA=" + asanaToken,
		"NO_PROXY=127.0.0.1,localhost",
	}
	// Let experiments tune the proxy's runtime from the benchmark's
	// environment.
	for _, k := range []string{"GOGC", "GOMEMLIMIT", "GODEBUG", "GOMAXPROCS"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	env = append(env, c.proxyEnv...)
	return &proxyCmd{
		bin: c.bin,
		args: []string{"serve",
			"--gateway-url", gatewayURL,
			"--token-url", sim.TokenURL,
			"--client-id", sim.ClientID,
			"--scope", sim.Scope,
			"--inject", "X-Asana-Token=asana",
			"--inject-tools", injectGlob,
			"--protocol", version,
		},
		env: env,
	}, nil
}

func (p *proxyCmd) command(ctx context.Context) *exec.Cmd {
	cmd := exec.CommandContext(ctx, p.bin, p.args...)
	cmd.Env = p.env
	return cmd
}

// proxySession starts the proxy and connects the go-sdk client to it over
// stdio. It returns the session and the proxy's pid.
func proxySession(ctx context.Context, p *proxyCmd) (*mcp.ClientSession, int, error) {
	cmd := p.command(context.WithoutCancel(ctx))
	cmd.Stderr = &lockedBuffer{}
	t := &mcp.CommandTransport{Command: cmd, TerminateDuration: 2 * time.Second}
	cs, err := connect(ctx, t, clientVersion)
	if err != nil {
		return nil, 0, fmt.Errorf("connect to the proxy: %w (stderr: %s)", err, lastLines(cmd.Stderr.(*lockedBuffer).String(), 5))
	}
	return cs, cmd.Process.Pid, nil
}

// connect connects the benchmark's go-sdk client over t in MCP version and
// checks that the other side agreed to it.
func connect(ctx context.Context, t mcp.Transport, version string) (*mcp.ClientSession, error) {
	cs, err := newClient().Connect(ctx, t, &mcp.ClientSessionOptions{ProtocolVersion: version})
	if err != nil {
		return nil, err
	}
	if got := cs.InitializeResult().ProtocolVersion; got != version {
		cs.Close()
		return nil, fmt.Errorf("asked for MCP %s, got %s", version, got)
	}
	return cs, nil
}

func newClient() *mcp.Client {
	return mcp.NewClient(&mcp.Implementation{Name: "agw-bench", Version: "1"}, nil)
}

// tunedTransport is the direct client's transport: like the proxy's, it
// keeps enough idle connections for every call in flight, so the direct
// baseline does not pay for connection churn the proxy avoids.
func tunedTransport() *http.Transport {
	return &http.Transport{
		Proxy:               nil, // loopback only, whatever the environment says
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 128,
		IdleConnTimeout:     90 * time.Second,
	}
}

// bearer adds an Authorization header to every request.
type bearer struct {
	token string
	next  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}

// directSession connects the go-sdk client straight to the Gateway at
// gatewayURL in MCP version with a token minted by the emulator.
func directSession(ctx context.Context, sim *gatewaysim.Sim, gatewayURL string, tr http.RoundTripper, version string) (*mcp.ClientSession, error) {
	tok, err := sim.MintToken(gatewaysim.TokenSpec{})
	if err != nil {
		return nil, err
	}
	t := &mcp.StreamableClientTransport{Endpoint: gatewayURL, HTTPClient: &http.Client{Transport: bearer{tok, tr}}}
	return connect(ctx, t, version)
}

// directColdList is what a client talking to the Gateway at gatewayURL
// itself in MCP version does at start: fetch a Cognito token (client
// credentials), connect on a fresh connection (server/discover or
// initialize), and list every tool, following the cursors. It returns the
// time taken and the tools.
func directColdList(ctx context.Context, sim *gatewaysim.Sim, gatewayURL, version string) (time.Duration, []*mcp.Tool, error) {
	t0 := time.Now()
	tr := tunedTransport()
	defer tr.CloseIdleConnections()
	cc := clientcredentials.Config{ClientID: sim.ClientID, ClientSecret: sim.ClientSecret, TokenURL: sim.TokenURL, Scopes: []string{sim.Scope}}
	tok, err := cc.Token(context.WithValue(ctx, oauth2.HTTPClient, &http.Client{Transport: tr}))
	if err != nil {
		return 0, nil, fmt.Errorf("token: %w", err)
	}
	t := &mcp.StreamableClientTransport{Endpoint: gatewayURL, HTTPClient: &http.Client{Transport: bearer{tok.AccessToken, tr}}}
	cs, err := connect(ctx, t, version)
	if err != nil {
		return 0, nil, err
	}
	defer cs.Close()
	var tools []*mcp.Tool
	for tool, err := range cs.Tools(ctx, nil) {
		if err != nil {
			return 0, nil, err
		}
		tools = append(tools, tool)
	}
	return time.Since(t0), tools, nil
}

// proxyColdList is directColdList through the proxy: start the process,
// connect the go-sdk client over stdio (initialize), list every tool. The
// clock starts before the fork. It also returns the CPU time the proxy
// process used up to the answer.
func proxyColdList(ctx context.Context, p *proxyCmd) (wall, cpu time.Duration, tools []*mcp.Tool, err error) {
	t0 := time.Now()
	cs, pid, err := proxySession(ctx, p)
	if err != nil {
		return 0, 0, nil, err
	}
	defer cs.Close()
	for tool, err := range cs.Tools(ctx, nil) {
		if err != nil {
			return 0, 0, nil, err
		}
		tools = append(tools, tool)
	}
	wall = time.Since(t0)
	cpu, err = procCPU(pid)
	return wall, cpu, tools, err
}

// checkLoopback refuses any URL whose host is not a loopback IP: the
// benchmark must never leave the machine.
func checkLoopback(urls ...string) error {
	for _, s := range urls {
		u, err := url.Parse(s)
		if err != nil {
			return err
		}
		ip := net.ParseIP(u.Hostname())
		if ip == nil || !ip.IsLoopback() {
			return fmt.Errorf("bench: %s is not a loopback address", s)
		}
	}
	return nil
}

// lockedBuffer collects a child's stderr.
type lockedBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.buf) < 1<<20 {
		b.buf = append(b.buf, p...)
	}
	return len(p), nil
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

// callPair is a direct session and a proxied one (agw-proxy or the floor)
// with the call each makes.
type callPair struct {
	direct, px *mcp.ClientSession
	pid        int // the proxy's
	dp, pp     *mcp.CallToolParams
}

// Close ends both sessions (and so the proxy); nil is a no-op.
func (p *callPair) Close() {
	if p != nil {
		p.direct.Close()
		p.px.Close()
	}
}

// pairOpener opens a warm callPair: the direct session to the Gateway at
// dgw on tr, the proxy's Gateway pgw.
type pairOpener func(ctx context.Context, dgw, pgw string, tr *http.Transport) (*callPair, error)

// proxyPair opens agw-proxy pinned to MCP version with the Gateway, and a
// direct client speaking the same.
func proxyPair(c config, home string, sim *gatewaysim.Sim, version string) pairOpener {
	return func(ctx context.Context, dgw, pgw string, tr *http.Transport) (*callPair, error) {
		direct, err := directSession(ctx, sim, dgw, tr, version)
		if err != nil {
			return nil, fmt.Errorf("direct: %w", err)
		}
		before := sim.Counts()
		p, err := newProxyCmd(c, home, sim, pgw, version)
		if err != nil {
			direct.Close()
			return nil, err
		}
		px, pid, err := proxySession(ctx, p)
		if err != nil {
			direct.Close()
			return nil, err
		}
		pair := &callPair{direct: direct, px: px, pid: pid, dp: callParams(true), pp: callParams(false)}
		if err := warm(ctx, c, pair); err != nil {
			pair.Close()
			return nil, err
		}
		// The direct client's calls neither discover nor initialize: what
		// the emulator counted is the proxy's.
		if err := checkUpstream(version, before, sim.Counts()); err != nil {
			pair.Close()
			return nil, err
		}
		return pair, nil
	}
}

// floorPair opens the floor relay speaking version with the Gateway, with a
// token fetched for it, and a direct client speaking version too. The floor
// injects nothing: its client sends the Asana token itself, as the direct
// one does.
func floorPair(c config, home string, sim *gatewaysim.Sim, version string) pairOpener {
	return func(ctx context.Context, dgw, pgw string, tr *http.Transport) (*callPair, error) {
		tok, err := floorToken(ctx, sim)
		if err != nil {
			return nil, err
		}
		direct, err := directSession(ctx, sim, dgw, tr, version)
		if err != nil {
			return nil, fmt.Errorf("direct: %w", err)
		}
		px, pid, err := proxySession(ctx, newFloorCmd(c, home, pgw, tok, version))
		if err != nil {
			direct.Close()
			return nil, err
		}
		pair := &callPair{direct: direct, px: px, pid: pid, dp: callParams(true), pp: callParams(true)}
		if err := warm(ctx, c, pair); err != nil {
			pair.Close()
			return nil, err
		}
		return pair, nil
	}
}

// warm makes c.warmup calls on each side of p.
func warm(ctx context.Context, c config, p *callPair) error {
	for range c.warmup {
		if err := call(ctx, p.direct, p.dp); err != nil {
			return fmt.Errorf("direct: %w", err)
		}
		if err := call(ctx, p.px, p.pp); err != nil {
			return fmt.Errorf("proxy: %w", err)
		}
	}
	return nil
}
