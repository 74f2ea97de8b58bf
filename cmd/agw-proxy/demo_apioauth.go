package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agw-proxy/agw-proxy/internal/gatewaysim"
	"github.com/agw-proxy/agw-proxy/internal/profile"
	"github.com/agw-proxy/agw-proxy/secretsource"
	"github.com/agw-proxy/agw-proxy/tokenstore"
)

// The demo's rule with an oauth source: the API behind demoAppTarget wants
// an access token of the provider's own OAuth app (the emulator's provider
// apps, a public app with PKCE), which agw-proxy mints from the refresh
// token that "agw-proxy login asana-app" stored. The demo runs that login
// (loginRuleOAuth, over its in-memory store) and plays the browser on its
// one-time URL; then a call, the access token expiring, and the next call
// going through on a refreshed one.

const (
	demoAppTarget = "AsanaApp"
	demoAppTool   = demoAppTarget + "___asanaInvoke"
	demoAppSecret = "asana-app"
	// demoAppLifetime is the lifetime of the demo's first access token:
	// short, so that the demo sees it expire (Asana's last an hour, which
	// the emulator gives the ones after it).
	demoAppLifetime = 2 * time.Second
	// demoServeAppLifetime is their lifetime in demo --serve: a session
	// of a few minutes sees refreshes.
	demoServeAppLifetime = time.Minute
)

// demoAppRule is the oauth rule for the provider app registered on
// redirect, the way a config file would give it.
func demoAppRule(sim *gatewaysim.Sim, app gatewaysim.ProviderApp) profile.InjectRule {
	return profile.InjectRule{
		Argument: demoArgument, Secret: demoAppSecret, Format: profile.DefaultFormat,
		Tools: []string{demoAppTarget + "___*"}, Via: profile.ViaArgument, Source: profile.SourceOAuth,
		OAuth: profile.InjectOAuth{
			AuthorizeURL: sim.ProviderURL + gatewaysim.ProviderAuthorizePath,
			TokenURL:     sim.ProviderURL + gatewaysim.ProviderTokenPath,
			ClientID:     app.ClientID,
			RedirectURL:  app.RedirectURL,
		},
	}
}

// freeLoopbackURL returns a redirect URL on a loopback port that was free
// a moment ago, for the demo's provider app (an app registers its
// redirect URL, port included, before any login).
func freeLoopbackURL() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return fmt.Sprintf("http://%s/callback", l.Addr()), nil
}

// loginApp runs "agw-proxy login asana-app" over the demo's store and plays
// the user's browser on its one-time URL: opened by login's opener, or,
// with --no-browser, taken from what login printed. It returns what login
// printed (the instructions) and the played browser's last visit.
func (d *demo) loginApp(ctx context.Context) (string, gatewaysim.BrowserVisit, error) {
	rule := d.profile.RuleOf(demoAppSecret)
	if rule == nil {
		return "", gatewaysim.BrowserVisit{}, errors.New("demo: no rule for " + demoAppSecret)
	}
	printed := newConsentNotices(nil) // keeps what login prints and hands on its URL
	opened := make(chan string, 1)
	// The demo's browser is login's opener: a real one would race it for
	// the URL, which works once.
	open := func(u string) error { opened <- u; return nil }
	if d.noBrowser {
		open = nil
	}
	var stdout strings.Builder
	e := &env{stdin: strings.NewReader(""), stdout: &stdout, stderr: printed, getenv: func(string) string { return "" },
		testKeychain: func(func(string) string) tokenstore.Secrets {
			return &scrubbedSecrets{Secrets: d.secrets, scrub: d.scrub}
		}}
	done := make(chan error, 1)
	go func() { done <- loginRuleOAuth(ctx, e, d.profile, *rule, open, false) }()

	var u string
	if d.noBrowser {
		opened = printed.url
	}
	select {
	case u = <-opened:
	case err := <-done:
		return "", gatewaysim.BrowserVisit{}, fmt.Errorf("demo: login %s ended before the browser: %v", demoAppSecret, err)
	case <-ctx.Done():
		return "", gatewaysim.BrowserVisit{}, fmt.Errorf("demo: login %s showed no URL: %w", demoAppSecret, ctx.Err())
	}
	visit, err := gatewaysim.ConsentInBrowser(ctx, nil, u, "allow")
	if err != nil {
		return "", visit, fmt.Errorf("demo: the login in the played browser: %w", err)
	}
	select {
	case err = <-done:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		return "", visit, fmt.Errorf("demo: login %s: %w", demoAppSecret, err)
	}
	return printed.String(), visit, nil
}

