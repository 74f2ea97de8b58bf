package proxy

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Consent to a Gateway-held OAuth target (3LO through AgentCore Identity).
//
// A target whose outbound auth is an OAuth authorization-code credential
// provider needs the user's consent once: until AgentCore Identity holds
// the user's token, the Gateway answers a call with a URL elicitation, the
// consent URL (JSON-RPC error -32042 with data.elicitations in the 2025
// revisions, an input_required result with a url-mode elicitation/create
// in 2026-07-28). After the user consented in a browser, and the session
// was bound to the user (by the Gateway owner's return-URL app, which
// calls CompleteResourceTokenAuth: a desktop program with only the user's
// Cognito token cannot), the same call goes through.
//
// The proxy turns that into a call that waits for the consent:
//
//   - a client that declared URL-mode elicitation is asked in its revision
//     (elicitation/create on a 2025 session, an input_required result with
//     the proxy's own requestState for 2026-07-28); once it reports that
//     the user accepted, the call is polled;
//   - for any other client, the proxy opens the URL in the user's browser
//     itself (Options.OpenURL; without it, the URL is only told, on
//     Options.Notices and in the log) and polls the call.
//
// A poll re-sends the call, gently (the gap doubles from
// firstConsentPoll to Options.ConsentPoll), until it no longer asks for
// consent, or Options.ConsentTimeout passes: then the call ends with an
// isError result that says what the user must do, with the URL. The
// Gateway issues a new URL on every call without a vaulted token, so a
// consent is one per target, not per URL: the calls to a target that wait
// at the same time wait on the same consent (one browser tab, one question
// to the client), and the first that goes through wakes the others. A
// proxy serves one Gateway user (its profile's login), so per target is
// per (target, user).
//
// Nothing the Gateway sends is opened or relayed unless it is an https://
// URL (http:// only to a loopback host, for the emulator), without user
// information or white space; the opener gets it as one argument.

// consentStatePrefix starts the requestState of the input_required result
// the proxy makes of a consent for a 2026-07-28 client.
const consentStatePrefix = "agw-proxy-consent."

// consentKey is the key of the consent's input request in that result.
const consentKey = "consent"

// firstConsentPoll is the first gap between polls of a waiting call.
const firstConsentPoll = 500 * time.Millisecond

// maxConsentURL bounds a consent URL's length.
const maxConsentURL = 8 << 10

// Defaults for the consent options.
const (
	DefaultConsentTimeout = 2 * time.Minute
	DefaultConsentPoll    = 3 * time.Second
)

// CredentialProviderMetaKey is the _meta key of a tools/call with which a
// client sets the Gateway's 3LO settings for one call
// (oauthCredentialProvider {returnUrl, forceAuthentication}). The proxy
// passes it on; its polls drop forceAuthentication, which would otherwise
// throw away the consent each poll waits for.
const CredentialProviderMetaKey = "aws.bedrock-agentcore.gateway/credentialProviderConfiguration"

// An elicitation is a URL elicitation of the Gateway.
type elicitation struct {
	Mode          string `json:"mode,omitempty"`
	Message       string `json:"message"`
	URL           string `json:"url"`
	ElicitationID string `json:"elicitationId"`
}

// urlElicitationOf returns the Gateway's URL elicitation in a call's
// outcome: a -32042 error's first url-mode elicitation, or an
// input_required result whose every request is a url-mode
// elicitation/create (its first). ok is false for anything else.
func urlElicitationOf(res json.RawMessage, err error) (el elicitation, ok bool) {
	var jerr *jsonrpc.Error
	if err != nil {
		if !errors.As(err, &jerr) || jerr.Code != mcp.CodeURLElicitationRequired {
			return el, false
		}
		var data struct {
			Elicitations []elicitation `json:"elicitations"`
		}
		_ = json.Unmarshal(jerr.Data, &data)
		for _, e := range data.Elicitations {
			if (e.Mode == "url" || e.Mode == "") && e.URL != "" {
				return e, true
			}
		}
		return el, false
	}
	reqs, _, isInput := inputRequired(res)
	if !isInput || len(reqs) == 0 {
		return el, false
	}
	for i, r := range reqs {
		if r.method != "elicitation/create" || elicitMode(r.params) != "url" {
			return elicitation{}, false
		}
		if i == 0 && json.Unmarshal(r.params, &el) != nil {
			return elicitation{}, false
		}
	}
	return el, el.URL != ""
}

