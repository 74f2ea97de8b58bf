package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"syscall"
	"time"

	"github.com/agw-proxy/agw-proxy/tokenstore"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
)

// An upstream is the Gateway as the proxy uses it. The proxy keeps the tool
// list, the secrets, the retries and everything the client sees; an
// upstream carries requests to the Gateway and brings back what the Gateway
// says. gatewayUpstream (session.go) is the one the proxy uses: on every
// connect it chooses between two implementations, both of which post
// requests over HTTP (gatewayHTTP, post.go), with maintain, sync, callTool
// and forward the same for both:
//
//   - statelessUpstream (stateless.go): MCP 2026-07-28, when the Gateway's
//     server/discover offers it. No initialize and no Mcp-Session-Id; the
//     protocol version and client capabilities in each request's _meta;
//     MCP-Protocol-Version, Mcp-Method, Mcp-Name and Mcp-Param-* headers.
//   - sessionUpstream (session.go): MCP 2025-11-25 (or the older revision
//     the Gateway answers initialize with), an initialized session with an
//     Mcp-Session-Id, opened by the go-sdk client.
//
// An implementation provides:
//
//   - open: what must happen before the first request (initialize, or
//     server/discover), bounded by ctx; the session it returns must outlive
//     ctx. An error that Is tokenstore.ErrLoginNeeded tells the proxy that
//     waiting will not help (the user must log in); any other error is
//     retried with backoff.
//   - upstreamSession.call, safe for concurrent use, through gatewayHTTP:
//     what each request must carry added to params (for the stateless
//     revision, the _meta fields, merged with a _meta the params may hold
//     already: a call's progress token); an Authorization header from
//     Options.OAuthHandler and, after a 401 or 403, one refresh
//     (OAuthHandler.Authorize) and one more try; response bodies and
//     event-stream events bounded (maxResponseSize); notifications on a
//     request's event stream passed to upstreamEvents as they arrive; when
//     ctx ends before the answer, the Gateway told, best effort and without
//     blocking, that the request is no longer wanted (notifications/cancelled
//     on a session; the HTTP request's end in 2026-07-28).
//     Errors: a *jsonrpc.Error is the Gateway's answer (codeInvalidBearer:
//     the token was rejected even after the refresh); an error that Is
//     errNotSent means the request certainly did not reach the target, so
//     the proxy may open a new session and send it once more (a session the
//     Gateway no longer knows, HTTP 404; for both, a connection that could
//     not be made); errors of the HTTP client (*httpguard.RedirectError) and
//     of the OAuth handler (tokenstore.ErrLoginNeeded) are passed on,
//     wrapped with %w.
//   - upstreamEvents.toolsChanged whenever the Gateway announces that its
//     tools changed, however it does (the proxy lists them again, and tells
//     the client only if the list differs); upstreamEvents.stale when the
//     list may be out of date (a stateless list's ttlMs ran out).
//   - upstreamSession.lost, closed when the session ends by itself (the
//     proxy then opens another) or by close. A stateless upstream's is
//     closed by close only.
//
// The events are given to the implementation when it is made (newUpstream).
type upstream interface {
	open(ctx context.Context) (upstreamSession, error)
}

// An upstreamSession is one opened upstream: for sessionUpstream, one MCP
// session with the Gateway; for statelessUpstream, the state of one
// connect (the tools' x-mcp-header bindings).
type upstreamSession interface {
	// call sends one request, method and params (a JSON object), and
	// returns its result: the bytes the Gateway sent, valid JSON.
	call(ctx context.Context, method string, params []byte) (json.RawMessage, error)
	// listed tells the session the Gateway's tools after each complete
	// listing on it: every definition as the Gateway sent it, and the
	// list's ttlMs (0 when it gives none).
	listed(defs [][]byte, ttl time.Duration)
	// lost is closed when the session has ended.
	lost() <-chan struct{}
	// close ends the session; it may be called more than once, from any
	// goroutine.
	close()
	// protocol is the MCP revision the session speaks ("2026-07-28",
	// "2025-11-25"), for logs.
	protocol() string
}

