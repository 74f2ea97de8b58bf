package proxy_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agw-proxy/agw-proxy/configs"
	"github.com/agw-proxy/agw-proxy/internal/gatewaysim"
	"github.com/agw-proxy/agw-proxy/internal/testwait"
	"github.com/agw-proxy/agw-proxy/proxy"
)

// Consent to a Gateway-held OAuth (3LO) target: the emulator's Asana3LO
// target goes through its AgentCore Identity and OAuth provider, and the
// test plays the browser (gatewaysim.ConsentInBrowser), whose consent the
// emulated Gateway owner's return-URL app binds.

const (
	consentTarget = "Asana3LO"
	consentTool   = consentTarget + "___asanaInvoke"
)

var consentArgs = map[string]any{"tool_name": "list_projects", "X-Asana-Token": "unused"}

// consentSim is the emulator's options with the 3LO target beside the
// argument-injection one.
func consentSim() gatewaysim.Options {
	return gatewaysim.Options{Targets: []gatewaysim.Target{
		{Name: gatewaysim.DefaultTargetName, Spec: configs.AsanaOpenAPI, APIKey: gatewaysim.DefaultAPIKey},
		{Name: consentTarget, Spec: configs.AsanaOpenAPI, OAuth: &gatewaysim.OAuthCredentialProvider{}},
	}}
}

// The Gateway's revisions against the emulator.
var consentGateways = []struct{ name, pin string }{
	{"2026 Gateway", proxy.StatelessProtocolVersion},
	{"2025 Gateway", proxy.UpstreamProtocolVersion},
}

// browser is a test's Options.OpenURL: it records each URL it is asked to
// open and, unless idle, consents in the played browser.
type browser struct {
	idle   bool
	mu     sync.Mutex
	opened []string
	errs   []error
	wg     sync.WaitGroup
}

func (b *browser) open(u string) error {
	b.mu.Lock()
	b.opened = append(b.opened, u)
	b.mu.Unlock()
	if b.idle {
		return nil
	}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := gatewaysim.ConsentInBrowser(ctx, nil, u, "allow"); err != nil {
			b.mu.Lock()
			b.errs = append(b.errs, err)
			b.mu.Unlock()
		}
	}()
	return nil
}

func (b *browser) urls(t *testing.T) []string {
	t.Helper()
	b.wg.Wait()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, err := range b.errs {
		t.Errorf("the played browser: %v", err)
	}
	return append([]string(nil), b.opened...)
}

func consentOptions(pinned string, b *browser, timeout time.Duration) func(*proxy.Options) {
	return func(o *proxy.Options) {
		o.Protocol = pinned
		o.ConsentPoll = 200 * time.Millisecond
		o.ConsentTimeout = timeout
		if b != nil {
			o.OpenURL = b.open
		}
	}
}

// wantVaulted checks that the call reached the 3LO target's backend with
// the token AgentCore Identity vaulted for the proxy's user.
func wantVaulted(t *testing.T, sim *gatewaysim.Sim, res *mcp.CallToolResult) {
	t.Helper()
	if res.IsError {
		t.Fatalf("the call answered isError: %s", text(res))
	}
	vault := sim.VaultedTokens(sim.ClientID)
	tok := vault[consentTarget]
	if tok == "" {
		t.Fatalf("nothing vaulted for the user: %v", vault)
	}
	var got string
	for _, r := range sim.Received() {
		if r.Target == consentTarget {
			got = r.Header.Get("Authorization")
		}
	}
	if got != "Bearer "+tok {
		t.Fatalf("the backend got Authorization %q, want the vaulted token", got)
	}
}

// urlAsker is a client's ElicitationHandler for URL-mode elicitations: it
// records each, plays the browser on its URL, and answers action.
type urlAsker struct {
	action  string
	consent bool
	mu      sync.Mutex
	asked   []*mcp.ElicitParams
}

func (a *urlAsker) handle(ctx context.Context, req *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
	a.mu.Lock()
	a.asked = append(a.asked, req.Params)
	a.mu.Unlock()
	if a.consent {
		if _, err := gatewaysim.ConsentInBrowser(ctx, nil, req.Params.URL, "allow"); err != nil {
			return nil, err
		}
	}
	return &mcp.ElicitResult{Action: a.action}, nil
}

