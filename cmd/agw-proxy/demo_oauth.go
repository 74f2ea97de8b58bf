package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agw-proxy/agw-proxy/configs"
	"github.com/agw-proxy/agw-proxy/internal/gatewaysim"
	"github.com/agw-proxy/agw-proxy/proxy"
	"github.com/agw-proxy/agw-proxy/tokenstore"
)

// The demo's Gateway-held OAuth (3LO) target: its outbound auth is an
// OAuth authorization-code credential provider, so the Gateway calls the
// API with the user's token from AgentCore Identity's vault, once the user
// has consented. The demo's client cannot show a URL, so agw-proxy opens
// the consent URL in the browser (or prints it, --no-browser); the demo
// then plays the user's browser on it (gatewaysim.ConsentInBrowser),
// through the emulated Gateway owner's return-URL app, which binds the
// session to the user.

const (
	demoOAuthTarget = "AsanaOAuth"
	demoOAuthTool   = demoOAuthTarget + "___asanaInvoke"
)

// demoOAuthSpec is the Asana spec without its X-Asana-Token parameter: an
// API that the Gateway calls with an OAuth token needs no personal one.
func demoOAuthSpec() ([]byte, error) {
	var spec map[string]any
	if err := json.Unmarshal(configs.AsanaOpenAPI, &spec); err != nil {
		return nil, err
	}
	paths, _ := spec["paths"].(map[string]any)
	for _, item := range paths {
		ops, _ := item.(map[string]any)
		for _, op := range ops {
			o, _ := op.(map[string]any)
			params, _ := o["parameters"].([]any)
			kept := []any{}
			for _, p := range params {
				if m, _ := p.(map[string]any); m["name"] != demoArgument {
					kept = append(kept, p)
				}
			}
			if o != nil {
				o["parameters"] = kept
			}
		}
	}
	return json.Marshal(spec)
}

// consentNotices is the proxy's Notices in the demo: it keeps what the
// proxy tells the user about a consent, for the demo to print in its
// place, and hands on the consent URL in it (the notice's line that is
// a URL). echo, if set, gets every notice as it comes (serve).
type consentNotices struct {
	echo io.Writer
	url  chan string // the first consent URL, once

	mu   sync.Mutex
	text strings.Builder
	sent bool
}

func newConsentNotices(echo io.Writer) *consentNotices {
	return &consentNotices{echo: echo, url: make(chan string, 1)}
}

func (n *consentNotices) Write(b []byte) (int, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.text.Write(b)
	if n.echo != nil {
		_, _ = n.echo.Write(b)
	}
	for line := range strings.Lines(string(b)) {
		u := strings.TrimSpace(line)
		if !n.sent && (strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://")) {
			n.sent = true
			n.url <- u
		}
	}
	return len(b), nil
}

// String is what the proxy told the user so far.
func (n *consentNotices) String() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.text.String()
}

// openURL is the proxy's OpenURL in the demo: login's opener; its
// outcome goes to d.opened, for the demo to tell.
func (d *demo) openURL(u string) error {
	err := openBrowser(u)
	select {
	case d.opened <- err:
	default:
	}
	return err
}

