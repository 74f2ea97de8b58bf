package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agw-proxy/agw-proxy/internal/profile"
	"github.com/agw-proxy/agw-proxy/proxy"
)

// Consent to the Gateway's OAuth (3LO) targets, outside serve: "login
// TARGET --consent" asks for it ahead of time, doctor tells whether it was
// given. Both must call a tool: the Gateway asks for consent only on
// tools/call (tools/list never does), and a call of a consented user goes
// on to the target's API. So they call a tool the user names as
// read-only (consent_tools, or --tool), never one they pick themselves.

// consentOptions sets the consent options of serve (and login --consent):
// the browser opener unless --no-browser or open_browser: false, notices
// on stderr, timeouts.consent.
func consentOptions(opts *proxy.Options, e *env, p *profile.Profile, noBrowser bool) {
	opts.Notices = e.stderr
	opts.ConsentTimeout = p.ConsentTimeout
	if p.OpenBrowser && !noBrowser {
		opts.OpenURL = openBrowser
	}
}

// consentCommand is the command that asks for consent to target ahead of
// time.
func consentCommand(p *profile.Profile, target string) string {
	cmd := p.Command("login", target) + " --consent"
	if p.ConsentTool(target) == "" {
		cmd += " --tool READ_ONLY_TOOL"
	}
	return cmd
}

// consentTool returns the read-only tool login --consent calls for target:
// --tool (an operation name is taken as one of target's), else the
// profile's consent_tools entry.
func consentTool(p *profile.Profile, target, tool string) (string, error) {
	if tool == "" {
		if tool = p.ConsentTool(target); tool == "" {
			return "", usageError(withHints(fmt.Errorf("login --consent: name a read-only tool of target %q with --tool", target),
				"the Gateway asks for consent only when a tool is called, and once you have consented the call reaches the API: name a tool that only reads, e.g. --tool "+target+"___getMe",
				"or list it in the profile: consent_tools: ["+target+"___getMe]"))
		}
		return tool, nil
	}
	if !strings.Contains(tool, "___") {
		return target + "___" + tool, nil
	}
	if targetOfTool(tool) != target {
		return "", usageErrorf("login", "--tool %q is not a tool of target %q (tools are named TARGET___OPERATION)", tool, target)
	}
	return tool, nil
}

func targetOfTool(tool string) string {
	t, _, _ := strings.Cut(tool, "___")
	return t
}

// loginConsent runs "login TARGET --consent": a proxy in this process
// calls the read-only tool; when the Gateway asks for consent, the
// browser opens (or the URL is printed) and the call is polled until the
// consent went through, as in serve. reconsent sends forceAuthentication,
// so that the Gateway forgets the user's token and asks again.
func loginConsent(ctx context.Context, e *env, p *profile.Profile, target, tool, arguments string, reconsent, noBrowser bool) error {
	if err := p.RequireGateway(); err != nil {
		return err
	}
	tool, err := consentTool(p, target, tool)
	if err != nil {
		return err
	}
	args := map[string]any{}
	if arguments != "" {
		if err := json.Unmarshal([]byte(arguments), &args); err != nil {
			return usageErrorf("login", "--arguments must be a JSON object: %v", err)
		}
	}
	client, err := httpClient(p)
	if err != nil {
		return err
	}
	scrub := proxy.NewScrubber()
	secrets := &scrubbedSecrets{Secrets: e.secretStore(), scrub: scrub}
	opts := proxyOptions(e, p, secrets, client, scrub)
	opts.Logger = newLogger(e.stderr, scrub, slog.LevelError)
	consentOptions(&opts, e, p, noBrowser)
	asked := &noticed{w: scrub.Writer(e.stderr)}
	opts.Notices = asked
	px, err := proxy.New(opts)
	if err != nil {
		return err
	}

	// The proxy serves one client over pipes: this command, which cannot
	// show a URL itself, so the proxy opens it.
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- px.Run(runCtx, inR, outW) }()
	defer func() {
		inW.Close()
		stop()
		<-done
		outR.Close()
	}()
	c := mcp.NewClient(&mcp.Implementation{Name: "agw-proxy-login", Version: currentBuild().Version}, nil)
	cs, err := c.Connect(ctx, &mcp.IOTransport{Reader: outR, Writer: inW}, &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	if err != nil {
		return err
	}
	defer cs.Close()
	params := &mcp.CallToolParams{Name: tool, Arguments: args}
	if reconsent {
		params.Meta = mcp.Meta{proxy.CredentialProviderMetaKey: map[string]any{"oauthCredentialProvider": map[string]any{"forceAuthentication": true}}}
	}
	writef(e.stdout, "Calling %s (read-only, as named) to ask the Gateway for consent to target %q...\n", tool, target)
	res, err := cs.CallTool(ctx, params)
	if err != nil {
		return fmt.Errorf("calling %s: %s", tool, scrub.String(err.Error()))
	}
	text := scrub.String(resultText(res))
	if res.IsError && strings.Contains(text, "needs your consent") {
		return errors.New(strings.TrimPrefix(text, "agw-proxy: "))
	}
	switch {
	case asked.n.Load() > 0:
		writef(e.stdout, "Consent to target %q given: the Gateway now calls it with your token.\n", target)
	default:
		writef(e.stdout, "Target %q did not ask for consent: you have consented already (run with --reconsent to consent again, e.g. as another account).\n", target)
	}
	if res.IsError {
		writef(e.stdout, "Note: %s answered an error, which did not come from the consent: %s\n", tool, printable(firstLine(text)))
	}
	return nil
}