func (a *urlAsker) options(o *mcp.ClientOptions) {
	o.ElicitationHandler = a.handle
	o.Capabilities = &mcp.ClientCapabilities{Elicitation: &mcp.ElicitationCapabilities{URL: &mcp.URLElicitationCapabilities{}}}
}

func (a *urlAsker) requests() []*mcp.ElicitParams {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]*mcp.ElicitParams(nil), a.asked...)
}

// A client that declared URL elicitation is asked, in its revision, to
// have the user open the consent URL; once it says the user accepted, the
// proxy polls the call, which reaches the backend with the vaulted token.
// The proxy opens no browser.
func TestConsentIsRelayedToAURLCapableClient(t *testing.T) {
	for _, gw := range consentGateways {
		for _, rev := range clientRevisions {
			t.Run(gw.name+"/"+rev+" client", func(t *testing.T) {
				b := &browser{}
				a := &urlAsker{action: "accept", consent: true}
				h := start(t, setup{sim: consentSim(), protocol: rev, client: a.options, options: consentOptions(gw.pin, b, 20*time.Second)})
				res := h.call(t, consentTool, consentArgs)
				wantVaulted(t, h.sim, res)
				asked := a.requests()
				if len(asked) != 1 || asked[0].Mode != "url" || !strings.Contains(asked[0].URL, "/identities/oauth2/authorize?request_uri=") {
					t.Fatalf("the client was asked %+v, want the Gateway's consent URL once", asked)
				}
				if n := len(b.urls(t)); n != 0 {
					t.Errorf("the proxy opened %d browser tabs for a client that shows the URL itself", n)
				}
				// Consented: the next call goes through without a question.
				wantVaulted(t, h.sim, h.call(t, consentTool, consentArgs))
				if n := len(a.requests()); n != 1 {
					t.Errorf("the client was asked %d times in all, want 1", n)
				}
			})
		}
	}
}

// A user who declines in the client ends the call with an isError result
// that says so, and the Gateway is not polled.
func TestDeclinedConsentEndsTheCall(t *testing.T) {
	for _, rev := range clientRevisions {
		t.Run(rev, func(t *testing.T) {
			a := &urlAsker{action: "decline"}
			h := start(t, setup{sim: consentSim(), protocol: rev, client: a.options, options: consentOptions(proxy.StatelessProtocolVersion, nil, 20*time.Second)})
			res := h.call(t, consentTool, consentArgs)
			if !res.IsError || !strings.Contains(text(res), `the user did not consent to target "Asana3LO" (decline)`) {
				t.Fatalf("the call answered %q (isError %v), want that the user declined", text(res), res.IsError)
			}
			if n := h.sim.Counts().ConsentURLs; n != 1 {
				t.Errorf("the Gateway handed out %d consent URLs, want 1 (no polls after a decline)", n)
			}
		})
	}
}

// A client without URL elicitation: the proxy opens the consent URL in the
// browser itself, polls the call, and answers it once the user consented.
func TestConsentOpensTheBrowserForAClientWithoutURLElicitation(t *testing.T) {
	for _, gw := range consentGateways {
		for _, rev := range clientRevisions {
			t.Run(gw.name+"/"+rev+" client", func(t *testing.T) {
				b := &browser{}
				h := start(t, setup{sim: consentSim(), protocol: rev, options: consentOptions(gw.pin, b, 20*time.Second)})
				res := h.call(t, consentTool, consentArgs)
				wantVaulted(t, h.sim, res)
				opened := b.urls(t)
				if len(opened) != 1 || !strings.HasPrefix(opened[0], h.sim.IdentityURL+"/identities/oauth2/authorize?") {
					t.Fatalf("the browser opened %q, want the consent URL once", opened)
				}
				if c := h.sim.Counts(); c.ConsentURLsOpened != 1 || c.Bindings != 1 {
					t.Errorf("consent URLs opened %d, bindings %d; want 1 and 1", c.ConsentURLsOpened, c.Bindings)
				}
			})
		}
	}
}