// upstreamEvents is what an upstream tells the proxy (*Proxy implements it).
type upstreamEvents interface {
	// notify passes a notification from the Gateway, its method and params
	// as they came, on to the client.
	notify(ctx context.Context, method string, params json.RawMessage)
	// toolsChanged says the Gateway announced a change of its tools.
	toolsChanged()
	// stale says the tool list may be out of date, with no announced
	// change: it is listed again, and calls do not wait for that.
	stale()
}

// errNotSent marks an error of upstreamSession.call after which the request
// certainly did not reach the target: sending it again cannot repeat its
// effect. The error's text is the cause's.
var errNotSent = errors.New("proxy: the request was not sent")

// notSent wraps err, the cause, as an errNotSent.
func notSent(err error) error { return notSentError{err} }

type notSentError struct{ err error }

func (e notSentError) Error() string   { return e.err.Error() }
func (e notSentError) Unwrap() []error { return []error{e.err, errNotSent} }

// Reconnect backoff after a failed connect or a lost session.
const (
	minBackoff = 250 * time.Millisecond
	maxBackoff = 30 * time.Second
)

// loginRetry is how often the proxy tries to connect again, unasked, while
// the Gateway needs a login. Between tries only a client request (ready)
// wakes it: a login in another process then heals the next call.
var loginRetry = 5 * time.Minute

// maintain keeps an upstream session alive until ctx is done: connect, list
// tools, watch for changes and loss, reconnect with capped backoff.
//
// A connect that fails because the Gateway needs a login (its credential is
// missing or was rejected) is not retried with backoff: only the user can
// fix it, and each try costs a keychain read and, for a rejected
// credential, a round trip to the token endpoint. It is logged once, and
// tried again when a client request arrives (ready wakes maintain through
// p.retry) or every loginRetry.
func (p *Proxy) maintain(ctx context.Context) {
	backoff := minBackoff
	loginLogged := false
	for ctx.Err() == nil {
		s, err := p.connect(ctx)
		if err == nil {
			if err = p.sync(ctx, s); err != nil {
				s.close()
				<-s.lost()
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			p.setLost(nil, err)
			if errors.Is(err, tokenstore.ErrLoginNeeded) {
				if !loginLogged {
					p.log.Warn("gateway login needed", "error", p.scrub.String(loginReason(err)), "advice", p.advice(Remedy{Kind: GatewayLogin}))
					loginLogged = true
				} else {
					p.log.Debug("gateway login still needed", "error", p.redact(err))
				}
				select {
				case <-ctx.Done():
					return
				case <-p.retry:
				case <-time.After(loginRetry):
				}
				backoff = minBackoff
				continue
			}
			loginLogged = false
			p.log.Warn("gateway not reachable", "error", p.redact(err), "retry_in", backoff)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, maxBackoff)
			continue
		}
		backoff, loginLogged = minBackoff, false
		p.log.Debug("gateway connected", "protocol", s.protocol())
		p.watch(ctx, s)
	}
}

// connect opens an upstream session, waiting at most the connect timeout.
func (p *Proxy) connect(ctx context.Context) (upstreamSession, error) {
	ctx, cancel := context.WithTimeout(ctx, p.opts.ConnectTimeout)
	defer cancel()
	s, err := p.up.open(ctx)
	if err != nil {
		return nil, fmt.Errorf("connect to the Gateway: %w", err)
	}
	return s, nil
}

// watch serves re-sync requests for s until the session ends or ctx is done.
func (p *Proxy) watch(ctx context.Context, s upstreamSession) {
	for {
		select {
		case <-ctx.Done():
			s.close()
			<-s.lost()
			return
		case <-s.lost():
			p.setLost(s, errors.New("the Gateway session ended"))
			p.log.Info("gateway session ended; reconnecting")
			return
		case <-p.resync:
			if err := p.sync(ctx, s); err != nil {
				p.log.Warn("tool re-sync failed", "error", p.redact(err))
			}
		}
	}
}