// consentURL checks a URL the Gateway asks the user to open: https://, or
// http:// to a loopback host; a host, no user information, no white space
// or control characters, at most maxConsentURL bytes.
func consentURL(raw string) (string, error) {
	if len(raw) > maxConsentURL {
		return "", fmt.Errorf("it is longer than %d bytes", maxConsentURL)
	}
	if i := strings.IndexFunc(raw, func(r rune) bool { return r <= ' ' || r == 0x7f }); i >= 0 {
		return "", errors.New("it holds white space or a control character")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return "", errors.New("it is not an absolute URL with a host")
	}
	if u.User != nil {
		return "", errors.New("it carries user information")
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		return raw, nil
	case "http":
		if h := u.Hostname(); h == "localhost" || isLoopbackIP(h) {
			return raw, nil
		}
		return "", errors.New("it is http:// to a host that is not loopback (only https:// is opened)")
	}
	return "", fmt.Errorf("its scheme %q is not https", u.Scheme)
}

func isLoopbackIP(h string) bool {
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// targetOf is the Gateway target of a tool ({target}___{operation}).
func targetOf(tool string) string {
	if t, _, ok := strings.Cut(tool, "___"); ok {
		return t
	}
	return tool
}

// A consent is the user's consent to one target, which calls wait on.
type consent struct {
	target   string
	deadline time.Time
	done     chan struct{} // closed when it ended

	// Guarded by consentState.mu.
	url   string // the latest consent URL the Gateway sent
	ended bool
	end   error              // why it ended: nil when a call went through
	ss    *mcp.ServerSession // the 2025 client asked, told when it ends
	id    string             // the elicitationId it was asked with
}

// consentState holds the consents calls wait on.
type consentState struct {
	mu       sync.Mutex
	byTarget map[string]*consent
	byState  map[string]*consent // the requestStates handed to 2026-07-28 clients
}

// join returns the consent calls to target wait on, making it (created)
// when there is none or it has ended.
func (cs *consentState) join(target, url string, timeout time.Duration) (cn *consent, created bool) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cn = cs.byTarget[target]; cn != nil && !cn.ended && time.Now().Before(cn.deadline) {
		cn.url = url
		return cn, false
	}
	if cn != nil {
		// Past its deadline with no call left to end it (a 2026-07-28
		// client that never retried): its requestStates go with it.
		cs.finishLocked(cn, errConsentExpired)
	}
	if cs.byTarget == nil {
		cs.byTarget = map[string]*consent{}
	}
	cn = &consent{target: target, deadline: time.Now().Add(timeout), done: make(chan struct{}), url: url}
	cs.byTarget[target] = cn
	return cn, true
}

// seen records the latest URL the Gateway sent for cn.
func (cs *consentState) seen(cn *consent, url string) {
	cs.mu.Lock()
	cn.url = url
	cs.mu.Unlock()
}

// latest returns cn's latest URL.
func (cs *consentState) latest(cn *consent) string {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cn.url
}

// outcome returns why cn ended (nil: a call went through).
func (cs *consentState) outcome(cn *consent) error {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cn.end
}

// finish ends cn (once) with end, waking every call that waits on it, and
// forgets it. It returns the 2025 client session to tell, if any.
func (cs *consentState) finish(cn *consent, end error) (ss *mcp.ServerSession, id string) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cs.finishLocked(cn, end)
}

// errConsentExpired ends a consent whose deadline passed unnoticed.
var errConsentExpired = &inputError{"the consent this call waited for has expired (timeouts.consent); call the tool again"}

