package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/spf13/pflag"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/agw-proxy/agw-proxy/configs"
	"github.com/agw-proxy/agw-proxy/internal/gatewaysim"
	"github.com/agw-proxy/agw-proxy/internal/httpguard"
	"github.com/agw-proxy/agw-proxy/internal/profile"
	"github.com/agw-proxy/agw-proxy/proxy"
	"github.com/agw-proxy/agw-proxy/tokenstore"
)

func init() {
	register(command{name: "demo", summary: "Show the whole flow against a built-in emulator, no AWS needed", run: runDemo})
}

const demoUsage = `Usage:
    agw-proxy demo [--serve] [--no-browser] [--protocol auto|2026-07-28|2025-11-25]

Start a local emulator of AgentCore Gateway, Cognito and an Asana-like API,
put the real proxy in front of it and show what happens: the tools the model
sees (without X-Asana-Token), a call, the result, what the API received
(X-Asana-Token filled in from a stored secret), the same token sent to a
second target as an HTTP header the Gateway propagates (an inject rule with
via: header), a third target with Gateway-held OAuth (3LO): the call of a user
who has not consented, the consent URL opened in your browser (or printed),
the consent (the demo accepts the emulator's consent page on your behalf),
the binding by the Gateway owner's return-URL app and the call going through
with the token AgentCore Identity vaulted; a rule with source oauth: the
login to the API's own OAuth app (the demo's browser takes its one-time URL),
a call, its access token expiring and the next call going through on a
refreshed one; the profile "agw-proxy init --gateway" reads from the
emulated AWS control plane (the emulator's test key in a temporary ~/.aws,
never yours), served; and the MCP revision each side speaks. Needs no AWS
account and no keychain: the demo token lives in memory.

Options:
    --serve      Run the demo as a stdio MCP server instead, for an MCP client
                 (Amazon Q, MCP Inspector) to connect to; details go to stderr
    --no-browser Print the consent URL of the 3LO target instead of opening
                 a browser (where no browser can be opened, the demo prints
                 it and goes on anyway)
    --protocol   The MCP revision agw-proxy speaks with the emulated Gateway,
                 as serve's --protocol (default auto: 2026-07-28, which the
                 emulator offers)
    -h, --help   Show this help

Examples:
    $ go run ./cmd/agw-proxy demo
    $ agw-proxy demo

    Try it in MCP Inspector or any client that launches stdio servers:
    $ npx @modelcontextprotocol/inspector agw-proxy demo --serve
`

// The demo's secret: shaped like an Asana personal access token, so the
// output looks like the real thing. It is never printed.
const demoAsanaToken = "2/1200000000000001/1209999999999999:d3m0a5anat0k3n4agwpr0xy"

const (
	demoTool = gatewaysim.DefaultTargetName + "___asanaInvoke"
	// demoHeaderTarget allowlists X-Asana-Token in its
	// metadataConfiguration: the demo's header rule sends the token to it
	// as that HTTP header (header propagation).
	demoHeaderTarget = "HeaderTarget"
	demoHeaderTool   = demoHeaderTarget + "___asanaInvoke"
	demoArgument     = "X-Asana-Token"
	demoSecret       = "asana"
	demoTimeLimit    = 30 * time.Second
)

func runDemo(ctx context.Context, e *env, args []string) error {
	fs := pflag.NewFlagSet("demo", pflag.ContinueOnError)
	serve := fs.Bool("serve", false, "Run as a stdio MCP server")
	noBrowser := fs.Bool("no-browser", false, "Print the consent URL instead of opening a browser")
	protocol := fs.String("protocol", profile.ProtocolAuto, "MCP revision with the emulated Gateway")
	if done, err := parseFlags(e, fs, demoUsage, args); done {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf("demo", "unexpected argument %q", fs.Arg(0))
	}
	if !slices.Contains(profile.Protocols, *protocol) {
		return usageErrorf("demo", "--protocol: want one of %s, got %q", strings.Join(profile.Protocols, ", "), *protocol)
	}
	d, err := startDemo(ctx, *serve, *protocol)
	if err != nil {
		return err
	}
	defer d.close()
	d.noBrowser = *noBrowser
	if *serve {
		return d.serve(ctx, e)
	}
	ctx, cancel := context.WithTimeout(ctx, demoTimeLimit)
	defer cancel()
	out := d.scrub.Writer(e.stdout) // a last guard: the demo token never reaches the terminal
	return d.run(ctx, out)
}