// sync lists the Gateway's tools on s and publishes the stripped list, with
// the rules each tool gets on a call.
func (p *Proxy) sync(ctx context.Context, s upstreamSession) (err error) {
	ctx, cancel := context.WithTimeout(ctx, p.opts.ConnectTimeout)
	defer cancel()
	p.mu.Lock()
	seen := p.lists.announced
	p.mu.Unlock()
	lst, err := listTools(ctx, s, p.opts.Rules)
	if err != nil {
		// The change cannot be read now: calls waiting for it go on with
		// the list there is (the next sync decides again).
		p.mu.Lock()
		p.lists.settled = max(p.lists.settled, seen)
		p.broadcast()
		p.mu.Unlock()
		return err
	}
	s.listed(lst.defs(), lst.ttl)
	l := p.toolList(lst)
	// What the client gets, as it gets it, for the tool cache: compared
	// with the cached list the client may have had, and stored. Only that
	// comparison needs it before the list is published; a client waiting
	// for its first list (no cached one) is answered first.
	var client []byte
	p.mu.Lock()
	serving := p.cache.serving
	p.mu.Unlock()
	if serving && p.waitPrimed(ctx) == nil {
		client = p.clientBytes(l.listed)
	}
	p.publish(s, l, seen, client)
	if client == nil && p.cache.on() && p.waitPrimed(ctx) == nil {
		client = p.clientBytes(l.listed)
	}
	if client != nil {
		p.storeCache(client, l.count, lst.noStore)
	}
	return nil
}

// maxPages bounds how many pages of tools/list the proxy follows.
const maxPages = 10000

// pageRetries is how many times a page whose answer broke off (the
// connection dropped before the answer was whole) is asked for again at
// once, with the same cursor, before the listing fails.
const pageRetries = 2

// A listing is the Gateway's tools, every page of them.
type listing struct {
	tools []listedTool
	ttl   time.Duration // the last page's ttlMs (0 when it gives none)
	// noStore: a page's cacheScope is neither "private" nor "public" (nor
	// absent), so the list is not kept in the tool cache.
	noStore bool
}

// A listedTool is one tool definition as the Gateway listed it, and what
// the client gets of it (stripToolDef).
type listedTool struct {
	def      []byte // as the Gateway sent it
	name     string
	rules    []*Rule
	stripped []byte
}

// defs returns every definition of l as the Gateway sent it.
func (l *listing) defs() [][]byte {
	defs := make([][]byte, len(l.tools))
	for i, t := range l.tools {
		defs[i] = t.def
	}
	return defs
}

// A pageAnswer is the outcome of one tools/list request.
type pageAnswer struct {
	res json.RawMessage
	err error
}