func (cs *consentState) finishLocked(cn *consent, end error) (ss *mcp.ServerSession, id string) {
	if cn.ended {
		return nil, ""
	}
	cn.ended, cn.end = true, end
	close(cn.done)
	if cs.byTarget[cn.target] == cn {
		delete(cs.byTarget, cn.target)
	}
	for k, v := range cs.byState {
		if v == cn {
			delete(cs.byState, k)
		}
	}
	return cn.ss, cn.id
}

// handOut returns a new requestState naming cn, for a 2026-07-28 client;
// ok is false when maxParked are out already.
func (cs *consentState) handOut(cn *consent) (state string, ok bool) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if len(cs.byState) >= maxParked {
		return "", false
	}
	if cs.byState == nil {
		cs.byState = map[string]*consent{}
	}
	state = consentStatePrefix + rand.Text()
	cs.byState[state] = cn
	return state, true
}

// take returns, and forgets, the consent state names, if it is for the
// target of tool.
func (cs *consentState) take(state, tool string) (*consent, bool) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cn, ok := cs.byState[state]
	if !ok || cn.target != targetOf(tool) {
		return nil, false
	}
	delete(cs.byState, state)
	return cn, true
}

// asked records that cn's question went to the 2025 client ss.
func (cs *consentState) asked(cn *consent, ss *mcp.ServerSession, id string) {
	cs.mu.Lock()
	cn.ss, cn.id = ss, id
	cs.mu.Unlock()
}

// canAskURL reports whether c can be asked to open a URL.
func (c caller) canAskURL() bool {
	return c.canAsk("elicitation/create", json.RawMessage(`{"mode":"url"}`))
}

// awaitConsent serves a call the Gateway answered with the URL elicitation
// el: the call waits for the user's consent (see above) and gets the
// result of the poll that went through, or an isError result.
func (p *Proxy) awaitConsent(ctx context.Context, params *callParams, c caller, el elicitation) (json.RawMessage, bool, error) {
	target := targetOf(params.Name)
	u, err := consentURL(el.URL)
	if err != nil {
		p.log.Warn("the Gateway asked the user to open a URL that agw-proxy does not open", "tool", params.Name, "reason", err.Error())
		return nil, false, &inputError{fmt.Sprintf("the Gateway asked the user to open a URL for target %q that agw-proxy neither opens nor relays (%s): %q", target, err, el.URL)}
	}
	el.URL = u
	cn, created := p.consents.join(target, u, p.opts.ConsentTimeout)
	if created {
		p.log.Info("the Gateway needs the user's consent", "target", target, "tool", params.Name, "url", u)
		switch {
		case c.canAskURL() && c.stateless:
			return p.askConsentStateless(cn, el)
		case c.canAskURL():
			if err := p.askConsentSession(ctx, c, cn, el); err != nil {
				return nil, false, err
			}
		default:
			p.openConsent(cn, el)
		}
	}
	return p.pollConsent(ctx, params, c, cn)
}

// openConsent tells the user of cn's URL, and opens it in the browser when
// the proxy may.
func (p *Proxy) openConsent(cn *consent, el elicitation) {
	if p.opts.OpenURL == nil {
		p.log.Warn("open the consent URL in a browser", "target", cn.target, "url", el.URL)
		p.notice("agw-proxy: target %s needs your consent (Gateway-held OAuth): open this URL in a browser, sign in and allow access; waiting up to %s:\n  %s\n", cn.target, p.opts.ConsentTimeout, el.URL)
		return
	}
	p.notice("agw-proxy: target %s needs your consent (Gateway-held OAuth): opening it in your browser; waiting up to %s. If no browser opens, open:\n  %s\n", cn.target, p.opts.ConsentTimeout, el.URL)
	if err := p.opts.OpenURL(el.URL); err != nil {
		p.log.Warn("could not open the browser; open the consent URL yourself", "target", cn.target, "url", el.URL, "error", err.Error())
		return
	}
	p.log.Info("opened the consent URL in the browser", "target", cn.target)
}