// Five calls to the 3LO target at once wait on one consent: one browser
// tab, and every call answered with the backend's result.
func TestConcurrentCallsShareOneConsent(t *testing.T) {
	for _, gw := range consentGateways {
		t.Run(gw.name, func(t *testing.T) {
			b := &browser{}
			h := start(t, setup{sim: consentSim(), protocol: "2025-11-25", options: consentOptions(gw.pin, b, 20*time.Second)})
			var wg sync.WaitGroup
			results := make([]*mcp.CallToolResult, 5)
			errs := make([]error, 5)
			for i := range results {
				wg.Add(1)
				go func() {
					defer wg.Done()
					ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
					defer cancel()
					results[i], errs[i] = h.client.CallTool(ctx, &mcp.CallToolParams{Name: consentTool, Arguments: consentArgs})
				}()
			}
			testwait.Within(t, 25*time.Second, "the five calls to end", wg.Wait)
			for i, res := range results {
				if errs[i] != nil {
					t.Fatalf("call %d: %v", i, errs[i])
				}
				if res.IsError {
					t.Errorf("call %d answered isError: %s", i, text(res))
				}
			}
			if opened := b.urls(t); len(opened) != 1 {
				t.Errorf("the browser opened %d tabs, want 1", len(opened))
			}
			if n := h.sim.Counts().ConsentURLsOpened; n != 1 {
				t.Errorf("%d consent URLs were opened, want 1", n)
			}
		})
	}
}

// A consent that does not come in time ends the call with an isError
// result that says what to do, with the URL, and names the return-URL app
// in case the consent was given but not bound.
func TestConsentTimeoutSaysWhatToDo(t *testing.T) {
	b := &browser{idle: true}
	h := start(t, setup{sim: consentSim(), protocol: "2025-11-25", options: consentOptions(proxy.StatelessProtocolVersion, b, 1500*time.Millisecond)})
	res := h.call(t, consentTool, consentArgs)
	msg := text(res)
	for _, want := range []string{
		`target "Asana3LO" needs your consent`, "after 1.5s (timeouts.consent)", "open " + h.sim.IdentityURL + "/identities/oauth2/authorize?request_uri=",
		"allow access, then call the tool again", "return-URL app", "CompleteResourceTokenAuth",
	} {
		if !res.IsError || !strings.Contains(msg, want) {
			t.Errorf("the call answered %q (isError %v), want it to hold %q", msg, res.IsError, want)
		}
	}
	if n := len(b.urls(t)); n != 1 {
		t.Errorf("the browser opened %d tabs, want 1", n)
	}
	if n := h.sim.Counts().ConsentURLs; n < 2 {
		t.Errorf("the Gateway handed out %d consent URLs: the call was not polled", n)
	}
}