// demo is the emulator and a proxy configured for it, the way a user would
// configure one: a profile from flags, secrets in a store.
type demo struct {
	sim     *gatewaysim.Sim
	profile *profile.Profile
	args    []string // the serve flags that make the profile
	secrets *tokenstore.Memory
	scrub   *proxy.Scrubber
	wire    *wireRevision // the revision of the proxy's requests to the Gateway

	noBrowser bool            // --no-browser: the consent URL is printed, not opened
	notices   *consentNotices // what the proxy tells the user about a consent (demo_oauth.go)
	opened    chan error      // the outcome of opening the consent URL
}

func startDemo(ctx context.Context, serve bool, protocol string) (*demo, error) {
	oauthSpec, err := demoOAuthSpec()
	if err != nil {
		return nil, fmt.Errorf("demo: the 3LO target's spec: %w", err)
	}
	sim, err := gatewaysim.Start(gatewaysim.Options{EchoToken: true, Region: demoAWSRegion, Targets: []gatewaysim.Target{
		{Name: gatewaysim.DefaultTargetName, Spec: configs.AsanaOpenAPI, APIKey: gatewaysim.DefaultAPIKey},
		{Name: demoHeaderTarget, Spec: configs.AsanaOpenAPI, APIKey: gatewaysim.DefaultAPIKey,
			Metadata: &gatewaysim.MetadataConfiguration{AllowedRequestHeaders: []string{demoArgument}}},
		{Name: demoOAuthTarget, Spec: oauthSpec, OAuth: &gatewaysim.OAuthCredentialProvider{}},
		{Name: demoAppTarget, Spec: configs.AsanaOpenAPI, APIKey: gatewaysim.DefaultAPIKey},
	}})
	if err != nil {
		return nil, fmt.Errorf("demo: start the emulator: %w", err)
	}
	// The oauth rule's API wants the user's token from the provider's
	// public app, registered with a loopback redirect URL (demo_apioauth.go).
	sim.RequireProviderToken(demoAppTarget, demoArgument)
	redirect, err := freeLoopbackURL()
	if err != nil {
		sim.Close()
		return nil, fmt.Errorf("demo: %w", err)
	}
	app := sim.RegisterProviderApp(redirect, false)
	d := &demo{sim: sim, secrets: tokenstore.NewMemory(), scrub: proxy.NewScrubber(), wire: &wireRevision{gateway: sim.GatewayURL},
		notices: newConsentNotices(nil), opened: make(chan error, 1)}
	d.args = []string{
		"--gateway-url", sim.GatewayURL,
		"--token-url", sim.TokenURL,
		"--client-id", sim.ClientID,
		"--scope", sim.Scope,
		"--inject", demoArgument + "=" + demoSecret,
		"--inject-tools", gatewaysim.DefaultTargetName + "___*",
		"--protocol", protocol,
	}
	if serve {
		// A client may sit idle for long; the emulator's tokens are refreshed anyway.
		d.args = append(d.args, "--call-timeout", "60s")
	}
	// Resolve the profile exactly as serve does, without a config file.
	fs := pflag.NewFlagSet("demo", pflag.ContinueOnError)
	pf := profile.AddFlags(fs, profile.AllFlags)
	noFile := profile.Env{Getenv: func(string) string { return "" }, ConfigDir: func() (string, error) { return "", errors.New("none") }}
	if err := fs.Parse(d.args); err != nil {
		d.close()
		return nil, fmt.Errorf("demo: %w", err)
	}
	if d.profile, err = pf.Resolve(noFile, authTypes()); err != nil {
		d.close()
		return nil, err
	}
	// The header rule, as a config file would give it: flags give every
	// --inject rule the same globs and mode. proxy.New checks it as it
	// checks the others.
	d.profile.Inject = append(d.profile.Inject, profile.InjectRule{
		Argument: demoArgument, Secret: demoSecret, Format: profile.DefaultFormat,
		Tools: []string{demoHeaderTarget + "___*"}, Via: profile.ViaHeader,
	}, demoAppRule(sim, app))
	for name, v := range map[string]string{demoSecret: demoAsanaToken, tokenstore.ClientSecretName: sim.ClientSecret} {
		if err := d.secrets.Set(ctx, d.profile.Name, name, tokenstore.Secret(v)); err != nil {
			d.close()
			return nil, fmt.Errorf("demo: %w", err)
		}
	}
	// Known to the scrubber from the start, so even the demo's own output
	// cannot show them.
	d.scrub.Add(demoAsanaToken)
	d.scrub.Add(tokenstore.Secret(sim.ClientSecret))
	d.scrub.Add(gatewaysim.DefaultAPIKey)
	d.scrub.Add(gatewaysim.TestSecretAccessKey) // the key init signs with (demo_init.go)
	return d, nil
}