// listTools returns every tool the Gateway lists on s, following its pages,
// each stripped of rules' arguments. The cursor is all the next request
// needs: it is asked for as soon as a page's cursor is read, and the page's
// tools are split and stripped while it is in flight.
//
// A page whose answer breaks off (an intermediary dropping the connection
// mid-answer: unexpected EOF, connection reset) is asked for again at once,
// with the same cursor, on a new connection (pageRetries); the pages read
// are kept. Only a Gateway that refuses a cursor makes the listing start
// again from the first page, once.
func listTools(ctx context.Context, s upstreamSession, rules []Rule) (listing, error) {
	// Ends a page still in flight when the listing fails.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	fetch := func(cursor string) <-chan pageAnswer {
		ch := make(chan pageAnswer, 1)
		go func() {
			res, err := listPage(ctx, s, cursor)
			ch <- pageAnswer{res, err}
		}()
		return ch
	}
	var l listing
	cursor, restarted := "", false
	pending := fetch(cursor)
	for page := 0; ; page++ {
		a := <-pending
		if a.err != nil {
			if cursor != "" && !restarted && cursorRefused(a.err) {
				// An expired or unknown cursor: the Gateway's list
				// may have changed under it, so it is read anew.
				restarted, l, cursor, page = true, listing{}, "", -1
				pending = fetch(cursor)
				continue
			}
			return listing{}, fmt.Errorf("list the Gateway's tools: %w", a.err)
		}
		tools, next, err := l.readPage(a.res)
		if err != nil {
			return listing{}, fmt.Errorf("list the Gateway's tools: %w", err)
		}
		if next != "" {
			if next == cursor || page == maxPages {
				return listing{}, fmt.Errorf("list the Gateway's tools: pagination does not end (cursor %q)", next)
			}
			pending = fetch(next)
		}
		if err := l.appendTools(tools, rules); err != nil {
			return listing{}, fmt.Errorf("list the Gateway's tools: %w", err)
		}
		if next == "" {
			return l, nil
		}
		cursor = next
	}
}

// listPage asks the Gateway for the tools/list page at cursor ("" for the
// first), again at once when the answer broke off (brokenOff), at most
// pageRetries times: listing is a read, and the Transport does not reuse a
// broken connection.
func listPage(ctx context.Context, s upstreamSession, cursor string) (json.RawMessage, error) {
	params := []byte(`{}`)
	if cursor != "" {
		params, _ = json.Marshal(map[string]string{"cursor": cursor})
	}
	for try := 0; ; try++ {
		res, err := s.call(ctx, "tools/list", params)
		if err == nil || try == pageRetries || ctx.Err() != nil || !brokenOff(err) {
			return res, err
		}
	}
}

// brokenOff reports whether err is an answer that broke off in transit:
// the connection ended or was reset before the answer was whole.
func brokenOff(err error) bool {
	var jerr *jsonrpc.Error
	if errors.As(err, &jerr) {
		return false
	}
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EPIPE)
}

// cursorRefused reports whether err is the Gateway refusing a tools/list
// cursor: invalid params, the code MCP gives an invalid cursor.
func cursorRefused(err error) bool {
	var jerr *jsonrpc.Error
	return errors.As(err, &jerr) && jerr.Code == jsonrpc.CodeInvalidParams
}

// readPage reads one tools/list result: its tools (the array, not yet
// split), and the cursor of the next page, "" for none; it takes the
// page's ttlMs and cacheScope into l.
func (l *listing) readPage(res json.RawMessage) (tools []byte, next string, err error) {
	// The result is valid JSON (checked on arrival): walk it.
	ms, err := members(res)
	if err != nil {
		return nil, "", errors.New("the result is not an object")
	}
	l.ttl = 0
	for _, m := range ms {
		switch {
		case isString(m.key, "tools"):
			tools = m.val
		case isString(m.key, "nextCursor"):
			_ = json.Unmarshal(m.val, &next)
		case isString(m.key, "ttlMs"):
			var ms float64
			if json.Unmarshal(m.val, &ms) == nil && ms > 0 {
				l.ttl = time.Duration(min(ms, float64(math.MaxInt64/2)/float64(time.Millisecond)) * float64(time.Millisecond))
			}
		case isString(m.key, "cacheScope"):
			if !cacheableScope(m.val) {
				l.noStore = true
			}
		}
	}
	return tools, next, nil
}

// appendTools appends the tools of one page (its tools array, nil when it
// has none) to l, each stripped of rules' arguments.
func (l *listing) appendTools(tools []byte, rules []Rule) error {
	if tools == nil {
		return nil
	}
	ts, err := elements(tools)
	if err != nil {
		return errors.New("tools is not an array")
	}
	for _, t := range ts {
		name, applied, stripped := stripToolDef(rules, t.val)
		l.tools = append(l.tools, listedTool{def: t.val, name: name, rules: applied, stripped: stripped})
	}
	return nil
}