// noticed is a Writer that counts what was written to it.
type noticed struct {
	w io.Writer
	n atomic.Int64
}

func (n *noticed) Write(b []byte) (int, error) {
	n.n.Add(1)
	return n.w.Write(b)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// A consentVerdict is what a probe of a consent tool found.
type consentVerdict int

const (
	consentGiven   consentVerdict = iota + 1 // the call went past the vault
	consentMissing                           // the Gateway asked for consent
	consentUnknown                           // the call failed otherwise
)

// probeConsent calls the read-only tool on cs (a session whose client
// leaves input_required results to its caller) once and tells whether the
// Gateway asked for consent. It waits for nothing and opens nothing.
func probeConsent(ctx context.Context, cs *mcp.ClientSession, tool string) (consentVerdict, string) {
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: map[string]any{}})
	var jerr *jsonrpc.Error
	switch {
	case errors.As(err, &jerr) && jerr.Code == mcp.CodeURLElicitationRequired:
		return consentMissing, ""
	case err != nil:
		return consentUnknown, err.Error()
	case len(res.InputRequests) > 0:
		for _, r := range res.InputRequests {
			if ep, ok := r.(*mcp.ElicitParams); ok && ep.Mode == "url" {
				return consentMissing, ""
			}
		}
		return consentUnknown, "the Gateway asked for input other than a consent"
	case res.IsError:
		return consentGiven, firstLine(resultText(res))
	}
	return consentGiven, ""
}

// checkConsents tells, for each consent_tools entry, whether the user has
// consented to its target: one call of the read-only tool, which the
// Gateway answers with a consent URL (not consented) or passes to the API.
func (d *doctor) checkConsents(ctx context.Context, p *profile.Profile, cs *mcp.ClientSession, tools []*mcp.Tool, timeout time.Duration) {
	listed := map[string]bool{}
	for _, t := range tools {
		listed[t.Name] = true
	}
	for _, tool := range p.ConsentTools {
		target := targetOfTool(tool)
		label := fmt.Sprintf("consent %s", target)
		if !listed[tool] {
			d.fail(false, fmt.Sprintf("%s: the Gateway lists no tool %s", label, tool),
				fmt.Sprintf("fix consent_tools (%s): name a read-only tool of the target as tools/list shows it", p.Origin("consent_tools")))
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, timeout)
		verdict, detail := probeConsent(cctx, cs, tool)
		cancel()
		switch verdict {
		case consentGiven:
			d.pass("%s: consented (the Gateway called %s with your token)", label, tool)
			if detail != "" {
				d.note("%s answered an error, not about consent: %s", tool, detail)
			}
		case consentMissing:
			d.fail(true, fmt.Sprintf("%s: not consented: the Gateway asks for your consent to the target's OAuth", label),
				fmt.Sprintf("run %q (or call a tool from the client, which opens the consent)", consentCommand(p, target)))
		default:
			d.fail(false, fmt.Sprintf("%s: could not tell: calling %s failed: %s", label, tool, detail))
		}
	}
}

// consents prints the profile's Gateway-held OAuth targets (consent_tools).
// Whether the user consented is not checked: only a call of a tool tells,
// and a call of a consented user reaches the target's API; status makes
// none (doctor does, with the read-only tool named).
func (st *status) consents() {
	if len(st.p.ConsentTools) == 0 {
		return
	}
	writef(st.w, "Gateway-held OAuth (consent_tools):\n")
	tw := tabwriter.NewWriter(st.w, 0, 0, 2, ' ', 0)
	for _, tool := range st.p.ConsentTools {
		writef(tw, "    %s\tconsent not checked: run %q (it calls %s)\n", targetOfTool(tool), st.p.Command("doctor", ""), tool)
	}
	tw.Flush()
}