func (d *demo) close() { d.sim.Close() }

// newProxy builds the proxy as serve does, over the demo's in-memory
// secrets, with d.wire watching its requests to the Gateway.
func (d *demo) newProxy(logger *slog.Logger) (*proxy.Proxy, error) {
	client, err := httpClient(d.profile)
	if err != nil {
		return nil, err
	}
	d.wire.next = httpguard.Base(client)
	watched := *client
	watched.Transport = d.wire
	client = httpguard.Client(&watched)
	store := &scrubbedSecrets{Secrets: d.secrets, scrub: d.scrub}
	opts := proxyOptions(newEnv(), d.profile, store, client, d.scrub)
	opts.Secrets = secretSet(d.profile, store, client, d.scrub.Add) // as serve: the oauth rule's tokens
	opts.Logger = logger
	opts.Notices = d.notices
	if !d.noBrowser {
		opts.OpenURL = d.openURL
	}
	return proxy.New(opts)
}

// run plays a model's session through the proxy over an in-process stdio
// pipe and writes what happens to w.
func (d *demo) run(ctx context.Context, w io.Writer) error {
	p := func(format string, a ...any) { writef(w, format, a...) }
	p("agw-proxy demo: a local emulator of AgentCore Gateway, Cognito and an Asana-like\n")
	p("API, with the real proxy in front of it. No AWS account, no keychain.\n\n")
	p("  Gateway    %s (emulated)\n", d.sim.GatewayURL)
	p("  Cognito    client credentials from %s\n", d.sim.TokenURL)
	p("  Secret     %q: a demo Asana token, stored in memory (never shown)\n", demoSecret)
	p("  Rule 1     fill %s with \"Bearer {secret}\" on tools %s___*\n", demoArgument, gatewaysim.DefaultTargetName)
	p("  Rule 2     send it as the HTTP header %s on tools %s___* (via: header)\n", demoArgument, demoHeaderTarget)
	p("  3LO        tools %s___* call the API with your token from AgentCore Identity's vault\n", demoOAuthTarget)
	p("  Rule 3     fill %s on tools %s___* with an access token of Asana's own OAuth (source: oauth)\n\n", demoArgument, demoAppTarget)

	if err := d.showDirect(ctx, p); err != nil {
		return err
	}
	px, err := d.newProxy(nil)
	if err != nil {
		return err
	}
	cs, stop, err := d.connect(ctx, px, "")
	if err != nil {
		return err
	}
	defer stop()
	if err := d.showListed(ctx, cs, p); err != nil {
		return err
	}
	if err := d.showCall(ctx, cs, p); err != nil {
		return err
	}
	if err := d.showReceived(p); err != nil {
		return err
	}
	if err := d.showHeaderRule(ctx, cs, p); err != nil {
		return err
	}
	if err := d.showOAuth(ctx, cs, p); err != nil {
		return err
	}
	if err := d.showAppOAuth(ctx, cs, p); err != nil {
		return err
	}
	if err := d.showInit(ctx, p); err != nil {
		return err
	}
	if err := d.showRevisions(cs, p); err != nil {
		return err
	}
	p("Next steps:\n")
	p("  Try it in an MCP client:     agw-proxy demo --serve   (see agw-proxy demo --help)\n")
	p("  Describe your Gateway:       agw-proxy init --gateway ID (as step %d, with your AWS credentials),\n", demoInitStep)
	p("                               or edit the example (agw-proxy init), or flags: agw-proxy serve --help\n")
	p("  Store the Cognito secret:    agw-proxy login\n")
	p("  Store your Asana token:      agw-proxy login asana\n")
	p("  Consent to a 3LO target:     agw-proxy login TARGET --consent (or call one of its tools)\n")
	p("  Log in to an API's OAuth:    agw-proxy login SECRET (a rule with source: oauth)\n")
	p("  Check and connect a client:  agw-proxy status; agw-proxy mcp-config --client amazonq\n")
	return nil
}

