package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"net"
	"strings"
	"time"

	"github.com/agw-proxy/agw-proxy/tokenstore"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Reconnect backoff after a failed connect or a lost session.
const (
	minBackoff = 250 * time.Millisecond
	maxBackoff = 30 * time.Second
)

// maintain keeps an upstream session alive until ctx is done: connect, list
// tools, watch for changes and loss, reconnect with capped backoff.
func (p *Proxy) maintain(ctx context.Context) {
	backoff := minBackoff
	for ctx.Err() == nil {
		cs, err := p.connect(ctx)
		if err == nil {
			if err = p.sync(ctx, cs); err != nil {
				cs.Close()
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			p.setLost(nil, err)
			p.log.Warn("gateway not reachable", "error", p.redact(err), "retry_in", backoff)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, maxBackoff)
			continue
		}
		backoff = minBackoff
		p.watch(ctx, cs)
	}
}

func (p *Proxy) connect(ctx context.Context) (*mcp.ClientSession, error) {
	ctx, cancel := context.WithTimeout(ctx, p.opts.ConnectTimeout)
	defer cancel()
	t := &mcp.StreamableClientTransport{
		Endpoint:     p.opts.GatewayURL,
		HTTPClient:   p.opts.HTTPClient,
		OAuthHandler: p.opts.OAuthHandler,
	}
	cs, err := p.client.Connect(ctx, t, &mcp.ClientSessionOptions{ProtocolVersion: UpstreamProtocolVersion})
	if err != nil {
		return nil, fmt.Errorf("connect to the Gateway: %w", err)
	}
	return cs, nil
}

// watch serves re-sync requests for cs until the session ends or ctx is done.
func (p *Proxy) watch(ctx context.Context, cs *mcp.ClientSession) {
	done := make(chan struct{})
	go func() {
		cs.Wait()
		close(done)
	}()
	for {
		select {
		case <-ctx.Done():
			cs.Close()
			<-done
			return
		case <-done:
			p.setLost(cs, errors.New("the Gateway session ended"))
			p.log.Info("gateway session ended; reconnecting")
			return
		case <-p.resync:
			if err := p.sync(ctx, cs); err != nil {
				p.log.Warn("tool re-sync failed", "error", p.redact(err))
			}
		}
	}
}

// maxPages bounds how many pages of tools/list the proxy follows.
const maxPages = 10000