// showAppOAuth prints step 8: the login of the rule with an oauth source,
// a call, the access token expiring and the next call going through on a
// refreshed one; it checks each, and the provider's counts.
func (d *demo) showAppOAuth(ctx context.Context, cs *mcp.ClientSession, p printer) error {
	p("8. The API's own OAuth (source: oauth): %s's API wants an access token of your\n", demoAppTarget)
	p("   login to Asana's OAuth app. agw-proxy keeps only its refresh token and mints\n")
	p("   the access tokens. The login, %q:\n", "agw-proxy login "+demoAppSecret)
	printed, visit, err := d.loginApp(ctx)
	if err != nil {
		return err
	}
	for line := range strings.Lines(printed) {
		if line = strings.TrimRight(line, "\n"); strings.TrimSpace(line) != "" && !strings.HasPrefix(line, "Waiting") {
			p("     %s\n", line)
		}
	}
	if d.noBrowser {
		p("   (--no-browser: login only printed the URL; the demo's browser opened it, as you would.)\n")
	} else {
		p("   login opened it in the demo's browser (yours stays closed: the URL works once).\n")
	}
	p("   The demo's browser allowed access on the emulator's consent page (PKCE S256) and\n")
	p("   came back to the app's loopback redirect_url: HTTP %d.\n", visit.Status)
	_, issued := d.sim.ProviderAppTokens()
	stored, err := d.secrets.Get(ctx, d.profile.Name, secretsource.RefreshTokenName(demoAppSecret))
	if err != nil || len(issued) != 1 || string(stored) != issued[0] {
		return fmt.Errorf("demo: login %s did not store the refresh token it got (%v)", demoAppSecret, err)
	}
	d.scrub.Add(stored)
	if _, err := d.secrets.Get(ctx, d.profile.Name, demoAppSecret); !errors.Is(err, tokenstore.ErrNotFound) {
		return fmt.Errorf("demo: login %s stored an access token", demoAppSecret)
	}
	p("   Stored: %s = %s, and nothing else.\n\n", secretsource.RefreshTokenName(demoAppSecret), d.scrub.String(string(stored)))

	callArgs := map[string]any{"tool_name": "get_me"}
	argsJSON, _ := json.Marshal(callArgs)
	d.sim.SetProviderTokenLifetime(demoAppLifetime)
	first, err := d.appCall(ctx, cs, callArgs)
	d.sim.SetProviderTokenLifetime(0) // an hour, from the next token on
	if err != nil {
		return err
	}
	p("   The model calls %s %s; the API received\n", demoAppTool, argsJSON)
	p("     %s: %s   <- an access token agw-proxy minted (it lives %s here)\n", demoArgument, d.scrub.String(first), demoAppLifetime)
	before := d.sim.ProviderCounts()
	select {
	case <-time.After(demoAppLifetime + 100*time.Millisecond):
	case <-ctx.Done():
		return ctx.Err()
	}
	p("   %s later it has expired. The model calls again; the API received\n", demoAppLifetime)
	second, err := d.appCall(ctx, cs, callArgs)
	if err != nil {
		return err
	}
	after := d.sim.ProviderCounts()
	refreshes, refused := after.Refreshes-before.Refreshes, (after.ExpiredRejected+after.Rejected)-(before.ExpiredRejected+before.Rejected)
	if second == first || refreshes != 1 || refused != 0 {
		return fmt.Errorf("demo: after the token expired: %d refreshes, %d tokens refused, a new token %v; want one refresh and none refused",
			refreshes, refused, second != first)
	}
	_, issued = d.sim.ProviderAppTokens()
	if stored, err = d.secrets.Get(ctx, d.profile.Name, secretsource.RefreshTokenName(demoAppSecret)); err != nil || string(stored) != issued[len(issued)-1] {
		return errors.New("demo: the rotated refresh token was not stored")
	}
	p("     %s: %s   <- a new one: agw-proxy refreshed before the call\n", demoArgument, d.scrub.String(second))
	p("   and the model got its result, with no error: it noticed nothing. The provider counted\n")
	p("   1 refresh for this call and 0 tokens refused; each refresh rotated the refresh token,\n")
	p("   and agw-proxy stored the new one.\n\n")
	return nil
}

// appCall calls the oauth rule's tool and returns the token header the API
// received with it, checked to be an access token the provider issued.
func (d *demo) appCall(ctx context.Context, cs *mcp.ClientSession, args map[string]any) (string, error) {
	d.sim.ClearReceived()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: demoAppTool, Arguments: args})
	if err != nil {
		return "", fmt.Errorf("demo: tools/call through the proxy: %w", err)
	}
	if res.IsError {
		return "", fmt.Errorf("demo: the call to %s failed: %s", demoAppTool, d.scrub.String(resultText(res)))
	}
	var got []gatewaysim.Request
	for _, r := range d.sim.Received() {
		if r.Target == demoAppTarget {
			got = append(got, r)
		}
	}
	access, _ := d.sim.ProviderAppTokens()
	if len(got) != 1 || len(access) == 0 || got[0].Header.Get(demoArgument) != "Bearer "+access[len(access)-1] {
		return "", fmt.Errorf("demo: the API behind %s did not receive the newest access token once (%d requests)", demoAppTarget, len(got))
	}
	return got[0].Header.Get(demoArgument), nil
}