// printer prints one line of the demo's story.
type printer func(format string, a ...any)

// showDirect prints step 1: the tool as the Gateway lists it.
func (d *demo) showDirect(ctx context.Context, p printer) error {
	direct, err := d.gatewayTools(ctx)
	if err != nil {
		return err
	}
	p("1. Without agw-proxy, the Gateway shows the model these tools (* = required):\n")
	for _, t := range direct {
		p("     %s\n", toolSignature(t))
	}
	p("   The model would have to know the user's Asana token and pass it as %s.\n\n", demoArgument)

	return nil
}

// showListed prints step 2, the tool through the proxy, and checks that
// the secret argument is gone.
func (d *demo) showListed(ctx context.Context, cs *mcp.ClientSession, p printer) error {
	res, err := cs.ListTools(ctx, nil)
	if err != nil {
		return fmt.Errorf("demo: tools/list through the proxy: %w", err)
	}
	p("2. Through agw-proxy, the model sees:\n")
	var seen *mcp.Tool
	for _, t := range res.Tools {
		p("     %s\n", toolSignature(t))
		if t.Name == demoTool {
			seen = t
		}
	}
	if seen == nil {
		return fmt.Errorf("demo: the proxy did not list %s", demoTool)
	}
	if props, req := schemaArgs(seen.InputSchema); slices.Contains(props, demoArgument) || slices.Contains(req, demoArgument) {
		return fmt.Errorf("demo: %s still shows %s: the proxy did not strip it", demoTool, demoArgument)
	}
	p("   %s is gone: the model never learns that a token exists.\n\n", demoArgument)

	return nil
}

// showRevisions prints the MCP revision each side speaks: the demo's client
// with agw-proxy (what the proxy answered it), and agw-proxy with the
// Gateway (what its requests to the Gateway carried).
func (d *demo) showRevisions(cs *mcp.ClientSession, p printer) error {
	up := d.wire.version()
	if up == "" {
		return errors.New("demo: no request to the Gateway carried an MCP-Protocol-Version")
	}
	p("MCP revisions:\n")
	p("  client -> agw-proxy    %s (the demo's go-sdk client)\n", cs.InitializeResult().ProtocolVersion)
	p("  agw-proxy -> Gateway   %s, %s\n\n", up, d.upstreamChoice())
	return nil
}

// upstreamChoice says how agw-proxy chooses its revision with the Gateway.
func (d *demo) upstreamChoice() string {
	if d.pinned() == "" {
		return "negotiated (protocol auto)"
	}
	return "pinned (--protocol " + d.pinned() + ")"
}

// pinned is the revision --protocol pins with the Gateway, or "" for auto.
func (d *demo) pinned() string {
	if d.profile.Protocol == "" || d.profile.Protocol == profile.ProtocolAuto {
		return ""
	}
	return d.profile.Protocol
}