// showOAuth prints step 7: a call to the 3LO target by a user who has not
// consented, the consent URL opened (or printed), the consent (the demo
// plays the browser), the binding by the return-URL app, and the call
// that went through with the vaulted token.
func (d *demo) showOAuth(ctx context.Context, cs *mcp.ClientSession, p printer) error {
	sub := d.sim.ClientID // the demo's user: its Cognito machine client
	if len(d.sim.VaultedTokens(sub)) > 0 {
		return errors.New("demo: the emulator's vault holds a token before any consent")
	}
	callArgs := map[string]any{"tool_name": "list_workspaces"}
	argsJSON, _ := json.Marshal(callArgs)
	p("7. Gateway-held OAuth (3LO): %s's outbound auth is an OAuth authorization-code\n", demoOAuthTarget)
	p("   credential provider; AgentCore Identity keeps each user's Asana token in its vault.\n")
	p("   You (the demo's Cognito client) have not consented yet. The model calls:\n")
	p("     %s %s\n", demoOAuthTool, argsJSON)

	d.sim.ClearReceived()
	type outcome struct {
		res *mcp.CallToolResult
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: demoOAuthTool, Arguments: callArgs})
		done <- outcome{res, err}
	}()
	var consentURL string
	select {
	case consentURL = <-d.notices.url:
	case o := <-done:
		if o.err != nil {
			return fmt.Errorf("demo: tools/call through the proxy: %w", o.err)
		}
		return fmt.Errorf("demo: the call to %s did not wait for a consent: %s", demoOAuthTool, d.scrub.String(resultText(o.res)))
	case <-ctx.Done():
		return fmt.Errorf("demo: agw-proxy told no consent URL: %w", ctx.Err())
	}
	p("   The Gateway answered with a URL elicitation, the consent URL. The demo's client\n")
	p("   cannot show URLs, so agw-proxy waits for the consent and tells you:\n")
	for line := range strings.Lines(d.notices.String()) {
		p("     %s\n", strings.TrimSuffix(line, "\n"))
	}
	opened := false
	if d.noBrowser {
		p("   (--no-browser: agw-proxy only printed the URL, as serve --no-browser does.)\n")
	} else {
		select {
		case err := <-d.opened:
			if err != nil {
				p("   No browser could be opened here (%s): the URL above is the one you would open.\n", firstLine(err.Error()))
			} else {
				opened = true
				p("   agw-proxy started your browser on it, as login does.\n")
			}
		case <-ctx.Done():
			return fmt.Errorf("demo: agw-proxy did not try to open the consent URL: %w", ctx.Err())
		}
	}

	visit, err := gatewaysim.ConsentInBrowser(ctx, nil, consentURL, "allow")
	if err != nil {
		return fmt.Errorf("demo: the consent in the played browser: %w", err)
	}
	if visit.Status != 200 || visit.URL == nil || !strings.HasPrefix(visit.URL.String(), d.sim.ReturnAppURL) {
		return fmt.Errorf("demo: the played browser ended at %v (HTTP %d), not the Gateway owner's return-URL app", visit.URL, visit.Status)
	}
	p("   The emulator's consent page, accepted on your behalf: the demo plays your browser,\n")
	p("   clicks Allow, and follows the redirects through AgentCore Identity to the Gateway\n")
	p("   owner's return-URL app:\n")
	p("     GET %s -> HTTP %d\n", visit.URL, visit.Status)
	p("   That app bound the session to you (CompleteResourceTokenAuth, signed with its own\n")
	p("   AWS credentials), and AgentCore Identity vaulted your Asana token.\n")
	if opened {
		p("   (The tab in your browser now holds a used consent page: you can close it.)\n")
	}

	var o outcome
	select {
	case o = <-done:
	case <-ctx.Done():
		return fmt.Errorf("demo: the call did not go through after the consent: %w", ctx.Err())
	}
	if o.err != nil {
		return fmt.Errorf("demo: tools/call through the proxy: %w", o.err)
	}
	token := d.sim.VaultedTokens(sub)[demoOAuthTarget]
	if token == "" {
		return errors.New("demo: AgentCore Identity vaulted no token after the consent")
	}
	d.scrub.Add(tokenstore.Secret(token)) // the demo prints it masked, like its other secrets
	text := resultText(o.res)
	if o.res.IsError {
		return fmt.Errorf("demo: the call failed after the consent: %s", d.scrub.String(text))
	}
	var got []gatewaysim.Request
	for _, r := range d.sim.Received() {
		if r.Target == demoOAuthTarget {
			got = append(got, r)
		}
	}
	if len(got) != 1 || got[0].Header.Get("Authorization") != "Bearer "+token {
		return fmt.Errorf("demo: the API behind %s did not receive the vaulted token once (%d requests)", demoOAuthTarget, len(got))
	}
	p("   agw-proxy polled the call meanwhile; the first poll after the binding went through.\n")
	p("   The Asana API behind %s received:\n", demoOAuthTarget)
	p("     %s %s\n", got[0].Method, got[0].Path)
	p("     Authorization: %s   <- your token from Identity's vault, added by the Gateway\n", d.mask(got[0].Header.Get("Authorization")))
	p("     body: %s\n", got[0].Body)
	p("   agw-proxy never holds that token. The model gets back:\n")
	p("     %s\n\n", d.scrub.String(text))
	return nil
}

// maskVaulted hides the tokens AgentCore Identity vaulted for the demo's
// user in s.
func (d *demo) maskVaulted(s string) string {
	for _, v := range d.sim.VaultedTokens(d.sim.ClientID) {
		s = strings.ReplaceAll(s, v, proxy.Mask)
	}
	return s
}

// consentTimeout is how long a call waits for the consent.
func (d *demo) consentTimeout() time.Duration {
	return cmp.Or(d.profile.ConsentTimeout, proxy.DefaultConsentTimeout)
}