// notice writes a line for the user to Options.Notices.
func (p *Proxy) notice(format string, a ...any) {
	if p.opts.Notices != nil {
		fmt.Fprintf(p.opts.Notices, format, a...)
	}
}

// askConsentSession asks a 2025 client to have the user open el's URL; a
// user who declines ends cn for every call waiting on it. A client that
// cannot answer leaves it to the browser.
func (p *Proxy) askConsentSession(ctx context.Context, c caller, cn *consent, el elicitation) error {
	if c.ss == nil {
		p.openConsent(cn, el)
		return nil
	}
	ask, cancel := context.WithDeadline(ctx, cn.deadline)
	defer cancel()
	id := el.ElicitationID
	if id == "" {
		id = rand.Text()
	}
	p.log.Debug("relaying the Gateway's consent URL to the client", "target", cn.target)
	res, err := c.ss.Elicit(ask, &mcp.ElicitParams{Mode: "url", Message: el.Message, URL: el.URL, ElicitationID: id})
	switch {
	case err != nil && ctx.Err() != nil:
		p.consents.finish(cn, ctx.Err())
		return ctx.Err()
	case err != nil:
		p.log.Info("the client could not show the consent URL; agw-proxy opens it", "target", cn.target, "error", p.redact(err))
		p.openConsent(cn, el)
		return nil
	case res.Action != "accept":
		e := p.declined(cn.target, res.Action, el.URL)
		p.consents.finish(cn, e)
		return e
	}
	p.consents.asked(cn, c.ss, id)
	return nil
}

// declined is the error of a consent the user declined (action decline or
// cancel).
func (p *Proxy) declined(target, action, u string) *inputError {
	p.log.Info("the user did not consent", "target", target, "action", action)
	return &inputError{fmt.Sprintf("the user did not consent to target %q (%s), so the Gateway cannot call it; to consent later, open %s in a browser and allow access, or call the tool again", target, action, u)}
}

// askConsentStateless answers a 2026-07-28 client with an input_required
// result asking it to have the user open el's URL; its retry, with the
// proxy's requestState, waits for the consent (resumeConsent).
func (p *Proxy) askConsentStateless(cn *consent, el elicitation) (json.RawMessage, bool, error) {
	state, ok := p.consents.handOut(cn)
	if !ok {
		p.consents.finish(cn, nil)
		return nil, false, &inputError{fmt.Sprintf("target %q needs your consent, while %d other calls wait for answers; answer those first: open %s in a browser, allow access, and call the tool again", cn.target, maxParked, el.URL)}
	}
	el.Mode = "url"
	if el.ElicitationID == "" {
		el.ElicitationID = rand.Text()
	}
	params, _ := json.Marshal(el)
	st, _ := json.Marshal(state)
	var b bytes.Buffer
	b.WriteString(`{"resultType":"input_required","inputRequests":{"` + consentKey + `":{"method":"elicitation/create","params":`)
	b.Write(params)
	b.WriteString(`}},"requestState":`)
	b.Write(st)
	b.WriteByte('}')
	p.log.Debug("relaying the Gateway's consent URL to the client as input_required", "target", cn.target)
	return b.Bytes(), true, nil
}

// resumeConsent serves a 2026-07-28 client's retry with a consent's
// requestState: accepted, the call waits for the consent; else it ends.
func (p *Proxy) resumeConsent(ctx context.Context, params *callParams, c caller) (json.RawMessage, bool, error) {
	cn, ok := p.consents.take(params.RequestState, params.Name)
	if !ok {
		res, err := errorResult("the requestState of this retry is unknown: it has been used, or its consent has ended (a consent is waited for at most %s, timeouts.consent) or was for another target; call the tool again without inputResponses and requestState", p.opts.ConsentTimeout)
		return res, false, err
	}
	var answer struct {
		Action string `json:"action"`
	}
	_ = json.Unmarshal(member(params.InputResponses, consentKey), &answer)
	if answer.Action != "accept" {
		e := p.declined(cn.target, cmp.Or(answer.Action, "no answer"), p.consents.latest(cn))
		p.consents.finish(cn, e)
		return nil, false, e
	}
	return p.pollConsent(ctx, params, c, cn)
}