// showCall prints steps 3 and 4, a call and its result, and checks that the
// token did not come back.
func (d *demo) showCall(ctx context.Context, cs *mcp.ClientSession, p printer) error {
	callArgs := map[string]any{
		"tool_name": "create_task",
		"name":      "Try agw-proxy",
		"notes":     "Created through agw-proxy demo",
		"workspace": "1200000000000000",
	}
	argsJSON, _ := json.Marshal(callArgs)
	p("3. The model calls it:\n")
	p("     %s %s\n\n", demoTool, argsJSON)
	d.sim.ClearReceived()
	result, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: demoTool, Arguments: callArgs})
	if err != nil {
		return fmt.Errorf("demo: tools/call through the proxy: %w", err)
	}
	text := resultText(result)
	if result.IsError {
		return fmt.Errorf("demo: the call failed: %s", d.scrub.String(text))
	}
	if strings.Contains(text, demoAsanaToken) {
		return errors.New("demo: the token reached the model: the proxy did not scrub the result")
	}
	p("4. The model gets back:\n")
	p("     %s\n", text)
	if strings.Contains(text, proxy.Mask) {
		p("   The emulated API echoes the token it received; agw-proxy replaced it with %s.\n", proxy.Mask)
	}
	p("\n")

	return nil
}

// showReceived prints step 5, what the API received, and checks the token
// arrived where it belongs and nowhere else.
func (d *demo) showReceived(p printer) error {
	got := d.sim.Received()
	if len(got) != 1 {
		return fmt.Errorf("demo: the API received %d requests, want 1", len(got))
	}
	r := got[0]
	header := r.Header.Get(demoArgument)
	if header != "Bearer "+demoAsanaToken {
		return fmt.Errorf("demo: the API did not receive %s: Bearer <the stored token>", demoArgument)
	}
	if strings.Contains(string(r.Body), demoAsanaToken) {
		return errors.New("demo: the token leaked into the request body")
	}
	p("5. The Asana API behind the Gateway received:\n")
	p("     %s %s\n", r.Method, r.Path)
	p("     %s: %s   <- filled in by agw-proxy from the stored secret\n", demoArgument, d.mask(header))
	p("     body: %s   (no token in it)\n", r.Body)
	if r.Query.Has("api_key") {
		p("     query: api_key=%s   <- the Gateway's own outbound API key, not the user's\n", proxy.Mask)
	}
	p("\n")

	return nil
}

// mask hides the demo secrets in s, with the scrubber's mask: one style in
// all the demo prints.
func (d *demo) mask(s string) string {
	for _, v := range []string{demoAsanaToken, d.sim.ClientSecret, gatewaysim.DefaultAPIKey} {
		s = strings.ReplaceAll(s, v, proxy.Mask)
	}
	return d.scrub.String(d.maskVaulted(s)) // and the oauth rule's tokens
}

// connect starts px on an in-process stdio pipe and connects a client to it
// that asks for MCP version ("" is the go-sdk client's default, 2026-07-28 in
// v1.8.0). stop closes the client's side (EOF for the proxy) and waits for
// px to end.
func (d *demo) connect(ctx context.Context, px *proxy.Proxy, version string) (*mcp.ClientSession, func(), error) {
	toProxyR, toProxyW := io.Pipe()
	fromProxyR, fromProxyW := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = px.Run(ctx, toProxyR, fromProxyW)
		fromProxyW.Close()
	}()
	client := mcp.NewClient(&mcp.Implementation{Name: "agw-proxy-demo", Version: currentBuild().Version}, nil)
	cs, err := client.Connect(ctx, &mcp.IOTransport{Reader: fromProxyR, Writer: toProxyW}, &mcp.ClientSessionOptions{ProtocolVersion: version})
	var once sync.Once
	stop := func() {
		once.Do(func() {
			if cs != nil {
				cs.Close()
			}
			toProxyW.Close()
			<-done
		})
	}
	if err != nil {
		stop()
		return nil, nil, fmt.Errorf("demo: connect to the proxy: %w", err)
	}
	return cs, stop, nil
}