// A toolList is the tool list as the proxy serves it.
type toolList struct {
	rules  map[string][]*Rule // rules that apply, by tool name
	listed json.RawMessage    // the tools/list result the client gets
	count  int                // tools in listed
}

// toolList builds the list the client gets from the Gateway's tools, each
// stripped already. A name listed twice is served once, as first listed.
func (p *Proxy) toolList(lst listing) toolList {
	tools := lst.tools
	l := toolList{rules: make(map[string][]*Rule, len(tools))}
	n := 64
	for _, t := range tools {
		n += len(t.stripped) + 1
	}
	listed := make([]byte, 0, n)
	listed = append(listed, `{"tools":[`...)
	for _, t := range tools {
		if t.name != "" {
			if _, dup := l.rules[t.name]; dup {
				// Which listing would the client use, and which would the
				// Gateway call? Serve the first, once, and say so once.
				p.reportDuplicate(t.name)
				continue
			}
			l.rules[t.name] = t.rules
		}
		if l.count > 0 {
			listed = append(listed, ',')
		}
		l.count++
		listed = append(listed, t.stripped...)
	}
	l.listed = append(listed, "]}"...)
	return l
}

// publish makes l the tool list, and s the live session it was listed on.
// seen is how many of the Gateway's announcements the listing began after.
// A client that has listed tools before hears of a change. client is the
// list as the client gets it (clientBytes), or nil when there is no tool
// cache: a client given the cached list hears of a change when this one
// is another.
func (p *Proxy) publish(s upstreamSession, l toolList, seen uint64, client []byte) {
	p.mu.Lock()
	var changed bool
	if p.cache.serving {
		// The client may hold the cached list: the news is whether the
		// Gateway's list, as the client would get it, is another.
		changed = client == nil || !bytes.Equal(p.listed, client)
		p.cache.serving = false
	} else {
		// The news is what the client would see: a change to an argument
		// it never sees (stripped) is none.
		changed = p.listed == nil || !bytes.Equal(p.listed, l.listed)
	}
	if changed {
		p.listGen++
	}
	notify := changed && p.clientAsked
	p.live, p.synced, p.lastErr = s, true, nil
	p.tools, p.listed = l.rules, l.listed
	p.lists.settled = max(p.lists.settled, seen)
	p.broadcast()
	conn := p.conn
	p.mu.Unlock()

	p.log.Debug("tools synced", "count", l.count)
	if notify && conn != nil {
		_ = conn.writeRaw([]byte(`{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}`))
	}
}

// listState is what the tool list keeps between syncs.
type listState struct {
	// announced counts the Gateway's tools/list_changed notifications;
	// settled is how many of them the last finished sync had seen when it
	// began. While announced > settled the list may still name a tool the
	// Gateway has removed: calls that would carry a secret wait (under p.mu).
	announced, settled uint64
	// duplicates are the tool names already reported as listed twice, so
	// that each is reported once, not at every sync (sync's goroutine only).
	duplicates map[string]bool
}

// reportDuplicate logs, once per name, that the Gateway lists a tool name
// more than once.
func (p *Proxy) reportDuplicate(name string) {
	if p.lists.duplicates[name] {
		return
	}
	if p.lists.duplicates == nil {
		p.lists.duplicates = make(map[string]bool)
	}
	p.lists.duplicates[name] = true
	p.log.Error("the Gateway lists a tool name more than once; serving the first listing only", "tool", name)
}