// pollConsent re-sends the call params, gently, until it no longer asks
// for consent, cn ends otherwise, or cn's deadline passes.
func (p *Proxy) pollConsent(ctx context.Context, params *callParams, c caller, cn *consent) (json.RawMessage, bool, error) {
	poll := *params
	poll.InputResponses, poll.RequestState = nil, ""
	poll.Meta.Provider = withoutForce(params.Meta.Provider)
	gap := min(firstConsentPoll, p.opts.ConsentPoll)
	deadline := time.NewTimer(time.Until(cn.deadline))
	defer deadline.Stop()
	done := cn.done
	for {
		t := time.NewTimer(gap)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, false, ctx.Err()
		case <-deadline.C:
			t.Stop()
			e := p.consentTimedOut(cn)
			p.consents.finish(cn, e)
			return nil, false, e
		case <-done:
			t.Stop()
			done = nil // poll at once, then at the gap
			if e := p.consents.outcome(cn); e != nil {
				return nil, false, e
			}
		case <-t.C:
			gap = min(gap*2, p.opts.ConsentPoll)
		}
		s, err := p.ready(ctx)
		var jerr *jsonrpc.Error
		if errors.As(err, &jerr) {
			// As callTool says it: the Gateway is not there (a login).
			return nil, false, &inputError{strings.TrimPrefix(jerr.Message, "agw-proxy: ")}
		}
		if err != nil {
			return nil, false, err
		}
		res, typed, err := p.exchangeOnce(ctx, s, &poll, c)
		if el, again := urlElicitationOf(res, err); again {
			if u, err := consentURL(el.URL); err == nil {
				p.consents.seen(cn, u)
			}
			p.log.Debug("the Gateway still asks for consent", "target", cn.target, "tool", params.Name)
			continue
		}
		if ss, id := p.consents.finish(cn, nil); ss != nil {
			// The URL-mode elicitation is complete (MCP 2025-11-25).
			_ = ss.NotifyElicitationComplete(ctx, &mcp.ElicitationCompleteParams{ElicitationID: id})
		}
		p.log.Info("the consent was given: the call went through", "target", cn.target, "tool", params.Name)
		return res, typed, err
	}
}

// consentTimedOut is the error of a consent that did not come in time.
func (p *Proxy) consentTimedOut(cn *consent) *inputError {
	u := p.consents.latest(cn)
	p.log.Warn("no consent within the consent timeout", "target", cn.target, "timeout", p.opts.ConsentTimeout.String(), "url", u)
	msg := fmt.Sprintf("target %q needs your consent (Gateway-held OAuth), and the Gateway still asked for it after %s (timeouts.consent): open %s in a browser, sign in and allow access, then call the tool again", cn.target, p.opts.ConsentTimeout, u)
	msg = advised(msg, "; or ", p.advice(Remedy{Kind: GiveConsent, Target: cn.target}), " first")
	return &inputError{msg + ". If you allowed access in the browser and the Gateway still asks, the consent may need the Gateway's return-URL app: the application at the target's return URL must call CompleteResourceTokenAuth to bind the consent to you, which agw-proxy cannot do with your Cognito sign-in alone; ask the Gateway's owner to host it"}
}

// withoutForce returns the credential provider _meta value v without
// forceAuthentication (in either spelling of its parent key).
func withoutForce(v json.RawMessage) json.RawMessage {
	if len(v) == 0 || !bytes.Contains(v, []byte("forceAuthentication")) {
		return v
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(v, &m) != nil {
		return nil
	}
	for _, k := range []string{"oauthCredentialProvider", "oauthcredentialProvider"} {
		var inner map[string]json.RawMessage
		if json.Unmarshal(m[k], &inner) != nil || inner == nil {
			continue
		}
		delete(inner, "forceAuthentication")
		m[k], _ = json.Marshal(inner)
	}
	out, _ := json.Marshal(m)
	return out
}