// gatewayTools lists the Gateway's tools directly, as a client without
// agw-proxy would see them.
func (d *demo) gatewayTools(ctx context.Context) ([]*mcp.Tool, error) {
	cc := clientcredentials.Config{ClientID: d.sim.ClientID, ClientSecret: d.sim.ClientSecret, TokenURL: d.sim.TokenURL, Scopes: []string{d.sim.Scope}}
	httpClient := oauth2.NewClient(ctx, cc.TokenSource(ctx))
	client := mcp.NewClient(&mcp.Implementation{Name: "agw-proxy-demo-direct", Version: currentBuild().Version}, nil)
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: d.sim.GatewayURL, HTTPClient: httpClient},
		&mcp.ClientSessionOptions{ProtocolVersion: proxy.UpstreamProtocolVersion})
	if err != nil {
		return nil, fmt.Errorf("demo: connect to the emulated Gateway: %w", err)
	}
	defer cs.Close()
	var tools []*mcp.Tool
	for t, err := range cs.Tools(ctx, nil) {
		if err != nil {
			return nil, fmt.Errorf("demo: list the emulated Gateway's tools: %w", err)
		}
		tools = append(tools, t)
	}
	return tools, nil
}

// toolSignature renders a tool as name(arg*, arg, ...): required first.
func toolSignature(t *mcp.Tool) string {
	props, required := schemaArgs(t.InputSchema)
	var names []string
	for _, r := range required {
		names = append(names, r+"*")
	}
	for _, p := range props {
		if !slices.Contains(required, p) {
			names = append(names, p)
		}
	}
	return t.Name + "(" + strings.Join(names, ", ") + ")"
}

// schemaArgs returns the property names (sorted) and required names of a
// JSON schema in whatever form the SDK decoded it.
func schemaArgs(schema any) (props, required []string) {
	raw, err := json.Marshal(schema)
	if err != nil {
		return nil, nil
	}
	var s struct {
		Properties map[string]json.RawMessage `json:"properties"`
		Required   []string                   `json:"required"`
	}
	if json.Unmarshal(raw, &s) != nil {
		return nil, nil
	}
	for p := range s.Properties {
		props = append(props, p)
	}
	slices.Sort(props)
	return props, s.Required
}

func resultText(r *mcp.CallToolResult) string {
	var parts []string
	for _, c := range r.Content {
		if t, ok := c.(*mcp.TextContent); ok {
			parts = append(parts, t.Text)
		}
	}
	return strings.Join(parts, "\n")
}

// serve runs the demo as a stdio MCP server on e's stdin and stdout. Its
// notes go to stderr, as do the requests the API receives (masked).
func (d *demo) serve(ctx context.Context, e *env) error {
	logger := newLogger(e.stderr, d.scrub, slog.LevelWarn)
	w := d.scrub.Writer(e.stderr)
	d.notices = newConsentNotices(w) // the proxy's consent notices go to stderr as they come
	px, err := d.newProxy(logger)
	if err != nil {
		return err
	}
	self := "agw-proxy"
	if exe, err := os.Executable(); err == nil {
		self = exe
	}
	writef(w, "agw-proxy demo --serve: a stdio MCP server in front of the emulated Gateway %s\n", d.sim.GatewayURL)
	writef(w, "Tool %s fills %s from a demo token; the model never sees it.\n", demoTool, demoArgument)
	writef(w, "Tool %s gets it as the HTTP header %s instead (via: header; the target allowlists it).\n", demoHeaderTool, demoArgument)
	writef(w, "Tool %s is Gateway-held OAuth (3LO): until you consent, the Gateway answers its calls\n", demoOAuthTool)
	writef(w, "with a consent URL. A client with URL elicitation is asked to show it; for any other,\n")
	if d.noBrowser {
		writef(w, "agw-proxy prints it here (--no-browser)")
	} else {
		writef(w, "agw-proxy opens it in your browser (and prints it here)")
	}
	writef(w, " and the call waits (up to %s) while agw-proxy polls it.\n", d.consentTimeout())
	writef(w, "Allow on the emulator's consent page; its return-URL app binds the consent, and the call\n")
	writef(w, "goes through with the token AgentCore Identity vaulted (Authorization, masked below).\n")
	// The oauth rule's login, before any call (demo_apioauth.go); short
	// access tokens, so that a session sees them refreshed.
	if _, _, err := d.loginApp(ctx); err != nil {
		return err
	}
	d.sim.SetProviderTokenLifetime(demoServeAppLifetime)
	writef(w, "Tool %s gets %s from Asana's own OAuth (source: oauth): the demo logged in to the\n", demoAppTool, demoArgument)
	writef(w, "app for you (its browser played); its access tokens live %s here, and agw-proxy refreshes them.\n", demoServeAppLifetime)
	writef(w, "MCP revisions offered to clients: %s.\n", strings.Join(slices.Concat(proxy.StatelessProtocolVersions, proxy.DownstreamProtocolVersions), ", "))
	writef(w, "The emulated Gateway offers %s; agw-proxy's revision with it: %s.\n", strings.Join(gatewaysim.ProtocolVersions(), ", "), d.upstreamChoice())
	if strings.Contains(self, "go-build") {
		writef(w, "Clients need a lasting binary: go build -o agw-proxy ./cmd/agw-proxy, then use its absolute path.\n")
		self = "/path/to/agw-proxy"
	}
	args := []string{"demo", "--serve"}
	if d.noBrowser {
		args = append(args, "--no-browser")
	}
	if v := d.pinned(); v != "" {
		args = append(args, "--protocol", v)
	}
	cfg, _ := json.Marshal(map[string]any{"mcpServers": map[string]any{"agw-proxy-demo": map[string]any{"command": self, "args": args}}})
	writef(w, "MCP Inspector:  npx @modelcontextprotocol/inspector %s %s\n", profile.ShellQuote(self), strings.Join(args, " "))
	writef(w, "Amazon Q (~/.aws/amazonq/mcp.json): %s\n", cfg)
	writef(w, "Each request the emulated Asana API receives is shown here, token masked.\n")

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		d.watchReceived(ctx, w)
	}()
	err = px.Run(ctx, e.stdin, e.stdout)
	cancel()
	wg.Wait()
	if err != nil && ctx.Err() == nil {
		return err
	}
	return nil
}