// stripToolDef returns a tool definition's name, the rules that apply to it
// (rulesForTool), and the definition as the client sees it: without the
// rules' arguments in its input schema. Bytes it does not change are kept as
// they came.
func stripToolDef(rules []Rule, tool []byte) (name string, applied []*Rule, out []byte) {
	ms, err := members(tool)
	if err != nil {
		return "", nil, tool
	}
	var schemas []span
	for _, m := range ms {
		switch {
		case isString(m.key, "name"):
			_ = json.Unmarshal(m.val, &name)
		case isString(m.key, "inputSchema"):
			schemas = append(schemas, m)
		}
	}
	if name == "" || len(schemas) == 0 {
		return name, nil, tool
	}
	// A key given twice counts with its last value, as when decoding; the
	// arguments go from every copy all the same.
	applied = rulesForTool(rules, name, schemas[len(schemas)-1].val)
	if len(applied) == 0 {
		return name, nil, tool
	}
	args := ruleArguments(applied)
	out = make([]byte, 0, len(tool))
	last := 0
	for _, m := range schemas {
		stripped, err := stripRaw(m.val, args)
		if err != nil {
			continue
		}
		vs := m.end - len(m.val)
		out = append(out, tool[last:vs]...)
		out = append(out, stripped...)
		last = m.end
	}
	return name, applied, append(out, tool[last:]...)
}

// setLost records that there is no live session (if s is nil or still the
// current one) and why.
func (p *Proxy) setLost(s upstreamSession, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s == nil || p.live == s {
		p.live, p.synced, p.lastErr = nil, false, err
		p.broadcast()
	}
}

// broadcast wakes everyone waiting for a change. Call with p.mu held.
func (p *Proxy) broadcast() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// toolsChanged implements upstreamEvents: the Gateway's tools changed, so
// the list is read again (resyncs coalesce).
func (p *Proxy) toolsChanged() {
	p.mu.Lock()
	p.lists.announced++
	p.mu.Unlock()
	select {
	case p.resync <- struct{}{}:
	default: // one is pending already
	}
}

// stale implements upstreamEvents: the list is read again, as after an
// announcement, but calls need not wait for it (nothing says the Gateway's
// tools changed).
func (p *Proxy) stale() {
	select {
	case p.resync <- struct{}{}:
	default: // one is pending already
	}
}

// ready returns the live, synced upstream session, waiting for it at most
// the connect timeout. While the Gateway needs a login, it asks maintain for
// one more connect attempt and answers with its outcome: the login error at
// once when there is still none, the session when a login has happened.
func (p *Proxy) ready(ctx context.Context) (upstreamSession, error) {
	var timeout <-chan time.Time
	// fresh: the state changed since this request came, so a login error
	// is the outcome of a connect attempt newer than the request.
	fresh := false
	for {
		p.mu.Lock()
		s, synced, lastErr, changed := p.live, p.synced, p.lastErr, p.changed
		p.mu.Unlock()
		if s != nil && synced {
			return s, nil
		}
		if errors.Is(lastErr, tokenstore.ErrLoginNeeded) {
			if fresh {
				// The attempt this request asked for (or one that ended
				// after it came) needs a login too: the user must log
				// in, and waiting longer will not help.
				return nil, &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: "agw-proxy: the Gateway needs a login: " + p.loginMessage(lastErr)}
			}
			// maintain waits for a request before it tries again (a
			// login may have happened since): ask it, and wait for the
			// outcome. Without a login that is one quick failure.
			select {
			case p.retry <- struct{}{}:
			default: // a wake is pending already
			}
		}
		if timeout == nil {
			t := time.NewTimer(p.opts.ConnectTimeout)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case <-changed:
			fresh = true
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-timeout:
			msg := fmt.Sprintf("agw-proxy: the Gateway is not reachable after %s; still retrying in the background", p.opts.ConnectTimeout)
			if lastErr != nil {
				msg += ": " + p.redact(lastErr)
			}
			return nil, &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: msg}
		}
	}
}

// reconnect drops s if it is still the current session, so that maintain
// opens a new one, and waits for that.
func (p *Proxy) reconnect(ctx context.Context, s upstreamSession) (upstreamSession, error) {
	p.setLost(s, errors.New("the Gateway session was lost"))
	s.close()
	return p.ready(ctx)
}