// sync lists every page of the Gateway's tools and publishes the stripped
// list, with the rules each tool gets on a call. A name listed twice is
// served once, as first listed. Clients that have listed tools before hear
// of a change.
func (p *Proxy) sync(ctx context.Context, cs *mcp.ClientSession) (err error) {
	ctx, cancel := context.WithTimeout(ctx, p.opts.ConnectTimeout)
	defer cancel()
	p.mu.Lock()
	seen := p.lists.announced
	p.mu.Unlock()
	defer func() {
		if err != nil {
			// The change cannot be read now: calls waiting for it go on
			// with the list there is (the next sync decides again).
			p.mu.Lock()
			p.lists.settled = max(p.lists.settled, seen)
			p.broadcast()
			p.mu.Unlock()
		}
	}()
	var upstream [][]byte // each tool as the Gateway sent it
	cursor := ""
	for page := 0; ; page++ {
		params := []byte(`{}`)
		if cursor != "" {
			params, _ = json.Marshal(map[string]string{"cursor": cursor})
		}
		res, err := p.post(ctx, cs, "tools/list", params)
		if err != nil {
			return fmt.Errorf("list the Gateway's tools: %w", err)
		}
		// The result is valid JSON (checked on arrival): walk it.
		ms, err := members(res)
		if err != nil {
			return errors.New("list the Gateway's tools: the result is not an object")
		}
		next := ""
		for _, m := range ms {
			switch {
			case isString(m.key, "tools"):
				tools, err := elements(m.val)
				if err != nil {
					return errors.New("list the Gateway's tools: tools is not an array")
				}
				for _, t := range tools {
					upstream = append(upstream, t.val)
				}
			case isString(m.key, "nextCursor"):
				_ = json.Unmarshal(m.val, &next)
			}
		}
		if next == "" {
			break
		}
		if next == cursor || page == maxPages {
			return fmt.Errorf("list the Gateway's tools: pagination does not end (cursor %q)", next)
		}
		cursor = next
	}

	tools := make(map[string][]*Rule, len(upstream))
	listed := make([]byte, 0, 64+sumLen(upstream))
	listed = append(listed, `{"tools":[`...)
	n := 0
	for _, t := range upstream {
		name, rules, stripped := stripToolDef(p.opts.Rules, t)
		if name != "" {
			if _, dup := tools[name]; dup {
				// Which listing would the client use, and which would the
				// Gateway call? Serve the first, once, and say so once.
				p.reportDuplicate(name)
				continue
			}
			tools[name] = rules
		}
		if n > 0 {
			listed = append(listed, ',')
		}
		n++
		listed = append(listed, stripped...)
	}
	listed = append(listed, "]}"...)
	h := fnv.New128a()
	for _, t := range upstream {
		h.Write(t)
		h.Write([]byte{0})
	}
	sum := h.Sum(nil)

	p.mu.Lock()
	changed := !bytes.Equal(p.upstream, sum) || p.listed == nil
	notify := changed && p.clientAsked
	p.cs, p.synced, p.lastErr = cs, true, nil
	p.tools, p.listed, p.upstream = tools, listed, sum
	p.lists.settled = max(p.lists.settled, seen)
	p.broadcast()
	conn := p.conn
	p.mu.Unlock()

	p.log.Debug("tools synced", "count", n)
	if notify && conn != nil {
		_ = conn.writeRaw([]byte(`{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}`))
	}
	return nil
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

func sumLen(bs [][]byte) int {
	n := 0
	for _, b := range bs {
		n += len(b) + 1
	}
	return n
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

// setLost records that there is no live session (if cs is nil or still the
// current one) and why.
func (p *Proxy) setLost(cs *mcp.ClientSession, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if cs == nil || p.cs == cs {
		p.cs, p.synced, p.lastErr = nil, false, err
		p.broadcast()
	}
}

// broadcast wakes everyone waiting for a change. Call with p.mu held.
func (p *Proxy) broadcast() {
	close(p.changed)
	p.changed = make(chan struct{})
}

func (p *Proxy) onToolListChanged(context.Context, *mcp.ToolListChangedRequest) {
	p.mu.Lock()
	p.lists.announced++
	p.mu.Unlock()
	select {
	case p.resync <- struct{}{}:
	default: // one is pending already
	}
}

// ready returns the live, synced upstream session, waiting for it at most
// the connect timeout.
func (p *Proxy) ready(ctx context.Context) (*mcp.ClientSession, error) {
	var timeout <-chan time.Time
	for {
		p.mu.Lock()
		cs, synced, lastErr, changed := p.cs, p.synced, p.lastErr, p.changed
		p.mu.Unlock()
		if cs != nil && synced {
			return cs, nil
		}
		if errors.Is(lastErr, tokenstore.ErrLoginNeeded) {
			// Waiting will not help; the user must log in (the proxy
			// retries in the background and heals once they have).
			return nil, &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: "agw-proxy: the Gateway needs a login: " + p.loginMessage(lastErr)}
		}
		if timeout == nil {
			t := time.NewTimer(p.opts.ConnectTimeout)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case <-changed:
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

// loginMessage says why the Gateway needs a login, in the oauth package's
// own words without the layers of context above them, and what to run.
func (p *Proxy) loginMessage(err error) string {
	msg := p.redact(err)
	if i := strings.LastIndex(msg, "oauth: "); i >= 0 {
		msg = msg[i+len("oauth: "):]
	}
	return msg + ": run `" + strings.TrimSpace(p.opts.LoginCommand("")) + "`"
}

// reconnect drops cs if it is still the current session, so that maintain
// opens a new one, and waits for that.
func (p *Proxy) reconnect(ctx context.Context, cs *mcp.ClientSession) (*mcp.ClientSession, error) {
	p.setLost(cs, errors.New("the Gateway session was lost"))
	cs.Close()
	return p.ready(ctx)
}

// neverSent reports whether a failed call certainly did not reach the
// target, so that sending it again cannot repeat its effect: the Gateway
// said the session is gone (HTTP 404); the session had already ended when
// the call was made (the SDK then refuses to send it, reporting
// ErrConnectionClosed; a call in flight when a session breaks gets the
// transport's error instead); or no connection could be made.
func neverSent(err error) bool {
	if errors.Is(err, mcp.ErrSessionMissing) || errors.Is(err, mcp.ErrConnectionClosed) {
		return true
	}
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}