// watchReceived prints each request the emulated API receives, masked, and
// the MCP revision agw-proxy speaks with the Gateway whenever it changes.
func (d *demo) watchReceived(ctx context.Context, w io.Writer) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	shown, revision := 0, ""
	show := func() {
		if v := d.wire.version(); v != revision {
			writef(w, "agw-proxy speaks MCP %s with the emulated Gateway.\n", v)
			revision = v
		}
		got := d.sim.Received()
		for _, r := range got[min(shown, len(got)):] {
			if r.Target == demoOAuthTarget {
				writef(w, "API received: %s %s (%s)  Authorization: %s  body: %s\n", r.Method, r.Path, r.Target,
					d.mask(r.Header.Get("Authorization")), d.mask(string(r.Body)))
				continue
			}
			writef(w, "API received: %s %s  %s: %s  body: %s\n", r.Method, r.Path, demoArgument,
				d.mask(r.Header.Get(demoArgument)), d.mask(string(r.Body)))
		}
		shown = len(got)
	}
	for {
		select {
		case <-ctx.Done():
			show() // what arrived since the last tick
			return
		case <-tick.C:
			show()
		}
	}
}

// wireRevision is the demo's view of the proxy's requests to the Gateway:
// the MCP-Protocol-Version of the last one the Gateway accepted (2xx). Both
// a 2026-07-28 request and a 2025 session's requests after initialize carry
// the header, so it is the revision in use, as the Gateway saw it. The
// proxy has no accessor for it (it logs "gateway connected" at debug).
type wireRevision struct {
	gateway string            // the Gateway's URL; other requests (Cognito) are not looked at
	next    http.RoundTripper // set before the first request

	mu      sync.Mutex
	current string
	calls   map[string]wireCall // the last tools/call POST of each tool (demo_header.go)
}

func (w *wireRevision) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.String() == w.gateway {
		w.record(r)
	}
	resp, err := w.next.RoundTrip(r)
	if v := r.Header.Get("MCP-Protocol-Version"); err == nil && v != "" && resp.StatusCode/100 == 2 && r.URL.String() == w.gateway {
		w.mu.Lock()
		w.current = v
		w.mu.Unlock()
	}
	return resp, err
}

func (w *wireRevision) version() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.current
}