// forceAuthentication in the client's _meta reaches the Gateway, which
// throws the vaulted token away and asks again; the polls do not carry it
// (each would throw the new consent away), so the re-consent goes through
// with a new token.
func TestForceAuthenticationReconsents(t *testing.T) {
	b := &browser{}
	h := start(t, setup{sim: consentSim(), protocol: "2025-11-25", options: consentOptions(proxy.UpstreamProtocolVersion, b, 20*time.Second)})
	wantVaulted(t, h.sim, h.call(t, consentTool, consentArgs))
	first := h.sim.VaultedTokens(h.sim.ClientID)[consentTarget]

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := h.client.CallTool(ctx, &mcp.CallToolParams{Name: consentTool, Arguments: consentArgs, Meta: mcp.Meta{
		proxy.CredentialProviderMetaKey: map[string]any{"oauthCredentialProvider": map[string]any{"forceAuthentication": true}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	wantVaulted(t, h.sim, res)
	if second := h.sim.VaultedTokens(h.sim.ClientID)[consentTarget]; second == first {
		t.Error("the vaulted token is the one from before: no re-consent happened")
	}
	if n := len(b.urls(t)); n != 2 {
		t.Errorf("the browser opened %d tabs, want 2 (the consent, the re-consent)", n)
	}
}

// Nothing but an https:// URL (or http:// to loopback) from the Gateway is
// opened or relayed.
func TestConsentURLIsOpenedOnlyWhenHTTPS(t *testing.T) {
	for _, bad := range []string{
		"javascript:alert(1)", "file:///etc/passwd", "http://example.com/authorize", "https://aws.amazon.com@evil.example/x",
		"https://evil.example/a b", "https://evil.example/\x1b[2J", "//evil.example/x", "-oProxyCommand=x",
	} {
		t.Run(fmt.Sprintf("%q", bad), func(t *testing.T) {
			gw := newSDKGateway(t, sdkOptions{versions: v2025only, sessions: true, tool: func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				return nil, mcp.URLElicitationRequiredError([]*mcp.ElicitParams{{Mode: "url", Message: "Authorize", URL: bad, ElicitationID: "el"}})
			}})
			b := &browser{idle: true}
			a := &urlAsker{action: "accept"}
			for _, client := range []func(*mcp.ClientOptions){nil, a.options} {
				h := start(t, setup{gatewayFor: gw.at, noAuth: true, protocol: "2025-11-25", client: client, options: consentOptions(proxy.UpstreamProtocolVersion, b, 20*time.Second)})
				res := h.call(t, headerTool, map[string]any{"q": "x"})
				if !res.IsError || !strings.Contains(text(res), "that agw-proxy neither opens nor relays") {
					t.Errorf("the call answered %q (isError %v), want a refusal of the URL", text(res), res.IsError)
				}
			}
			if n := len(b.urls(t)); n != 0 {
				t.Errorf("the browser was opened on %q", bad)
			}
			if n := len(a.requests()); n != 0 {
				t.Errorf("the client was asked to open %q", bad)
			}
		})
	}
}

// A 2026-07-28 client gets the consent as input_required with the proxy's
// own requestState (128 random bits, nothing of the call); the state works
// once; one never retried ends with the consent's deadline, and the next
// call starts a new consent (a new question).
func TestConsentStateOfA2026ClientIsOwnAndExpires(t *testing.T) {
	manualURL := func(o *mcp.ClientOptions) {
		o.Capabilities = &mcp.ClientCapabilities{Elicitation: &mcp.ElicitationCapabilities{URL: &mcp.URLElicitationCapabilities{}}}
		o.MultiRoundTrip = &mcp.MultiRoundTripOptions{Disabled: true}
	}
	h := start(t, setup{sim: consentSim(), protocol: "2026-07-28", client: manualURL, options: consentOptions(proxy.StatelessProtocolVersion, nil, time.Second)})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	call := func(p *mcp.CallToolParams) *mcp.CallToolResult {
		t.Helper()
		res, err := h.client.CallTool(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	first := call(&mcp.CallToolParams{Name: consentTool, Arguments: consentArgs})
	ask, _ := first.InputRequests["consent"].(*mcp.ElicitParams)
	if !first.NeedsInput() || ask == nil || ask.Mode != "url" || !strings.HasPrefix(ask.URL, h.sim.IdentityURL) {
		t.Fatalf("the first call answered %+v, want input_required with the consent URL", first)
	}
	state := first.RequestState
	if !strings.HasPrefix(state, "agw-proxy-consent.") || len(state) < len("agw-proxy-consent.")+26 || strings.Contains(state, consentTarget) {
		t.Errorf("requestState %q: want the proxy's prefix and 128 random bits, nothing of the call", state)
	}
	// Left unanswered past timeouts.consent: the retry's state is unknown,
	// and a new call asks again.
	time.Sleep(1200 * time.Millisecond)
	second := call(&mcp.CallToolParams{Name: consentTool, Arguments: consentArgs})
	if !second.NeedsInput() || second.RequestState == state {
		t.Fatalf("a call after the deadline answered %+v, want a new question", second)
	}
	retry := &mcp.CallToolParams{Name: consentTool, Arguments: consentArgs,
		InputResponses: mcp.InputResponseMap{"consent": &mcp.ElicitResult{Action: "accept"}}, RequestState: state}
	if res := call(retry); !res.IsError || !strings.Contains(text(res), "the requestState of this retry is unknown") {
		t.Errorf("a retry with the expired state answered %q, want the unknown-state error", text(res))
	}
	// The new question, answered after the user consented: the call goes
	// through, and its state is used up.
	ask, _ = second.InputRequests["consent"].(*mcp.ElicitParams)
	if _, err := gatewaysim.ConsentInBrowser(ctx, nil, ask.URL, "allow"); err != nil {
		t.Fatal(err)
	}
	retry.RequestState = second.RequestState
	wantVaulted(t, h.sim, call(retry))
	if res := call(retry); !res.IsError || !strings.Contains(text(res), "the requestState of this retry is unknown") {
		t.Errorf("a second retry with the same state answered %q, want the unknown-state error", text(res))
	}
}
